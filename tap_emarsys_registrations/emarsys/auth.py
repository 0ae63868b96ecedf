"""Request authenticators: OAuth 2.0 client credentials (API v3) and WSSE (API v2).

Both sign each request when it is sent, so a retried request carries a fresh
WSSE nonce and timestamp, or a refreshed token.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
from typing import TYPE_CHECKING

from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_emarsys_registrations.clock import SYSTEM_CLOCK, Clock
from tap_emarsys_registrations.emarsys.token_cache import CachedToken, CacheKey, MemoryTokenCache
from tap_emarsys_registrations.emarsys.token_endpoint import (
    TokenRateLimitedError,
    request_token,
    retry_after,
)
from tap_emarsys_registrations.emarsys.token_ledger import (
    DOCUMENTED_LIMIT,
    DOCUMENTED_LIMITS,
    SHORT_WAIT_SECONDS,
    FetchLimits,
    NextFetch,
    next_fetch,
    rate_limited,
    recent,
    refusal,
)
from tap_emarsys_registrations.errors import (
    TokenRetriesExhaustedError,
    TokenUnavailableError,
    TransientAPIError,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    import requests

__all__ = ["OAuthClientCredentials", "TokenLimitError", "WsseAuthenticator", "retry_after"]

LOGGER = logging.getLogger(__name__)
# Refresh a token this long (at most a tenth of its lifetime) before Emarsys says it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 60.0
# A run gives up after this many failed token requests (5xx, timeouts), however it retries.
MAX_FAILED_TOKEN_REQUESTS = 3


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

    The token is shared by all threads, and through ``cache`` by every run of
    the OS user. It is refreshed shortly before it expires, and at once after
    :meth:`invalidate` (a 401 from the API). Each token request is first
    checked against Emarsys' token-fetch limits (see ``token_ledger.py``).
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
        cache: MemoryTokenCache | None = None,
        limits: FetchLimits = DOCUMENTED_LIMITS,
    ) -> None:
        super().__init__()
        self._token_url = token_url
        self._credentials = (client_id, client_secret)
        self._key = CacheKey.of(token_url, client_id, client_secret)
        self._session = session
        self._timeout = timeout
        self._clock = clock
        self._cache = cache if cache is not None else MemoryTokenCache()
        self._limits = limits
        self._lock = threading.Lock()
        self._token: CachedToken | None = None
        self._failed_requests = 0
        self._gave_up: str | None = None

    def close(self) -> None:
        """Close the token endpoint's pooled connection; a later token request reopens it."""
        self._session.close()

    def invalidate(self, token_in_use: str | None = None) -> None:
        """Forget the token (if it is still ``token_in_use``) after a 401, here and in the cache."""
        with self._lock:
            if self._token is not None and token_in_use in {None, self._token.access_token}:
                self._token = None
            with self._cache.locked(self._key):
                self._cache.drop(self._key, token_in_use)

    def token(self) -> str:
        """A bearer token valid for at least the refresh margin."""
        with self._lock:
            if self._token is None or not self._fresh(self._token):
                self._token = self._acquire()
            return self._token.access_token

    def _fresh(self, token: CachedToken) -> bool:
        margin = min(TOKEN_REFRESH_MARGIN_SECONDS, token.lifetime / 10)
        return self._clock.time() < token.expires_at - margin

    def _reused(self, token: CachedToken) -> CachedToken:
        minutes = int((token.expires_at - self._clock.time()) // 60)
        LOGGER.info(
            "OAuth token reused from %s (valid %d more minutes)", self._cache.where, minutes
        )
        return token

    def _acquire(self) -> CachedToken:
        """A fresh token from the cache, or fetched within Emarsys' token-fetch limits.

        Read, check, fetch and write happen under the cache's lock; every wait (for
        the ledger, or a 429's Retry-After) happens with the lock released, and the
        cache is checked again after it: another run may have fetched meanwhile.
        """
        peeked = self._cache.peek(self._key)
        if peeked is not None and self._fresh(peeked):
            return self._reused(peeked)
        retried = waited = False
        while True:
            limited: TokenRateLimitedError | None = None
            with self._cache.locked(self._key):
                cached = self._cache.load(self._key)
                if cached is not None and self._fresh(cached):
                    return self._reused(cached)
                times = self._cache.request_times(self._key)
                plan = next_fetch(times, self._clock.time(), self._limits)
                # One wait per token: after it, a clock that did not move on (a test's
                # sleep cut short) may not hold the run forever.
                if plan.wait <= 0 or (waited and plan.is_short):
                    try:
                        token = self._request()
                    except TokenRateLimitedError as exc:
                        limited = exc
                    else:
                        self._cache.store(self._key, token)
                        sent = len(recent(self._cache.request_times(self._key), self._clock.time()))
                        LOGGER.info(
                            "OAuth token fetched (%d of %d token requests this hour for this "
                            "client_id)",
                            sent,
                            self._limits.per_hour,
                        )
                        return token
            if limited is None:
                self._wait_for_ledger(plan)
                waited = True
                continue
            wait = limited.retry_after
            if retried or wait is None or wait > SHORT_WAIT_SECONDS:
                raise TokenLimitError(rate_limited(wait))
            retried = True
            LOGGER.info(
                "The OAuth token endpoint answered HTTP 429 (too many token requests); "
                "retrying once after its Retry-After of %.0fs",
                wait,
            )
            self._clock.sleep(wait)

    def _wait_for_ledger(self, plan: NextFetch) -> None:
        if not plan.is_short:
            raise TokenLimitError(refusal(plan))
        LOGGER.info(
            "Waiting %.0fs before the next OAuth token request: %d were sent for this "
            "client_id in the last %s, and Emarsys allows %s",
            plan.wait,
            plan.sent,
            plan.window,
            DOCUMENTED_LIMIT,
        )
        self._clock.sleep(plan.wait)

    def _request(self) -> CachedToken:
        """Send one token request, noted in the ledger before it leaves."""
        if self._gave_up is not None:  # no more token requests once the run gave up
            raise TokenRetriesExhaustedError(self._gave_up)
        self._cache.record_request(self._key, self._clock.time())
        try:
            access_token, lifetime = request_token(
                self._session, self._token_url, self._credentials, self._timeout
            )
        except TransientAPIError as exc:
            self._failed_requests += 1
            if self._failed_requests >= MAX_FAILED_TOKEN_REQUESTS:
                self._gave_up = (
                    f"Emarsys OAuth token request failed {self._failed_requests} times, last: "
                    f"{exc}. Check that token_url is reachable from this machine, and retry later"
                )
                raise TokenRetriesExhaustedError(self._gave_up) from None
            raise
        return CachedToken(access_token, self._clock.time() + lifetime, lifetime)

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


class TokenLimitError(TokenUnavailableError):
    """A token request would break, or broke, Emarsys' token-fetch limits."""
