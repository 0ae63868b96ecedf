"""More than 20 fields: split over several exports per window and joined into one record."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import pytest

from sandbox import Sandbox, SandboxConfig
from sandbox.fields import exportable_ids, fields_by_id
from tap_emarsys_registrations.extraction.plan import split_fields
from tests.conftest import expected_keys, record_keys, run_tap, tap_config

SIXTY = sorted(exportable_ids())[:60]


def _property(field_id: int) -> str:
    string_id = fields_by_id()[field_id].string_id
    return string_id if string_id else f"field_{field_id}"


def _typed(field_id: int, value: Any) -> Any:
    """What the record should hold: numbers for numeric fields, text for the rest."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if fields_by_id()[field_id].application_type == "numeric":
        return Decimal(str(value))
    return str(value)


def _check_complete(sb: Sandbox, records: list[dict[str, Any]], days: int) -> None:
    end = sb.config.start + dt.timedelta(days=days)
    truth = {
        (r.user_id, r.registered_at.isoformat()): r.values for r in sb.truth(sb.config.start, end)
    }
    assert len(records) == len(truth)
    for record in records:
        values = truth[(record["user_id"], record["registered_at"])]
        for field_id in SIXTY:
            assert record[_property(field_id)] == _typed(field_id, values.get(field_id)), field_id


def test_split_is_even_and_never_over_twenty() -> None:
    sizes = [len(p) for p in split_fields(list(range(60)))]  # type: ignore[arg-type]
    assert sizes == [20, 20, 20]
    assert [len(p) for p in split_fields(list(range(45)))] == [15, 15, 15]  # type: ignore[arg-type]
    assert [len(p) for p in split_fields(list(range(7)))] == [7]  # type: ignore[arg-type]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_sixty_fields_come_back_as_complete_records(concurrency: int) -> None:
    assert len(SIXTY) == 60
    with Sandbox(SandboxConfig(days=2, per_day=30)) as sb:
        run = run_tap(
            tap_config(
                sb,
                contact_fields=SIXTY,
                window_hours=12,
                max_window_hours=12,  # one export (of three parts) per window
                max_concurrent_exports=concurrency,
            )
        )
        assert run.error is None
        posts = [e for e in sb.requests if e.path.endswith("/contact/getregistrations")]
        assert len(posts) == 4 * 3
        assert all(len(e.json_body["contact_fields"]) == 20 for e in posts)  # type: ignore[index]
        assert record_keys(run) == expected_keys(
            sb, sb.config.start, sb.config.start + dt.timedelta(days=2)
        )
        _check_complete(sb, run.records, days=2)


@pytest.mark.parametrize("shuffle", [False, True], ids=["same-order", "shuffled"])
def test_wide_exports_over_merged_windows_join_into_grid_records(shuffle: bool) -> None:
    with Sandbox(SandboxConfig(days=4, per_day=30)) as sb:
        sb.faults.shuffle_rows = shuffle
        run = run_tap(
            tap_config(sb, contact_fields=SIXTY, window_hours=24, max_concurrent_exports=1)
        )
        assert run.error is None
        posts = [e for e in sb.requests if e.path.endswith("/contact/getregistrations")]
        assert len(posts) == 2 * 3  # the probe day and the 3 merged days, 3 parts each
        _check_complete(sb, run.records, days=4)
        start = sb.config.start
        for record in run.records:
            day = (dt.datetime.fromisoformat(record["registered_at"]) - start).days
            assert record["window_start"] == (start + dt.timedelta(days=day)).isoformat()


def test_parts_in_different_row_orders_are_joined_on_disk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=60)) as sb:
        sb.faults.shuffle_rows = True
        with caplog.at_level(logging.INFO):
            run = run_tap(tap_config(sb, contact_fields=SIXTY, window_hours=24))
        assert run.error is None
        assert any("joining the rest on disk" in r.getMessage() for r in caplog.records)
        _check_complete(sb, run.records, days=1)
        assert len(record_keys(run)) == len(set(record_keys(run)))


def test_a_row_missing_from_one_part_is_reported_not_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing_field = SIXTY[45]  # in the third part
    with Sandbox(SandboxConfig(days=1, per_day=20)) as sb:
        sb.faults.omit_first_row_with_field = missing_field
        with caplog.at_level(logging.WARNING):
            run = run_tap(tap_config(sb, contact_fields=SIXTY, window_hours=24))
        assert run.error is None
        end = sb.config.start + dt.timedelta(days=1)
        assert record_keys(run) == expected_keys(sb, sb.config.start, end)
        first = min(run.records, key=lambda r: r["registered_at"])
        assert first[_property(missing_field)] is None
        assert first[_property(SIXTY[0])] is not None or first[_property(SIXTY[1])] is not None
        assert any("missing from some export parts" in r.getMessage() for r in caplog.records)


def test_a_cut_download_of_one_part_is_read_again_without_duplicates() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=80)) as sb:
        sb.faults.drop_download_after_bytes = 3000
        sb.faults.drop_download_count = 1
        run = run_tap(tap_config(sb, contact_fields=SIXTY, window_hours=24))
        assert run.error is None
        downloads = [e for e in sb.requests if e.path.endswith("/data")]
        assert len(downloads) == 6, "the window is read again, all three parts"
        keys = record_keys(run)
        assert len(keys) == len(set(keys))
        _check_complete(sb, run.records, days=1)
