"""Each contract switch of the sandbox CLI against the tap's CLI, as a user runs both."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.cli import REPO, run_cli, write_config
from tests.remote_servers import HOST, PASSWORD, USER, SftpServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

START, END = "2024-03-29T00:00:00+00:00", "2024-03-30T00:00:00+00:00"


@pytest.fixture
def sandbox_cli(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """``python -m sandbox`` with the test's flags; yields the credentials it prints."""
    flags: list[str] = request.param
    command = [sys.executable, "-m", "sandbox", "--port", "0", "--days", "1", "--per-day", "24"]
    with subprocess.Popen([*command, *flags], stdout=subprocess.PIPE, text=True, cwd=REPO) as proc:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def tap_config(info: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {
        "api_url": info["api_url"],
        "token_url": info["token_url"],
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
        "start_date": START,
        "end_date": END,
        "window_hours": 6,
        "contact_fields": [1, 3],
        "poll_interval_seconds": 0.05,
        "poll_interval_max_seconds": 0.2,
        "export_timeout_seconds": 30,
        **overrides,
    }


def truth_ids(info: dict[str, str]) -> list[int]:
    params = {"start": START, "end": END, "fields": "1"}
    rows = requests.get(f"{info['base_url']}/_sandbox/truth", params=params, timeout=10).json()
    return sorted(row["user_id"] for row in rows)


def record_ids(stdout: str) -> list[int]:
    messages = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return sorted(m["record"]["user_id"] for m in messages if m["type"] == "RECORD")


def refused_starts(info: dict[str, str]) -> int:
    log = requests.get(f"{info['base_url']}/_sandbox/requests", timeout=10).json()
    entries = log if isinstance(log, list) else log["requests"]
    return sum(1 for e in entries if e["path"].endswith("/getregistrations") and e["status"] == 400)


SFTP_MODES = [
    (["--sftp-settings-key", "ftp_settings", "--sftp-port-type", "integer"], 2),
    (["--sftp-settings-key", "sftp_settings"], 0),
    (["--sftp-settings-key", "sftp_settings_strict", "--sftp-port-type", "integer"], 1),
    (["--sftp-settings-key", "either", "--sftp-port-type", "string"], 0),
]


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize(("sandbox_cli", "refusals"), SFTP_MODES, indirect=["sandbox_cli"], ids=str)
def test_cli_sftp_gives_exact_rows_in_each_settings_mode(
    sandbox_cli: dict[str, str], refusals: int, tmp_path: Path
) -> None:
    (tmp_path / "home" / "exports").mkdir(parents=True)
    with SftpServer(tmp_path / "home") as sftp:
        settings = {"host": HOST, "port": sftp.port, "username": USER, "password": PASSWORD}
        config = tap_config(
            sandbox_cli,
            distribution_method="sftp",
            ftp_settings=settings | {"folder": "exports"},
            sftp_host_key=sftp.key_line,
            max_concurrent_exports=4,
        )
        result = run_cli(write_config(tmp_path, config), timeout=90)
    assert result.returncode == 0, result.stderr
    assert record_ids(result.stdout) == truth_ids(sandbox_cli)
    assert refused_starts(sandbox_cli) == refusals
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("sandbox_cli", [["--refuse-ftp"]], indirect=True)
def test_cli_ftp_refused_is_one_line_suggesting_sftp(
    sandbox_cli: dict[str, str], tmp_path: Path
) -> None:
    settings = {"host": HOST, "port": 21, "username": USER, "password": PASSWORD}
    config = tap_config(sandbox_cli, distribution_method="ftp", ftp_settings=settings)
    result = run_cli(write_config(tmp_path, config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "Invalid distribution method" in line]
    assert len(errors) == 1, result.stderr
    assert "set distribution_method to 'sftp'" in errors[0]
    assert record_ids(result.stdout) == []


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("sandbox_cli", [["--data-answers-json"]], indirect=True)
def test_cli_a_json_download_is_one_line_with_the_bookmark_held(
    sandbox_cli: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(write_config(tmp_path, tap_config(sandbox_cli)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "not CSV" in line]
    assert len(errors) == 1, result.stderr
    assert "window 1/4" in errors[0]
    assert record_ids(result.stdout) == []
    states = [json.loads(line) for line in result.stdout.splitlines() if '"STATE"' in line]
    bookmarks = [s["value"].get("bookmarks", {}).get("registrations", {}) for s in states]
    assert all(b.get("replication_key_value") is None for b in bookmarks)


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "sandbox_cli",
    [
        ["--limit-answers-json", "--limit-json-as-csv"],
        ["--export-id-form", "integer", "--status-type", "contacts"],
        ["--export-id-form", "string"],
    ],
    indirect=True,
    ids=["limit-json", "ids-integer", "ids-string"],
)
def test_cli_local_gives_exact_rows_in_each_reply_mode(
    sandbox_cli: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(write_config(tmp_path, tap_config(sandbox_cli)))
    assert result.returncode == 0, result.stderr
    assert record_ids(result.stdout) == truth_ids(sandbox_cli)
    assert "WARNING" not in result.stderr
