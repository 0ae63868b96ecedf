"""``sftp_host_key``: the SFTP server's host key, pinned as OpenSSH shows it.

Two forms are taken: the SHA256 fingerprint as ``ssh-keygen -lf`` prints it
(``SHA256:...``, alone or as the whole line ``256 SHA256:... host (ED25519)``),
or the public key line (``ssh-ed25519 AAAA...``, also with the host in front,
as ``ssh-keyscan`` prints it). Both become a :class:`HostKeyPin`, compared by
fingerprint. Pure: no SSH library is loaded here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.settings.values import read_text

if TYPE_CHECKING:
    from tap_emarsys_registrations.settings.declare import Declaration

KEY_TYPES: Final = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
PREFIX: Final = "SHA256:"
_DIGEST_BYTES: Final = hashlib.sha256().digest_size
_LENGTH: Final = struct.Struct(">I")  # the length prefix of an SSH string
_SHOWN_CHARACTERS: Final = 72


@dataclass(frozen=True, slots=True)
class HostKeyPin:
    """The one host key the SFTP server may present.

    Attributes:
        fingerprint: ``SHA256:`` and the unpadded base64 digest, as OpenSSH prints it.
        key_type: ``ssh-ed25519`` etc. when a key line was given, else None.
        key_data: The public key blob when a key line was given, else None.
    """

    fingerprint: str
    key_type: str | None = None
    key_data: bytes | None = field(default=None, repr=False)


def sha256_fingerprint(blob: bytes) -> str:
    """The OpenSSH SHA256 fingerprint of a public key blob."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return PREFIX + digest.rstrip("=")


def _fingerprint(text: str) -> HostKeyPin:
    encoded = text.removeprefix(PREFIX).rstrip("=")
    try:
        # 32 bytes are 43 base64 characters and one "=" of padding, which OpenSSH leaves out
        digest = base64.b64decode(encoded + "=", validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != _DIGEST_BYTES:
        msg = f"{_shown(text)} is not a SHA256 fingerprint (SHA256: and 43 base64 characters)"
        raise ValueError(msg)
    return HostKeyPin(PREFIX + base64.b64encode(digest).decode("ascii").rstrip("="))


def _key_line(key_type: str, encoded: str) -> HostKeyPin:
    try:
        blob = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        blob = b""
    parts = _ssh_strings(blob)
    if len(parts) < 2 or parts[0] != key_type.encode("ascii"):  # noqa: PLR2004 - name and key
        msg = f"the {key_type} key {_shown(encoded)} is not a valid base64 {key_type} public key"
        raise ValueError(msg)
    return HostKeyPin(sha256_fingerprint(blob), key_type, blob)


def _ssh_strings(blob: bytes) -> list[bytes]:
    """The length-prefixed strings a public key blob consists of; [] when it is not that."""
    parts, at = [], 0
    while at < len(blob):
        if len(blob) - at < _LENGTH.size:
            return []
        (length,) = _LENGTH.unpack_from(blob, at)
        at += _LENGTH.size
        if length > len(blob) - at:
            return []
        parts.append(blob[at : at + length])
        at += length
    return parts


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_CHARACTERS else text[: _SHOWN_CHARACTERS - 3] + "...")


def parse_host_key(text: str) -> HostKeyPin:
    """The pin that ``text`` describes.

    Raises:
        ValueError: with the problem, when ``text`` is neither form.
    """
    tokens = text.split()
    # "SHA256:...", or the ssh-keygen -l line: "256 SHA256:... comment (ED25519)"
    start = 1 if len(tokens) > 1 and tokens[0].isdigit() else 0
    if len(tokens) > start and tokens[start].startswith(PREFIX):
        return _fingerprint(tokens[start])
    # "ssh-ed25519 AAAA... [comment]", or with a host in front as ssh-keyscan prints it
    for index in (0, 1):
        if len(tokens) > index + 1 and tokens[index] in KEY_TYPES:
            return _key_line(tokens[index], tokens[index + 1])
    if tokens and tokens[0].upper().startswith("MD5:"):
        msg = "an MD5 fingerprint is too weak; use the SHA256 one (ssh-keygen -lf prints it)"
        raise ValueError(msg)
    msg = (
        f"{_shown(text)} is neither a SHA256 fingerprint (SHA256:...) nor a public key line "
        f"({', '.join(KEY_TYPES)} followed by the base64 key)"
    )
    raise ValueError(msg)


def read_host_key(raw: Any, declared: Declaration) -> HostKeyPin | None:  # noqa: ANN401
    """The pinned host key, or None when unset."""
    value = read_text(raw, declared)
    if value is None:
        return None
    try:
        return parse_host_key(value)
    except ValueError as exc:
        raise ConfigError(declared.path, str(exc)) from None
