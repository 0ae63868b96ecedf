"""The tap reads and deletes only ``ftp_settings.folder/file_name``, whatever the reply says.

The rules are pure and tested as a table; then the sandbox's status reply is
made hostile (``reply_file_name``, ``reply_ftp_dir``) against real FTP and
SFTP servers, where a canary file outside the folder must stay untouched.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.delivery.remote_path import (
    UnsafeReplyValue,
    confined_path,
    file_name_problem,
    folder_problem,
)
from tap_emarsys_registrations.errors import RemotePathError
from tests.cli import run_cli, write_config
from tests.conftest import expected_keys, record_keys, run_tap, tap_config
from tests.remote_servers import HOST, PASSWORD, USER, FtpServer, SftpServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FOLDER = "exports"
CANARY = "canary: rows that are not Emarsys'\n"


def no_login_folder() -> str:
    """A login-folder lookup that must not happen."""
    msg = "the login folder was asked for"
    raise AssertionError(msg)


# Each file_name the reply may carry, and whether it is accepted.
FILE_NAMES = [
    ("registrations_100000001_en.csv", True),
    ("clicks_3931993_1_en-df0ef2.csv", True),
    ("name with inner spaces.csv", True),
    ("..csv", True),
    ("../canary.txt", False),
    ("/private/canary2.txt", False),
    ("exports/../canary.txt", False),
    ("..\\canary.txt", False),
    ("sub\\file.csv", False),
    (".", False),
    ("..", False),
    ("\uff0e\uff0e", False),  # fullwidth dots: '..' once NFKC-normalised
    ("a\uff0fb.csv", False),  # fullwidth solidus
    ("x.csv\x00.txt", False),
    ("x.csv\r\nDELE canary.txt", False),
    ("x.csv\u202e", False),  # a format character (right-to-left override)
    (" x.csv", False),
    ("x.csv ", False),
    ("~root", False),
    ("*.csv", False),
    ("file?.csv", False),
    ("[a].csv", False),
    ("", False),
    (None, False),
    (42, False),
]


@pytest.mark.parametrize(("value", "accepted"), FILE_NAMES)
def test_file_name_must_be_a_plain_name(value: object, accepted: bool) -> None:
    assert (file_name_problem(value) is None) is accepted


# Each ftp_dir the reply may carry, the configured folder, the login folder, accepted?
FTP_DIRS = [
    ("exports", "exports", None, True),
    ("exports/", "exports", None, True),
    ("./exports", "exports", None, True),
    ("./exports//", "exports", None, True),
    ("/exports", "exports", "/", True),
    ("/home/emarsys/exports", "exports", "/home/emarsys", True),
    ("/home/emarsys/exports/", "exports", "/home/emarsys/", True),
    ("folder/subfolder", "folder/subfolder", None, True),
    ("/srv/drop", "/srv/drop", None, True),  # an absolute folder configured as such
    (".", None, None, True),
    ("/home/emarsys", None, "/home/emarsys", True),
    ("..", "exports", None, False),
    ("../exports", "exports", None, False),
    ("exports/..", "exports", None, False),
    ("exports/sub", "exports", None, False),
    ("other", "exports", None, False),
    ("/", "exports", "/", False),
    ("/exports", "exports", "/home/emarsys", False),
    ("/home/other/exports", "exports", "/home/emarsys", False),
    ("exports\\..", "exports", None, False),
    ("exports\x00", "exports", None, False),
    ("exports", None, None, False),
    ("/etc", None, "/home/emarsys", False),
]


@pytest.mark.parametrize(("ftp_dir", "folder", "login", "accepted"), FTP_DIRS)
def test_ftp_dir_must_be_the_configured_folder(
    ftp_dir: str, folder: str | None, login: str | None, accepted: bool
) -> None:
    asked: list[bool] = []

    def login_folder() -> str:
        asked.append(True)
        assert login is not None, "a relative ftp_dir never needs the login folder"
        return login

    assert (folder_problem(ftp_dir, folder, login_folder) is None) is accepted
    assert bool(asked) == (login is not None)


def test_the_path_comes_from_the_configuration_only() -> None:
    status = {"file_name": "r_1_en.csv", "ftp_dir": "./exports/"}
    assert confined_path(status, "exports", no_login_folder) == "exports/r_1_en.csv"
    assert confined_path({"file_name": "r.csv", "ftp_dir": ""}, "exports", no_login_folder) == (
        "exports/r.csv"
    )
    assert confined_path({"file_name": "r.csv"}, None, no_login_folder) == "r.csv"
    with pytest.raises(UnsafeReplyValue) as caught:
        confined_path({"file_name": "r.csv", "ftp_dir": ["exports"]}, "exports", no_login_folder)
    assert caught.value.field == "ftp_dir"


def test_file_name_is_checked_before_the_server_is_asked_anything() -> None:
    status = {"file_name": "../x", "ftp_dir": "/exports"}
    with pytest.raises(UnsafeReplyValue) as caught:
        confined_path(status, "exports", no_login_folder)
    assert (caught.value.field, caught.value.value) == ("file_name", "../x")


# Against real servers: the sandbox's reply names something outside the folder.


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The login folder: ``exports`` for uploads, and canaries outside it."""
    root = tmp_path / "home"
    (root / FOLDER).mkdir(parents=True)
    (root / "private").mkdir()
    (root / "canary.txt").write_text(CANARY)
    (root / "private" / "canary2.txt").write_text(CANARY)
    return root


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=2, per_day=10, upload_retry_seconds=0.1)) as sandbox:
        yield sandbox


def remote_config(sb: Sandbox, server: FtpServer | SftpServer, **overrides: Any) -> dict[str, Any]:
    settings = {"host": HOST, "port": server.port, "username": USER, "password": PASSWORD}
    sftp = isinstance(server, SftpServer)
    return tap_config(
        sb,
        window_hours=12,
        distribution_method="sftp" if sftp else "ftp",
        ftp_settings={**settings, "folder": FOLDER},
        delete_remote_file=True,
        sftp_host_key=server.key_line if isinstance(server, SftpServer) else None,
        **overrides,
    )


def server_for(method: str, home: Path) -> FtpServer | SftpServer:
    return FtpServer(home) if method == "ftp" else SftpServer(home)


def tap_touched(server: FtpServer | SftpServer) -> list[tuple[str, str]]:
    """What the server saw besides the sandbox's uploads: reads, deletes, folder lookups."""
    if isinstance(server, FtpServer):
        return [(cmd, arg) for cmd, arg in server.log if cmd in {"SIZE", "RETR", "DELE", "PWD"}]
    return [(op, path) for op, path in server.log if op in {"stat", "remove"}]


HOSTILE = [
    pytest.param({"reply_file_name": "../canary.txt"}, "file_name", id="file_name-dotdot"),
    pytest.param({"reply_file_name": "/private/canary2.txt"}, "file_name", id="file_name-abs"),
    pytest.param(
        {"reply_ftp_dir": "..", "reply_file_name": "canary.txt"}, "ftp_dir", id="ftp_dir-dotdot"
    ),
    pytest.param(
        {"reply_ftp_dir": "/private", "reply_file_name": "canary2.txt"}, "ftp_dir", id="ftp_dir-abs"
    ),
]


@pytest.mark.parametrize("method", ["ftp", "sftp"])
@pytest.mark.parametrize(("faults", "field"), HOSTILE)
def test_a_reply_pointing_outside_the_folder_stops_before_any_file_is_touched(
    sb: Sandbox, home: Path, method: str, faults: dict[str, str], field: str
) -> None:
    sb.faults.update(dict(faults))
    with server_for(method, home) as server:
        run = run_tap(remote_config(sb, server))
    assert isinstance(run.error, RemotePathError), run.error
    message = str(run.error)
    assert "\n" not in message
    value = faults[f"reply_{field}"]
    window = f"window 1/4 [{sb.config.start.isoformat()}, "
    assert message.startswith(window)
    assert f"reply's {field} {value!r}" in message
    named = re.search(r", export (\d+): ", message)
    assert named is not None
    assert int(named.group(1)) in {job.id for job in sb.export_jobs}
    assert PASSWORD not in message
    assert (home / "canary.txt").read_text() == CANARY
    assert (home / "private" / "canary2.txt").read_text() == CANARY
    touched = tap_touched(server)
    assert not [entry for entry in touched if "canary" in entry[1]], touched
    if value.startswith("/"):  # an absolute ftp_dir: the tap asked for its login folder only
        assert [op for op, _ in touched] in ([], ["PWD"]), touched
    else:
        assert touched == [], "nothing was read, deleted or even looked up"
    assert run.records == []
    assert run.bookmark is None, "the bookmark stays before the first window"
    kept = sorted(str(job.file_name) for job in sb.export_jobs if job.file_name)
    assert server.files(FOLDER) == kept, "no uploaded file was deleted either"


@pytest.mark.parametrize("method", ["ftp", "sftp"])
@pytest.mark.parametrize("ftp_dir", ["exports/", "./exports", "/exports"])
def test_equivalent_spellings_of_the_folder_are_accepted(
    sb: Sandbox, home: Path, method: str, ftp_dir: str
) -> None:
    sb.faults.reply_ftp_dir = ftp_dir
    with server_for(method, home) as server:
        run = run_tap(remote_config(sb, server))
    assert run.error is None, run.error
    end = sb.config.start + dt.timedelta(days=sb.config.days)
    assert record_keys(run) == expected_keys(sb, sb.config.start, end)
    assert server.files(FOLDER) == [], "each file was deleted after its window"
    assert (home / "canary.txt").read_text() == CANARY


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_cli_stops_a_hostile_reply_in_one_line(sb: Sandbox, home: Path, tmp_path: Path) -> None:
    sb.faults.reply_file_name = "../canary.txt"
    with FtpServer(home) as server:
        end = (sb.config.start + dt.timedelta(hours=12)).isoformat()
        result = run_cli(write_config(tmp_path, remote_config(sb, server, end_date=end)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "file_name" in line]
    assert len(errors) == 1, result.stderr
    assert "ERROR" in errors[0]
    assert "'../canary.txt'" in errors[0]
    assert re.search(r"window 1/1 \[.*, export \d+: ", errors[0])
    assert PASSWORD not in result.stdout + result.stderr
    assert (home / "canary.txt").read_text() == CANARY
    assert server.commands["RETR"] == server.commands["DELE"] == 0
    assert '"type": "RECORD"' not in result.stdout
