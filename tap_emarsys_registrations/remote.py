"""Export files that Emarsys uploaded to the user's server; reading them over FTP(S).

Emarsys reports ``done`` only after the upload, with ``file_name`` (and
``ftp_dir``) in the status. The file is streamed in chunks, never held in
memory; its size (FTP ``SIZE``, SFTP ``stat``) is the expected length, so a
transfer cut short is caught and downloaded again. A file or folder that is
not there (yet) is looked for again until ``export_timeout_seconds``; refused
credentials stop the run at once. Messages never contain the password.
SFTP, which needs paramiko, lives in ``remote_sftp`` and is loaded only when
configured.
"""

from __future__ import annotations

import contextlib
import ftplib
import logging
import posixpath
import ssl
from typing import TYPE_CHECKING, Any, Final

from typing_extensions import override

from tap_emarsys_registrations.download import DOWNLOAD_CHUNK_BYTES, Body
from tap_emarsys_registrations.errors import (
    ExportTimeoutError,
    RemoteLoginError,
    RemoteServerError,
    TruncatedDownloadError,
)
from tap_emarsys_registrations.poll import Poll

if TYPE_CHECKING:
    import socket
    import threading
    from collections.abc import Callable, Iterator

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.poll import PollPolicy
    from tap_emarsys_registrations.remote_settings import RemoteSettings

LOGGER: Final = logging.getLogger(__name__)
MAX_CONNECT_ATTEMPTS: Final = 5
_MISSING_REPLIES: Final = ("450", "550")
_LOST: Final = (OSError, EOFError, ftplib.Error)
_TLS_WORDS: Final = ("tls", "ssl", "encrypt")


class RemoteFileMissingError(Exception):
    """The file or its folder is not on the server (yet); looked for again."""


class RemoteUnreachableError(Exception):
    """The server could not be reached or dropped the session; tried again a few times."""


def remote_path(status: dict[str, Any], remote: RemoteSettings) -> str:
    """``ftp_dir`` (else the configured folder) joined with the status' ``file_name``."""
    name = status.get("file_name")
    if not isinstance(name, str) or not name:
        msg = f"Emarsys reported the export done without a file_name (status {status!r})"
        raise RemoteServerError(msg)
    folder = status.get("ftp_dir") or remote.folder or ""
    return posixpath.join(str(folder), name) if folder else name


class RemoteDelivery:
    """Finds an export's file on the server, waits while it is missing, tidies up."""

    def __init__(
        self,
        remote: RemoteSettings,
        policy: PollPolicy,
        clock: Clock,
        *,
        timeout: float,
        stop: threading.Event | None = None,
    ) -> None:
        self._remote = remote
        self._policy = policy
        self._clock = clock
        self._timeout = timeout
        self._stop = stop

    def _clean(self, error: object) -> str:
        """A server message on one line, with the password masked should it echo it."""
        return " ".join(str(error).replace(self._remote.password, "***").split())

    def _open(self, path: str) -> Body:
        """Connect, log in and start streaming ``path``."""
        raise NotImplementedError

    def _delete(self, path: str) -> None:
        """Connect, log in and delete ``path``."""
        raise NotImplementedError

    def open(self, export_id: int, status: dict[str, Any], describe: str) -> Body:
        """Open the uploaded file, waiting while it is not there and retrying connections.

        Raises:
            CancelledError: the run stopped while waiting; nothing was read.
        """
        del export_id
        remote, path = self._remote, remote_path(status, self._remote)
        poll, failures = Poll(self._policy, self._clock, self._stop), 0
        while True:
            try:
                return self._open(path)
            except RemoteFileMissingError as exc:
                wait = poll.next_wait()
                if wait is None:
                    raise ExportTimeoutError(
                        f"{describe}: '{path}' is still missing on ftp_settings.host "
                        f"'{remote.host}' after {self._policy.timeout:g}s "
                        f"(export_timeout_seconds), though Emarsys reports the upload done "
                        f"({exc}); check ftp_settings.folder",
                    ) from None
                LOGGER.info("%s: '%s' is not on the server yet (%s)", describe, path, exc)
            except RemoteUnreachableError as exc:
                wait = poll.next_interval()  # bounded by the attempts, not the deadline
                failures += 1
                if failures >= MAX_CONNECT_ATTEMPTS:
                    raise RemoteServerError(
                        f"{describe}: cannot read from ftp_settings.host '{remote.host}' port "
                        f"{remote.port} after {failures} attempts ({exc}); check "
                        "ftp_settings.host and port, and that this machine may connect",
                    ) from None
                LOGGER.warning(
                    "%s: reading from ftp_settings.host failed (%s); retrying", describe, exc
                )
            poll.sleep(wait)

    def window_done(self, export_id: int, status: dict[str, Any]) -> None:
        """With ``delete_remote_file``, delete the file; a failure is only a warning."""
        if not self._remote.delete_after:
            return
        path = remote_path(status, self._remote)
        try:
            self._delete(path)
        except (
            RemoteLoginError,
            RemoteServerError,
            RemoteFileMissingError,
            RemoteUnreachableError,
        ) as exc:
            LOGGER.warning("export %d: could not delete '%s' (%s); it stays", export_id, path, exc)
        else:
            LOGGER.info("export %d: deleted '%s' from ftp_settings.host", export_id, path)


class _ReusingFTPS(ftplib.FTP_TLS):
    """FTPS whose data connections resume the control connection's TLS session.

    Servers such as vsftpd refuse data connections that do not (``require_ssl_reuse``).
    """

    @override
    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)  # noqa: S321 - TLS follows
        session = self.sock.session if isinstance(self.sock, ssl.SSLSocket) else None
        return self.context.wrap_socket(conn, server_hostname=self.host, session=session), size


class _FtpTransfer:
    """One ``RETR``: the data socket's chunks, then the server's closing reply."""

    def __init__(
        self, ftp: ftplib.FTP, conn: socket.socket, clean: Callable[[object], str]
    ) -> None:
        self._ftp, self._conn, self._clean = ftp, conn, clean
        self._complete = False

    def chunks(self) -> Iterator[bytes]:
        try:
            while data := self._conn.recv(DOWNLOAD_CHUNK_BYTES):
                yield data
            if isinstance(self._conn, ssl.SSLSocket):
                self._conn.unwrap()
            self._conn.close()
            self._ftp.voidresp()
        except _LOST as exc:
            msg = f"connection lost mid-transfer ({self._clean(exc)})"
            raise TruncatedDownloadError(msg) from None
        self._complete = True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.close()
        if self._complete:
            with contextlib.suppress(*_LOST):
                self._ftp.quit()
        self._ftp.close()


class FtpDelivery(RemoteDelivery):
    """Reads export files over FTP, or FTPS (explicit TLS, protected data) with ``ftp_tls``."""

    def _login(self) -> ftplib.FTP:
        remote = self._remote
        if remote.tls:
            ftp: ftplib.FTP = _ReusingFTPS(context=ssl.create_default_context())
        else:
            ftp = ftplib.FTP()  # noqa: S321 - plain FTP is what ftp_tls: false asks for
        step = "connect"
        try:
            ftp.connect(remote.host, remote.port, timeout=self._timeout)
            if isinstance(ftp, ftplib.FTP_TLS):
                step = "tls"
                ftp.auth()
            step = "login"
            ftp.login(remote.username, remote.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                step = "tls"
                ftp.prot_p()
        except ftplib.error_perm as exc:
            ftp.close()
            reply = self._clean(exc)
            wants_tls = any(word in reply.lower() for word in _TLS_WORDS)
            if step == "login" and not (wants_tls and not remote.tls):
                raise RemoteLoginError(
                    f"The FTP server '{remote.host}' refused the login of ftp_settings.username "
                    f"'{remote.username}' ({reply}); check ftp_settings.username and "
                    "ftp_settings.password",
                ) from None
            hint = "set ftp_tls: true" if step == "login" else "check ftp_tls"
            msg = f"FTP on ftp_settings.host '{remote.host}' failed at {step} ({reply})"
            raise RemoteServerError(f"{msg}; {hint}") from None
        except ssl.SSLError as exc:
            ftp.close()
            detail = getattr(exc, "verify_message", None) or exc.reason or self._clean(exc)
            raise RemoteServerError(
                f"TLS with ftp_settings.host '{remote.host}' failed ({detail}); check "
                "ftp_tls, and that this machine trusts the server certificate (SSL_CERT_FILE)",
            ) from None
        except _LOST as exc:
            ftp.close()
            raise RemoteUnreachableError(self._clean(exc)) from None
        return ftp

    @override
    def _open(self, path: str) -> Body:
        ftp = self._login()
        try:
            ftp.voidcmd("TYPE I")  # SIZE is refused in ASCII mode
            try:
                size: int | None = ftp.size(path)
            except ftplib.error_perm as exc:
                if str(exc).startswith(_MISSING_REPLIES):
                    raise
                size = None  # SIZE not supported: completeness is judged by the CSV alone
            conn = ftp.transfercmd(f"RETR {path}")
        except (ftplib.error_perm, ftplib.error_temp) as exc:
            ftp.close()
            if str(exc).startswith(_MISSING_REPLIES):
                raise RemoteFileMissingError(self._clean(exc)) from None
            if isinstance(exc, ftplib.error_temp):
                raise RemoteUnreachableError(self._clean(exc)) from None
            msg = f"The FTP server refused to send '{path}' ({self._clean(exc)})"
            raise RemoteServerError(msg) from None
        except _LOST as exc:
            ftp.close()
            raise RemoteUnreachableError(self._clean(exc)) from None
        transfer = _FtpTransfer(ftp, conn, self._clean)
        return Body(transfer.chunks(), size, transfer.close)

    @override
    def _delete(self, path: str) -> None:
        ftp = self._login()
        try:
            ftp.delete(path)
            ftp.quit()
        except ftplib.Error as exc:
            raise RemoteFileMissingError(self._clean(exc)) from None
        except OSError as exc:
            raise RemoteUnreachableError(self._clean(exc)) from None
        finally:
            ftp.close()


def remote_delivery(
    remote: RemoteSettings,
    policy: PollPolicy,
    clock: Clock,
    *,
    timeout: float,
    stop: threading.Event | None = None,
) -> RemoteDelivery:
    """The delivery for ``remote.method`` (``ftp`` or ``sftp``); its waits end on ``stop``."""
    if remote.method == "sftp":
        # paramiko takes as long to import as the SDK: only load it when needed.
        from tap_emarsys_registrations.remote_sftp import SftpDelivery  # noqa: PLC0415

        return SftpDelivery(remote, policy, clock, timeout=timeout, stop=stop)
    return FtpDelivery(remote, policy, clock, timeout=timeout, stop=stop)
