"""Reading an uploaded export file over FTP or FTPS (``distribution_method: ftp``)."""

from __future__ import annotations

import contextlib
import ftplib
import logging
import ssl
from typing import TYPE_CHECKING, Final

from typing_extensions import override

from tap_emarsys_registrations.delivery.body import DOWNLOAD_CHUNK_BYTES, Body
from tap_emarsys_registrations.delivery.remote import (
    RemoteDelivery,
    RemoteFileMissingError,
    RemoteUnreachableError,
)
from tap_emarsys_registrations.errors import (
    RemoteLoginError,
    RemoteServerError,
    TruncatedDownloadError,
)

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Iterator

LOGGER: Final = logging.getLogger(__name__)
_MISSING_REPLIES: Final = ("450", "550")
_LOST: Final = (OSError, EOFError, ftplib.Error)
_TLS_WORDS: Final = ("tls", "ssl", "encrypt")


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

    _warned_plain = False

    def _login(self) -> ftplib.FTP:
        remote = self._remote
        if remote.tls:
            ftp: ftplib.FTP = _ReusingFTPS(context=ssl.create_default_context())
        else:
            if not self._warned_plain:
                self._warned_plain = True
                LOGGER.warning(
                    "Plain FTP to ftp_settings.host '%s' sends the login password and the "
                    "export files unencrypted; set ftp_tls: true if the server offers FTPS, or "
                    "use distribution_method: sftp, which encrypts Emarsys' own upload too",
                    remote.host,
                )
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
    def _home(self) -> str:
        ftp = self._login()
        try:
            folder = ftp.pwd()
            ftp.quit()
        except ftplib.Error as exc:
            msg = f"The FTP server did not name its login folder ({self._clean(exc)})"
            raise RemoteServerError(msg) from None
        except OSError as exc:
            raise RemoteUnreachableError(self._clean(exc)) from None
        finally:
            ftp.close()
        return folder

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
