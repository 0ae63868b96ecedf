"""Backfills through merged export spans: exact rows, grid window_start, bursts, splits, resume."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import threading
import time
import tracemalloc
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from sandbox.profile import Burst
from tap_emarsys_registrations.streams import RegistrationsStream
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.clocks import FAST_CLOCK, VirtualClock
from tests.conftest import VIENNA, Run, expected_keys, record_keys, run_tap, tap_config

if TYPE_CHECKING:
    from sandbox import RequestLogEntry

UTC = dt.UTC
DAY = dt.timedelta(days=1)


def posts(sb: Sandbox) -> list[RequestLogEntry]:
    return [
        e
        for e in sb.requests
        if e.method == "POST" and e.path.endswith("/contact/getregistrations")
    ]


def local_range(entry: RequestLogEntry) -> tuple[dt.datetime, dt.datetime]:
    assert isinstance(entry.json_body, dict)
    low, high = entry.json_body["time_range"]
    return dt.datetime.fromisoformat(low), dt.datetime.fromisoformat(high)


def span_days(entry: RequestLogEntry) -> float:
    low, high = local_range(entry)
    return round((high - low).total_seconds() / 86_400, 1)


def grid_start(registered_at: str, start: dt.datetime, step: dt.timedelta) -> str:
    moment = dt.datetime.fromisoformat(registered_at)
    return (start + ((moment - start) // step) * step).isoformat()


def check_window_starts(run: Run, start: dt.datetime, step: dt.timedelta) -> None:
    assert run.records
    for record in run.records:
        assert record["window_start"] == grid_start(record["registered_at"], start, step)


def stream_state(run: Run) -> dict[str, Any]:
    value: dict[str, Any] = run.last_state["bookmarks"]["registrations"]
    return value


@pytest.mark.parametrize("bounds", ["[]", "[)", "(]", "()"])
@pytest.mark.parametrize(
    "start",
    [dt.datetime(2024, 3, 29, tzinfo=UTC), dt.datetime(2024, 10, 25, tzinfo=UTC)],
    ids=["spring-dst", "autumn-dst"],
)
def test_merged_spans_give_exact_rows_and_grid_window_starts_through_dst(
    bounds: str, start: dt.datetime
) -> None:
    config = SandboxConfig(start=start, days=5, per_day=60, bounds=bounds)
    with Sandbox(config) as sb:
        run = run_tap(tap_config(sb, window_hours=6, max_concurrent_exports=2))
        assert run.error is None
        made = posts(sb)
        # A probe of one 6-hour window, then the other 19 windows in one export.
        assert len(made) == 2
        assert span_days(made[1]) > 4.5
        assert record_keys(run) == expected_keys(sb, start, start + 5 * DAY)
        assert len(run.records) == len(set(record_keys(run)))
        check_window_starts(run, start, dt.timedelta(hours=6))
        assert run.bookmark == (start + 5 * DAY).isoformat()
        assert stream_state(run)["pending_exports"] == {}


def test_the_bookmark_stays_at_a_merged_span_start_until_its_last_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SDK writes a STATE every STATE_MSG_FREQUENCY records; make it happen mid-export.
    monkeypatch.setattr(RegistrationsStream, "STATE_MSG_FREQUENCY", 25)
    with Sandbox(SandboxConfig(days=4, per_day=40)) as sb:
        start = sb.config.start
        run = run_tap(tap_config(sb, window_hours=24, max_concurrent_exports=1))
        assert run.error is None
        assert not any("progress_markers" in str(state) for state in run.states)
        bookmarks = []
        for message in run.messages:
            if message["type"] == "STATE":
                value = message["value"]["bookmarks"]["registrations"]
                bookmarks.append(value.get("replication_key_value"))
            elif (
                message["type"] == "RECORD"
                and message["record"]["window_start"] > (start + DAY).isoformat()
            ):
                # records of the merged span (days 2-4): the bookmark is at its start
                assert bookmarks[-1] == (start + DAY).isoformat()
        assert [b for b in dict.fromkeys(bookmarks) if b] == [
            (start + DAY).isoformat(),
            (start + 4 * DAY).isoformat(),
        ]


def test_a_burst_shrinks_the_spans_started_after_it_came_back() -> None:
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    burst = Burst(date(2025, 1, 20), 10, 1_500)
    config = SandboxConfig(start=start, days=60, per_day=20, bursts=(burst,))
    target = 2_000
    with Sandbox(config) as sb:
        run = run_tap(
            tap_config(
                sb,
                window_hours=24,
                max_window_hours=24 * 15,
                target_rows_per_export=target,
                max_concurrent_exports=1,
            )
        )
        assert run.error is None
        assert record_keys(run) == expected_keys(sb, start, start + 60 * DAY)
        check_window_starts(run, start, DAY)
        sizes = [sb.dataset.count_local(*local_range(p)) for p in posts(sb)]
        days = [span_days(p) for p in posts(sb)]
    # The probe, then 15 quiet days; the burst starts in the second 15-day span.
    assert days[:2] == [1.0, 15.0]
    large = next(i for i, rows in enumerate(sizes) if rows > target)
    # Every export started after that came back is sized from the burst's density:
    # single days while the burst lasts (1,500 a day), at most 2 x target.
    after = sizes[large + 1 :]
    assert max(after) <= 2 * target
    assert days[large + 1] == 1.0
    assert max(days) == 15.0
    assert days[-1] > 1.0  # quiet again: grown back


def test_a_failed_merged_export_is_split_in_two_until_it_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Sandbox(SandboxConfig(days=5, per_day=30)) as sb:
        start = sb.config.start

        def fail_the_merged_export() -> None:
            deadline = time.monotonic() + 10
            while len(posts(sb)) < 1 and time.monotonic() < deadline:
                time.sleep(0.002)
            sb.faults.fail_next_exports = 2  # the merged span and its first half

        arm = threading.Thread(target=fail_the_merged_export)
        arm.start()
        run = run_tap(
            tap_config(sb, window_hours=24, max_concurrent_exports=1, poll_interval_seconds=0.05)
        )
        arm.join()
        assert run.error is None, run.error
        spans = [span_days(p) for p in posts(sb)]
        statuses = [job.status for job in sb.export_jobs]
        assert record_keys(run) == expected_keys(sb, start, start + 5 * DAY)
        check_window_starts(run, start, DAY)
    # probe (1 day), merged (4 days, error), halves of 2 days: the first fails again and,
    # while the one worker exports the second half, is split into single days.
    assert spans == [1.0, 4.0, 2.0, 2.0, 1.0, 1.0]
    assert statuses == ["done", "error", "error", "done", "done", "done"]
    # Progress and warnings name a merged export by the grid windows it covers.
    assert "windows 2-5/5 [2024-03-30T00:00:00+00:00, 2024-04-03T00:00:00+00:00)" in caplog.text
    assert "the export over 4 windows failed" in caplog.text


def test_a_merged_export_that_times_out_is_split_on_the_virtual_clock() -> None:
    """100 rows a day at 200 s per 1,000 rows: 4 days take 80 s, over the 60 s timeout."""
    virtual = VirtualClock()
    config = SandboxConfig(days=5, per_day=100, export_seconds_per_thousand_rows=200)
    with Sandbox(config, clock=virtual.time) as sb:
        start = sb.config.start
        run = run_tap(
            tap_config(
                sb,
                window_hours=24,
                max_concurrent_exports=1,
                poll_interval_seconds=2,
                poll_interval_max_seconds=2,
                export_timeout_seconds=60,
            ),
            clock=virtual.clock(),
        )
        assert run.error is None, run.error
        assert [span_days(p) for p in posts(sb)] == [1.0, 4.0, 2.0, 2.0]
        assert record_keys(run) == expected_keys(sb, start, start + 5 * DAY)
        check_window_starts(run, start, DAY)


def test_a_failed_single_window_still_fails_the_run() -> None:
    with Sandbox(SandboxConfig(days=3, per_day=10)) as sb:
        sb.faults.fail_next_exports = 1  # the probe: one grid window, nothing to split
        run = run_tap(tap_config(sb, window_hours=24, max_concurrent_exports=1))
        assert run.error is not None
        assert "error" in str(run.error)
        assert run.bookmark is None


def test_a_run_stopped_in_a_merged_export_resumes_it_from_state_without_loss() -> None:
    with Sandbox(SandboxConfig(days=6, per_day=3000)) as sb:
        start = sb.config.start
        config = tap_config(sb, window_hours=24, max_concurrent_exports=1)

        def break_the_merged_download() -> None:
            # With one export in flight the merged span is posted once the probe is read.
            deadline = time.monotonic() + 10
            while len(posts(sb)) < 2 and time.monotonic() < deadline:
                time.sleep(0.002)
            sb.faults.drop_download_count = 50
            sb.faults.drop_download_after_bytes = 1_500_000  # a 1 MiB read, then a cut

        arm = threading.Thread(target=break_the_merged_download)
        arm.start()
        first = run_tap(config)
        arm.join()
        assert first.error is not None
        partial = [r for r in first.records if r["window_start"] >= (start + DAY).isoformat()]
        assert partial, "records of the merged span were emitted before the run stopped"
        state = stream_state(first)
        assert state["replication_key_value"] == (start + DAY).isoformat()
        saved = state["pending_exports"][(start + DAY).isoformat()]
        assert saved["window_end"] == (start + 6 * DAY).isoformat()
        sb.faults.reset()
        posted = len(posts(sb))
        second = run_tap(config, state=first.last_state)
        assert second.error is None
        assert len(posts(sb)) == posted, "the saved merged export was reused"
        # An upserting target: the union by key is the truth, with no key twice.
        loaded: dict[tuple[int, str], dict[str, Any]] = {}
        for run in (first, second):
            for record in run.records:
                loaded[record["user_id"], record["registered_at"]] = record
        assert sorted(loaded) == expected_keys(sb, start, start + 6 * DAY)
        check_window_starts(second, start, DAY)
        assert second.bookmark == (start + 6 * DAY).isoformat()


def test_an_old_state_with_a_single_window_pending_export_is_honoured() -> None:
    with Sandbox(SandboxConfig(days=5, per_day=30)) as sb:
        start = sb.config.start
        old = tap_config(sb, window_hours=24, max_window_hours=24, max_concurrent_exports=1)
        sb.faults.expire_now = True  # the first export is started, saved, then lost
        first = run_tap(old)
        assert first.error is not None
        pending = stream_state(first)["pending_exports"]
        assert list(pending) == [start.isoformat()]
        assert pending[start.isoformat()]["window_end"] == (start + DAY).isoformat()
        saved_id = pending[start.isoformat()]["id"]
        sb.faults.reset()
        posted = len(posts(sb))
        second = run_tap(tap_config(sb, window_hours=24), state=first.last_state)
        assert second.error is None
        downloads = [e.path for e in sb.requests if e.path.endswith("/data")]
        assert any(f"/export/{saved_id}/data" in path for path in downloads)
        new_spans = [span_days(p) for p in posts(sb)[posted:]]
        assert new_spans == [4.0], "window 1 reused its saved export, the rest merged"
        assert record_keys(second) == expected_keys(sb, start, start + 5 * DAY)
        check_window_starts(second, start, DAY)


def test_without_timestamps_every_window_keeps_its_own_export() -> None:
    with Sandbox(SandboxConfig(days=4, per_day=20)) as sb:
        run = run_tap(tap_config(sb, window_hours=24, with_timestamp=False))
        assert run.error is None
        assert [span_days(p) for p in posts(sb)] == [1.0] * 4
        starts = {r["window_start"] for r in run.records}
        assert starts == {(sb.config.start + k * DAY).isoformat() for k in range(4)}


def test_a_run_one_window_behind_starts_one_export_as_before() -> None:
    virtual = VirtualClock()
    with Sandbox(
        SandboxConfig(days=1, per_day=20, export_delay_seconds=120), clock=virtual.time
    ) as sb:
        run = run_tap(
            tap_config(sb, window_hours=24, poll_interval_seconds=5, export_timeout_seconds=600),
            clock=virtual.clock(),
        )
        assert run.error is None
        assert [span_days(p) for p in posts(sb)] == [1.0]
        # the local bounds widen the UTC window by a second on each side
        low, high = local_range(posts(sb)[0])
        assert low == sb.config.start.astimezone(VIENNA).replace(tzinfo=None) - dt.timedelta(
            seconds=1
        )
        assert high - low == DAY + dt.timedelta(seconds=1)


class _Discard(io.RawIOBase):
    """A stdout that forgets what it is given (so only the tap's own memory is measured)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def _peak_bytes(config: dict[str, Any]) -> int:
    out = io.TextIOWrapper(io.BufferedWriter(_Discard()), encoding="utf-8")
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(out):
            TapEmarsysRegistrations(config=config, clock=FAST_CLOCK).sync_all()
            out.flush()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.timeout(180)
def test_memory_stays_flat_however_many_rows_a_merged_export_holds() -> None:
    """Records stream through: four times the rows in one merged export, about the same peak."""
    peaks = []
    for per_day in (1_000, 8_000):
        with Sandbox(SandboxConfig(days=4, per_day=per_day)) as sb:
            config = tap_config(sb, window_hours=24, max_concurrent_exports=1)
            peaks.append(_peak_bytes(config))
            assert [span_days(p) for p in posts(sb)] == [1.0, 3.0]
    # 21,000 more records of ~0.5 KiB would be over 10 MiB if they were held; the
    # sandbox (in this process) caches some values per contact, about 1 MiB here.
    assert peaks[1] - peaks[0] < 4 * 1024 * 1024, peaks


def test_a_saved_export_inside_a_merged_span_is_dropped_when_the_span_is_done() -> None:
    with Sandbox(SandboxConfig(days=5, per_day=20)) as sb:
        start = sb.config.start
        inside = (start + 2 * DAY).isoformat()
        state = {
            "bookmarks": {
                "registrations": {
                    "replication_key": "window_start",
                    "replication_key_value": start.isoformat(),
                    "pending_exports": {
                        inside: {
                            "id": 999,
                            "window_end": (start + 3 * DAY).isoformat(),
                            "fingerprint": "from-an-older-run",
                        },
                    },
                }
            }
        }
        run = run_tap(tap_config(sb, window_hours=24, max_concurrent_exports=1), state=state)
        assert run.error is None
        assert [span_days(p) for p in posts(sb)] == [1.0, 4.0]
        assert not any("/export/999" in e.path for e in sb.requests)
        assert stream_state(run)["pending_exports"] == {}
        assert record_keys(run) == expected_keys(sb, start, start + 5 * DAY)
