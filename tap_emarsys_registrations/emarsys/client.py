"""HTTP access to the Emarsys API: signing, the reply envelope, retries and rate limits.

Every response is judged on the (HTTP status, replyCode) pair. Transient
failures (5xx, 423, 429, replyCode errors on HTTP 200, dropped connections)
are retried with exponential backoff; 429 waits for ``X-RateLimit-Reset``.
Export states that the caller handles (4001, 4005, 4003) surface as their own
exceptions. Everything else is fatal, with the Emarsys message and a hint.
Error messages never include request headers or bodies, so no secret leaks.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import backoff
import requests

from tap_emarsys_registrations.emarsys.auth import OAuthClientCredentials
from tap_emarsys_registrations.emarsys.ratelimit import RateGate
from tap_emarsys_registrations.emarsys.replies import endpoint_name, envelope, hint
from tap_emarsys_registrations.emarsys.unauthorized import unauthorized_error
from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportBusyError,
    ExportExpiredError,
    RetriesExhaustedError,
    TransientAPIError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.authenticators import APIAuthenticatorBase

    from tap_emarsys_registrations.clock import Clock

LOGGER: Final = logging.getLogger(__name__)
MAX_ATTEMPTS: Final = 8
MAX_RATE_LIMITED_ATTEMPTS: Final = 30
BACKOFF_CAP_SECONDS: Final = 30.0
_RETRYABLE_STATUSES: Final = frozenset({423, 429, 500, 502, 503, 504})
_TRANSPORT_ERRORS: Final = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class ExportNotReadyError(Exception):
    """``/export/{id}/data`` answered 404/4005: the export still runs."""


@dataclass
class RequestStats:
    """Counters an operator sees in the run summary."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, endpoint: str) -> None:
        """Count one request to ``endpoint`` (thread-safe)."""
        with self.lock:
            self.requests += 1
            self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1

    def add(self, *, retries: int = 0, rate_limited: int = 0) -> None:
        """Add retries or rate-limit replies (thread-safe)."""
        with self.lock:
            self.retries += retries
            self.rate_limited += rate_limited


class EmarsysClient:
    """Sends signed requests to one API version and interprets the replies."""

    def __init__(
        self,
        *,
        api_base: str,
        authenticator: APIAuthenticatorBase,
        session_factory: Callable[[], requests.Session],
        clock: Clock,
        gate: RateGate | None = None,
        timeout: float = 300.0,
        backoff_base: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._auth = authenticator
        self._session_factory = session_factory
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._clock = clock
        self.gate = gate or RateGate(clock)
        self._timeout = timeout
        self._backoff_base = backoff_base
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.stats = RequestStats()

    def _session(self) -> requests.Session:
        """This thread's session: exports are polled from several threads at once."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's session and its pooled connections.

        Worker threads end with their sessions still open; without this their
        sockets stay open until the garbage collector finds them. A request
        after ``close`` opens a new session.
        """
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for session in sessions:
            session.close()
        close_auth = getattr(self._auth, "close", None)
        if callable(close_auth):
            close_auth()

    def get(self, path: str) -> Any:  # noqa: ANN401 - the envelope's data is free-form JSON
        """GET ``path`` and return the reply's ``data``."""
        with self.send("GET", path) as response:
            return envelope(response)[2]

    def post(self, path: str, body: dict[str, Any]) -> Any:  # noqa: ANN401
        """POST ``body`` as JSON to ``path`` and return the reply's ``data``."""
        with self.send("POST", path, json=body) as response:
            return envelope(response)[2]

    def send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        stream: bool = False,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> requests.Response:
        """Send a request with retries and return the successful response.

        With ``stream=True`` the body is left unread; the caller closes it.
        ``max_attempts`` bounds the tries on transient failures (a quick check
        gives up sooner than a sync); rate-limit waits are counted separately.
        """
        endpoint = endpoint_name(path)
        url = f"{self._api_base}/{path.lstrip('/')}"
        waits = backoff.expo(base=2, factor=self._backoff_base, max_value=BACKOFF_CAP_SECONDS)
        next(waits)  # the generator's first value is a priming zero
        attempts = rate_limited = 0
        refreshed_token = False
        while True:
            attempts += 1
            try:
                return self._attempt(method, url, endpoint, json=json, stream=stream)
            except _TokenRejectedError as rejected:
                if refreshed_token or not isinstance(self._auth, OAuthClientCredentials):
                    raise rejected.error from None
                refreshed_token = True
                self._auth.invalidate(rejected.token)
                attempts -= 1
                LOGGER.info("Emarsys rejected the access token; fetching a new one")
            except TransientAPIError as exc:
                if exc.wait_until is not None:
                    rate_limited += 1
                    attempts -= 1
                    if rate_limited >= MAX_RATE_LIMITED_ATTEMPTS:
                        raise RetriesExhaustedError(
                            f"Emarsys {endpoint}: still rate limited after {rate_limited} "
                            "waits; lower max_concurrent_exports or ask Emarsys for a "
                            "higher limit",
                        ) from None
                    LOGGER.info("Rate limited on %s; waiting for the reset", endpoint)
                    continue
                if attempts >= max_attempts:
                    raise RetriesExhaustedError(
                        f"Emarsys {endpoint} kept failing after {attempts} attempts: {exc}",
                    ) from None
                delay = next(waits) * (0.5 + self._rng.random() / 2)
                self.stats.add(retries=1)
                LOGGER.warning(
                    "Emarsys %s: %s; retry %d of %d in %.1fs",
                    endpoint,
                    exc,
                    attempts,
                    max_attempts - 1,
                    delay,
                )
                self._clock.sleep(delay)

    def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        json: dict[str, Any] | None,
        stream: bool,
    ) -> requests.Response:
        self.gate.wait()
        request = requests.Request(method, url, json=json, headers={"Accept": "*/*"})
        session = self._session()
        prepared = session.prepare_request(request)
        self._auth(prepared)  # signs this attempt: fresh nonce, or a valid token
        bearer = prepared.headers.get("Authorization")
        token = bearer.removeprefix("Bearer ") if bearer else None
        self.stats.count(endpoint)
        try:
            response = session.send(prepared, timeout=self._timeout, stream=stream)
        except _TRANSPORT_ERRORS as exc:
            msg = f"connection failed ({type(exc).__name__})"
            raise TransientAPIError(msg) from None
        self.gate.observe(response.headers)
        content_type = response.headers.get("Content-Type", "")
        if response.status_code == 200 and content_type.startswith("text/csv"):  # noqa: PLR2004
            return response
        try:
            self._check(response, endpoint, token)
        except BaseException:
            response.close()
            raise
        return response

    def _check(self, response: requests.Response, endpoint: str, token: str | None) -> None:
        status = response.status_code
        if status == 429:  # noqa: PLR2004
            self.stats.add(rate_limited=1)
            until = self.gate.throttled(response.headers)
            msg = "HTTP 429 too many requests"
            raise TransientAPIError(msg, wait_until=until)
        reply_code, text, _ = envelope(response)
        if status == 200 and reply_code == 0:  # noqa: PLR2004
            return
        if status == 200 or status in _RETRYABLE_STATUSES:  # noqa: PLR2004
            code = f", replyCode {reply_code}" if reply_code is not None else ""
            msg = f"HTTP {status}{code} {text}".strip()
            raise TransientAPIError(msg)
        if reply_code == 4001:  # noqa: PLR2004
            raise ExportBusyError(text)
        if reply_code == 4005:  # noqa: PLR2004
            raise ExportNotReadyError(text)
        if status == 410 or reply_code == 4003:  # noqa: PLR2004
            raise ExportExpiredError(text or "Exported data is not available.")
        if status == 401:  # noqa: PLR2004
            error = unauthorized_error(
                oauth=isinstance(self._auth, OAuthClientCredentials),
                now=self._clock.now(),
                endpoint=endpoint,
                reply_code=reply_code,
                text=text,
                server_date=response.headers.get("Date"),
            )
            if token is not None:
                raise _TokenRejectedError(error, token)
            raise error
        raise EmarsysAPIError(
            status=status,
            reply_code=reply_code,
            reply_text=text,
            endpoint=endpoint,
            hint=hint(status, reply_code, text, endpoint),
        )


class _TokenRejectedError(Exception):
    """A 401 on a bearer token: refresh the token once, then give up."""

    def __init__(self, error: EmarsysAPIError, token: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.token = token
