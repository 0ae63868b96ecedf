"""Clocks for tests: the tap's ``Clock`` with sleeps that cost (almost) no real time.

``FAST_CLOCK`` keeps real time and cuts every sleep to at most 50 ms: waits on the
wall clock (a rate-limit reset) still come out right, because the tap re-checks the
clock after each sleep. ``VirtualClock`` goes further: a sleep moves the clock on by
what was asked, at once, and records the request. Share it with the sandbox
(``Sandbox(config, clock=virtual.time)``) and tokens, rate-limit resets and export
progress follow the same time, so a test asserts on the sleeps and the server times
it saw instead of on how long it took.
"""

from __future__ import annotations

import threading
import time

from tap_emarsys_registrations.clock import Clock

FAST_CLOCK = Clock(sleep=lambda seconds: time.sleep(min(seconds, 0.05)))


class VirtualClock:
    """Real time plus every sleep asked for so far; a sleep only yields the thread.

    Attributes:
        sleeps: The seconds of every sleep requested, in order (any thread).
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        """Return epoch seconds on this clock."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        """Return monotonic seconds on this clock."""
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        """Move the clock on by ``seconds`` (never back) and let other threads run."""
        with self._lock:
            self.sleeps.append(seconds)
            self._offset += max(seconds, 0.0)
        time.sleep(0.001)  # a real pause, so servers and other workers get their turn

    @property
    def slept(self) -> float:
        """Return the total of the sleeps requested so far."""
        with self._lock:
            return sum(max(s, 0.0) for s in self.sleeps)

    def clock(self) -> Clock:
        """Return this as the tap's injected ``Clock``."""
        return Clock(time=self.time, monotonic=self.monotonic, sleep=self.sleep)
