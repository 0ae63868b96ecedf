"""Whole runs against the sandbox: every registration exactly once, whatever the bounds."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from sandbox import Sandbox, SandboxConfig
from tests.conftest import UTC, expected_keys, record_keys, run_tap, tap_config

BOUNDS = ["[]", "[)", "(]", "()"]


@pytest.mark.parametrize("auth", ["oauth", "wsse"])
@pytest.mark.parametrize("bounds", BOUNDS)
def test_multi_day_run_returns_the_truth_exactly(auth: str, bounds: str) -> None:
    with Sandbox(SandboxConfig(days=3, per_day=30, bounds=bounds)) as sb:
        run = run_tap(tap_config(sb, auth=auth, window_hours=6))
        assert run.error is None
        start, end = sb.config.start, sb.config.start + dt.timedelta(days=3)
        keys = record_keys(run)
        assert keys == expected_keys(sb, start, end)
        assert not [k for k, n in Counter(keys).items() if n > 1]
        assert run.bookmark == end.isoformat()
        versions = {e.path.split("/")[2] for e in sb.requests if e.path.startswith("/api/")}
        assert versions == ({"v3"} if auth == "oauth" else {"v2"})


@pytest.mark.parametrize("bounds", BOUNDS)
def test_hourly_windows_through_the_autumn_dst_change(bounds: str) -> None:
    start = dt.datetime(2024, 10, 26, 12, tzinfo=UTC)
    with Sandbox(SandboxConfig(start=start, days=1, per_day=60, bounds=bounds)) as sb:
        end = start + dt.timedelta(hours=18)
        run = run_tap(tap_config(sb, window_hours=1, end_date=end.isoformat()))
        assert run.error is None
        assert record_keys(run) == expected_keys(sb, start, end)
        repeated_hour = [
            r
            for r in sb.truth(start, end)
            if r.local_time.date() == dt.date(2024, 10, 27) and r.local_time.hour == 2
        ]
        assert len(repeated_hour) >= 4, "the dataset covers both occurrences of 02:00-03:00"


def test_values_are_typed_and_quirky_text_survives() -> None:
    with Sandbox(SandboxConfig(days=2, per_day=40, bom=True, crlf=False)) as sb:
        run = run_tap(tap_config(sb, delimiter=","))
        assert run.error is None
        truth = {
            (r.user_id, r.registered_at.isoformat()): r.values
            for r in sb.truth(sb.config.start, sb.config.start + dt.timedelta(days=2))
        }
        assert len(run.records) == len(truth)
        for record in run.records:
            values = truth[(record["user_id"], record["registered_at"])]
            assert record["first_name"] == (values.get(1) or None)
            assert record["field_5003"] == (values.get(5003) or None)
            points = values.get(5001)
            assert record["loyalty_points"] == (
                Decimal(str(points)) if points is not None else None
            )
            purchase = values.get(5002)
            assert record["last_purchase_date"] == (purchase.isoformat() if purchase else None)  # type: ignore[union-attr]
        texts = " ".join(str(r["first_name"]) + str(r["field_5003"]) for r in run.records)
        assert any(c in texts for c in ';,"\n')


def test_empty_windows_still_advance_the_bookmark() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5)) as sb:
        start = sb.config.start + dt.timedelta(days=5)
        end = start + dt.timedelta(hours=12)
        run = run_tap(
            tap_config(sb, start_date=start.isoformat(), end_date=end.isoformat(), window_hours=4)
        )
        assert run.error is None
        assert run.records == []
        bookmarks = [
            s["bookmarks"]["registrations"].get("replication_key_value") for s in run.states
        ]
        expected = [(start + dt.timedelta(hours=h)).isoformat() for h in (4, 8, 12)]
        assert [b for b in dict.fromkeys(bookmarks) if b] == expected
