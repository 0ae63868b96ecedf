"""Emarsys' OAuth token-fetch limits: per client_id, sliding windows on the server clock.

The Emarsys developer docs allow 2 token requests a minute and 10 an hour per
client_id. They do not say what the 429 looks like, so the body is a JSON
error in OAuth style and ``Retry-After`` is a switch (``token_retry_after``).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True)
class TokenDecision:
    """Whether one token request may be answered, and if not, when one may."""

    allowed: bool
    retry_after: int = 0
    window: str = ""

    def error_body(self) -> dict[str, str]:
        """The JSON body of the 429 answer."""
        return {
            "error": "too_many_requests",
            "error_description": f"Token request limit per {self.window} exceeded for this "
            "client_id",
        }


class TokenFetchLimiter:
    """Counts issued tokens per client_id in a sliding minute and a sliding hour."""

    def __init__(
        self,
        per_minute: int | None,
        per_hour: int | None,
        clock: Callable[[], float],
    ) -> None:
        """``None`` switches a limit off; ``clock`` is the server's epoch time."""
        self.per_minute = per_minute
        self.per_hour = per_hour
        self._clock = clock
        self._issued: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, client_id: str, *, spent: bool = False) -> TokenDecision:
        """Count one token request; ``spent`` answers as if the hour's budget were used up."""
        now = self._clock()
        with self._lock:
            times = self._issued.setdefault(client_id, deque())
            while times and now - times[0] >= HOUR:
                times.popleft()
            if spent:
                return TokenDecision(allowed=False, retry_after=int(HOUR), window="hour")
            for window, length, limit in (
                ("minute", MINUTE, self.per_minute),
                ("hour", HOUR, self.per_hour),
            ):
                inside = [t for t in times if now - t < length]
                if limit is not None and len(inside) >= limit:
                    wait = inside[len(inside) - limit] + length - now
                    return TokenDecision(False, max(1, math.ceil(wait)), window)
            times.append(now)
        return TokenDecision(allowed=True)
