"""The fast tier starts no process: a test that does must be marked ``slow``.

A pytest plugin (``tests/conftest.py`` loads it). An audit hook (``sys.addaudithook``)
sees every attempt to start a process. Audit hooks cannot be removed, so it is
installed once and reads a flag that the plugin sets for each phase of each test
(setup, call, teardown: module fixtures are set up inside the first test that uses
them). When a test that is not marked ``slow`` starts a process, the hook refuses it
(the process never runs) and records it, and the phase fails naming the command,
even if the test caught the error.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator

# The audit events that start another program (https://docs.python.org/3/library/audit_events.html).
PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
    },
)


class ProcessInFastTestError(RuntimeError):
    """A test outside the slow tier tried to start a process."""


def describe(event: str, args: tuple[object, ...]) -> str:
    """Return the command an audit event is about, shortened for a message."""
    if event == "subprocess.Popen" and len(args) > 1:
        command = args[1]
        if isinstance(command, (list, tuple)):
            text = " ".join(
                os.fsdecode(part) if isinstance(part, (bytes, str)) else str(part)
                for part in command
            )
        else:
            text = str(command)
    elif args:
        text = str(args[0])
    else:
        text = ""
    return f"{event}: {text[:200]}"


@dataclass
class ProcessGuard:
    """What the audit hook checks: whether processes are allowed now, and what it refused.

    Attributes:
        allowed: Whether the running test phase may start processes (slow tests may).
        test: The node id of the running test, for the message.
        refused: The processes refused since the last ``begin``.
    """

    allowed: bool = True
    test: str = ""
    refused: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self, test: str, *, allowed: bool) -> None:
        """Start checking one test phase."""
        with self._lock:
            self.test, self.allowed, self.refused = test, allowed, []

    def end(self) -> list[str]:
        """Stop checking (processes are allowed between tests); return what was refused."""
        with self._lock:
            refused, self.refused, self.allowed = self.refused, [], True
        return refused

    def check(self, event: str, args: tuple[object, ...]) -> None:
        """Refuse ``event`` when it starts a process and the running test may not.

        Raises:
            ProcessInFastTestError: the test is not marked slow.
        """
        if event not in PROCESS_EVENTS or self.allowed:
            return
        what = describe(event, args)
        with self._lock:
            self.refused.append(what)
        msg = f"{self.test} is not marked slow but starts a process: {what}"
        raise ProcessInFastTestError(msg)


GUARD = ProcessGuard()
_installed = False


def install() -> ProcessGuard:
    """Add the audit hook once per interpreter and return the guard it reads."""
    global _installed  # noqa: PLW0603 - an audit hook lives as long as the interpreter
    if not _installed:
        sys.addaudithook(GUARD.check)
        _installed = True
    return GUARD


def _guarded(item: pytest.Item) -> Generator[None, object, object]:
    GUARD.begin(item.nodeid, allowed=item.get_closest_marker("slow") is not None)
    try:
        result = yield
    finally:
        refused = GUARD.end()
    if refused:
        pytest.fail(
            f"{item.nodeid} is not marked slow but starts a process: {'; '.join(refused)}. "
            "Mark it @pytest.mark.slow (the end-to-end tier), or test it in-process.",
            pytrace=False,
        )
    return result


def pytest_configure(config: pytest.Config) -> None:
    """Install the audit hook for this test session."""
    install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Check the fixtures a test sets up."""
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Check the test itself."""
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    """Check the fixtures a test tears down."""
    return (yield from _guarded(item))
