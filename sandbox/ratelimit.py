"""Fixed-window request rate limiting with Emarsys-style headers."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

TOO_MANY_REQUESTS = "Too many requests for this account and resource within the last minute."
TOO_MANY_REQUESTS_CODE = 7003


@dataclass(frozen=True)
class RateDecision:
    """The outcome of counting one request."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        """Return the rate-limit headers, with Emarsys' exact (mixed) casing."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    """Counts requests in fixed windows aligned to the server clock."""

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float]) -> None:
        """Allow ``limit`` requests per ``window_seconds``; ``clock`` is the server epoch time."""
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._window = -1
        self._count = 0
        self._lock = threading.Lock()

    def hit(self) -> RateDecision:
        """Count one request and decide whether it may proceed."""
        now = self._clock()
        window = math.floor(now / self.window_seconds)
        with self._lock:
            if window != self._window:
                self._window, self._count = window, 0
            self._count += 1
            count = self._count
        reset = math.ceil((window + 1) * self.window_seconds)
        return RateDecision(count <= self.limit, self.limit, max(0, self.limit - count), reset)
