"""The OAuth token store shared by every machine: PostgreSQL (setting ``token_cache_url``).

It has the file cache's interface (``token_cache.MemoryTokenCache``):

- :meth:`PostgresTokenStore.peek` reads a stored token without any lock, so
  runs that find a valid token never queue behind each other.
- :meth:`PostgresTokenStore.locked` is one transaction under
  ``pg_advisory_xact_lock``, keyed by token URL and client_id: read, check,
  fetch and write happen inside it. A transaction lock ends with its
  transaction or connection, so a crashed run cannot leave it held; callers
  never wait for the ledger inside it (see ``auth.OAuthClientCredentials``).
- Tokens are sealed with a key derived from the client secret
  (``token_seal``); the ledger of token requests is shared in plain times.

If the store cannot be used (refused, a few seconds' timeout, authentication,
tables it cannot read), the run warns once, naming ``token_cache_url``, and
uses ``fallback`` (the file cache) from then on. A store outage never fails a
run by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import TYPE_CHECKING, Final

import psycopg

from tap_emarsys_registrations.emarsys.token_cache import CachedToken, MemoryTokenCache
from tap_emarsys_registrations.emarsys.token_ledger import HOUR
from tap_emarsys_registrations.emarsys.token_seal import TokenSeal
from tap_emarsys_registrations.emarsys.token_store_schema import (
    FORMAT_VERSION,
    REQUESTS,
    TOKENS,
    StoreFormatError,
    prepare,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_emarsys_registrations.emarsys.token_cache import CacheKey
    from tap_emarsys_registrations.settings.store_url import StoreURL

LOGGER: Final = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS: Final = 5
# Longer than one token request (at most 60 s) by the run that holds the lock.
LOCK_TIMEOUT: Final = "90s"
STATEMENT_TIMEOUT: Final = "30s"

Connection = psycopg.Connection[tuple[object, ...]]


def lock_id(key: CacheKey | None) -> int:
    """The advisory lock of one token URL and client_id, a signed 64-bit number."""
    material = "tap-emarsys-registrations token\n" + (key.ledger if key else "")
    return int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big", signed=True)


class PostgresTokenStore(MemoryTokenCache):
    """Tokens and token-request times in PostgreSQL, shared by every run that uses ``url``."""

    def __init__(self, url: StoreURL, client_secret: str, fallback: MemoryTokenCache) -> None:
        super().__init__()
        self._url = url
        self._seal = TokenSeal(client_secret)
        self._fallback = fallback
        self._down = False
        self._prepared = False
        self._conn: Connection | None = None  # the transaction of locked(), while it runs

    def __repr__(self) -> str:
        return f"PostgresTokenStore({self._url.masked})"

    @property
    def where(self) -> str:
        """The store's URL, password masked; the fallback's folder once it is in use."""
        return self._fallback.where if self._down else self._url.masked

    def peek(self, key: CacheKey) -> CachedToken | None:
        """The stored token of ``key``, read without a lock (None if absent or unusable)."""
        if self._down:
            return self._fallback.peek(key)
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            try:
                with conn:
                    conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
                    return self._select_token(conn, key)
            except psycopg.Error as exc:
                self._fail(exc)
                return None

    @contextlib.contextmanager
    def locked(self, key: CacheKey | None = None) -> Iterator[None]:
        """One transaction under the advisory lock of ``key``'s token URL and client_id.

        It commits even when the body fails: a token request noted in the ledger was sent.
        """
        with self._lock:
            conn = None if self._down else self._begin(key)
            if conn is None:
                with self._fallback.locked(key):
                    yield
                return
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None
                try:
                    with conn:  # commits, then closes
                        pass
                except psycopg.Error as exc:
                    self._fail(exc)

    def load(self, key: CacheKey) -> CachedToken | None:
        """The stored token of ``key``, valid or not (inside :meth:`locked`)."""
        conn = self._conn
        if conn is None:
            return self._fallback.load(key)
        try:
            return self._select_token(conn, key)
        except psycopg.Error as exc:
            self._fail(exc)
            return self._fallback.load(key)

    def store(self, key: CacheKey, token: CachedToken) -> None:
        """Seal and save ``token``; drop tokens that expired before it was issued."""
        conn = self._conn
        if conn is None:
            self._fallback.store(key, token)
            return
        sealed = self._seal.seal(token.access_token, key.token, token.expires_at, token.lifetime)
        try:
            conn.execute(
                f"INSERT INTO {TOKENS} (token_key, sealed_token, expires_at, lifetime, "  # noqa: S608
                "format_version) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (token_key) DO UPDATE "
                "SET sealed_token = EXCLUDED.sealed_token, expires_at = EXCLUDED.expires_at, "
                "lifetime = EXCLUDED.lifetime, format_version = EXCLUDED.format_version",
                (key.token, sealed, token.expires_at, token.lifetime, FORMAT_VERSION),
            )
            issued = token.expires_at - token.lifetime
            conn.execute(f"DELETE FROM {TOKENS} WHERE expires_at <= %s", (issued,))  # noqa: S608
        except psycopg.Error as exc:
            self._fail(exc)
            self._fallback.store(key, token)

    def drop(self, key: CacheKey, access_token: str | None) -> None:
        """Forget the token of ``key`` if it is still ``access_token`` (or any, for None)."""
        conn = self._conn
        if conn is None:
            self._fallback.drop(key, access_token)
            return
        try:
            stored = self._select_token(conn, key)
            if access_token is None or (stored is not None and stored.access_token == access_token):
                conn.execute(f"DELETE FROM {TOKENS} WHERE token_key = %s", (key.token,))  # noqa: S608
        except psycopg.Error as exc:
            self._fail(exc)
            self._fallback.drop(key, access_token)

    def request_times(self, key: CacheKey) -> list[float]:
        """When token requests for ``key``'s client_id were sent, by any machine."""
        conn = self._conn
        if conn is None:
            return self._fallback.request_times(key)
        try:
            rows = conn.execute(
                f"SELECT requested_at FROM {REQUESTS} WHERE ledger_key = %s",  # noqa: S608
                (key.ledger,),
            ).fetchall()
        except psycopg.Error as exc:
            self._fail(exc)
            return self._fallback.request_times(key)
        return [float(row[0]) for row in rows]  # type: ignore[arg-type]

    def record_request(self, key: CacheKey, when: float) -> None:
        """Note a token request sent at ``when``; times older than an hour are pruned."""
        conn = self._conn
        if conn is None:
            self._fallback.record_request(key, when)
            return
        try:
            conn.execute(
                f"INSERT INTO {REQUESTS} (ledger_key, requested_at) VALUES (%s, %s)",  # noqa: S608
                (key.ledger, when),
            )
            conn.execute(
                f"DELETE FROM {REQUESTS} WHERE requested_at < %s",  # noqa: S608
                (when - HOUR,),
            )
        except psycopg.Error as exc:
            self._fail(exc)
            self._fallback.record_request(key, when)

    def _connect(self) -> Connection | None:
        try:
            conn: Connection = psycopg.connect(
                self._url.conninfo,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="tap-emarsys-registrations",
            )
        except psycopg.Error as exc:
            self._fail(exc)
            return None
        if not self._prepared:
            try:
                with conn.transaction():
                    prepare(conn)
            except (psycopg.Error, StoreFormatError) as exc:
                conn.close()
                self._fail(exc)
                return None
            self._prepared = True
        return conn

    def _begin(self, key: CacheKey | None) -> Connection | None:
        conn = self._connect()
        if conn is None:
            return None
        try:
            conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            conn.execute(f"SET LOCAL statement_timeout = '{LOCK_TIMEOUT}'")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id(key),))
        except psycopg.Error as exc:
            conn.close()
            self._fail(exc)
            return None
        return conn

    def _select_token(self, conn: Connection, key: CacheKey) -> CachedToken | None:
        row = conn.execute(
            f"SELECT sealed_token, expires_at, lifetime FROM {TOKENS} "  # noqa: S608
            "WHERE token_key = %s AND format_version = %s",
            (key.token, FORMAT_VERSION),
        ).fetchone()
        if row is None:
            return None
        sealed, expires_at, lifetime = bytes(row[0]), float(row[1]), float(row[2])  # type: ignore[call-overload, arg-type]
        access_token = self._seal.open(sealed, key.token, expires_at, lifetime)
        if access_token is None:  # sealed with another secret, or edited
            return None
        return CachedToken(access_token, expires_at, lifetime)

    def _fail(self, exc: BaseException) -> None:
        if self._down:
            return
        self._down = True
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        LOGGER.warning(
            "The token store token_cache_url (%s) cannot be used (%s); this run keeps its "
            "OAuth token in the token cache folder %s instead",
            self._url.masked,
            self._url.scrub(first_line),
            self._fallback.where,
        )
