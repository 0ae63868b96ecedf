"""Uploading a finished export's CSV to the user's FTP/SFTP server, as Emarsys does.

An export with ``distribution_method`` ``ftp`` or ``sftp`` is ``done`` only once
its file is on the server named by ``ftp_settings``; until then (unreachable
host, refused login, missing folder) it stays ``ready`` and the upload is tried
again. paramiko is imported only inside the SFTP upload, so the sandbox stays
standard-library-only for everything else.
"""

from __future__ import annotations

import ftplib
import posixpath
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sandbox.config import SandboxConfig
    from sandbox.exports import ExportJob

CHUNK_BYTES = 65536
DEFAULT_PORTS = {"ftp": 21, "sftp": 22}


class Chunked(Protocol):
    """A rendered export file (``CsvBody`` or a cached file)."""

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        """Yield the file in chunks."""
        ...


class UploadError(Exception):
    """The upload failed; the export stays ``ready``."""


@dataclass(frozen=True)
class Target:
    """Where one file goes: server, login and ``folder/file_name``."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    path: str = ""


def target_path(settings: dict[str, Any], file_name: str) -> str:
    """``folder/file_name`` (just ``file_name`` without a folder)."""
    folder = str(settings.get("folder") or "")
    return posixpath.join(folder, file_name) if folder else file_name


def upload_when_due(job: ExportJob, body: Callable[[], Chunked], config: SandboxConfig) -> None:
    """Upload a built ftp/sftp export: then it is ``done``; on failure it stays ``ready``.

    A failed upload is tried again on a later status request, at most every
    ``upload_retry_seconds``; concurrent status requests never upload twice.
    """
    if time.monotonic() < job.next_upload or not job.upload_lock.acquire(blocking=False):
        return
    try:
        if job.uploaded:
            return
        export = job.request
        settings = export.ftp_settings or {}
        upload(export.distribution_method, settings, job.csv_name(), body(), tls=config.ftp_tls)
    except UploadError as error:
        job.upload_error = str(error)
        job.next_upload = time.monotonic() + config.upload_retry_seconds
    else:
        job.uploaded, job.upload_error = True, None
    finally:
        job.upload_lock.release()


def upload(
    method: str,
    settings: dict[str, Any],
    file_name: str,
    body: Chunked,
    *,
    tls: bool = False,
    timeout: float = 10.0,
) -> None:
    """Upload ``body`` as ``folder/file_name``; raise ``UploadError`` on any failure."""
    try:
        target = Target(
            host=str(settings["host"]),
            port=int(settings.get("port") or DEFAULT_PORTS[method]),
            username=str(settings["username"]),
            password=str(settings["password"]),
            path=target_path(settings, file_name),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise UploadError(f"bad ftp_settings: {error}") from None
    try:
        if method == "sftp":
            _sftp(target, body, timeout)
        else:
            _ftp(target, body, tls=tls, timeout=timeout)
    except Exception as error:  # noqa: BLE001 - any failure leaves the export 'ready'
        raise UploadError(f"{type(error).__name__}: {error}") from None


def _ftp(target: Target, body: Chunked, *, tls: bool, timeout: float) -> None:
    # Like Emarsys, the sandbox does not check the user's certificate.
    ftp = ftplib.FTP_TLS(context=ssl._create_unverified_context()) if tls else ftplib.FTP()  # noqa: S321, S323
    try:
        ftp.connect(target.host, target.port, timeout=timeout)
        if isinstance(ftp, ftplib.FTP_TLS):
            ftp.auth()
        ftp.login(target.username, target.password)
        if isinstance(ftp, ftplib.FTP_TLS):
            ftp.prot_p()
        ftp.voidcmd("TYPE I")
        with ftp.transfercmd(f"STOR {target.path}") as conn:
            for chunk in body.chunks(CHUNK_BYTES):
                conn.sendall(chunk)
            if isinstance(conn, ssl.SSLSocket):
                conn.unwrap()
        ftp.voidresp()
        ftp.quit()
    finally:
        ftp.close()


def _sftp(target: Target, body: Chunked, timeout: float) -> None:
    import paramiko  # noqa: PLC0415 - only SFTP uploads need it

    client = paramiko.SSHClient()
    # Emarsys' uploader takes no host key from its users; the simulator does the same.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507
    try:
        client.connect(
            target.host,
            target.port,
            username=target.username,
            password=target.password,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            look_for_keys=False,
            allow_agent=False,
        )
        with client.open_sftp() as sftp, sftp.open(target.path, "wb") as remote:
            for chunk in body.chunks(CHUNK_BYTES):
                remote.write(chunk)
    finally:
        client.close()
