"""The end of WSSE through the real command line, with the machine's clock moved by libfaketime.

`faketime` (Debian's package of that name; scripts/test.sh installs it) sets the
date the tap's process sees. The sandbox runs in this process on a clock shifted
to the same instant, so WSSE's 5-minute time frame holds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time
from typing import TYPE_CHECKING

import pytest
import requests

from sandbox import Sandbox, SandboxConfig
from sandbox.auth import wsse_header
from tests.cli import REPO, TAP, cli_env, write_config
from tests.conftest import expected_keys, tap_config

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

UTC = dt.UTC
BEFORE = dt.datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
AFTER = dt.datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
FAKETIME = shutil.which("faketime")


def faked_cli(moment: dt.datetime, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the tap's CLI with the machine's clock reading ``moment`` at its start."""
    assert FAKETIME is not None, "faketime is needed: install Debian's faketime package"
    return subprocess.run(
        [FAKETIME, moment.strftime("%Y-%m-%d %H:%M:%S"), *TAP, "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env() | {"TZ": "UTC"},
        timeout=120,
        check=False,
    )


def shifted_sandbox(moment: dt.datetime) -> Sandbox:
    """A sandbox whose clock reads ``moment`` now, as the faked tap's will."""
    offset = moment.timestamp() - time.time()
    return Sandbox(SandboxConfig(days=1, per_day=10), clock=lambda: time.time() + offset)


def sunset_lines(stderr: str) -> list[str]:
    return [
        line for line in stderr.splitlines() if "retires WSSE" in line or "retired WSSE" in line
    ]


def test_faketime_moves_the_clock_the_tap_sees() -> None:
    assert FAKETIME is not None, "faketime is needed: install Debian's faketime package"
    shown = subprocess.run(
        [FAKETIME, "2027-01-05 12:00:00", *TAP[:1], "-c", "import time; print(time.time())"],
        capture_output=True,
        text=True,
        env=cli_env() | {"TZ": "UTC"},
        timeout=60,
        check=True,
    )
    assert abs(float(shown.stdout) - AFTER.timestamp()) < 60


def test_a_wsse_user_is_warned_once_on_discover_test_and_sync(tmp_path: Path) -> None:
    with shifted_sandbox(BEFORE) as sb:
        config = write_config(tmp_path, tap_config(sb, auth="wsse"))
        for args in (["--discover"], ["--test"], []):
            done = faked_cli(BEFORE, config, *args)
            assert done.returncode == 0, done.stderr
            [line] = sunset_lines(done.stderr)
            assert "WARNING" in line
            assert "at the end of 2026-12-31, in 27 days" in line
            assert "client_id and client_secret" in line
            assert 'README "Moving from WSSE to OAuth"' in line
        records = [json.loads(x) for x in done.stdout.splitlines() if '"RECORD"' in x]
        end = sb.config.start + dt.timedelta(days=1)
        assert len(records) == len(expected_keys(sb, sb.config.start, end))


def test_under_a_2027_clock_a_refused_wsse_request_names_client_id(tmp_path: Path) -> None:
    with shifted_sandbox(AFTER) as sb:
        sb.faults.wsse_retired = True
        config = write_config(tmp_path, tap_config(sb, auth="wsse"))
        done = faked_cli(AFTER, config)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        assert len(errors) == 1
        assert "retired WSSE (API v2 authentication) on 2026-12-31" in errors[0]
        assert "set client_id and client_secret" in errors[0]
        assert '"RECORD"' not in done.stdout
        assert not [e for e in sb.requests if "getregistrations" in e.path]


def test_under_a_2027_clock_oauth_runs_as_before(tmp_path: Path) -> None:
    with shifted_sandbox(AFTER) as sb:
        sb.faults.wsse_retired = True
        config = write_config(tmp_path, tap_config(sb))
        done = faked_cli(AFTER, config)
        assert done.returncode == 0, done.stderr
        assert sunset_lines(done.stderr) == []
        records = [json.loads(x) for x in done.stdout.splitlines() if '"RECORD"' in x]
        end = sb.config.start + dt.timedelta(days=1)
        assert len(records) == len(expected_keys(sb, sb.config.start, end))


def sandbox_cli(*options: str) -> subprocess.Popen[str]:
    command = [*TAP[:1], "-m", "sandbox", "--port", "0", "--per-day", "5", *options]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)


def wsse(info: dict[str, str]) -> dict[str, str]:
    created = dt.datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = os.urandom(16).hex()
    return {"X-WSSE": wsse_header(info["username"], info["secret"], nonce, created)}


def test_the_sandbox_command_line_retires_wsse() -> None:
    with sandbox_cli("--wsse-retired") as proc:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        try:
            refused = requests.get(f"{info['api_url']}/v2/field", headers=wsse(info), timeout=10)
            assert refused.status_code == 401
            assert refused.json()["replyText"] == "Unauthorized."
        finally:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_the_sandbox_command_line_scopes_exports_to_their_credential() -> None:
    with sandbox_cli("--export-scope", "credential") as proc:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        try:
            body = {
                "distribution_method": "local",
                "time_range": ["2024-03-29", "2024-03-30"],
                "contact_fields": [1],
            }
            url = info["api_url"]
            started = requests.post(
                f"{url}/v2/contact/getregistrations", json=body, headers=wsse(info), timeout=10
            )
            export_id = started.json()["data"]["id"]
            mine = requests.get(f"{url}/v2/export/{export_id}", headers=wsse(info), timeout=10)
            assert mine.json()["data"]["id"] == str(export_id)
            token = requests.post(
                info["token_url"],
                auth=(info["client_id"], info["client_secret"]),
                data={"grant_type": "client_credentials"},
                timeout=10,
            ).json()["access_token"]
            theirs = requests.get(
                f"{url}/v3/export/{export_id}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert (theirs.status_code, theirs.json()["replyCode"]) == (400, 10001)
        finally:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
