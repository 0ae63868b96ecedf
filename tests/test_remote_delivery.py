"""distribution_method ftp and sftp against real FTP, FTPS and SFTP servers on loopback.

The sandbox uploads each finished export to the server (as Emarsys does) and
reports ``done`` only after the upload; the tap reads the file from there.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from sandbox import Sandbox, SandboxConfig
from sandbox.fields import exportable_ids
from tap_emarsys_registrations.emarsys.exports import ExportRequest
from tap_emarsys_registrations.errors import ExportTimeoutError, RemoteServerError
from tap_emarsys_registrations.settings.tap_settings import Settings
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.cli import run_cli, write_config
from tests.conftest import expected_keys, record_keys, run_tap, tap_config
from tests.remote_servers import HOST, PASSWORD, USER, FtpServer, SftpServer, self_signed_cert

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import Run

REPO = Path(__file__).resolve().parents[1]
FOLDER = "exports"
DAYS = 2


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A sandbox that retries failed uploads every 0.1 s."""
    with Sandbox(SandboxConfig(days=DAYS, per_day=25, upload_retry_seconds=0.1)) as sandbox:
        yield sandbox


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    (root / FOLDER).mkdir(parents=True)
    return root


@pytest.fixture
def ftp(home: Path) -> Iterator[FtpServer]:
    with FtpServer(home) as server:
        yield server


def remote_config(
    sb: Sandbox, method: str, port: int, *, folder: str = FOLDER, **overrides: Any
) -> dict[str, Any]:
    settings = {"host": HOST, "port": port, "username": USER, "password": PASSWORD}
    return tap_config(
        sb,
        window_hours=12,
        distribution_method=method,
        ftp_settings={**settings, "folder": folder},
        **overrides,
    )


def assert_truth(sb: Sandbox, run: Run) -> None:
    assert run.error is None, run.error
    keys = record_keys(run)
    assert keys == expected_keys(sb, sb.config.start, sb.config.start + dt.timedelta(days=DAYS))
    assert not [key for key, count in Counter(keys).items() if count > 1]
    assert PASSWORD not in json.dumps([run.states, run.records], default=str)


def export_bodies(sb: Sandbox) -> list[dict[str, Any]]:
    return [
        e.json_body  # type: ignore[misc]
        for e in sb.requests
        if e.path.endswith("/contact/getregistrations")
    ]


@pytest.mark.parametrize(("method", "delete"), [("ftp", False), ("sftp", True)])
def test_remote_run_returns_the_same_records_as_local(
    sb: Sandbox, home: Path, method: str, delete: bool
) -> None:
    local = run_tap(tap_config(sb, window_hours=12))
    server = FtpServer(home) if method == "ftp" else SftpServer(home)
    pin = {"sftp_host_key": server.key_line} if isinstance(server, SftpServer) else {}
    with server:
        remote = run_tap(remote_config(sb, method, server.port, delete_remote_file=delete, **pin))
    assert_truth(sb, remote)
    assert remote.records == local.records
    jobs = [job for job in sb.export_jobs if job.distribution_method == method]
    assert len(jobs) == 4
    kept = [] if delete else sorted(str(job.file_name) for job in jobs)
    assert server.files(FOLDER) == kept, "delete_remote_file decides whether files stay"
    bodies = [body for body in export_bodies(sb) if body["distribution_method"] == method]
    sent = {"host": HOST, "port": server.port, "username": USER, "password": PASSWORD}
    if method == "sftp":  # the current spec's form, which the sandbox takes by default
        key, sent = "sftp_settings", sent | {"port": str(server.port)}
    else:
        key = "ftp_settings"
    assert [body[key] for body in bodies] == [sent | {"folder": FOLDER}] * 4
    assert all(len({"ftp_settings", "sftp_settings"} & set(body)) == 1 for body in bodies)


def test_more_than_twenty_fields_read_every_part_from_the_server(
    sb: Sandbox, ftp: FtpServer
) -> None:
    fields = sorted(exportable_ids())[:45]  # 3 exports per window, read side by side
    local = run_tap(tap_config(sb, window_hours=12, contact_fields=fields))
    config = remote_config(sb, "ftp", ftp.port, contact_fields=fields, delete_remote_file=True)
    remote = run_tap(config)
    assert_truth(sb, remote)
    assert remote.records == local.records
    assert ftp.commands["RETR"] == ftp.commands["DELE"] == 4 * 3
    assert ftp.files(FOLDER) == []


def test_plain_ftp_warns_once_per_run(
    sb: Sandbox, ftp: FtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        run = run_tap(remote_config(sb, "ftp", ftp.port, delete_remote_file=True))
    assert_truth(sb, run)
    assert ftp.commands["RETR"] == ftp.commands["DELE"] == 4, "eight logins of the tap"
    warnings = [r.getMessage() for r in caplog.records if "unencrypted" in r.getMessage()]
    assert len(warnings) == 1, warnings
    for words in ("login password", "ftp_tls: true", "distribution_method: sftp"):
        assert words in warnings[0]
    assert PASSWORD not in caplog.text


def test_ftps_and_delete_remote_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cert = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # the tap verifies the server certificate
    with (
        Sandbox(SandboxConfig(days=DAYS, per_day=25, ftp_tls=True)) as sb,
        FtpServer(home, cert=cert) as server,  # FTPS only: plain FTP is refused
    ):
        config = remote_config(sb, "ftp", server.port, ftp_tls=True, delete_remote_file=True)
        run = run_tap(config)
    assert_truth(sb, run)
    assert (server.commands["STOR"], server.commands["RETR"], server.commands["DELE"]) == (4, 4, 4)
    assert server.files(FOLDER) == []
    assert "unencrypted" not in caplog.text, "FTPS is not warned about"


def test_ftps_certificate_that_is_not_trusted_fails_in_one_line(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    with (
        Sandbox(SandboxConfig(days=1, per_day=5, ftp_tls=True)) as sb,
        FtpServer(home, cert=cert) as server,
    ):
        run = run_tap(remote_config(sb, "ftp", server.port, ftp_tls=True))
    assert isinstance(run.error, RemoteServerError)
    assert "ftp_tls" in str(run.error)
    assert "certificate" in str(run.error)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_cli_rejected_password_is_one_line_without_the_password(
    sb: Sandbox, ftp: FtpServer, tmp_path: Path
) -> None:
    ftp.new_password = "rotated-after-the-upload"
    config = remote_config(
        sb, "ftp", ftp.port, end_date=(sb.config.start + dt.timedelta(hours=12)).isoformat()
    )
    result = run_cli(write_config(tmp_path, config), debug=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "ftp_settings.password" in line]
    assert len(errors) == 1, result.stderr
    assert "ERROR" in errors[0]
    assert "refused the login" in errors[0]


def test_missing_folder_stays_ready_until_the_export_timeout(sb: Sandbox, ftp: FtpServer) -> None:
    config = remote_config(sb, "ftp", ftp.port, folder="missing", export_timeout_seconds=1)
    run = run_tap(config)
    assert isinstance(run.error, ExportTimeoutError)
    message = str(run.error)
    assert "\n" not in message
    for words in ("still 'ready'", "ftp_settings.host '127.0.0.1'", "folder 'missing'"):
        assert words in message
    assert PASSWORD not in message
    assert {job.status for job in sb.export_jobs} == {"ready"}
    assert ftp.commands["STOR"] >= 2 * len(sb.export_jobs), "the sandbox retried the upload"
    assert ftp.commands["RETR"] == 0
    assert run.records == []


def test_a_file_that_appears_late_is_waited_for(sb: Sandbox, ftp: FtpServer) -> None:
    ftp.hide_uploads = 2
    run = run_tap(remote_config(sb, "ftp", ftp.port))
    assert_truth(sb, run)
    assert ftp.commands["SIZE"] > ftp.commands["RETR"] == 4


def test_a_transfer_cut_short_is_downloaded_again(sb: Sandbox, ftp: FtpServer) -> None:
    ftp.drop_after_bytes, ftp.drops = 2000, 2
    run = run_tap(remote_config(sb, "ftp", ftp.port))
    assert_truth(sb, run)
    assert ftp.commands["RETR"] == 4 + 2


def test_the_password_is_never_shown_and_changes_the_fingerprint(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    config = remote_config(sb, "sftp", 2222)
    settings = Settings.from_config(config)
    remote = settings.export.remote
    assert remote is not None
    assert (remote.port, remote.request_settings()["password"]) == (2222, PASSWORD)
    assert PASSWORD not in repr(settings)
    request = ExportRequest(("2024-01-01", "2024-01-02"), (1,), settings.export)
    assert request.body()["ftp_settings"]["password"] == PASSWORD
    again = ExportRequest(request.time_range, (1,), Settings.from_config(config).export)
    assert again.fingerprint() == request.fingerprint()
    changed = {**config, "ftp_settings": {**config["ftp_settings"], "password": "other"}}
    other = ExportRequest(request.time_range, (1,), Settings.from_config(changed).export)
    assert other.fingerprint() != request.fingerprint(), "a new password means a new export"
    # An unquoted YAML password is a number: refused without showing it.
    numeric = {**config, "ftp_settings": {**config["ftp_settings"], "password": 98765432}}
    with pytest.raises(ConfigValidationError) as caught:
        TapEmarsysRegistrations(config=numeric)
    text = " ".join([str(caught.value), *(caught.value.errors or [])])
    assert "ftp_settings.password" in text
    assert "98765432" not in text
    # With local, ftp_settings are ignored with a warning.
    local = {**config, "distribution_method": "local"}
    assert Settings.from_config(local).export.remote is None
    assert "ftp_settings ignored" in caplog.text
