"""Emarsys' OAuth token-fetch limits, and how long the next fetch has to wait for them.

Emarsys allows 2 token requests a minute and 10 an hour per client_id. The
tap keeps a ledger of the token requests it sent (see ``token_cache.py``) and
asks :func:`next_fetch` before each new one: go now, wait a little, or refuse.
Everything here is pure: the times are epoch seconds handed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

MINUTE: Final = 60.0
HOUR: Final = 3600.0
# A wait up to this long is waited out; a longer one fails the run at once.
SHORT_WAIT_SECONDS: Final = 65.0
DOCUMENTED_LIMIT: Final = "2 token requests a minute and 10 an hour per client_id"
REMEDY: Final = (
    "Schedule runs less often, keep the token cache on a persistent volume "
    "(setting token_cache_dir, with token_cache on), or give parallel jobs their own "
    "API credential"
)


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How many token requests one client_id may send per minute and per hour."""

    per_minute: int = 2
    per_hour: int = 10


DOCUMENTED_LIMITS: Final = FetchLimits()


@dataclass(frozen=True, slots=True)
class NextFetch:
    """When the next token request may be sent.

    Attributes:
        wait: Seconds to wait first (0 means now).
        window: ``"minute"`` or ``"hour"``: the limit that imposes the wait, if any.
        sent: How many requests the ledger holds inside that window.
    """

    wait: float
    window: str | None = None
    sent: int = 0

    @property
    def is_short(self) -> bool:
        """Whether the wait is short enough to wait out."""
        return self.wait <= SHORT_WAIT_SECONDS


def recent(times: Iterable[float], now: float) -> list[float]:
    """The request times that still count against a limit (the last hour), oldest first.

    A time in the future (the clock went back) counts as now.
    """
    return sorted(min(t, now) for t in times if now - t < HOUR)


def next_fetch(times: Iterable[float], now: float, limits: FetchLimits) -> NextFetch:
    """When a new token request may go out, given the times of earlier ones."""
    kept = recent(times, now)
    result = NextFetch(wait=0.0)
    for window, length, limit in (
        ("minute", MINUTE, limits.per_minute),
        ("hour", HOUR, limits.per_hour),
    ):
        inside = [t for t in kept if now - t < length]
        if len(inside) >= limit:
            # The request that has to leave the window before one more fits.
            wait = inside[len(inside) - limit] + length - now
            if wait > result.wait:
                result = NextFetch(wait=wait, window=window, sent=len(inside))
    return result


def refusal(plan: NextFetch) -> str:
    """The one-line error for a fetch that would have to wait too long."""
    minutes = max(1, round(plan.wait / MINUTE))
    return (
        f"Not fetching an OAuth token: {plan.sent} token requests for this client_id "
        f"were already sent in the last {plan.window}, and Emarsys allows "
        f"{DOCUMENTED_LIMIT}; the next one is possible in about {minutes} min. {REMEDY}"
    )


def rate_limited(retry_after: float | None) -> str:
    """The one-line error for HTTP 429 from the token endpoint."""
    when = f" (Retry-After: {retry_after:.0f}s)" if retry_after is not None else ""
    return (
        f"Emarsys OAuth token request failed (HTTP 429){when}: too many token requests; "
        f"Emarsys allows {DOCUMENTED_LIMIT}. {REMEDY}"
    )
