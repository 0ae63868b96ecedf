"""Sealing OAuth tokens for the shared store: AES-GCM with a key derived from the client secret.

The key is derived with HKDF-SHA256 from the client secret, which is never
stored, so the store's rows (and a ``pg_dump`` of them) hold no usable token.
Each sealed token is bound to its row key, expiry and lifetime (as associated
data), so a row edited or copied to another key does not open.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT: Final = b"tap-emarsys-registrations token store"
INFO: Final = b"access token sealing key, format 1"
NONCE_BYTES: Final = 12


def _context(row_key: str, expires_at: float, lifetime: float) -> bytes:
    return f"{row_key}\n{expires_at!r}\n{lifetime!r}".encode()


class TokenSeal:
    """Seals and opens access tokens with one client secret's key."""

    __slots__ = ("_aead",)

    def __init__(self, client_secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO).derive(
            client_secret.encode()
        )
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "TokenSeal()"

    def seal(self, access_token: str, row_key: str, expires_at: float, lifetime: float) -> bytes:
        """A random nonce followed by the ciphertext and tag of ``access_token``."""
        nonce = os.urandom(NONCE_BYTES)
        context = _context(row_key, expires_at, lifetime)
        return nonce + self._aead.encrypt(nonce, access_token.encode(), context)

    def open(self, sealed: bytes, row_key: str, expires_at: float, lifetime: float) -> str | None:
        """The access token, or None when the row was sealed with another key or changed."""
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, body, _context(row_key, expires_at, lifetime))
        except (InvalidTag, ValueError):
            return None
        return plain.decode()
