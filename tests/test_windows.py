"""Window arithmetic: tiling, and local ranges that cover a window under every reading."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_emarsys_registrations.windows import (
    Window,
    local_request_range,
    plan_windows,
)
from tests.zone_oracle import is_unique, shown

UTC = dt.UTC
VIENNA = ZoneInfo("Europe/Vienna")
ZONES = ["Europe/Vienna", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Both 2024 Vienna transitions, with a few hours either side.
DST_2024 = [
    dt.datetime(2024, 3, 31, 1, tzinfo=UTC),
    dt.datetime(2024, 10, 27, 1, tzinfo=UTC),
]

instants = st.datetimes(
    min_value=dt.datetime(2023, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=dt.datetime(2025, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda t: t.replace(microsecond=0))
near_dst = st.sampled_from(DST_2024).flatmap(
    lambda t: st.integers(-4 * 3600, 4 * 3600).map(lambda s: t + dt.timedelta(seconds=s)),
)


def _readings_missing(
    low: dt.datetime, high: dt.datetime, zone: ZoneInfo, u: dt.datetime
) -> list[str]:
    """The readings of the bounds under which ``u``'s row falls outside the local range."""
    missing = []
    if not low < shown(u, zone) < high:
        missing.append("naive wall-clock reading, exclusive bounds")
    for fold in (0, 1):
        lo = low.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        hi = high.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if not lo < u < hi:
            missing.append(f"UTC reading with fold={fold}")
    return missing


def _assert_covered_by_all_readings(
    low: dt.datetime, high: dt.datetime, zone: ZoneInfo, u: dt.datetime
) -> None:
    """``u``'s row is inside the local range however the server reads the bounds."""
    assert _readings_missing(low, high, zone, u) == []


@given(
    start=st.one_of(instants, near_dst),
    hours=st.sampled_from([1, 2, 3, 6, 24, 0.5]),
    count=st.integers(1, 30),
)
@settings(max_examples=300, deadline=None)
def test_windows_tile_the_range_without_gap_or_overlap(
    start: dt.datetime, hours: float, count: int
) -> None:
    end = start + dt.timedelta(hours=hours * count) - dt.timedelta(minutes=7)
    windows = plan_windows(start, end, dt.timedelta(hours=hours))
    assert windows[0].start == start
    assert windows[-1].end == end
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start
    assert all(w.start < w.end for w in windows)


@given(
    start=st.one_of(instants, near_dst),
    hours=st.sampled_from([1, 2, 24, 0.25]),
    zone_name=st.sampled_from(ZONES),
    offsets=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=8),
)
@settings(max_examples=400, deadline=None)
def test_local_range_covers_every_instant_of_the_window(
    start: dt.datetime, hours: float, zone_name: str, offsets: list[float]
) -> None:
    zone = ZoneInfo(zone_name)
    window = Window(start, start + dt.timedelta(hours=hours))
    low, high = local_request_range(window, zone)
    assert low < high
    assert is_unique(low, zone)  # by brute force over the zone's clock, not the module's test
    assert is_unique(high, zone)
    span = (window.end - window.start).total_seconds()
    probes = {window.start, window.end - dt.timedelta(seconds=1)}
    probes |= {window.start + dt.timedelta(seconds=int(f * span)) for f in offsets}
    for u in probes:
        _assert_covered_by_all_readings(low, high, zone, u)


@pytest.mark.parametrize("hour", range(-3, 4))
def test_every_second_of_the_vienna_dst_hours_is_covered(hour: int) -> None:
    for transition in DST_2024:
        window = Window(
            transition + dt.timedelta(hours=hour), transition + dt.timedelta(hours=hour + 1)
        )
        low, high = local_request_range(window, VIENNA)
        uncovered = {
            second: missing
            for second in range(0, 3600, 7)
            if (
                missing := _readings_missing(
                    low, high, VIENNA, window.start + dt.timedelta(seconds=second)
                )
            )
        }
        assert uncovered == {}, f"window {window}"


def test_fall_back_hour_window_gets_a_range_later_than_its_start() -> None:
    # [00:00Z, 01:00Z) on 2024-10-27 is 02:00 CEST .. 02:00 CET: same wall time at both ends.
    window = Window(
        dt.datetime(2024, 10, 27, 0, tzinfo=UTC), dt.datetime(2024, 10, 27, 1, tzinfo=UTC)
    )
    low, high = local_request_range(window, VIENNA)
    assert (low, high) == (dt.datetime(2024, 10, 27, 1, 59, 59), dt.datetime(2024, 10, 27, 3, 0))  # noqa: DTZ001


def test_plain_window_is_widened_by_one_second_each_side() -> None:
    window = Window(
        dt.datetime(2024, 1, 10, 23, tzinfo=UTC), dt.datetime(2024, 1, 11, 23, tzinfo=UTC)
    )
    low, high = local_request_range(window, VIENNA)
    assert (low, high) == (dt.datetime(2024, 1, 10, 23, 59, 59), dt.datetime(2024, 1, 12, 0, 0, 0))  # noqa: DTZ001


def test_window_rejects_naive_or_empty_bounds() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2))  # noqa: DTZ001
    moment = dt.datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="later than"):
        Window(moment, moment)
    assert plan_windows(moment, moment, dt.timedelta(hours=1)) == []
