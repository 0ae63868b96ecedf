"""Emarsys wall times to UTC, checked against brute force over the zone's clock.

A repeated wall time is read as its first instant, a skipped one with the offset in
force before the change (``tests/zone_oracle.py`` says which instants those are, from
the zone's offsets alone). The converter takes ``YYYY-MM-DD HH:MM:SS``, with ``T`` or a
blank between date and time, or without seconds; anything else is an error.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter
from tests.zone_oracle import first_instant, instants_showing, shown, transitions

if TYPE_CHECKING:
    from collections.abc import Iterator

UTC = dt.UTC
VIENNA = ZoneInfo("Europe/Vienna")
ZONES = ["Europe/Vienna", "Australia/Lord_Howe", "America/St_Johns", "Asia/Kolkata", "UTC"]


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _near_changes(zone_name: str) -> st.SearchStrategy[dt.datetime]:
    """Naive wall times within three hours of one of the zone's changes (or any, if none)."""
    zone = ZoneInfo(zone_name)
    walls = [shown(change, zone) for year in (2023, 2024) for change in transitions(zone, year)]
    if not walls:
        return st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 12, 31))  # noqa: DTZ001
    return st.sampled_from(walls).flatmap(
        lambda wall: st.integers(-3 * 3600, 3 * 3600).map(lambda s: wall + dt.timedelta(seconds=s))
    )


@st.composite
def _zone_and_walls(draw: st.DrawFn) -> tuple[str, list[dt.datetime]]:
    name = draw(st.sampled_from(ZONES))
    walls = draw(st.lists(_near_changes(name), min_size=1, max_size=8))
    return name, [w.replace(microsecond=0) for w in walls]


@given(zone_and_walls=_zone_and_walls(), separator=st.sampled_from([" ", "T"]))
@settings(max_examples=150, deadline=None)
def test_each_wall_time_becomes_its_first_instant(
    zone_and_walls: tuple[str, list[dt.datetime]], separator: str
) -> None:
    name, walls = zone_and_walls
    zone = ZoneInfo(name)
    converter = LocalTimestampConverter(zone)  # one converter: later hours come from its cache
    for wall in walls:
        text = wall.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
        assert converter.to_utc_string(text) == _iso(first_instant(wall, zone)), text
        assert converter.parse(text) == first_instant(wall, zone), text


@pytest.mark.parametrize(
    ("zone_name", "raw", "expected"),
    [
        # The repeated hour in Vienna: the first 02:30 is CEST.
        ("Europe/Vienna", "2024-10-27 02:30:00", "2024-10-27T00:30:00+00:00"),
        ("Europe/Vienna", "2024-10-27T02:30:00", "2024-10-27T00:30:00+00:00"),
        ("Europe/Vienna", "2024-10-27 02:30", "2024-10-27T00:30:00+00:00"),
        ("Europe/Vienna", " 2024-10-27 02:30:00 ", "2024-10-27T00:30:00+00:00"),
        # The skipped hour in spring is read with CET, the offset before it.
        ("Europe/Vienna", "2024-03-31 02:30:00", "2024-03-31T01:30:00+00:00"),
        ("Europe/Vienna", "2024-03-31 03:00:00", "2024-03-31T01:00:00+00:00"),
        ("Europe/Vienna", "2024-03-31 01:59:59", "2024-03-31T00:59:59+00:00"),
        # Lord Howe repeats half an hour (+11 to +10:30): the first 01:45 is +11.
        ("Australia/Lord_Howe", "2024-04-07 01:45:00", "2024-04-06T14:45:00+00:00"),
        ("Australia/Lord_Howe", "2024-04-07 02:15:00", "2024-04-06T15:45:00+00:00"),
        # Goose Bay changed at one minute past midnight (1990), between whole-hour offsets:
        # the hour from 01:00 on 1 April holds a skipped minute (CAST) then CADT, and the
        # hour from 00:00 on 28 October a repeated minute then AST.
        ("America/Goose_Bay", "1990-04-01 01:00:30", "1990-04-01T05:00:30+00:00"),
        ("America/Goose_Bay", "1990-04-01 01:30:00", "1990-04-01T04:30:00+00:00"),
        ("America/Goose_Bay", "1990-10-28 00:00:30", "1990-10-28T03:00:30+00:00"),
        ("America/Goose_Bay", "1990-10-28 00:30:00", "1990-10-28T04:30:00+00:00"),
        # A half-hour offset all year.
        ("Asia/Kolkata", "2024-01-01 05:29:59", "2023-12-31T23:59:59+00:00"),
        ("Asia/Kolkata", "2024-01-01T05:30", "2024-01-01T00:00:00+00:00"),
    ],
)
def test_wall_times_at_the_edges(zone_name: str, raw: str, expected: str) -> None:
    converter = LocalTimestampConverter(ZoneInfo(zone_name))
    assert converter.to_utc_string(raw) == expected
    assert converter.to_utc_string(raw) == expected, "the same again, from the cache"
    assert _iso(converter.parse(raw)) == expected
    assert converter.parse(raw).tzinfo is UTC


def test_the_first_instant_is_one_of_the_instants_of_a_repeated_time() -> None:
    wall = dt.datetime(2024, 10, 27, 2, 30)  # noqa: DTZ001
    assert instants_showing(wall, VIENNA) == [
        dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
        dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
    ]
    assert (
        LocalTimestampConverter(VIENNA).parse("2024-10-27 02:30:00")
        == instants_showing(wall, VIENNA)[0]
    )


@pytest.mark.parametrize(
    "raw",
    [
        "yesterday",
        "",
        "2024-01-10",
        "2024-01-10 12",
        "2024-01-10 12:00:0",
        "2024-01-10 12:00:00Z",
        "2024-01-10 12:00:00+01:00",
        "2024-01-10_12:00:00",
        "2024-01-10 12-00-00",
        "2024-02-30 12:00:00",
        "2024-01-10 24:00:00",
        "2024-01-10 12:60:00",
        "2024-01-10 12:00:60",
        "2024-01-10 12:3x:00",
        "2024-01-10 12x30:00",
        "2024-01-10 12:30x00",
        "2024-01-10 12:00:1x",
        "2024-01-10 12:3\N{SUPERSCRIPT TWO}:00",
        "2024-01-10 12:00:0\N{SUPERSCRIPT TWO}",
        "2024-01-10 \N{SUPERSCRIPT ONE}2:00:00",
    ],
)
def test_a_malformed_timestamp_is_an_error_naming_it(raw: str) -> None:
    converter = LocalTimestampConverter(VIENNA)
    converter.to_utc_string("2024-01-10 12:15:00")  # the hour is cached: no shortcut past checks
    with pytest.raises(ValueError, match="not a 'YYYY-MM-DD HH:MM:SS' timestamp") as raised:
        converter.to_utc_string(raw)
    assert repr(raw) in str(raised.value)


@pytest.fixture(params=["Asia/Kolkata", "America/St_Johns", "Europe/Vienna"])
def machine_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The machine's own local zone set to another one, as on a server kept in local time."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_the_machine_s_local_zone_changes_nothing(machine_zone: str) -> None:
    converter = LocalTimestampConverter(VIENNA)
    for raw, expected in [
        ("2024-01-10 12:15:00", "2024-01-10T11:15:00+00:00"),
        ("2024-07-10 12:15:00", "2024-07-10T10:15:00+00:00"),
        ("2024-10-27 02:30:00", "2024-10-27T00:30:00+00:00"),
    ]:
        assert converter.to_utc_string(raw) == expected, machine_zone
        assert converter.to_utc_string(raw) == expected, "the same again, from the cache"
        assert _iso(converter.parse(raw)) == expected
