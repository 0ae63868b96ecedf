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
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Final

from singer_sdk import typing as th

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.settings.declare import (
    Group,
    declaration,
    declarations,
    read_declared,
    setting,
)
from tap_emarsys_registrations.settings.host_key import HostKeyPin, read_host_key
from tap_emarsys_registrations.settings.values import read_flag, read_text, read_verbatim

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_emarsys_registrations.settings.declare import Declaration

LOGGER: Final = logging.getLogger(__name__)
REMOTE_METHODS: Final = ("ftp", "sftp")
DEFAULT_PORTS: Final = {"ftp": 21, "sftp": 22}
MAX_PORT: Final = 65535
FTP_SETTINGS: Final = Group(
    "ftp_settings",
    title="FTP/SFTP server",
    description="Your server that Emarsys uploads the export files to, for "
    "distribution_method 'ftp' or 'sftp'.",
)
# The password digest only has to be stable across runs; the iterations make
# guessing the password from a fingerprint in STATE slow.
_DIGEST_SALT: Final = b"tap-emarsys-registrations/ftp_settings.password"
_DIGEST_ITERATIONS: Final = 200_000


def _host(raw: Any, declared: Declaration) -> str | None:  # noqa: ANN401
    host = read_text(raw, declared)
    if host is not None and ("://" in host or "/" in host or any(c.isspace() for c in host)):
        raise ConfigError(
            declared.path,
            f"{host!r} must be a host name or address only (no scheme, path or spaces)",
        )
    return host


def _port(raw: Any, declared: Declaration) -> int | None:  # noqa: ANN401
    """The port, or None for the method's default (known only with the method)."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or not 0 < int(text) <= MAX_PORT:
        raise ConfigError(declared.path, f"must be a TCP port (1-65535), not {raw!r}")
    return int(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteSettings:
    """Where Emarsys uploads the export files, and how the tap reads them back.

    Attributes:
        method: ``ftp`` or ``sftp`` (``distribution_method``).
        host: Host name or address of the server.
        port: TCP port (21 for FTP, 22 for SFTP unless configured).
        username: Login name.
        password: Login password; never part of ``repr``.
        folder: Folder the files are uploaded to, relative to the login folder.
        tls: Read over FTPS (explicit TLS, protected data connections).
        delete_after: Delete each file once its window is emitted and checkpointed.
        host_key: The SFTP server's pinned host key, or None to use ``~/.ssh/known_hosts``.
    """

    method: str
    host: str = setting(
        "host",
        th.StringType,
        _host,
        group=FTP_SETTINGS,
        title="FTP/SFTP host",
        description="Host name or address of your FTP/SFTP server (required for ftp and sftp).",
    )
    port: int = setting(
        "port",
        th.CustomType({"type": ["integer", "string"]}),
        _port,
        group=FTP_SETTINGS,
        title="FTP/SFTP port",
        description="Port of the server. Default: "
        + ", ".join(f"{port} for {method}" for method, port in DEFAULT_PORTS.items())
        + ".",
    )
    username: str = setting(
        "username",
        th.StringType,
        read_text,
        group=FTP_SETTINGS,
        title="FTP/SFTP username",
        description="Login name on the server; Emarsys and the tap both use it.",
    )
    password: str = setting(
        "password",
        # Not only "string": the SDK's type error would print the value. A number
        # (an unquoted YAML password) is refused by the reader instead.
        th.CustomType({"type": ["string", "number", "boolean"]}),
        read_verbatim,
        group=FTP_SETTINGS,
        secret=True,
        title="FTP/SFTP password",
        description="Password of the login; sent to Emarsys with each export request.",
    )
    folder: str | None = setting(
        "folder",
        th.StringType,
        read_text,
        group=FTP_SETTINGS,
        title="FTP/SFTP folder",
        description="Folder Emarsys uploads into, relative to the login folder. "
        "Default: the login folder.",
    )
    tls: bool = setting(
        "ftp_tls",
        th.BooleanType,
        read_flag,
        default=False,
        title="FTPS",
        description="With 'ftp', read the files over FTPS (explicit TLS); the server "
        "certificate must be trusted by this machine.",
    )
    delete_after: bool = setting(
        "delete_remote_file",
        th.BooleanType,
        read_flag,
        default=False,
        title="Delete remote files",
        description="With 'ftp' or 'sftp', delete each file from the server once its records "
        "were emitted and checkpointed.",
    )
    # Not a key of ftp_settings: those are sent to Emarsys; this one only guards the tap's login.
    host_key: HostKeyPin | None = setting(
        "sftp_host_key",
        th.StringType,
        read_host_key,
        title="SFTP host key",
        description="With 'sftp', the server's host key, the only one accepted: its SHA256 "
        "fingerprint ('SHA256:...', as ssh-keygen -lf prints it) or its public key line "
        "('ssh-ed25519 AAAA...'). Unset: the key must be listed in ~/.ssh/known_hosts.",
    )
    password_digest: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.pbkdf2_hmac(
            "sha256",
            self.password.encode(),
            _DIGEST_SALT + self.username.encode(),
            _DIGEST_ITERATIONS,
        )
        object.__setattr__(self, "password_digest", digest.hex())

    def request_settings(self) -> dict[str, Any]:
        """The ``ftp_settings`` object of the export request (the password included)."""
        settings: dict[str, Any] = {}
        for item in fields(self):
            declared = item.metadata.get("setting")
            value = getattr(self, item.name)
            if declared is not None and declared.group is FTP_SETTINGS and value is not None:
                settings[declared.name] = value
        return settings

    def upload_hint(self) -> str:
        """Why an export of this kind can stay ``ready``, for the timeout message."""
        folder = f"'{self.folder}'" if self.folder else "the login folder"
        return (
            f"With distribution_method '{self.method}' this means Emarsys could not upload the "
            f"file to ftp_settings.host '{self.host}' port {self.port}, folder {folder}: check "
            "ftp_settings host, port, username, password and folder (Emarsys retries the upload "
            "only after an hour)"
        )


# Needed with ftp and sftp; the schema cannot say so, as ftp_settings is optional.
_REQUIRED: Final = ("host", "username", "password")


def _keys() -> tuple[str, ...]:
    return tuple(d.name for d in declarations(RemoteSettings) if d.group is FTP_SETTINGS)


def _warn_unused(config: Mapping[str, Any], method: str) -> None:
    ignored = {"ftp": [], "sftp": ["tls"]}.get(method, ["tls", "delete_after"])
    if method != "sftp":
        ignored.append("host_key")
    names = [declaration(RemoteSettings, attribute).name for attribute in ignored]
    if method not in REMOTE_METHODS:
        names.insert(0, FTP_SETTINGS.name)
    unused = [name for name in names if config.get(name)]
    if unused:
        LOGGER.warning("%s ignored: distribution_method is '%s'", ", ".join(unused), method)


def parse_remote(config: Mapping[str, Any], method: str) -> RemoteSettings | None:
    """The remote server for ``ftp``/``sftp``; ``None`` (with a warning if set) for ``local``.

    Raises:
        ConfigError: naming the ``ftp_settings`` entry that is missing or wrong.
    """
    tls = declaration(RemoteSettings, "tls").value(config)
    delete_after = declaration(RemoteSettings, "delete_after").value(config)
    _warn_unused(config, method)
    if method not in REMOTE_METHODS:
        return None
    name, raw = FTP_SETTINGS.name, config.get(FTP_SETTINGS.name)
    if raw is None:
        raise ConfigError(
            f"{name}.host",
            f"is required with distribution_method '{method}' (ftp_settings needs host, "
            "username and password)",
        )
    if not isinstance(raw, dict):
        raise ConfigError(name, "must be an object with host, port, username, password")
    keys = _keys()
    unknown = sorted(str(key) for key in raw if key not in keys)
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}", f"is not a known key; use {', '.join(keys)}")
    values = read_declared(
        RemoteSettings,
        config,
        method=method,
        tls=tls and method == "ftp",
        delete_after=delete_after,
        **({} if method == "sftp" else {"host_key": None}),  # ignored with ftp, not read
    )
    for key in _REQUIRED:
        if values[key] is None:
            raise ConfigError(f"{name}.{key}", f"is required with distribution_method '{method}'")
    if values["port"] is None:
        values["port"] = DEFAULT_PORTS[method]
    return RemoteSettings(**values)
