"""Request authenticators: OAuth 2.0 client credentials (API v3) and WSSE (API v2).

Both sign each request when it is sent, so a retried request carries a fresh
WSSE nonce and timestamp, or a refreshed token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from typing import TYPE_CHECKING

import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_emarsys_registrations.clock import SYSTEM_CLOCK, Clock
from tap_emarsys_registrations.errors import EmarsysAPIError, TransientAPIError

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

# Refresh a token this long before Emarsys says it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 60.0
HTTP_UNAUTHORIZED = 401
HTTP_BAD_REQUEST = 400
HTTP_SERVER_ERROR = 500


def wsse_digest(nonce: str, created: str, secret: str) -> str:
    """Base64 of the lowercase hex SHA-1 of ``nonce + created + secret``."""
    hex_digest = hashlib.sha1((nonce + created + secret).encode()).hexdigest()  # noqa: S324
    return base64.b64encode(hex_digest.encode()).decode()


def wsse_header(username: str, secret: str, nonce: str, created: str) -> str:
    """The ``X-WSSE`` header value for one request."""
    digest = wsse_digest(nonce, created, secret)
    return (
        f'UsernameToken Username="{username}", PasswordDigest="{digest}", '
        f'Nonce="{nonce}", Created="{created}"'
    )


def _new_nonce() -> str:
    return secrets.token_hex(16)


class WsseAuthenticator(APIAuthenticatorBase):
    """Signs every request with a fresh WSSE UsernameToken."""

    def __init__(
        self,
        *,
        username: str,
        secret: str,
        clock: Clock = SYSTEM_CLOCK,
        nonce: Callable[[], str] = _new_nonce,
    ) -> None:
        super().__init__()
        self._username = username
        self._secret = secret
        self._clock = clock
        self._nonce = nonce

    def created(self) -> str:
        """The current time as WSSE ``Created``: UTC, whole seconds, ``+00:00``."""
        now: dt.datetime = self._clock.now()
        return now.replace(microsecond=0).isoformat()

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-WSSE"] = wsse_header(
            self._username,
            self._secret,
            self._nonce(),
            self.created(),
        )
        return request


class OAuthClientCredentials(APIAuthenticatorBase):
    """Fetches, caches and refreshes a client-credentials bearer token.

    The token is shared by all threads; it is refreshed shortly before it
    expires, and at once after :meth:`invalidate` (a 401 from the API).
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        session: requests.Session,
        timeout: float = 60.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__()
        self._token_url = token_url
        self._credentials = (client_id, client_secret)
        self._session = session
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.tokens_fetched = 0

    def invalidate(self, token_in_use: str | None = None) -> None:
        """Forget the cached token (if it is still ``token_in_use``) after a 401."""
        with self._lock:
            if token_in_use is None or token_in_use == self._token:
                self._token = None

    def token(self) -> str:
        """A bearer token valid for at least the refresh margin."""
        with self._lock:
            if self._token is None or self._clock.monotonic() >= self._expires_at:
                self._token, lifetime = self._fetch()
                margin = min(TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 10)
                self._expires_at = self._clock.monotonic() + lifetime - margin
                self.tokens_fetched += 1
            return self._token

    def _fetch(self) -> tuple[str, float]:
        try:
            response = self._session.post(
                self._token_url,
                data={"grant_type": "client_credentials"},
                auth=self._credentials,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            msg = f"OAuth token request failed: {type(exc).__name__}"
            raise TransientAPIError(msg) from None
        with response:
            if response.status_code >= HTTP_SERVER_ERROR:
                msg = f"OAuth token endpoint answered HTTP {response.status_code}"
                raise TransientAPIError(msg)
            if response.status_code in {HTTP_UNAUTHORIZED, HTTP_BAD_REQUEST}:
                raise EmarsysAPIError(
                    status=response.status_code,
                    reply_code=None,
                    reply_text="the token endpoint rejected the client credentials",
                    endpoint="OAuth token request",
                    hint="Check client_id, client_secret and token_url",
                )
            try:
                body = response.json()
                token = str(body["access_token"])
                lifetime = float(body.get("expires_in") or 3600)
            except (ValueError, KeyError, TypeError):
                raise EmarsysAPIError(
                    status=response.status_code,
                    reply_code=None,
                    reply_text="the token endpoint did not return an access_token",
                    endpoint="OAuth token request",
                    hint="Check token_url: it must point at the Emarsys token endpoint",
                ) from None
        return token, lifetime

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request
