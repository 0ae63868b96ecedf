"""Several exports in flight: records stay in window order, the bookmark never skips."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.errors import ExportFailedError
from tests.clocks import VirtualClock
from tests.conftest import expected_keys, record_keys, run_tap, tap_config


def _posts(sb: Sandbox) -> list[list[str]]:
    return [
        e.json_body["time_range"]  # type: ignore[index]
        for e in sb.requests
        if e.method == "POST" and e.path.endswith("/contact/getregistrations") and e.status == 200
    ]


def test_concurrent_exports_keep_window_order_and_the_truth() -> None:
    virtual = VirtualClock()
    config = SandboxConfig(days=2, per_day=40, export_delay_seconds=4)
    with Sandbox(config, clock=virtual.time) as sb:
        run = run_tap(
            tap_config(sb, window_hours=4, max_concurrent_exports=4, poll_interval_seconds=0.5),
            clock=virtual.clock(),
        )
        assert run.error is None
        starts = [r["window_start"] for r in run.records]
        assert starts == sorted(starts), "records arrive window by window, in time order"
        end = sb.config.start + dt.timedelta(days=2)
        assert record_keys(run) == expected_keys(sb, sb.config.start, end)
        bookmarks = [
            s["bookmarks"]["registrations"].get("replication_key_value") for s in run.states
        ]
        seen = [b for b in bookmarks if b]
        assert seen == sorted(seen), "the bookmark never moves back"
        # Each record is followed by a bookmark no later than its window's start
        # until its window is finished.
        last_bookmark = None
        for message in run.messages:
            if message["type"] == "STATE":
                last_bookmark = message["value"]["bookmarks"]["registrations"].get(
                    "replication_key_value"
                )
            elif message["type"] == "RECORD" and last_bookmark is not None:
                assert last_bookmark <= message["record"]["window_start"]


def test_later_exports_start_before_the_first_download() -> None:
    """Waits overlap: with 4 in flight, several exports run before window 1 is downloaded.

    Speed itself is measured side by side in benchmarks/, not asserted here.
    """
    virtual = VirtualClock()
    config = SandboxConfig(days=1, per_day=10, export_delay_seconds=3)
    with Sandbox(config, clock=virtual.time) as sb:
        tap = tap_config(
            sb,
            window_hours=3,
            max_window_hours=3,  # one export per window
            max_concurrent_exports=4,
            poll_interval_seconds=0.5,
        )
        assert run_tap(tap, clock=virtual.clock()).error is None
        log = sb.requests
        first_download = next(i for i, e in enumerate(log) if e.path.endswith("/data"))
        posts_before = [
            e for e in log[:first_download] if e.path.endswith("/contact/getregistrations")
        ]
        assert len(posts_before) == 4
        assert sum(e.path.endswith("/contact/getregistrations") for e in log) == 8


def test_a_failed_window_stops_the_bookmark_and_a_rerun_reuses_started_exports() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=30, export_delay_seconds=0.5)) as sb:
        config = tap_config(sb, window_hours=3, max_window_hours=3, max_concurrent_exports=3)

        def fail_third_export() -> None:
            deadline = time.monotonic() + 10
            while len(_posts(sb)) < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            sb.faults.fail_next_exports = 1

        arm = threading.Thread(target=fail_third_export)
        arm.start()
        first = run_tap(config)
        arm.join()
        assert isinstance(first.error, ExportFailedError)
        failed_window_start = str(first.error).split("[", 1)[1].split(",", 1)[0]
        assert first.bookmark is None or first.bookmark <= failed_window_start
        assert all(r["window_start"] < failed_window_start for r in first.records)
        pending = first.last_state["bookmarks"]["registrations"].get("pending_exports", {})
        reusable = {w for w in pending if w > failed_window_start}

        sb.faults.reset()
        sb.clear_requests()
        second = run_tap(config, state=first.last_state)
        assert second.error is None
        restarted = {tr[0] for tr in _posts(sb)}
        assert len(restarted) == len(_posts(sb)), "no window is exported twice in the rerun"
        end = sb.config.start + dt.timedelta(days=1)
        union = sorted(set(record_keys(first)) | set(record_keys(second)))
        assert union == expected_keys(sb, sb.config.start, end)
        assert len(_posts(sb)) <= 8 - len(reusable) - len(
            {r["window_start"] for r in first.records}
        )
