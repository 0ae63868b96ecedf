"""The local bounds asked for each window, checked against brute force over the zone's clock.

``local_request_range`` must name a range that holds the wall time of every second of
the window under every reading, with bounds that exist and are unambiguous, and no
wider than that needs: one second past the window's wall times, or, where that wall
time is repeated or skipped, the nearest unambiguous whole minute. ``local_exact_range``
(exports without timestamps) asks for the window's own bounds, moved the same way.
Every expectation here comes from ``tests/zone_oracle.py``, not from the module.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from tap_emarsys_registrations.windows import (
    Window,
    format_local,
    is_unique_wall_time,
    iso_utc,
    local_exact_range,
    local_request_range,
    plan_windows,
)
from tests.zone_oracle import instants_showing, is_unique, shown, transitions

UTC = dt.UTC
VIENNA = ZoneInfo("Europe/Vienna")
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
ZONES = ["Europe/Vienna", "Australia/Lord_Howe", "America/St_Johns", "Asia/Kolkata"]


def _local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _seconds(window: Window) -> list[dt.datetime]:
    """Every whole second a registration of ``window`` can carry."""
    second = window.start.replace(microsecond=0)
    found = []
    while second < window.end:
        found.append(second)
        second += SECOND
    return found


def _nearest_unique_minute(local: dt.datetime, zone: ZoneInfo, direction: int) -> dt.datetime:
    """``local`` if unique, else the nearest unique whole minute in ``direction``."""
    if is_unique(local, zone):
        return local
    minute = local.replace(second=0)
    if direction > 0 and minute < local:
        minute += MINUTE
    while not is_unique(minute, zone):
        minute += direction * MINUTE
    return minute


def _expected_request_range(window: Window, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """One second past the window's wall times, moved to the nearest unique whole minute."""
    walls = [shown(second, zone) for second in _seconds(window)]
    return (
        _nearest_unique_minute(min(walls) - SECOND, zone, -1),
        _nearest_unique_minute(max(walls) + SECOND, zone, +1),
    )


def _windows_around_changes(zone: ZoneInfo) -> list[Window]:
    """Short and long windows starting at odd offsets before, at and after each 2024 change."""
    changes = list(transitions(zone, 2024)) or [dt.datetime(2024, 3, 31, 1, tzinfo=UTC)]
    short = itertools.product(
        [-3700, -1800, -61, -30.5, -1, 0, 1, 29, 1799, 3599, 3600, 3601],
        [0.4, 1, 1.5, 1.000001, 17, 600],
    )
    hour_long = itertools.product([-3599, -1800, -30.5, 0, 1], [3600])
    windows = []
    for change, (shift, length) in itertools.product(changes, [*short, *hour_long]):
        start = change + dt.timedelta(seconds=shift)
        windows.append(Window(start, start + dt.timedelta(seconds=length)))
    return windows


def _request_range_problems(window: Window, zone: ZoneInfo) -> list[str]:
    low, high = (bound.replace(microsecond=0) for bound in local_request_range(window, zone))
    # as sent: format_local drops the fraction a window bound with one may carry
    problems = [f"{bound} is not unique" for bound in (low, high) if not is_unique(bound, zone)]
    if problems:
        return problems
    (low_instant,), (high_instant,) = instants_showing(low, zone), instants_showing(high, zone)
    for second in _seconds(window):
        if not low < shown(second, zone) < high:
            problems.append(f"the wall time of {second} is outside ({low}, {high})")
        if not low_instant < second < high_instant:
            problems.append(f"{second} is outside the instants of ({low}, {high})")
    widest_low, widest_high = _expected_request_range(window, zone)
    if low < widest_low or high > widest_high:
        problems.append(f"({low}, {high}) is wider than ({widest_low}, {widest_high})")
    return problems


@pytest.mark.parametrize("zone_name", ZONES)
def test_request_range_covers_every_second_and_is_no_wider_than_needed(zone_name: str) -> None:
    """Every reading of the bounds holds every second; at most the nearest unique minute."""
    zone = ZoneInfo(zone_name)
    wrong = {
        str(window): problems
        for window in _windows_around_changes(zone)
        if (problems := _request_range_problems(window, zone))
    }
    assert wrong == {}


@pytest.mark.parametrize(
    ("start", "end", "low", "high"),
    [
        # Ends 30 s into the first 02:00 CEST: 02:00:30 is repeated, so the hour after it.
        (
            "2024-10-26 23:00:00",
            "2024-10-27 00:00:30",
            "2024-10-27 00:59:59",
            "2024-10-27 03:00:00",
        ),
        # Starts in the first 02:30 CEST: the whole minute before the repeated hour.
        (
            "2024-10-27 00:30:00",
            "2024-10-27 00:40:00",
            "2024-10-27 01:59:00",
            "2024-10-27 03:00:00",
        ),
        # Half an hour either side of the change: it reaches down to 02:00:00 CET, and
        # 01:59:59 is unique; up to 02:59:59 CEST, and 03:00:00 is unique.
        (
            "2024-10-27 00:30:00",
            "2024-10-27 01:30:00",
            "2024-10-27 01:59:59",
            "2024-10-27 03:00:00",
        ),
        # Starts at the change (02:00 CET): the second before it, 01:59:59, is unique.
        (
            "2024-10-27 01:00:00",
            "2024-10-27 01:10:00",
            "2024-10-27 01:59:59",
            "2024-10-27 03:00:00",
        ),
        # Starts at the spring change (03:00 CEST): 02:59:59 does not exist.
        (
            "2024-03-31 01:00:00",
            "2024-03-31 02:00:00",
            "2024-03-31 01:59:00",
            "2024-03-31 04:00:00",
        ),
        # Ends at the spring change: the last second is 01:59:59 CET, and 02:00:00 does not exist.
        (
            "2024-03-31 00:00:00",
            "2024-03-31 01:00:00",
            "2024-03-31 00:59:59",
            "2024-03-31 03:00:00",
        ),
        # One second before the change: its own wall time, 02:59:59 CEST, is repeated, but
        # the wall time of the change, 02:00:00 CET, is not, so the second before that.
        (
            "2024-10-27 00:59:59",
            "2024-10-27 01:00:00",
            "2024-10-27 01:59:59",
            "2024-10-27 03:00:00",
        ),
        # Ends a microsecond after a whole second: that second is the window's last.
        (
            "2024-01-10 12:00:00",
            "2024-01-10 12:00:01.000001",
            "2024-01-10 12:59:59",
            "2024-01-10 13:00:02",
        ),
        # A sub-second window: one second either side of its only second.
        (
            "2024-01-10 12:00:00.200",
            "2024-01-10 12:00:00.700",
            "2024-01-10 12:59:59",
            "2024-01-10 13:00:01",
        ),
    ],
)
def test_request_range_examples_in_vienna(start: str, end: str, low: str, high: str) -> None:
    window = Window(_utc(start), _utc(end))
    assert local_request_range(window, VIENNA) == (_local(low), _local(high))


def _expected_exact_range(window: Window, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    low = _nearest_unique_minute(shown(window.start.replace(microsecond=0), zone), zone, -1)
    high = _nearest_unique_minute(shown(window.end.replace(microsecond=0), zone), zone, +1)
    if high <= low:
        high = _nearest_unique_minute(low + SECOND, zone, +1)
    return low, high


@pytest.mark.parametrize("zone_name", ZONES)
def test_exact_range_is_the_window_moved_off_ambiguous_wall_times(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    wrong = {
        str(window): (got, expected)
        for window in _windows_around_changes(zone)
        if (got := local_exact_range(window, zone))
        != (expected := _expected_exact_range(window, zone))
    }
    assert wrong == {}
    for window in _windows_around_changes(zone):
        low, high = local_exact_range(window, zone)
        assert low < high
        assert is_unique(low, zone)
        assert is_unique(high, zone)


@pytest.mark.parametrize(
    ("start", "end", "low", "high"),
    [
        (
            "2024-01-10 23:00:00",
            "2024-01-11 23:00:00",
            "2024-01-11 00:00:00",
            "2024-01-12 00:00:00",
        ),
        # Sub-second windows: the same wall second at both ends, so one second more.
        (
            "2024-01-10 12:00:00.200",
            "2024-01-10 12:00:00.700",
            "2024-01-10 13:00:00",
            "2024-01-10 13:00:01",
        ),
        (
            "2024-01-10 12:00:00.700",
            "2024-01-10 12:00:01.200",
            "2024-01-10 13:00:00",
            "2024-01-10 13:00:01",
        ),
        # ... and when that second is the skipped 02:00:00, the first time after the gap.
        (
            "2024-03-31 00:59:59.200",
            "2024-03-31 00:59:59.800",
            "2024-03-31 01:59:59",
            "2024-03-31 03:00:00",
        ),
        # The first 02:00 CEST to 02:00 CET: both ends repeated, so the hour around them.
        (
            "2024-10-27 00:00:00",
            "2024-10-27 01:00:00",
            "2024-10-27 01:59:00",
            "2024-10-27 03:00:00",
        ),
        (
            "2024-10-27 00:10:00",
            "2024-10-27 00:20:00",
            "2024-10-27 01:59:00",
            "2024-10-27 03:00:00",
        ),
        # A sub-second window inside the repeated hour.
        (
            "2024-10-27 00:30:00.100",
            "2024-10-27 00:30:00.900",
            "2024-10-27 01:59:00",
            "2024-10-27 03:00:00",
        ),
    ],
)
def test_exact_range_examples_in_vienna(start: str, end: str, low: str, high: str) -> None:
    window = Window(_utc(start), _utc(end))
    assert local_exact_range(window, VIENNA) == (_local(low), _local(high))


def test_is_unique_wall_time_agrees_with_the_zone_clock_around_every_change() -> None:
    disagree = []
    for name in ZONES:
        zone = ZoneInfo(name)
        for change in list(transitions(zone, 2024)) or [dt.datetime(2024, 6, 1, tzinfo=UTC)]:
            wall = shown(change, zone)
            for minutes in range(-95, 96, 5):
                for seconds in (0, 1, 59):
                    local = wall + dt.timedelta(minutes=minutes, seconds=seconds)
                    if is_unique_wall_time(local, zone) != is_unique(local, zone):
                        disagree.append((name, local, instants_showing(local, zone)))
    assert disagree == []


def test_utc_strings_and_local_strings_are_canonical() -> None:
    vienna_noon = dt.datetime(2024, 7, 1, 14, 0, 0, 999_999, tzinfo=VIENNA)
    assert iso_utc(vienna_noon) == "2024-07-01T12:00:00+00:00"
    assert format_local(_local("2024-07-01 09:05:03")) == "2024-07-01 09:05:03"


def test_a_window_holds_its_start_but_not_its_end() -> None:
    window = Window(_utc("2024-10-27 00:00:00"), _utc("2024-10-27 01:00:00"))
    assert window.start in window
    assert _utc("2024-10-27 00:59:59.999999") in window
    assert window.end not in window
    assert _utc("2024-10-26 23:59:59.999999") not in window
    assert dt.datetime(2024, 10, 27, 2, 30, tzinfo=VIENNA) in window  # 00:30 UTC
    assert "2024-10-27T00:30:00+00:00" not in window


@pytest.mark.parametrize("step", [dt.timedelta(0), dt.timedelta(hours=-1)])
def test_windows_need_a_positive_step(step: dt.timedelta) -> None:
    moment = _utc("2024-10-27 00:00:00")
    with pytest.raises(ValueError, match=r"^window step must be positive$"):
        plan_windows(moment, moment + dt.timedelta(days=1), step)


@pytest.mark.parametrize("naive_end", [True, False])
def test_a_window_needs_two_aware_bounds(naive_end: bool) -> None:
    aware = _utc("2024-10-27 00:00:00")
    naive = dt.datetime(2024, 10, 27, 1)  # noqa: DTZ001 - the bound that is refused
    bounds = (aware, naive) if naive_end else (naive - dt.timedelta(hours=2), aware)
    with pytest.raises(ValueError, match=r"^window bounds must be timezone-aware$"):
        Window(*bounds)


def test_exact_range_widens_a_sub_second_window_to_the_first_unique_minute_after_any_fold() -> None:
    """Bogota set its clocks back 3 min 44 s in 1914, so 23:56:16 to 23:59:59 showed twice.

    A sub-second window on the last unique second before that gets one second more,
    which is repeated, so its high bound is the first unique whole minute: midnight,
    three whole minutes on, not a minute past it.
    """
    zone = ZoneInfo("America/Bogota")
    (change,) = transitions(zone, 1914)
    start = change - dt.timedelta(minutes=3, seconds=45) + dt.timedelta(milliseconds=200)
    window = Window(start, start + dt.timedelta(milliseconds=500))
    expected = (_local("1914-11-22 23:56:15"), _local("1914-11-23 00:00:00"))
    assert _expected_exact_range(window, zone) == expected
    assert local_exact_range(window, zone) == expected
