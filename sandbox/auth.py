"""Authentication: OAuth2 client-credentials tokens (v3) and WSSE UsernameToken (v2)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sandbox import vienna

if TYPE_CHECKING:
    from collections.abc import Callable

WSSE_WINDOW_SECONDS = 300.0
UNAUTHORIZED = "Unauthorized"
TIME_FRAME_INVALID = "Unauthorized Time frame is invalid"
NONCE_USED = "Unauthorized Nonce already used"
_ATTRIBUTE = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def wsse_digest(nonce: str, created: str, secret: str) -> str:
    """Return the Emarsys PasswordDigest: base64 of the *hex* SHA-1 of nonce+created+secret."""
    hex_digest = hashlib.sha1(
        (nonce + created + secret).encode(),
        usedforsecurity=False,
    ).hexdigest()
    return base64.b64encode(hex_digest.encode()).decode()


def wsse_header(username: str, secret: str, nonce: str, created: str) -> str:
    """Build an X-WSSE header value (handy for tests and manual probing)."""
    digest = wsse_digest(nonce, created, secret)
    return (
        f'UsernameToken Username="{username}", PasswordDigest="{digest}", '
        f'Nonce="{nonce}", Created="{created}"'
    )


def parse_wsse(value: str) -> dict[str, str] | None:
    """Parse a ``UsernameToken k="v", ...`` header; attribute names are lower-cased."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "usernametoken":
        return None
    attributes = {key.lower(): val for key, val in _ATTRIBUTE.findall(rest)}
    required = {"username", "passworddigest", "nonce", "created"}
    return attributes if required <= attributes.keys() else None


def parse_created(text: str) -> datetime | None:
    """Parse an ISO 8601 ``Created`` value; without a zone it is Vienna local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return vienna.from_local(moment) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_basic(value: str | None) -> tuple[str, str] | None:
    """Decode an HTTP Basic ``Authorization`` header into (user, password)."""
    if not value:
        return None
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class TokenStore:
    """Issued OAuth2 access tokens and their expiry (server clock)."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float]) -> None:
        """Create an empty store issuing tokens valid for ``ttl_seconds``."""
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        """Issue and remember a new random token."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.ttl_seconds
        return token

    def revoke_all(self) -> int:
        """Make every issued token invalid (as a revoked credential would); return how many."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count

    def valid(self, authorization: str | None) -> bool:
        """Return whether an ``Authorization: Bearer`` header carries a live token."""
        if not authorization:
            return False
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        with self._lock:
            expiry = self._tokens.get(token.strip())
        return expiry is not None and self._clock() < expiry


class WsseVerifier:
    """Checks X-WSSE headers: credentials, 5-minute time frame, single-use nonces."""

    def __init__(self, username: str, secret: str, clock: Callable[[], float]) -> None:
        """Verify against one API user; ``clock`` returns the server's epoch time."""
        self.username = username
        self.secret = secret
        self._clock = clock
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, header: str | None) -> str | None:
        """Return ``None`` when the header is acceptable, else the 401 replyText."""
        attributes = parse_wsse(header) if header else None
        if attributes is None:
            return UNAUTHORIZED
        created = parse_created(attributes["created"])
        now = self._clock()
        if created is None or abs(created.timestamp() - now) > WSSE_WINDOW_SECONDS:
            return TIME_FRAME_INVALID
        expected = wsse_digest(attributes["nonce"], attributes["created"], self.secret)
        if attributes["username"] != self.username or not hmac.compare_digest(
            attributes["passworddigest"].encode(),
            expected.encode(),
        ):
            return UNAUTHORIZED
        with self._lock:
            if attributes["nonce"] in self._nonces:
                return NONCE_USED
            if len(self._nonces) > 4096:
                horizon = now - 2 * WSSE_WINDOW_SECONDS
                self._nonces = {n: t for n, t in self._nonces.items() if t > horizon}
            self._nonces[attributes["nonce"]] = now
        return None
