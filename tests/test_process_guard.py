"""The fast tier starts no process: the guard refuses one and fails the unmarked test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.process_guard import GUARD, ProcessGuard, ProcessInFastTestError

ROOT = Path(__file__).resolve().parents[1]


def test_the_check_refuses_a_process_only_when_the_test_is_not_slow() -> None:
    guard = ProcessGuard()
    command = ("/usr/bin/meltano", ["meltano", "run", "tap", "target"], None, None)
    guard.begin("tests/test_x.py::test_fast", allowed=False)
    with pytest.raises(
        ProcessInFastTestError,
        match=r"test_fast is not marked slow.*meltano run",
    ):
        guard.check("subprocess.Popen", command)
    with pytest.raises(ProcessInFastTestError):
        guard.check("os.posix_spawn", ("/bin/sh", ["sh"], None))
    guard.check("open", ("/etc/hosts", "r", 0))  # not a process: let through
    assert len(guard.end()) == 2
    guard.begin("tests/test_x.py::test_slow", allowed=True)
    guard.check("subprocess.Popen", command)
    assert guard.end() == []


def test_this_fast_test_cannot_start_a_process() -> None:
    # The session's own guard is on: the process is refused before it runs.
    with pytest.raises(ProcessInFastTestError, match="is not marked slow"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    assert GUARD.refused, "and the refusal is recorded, to fail the test"
    GUARD.refused.clear()  # this test expects it; any other test would now fail


INNER = """
import subprocess
import sys

import pytest


def test_unmarked():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_unmarked_that_swallows_the_error():
    try:
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    except Exception:
        pass


@pytest.fixture
def server():
    return subprocess.Popen([sys.executable, "-c", "pass"])


def test_unmarked_with_a_process_fixture(server):
    pass


@pytest.mark.slow
def test_marked():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_in_process():
    assert sum([1, 2]) == 3
"""


@pytest.mark.slow  # runs pytest in a subprocess
def test_an_unmarked_test_that_starts_a_process_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_inner=INNER)
    pytester.makeini("[pytest]\nmarkers =\n    slow: end-to-end\n")
    result = pytester.runpytest_subprocess("-p", "tests.process_guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2, errors=1)
    output = result.stdout.str()
    for name in ("test_unmarked", "test_unmarked_that_swallows_the_error"):
        assert f"{name} is not marked slow but starts a process" in output
    assert "test_unmarked_with_a_process_fixture is not marked slow" in output
    assert "test_marked is not marked slow" not in output
