"""STATE: pending exports saved before waiting, the bookmark after each window, resuming."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.errors import ExportFailedError
from tests.clocks import VirtualClock
from tests.conftest import (
    VIENNA,
    Run,
    expected_keys,
    record_keys,
    run_tap,
    tap_config,
)

if TYPE_CHECKING:
    from sandbox import RequestLogEntry

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def _stream_state(value: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = value.get("bookmarks", {}).get("registrations", {})
    return state


def _progress(value: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    state = _stream_state(value)
    return state.get("replication_key_value"), tuple(sorted(state.get("pending_exports", {})))


def _export_posts(sb: Sandbox) -> list[RequestLogEntry]:
    return [
        e
        for e in sb.requests
        if e.method == "POST" and e.path.endswith("/contact/getregistrations")
    ]


def _time_range(entry: RequestLogEntry) -> list[str]:
    assert isinstance(entry.json_body, dict)
    time_range: list[str] = entry.json_body["time_range"]
    return time_range


def _no_duplicates(run: Run) -> None:
    counts = Counter(record_keys(run))
    assert not [key for key, n in counts.items() if n > 1], "duplicate primary keys"


def _check_message_order(run: Run, edges: list[str], jobs: dict[str, int]) -> None:
    """Per window: its export id is in STATE before its first record, the bookmark
    reaches its end only after its last record, and never moves back."""
    messages = run.messages
    for low, high in itertools.pairwise(edges):
        saved_at = next(
            i
            for i, m in enumerate(messages)
            if m["type"] == "STATE" and low in _stream_state(m["value"]).get("pending_exports", {})
        )
        window_records = [
            i
            for i, m in enumerate(messages)
            if m["type"] == "RECORD" and m["record"]["window_start"] == low
        ]
        assert window_records, f"window {low} has registrations in the dataset"
        advanced_at = next(
            i
            for i, m in enumerate(messages)
            if m["type"] == "STATE" and _progress(m["value"])[0] == high
        )
        assert saved_at < window_records[0], "the export id is saved before any record"
        assert window_records[-1] < advanced_at, "the bookmark moves after the last record"
        saved = _stream_state(messages[saved_at]["value"])["pending_exports"][low]
        assert saved["id"] == jobs[low]
        assert saved["window_end"] == high
    bookmarks = [b for b, _ in (_progress(s) for s in run.states) if b is not None]
    assert bookmarks == sorted(bookmarks), "the bookmark never moves back"
    assert _progress(run.last_state) == (edges[-1], ())


def _jobs_by_window(sb: Sandbox, edges: list[str]) -> dict[str, int]:
    """Export id per window start, matched through the local ``time_range`` start."""
    by_low = {job.body["time_range"][0]: job.id for job in sb.export_jobs}
    return {edge: by_low[_local_low(dt.datetime.fromisoformat(edge))] for edge in edges[:-1]}


def _local_low(instant: dt.datetime) -> str:
    local = instant.astimezone(VIENNA).replace(tzinfo=None) - dt.timedelta(seconds=1)
    return local.strftime("%Y-%m-%d %H:%M:%S")


def test_state_sequence_saves_each_export_before_its_records_and_advances_after() -> None:
    with Sandbox(SandboxConfig(days=3, per_day=25)) as sb:
        start = sb.config.start
        config = tap_config(sb, window_hours=24, max_window_hours=24, max_concurrent_exports=1)
        run = run_tap(config)
        assert run.error is None
        edges = [(start + k * DAY).isoformat() for k in range(4)]
        progress = [key for key, _ in itertools.groupby(_progress(s) for s in run.states)]
        assert progress == [
            (None, (edges[0],)),
            (edges[1], ()),
            (edges[1], (edges[1],)),
            (edges[2], ()),
            (edges[2], (edges[2],)),
            (edges[3], ()),
        ]
        _check_message_order(run, edges, _jobs_by_window(sb, edges))
        _no_duplicates(run)
        assert record_keys(run) == expected_keys(sb, start, start + 3 * DAY)


@pytest.mark.parametrize("workers", [pytest.param(3, id="3-in-flight"), pytest.param(4, id="4")])
def test_state_order_holds_with_exports_in_flight(workers: int) -> None:
    with Sandbox(SandboxConfig(days=3, per_day=25, export_delay_seconds=0.2)) as sb:
        start = sb.config.start
        run = run_tap(tap_config(sb, window_hours=24, max_concurrent_exports=workers))
        assert run.error is None
        edges = [(start + k * DAY).isoformat() for k in range(4)]
        _check_message_order(run, edges, _jobs_by_window(sb, edges))
        _no_duplicates(run)
        assert record_keys(run) == expected_keys(sb, start, start + 3 * DAY)


def test_resuming_from_a_bookmark_starts_the_export_there() -> None:
    with Sandbox(SandboxConfig(days=3, per_day=25)) as sb:
        bookmark = sb.config.start + DAY
        end = sb.config.start + 3 * DAY
        state = {
            "bookmarks": {
                "registrations": {
                    "replication_key": "window_start",
                    "replication_key_value": bookmark.isoformat(),
                },
            },
        }
        run = run_tap(tap_config(sb, window_hours=24), state=state)
        assert run.error is None
        posts = _export_posts(sb)
        assert len(posts) == 2
        first_request = min(posts, key=lambda e: _time_range(e)[0])
        assert _time_range(first_request)[0] == _local_low(bookmark)
        assert run.records
        assert all(dt.datetime.fromisoformat(r["registered_at"]) >= bookmark for r in run.records)
        assert record_keys(run) == expected_keys(sb, bookmark, end)
        assert run.bookmark == end.isoformat()


@pytest.mark.parametrize("workers", [pytest.param(1, id="serial"), pytest.param(4, id="4")])
def test_failure_in_the_second_window_leaves_the_bookmark_at_the_first_window_end(
    workers: int,
) -> None:
    with Sandbox(SandboxConfig(days=2, per_day=25)) as sb:
        start = sb.config.start
        first_end = (start + DAY).isoformat()
        config = tap_config(sb, window_hours=24, max_concurrent_exports=workers)
        # A clean run leaves a finished export for window 1; a state naming only that
        # export makes window 2's export the only one the next run starts.
        clean = run_tap(config)
        assert clean.error is None
        entry = next(
            pending[start.isoformat()]
            for pending in (_stream_state(s).get("pending_exports", {}) for s in clean.states)
            if start.isoformat() in pending
        )
        state = {"bookmarks": {"registrations": {"pending_exports": {start.isoformat(): entry}}}}
        sb.clear_requests()
        sb.faults.fail_next_exports = 1
        run = run_tap(config, state=state)
        assert isinstance(run.error, ExportFailedError)
        [post] = _export_posts(sb)
        assert _time_range(post)[0] == _local_low(start + DAY)
        failed = sb.export_jobs[-1]
        assert failed.status == "error"
        assert f"export {failed.id}" in str(run.error)
        assert f"[{first_end}, " in str(run.error)
        assert run.bookmark == first_end
        assert record_keys(run) == expected_keys(sb, start, start + DAY)


def test_hourly_windows_emit_each_on_the_hour_registration_once() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=25, bounds="[]")) as sb:
        start = sb.config.start
        run = run_tap(tap_config(sb, window_hours=1, max_window_hours=1))
        assert run.error is None
        assert len(_export_posts(sb)) == 24
        _no_duplicates(run)
        assert record_keys(run) == expected_keys(sb, start, start + DAY)
        by_time: dict[str, list[dict[str, Any]]] = {}
        for record in run.records:
            by_time.setdefault(record["registered_at"], []).append(record)
            registered = dt.datetime.fromisoformat(record["registered_at"])
            window_start = dt.datetime.fromisoformat(record["window_start"])
            assert window_start <= registered < window_start + HOUR
        for hour in range(24):
            instant = (start + hour * HOUR).isoformat()
            assert instant in by_time, f"the dataset has a registration at {instant}"
            assert [r["window_start"] for r in by_time[instant]] == [instant] * len(
                by_time[instant]
            )


def test_saved_export_for_a_different_request_is_not_reused() -> None:
    virtual = VirtualClock()  # the first export outlives the first run's timeout, always
    with Sandbox(
        SandboxConfig(days=1, per_day=25, export_delay_seconds=6), clock=virtual.time
    ) as sb:
        config = tap_config(sb, poll_interval_seconds=0.5, export_timeout_seconds=60)
        first = run_tap(
            config | {"contact_fields": [1, 2, 3], "export_timeout_seconds": 1},
            clock=virtual.clock(),
        )
        assert first.error is not None
        [saved] = _stream_state(first.last_state)["pending_exports"].values()
        second = run_tap(config, state=first.last_state, clock=virtual.clock())
        assert second.error is None
        jobs = sb.export_jobs
        assert len(jobs) == 2
        assert jobs[0].id == saved["id"]
        downloads = [e.path for e in sb.requests if e.path.endswith("/data")]
        assert downloads == [f"/api/v3/export/{jobs[1].id}/data"]
        fields = [list(job.body["contact_fields"]) for job in jobs]
        assert fields[0] == [1, 2, 3]
        assert fields[1] != fields[0]
        assert record_keys(second) == expected_keys(sb, sb.config.start, sb.config.start + DAY)


def test_saved_export_unknown_to_emarsys_is_started_again() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=25)) as sb:
        config = tap_config(sb)
        first = run_tap(config)
        assert first.error is None
        state = copy.deepcopy(first.states[0])
        [entry] = _stream_state(state)["pending_exports"].values()
        entry["id"] = 999_999_999
        sb.clear_requests()
        second = run_tap(config, state=state)
        assert second.error is None
        unknown = [e for e in sb.requests if "/999999999" in e.path]
        assert [(e.status, e.reply_code) for e in unknown] == [(400, 10001)]
        assert len(_export_posts(sb)) == 1
        assert record_keys(second) == expected_keys(sb, sb.config.start, sb.config.start + DAY)
        _no_duplicates(second)
