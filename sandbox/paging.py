"""Row caps and offset/limit paging of ``GET /export/{id}/data``.

The docs cap one download at 1,000,000 rows (older docs) or 10,000,000
(current spec), and give ``offset``/``limit`` two ways: as query parameters
(``/data?offset=N&limit=M``) and as a path segment
(``/data/offset=N&limit=M``, as Emarsys' own clients send it). Whether a
page repeats the header is not documented. Each is a switch here:
``download_row_cap``, ``paging_forms`` and ``header_on_every_page``.

``offset`` and ``limit`` count data rows. A form the server does not honour
is ignored (query) or not routed (path: 404, like any unknown resource). With
``limit_answers_json`` a request with ``limit`` is answered with JSON, as the
current spec says it is.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from sandbox.csvrender import CsvBody
from sandbox.replies import CSV_TYPE, ApiError, Reply, ok

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sandbox.config import SandboxConfig
    from sandbox.dataset import Registration
    from sandbox.requestlog import IncomingRequest


@dataclass(frozen=True)
class Page:
    """Which data rows one download answers with: ``[offset, offset + limit)``."""

    offset: int = 0
    limit: int | None = None

    def is_whole(self) -> bool:
        """Whether this is the plain, unpaged download."""
        return self.offset == 0 and self.limit is None


def _number(raw: str, name: str, minimum: int) -> int:
    if not raw.isdigit() or int(raw) < minimum:
        raise ApiError(400, 10001, f"Invalid {name}")
    return int(raw)


def requested_page(request: IncomingRequest, segment: str | None, config: SandboxConfig) -> Page:
    """The page a request asks for, with the forms ``config.paging_forms`` honours.

    Raises:
        ApiError: 404 for a path segment the server does not route, 400 for a
            malformed number.
    """
    forms = config.paging_forms
    params: dict[str, str] = {}
    if segment is not None:
        if forms not in ("path", "both"):
            raise ApiError(404, 1, "Not Found")
        params = dict(parse_qsl(segment, keep_blank_values=True))
    elif forms in ("query", "both"):
        params = request.query
    offset = _number(params["offset"], "offset", 0) if "offset" in params else 0
    limit = _number(params["limit"], "limit", 1) if "limit" in params else None
    return Page(offset, limit)


def page_body(body: CsvBody, page: Page, config: SandboxConfig) -> CsvBody:
    """The rows of ``page`` of ``body``, cut at the row cap; the header as configured."""
    cap = config.download_row_cap
    count = page.limit
    if cap is not None:
        count = cap if count is None else min(count, cap)
    header = body.spec.header and (page.offset == 0 or config.header_on_every_page)
    rows = body.rows
    end = None if count is None else page.offset + count

    def sliced() -> Iterable[Registration]:
        return itertools.islice(rows(), page.offset, end)

    return CsvBody(sliced, replace(body.spec, header=header))


def paged_reply(body: CsvBody, page: Page, config: SandboxConfig) -> Reply:
    """The /data reply for ``page`` (its own Content-Length, if that is the framing)."""
    paged = page_body(body, page, config)
    reply = Reply(200, content_type=CSV_TYPE, csv=paged)
    if config.framing == "content-length":
        reply.csv_length = paged.length()
    return reply


def json_page_reply(body: CsvBody, page: Page, config: SandboxConfig) -> Reply:
    """The page as JSON, as the spec says ``limit`` makes it (the shape is undocumented).

    Here: the usual envelope, ``data`` a list of rows, each a list of cell strings.
    """
    paged = page_body(body, page, config)
    text = b"".join(paged.chunks(config.chunk_size)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=body.spec.delimiter))
    reply = ok(rows)
    if config.limit_json_labelled_csv:  # the spec declares text/csv for /data
        reply.content_type = CSV_TYPE
    return reply
