"""The user's FTP/SFTP server that Emarsys uploads export files to, validated.

With ``distribution_method: ftp`` or ``sftp`` Emarsys pushes each export's CSV
to ``ftp_settings`` instead of serving it through the API, and the tap reads it
from there. The password is needed twice (in the export request, and to log
in), but never shown: not in ``repr``, errors or logs, and not in STATE, where
only a slow, salted digest of it enters the export fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.config_values import flag
from tap_emarsys_registrations.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

LOGGER: Final = logging.getLogger(__name__)
REMOTE_METHODS: Final = ("ftp", "sftp")
DEFAULT_PORTS: Final = {"ftp": 21, "sftp": 22}
FTP_SETTINGS: Final = "ftp_settings"
KEYS: Final = ("host", "port", "username", "password", "folder")
MAX_PORT: Final = 65535
# The password digest only has to be stable across runs; the iterations make
# guessing the password from a fingerprint in STATE slow.
_DIGEST_SALT: Final = b"tap-emarsys-registrations/ftp_settings.password"
_DIGEST_ITERATIONS: Final = 200_000


@dataclass(frozen=True, slots=True)
class RemoteSettings:
    """Where Emarsys uploads the export files, and how the tap reads them back.

    Attributes:
        method: ``ftp`` or ``sftp``.
        host: Host name or address of the server.
        port: TCP port (21 for FTP, 22 for SFTP unless configured).
        username: Login name.
        password: Login password; never part of ``repr``.
        folder: Folder the files are uploaded to, relative to the login folder.
        tls: Read over FTPS (explicit TLS, protected data connections).
        delete_after: Delete each file once its window is emitted and checkpointed.
    """

    method: str
    host: str
    port: int
    username: str
    password: str
    folder: str | None = None
    tls: bool = False
    delete_after: bool = False
    password_digest: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.pbkdf2_hmac(
            "sha256",
            self.password.encode(),
            _DIGEST_SALT + self.username.encode(),
            _DIGEST_ITERATIONS,
        )
        object.__setattr__(self, "password_digest", digest.hex())

    def __repr__(self) -> str:
        return (
            f"RemoteSettings(method={self.method!r}, host={self.host!r}, port={self.port}, "
            f"username={self.username!r}, folder={self.folder!r}, tls={self.tls}, "
            f"delete_after={self.delete_after})"
        )

    def request_settings(self) -> dict[str, Any]:
        """The ``ftp_settings`` object of the export request (the password included)."""
        settings: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
        }
        if self.folder is not None:
            settings["folder"] = self.folder
        return settings

    def where(self) -> str:
        """``sftp://user@host:port/folder`` for messages (no password)."""
        return f"{self.method}://{self.username}@{self.host}:{self.port}/{self.folder or ''}"

    def upload_hint(self) -> str:
        """Why an export of this kind can stay ``ready``, for the timeout message."""
        folder = f"'{self.folder}'" if self.folder else "the login folder"
        return (
            f"With distribution_method '{self.method}' this means Emarsys could not upload the "
            f"file to ftp_settings.host '{self.host}' port {self.port}, folder {folder}: check "
            "ftp_settings host, port, username, password and folder (Emarsys retries the upload "
            "only after an hour)"
        )


def _text(settings: Mapping[str, Any], key: str, *, secret: bool = False) -> str | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        shown = " (quote it in YAML); its value is not shown" if secret else f", not {value!r}"
        raise ConfigError(f"{FTP_SETTINGS}.{key}", f"must be a string{shown}")
    if secret:
        return value or None
    return value.strip() or None


def _port(settings: Mapping[str, Any], method: str) -> int:
    raw = settings.get("port")
    if raw is None or raw == "":
        return DEFAULT_PORTS[method]
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or not 0 < int(text) <= MAX_PORT:
        raise ConfigError(f"{FTP_SETTINGS}.port", f"must be a TCP port (1-65535), not {raw!r}")
    return int(text)


def _warn_unused(config: Mapping[str, Any], method: str) -> None:
    keys = ("ftp_tls",) if method == "sftp" else (FTP_SETTINGS, "ftp_tls", "delete_remote_file")
    unused = [key for key in keys if config.get(key)]
    if unused:
        LOGGER.warning("%s ignored: distribution_method is '%s'", ", ".join(unused), method)


def parse_remote(config: Mapping[str, Any], method: str) -> RemoteSettings | None:
    """The remote server for ``ftp``/``sftp``; ``None`` (with a warning if set) for ``local``.

    Raises:
        ConfigError: naming the ``ftp_settings`` entry that is missing or wrong.
    """
    tls = flag(config, "ftp_tls", default=False)
    delete_after = flag(config, "delete_remote_file", default=False)
    if method != "ftp":
        _warn_unused(config, method)
    if method not in REMOTE_METHODS:
        return None
    raw = config.get(FTP_SETTINGS)
    if raw is None:
        raise ConfigError(
            f"{FTP_SETTINGS}.host",
            f"is required with distribution_method '{method}' (ftp_settings needs host, "
            "username and password)",
        )
    if not isinstance(raw, dict):
        raise ConfigError(FTP_SETTINGS, "must be an object with host, port, username, password")
    unknown = sorted(str(key) for key in raw if key not in KEYS)
    if unknown:
        raise ConfigError(
            f"{FTP_SETTINGS}.{unknown[0]}",
            f"is not a known key; use {', '.join(KEYS)}",
        )
    values = {key: _text(raw, key, secret=key == "password") for key in KEYS if key != "port"}
    for key in ("host", "username", "password"):
        if values[key] is None:
            raise ConfigError(
                f"{FTP_SETTINGS}.{key}",
                f"is required with distribution_method '{method}'",
            )
    host = str(values["host"])
    if "://" in host or "/" in host or any(c.isspace() for c in host):
        raise ConfigError(
            f"{FTP_SETTINGS}.host",
            f"{host!r} must be a host name or address only (no scheme, path or spaces)",
        )
    return RemoteSettings(
        method=method,
        host=host,
        port=_port(raw, method),
        username=str(values["username"]),
        password=str(values["password"]),
        folder=values["folder"],
        tls=tls and method == "ftp",
        delete_after=delete_after,
    )
