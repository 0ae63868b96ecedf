"""The log of every (non-control) request the sandbox received."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class RequestLogEntry:
    """One received request and the status the sandbox answered with."""

    time: float
    """``time.monotonic()`` when the request line was read."""
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json_body: object
    form_body: dict[str, str] | None
    status: int
    reply_code: int | None
    server_time: float = 0.0
    """The server clock (epoch seconds, see ``Sandbox(clock=...)``) when the request was read."""

    def as_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


class RequestLog:
    """Thread-safe, append-only (until cleared) list of request entries."""

    def __init__(self) -> None:
        """Create an empty log."""
        self._entries: list[tuple[float, int, RequestLogEntry]] = []
        self._sequence = 0
        self._lock = threading.Lock()

    def append(self, entry: RequestLogEntry) -> None:
        """Record one request."""
        with self._lock:
            self._sequence += 1
            self._entries.append((entry.time, self._sequence, entry))

    def snapshot(self) -> list[RequestLogEntry]:
        """Return a copy of all entries in the order the requests arrived."""
        with self._lock:
            ordered = sorted(self._entries, key=lambda item: (item[0], item[1]))
        return [entry for _, _, entry in ordered]

    def to_path(self, path: str) -> list[RequestLogEntry]:
        """Return the entries of requests to ``path`` (e.g. the token endpoint), oldest first."""
        return [entry for entry in self.snapshot() if entry.path == path]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class IncomingRequest:
    """A parsed HTTP request as the API logic sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received: float
    server_time: float = 0.0

    def header(self, name: str) -> str | None:
        """Return a header value, matching the name case-insensitively."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json_body(self) -> object:
        """Return the body parsed as JSON, or ``None`` if it is empty or not JSON."""
        if not self.body or self.form_body() is not None:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def form_body(self) -> dict[str, str] | None:
        """Return the body as a form dict if it is ``application/x-www-form-urlencoded``."""
        content_type = (self.header("Content-Type") or "").lower()
        if "application/x-www-form-urlencoded" not in content_type:
            return None
        text = self.body.decode("utf-8", errors="replace")
        return dict(parse_qsl(text, keep_blank_values=True))

    def log_entry(self, status: int, reply_code: int | None) -> RequestLogEntry:
        """Return the log entry for this request answered with ``status``."""
        return RequestLogEntry(
            time=self.received,
            method=self.method,
            path=self.path,
            query=dict(self.query),
            headers=dict(self.headers),
            json_body=self.json_body(),
            form_body=self.form_body(),
            status=status,
            reply_code=reply_code,
            server_time=self.server_time,
        )
