"""Reply objects handed from the API logic to the HTTP layer, and the JSON envelope."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.csvrender import CsvBody, FileBody

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv;charset=UTF-8"


@dataclass
class Reply:
    """An HTTP reply: a small fixed body, or a streamed CSV body."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    reply_code: int | None = None
    csv: CsvBody | FileBody | None = None
    """Streamed body; when set, ``body`` is ignored and the configured framing applies."""
    csv_length: int | None = None
    """Pre-computed byte length of ``csv`` (content-length framing)."""
    drop_after: int | None = None
    """Abort the connection after this many body bytes (fault injection)."""


class ApiError(Exception):
    """An Emarsys error reply: HTTP status, replyCode and replyText."""

    def __init__(
        self,
        status: int,
        reply_code: int,
        text: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Describe the error reply."""
        super().__init__(f"{status}/{reply_code} {text}")
        self.status = status
        self.reply_code = reply_code
        self.text = text
        self.headers = headers or {}

    def reply(self) -> Reply:
        """Render the error as an enveloped JSON reply."""
        reply = envelope(self.status, self.reply_code, self.text)
        reply.headers.update(self.headers)
        return reply


def json_bytes(payload: object) -> bytes:
    """Serialise to compact UTF-8 JSON (non-ASCII kept as is)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def envelope(status: int, reply_code: int, text: str, data: object = "") -> Reply:
    """Return an enveloped ``{"replyCode", "replyText", "data"}`` JSON reply."""
    payload = {"replyCode": reply_code, "replyText": text, "data": data}
    return Reply(status, json_bytes(payload), reply_code=reply_code)


def ok(data: object) -> Reply:
    """Return a 200 ``replyCode 0 / OK`` envelope around ``data``."""
    return envelope(200, 0, "OK", data)


def plain_json(status: int, payload: object) -> Reply:
    """Return a JSON reply without the envelope (OAuth token endpoint, control endpoints)."""
    return Reply(status, json_bytes(payload))
