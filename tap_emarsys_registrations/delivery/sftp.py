"""Reading export files over SFTP (SSH) with paramiko; imported only for ``sftp``.

A host key listed in ``~/.ssh/known_hosts`` is verified (a mismatch stops the
run); an unknown one is accepted, with one warning that shows its fingerprint.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Final

import paramiko
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
    from collections.abc import Iterator

LOGGER: Final = logging.getLogger(__name__)
_SSH_ERRORS: Final = (paramiko.SSHException, OSError, EOFError)


class _AcceptUnknownHostKey(paramiko.MissingHostKeyPolicy):
    """Accepts a host key that is not in known_hosts, saying so once per run."""

    def __init__(self) -> None:
        self.warned = False

    @override
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        if not self.warned:
            self.warned = True
            LOGGER.warning(
                "ftp_settings.host %s is not in ~/.ssh/known_hosts; accepting its %s key %s",
                hostname,
                key.get_name(),
                key.fingerprint,
            )


class SftpDelivery(RemoteDelivery):
    """Reads export files over SFTP, logging in with ``ftp_settings`` username and password."""

    _unknown_key_policy: _AcceptUnknownHostKey | None = None

    def _connect(self) -> paramiko.SSHClient:
        remote, timeout = self._remote, self._timeout
        if self._unknown_key_policy is None:
            self._unknown_key_policy = _AcceptUnknownHostKey()
        client = paramiko.SSHClient()
        client.load_system_host_keys()
        client.set_missing_host_key_policy(self._unknown_key_policy)
        try:
            client.connect(
                remote.host,
                remote.port,
                username=remote.username,
                password=remote.password,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                look_for_keys=False,
                allow_agent=False,
            )
        except paramiko.AuthenticationException as exc:
            client.close()
            raise RemoteLoginError(
                f"The SFTP server '{remote.host}' refused the login of ftp_settings.username "
                f"'{remote.username}' ({self._clean(exc)}); check ftp_settings.username and "
                "ftp_settings.password",
            ) from None
        except paramiko.BadHostKeyException:
            client.close()
            raise RemoteServerError(
                f"The SSH host key of ftp_settings.host '{remote.host}' differs from the one in "
                "~/.ssh/known_hosts; if the server's key really changed, update known_hosts",
            ) from None
        except _SSH_ERRORS as exc:
            client.close()
            raise RemoteUnreachableError(self._clean(exc)) from None
        return client

    @override
    def _open(self, path: str) -> Body:
        client = self._connect()
        try:
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self._timeout)
            size = sftp.stat(path).st_size
            handle = sftp.open(path, "rb")
            handle.prefetch(size)
        except FileNotFoundError as exc:
            client.close()
            raise RemoteFileMissingError(self._clean(exc)) from None
        except PermissionError as exc:
            client.close()
            msg = f"The SFTP server refused to send '{path}' ({self._clean(exc)})"
            raise RemoteServerError(msg) from None
        except _SSH_ERRORS as exc:
            client.close()
            raise RemoteUnreachableError(self._clean(exc)) from None

        def chunks() -> Iterator[bytes]:
            try:
                while data := handle.read(DOWNLOAD_CHUNK_BYTES):
                    yield data
            except _SSH_ERRORS as exc:
                msg = f"connection lost mid-transfer ({self._clean(exc)})"
                raise TruncatedDownloadError(msg) from None

        def close() -> None:
            with contextlib.suppress(*_SSH_ERRORS):
                handle.close()
            client.close()

        return Body(chunks(), size, close)

    @override
    def _delete(self, path: str) -> None:
        client = self._connect()
        try:
            client.open_sftp().remove(path)
        except FileNotFoundError as exc:
            raise RemoteFileMissingError(self._clean(exc)) from None
        except _SSH_ERRORS as exc:
            raise RemoteUnreachableError(self._clean(exc)) from None
        finally:
            client.close()
