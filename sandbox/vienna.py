"""Europe/Vienna wall-clock conversion.

Implements the EU summer-time rule (in force since 1996) directly, so the sandbox needs
no time-zone database: CET (UTC+1), and CEST (UTC+2) from the last Sunday of March
01:00 UTC until the last Sunday of October 01:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose, for wall-clock arithmetic
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"


def _last_sunday_1am_utc(year: int, month: int) -> int:
    last_day = datetime(year, month, 31, 1, tzinfo=UTC)  # March and October have 31 days
    sunday = last_day - timedelta(days=(last_day.weekday() + 1) % 7)
    return int(sunday.timestamp())


@lru_cache(maxsize=512)
def summer_time_span(year: int) -> tuple[int, int]:
    """Return the UTC epoch seconds ``[start, end)`` of summer time in ``year``."""
    return _last_sunday_1am_utc(year, 3), _last_sunday_1am_utc(year, 10)


def offset_seconds(epoch: float) -> int:
    """Return Vienna's UTC offset in seconds at the given UTC epoch instant."""
    year = datetime.fromtimestamp(epoch, UTC).year
    begin, end = summer_time_span(year)
    return 7200 if begin <= epoch < end else 3600


def local_from_epoch(epoch: int) -> datetime:
    """Return the naive Vienna wall-clock time for whole UTC epoch seconds."""
    return _EPOCH + timedelta(seconds=epoch + offset_seconds(epoch))


def to_local(moment: datetime) -> datetime:
    """Convert an aware datetime to naive Vienna wall-clock time."""
    epoch = moment.timestamp()
    return (moment.astimezone(UTC) + timedelta(seconds=offset_seconds(epoch))).replace(
        tzinfo=None,
    )


def from_local(wall: datetime) -> datetime:
    """Convert a naive Vienna wall-clock time to aware UTC.

    For the repeated autumn hour the first (summer-time) occurrence is chosen; a
    non-existent spring time is read with the winter offset.
    """
    for hours in (2, 1):
        candidate = (wall - timedelta(hours=hours)).replace(tzinfo=UTC)
        if to_local(candidate) == wall:
            return candidate
    return (wall - timedelta(hours=1)).replace(tzinfo=UTC)


def format_local(moment: datetime) -> str:
    """Format an aware datetime as Vienna ``YYYY-MM-DD HH:MM:SS``."""
    return to_local(moment).strftime(LOCAL_FORMAT)
