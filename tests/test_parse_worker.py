"""Big or unsized export files are parsed in a helper process: same records, same errors."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.errors import CSVFormatError
from tests.conftest import expected_keys, record_keys, run_tap, tap_config

pytestmark = pytest.mark.slow


def _helpers() -> list[str]:
    """``pid cmdline`` of running parsing helpers (from /proc: ps truncates long lines)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if entry.name.isdigit() and "tap_emarsys_registrations.parse_worker" in cmdline:
            found.append(f"{entry.name} {cmdline}")
    return found


def test_a_big_file_gives_the_truth_through_the_helper(caplog: pytest.LogCaptureFixture) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=120_000)) as sb, caplog.at_level(logging.INFO):
        run = run_tap(tap_config(sb, window_hours=24))
        assert any("helper process" in r.getMessage() for r in caplog.records)
        assert run.error is None
        data = next(e for e in sb.requests if e.path.endswith("/data"))
        assert data.status == 200
        keys = record_keys(run)
        assert keys == expected_keys(sb, sb.config.start, sb.config.start + dt.timedelta(days=1))
        assert len(keys) == len(set(keys))


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_unsized_bodies_cut_mid_download_are_read_again(framing: str) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=3000, framing=framing)) as sb:
        sb.faults.drop_download_after_bytes = 100_000
        sb.faults.drop_download_count = 1
        run = run_tap(tap_config(sb, window_hours=24))
        assert run.error is None
        keys = record_keys(run)
        assert len(keys) == len(set(keys))
        assert keys == expected_keys(sb, sb.config.start, sb.config.start + dt.timedelta(days=1))
        assert sum(e.path.endswith("/data") for e in sb.requests) == 2


def test_a_malformed_row_is_named_by_the_helper() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=50, framing="chunked")) as sb:
        sb.faults.corrupt_csv = "ragged"
        run = run_tap(tap_config(sb, window_hours=24))
        assert isinstance(run.error, CSVFormatError)
        assert "export 100000001, CSV row 4: " in str(run.error)
        assert run.bookmark is None


def test_the_helper_does_not_outlive_a_killed_tap(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=200_000, framing="chunked", chunk_size=4096)) as sb:
        config = tmp_path / "config.json"
        config.write_text(json.dumps(tap_config(sb, window_hours=24)))
        before = set(_helpers())
        with (tmp_path / "out.jsonl").open("wb") as out:
            tap = subprocess.Popen(
                [sys.executable, "-m", "tap_emarsys_registrations", "--config", str(config)],
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + 30
            while not set(_helpers()) - before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert set(_helpers()) - before, "the helper started"
        finally:
            tap.send_signal(signal.SIGKILL)
            tap.wait(timeout=10)
        deadline = time.monotonic() + 10
        while set(_helpers()) - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not set(_helpers()) - before, "the helper exited with the tap"
