"""Real FTP, FTPS and SFTP servers on loopback, each in a thread, for delivery tests.

``FtpServer`` is pyftpdlib with switches for the failures a delivery must
survive: a file that shows up late, a data connection cut mid-transfer, and a
password that changes after the upload. ``SftpServer`` is a small paramiko
SSH server whose SFTP subsystem serves one directory; it logs each password
attempt and each file operation, and shows its host key as OpenSSH would. ``self_signed_cert``
makes the FTPS certificate; a test trusts it through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.sftp import SFTP_OK
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

if TYPE_CHECKING:
    from types import TracebackType

LOGGER = logging.getLogger(__name__)
HOST = "127.0.0.1"
USER = "emarsys-upload"
PASSWORD = "Ftp-Pa55word-4711"


class _ServerThread:
    """A server looping in a daemon thread over ``root``, stopped on leaving ``with``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)

    def _serve(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release what the server holds, after its thread ended."""

    def files(self, folder: str = "") -> list[str]:
        """Names of the files in ``folder`` below the root."""
        return sorted(p.name for p in (self.root / folder).iterdir() if p.is_file())

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class FtpServer(_ServerThread):
    """pyftpdlib serving ``home`` to one user; FTPS-only when given a certificate.

    ``commands`` counts the commands received. Switches: ``hide_uploads`` uploads vanish
    for ``hide_seconds``; ``drops`` transfers are cut after ``drop_after_bytes``; once a file
    is uploaded the password becomes ``new_password``.
    """

    def __init__(self, home: Path, *, cert: tuple[Path, Path] | None = None) -> None:
        super().__init__(home)
        self.commands: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []  # (command, argument), PASS without it
        self.hide_uploads = 0
        self.hide_seconds = 0.3
        self.drop_after_bytes = 0
        self.drops = 0
        self.new_password: str | None = None
        self._authorizer = DummyAuthorizer()
        self._authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmwMT")
        base: Any = TLS_FTPHandler if cert else FTPHandler
        tls: dict[str, Any] = {"tls_control_required": True, "tls_data_required": True}
        tls = tls | {"certfile": str(cert[0]), "keyfile": str(cert[1])} if cert else {}
        dtp = type("DropDTP", (_DropMixin, base.dtp_handler), {"owner": self})
        handler = type(
            "Handler",
            (_HookMixin, base),
            {
                "owner": self,
                "authorizer": self._authorizer,
                "dtp_handler": dtp,
                "use_sendfile": False,
                "auth_failed_timeout": 0,
                **tls,
            },
        )
        self._server = FTPServer((HOST, 0), handler, ioloop=IOLoop())
        self.port: int = self._server.address[1]
        self._timers: list[threading.Timer] = []

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._server.ioloop.loop(0.02, blocking=False)
        self._server.close_all()

    def _close(self) -> None:
        for timer in self._timers:
            timer.join()

    def received(self, path: str) -> None:
        """Called by the server thread after each completed upload."""
        if self.new_password is not None:
            self._authorizer.user_table[USER]["pwd"] = self.new_password
        if self.hide_uploads > 0:
            self.hide_uploads -= 1
            hidden = Path(path).replace(path + ".hidden")
            timer = threading.Timer(self.hide_seconds, hidden.replace, (path,))
            self._timers.append(timer)
            timer.start()


class _HookMixin:
    owner: FtpServer

    def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
        self.owner.commands[cmd] += 1
        self.owner.log.append((cmd, "" if cmd == "PASS" else arg))
        super().pre_process_command(line, cmd, arg)  # type: ignore[misc]

    def on_file_received(self, file: str) -> None:
        self.owner.received(file)


class _DropMixin:
    owner: FtpServer
    tot_bytes_sent: int

    def send(self, data: bytes) -> int:
        owner = self.owner
        if owner.drops > 0 and self.tot_bytes_sent + len(data) > owner.drop_after_bytes:
            owner.drops -= 1
            allowed = max(owner.drop_after_bytes - self.tot_bytes_sent, 0)
            sent: int = super().send(data[:allowed])  # type: ignore[misc]
            self._resp = ("426 Connection closed; transfer aborted.", LOGGER.info)
            self.close()  # type: ignore[attr-defined]
            return sent
        result: int = super().send(data)  # type: ignore[misc]
        return result


class _PasswordAuth(paramiko.ServerInterface):
    def __init__(self, owner: SftpServer) -> None:
        self.owner = owner

    def check_auth_password(self, username: str, password: str) -> int:
        self.owner.log.append(("password", username))
        ok = (username, password) == (USER, self.owner.password)
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _DirectorySftp(paramiko.SFTPServerInterface):
    """SFTP over the files below ``root``; paths are relative to it."""

    def __init__(
        self,
        server: paramiko.ServerInterface,
        *args: Any,
        root: Path,
        log: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = root
        self.log = log

    def _real(self, path: str) -> Path:
        real = (self.root / path.lstrip("/")).resolve()
        if not real.is_relative_to(self.root.resolve()):
            raise PermissionError(path)
        return real

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        self.log.append(("stat", path))
        try:
            return paramiko.SFTPAttributes.from_stat(self._real(path).stat())
        except OSError as error:
            return paramiko.SFTPServer.convert_errno(error.errno or 0)

    lstat = stat

    def open(
        self, path: str, flags: int, attr: paramiko.SFTPAttributes
    ) -> paramiko.SFTPHandle | int:
        self.log.append(("open", path))
        try:
            descriptor = os.open(self._real(path), flags | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as error:
            return paramiko.SFTPServer.convert_errno(error.errno or 0)
        writing = flags & (os.O_WRONLY | os.O_RDWR)
        handle = paramiko.SFTPHandle(flags)
        stream = os.fdopen(descriptor, "wb" if writing else "rb")
        if writing:
            handle.writefile = stream  # type: ignore[attr-defined]
        else:
            handle.readfile = stream  # type: ignore[attr-defined]
        return handle

    def remove(self, path: str) -> int:
        self.log.append(("remove", path))
        try:
            self._real(path).unlink()
        except OSError as error:
            return paramiko.SFTPServer.convert_errno(error.errno or 0)
        return SFTP_OK


class SftpServer(_ServerThread):
    """An SSH server with password login whose SFTP subsystem serves ``root``.

    ``log`` holds ``("password", user)`` for each login attempt and ``("stat" | "open" |
    "remove", path)`` for each file operation, in order.
    """

    def __init__(self, root: Path, *, key: paramiko.PKey | None = None) -> None:
        super().__init__(root)
        self.password = PASSWORD
        self.log: list[tuple[str, str]] = []
        self._key = key or paramiko.ECDSAKey.generate()
        self._socket = socket.create_server((HOST, 0))
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self._transports: list[paramiko.Transport] = []

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            transport = paramiko.Transport(conn)
            transport.add_server_key(self._key)
            transport.set_subsystem_handler(
                "sftp", paramiko.SFTPServer, _DirectorySftp, root=self.root, log=self.log
            )
            self._transports.append(transport)
            try:
                transport.start_server(server=_PasswordAuth(self))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    @property
    def key_line(self) -> str:
        """The host key as a public key line: ``ecdsa-sha2-nistp256 AAAA...``."""
        return f"{self._key.get_name()} {self._key.get_base64()}"

    @property
    def fingerprint(self) -> str:
        """The host key's SHA256 fingerprint as ``ssh-keygen -lf`` prints it."""
        return str(self._key.fingerprint)

    def known_hosts_line(self) -> str:
        """The line ``ssh-keyscan -p PORT 127.0.0.1`` prints for this server."""
        return f"[{HOST}]:{self.port} {self.key_line}"

    def logins(self) -> list[str]:
        """The users of every password attempt, in order."""
        return [user for kind, user in self.log if kind == "password"]

    def _close(self) -> None:
        for transport in self._transports:
            transport.close()
        self._socket.close()
