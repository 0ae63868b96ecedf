"""Waiting between attempts until something happens, a deadline passes or the run stops.

Every such loop of the tap (an export starting, finishing, its data becoming
available, its file appearing on the FTP/SFTP server) waits through one
:class:`Poll`: intervals that grow to a cap, one deadline, sleeps on the injected
clock cut into slices so that a stop request ends the wait promptly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_emarsys_registrations.clock import Clock

GROWTH: Final = 1.5
# Sleeps are cut into slices this long so a stopped run ends its waits promptly.
SLEEP_SLICE_SECONDS: Final = 0.25


class CancelledError(Exception):
    """The run is stopping; the export waited for is left for the next run."""


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How often to try again, and for how long."""

    interval: float
    max_interval: float
    timeout: float

    def intervals(self) -> Iterator[float]:
        """Waits between attempts: ``interval`` growing by 1.5x up to ``max_interval``."""
        wait = self.interval
        while True:
            yield wait
            wait = min(wait * GROWTH, self.max_interval)


class Poll:
    """The waits of one loop: its deadline starts when the poll is made.

    Args:
        policy: Intervals and the timeout after which :meth:`next_wait` gives up.
        clock: The clock whose ``monotonic`` and ``sleep`` are used.
        stop: Set when the run stops; a wait then raises :class:`CancelledError`.
    """

    def __init__(self, policy: PollPolicy, clock: Clock, stop: threading.Event | None) -> None:
        self._clock = clock
        self._stop = stop or threading.Event()
        self._intervals = policy.intervals()
        self._started = clock.monotonic()
        self._timeout = policy.timeout

    def elapsed(self) -> float:
        """Seconds since the poll was made."""
        return self._clock.monotonic() - self._started

    def next_interval(self) -> float:
        """The next wait, whether or not it ends before the deadline."""
        return next(self._intervals)

    def next_wait(self) -> float | None:
        """The next wait, or None when the next attempt would come after the deadline."""
        wait = self.next_interval()
        return None if self.elapsed() + wait > self._timeout else wait

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, in slices, checking the stop signal before each.

        Raises:
            CancelledError: the run is stopping.
        """
        end = self._clock.monotonic() + seconds
        while True:
            if self._stop.is_set():
                raise CancelledError
            left = end - self._clock.monotonic()
            if left <= 0:
                return
            self._clock.sleep(min(left, SLEEP_SLICE_SECONDS))

    def wait(self) -> bool:
        """Sleep until the next attempt; False (at once) when it would come after the deadline.

        Raises:
            CancelledError: the run is stopping.
        """
        wait = self.next_wait()
        if wait is None:
            return False
        self.sleep(wait)
        return True
