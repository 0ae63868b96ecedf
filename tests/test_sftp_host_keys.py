"""SFTP host keys: a pinned ``sftp_host_key`` or a ``known_hosts`` entry, else no login.

Against the real SFTP server of ``tests/remote_servers.py``, whose log shows
every password attempt: a refused key must leave that log empty.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import struct
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.delivery.sftp import SftpDelivery, known_hosts_file
from tap_emarsys_registrations.errors import ConfigError, HostKeyError
from tap_emarsys_registrations.poll import PollPolicy
from tap_emarsys_registrations.settings.declare import declaration
from tap_emarsys_registrations.settings.host_key import parse_host_key, sha256_fingerprint
from tap_emarsys_registrations.settings.remote import RemoteSettings
from tap_emarsys_registrations.settings.tap_settings import Settings
from tests.cli import run_cli, write_config
from tests.clocks import FAST_CLOCK
from tests.conftest import expected_keys, record_keys, run_tap, tap_config
from tests.remote_servers import HOST, PASSWORD, USER, SftpServer

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[1]
FOLDER = "exports"
SAMPLE_FINGERPRINT = "SHA256:" + "A" * 43
REMOTE: dict[str, Any] = {
    "method": "sftp",
    "host": HOST,
    "port": 22,
    "username": USER,
    "password": PASSWORD,
    "folder": "exports",
    "tls": False,
    "delete_after": False,
}
CONTENT = b"user_id,registered_at\r\n1,2024-03-29 10:00:00\r\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpServer]:
    root = tmp_path / "root"
    (root / FOLDER).mkdir(parents=True)
    (root / FOLDER / "f.csv").write_bytes(CONTENT)
    with SftpServer(root) as running:
        yield running


def other_ecdsa() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def ed25519_line() -> str:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.decode()


def delivery(server: SftpServer, known_hosts: Path, pin: str | None = None) -> SftpDelivery:
    remote = RemoteSettings(
        **{**REMOTE, "port": server.port},
        host_key=parse_host_key(pin) if pin is not None else None,
    )
    policy = PollPolicy(0.01, 0.01, 1.0)
    return SftpDelivery(remote, policy, FAST_CLOCK, timeout=10, known_hosts=known_hosts)


def read(files: SftpDelivery) -> bytes:
    body = files.open(7, {"file_name": "f.csv", "ftp_dir": FOLDER}, "window 1/1, export 7")
    try:
        return b"".join(body.chunks)
    finally:
        body.close()


def refused(files: SftpDelivery, server: SftpServer) -> str:
    """The one-line error of a refused key; the server saw no password and no file access."""
    with pytest.raises(HostKeyError) as caught:
        read(files)
    message = str(caught.value)
    assert "\n" not in message
    assert PASSWORD not in message
    assert server.log == [], "no password was sent, no file was opened"
    assert server.fingerprint in message, "the server's fingerprint is shown"
    return message


def pins(server: SftpServer) -> list[str]:
    """Every form of the server's key that sftp_host_key takes."""
    return [
        server.fingerprint,
        server.key_line,
        server.key_line + " comment@host",
        server.known_hosts_line(),  # what ssh-keyscan prints
        f"256 {server.fingerprint} [{HOST}]:{server.port} (ECDSA)",  # what ssh-keygen -l prints
    ]


def test_sftp_host_key_is_declared_once_not_secret_and_in_plugin_yml() -> None:
    declared = declaration(RemoteSettings, "host_key")
    assert (declared.name, declared.group, declared.secret) == ("sftp_host_key", None, False)
    plugin = yaml.safe_load((REPO / "plugin.yml").read_text(encoding="utf-8"))
    entries = [item for item in plugin["settings"] if item["name"] == "sftp_host_key"]
    assert len(entries) == 1
    assert entries[0]["kind"] == "string"
    assert not entries[0].get("sensitive")
    assert "SHA256" in entries[0]["description"]
    remote = RemoteSettings(**{**REMOTE, "host_key": parse_host_key(SAMPLE_FINGERPRINT)})
    assert SAMPLE_FINGERPRINT not in str(remote.request_settings()), "never sent to Emarsys"


def test_key_lines_of_each_type_become_their_openssh_fingerprint() -> None:
    rsa, ecdsa = paramiko.RSAKey.generate(1024), other_ecdsa()
    for key in (rsa, ecdsa):
        pin = parse_host_key(f"{key.get_name()} {key.get_base64()}")
        assert (pin.key_type, pin.fingerprint) == (key.get_name(), key.fingerprint)
    line = ed25519_line()
    pin = parse_host_key(line)
    assert pin.key_type == "ssh-ed25519"
    assert pin.fingerprint == str(paramiko.PKey.from_type_string(*_split(line)).fingerprint)
    assert parse_host_key(pin.fingerprint + "=") == parse_host_key(pin.fingerprint)


def _split(line: str) -> tuple[str, bytes]:
    kind, encoded = line.split()[:2]
    return kind, base64.b64decode(encoded)


def test_a_pinned_key_is_accepted_in_each_form(server: SftpServer, tmp_path: Path) -> None:
    for pin in pins(server):
        assert read(delivery(server, tmp_path / "none", pin)) == CONTENT, pin
    assert server.logins() == [USER] * len(pins(server))


@pytest.mark.parametrize("form", ["fingerprint", "key line", "other type"])
def test_a_wrong_pin_is_refused_before_the_password(
    server: SftpServer, tmp_path: Path, form: str
) -> None:
    other = other_ecdsa()
    pin = {
        "fingerprint": str(other.fingerprint),
        "key line": f"{other.get_name()} {other.get_base64()}",
        "other type": ed25519_line(),
    }[form]
    known_hosts = tmp_path / "known_hosts"  # lists the server, but a pin is the only key
    known_hosts.write_text(server.known_hosts_line() + "\n")
    message = refused(delivery(server, known_hosts, pin), server)
    assert "sftp_host_key" in message
    assert parse_host_key(pin).fingerprint in message, "the pinned fingerprint is shown"
    assert f'set sftp_host_key: "{server.fingerprint}"' in message


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("ecdsa-sha2-nistp256", _ssh_string(b"nistp256") + _ssh_string(b"\x04" + b"\x01" * 64)),
        ("ssh-ed25519", _ssh_string(b"\x01" * 5)),
    ],
    ids=["ecdsa-point-off-the-curve", "ed25519-too-short"],
)
def test_a_pinned_key_line_without_a_valid_key_is_a_config_error(
    server: SftpServer, tmp_path: Path, kind: str, key: bytes
) -> None:
    line = f"{kind} {base64.b64encode(_ssh_string(kind.encode()) + key).decode()}"
    with pytest.raises(ConfigError) as caught:
        read(delivery(server, tmp_path / "none", line))
    assert caught.value.setting == "sftp_host_key"
    assert server.log == []


@pytest.mark.parametrize("listed", [False, True], ids=["no-file", "other-hosts-only"])
def test_an_unknown_key_is_refused_with_the_fix(
    server: SftpServer, tmp_path: Path, listed: bool
) -> None:
    known_hosts = tmp_path / "known_hosts"
    if listed:
        other = other_ecdsa()
        known_hosts.write_text(f"files.example.com {other.get_name()} {other.get_base64()}\n")
    message = refused(delivery(server, known_hosts), server)
    assert "sftp_host_key is not set" in message
    assert str(known_hosts) in message
    assert f"ssh-keyscan -p {server.port} {HOST} | ssh-keygen -lf -" in message
    assert f'set sftp_host_key: "{server.fingerprint}"' in message


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_a_known_hosts_entry_keeps_working(
    server: SftpServer, tmp_path: Path, hashed: bool
) -> None:
    name = f"[{HOST}]:{server.port}"
    host = paramiko.HostKeys.hash_host(name) if hashed else name
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{host} {server.key_line}\n")
    assert read(delivery(server, known_hosts)) == CONTENT
    assert server.logins() == [USER]
    assert known_hosts.read_text() == f"{host} {server.key_line}\n", "known_hosts is not written"


def test_a_changed_key_in_known_hosts_is_refused(server: SftpServer, tmp_path: Path) -> None:
    old = other_ecdsa()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{HOST}]:{server.port} {old.get_name()} {old.get_base64()}\n")
    message = refused(delivery(server, known_hosts), server)
    assert str(known_hosts) in message
    assert sha256_fingerprint(old.asbytes()) in message
    assert "sftp_host_key" in message


def test_known_hosts_is_read_from_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert known_hosts_file() == tmp_path / ".ssh" / "known_hosts"


# Whole runs: the sandbox uploads over SFTP (one login per file), the tap reads.


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=10, upload_retry_seconds=0.1)) as sandbox:
        yield sandbox


def sftp_config(sb: Sandbox, server: SftpServer, **overrides: Any) -> dict[str, Any]:
    settings = {"host": HOST, "port": server.port, "username": USER, "password": PASSWORD}
    return tap_config(
        sb,
        window_hours=12,
        distribution_method="sftp",
        ftp_settings={**settings, "folder": FOLDER},
        **overrides,
    )


def test_a_run_without_a_pin_uses_known_hosts_in_home(
    sb: Sandbox, server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_text(server.known_hosts_line() + "\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    run = run_tap(sftp_config(sb, server))
    assert run.error is None, run.error
    end = sb.config.start + dt.timedelta(days=sb.config.days)
    assert record_keys(run) == expected_keys(sb, sb.config.start, end)


def test_a_run_against_an_unknown_key_stops_before_the_password(
    sb: Sandbox, server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no known_hosts, as in a container
    run = run_tap(sftp_config(sb, server))
    assert isinstance(run.error, HostKeyError), run.error
    assert "sftp_host_key" in str(run.error)
    assert run.records == []
    assert run.bookmark is None
    uploads = [name for name in server.files(FOLDER) if name != "f.csv"]
    assert uploads, "the sandbox uploaded the files"
    assert len(server.logins()) == len(uploads), "every login was the sandbox's upload"
    assert not [op for op, _ in server.log if op in {"stat", "remove"}], "the tap read nothing"


def test_sftp_host_key_with_ftp_is_ignored_with_a_warning(
    sb: Sandbox, server: SftpServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = {**sftp_config(sb, server), "distribution_method": "ftp"}
    with caplog.at_level(logging.WARNING):
        remote = Settings.from_config({**config, "sftp_host_key": "not even a key"}).export.remote
    assert remote is not None
    assert remote.host_key is None
    assert "sftp_host_key ignored: distribution_method is 'ftp'" in caplog.text


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_cli_refuses_an_unknown_key_in_one_line(
    sb: Sandbox, server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_cli(write_config(tmp_path, sftp_config(sb, server)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "sftp_host_key" in line]
    assert len(errors) == 1, result.stderr
    assert "ERROR" in errors[0]
    assert server.fingerprint in errors[0]
    assert PASSWORD not in result.stdout + result.stderr
    assert not [op for op, _ in server.log if op in {"stat", "remove"}]


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_readme_command_prints_a_fingerprint_the_tap_takes(
    server: SftpServer, tmp_path: Path
) -> None:
    command = "ssh-keyscan -p PORT HOST | ssh-keygen -lf -"
    assert command in (REPO / "README.md").read_text(encoding="utf-8")
    scan = ["ssh-keyscan", "-p", str(server.port), HOST]
    with subprocess.Popen(scan, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as keyscan:
        fingerprints = subprocess.run(
            ["ssh-keygen", "-lf", "-"],
            stdin=keyscan.stdout,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    lines = fingerprints.stdout.splitlines()
    assert len(lines) == 1, fingerprints.stdout
    assert server.fingerprint in lines[0]
    for pin in (lines[0], lines[0].split()[1]):  # the whole line, or the fingerprint alone
        assert read(delivery(server, tmp_path / "none", pin)) == CONTENT
    assert server.logins() == [USER, USER]
