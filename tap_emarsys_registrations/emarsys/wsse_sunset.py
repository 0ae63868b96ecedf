"""The end of WSSE: Emarsys retires API v2 authentication at the end of 2026-12-31.

Pure functions of the current time, so that the warning before the date and
the error after it are tested on an injected clock. The tap never refuses WSSE
by date alone: after the date a WSSE request that still works keeps working
(with the warning), and only a 401 is explained as the retirement.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

SUNSET_DAY: Final = dt.date(2026, 12, 31)
# "The end of 2026-12-31" in Emarsys time, the first instant of 2027 in Vienna.
SUNSET: Final = dt.datetime(2027, 1, 1, tzinfo=ZoneInfo("Europe/Vienna"))
README_SECTION: Final = 'README "Moving from WSSE to OAuth"'
_WHAT_TO_SET: Final = (
    "set client_id and client_secret (and token_url if yours differs) and remove "
    "username and secret"
)


def days_left(now: dt.datetime) -> int:
    """Whole days from ``now``'s Vienna date to the last day of WSSE (0 on that day)."""
    return (SUNSET_DAY - now.astimezone(SUNSET.tzinfo).date()).days


def is_past_sunset(now: dt.datetime) -> bool:
    """Whether ``now`` (an aware datetime) is after the announced end of WSSE."""
    return now >= SUNSET


def _when(now: dt.datetime) -> str:
    left = days_left(now)
    if left > 1:
        return f"in {left} days"
    return "tomorrow" if left == 1 else "today"


def sunset_warning(now: dt.datetime) -> str:
    """The one line a run with WSSE credentials logs, before or after the date."""
    if is_past_sunset(now):
        status = (
            "Emarsys retired WSSE authentication (username/secret) at the end of 2026-12-31 "
            "and may refuse it at any moment"
        )
    else:
        status = (
            "Emarsys retires WSSE authentication (username/secret) at the end of 2026-12-31, "
            f"{_when(now)}"
        )
    return (
        f"{status}. From then on this tap needs an OAuth 2.0 credential: {_WHAT_TO_SET}. "
        f"See {README_SECTION}"
    )


def retired_message(endpoint: str, status: int, reply_code: int | None, reply_text: str) -> str:
    """The one line for a WSSE request refused after the date: the cause and the fix."""
    code = f", replyCode {reply_code}" if reply_code is not None else ""
    said = f": {reply_text.strip()}" if reply_text.strip() else ""
    return (
        f"Emarsys refused WSSE authentication on {endpoint} (HTTP {status}{code}{said}) "
        "because it retired WSSE (API v2 authentication) on 2026-12-31. "
        f"Configure an OAuth 2.0 credential instead: {_WHAT_TO_SET}. See {README_SECTION}"
    )
