"""The export lifecycle over real HTTP: polling, failures, recovery, limits and auth."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import logging
import math
import re
import threading
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.emarsys.connection import connect
from tap_emarsys_registrations.emarsys.exports import ExportJobs, ExportRequest
from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportFailedError,
    ExportTimeoutError,
)
from tap_emarsys_registrations.poll import PollPolicy
from tap_emarsys_registrations.settings.tap_settings import Settings
from tests.clocks import FAST_CLOCK, VirtualClock
from tests.conftest import UTC, VIENNA, expected_keys, record_keys, run_tap, tap_config

if TYPE_CHECKING:
    from sandbox import RequestLogEntry
    from tests.conftest import Run

EXPORT_PATH = "/contact/getregistrations"
ALL_PERMISSIONS = frozenset(
    {
        "field.get",
        "field.list",
        "contactlist.list",
        "export.contact.registrations",
        "export.status",
        "export.download",
    },
)


def _range(sb: Sandbox) -> tuple[dt.datetime, dt.datetime]:
    return sb.config.start, sb.config.start + dt.timedelta(days=sb.config.days)


def _truth(sb: Sandbox) -> list[tuple[int, str]]:
    return expected_keys(sb, *_range(sb))


def _body(entry: RequestLogEntry) -> dict[str, Any]:
    assert isinstance(entry.json_body, dict), entry
    return entry.json_body


def _export_posts(sb: Sandbox) -> list[RequestLogEntry]:
    return [e for e in sb.requests if e.method == "POST" and e.path.endswith(EXPORT_PATH)]


def _header(entry: RequestLogEntry, name: str) -> str | None:
    return next((v for k, v in entry.headers.items() if k.lower() == name.lower()), None)


def _pending_ids(run: Run) -> list[int]:
    pending = run.last_state["bookmarks"]["registrations"].get("pending_exports", {})
    return [int(entry["id"]) for entry in pending.values()]


def _assert_truth_without_duplicates(run: Run, sb: Sandbox) -> None:
    keys = record_keys(run)
    assert not [k for k, n in Counter(keys).items() if n > 1], "duplicate primary keys"
    assert keys == _truth(sb)


def test_export_is_polled_through_its_statuses_until_done(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delay = 3.0  # seconds on the clock the tap and the sandbox share
    virtual = VirtualClock()
    config = SandboxConfig(days=2, per_day=20, export_delay_seconds=delay)
    with Sandbox(config, clock=virtual.time) as sb:
        with caplog.at_level(logging.INFO):
            run = run_tap(
                tap_config(sb, window_hours=24, poll_interval_seconds=0.2),
                clock=virtual.clock(),
            )
        assert run.error is None
        _assert_truth_without_duplicates(run, sb)
        jobs = sb.export_jobs
        assert len(jobs) == 2
        log = sb.requests
        for job in jobs:
            post = next(e for e in _export_posts(sb) if _body(e) == job.body)
            polls = [e for e in log if e.method == "GET" and e.path == f"/api/v3/export/{job.id}"]
            assert len(polls) > 1, f"export {job.id} was polled only {len(polls)} time(s)"
            assert all(p.status == 200 and p.reply_code == 0 for p in polls)
            # The first poll saw the job unfinished, the last one saw it done.
            assert polls[0].server_time - post.server_time < delay
            assert polls[-1].server_time - post.server_time >= delay
            downloads = [e for e in log if e.path == f"/api/v3/export/{job.id}/data"]
            assert [d.status for d in downloads] == [200], "downloaded only once, after done"
            assert downloads[0].server_time >= polls[-1].server_time
        statuses = re.findall(r"export status '([^']+)'", caplog.text)
        assert statuses.count("done") == 2
        assert {"scheduled", "in progress"} <= set(statuses)


def _failed_window(error: BaseException) -> tuple[dt.datetime, dt.datetime]:
    """The ``[start, end)`` window an error message names."""
    match = re.search(r"\[(\S+), (\S+)\)", str(error))
    assert match is not None, f"no window in {error}"
    return dt.datetime.fromisoformat(match.group(1)), dt.datetime.fromisoformat(match.group(2))


def _local_low(instant: dt.datetime) -> str:
    """The ``time_range`` start the tap sends for a window starting at ``instant``."""
    local = instant.astimezone(VIENNA).replace(tzinfo=None) - dt.timedelta(seconds=1)
    return local.strftime("%Y-%m-%d %H:%M:%S")


def test_export_ending_in_error_names_window_and_id_and_keeps_the_bookmark() -> None:
    with Sandbox(SandboxConfig(days=3, per_day=25)) as sb:
        sb.faults.fail_next_exports = 1
        run = run_tap(tap_config(sb, window_hours=24))
        assert isinstance(run.error, ExportFailedError)
        [failed] = [job for job in sb.export_jobs if job.status == "error"]
        message = str(run.error)
        assert f"export {failed.id}" in message
        low, high = _failed_window(run.error)
        assert high - low == dt.timedelta(days=1)
        assert failed.body["time_range"][0] == _local_low(low), "the window of that export"
        bookmark = run.bookmark
        assert bookmark is None or dt.datetime.fromisoformat(bookmark) <= low
        assert all(dt.datetime.fromisoformat(r["window_start"]) < low for r in run.records)
        assert record_keys(run) == expected_keys(sb, sb.config.start, low)


def test_rerun_after_a_failed_export_returns_the_truth() -> None:
    with Sandbox(SandboxConfig(days=3, per_day=25)) as sb:
        config = tap_config(sb, window_hours=24)
        sb.faults.fail_next_exports = 1
        first = run_tap(config)
        assert isinstance(first.error, ExportFailedError)
        [failed] = [job for job in sb.export_jobs if job.status == "error"]
        sb.faults.reset()
        sb.clear_requests()
        rerun = run_tap(config, state=first.last_state)
        assert rerun.error is None
        keys = sorted(record_keys(first) + record_keys(rerun))
        assert keys == _truth(sb), "both runs together: every registration exactly once"
        assert rerun.bookmark == _range(sb)[1].isoformat()
        assert not [e for e in sb.requests if f"/{failed.id}/data" in e.path]
        again = [
            e for e in _export_posts(sb) if _body(e)["time_range"] == failed.body["time_range"]
        ]
        assert len(again) == 1, "the failed window was exported again"


def test_export_timeout_keeps_the_export_id_in_state() -> None:
    virtual = VirtualClock()
    with Sandbox(SandboxConfig(days=1, per_day=10), clock=virtual.time) as sb:
        sb.faults.never_finish = True
        config = tap_config(
            sb, export_timeout_seconds=60, poll_interval_seconds=2, poll_interval_max_seconds=10
        )
        run = run_tap(config, clock=virtual.clock())
        assert isinstance(run.error, ExportTimeoutError)
        assert "export_timeout_seconds" in str(run.error)
        [job] = sb.export_jobs
        assert not job.finished
        assert _pending_ids(run) == [job.id]
        assert str(job.id) in str(run.error)
        polls = [e for e in sb.requests if e.path == f"/api/v3/export/{job.id}"]
        assert polls[-1].server_time - polls[0].server_time >= 40, "it waited most of the timeout"
        # It gave up at the deadline: no sleep past it, and polls at the backed-off interval.
        assert 40 <= virtual.slept <= 60
        assert len(polls) <= 60 / 2 + 1


def test_rerun_reuses_the_export_id_saved_in_state() -> None:
    virtual = VirtualClock()
    sandbox_config = SandboxConfig(days=1, per_day=25, export_delay_seconds=15)
    with Sandbox(sandbox_config, clock=virtual.time) as sb:
        config = tap_config(sb, export_timeout_seconds=3, poll_interval_seconds=0.5)
        first = run_tap(config, clock=virtual.clock())
        assert isinstance(first.error, ExportTimeoutError)
        saved = _pending_ids(first)
        assert len(saved) == 1
        [post] = _export_posts(sb)
        second = run_tap(
            config | {"export_timeout_seconds": 60}, state=first.last_state, clock=virtual.clock()
        )
        assert second.error is None
        window = _body(post)["time_range"]
        same_window = [e for e in _export_posts(sb) if _body(e)["time_range"] == window]
        assert same_window == [post], "the rerun started no second export for the window"
        assert not [e for e in sb.requests if e.reply_code == 4001]
        downloads = [e.path for e in sb.requests if e.path.endswith("/data")]
        assert downloads == [f"/api/v3/export/{saved[0]}/data"]
        _assert_truth_without_duplicates(second, sb)
        assert second.bookmark == _range(sb)[1].isoformat()


def test_identical_running_export_4001_is_waited_out() -> None:
    virtual = VirtualClock()
    config = SandboxConfig(days=1, per_day=25, export_delay_seconds=10)
    with Sandbox(config, clock=virtual.time) as sb:
        first = run_tap(tap_config(sb, export_timeout_seconds=2), clock=virtual.clock())
        assert isinstance(first.error, ExportTimeoutError)
        second = run_tap(
            tap_config(sb, poll_interval_seconds=0.5, export_timeout_seconds=60),
            state=None,
            clock=virtual.clock(),
        )
        assert second.error is None
        busy = [e for e in sb.requests if e.reply_code == 4001]
        assert busy
        assert all(e.status == 400 and e.path.endswith(EXPORT_PATH) for e in busy)
        posts = _export_posts(sb)
        assert len({tuple(_body(e)["time_range"]) for e in posts}) == 1
        assert [e.status for e in posts if e.status == 200] == [200, 200]
        assert len(sb.export_jobs) == 2
        _assert_truth_without_duplicates(second, sb)


def test_open_download_waits_out_4005() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=25, export_delay_seconds=0.5)) as sb:
        settings = Settings.from_config(tap_config(sb))
        client = connect(settings, FAST_CLOCK, "test")
        jobs = ExportJobs(client, PollPolicy(0.02, 0.1, 10.0), FAST_CLOCK)
        request = ExportRequest(
            time_range=("2024-03-29 00:59:59", "2024-03-30 01:00:00"),
            contact_fields=(1, 2, 3),
            options=settings.export,
        )
        export_id = jobs.start(request, "test export")
        with jobs.open_download(export_id, "test export") as response:
            assert response.status_code == 200
            assert response.headers["Content-Type"].startswith("text/csv")
            text = response.content.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=settings.export.delimiter))
        assert rows[0][0] == "user_id"
        truth = sorted(r.user_id for r in sb.truth(*_range(sb)))
        assert sorted(int(row[0]) for row in rows[1:]) == truth
        data = [e for e in sb.requests if e.path == f"/api/v3/export/{export_id}/data"]
        assert [(e.status, e.reply_code) for e in data[:-1]] == [(404, 4005)] * (len(data) - 1)
        assert len(data) >= 2
        assert data[-1].status == 200


def test_expired_export_410_is_exported_again() -> None:
    with Sandbox(SandboxConfig(days=2, per_day=25, export_delay_seconds=0.2)) as sb:
        sb.faults.expire_now = True
        stop = threading.Event()

        def heal_after_first_410() -> None:
            deadline = time.monotonic() + 10
            while not stop.is_set() and time.monotonic() < deadline:
                if any(e.status == 410 for e in sb.requests):
                    sb.faults.expire_now = False
                    return
                time.sleep(0.005)

        healer = threading.Thread(target=heal_after_first_410, daemon=True)
        healer.start()
        try:
            run = run_tap(tap_config(sb, window_hours=24))
        finally:
            stop.set()
            healer.join(timeout=5)
        assert run.error is None
        [gone] = [e for e in sb.requests if e.status == 410]
        assert gone.reply_code == 4003
        expired_id = int(gone.path.split("/")[4])
        expired_range = next(j.body["time_range"] for j in sb.export_jobs if j.id == expired_id)
        posts = Counter(tuple(_body(e)["time_range"]) for e in _export_posts(sb))
        assert posts[tuple(expired_range)] == 2
        assert sorted(posts.values()) == [1, 2]
        _assert_truth_without_duplicates(run, sb)


def test_429_waits_for_the_advertised_reset() -> None:
    virtual = VirtualClock()
    with Sandbox(SandboxConfig(days=1, per_day=25), clock=virtual.time) as sb:
        sb.faults.too_many_requests_burst = 3
        sb.faults.reset_after_seconds = 5.0
        run = run_tap(tap_config(sb), clock=virtual.clock())
        assert run.error is None
        log = sb.requests
        limited = [i for i, e in enumerate(log) if e.status == 429]
        assert len(limited) == 3
        for i in limited:
            # X-RateLimit-Reset = ceil(server time + 5 s); the server read its clock at or
            # after the logged arrival, so this is a lower bound of the advertised reset.
            reset = math.ceil(log[i].server_time + 5.0)
            following = log[i + 1]
            assert following.server_time >= reset, "the next request waited for the reset"
            assert following.server_time - log[i].server_time < 5.0 + 1.5, "and no longer"
        assert virtual.slept >= 3 * 5.0
        _assert_truth_without_duplicates(run, sb)


def test_5xx_is_retried_each_time_with_a_fresh_wsse_nonce() -> None:
    with Sandbox(SandboxConfig(days=2, per_day=25, seed=7)) as sb:
        sb.faults.error_rate_5xx = 0.3
        run = run_tap(tap_config(sb, auth="wsse", window_hours=12))
        assert run.error is None
        _assert_truth_without_duplicates(run, sb)
        log = sb.requests
        assert any(e.status >= 500 for e in log)
        nonces = []
        for entry in log:
            header = _header(entry, "X-WSSE")
            assert header is not None
            match = re.search(r'Nonce="([^"]+)"', header)
            assert match is not None
            nonces.append(match.group(1))
        assert len(set(nonces)) == len(nonces) == len(log)


@pytest.mark.parametrize(
    ("workers", "window_hours", "windows"),
    [
        pytest.param(1, 12, 4, id="serial-4-windows"),
        pytest.param(4, 4, 12, id="concurrent-12-windows"),
    ],
)
def test_oauth_token_expiring_mid_run_is_refreshed(
    workers: int, window_hours: int, windows: int
) -> None:
    # Tokens live 60 s on the clock the tap and the sandbox share, and exports take 30 s
    # of it, so the run outlives several tokens within Emarsys' token-fetch limits. The
    # refresh margin is a tenth of the lifetime (6 s): more than the 1 s that the other
    # workers' polls can move the shared clock on between a check and its request.
    virtual = VirtualClock()
    config = SandboxConfig(days=2, per_day=20, token_ttl_seconds=60, export_delay_seconds=30)
    with Sandbox(config, clock=virtual.time) as sb:
        run = run_tap(
            tap_config(
                sb,
                window_hours=window_hours,
                max_window_hours=window_hours,  # one export per window
                max_concurrent_exports=workers,
                poll_interval_seconds=1,
                poll_interval_max_seconds=1,
                export_timeout_seconds=120,
            ),
            clock=virtual.clock(),
        )
        assert run.error is None
        assert len(_export_posts(sb)) == windows
        _assert_truth_without_duplicates(run, sb)
        token_posts = [e for e in sb.requests if e.path == sb.config.token_path]
        assert len(token_posts) >= 2, "the run outlives the first token"
        assert all(e.method == "POST" and e.status == 200 for e in token_posts)
        gaps = [b.server_time - a.server_time for a, b in itertools.pairwise(token_posts)]
        assert all(50 <= gap < 60 for gap in gaps), f"refreshed within the margin: {gaps}"
        assert not [e for e in sb.requests if e.status == 401], "refreshed before it expired"
        bearers = {_header(e, "Authorization") for e in sb.requests if e.path.startswith("/api/")}
        assert len(bearers) >= 2


def test_reply_code_errors_on_http_200_are_retried() -> None:
    with Sandbox(SandboxConfig(days=2, per_day=25, seed=3)) as sb:
        sb.faults.reply_code_error_rate = 0.3
        run = run_tap(tap_config(sb, window_hours=12))
        assert run.error is None
        assert any(e.status == 200 and e.reply_code not in (None, 0) for e in sb.requests)
        _assert_truth_without_duplicates(run, sb)


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param("content-length", id="content-length"),
        pytest.param("chunked", id="chunked"),
        pytest.param("close", id="close-unframed"),
    ],
)
def test_dropped_download_is_downloaded_again(framing: str) -> None:
    with Sandbox(SandboxConfig(days=2, per_day=25, framing=framing)) as sb:
        sb.faults.update({"drop_download_after_bytes": 200, "drop_download_count": 1})
        run = run_tap(tap_config(sb, window_hours=24))
        assert run.error is None
        assert sb.faults.drop_download_after_bytes is None, "the drop happened"
        downloads = Counter(e.path for e in sb.requests if e.path.endswith("/data"))
        assert sorted(downloads.values()) == [1, 2]
        _assert_truth_without_duplicates(run, sb)


def test_download_cut_exactly_after_a_row_is_caught_by_content_length() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=25)) as sb:
        config = tap_config(sb)
        assert run_tap(config).error is None
        [job] = sb.export_jobs
        token = requests.post(
            sb.token_url,
            auth=(sb.config.client_id, sb.config.client_secret),
            data={"grant_type": "client_credentials"},
            timeout=10,
        ).json()["access_token"]
        body = requests.get(
            f"{sb.api_url}/v3/export/{job.id}/data",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).content
        # A line break outside quotes ends a row: the header, then two data rows.
        row_ends = [
            i + 1
            for i, byte in enumerate(body)
            if byte == ord("\n") and body[: i + 1].count(b'"') % 2 == 0
        ]
        third_row_end = row_ends[2]
        assert third_row_end < len(body)
        sb.clear_requests()
        sb.faults.drop_download_after_bytes = third_row_end
        sb.faults.drop_download_count = 1
        run = run_tap(config)
        assert run.error is None
        downloads = [e.path for e in sb.requests if e.path.endswith("/data")]
        assert len(downloads) == 2
        assert len(set(downloads)) == 1, "the same export, downloaded twice"
        _assert_truth_without_duplicates(run, sb)


@pytest.mark.parametrize(
    ("permission", "fails_at"),
    [
        pytest.param("field.list", "field/translate", id="field.list"),
        pytest.param("export.contact.registrations", EXPORT_PATH, id="export.start"),
        pytest.param("export.status", "/export/", id="export.status"),
        pytest.param("export.download", "/data", id="export.download"),
    ],
)
def test_missing_permission_is_named(permission: str, fails_at: str) -> None:
    allowed = ALL_PERMISSIONS - {permission}
    with Sandbox(SandboxConfig(days=1, per_day=10, permissions=allowed)) as sb:
        run = run_tap(tap_config(sb))
        assert isinstance(run.error, EmarsysAPIError)
        assert run.error.status == 403
        assert f"'{permission}'" in str(run.error)
        assert run.records == []
        [forbidden] = [e for e in sb.requests if e.status == 403]
        assert fails_at in forbidden.path


def test_wsse_clock_skew_is_explained_with_the_server_date() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=5, clock_offset_seconds=900)) as sb:
        run = run_tap(tap_config(sb, auth="wsse"))
        assert isinstance(run.error, EmarsysAPIError)
        message = str(run.error)
        assert "Date header" in message
        assert "clock" in message
        match = re.search(r"Date header says (.+?), this machine says", message)
        assert match is not None
        server_date = parsedate_to_datetime(match.group(1))
        skew = (server_date - dt.datetime.now(UTC)).total_seconds()
        assert 890 <= skew <= 910
        assert [e.status for e in sb.requests] == [401]
