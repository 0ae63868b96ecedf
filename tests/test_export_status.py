"""Export status replies: both spellings of "in progress" are pending, logged once at most."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.emarsys.exports import ExportStatus, status_text
from tests.clocks import VirtualClock
from tests.conftest import expected_keys, record_keys, run_tap, tap_config

SPELLINGS = ["in progress", "in_progress"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("in progress", ExportStatus.IN_PROGRESS),
        ("in_progress", ExportStatus.IN_PROGRESS),
        (" In_Progress ", ExportStatus.IN_PROGRESS),
        ("done", ExportStatus.DONE),
        (None, ""),
    ],
)
def test_status_text_reads_both_spellings(raw: str | None, expected: str) -> None:
    assert status_text({"status": raw}) == expected


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_each_spelling_is_waited_out_without_a_warning_per_poll(
    spelling: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = SandboxConfig(
        days=1, per_day=20, export_delay_seconds=9, in_progress_spelling=spelling
    )
    virtual = VirtualClock()
    with Sandbox(config, clock=virtual.time) as sb:
        caplog.set_level(logging.DEBUG, logger="tap_emarsys_registrations.emarsys.exports")
        run = run_tap(
            tap_config(sb, window_hours=24, poll_interval_seconds=0.2, poll_interval_max_seconds=1),
            clock=virtual.clock(),
        )
        assert run.error is None, run.error
        end = sb.config.start + dt.timedelta(days=1)
        assert record_keys(run) == expected_keys(sb, sb.config.start, end)
        polls = [e for e in sb.requests if e.method == "GET" and e.path.count("/") == 4]
        statuses = [e for e in polls if e.path.split("/")[-2] == "export"]
        assert len(statuses) >= 5  # several polls saw the running export
    exported = [r for r in caplog.records if r.name == "tap_emarsys_registrations.emarsys.exports"]
    assert [r for r in exported if r.levelno >= logging.WARNING] == []
    spelled = [r for r in exported if "spells the status" in r.getMessage()]
    assert len(spelled) == (1 if spelling == "in_progress" else 0)
    assert all(r.levelno == logging.DEBUG for r in spelled)
