"""Time as the tap sees it, injectable so that tests never patch ``time.sleep``."""

from __future__ import annotations

import datetime as dt
import time as _time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True, slots=True)
class Clock:
    """Wall clock, monotonic clock and sleep, bundled so they can be swapped together.

    Attributes:
        time: Seconds since the Unix epoch (wall clock, for ``X-RateLimit-Reset``).
        monotonic: Seconds on a clock that never goes back (for deadlines).
        sleep: Blocks the calling thread for the given number of seconds.
    """

    time: Callable[[], float] = _time.time
    monotonic: Callable[[], float] = _time.monotonic
    sleep: Callable[[float], None] = _time.sleep

    def now(self) -> dt.datetime:
        """Return the current wall-clock time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.time(), tz=dt.UTC)


SYSTEM_CLOCK = Clock()
