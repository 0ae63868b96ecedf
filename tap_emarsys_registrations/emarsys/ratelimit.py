"""One rate-limit budget shared by every request of the run, across threads.

Emarsys counts all requests of an API user against one budget and answers
429 with ``X-RateLimit-Reset`` (a Unix time). After a 429, or when
``X-Ratelimit-Remaining`` reaches 0, no request is sent before that reset.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_emarsys_registrations.clock import Clock

# Used when a 429 carries no usable reset time, or one implausibly far away.
DEFAULT_RESET_SECONDS: Final = 60.0
MAX_RESET_SECONDS: Final = 900.0


def reset_time(headers: Mapping[str, str], now: float) -> float | None:
    """The Unix time from ``X-RateLimit-Reset``, clamped to a sane range, or None."""
    raw = headers.get("X-RateLimit-Reset")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return min(max(value, now), now + MAX_RESET_SECONDS)


class RateGate:
    """Holds requests back until the server's rate-limit window has reset."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._not_before = 0.0
        self.waited_seconds = 0.0

    def wait(self) -> None:
        """Sleep until no reset is pending; returns at once in the common case."""
        while True:
            with self._lock:
                delay = self._not_before - self._clock.time()
                if delay <= 0:
                    return
                self.waited_seconds += delay
            self._clock.sleep(delay)

    def block_until(self, unix_time: float) -> None:
        """Send nothing before ``unix_time``."""
        with self._lock:
            self._not_before = max(self._not_before, unix_time)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Pause proactively when a response says the budget is used up."""
        remaining = headers.get("X-Ratelimit-Remaining")
        if remaining is None or remaining.strip() not in {"0", "-1"}:
            return
        reset = reset_time(headers, self._clock.time())
        if reset is not None:
            self.block_until(reset)

    def throttled(self, headers: Mapping[str, str]) -> float:
        """Record a 429 and return the Unix time before which nothing may be sent."""
        now = self._clock.time()
        reset = reset_time(headers, now)
        # A reset already past (clock skew, rounding) still gets a short pause.
        until = now + DEFAULT_RESET_SECONDS if reset is None else max(reset, now + 1.0)
        self.block_until(until)
        return until
