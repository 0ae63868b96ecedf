"""Time-window arithmetic: UTC windows, and the Emarsys-local ranges that cover them.

Emarsys reads ``time_range`` as wall-clock time in the account's zone
(Europe/Vienna), and it is unknown whether either bound is inclusive. The tap
therefore works in half-open UTC windows ``[start, end)`` and asks Emarsys for
a local range strictly wider than the window: one second more on each side,
and widened past any repeated or skipped local hour. Rows outside the window
are dropped by the parser, so every bound convention and every reading of the
local bounds (naive wall clock, or either UTC instant of an ambiguous time)
returns every row of the window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from zoneinfo import ZoneInfo

UTC = dt.UTC
ONE_SECOND = dt.timedelta(seconds=1)
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
# A zone shifts its offset at most this much at once (DST is 1 h; a few zones
# have shifted by a whole day); widening gives up beyond it.
_MAX_SHIFT_MINUTES = 26 * 60


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """A half-open UTC interval ``[start, end)`` of registrations."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            msg = "window bounds must be timezone-aware"
            raise ValueError(msg)
        if self.end <= self.start:
            msg = f"window end {self.end} must be later than its start {self.start}"
            raise ValueError(msg)

    def __contains__(self, instant: object) -> bool:
        return isinstance(instant, dt.datetime) and self.start <= instant < self.end

    def __str__(self) -> str:
        return f"[{iso_utc(self.start)}, {iso_utc(self.end)})"


def iso_utc(instant: dt.datetime) -> str:
    """Format an aware datetime as the canonical UTC string used in records and state."""
    return instant.astimezone(UTC).isoformat(timespec="seconds")


def floor_second(instant: dt.datetime) -> dt.datetime:
    """Drop sub-second precision."""
    return instant.replace(microsecond=0)


def plan_windows(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[Window]:
    """Tile ``[start, end)`` with windows of ``step``; the last one may be shorter.

    Returns an empty list when ``end <= start``.
    """
    if step <= dt.timedelta(0):
        msg = "window step must be positive"
        raise ValueError(msg)
    windows: list[Window] = []
    cursor = start
    while cursor < end:
        upper = min(cursor + step, end)
        windows.append(Window(cursor, upper))
        cursor = upper
    return windows


def wall_time(instant: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The naive wall-clock time that ``zone`` shows at ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def is_unique_wall_time(local: dt.datetime, zone: ZoneInfo) -> bool:
    """True when ``local`` exists in ``zone`` and names exactly one instant."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return first == second and wall_time(first, zone) == local


def _offset_changes(window: Window, zone: ZoneInfo) -> Iterator[dt.datetime]:
    """Yield the instants inside ``window`` (exclusive of its start) where the offset changes."""
    step = dt.timedelta(minutes=15)
    previous_instant = window.start
    previous_offset = window.start.astimezone(zone).utcoffset()
    cursor = window.start
    while cursor < window.end:
        cursor = min(cursor + step, window.end)
        offset = cursor.astimezone(zone).utcoffset()
        if offset != previous_offset:
            low, high = previous_instant, cursor
            while high - low > ONE_SECOND:  # bisect to the second
                middle = floor_second(low + (high - low) / 2)
                if middle <= low:
                    break
                if middle.astimezone(zone).utcoffset() == previous_offset:
                    low = middle
                else:
                    high = middle
            yield high
            previous_offset = offset
        previous_instant = cursor


def _move_to_unique(local: dt.datetime, zone: ZoneInfo, direction: int) -> dt.datetime:
    """Step ``local`` by minutes in ``direction`` until it names exactly one instant."""
    if is_unique_wall_time(local, zone):
        return local
    candidate = local.replace(second=0)
    if direction > 0 and candidate < local:
        candidate += dt.timedelta(minutes=1)
    for _ in range(_MAX_SHIFT_MINUTES):
        if is_unique_wall_time(candidate, zone):
            return candidate
        candidate += dt.timedelta(minutes=direction)
    msg = f"no unambiguous wall-clock time near {local} in {zone.key}"
    raise ValueError(msg)


def local_request_range(window: Window, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The naive local ``(low, high)`` pair to send as ``time_range`` for ``window``.

    Every whole-second instant in the window has a wall time strictly between
    ``low`` and ``high``; both bounds exist and are unambiguous in ``zone``,
    so ``low < high`` always holds.
    """
    start = floor_second(window.start)
    last = floor_second(window.end - dt.timedelta(microseconds=1))
    lows = [wall_time(start, zone)]
    highs = [wall_time(last, zone)]
    for change in _offset_changes(window, zone):
        lows.append(wall_time(change, zone))
        highs.append(wall_time(change - ONE_SECOND, zone))
    low = _move_to_unique(min(lows) - ONE_SECOND, zone, -1)
    high = _move_to_unique(max(highs) + ONE_SECOND, zone, +1)
    return low, high


def local_exact_range(window: Window, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The window's own bounds as unambiguous wall times, for exports without timestamps.

    Without a timestamp column rows cannot be filtered, so the tap asks for
    the window itself; only the DST fix-ups widen it.
    """
    low = _move_to_unique(wall_time(floor_second(window.start), zone), zone, -1)
    high = _move_to_unique(wall_time(floor_second(window.end), zone), zone, +1)
    if high <= low:
        high = _move_to_unique(low + ONE_SECOND, zone, +1)
    return low, high


def format_local(local: dt.datetime) -> str:
    """Format a naive wall-clock time the way ``time_range`` expects it."""
    return local.strftime(LOCAL_FORMAT)
