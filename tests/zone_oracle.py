"""Brute-force answers about wall times, independent of the code under test.

The tap's window arithmetic decides with ``fold`` whether a wall time is unique.
These helpers answer the same questions the slow way, from nothing but the zone's
offset at UTC instants: a wall time ``L`` is shown at instant ``u`` exactly when
``u + offset(u) == L``, and ``u`` can only be ``L - o`` for an offset ``o`` the
zone uses within a day of ``L``.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from zoneinfo import ZoneInfo

UTC = dt.UTC
_SCAN = dt.timedelta(minutes=15)
_REACH = dt.timedelta(hours=52)  # a day, plus more than any offset and any offset shift


def shown(instant: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The naive wall time ``zone`` shows at the aware ``instant``."""
    return (instant.astimezone(UTC) + _offset_at(instant, zone)).replace(tzinfo=None)


def _offset_at(instant: dt.datetime, zone: ZoneInfo) -> dt.timedelta:
    """The zone's UTC offset at ``instant``, from ``tzinfo.fromutc`` (no fold involved)."""
    utc = instant.astimezone(UTC).replace(tzinfo=zone)
    local = zone.fromutc(utc)
    return local.replace(tzinfo=None) - utc.replace(tzinfo=None)


@functools.lru_cache(maxsize=4096)
def _offsets_near(zone: ZoneInfo, day: dt.date) -> frozenset[dt.timedelta]:
    """Every offset ``zone`` uses within a day and a bit of ``day``."""
    offsets = set()
    probe = dt.datetime(day.year, day.month, day.day, tzinfo=UTC) - _REACH
    while probe <= dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + _REACH:
        offsets.add(_offset_at(probe, zone))
        probe += _SCAN
    return frozenset(offsets)


def instants_showing(local: dt.datetime, zone: ZoneInfo) -> list[dt.datetime]:
    """Every UTC instant at which ``zone``'s clock shows the naive wall time ``local``."""
    found = {
        candidate
        for offset in _offsets_near(zone, local.date())
        if shown(candidate := (local - offset).replace(tzinfo=UTC), zone) == local
    }
    return sorted(found)


def first_instant(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first instant that shows ``local``; a skipped one is read with the offset before.

    The offset before a change is the one in force at the earliest candidate instant.
    """
    found = instants_showing(local, zone)
    if found:
        return found[0]
    earliest = (local - max(_offsets_near(zone, local.date()))).replace(tzinfo=UTC)
    return (local - _offset_at(earliest, zone)).replace(tzinfo=UTC)


def is_unique(local: dt.datetime, zone: ZoneInfo) -> bool:
    """Whether ``zone`` shows ``local`` at exactly one instant."""
    return len(instants_showing(local, zone)) == 1


@functools.lru_cache(maxsize=64)
def transitions(zone: ZoneInfo, year: int) -> tuple[dt.datetime, ...]:
    """The UTC instants (to the second) in ``year`` at which ``zone``'s offset changes."""
    return tuple(_transitions(zone, year))


def _transitions(zone: ZoneInfo, year: int) -> Iterator[dt.datetime]:
    probe = dt.datetime(year, 1, 1, tzinfo=UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=UTC)
    step = dt.timedelta(hours=1)
    while probe < end:
        later = probe + step
        if _offset_at(probe, zone) != _offset_at(later, zone):
            low, high = 0, 3600  # seconds after probe: offset before at low, after at high
            while high - low > 1:
                middle = (low + high) // 2
                before = _offset_at(probe + dt.timedelta(seconds=middle), zone)
                if before == _offset_at(probe, zone):
                    low = middle
                else:
                    high = middle
            yield probe + dt.timedelta(seconds=high)
        probe = later
