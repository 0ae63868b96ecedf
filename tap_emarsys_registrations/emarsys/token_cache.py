"""The OAuth token cache and token-request ledger, shared by every run of one OS user.

Two JSON files in one private folder, guarded by one lock file:

- ``tokens.json``: access tokens keyed by a digest of (token URL, client_id,
  SHA-256 of the client secret), each with its wall-clock expiry. The client
  secret itself is never written.
- ``token-requests.json``: the times of recent token requests per (token URL,
  client_id), so that parallel and back-to-back runs stay within Emarsys'
  token-fetch limits together.

Callers hold :meth:`TokenCache.locked` around a read-check-fetch-write
sequence, so that runs started at the same moment fetch one token between them.
Files are written atomically (temporary file in the folder, then ``os.replace``)
with mode 0600. A cache that cannot be read or parsed is ignored with a warning
and rewritten; it never fails a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import filelock

from tap_emarsys_registrations.emarsys.token_ledger import HOUR
from tap_emarsys_registrations.errors import UserFacingError

if TYPE_CHECKING:
    from collections.abc import Iterator

LOGGER: Final = logging.getLogger(__name__)
TOKENS_FILE: Final = "tokens.json"
REQUESTS_FILE: Final = "token-requests.json"
LOCK_FILE: Final = "tokens.lock"
FORMAT_VERSION: Final = 1
# Longer than one token request plus the longest wait the ledger waits out.
LOCK_TIMEOUT_SECONDS: Final = 300.0


@dataclass(frozen=True, slots=True)
class CachedToken:
    """An access token and when it stops being valid (epoch seconds, wall clock)."""

    access_token: str
    expires_at: float
    lifetime: float

    def __repr__(self) -> str:
        return f"CachedToken(expires_at={self.expires_at}, lifetime={self.lifetime})"


@dataclass(frozen=True, slots=True)
class CacheKey:
    """Where one credential's token and request times are filed."""

    token: str
    """Digest of token URL, client_id and the client secret's digest."""
    ledger: str
    """Token URL and client_id: Emarsys counts token requests per client_id."""

    @classmethod
    def of(cls, token_url: str, client_id: str, client_secret: str) -> CacheKey:
        """The key of one OAuth credential; a changed secret or URL gives a new token key."""
        secret_digest = hashlib.sha256(client_secret.encode()).hexdigest()
        material = "\n".join((token_url, client_id, secret_digest))
        return cls(
            token=hashlib.sha256(material.encode()).hexdigest(),
            ledger=f"{client_id} {token_url}",
        )


class MemoryTokenCache:
    """The cache of one process only (``token_cache: false``); nothing is written."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tokens: dict[str, CachedToken] = {}
        self._requests: dict[str, list[float]] = {}

    @property
    def where(self) -> str:
        """Where the tokens are kept, for the log line that says a token was reused."""
        return "this run's memory"

    @contextlib.contextmanager
    def locked(self, key: CacheKey | None = None) -> Iterator[None]:  # noqa: ARG002 - one lock
        """Hold the cache for one read-check-fetch-write sequence (of ``key``'s credential)."""
        with self._lock:
            yield

    def peek(self, key: CacheKey) -> CachedToken | None:  # noqa: ARG002 - a shared store reads
        """A token read without taking the lock; local caches take the lock instead (None)."""
        return None

    def load(self, key: CacheKey) -> CachedToken | None:
        """The cached token of ``key``, valid or not."""
        return self._tokens.get(key.token)

    def store(self, key: CacheKey, token: CachedToken) -> None:
        """Remember ``token`` for ``key``."""
        self._tokens[key.token] = token

    def drop(self, key: CacheKey, access_token: str | None) -> None:
        """Forget the token of ``key`` if it is still ``access_token`` (or any, for None)."""
        cached = self._tokens.get(key.token)
        if cached is not None and access_token in {None, cached.access_token}:
            del self._tokens[key.token]

    def request_times(self, key: CacheKey) -> list[float]:
        """When token requests for ``key``'s client_id were sent (epoch seconds)."""
        return list(self._requests.get(key.ledger, []))

    def record_request(self, key: CacheKey, when: float) -> None:
        """Note a token request sent at ``when``; requests older than an hour are pruned."""
        times = [t for t in self._requests.get(key.ledger, []) if when - t < HOUR]
        self._requests[key.ledger] = [*times, when]


class FileTokenCache(MemoryTokenCache):
    """The cache in ``folder``, shared by every process that uses the same folder."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self._file_lock: filelock.BaseFileLock | None = None
        self._unusable = False  # the folder could not be made: this run keeps tokens in memory

    @property
    def where(self) -> str:
        """The cache folder."""
        return str(self.folder)

    @contextlib.contextmanager
    def locked(self, key: CacheKey | None = None) -> Iterator[None]:  # noqa: ARG002 - one lock
        """Hold the folder's lock file, and re-read both files from disk.

        Raises:
            UserFacingError: when another run holds the lock for too long.
        """
        with self._lock:
            lock = self._lock_file()
            if lock is None:  # the folder is unusable: this run keeps its tokens in memory
                yield
                return
            try:
                lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
            except filelock.Timeout:
                msg = (
                    f"Another run has held the token cache lock {lock.lock_file} for "
                    f"{LOCK_TIMEOUT_SECONDS:.0f}s; check for a stuck run, or set token_cache_dir "
                    "to a folder of this job's own"
                )
                raise UserFacingError(msg) from None
            try:
                self._tokens = self._read(TOKENS_FILE, _parse_tokens)
                self._requests = self._read(REQUESTS_FILE, _parse_requests)
                yield
            finally:
                lock.release()

    def store(self, key: CacheKey, token: CachedToken) -> None:
        """Remember ``token``, forget tokens that expired before it was issued, write the file."""
        issued = token.expires_at - token.lifetime
        self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > issued}
        super().store(key, token)
        self._write_tokens()

    def drop(self, key: CacheKey, access_token: str | None) -> None:
        """Forget the token if it is still ``access_token``, and write the tokens file."""
        before = len(self._tokens)
        super().drop(key, access_token)
        if len(self._tokens) != before:
            self._write_tokens()

    def record_request(self, key: CacheKey, when: float) -> None:
        """Note a token request and write the ledger file."""
        super().record_request(key, when)
        horizon = when - HOUR
        kept = {k: [t for t in v if t > horizon] for k, v in self._requests.items()}
        self._requests = {k: v for k, v in kept.items() if v}
        self._write(REQUESTS_FILE, {"version": FORMAT_VERSION, "requests": self._requests})

    def _lock_file(self) -> filelock.BaseFileLock | None:
        if self._file_lock is None and not self._unusable:
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                self._unusable = True  # warned once; no file is read or written from now on
                LOGGER.warning(
                    "Token cache folder %s is unusable (%s); tokens are not shared with "
                    "other runs. Set token_cache_dir to a writable folder",
                    self.folder,
                    exc.strerror or type(exc).__name__,
                )
                return None
            if self.folder.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                LOGGER.warning(
                    "Token cache folder %s is writable by other users; set token_cache_dir "
                    "to a folder only this user can write to",
                    self.folder,
                )
            self._file_lock = filelock.FileLock(self.folder / LOCK_FILE, mode=0o600)
        return self._file_lock

    def _read(self, name: str, parse: Any) -> Any:  # noqa: ANN401 - what ``parse`` returns
        path = self.folder / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return parse({"version": FORMAT_VERSION})
        except (OSError, UnicodeDecodeError) as exc:
            LOGGER.warning("Ignoring the unreadable token cache file %s (%s)", path, exc)
            return parse({"version": FORMAT_VERSION})
        try:
            return parse(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError):
            LOGGER.warning("Ignoring the corrupt token cache file %s; it will be rewritten", path)
            return parse({"version": FORMAT_VERSION})

    def _write_tokens(self) -> None:
        entries = {
            key: {
                "access_token": t.access_token,
                "expires_at": t.expires_at,
                "lifetime": t.lifetime,
            }
            for key, t in self._tokens.items()
        }
        self._write(TOKENS_FILE, {"version": FORMAT_VERSION, "tokens": entries})

    def _write(self, name: str, content: dict[str, Any]) -> None:
        if self._unusable:
            return
        try:
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".tmp")
        except OSError as exc:
            LOGGER.warning("Cannot write the token cache in %s (%s)", self.folder, exc)
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
                json.dump(content, handle)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(self.folder / name)
        except OSError as exc:
            LOGGER.warning("Cannot write the token cache in %s (%s)", self.folder, exc)
            Path(temporary).unlink(missing_ok=True)


def _parse_tokens(content: Any) -> dict[str, CachedToken]:  # noqa: ANN401 - parsed JSON
    if content.get("version") != FORMAT_VERSION:
        raise ValueError
    return {
        str(key): CachedToken(
            access_token=str(entry["access_token"]),
            expires_at=float(entry["expires_at"]),
            lifetime=float(entry["lifetime"]),
        )
        for key, entry in content.get("tokens", {}).items()
    }


def _parse_requests(content: Any) -> dict[str, list[float]]:  # noqa: ANN401 - parsed JSON
    if content.get("version") != FORMAT_VERSION:
        raise ValueError
    return {
        str(key): [float(t) for t in times] for key, times in content.get("requests", {}).items()
    }
