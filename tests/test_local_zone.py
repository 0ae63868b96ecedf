"""The machine's local zone changes nothing: the same records and STATE in any zone.

``scripts/test.sh`` runs the whole fast tier again under ``TZ=Europe/Vienna`` and
``TZ=Asia/Kolkata``. The tests here make that meaningful and keep it true in every run:
the zone switch must take effect on this machine (else those runs are UTC runs in
disguise), and a sync across a DST change must not depend on the local zone.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sandbox import Sandbox, SandboxConfig
from tests.conftest import Run, expected_keys, record_keys, run_tap, tap_config
from tests.local_zone import local_zone

UTC = dt.UTC
ZONES = ["Europe/Vienna", "Asia/Kolkata", "America/St_Johns"]


@pytest.mark.parametrize("name", ZONES)
def test_the_local_zone_follows_tz(name: str) -> None:
    zone = ZoneInfo(name)
    instants = [dt.datetime(2024, 1, 15, 12, tzinfo=UTC), dt.datetime(2024, 7, 15, 12, tzinfo=UTC)]
    with local_zone(name):
        seen = [time.localtime(i.timestamp()).tm_gmtoff for i in instants]
        naive_local = [i.astimezone().utcoffset() for i in instants]
    expected = [zone.utcoffset(i.replace(tzinfo=None)) for i in instants]
    assert seen == [int(offset.total_seconds()) for offset in expected if offset is not None]
    assert naive_local == expected
    assert all(offset != dt.timedelta(0) for offset in expected), "a zone other than UTC"


def _time_ranges(sb: Sandbox) -> list[str]:
    """The ``time_range`` of every export the tap asked for (workers set the order)."""
    posts = [e for e in sb.requests if e.path.endswith("/contact/getregistrations")]
    return sorted(str(e.json_body["time_range"]) for e in posts if isinstance(e.json_body, dict))


def _bookmarks(run: Run, start: dt.datetime) -> list[object]:
    """Each bookmark past ``start`` the STATE messages moved to, in order.

    Worker threads decide how often STATE is emitted, so repeats are left out.
    """
    seen: list[object] = []
    for state in run.states:
        value = state.get("bookmarks", {}).get("registrations", {}).get("replication_key_value")
        if value is not None and value != start.isoformat() and value not in seen:
            seen.append(value)
    return seen


@pytest.mark.parametrize(
    "max_window_hours",
    [pytest.param(1, id="one-export-per-window"), pytest.param(None, id="merged-spans")],
)
def test_a_sync_across_both_dst_changes_is_the_same_in_every_local_zone(
    max_window_hours: int | None,
) -> None:
    spring = SandboxConfig(start=dt.datetime(2024, 3, 30, 12, tzinfo=UTC), days=1, per_day=96)
    autumn = SandboxConfig(start=dt.datetime(2024, 10, 26, 12, tzinfo=UTC), days=1, per_day=96)
    for config in (spring, autumn):
        with Sandbox(config) as sb:
            settings = tap_config(sb, window_hours=1, max_window_hours=max_window_hours)
            with local_zone("UTC"):
                reference = run_tap(settings)
            assert reference.error is None
            truth = expected_keys(sb, config.start, config.start + dt.timedelta(days=1))
            assert record_keys(reference) == truth
            ranges = _time_ranges(sb)
            if max_window_hours == 1:
                assert len(ranges) == 24
                assert len(_bookmarks(reference, config.start)) == 24
            else:
                assert len(ranges) < 24, "hourly windows merged into fewer exports"
            for name in ZONES:
                sb.clear_requests()
                with local_zone(name):
                    run = run_tap(settings)
                assert run.error is None, name
                assert run.records == reference.records, name
                assert _bookmarks(run, config.start) == _bookmarks(reference, config.start), name
                assert run.last_state == reference.last_state, name
                assert _time_ranges(sb) == ranges, name


def test_the_full_check_runs_the_fast_tier_in_emarsys_zone_and_a_half_hour_zone() -> None:
    script = (Path(__file__).resolve().parents[1] / "scripts" / "test.sh").read_text()
    zones = re.search(r"for zone in \$\{LOCAL_ZONES:-([\w/ ]+)\}", script)
    assert zones is not None, "scripts/test.sh names the local zones it runs the fast tier in"
    names = zones.group(1).split()
    assert "Europe/Vienna" in names
    offsets = [ZoneInfo(n).utcoffset(dt.datetime(2024, 1, 1)) for n in names]  # noqa: DTZ001
    assert any(o is not None and o.total_seconds() % 3600 for o in offsets), "a half-hour zone"
