"""Reading export files over SFTP (SSH) with paramiko; imported only for ``sftp``.

The server's host key is verified before the password is sent. With
``sftp_host_key`` only that key is accepted; without it, only a key listed
for the host in ``~/.ssh/known_hosts``. Any other key, and an unknown one,
stops the run with one line that shows the server's SHA256 fingerprint and
how to pin it. The tap never adds keys to known_hosts.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
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
    ConfigError,
    HostKeyError,
    RemoteLoginError,
    RemoteServerError,
    TruncatedDownloadError,
)
from tap_emarsys_registrations.settings.host_key import sha256_fingerprint

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.poll import PollPolicy
    from tap_emarsys_registrations.settings.host_key import HostKeyPin
    from tap_emarsys_registrations.settings.remote import RemoteSettings

LOGGER: Final = logging.getLogger(__name__)
_SSH_ERRORS: Final = (paramiko.SSHException, OSError, EOFError)
_SSH_PORT: Final = 22


def known_hosts_file() -> Path:
    """``~/.ssh/known_hosts`` of the user running the tap (``HOME`` decides ``~``)."""
    return Path.home() / ".ssh" / "known_hosts"


def _shown(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {sha256_fingerprint(key.asbytes())}"


class _HostKeys:
    """What the server's key is checked against: the pin, else known_hosts."""

    def __init__(self, remote: RemoteSettings, known_hosts: Path) -> None:
        self._remote = remote
        self._known_hosts = known_hosts
        port = remote.port
        self.name = remote.host if port == _SSH_PORT else f"[{remote.host}]:{port}"

    def _where(self) -> str:
        remote = self._remote
        return f"ftp_settings.host '{remote.host}' port {remote.port}"

    def prepare(self, client: paramiko.SSHClient) -> None:
        """Give ``client`` the keys it may accept; any other key reaches ``refuse``.

        Raises:
            ConfigError: the pinned key line holds no valid key.
            HostKeyError: known_hosts exists but cannot be read.
        """
        pin = self._remote.host_key
        if pin is None:
            try:
                if self._known_hosts.is_file():
                    client.load_system_host_keys(str(self._known_hosts))
            except OSError as exc:
                raise HostKeyError(
                    f"Cannot read {self._known_hosts} ({exc.strerror or exc}) to verify the SSH "
                    f"host key of {self._where()}; the tap did not connect. Make it readable, "
                    "or pin the key in sftp_host_key",
                ) from None
        elif pin.key_type is not None and pin.key_data is not None:
            try:
                key = paramiko.PKey.from_type_string(pin.key_type, pin.key_data)
            except (paramiko.SSHException, ValueError) as exc:
                problem = f"the {pin.key_type} key line holds no valid key ({exc})"
                raise ConfigError("sftp_host_key", problem) from None
            client.get_host_keys().add(self.name, pin.key_type, key)

    def refuse(self, key: paramiko.PKey, expected: paramiko.PKey | None) -> HostKeyError:
        """The error for a server key that is not the one expected (or not known at all)."""
        pin, served = self._remote.host_key, _shown(key)
        fingerprint = sha256_fingerprint(key.asbytes())
        if pin is not None:
            return HostKeyError(
                f"The SSH host key of {self._where()} is {served}, not the key pinned in "
                f"sftp_host_key ({_pinned(pin)}); the tap did not log in. If the server's key "
                f'really changed, set sftp_host_key: "{fingerprint}"',
            )
        if expected is not None:
            return HostKeyError(
                f"The SSH host key of {self._where()} is {served}, not the one in "
                f"{self._known_hosts} ({_shown(expected)}); the tap did not log in. If the "
                "server's key really changed, correct known_hosts or pin the new key in "
                "sftp_host_key",
            )
        remote = self._remote
        return HostKeyError(
            f"The SSH host key of {self._where()} ({served}) is unknown: sftp_host_key is not "
            f"set and {self._known_hosts} does not list it; the tap did not log in. Compare it "
            f"with the key your server's administrator gives you (ssh-keyscan -p {remote.port} "
            f'{remote.host} | ssh-keygen -lf -), then set sftp_host_key: "{fingerprint}"',
        )


def _pinned(pin: HostKeyPin) -> str:
    return f"{pin.key_type} {pin.fingerprint}" if pin.key_type else pin.fingerprint


class _VerifyHostKey(paramiko.MissingHostKeyPolicy):
    """Called for every key the client was not given: accepts only a pinned fingerprint."""

    def __init__(self, keys: _HostKeys, pin: HostKeyPin | None) -> None:
        self._keys = keys
        self._pin = pin

    @override
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        pin = self._pin
        fingerprint = sha256_fingerprint(key.asbytes())
        if pin is not None and pin.key_type is None and fingerprint == pin.fingerprint:
            return
        raise self._keys.refuse(key, None)


class SftpDelivery(RemoteDelivery):
    """Reads export files over SFTP, logging in with ``ftp_settings`` username and password."""

    def __init__(
        self,
        remote: RemoteSettings,
        policy: PollPolicy,
        clock: Clock,
        *,
        timeout: float,
        stop: threading.Event | None = None,
        known_hosts: Path | None = None,
    ) -> None:
        super().__init__(remote, policy, clock, timeout=timeout, stop=stop)
        self._host_keys = _HostKeys(remote, known_hosts or known_hosts_file())

    def _connect(self) -> paramiko.SSHClient:
        remote, timeout, keys = self._remote, self._timeout, self._host_keys
        client = paramiko.SSHClient()
        try:
            keys.prepare(client)
        except (ConfigError, HostKeyError):
            client.close()
            raise
        client.set_missing_host_key_policy(_VerifyHostKey(keys, remote.host_key))
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
        except HostKeyError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise keys.refuse(exc.key, exc.expected_key) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise RemoteLoginError(
                f"The SFTP server '{remote.host}' refused the login of ftp_settings.username "
                f"'{remote.username}' ({self._clean(exc)}); check ftp_settings.username and "
                "ftp_settings.password",
            ) from None
        except _SSH_ERRORS as exc:
            client.close()
            raise RemoteUnreachableError(self._clean(exc)) from None
        return client

    @override
    def _home(self) -> str:
        client = self._connect()
        try:
            return client.open_sftp().normalize(".")
        except _SSH_ERRORS as exc:
            raise RemoteUnreachableError(self._clean(exc)) from None
        finally:
            client.close()

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
