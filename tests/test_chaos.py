"""Chaos: malformed files, SIGKILL at random points, SIGTERM, and secrets under DEBUG.

The promise: no registration is ever lost, and a rerun from the last STATE
always finishes the job. Duplicates may appear only for an interrupted window.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.errors import CSVFormatError
from tests.cli import run_cli, write_config
from tests.conftest import expected_keys, run_tap, tap_config

if TYPE_CHECKING:
    from pathlib import Path

# kills and reruns the CLI; each wait has its own limit of up to 120 s
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.mark.parametrize(
    ("corruption", "row", "problem"),
    [
        pytest.param("ragged", 4, "columns, expected", id="ragged-row"),
        pytest.param("blank_timestamp", 4, "registered_at is part of", id="null-key"),
        pytest.param("extra_column", 1, "header has", id="unknown-column"),
        pytest.param("renamed_header", 1, "header column 2 is 'Unexpected column'", id="header"),
    ],
)
def test_malformed_csv_names_export_window_and_row_and_checkpoints_nothing(
    corruption: str, row: int, problem: str
) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=20)) as sb:
        sb.faults.corrupt_csv = corruption
        run = run_tap(tap_config(sb, window_hours=6))
        assert isinstance(run.error, CSVFormatError)
        message = str(run.error)
        first_window = next(
            j for j in sb.export_jobs if j.body["time_range"][0] == "2024-03-29 00:59:59"
        )
        assert f"export {first_window.id}," in message
        assert "window 1/4 [2024-03-29T00:00:00+00:00, 2024-03-29T06:00:00+00:00)" in message
        assert f"CSV row {row}: " in message
        assert problem in message
        # Rows before the broken one may already be out (records stream as the body
        # arrives), but the bookmark never passes the start of the broken window.
        window_start = "2024-03-29T00:00:00+00:00"
        assert run.bookmark is None or run.bookmark == window_start, "not checkpointed"
        assert all(r["window_start"] == window_start for r in run.records)
        assert len(run.records) <= max(row - 2, 0), "no record from the broken row on"


def _messages(path: Path) -> list[dict[str, Any]]:
    """Complete Singer lines of a (possibly killed) run's stdout."""
    out = []
    for line in path.read_bytes().decode(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line cut by the kill, and nothing after it
    return out


def _start(
    config_path: Path, state: dict[str, Any] | None, out: Path, tmp: Path
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "tap_emarsys_registrations", "--config", str(config_path)]
    if state:
        state_path = tmp / "state.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    with out.open("wb") as sink:  # the child keeps its own descriptor
        return subprocess.Popen(args, stdout=sink, stderr=subprocess.DEVNULL)


def _during(sb: Sandbox, since: float) -> set[str]:
    kinds = set()
    for entry in sb.requests:
        if entry.time >= since:
            kinds.add(
                "download"
                if entry.path.endswith("/data")
                else "poll"
                if "/export/" in entry.path
                else "other"
            )
    return kinds


def _kill_until_done(
    sb: Sandbox, config_path: Path, tmp: Path, rng: random.Random
) -> tuple[int, set[str], set[tuple[int, str]], dict[str, Any]]:
    """Run, SIGKILL at a random point, resume from the last STATE, until a run finishes."""
    state: dict[str, Any] | None = None
    seen: set[tuple[int, str]] = set()
    kills, phases = 0, set()
    for attempt in range(40):
        out = tmp / f"run{attempt}.jsonl"
        process = _start(config_path, state, out, tmp)
        # The kill comes later with each attempt, so a round ends even when the
        # machine is so busy that starting the CLI alone takes over a second.
        time.sleep(rng.uniform(0.3, 1.2) * (1 + attempt / 4))
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
            kills += 1
            phases |= _during(sb, time.monotonic() - 0.15)
        returncode = process.wait(timeout=120)
        messages = _messages(out)
        if killed and messages and messages[-1]["type"] == "RECORD":
            phases.add("download")  # records were flowing: a long download was under way
        seen |= {
            (m["record"]["user_id"], m["record"]["registered_at"])
            for m in messages
            if m["type"] == "RECORD"
        }
        states = [m["value"] for m in messages if m["type"] == "STATE"]
        state = states[-1] if states else state
        assert returncode in {0, -signal.SIGKILL}, f"run {attempt} failed with {returncode}"
        if returncode == 0:
            assert state is not None
            return kills, phases, seen, state
    pytest.fail("the runs never finished")


@pytest.mark.parametrize(
    "max_window_hours",
    [pytest.param(3, id="one-export-per-window"), pytest.param(None, id="merged-spans")],
)
def test_sigkill_at_random_points_loses_nothing(
    tmp_path: Path, max_window_hours: int | None
) -> None:
    rng = random.Random(20261127)
    # Downloads take a while (a pause per 4 KiB chunk, like a slow link), so that the
    # random kills land in them as well as in the polls.
    config = SandboxConfig(
        days=2,
        per_day=40000,
        export_delay_seconds=0.8,
        chunk_size=4096,
        download_pause_seconds=0.001,
    )
    end = config.start + dt.timedelta(days=2)
    with Sandbox(config) as sb:
        config_path = tmp_path / "config.json"
        tap = tap_config(
            sb, window_hours=3, max_window_hours=max_window_hours, max_concurrent_exports=2
        )
        config_path.write_text(json.dumps(tap))
        truth = expected_keys(sb, config.start, end)
        total_kills, all_phases = 0, set()
        while total_kills < 20:  # rounds from an empty state, each killed until it finishes
            kills, phases, seen, state = _kill_until_done(sb, config_path, tmp_path, rng)
            assert sorted(seen) == truth, "the union of the runs is the truth"
            assert state["bookmarks"]["registrations"]["replication_key_value"] == end.isoformat()
            total_kills += kills
            all_phases |= phases
        assert {"poll", "download"} <= all_phases, "kills hit pending exports and downloads"


def test_sigterm_stops_cleanly_with_a_resumable_state(tmp_path: Path) -> None:
    config = SandboxConfig(days=1, per_day=2000, export_delay_seconds=0.5)
    with Sandbox(config) as sb:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(tap_config(sb, window_hours=3)))
        out = tmp_path / "first.jsonl"
        process = _start(config_path, None, out, tmp_path)
        deadline = time.monotonic() + 30
        while (
            not any(e.path.endswith("/data") for e in sb.requests) and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        first = _messages(out)
        state = [m["value"] for m in first if m["type"] == "STATE"][-1]
        out2 = tmp_path / "second.jsonl"
        second = _start(config_path, state, out2, tmp_path)
        assert second.wait(timeout=60) == 0
        keys = {
            (m["record"]["user_id"], m["record"]["registered_at"])
            for m in first + _messages(out2)
            if m["type"] == "RECORD"
        }
        assert sorted(keys) == expected_keys(sb, config.start, config.start + dt.timedelta(days=1))


SCENARIOS = [
    pytest.param({"error_rate_5xx": 0.2}, {}, id="5xx"),
    pytest.param({"too_many_requests_burst": 3}, {}, id="429"),
    pytest.param({"reply_code_error_rate": 0.2}, {}, id="replycode"),
    pytest.param({"drop_download_after_bytes": 300, "drop_download_count": 1}, {}, id="drop"),
    pytest.param({"fail_next_exports": 1}, {}, id="export-error"),
    pytest.param({}, {"token_ttl_seconds": 1.0, "export_delay_seconds": 0.4}, id="token-expiry"),
    pytest.param({}, {"clock_offset_seconds": 900.0}, id="wsse-skew"),
]


@pytest.mark.parametrize(("faults", "overrides"), SCENARIOS)
@pytest.mark.parametrize("auth", ["oauth", "wsse"])
def test_no_secret_appears_in_any_output_under_debug(
    tmp_path: Path, faults: dict[str, Any], overrides: dict[str, Any], auth: str
) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=10, **overrides)) as sb:
        sb.faults.update(faults)
        config_path = write_config(tmp_path, tap_config(sb, auth=auth, window_hours=8))
        result = run_cli(config_path, debug=True, timeout=120)
        output = result.stdout + result.stderr
        assert "DEBUG" in result.stderr, "debug logging was on"
        secrets = {sb.config.client_secret, sb.config.secret}
        for entry in sb.requests:
            for name, value in entry.headers.items():
                if name.lower() == "authorization" and value.startswith(("Bearer ", "Basic ")):
                    secrets.add(value.split(" ", 1)[1])
                if name.lower() in {"x-wsse", "wsse"}:
                    secrets.add(value.split('PasswordDigest="', 1)[1].split('"', 1)[0])
        leaked = sorted(s for s in secrets if s and s in output)
        assert not leaked
        assert "Traceback" not in result.stderr or result.returncode == 0
