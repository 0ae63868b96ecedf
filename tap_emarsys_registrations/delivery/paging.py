"""Downloads cut at a documented row cap: fetch the rest with ``offset``.

Emarsys caps one ``GET /export/{id}/data`` at 1,000,000 rows (older docs) or
10,000,000 (current spec). A download without ``limit`` that returns exactly
one of those counts of data rows may have been cut, so the tap asks for the
next page; any other count means the download is whole and stays one request.

Paging, as decided from the docs and Emarsys' own clients:

- ``offset`` counts data rows. The query form ``?offset=N`` is tried first,
  without ``limit`` (the spec says ``limit`` may turn the answer into JSON);
  the path form ``/offset=N&limit=CAP`` is the one Emarsys' own clients send.
- A form counts as ignored when the page starts with the same rows as the
  first page, is answered 400/404, or is not CSV: the current spec says that
  with ``limit`` the answer is JSON, so a page whose Content-Type is not CSV or
  whose first bytes are JSON is never read as CSV. The other form is tried
  then. The form that works is logged and used for the rest of the run. When
  neither works, the run stops before the window is checkpointed.
- A page that starts with the header row has it skipped; a BOM is dropped.
- Paging ends at a page with fewer data rows than the cap (possibly none).

The window's bookmark moves only after all its pages (the caller's rule).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.delivery.body import Body, response_body
from tap_emarsys_registrations.delivery.row_count import (
    BOM,
    HEAD_BYTES,
    RecordCounter,
    first_records,
)
from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportExpiredError,
    TruncatedDownloadError,
    UserFacingError,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from tap_emarsys_registrations.delivery.base import Delivery
    from tap_emarsys_registrations.delivery.row_count import RowCaps
    from tap_emarsys_registrations.emarsys.exports import ExportJobs

LOGGER: Final = logging.getLogger(__name__)
COMPARED_ROWS: Final = 3
_NOT_HONOURED: Final = frozenset({400, 404})
# How a JSON answer starts; a CSV export starts with its header or a user id.
_JSON_STARTS: Final = (b'{"', b"{}", b"[{", b"[[", b"[]", b'["')


def looks_like_json(head: bytes) -> bool:
    """Whether the first bytes of a download are JSON rather than CSV."""
    return head.removeprefix(BOM).lstrip().startswith(_JSON_STARTS)


class PagingForm(StrEnum):
    """How ``offset`` is sent."""

    QUERY = "query"
    PATH = "path"

    def suffix(self, offset: int, cap: int) -> str:
        """The part of the URL after ``/data``."""
        if self is PagingForm.QUERY:
            return f"?offset={offset}"
        return f"/offset={offset}&limit={cap}"


class PagingError(UserFacingError):
    """A download hit a row cap and Emarsys honoured neither form of ``offset``."""


class PagedDownload:
    """Opens ``/export/{id}/data`` and follows up with pages after a capped answer."""

    def __init__(self, jobs: ExportJobs, caps: RowCaps, *, header: bool) -> None:
        self._jobs = jobs
        self._caps = caps
        self._header = header
        self._form: PagingForm | None = None

    def open(self, export_id: int, describe: str) -> Body:
        """The export's rows as one body: the first answer, then any further pages."""
        response = self._jobs.open_download(export_id, describe)
        content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith("text/csv"):
            response.close()
            raise _not_csv(describe, content_type or "no Content-Type")
        first = response_body(response)
        current = [first]

        def close() -> None:
            chunks.close()
            current[-1].close()

        chunks = self._chunks(first, export_id, describe, current)
        return Body(chunks, first.expected_length, close)

    def _chunks(
        self, first: Body, export_id: int, describe: str, current: list[Body]
    ) -> Generator[bytes, None, None]:
        counter = RecordCounter()
        for chunk in first.chunks:
            if not counter.bytes_read and looks_like_json(chunk[:16]):
                raise _not_csv(describe, "JSON")
            counter.feed(chunk)
            yield chunk
        _check_length(first, counter.bytes_read)
        head = first_records(bytes(counter.head), 1 + COMPARED_ROWS)
        header = head[0][0] if self._header and head else None
        sample = [text for text, _ in head[1 if self._header else 0 :]][:COMPARED_ROWS]
        cap = counter.records - (1 if header is not None else 0)
        if not sample or not self._caps.hit(cap):
            return
        LOGGER.info(
            "%s: the download holds exactly %d data rows, a documented per-download cap "
            "of Emarsys; fetching the next rows with offset",
            describe,
            cap,
        )
        offset, ended = cap, counter.ends_with_line_break
        while True:
            page, skip, buffered = self._open_page(
                export_id, offset, cap, header=header, sample=sample, describe=describe
            )
            current[-1].close()  # read to its end already
            current.append(page)
            counter = RecordCounter()
            if not ended:
                yield b"\n"
            for chunk in _rest(buffered[skip:], page.chunks):
                counter.feed(chunk)
                yield chunk
            _check_length(page, counter.bytes_read + skip)
            LOGGER.info("%s: %d more data rows from offset %d", describe, counter.records, offset)
            offset, ended = offset + counter.records, counter.ends_with_line_break
            if counter.records != cap:
                return

    def _open_page(
        self,
        export_id: int,
        offset: int,
        cap: int,
        *,
        header: bytes | None,
        sample: list[bytes],
        describe: str,
    ) -> tuple[Body, int, bytes]:
        """The next page, its header bytes to skip, and the bytes already read from it."""
        forms = [self._form] if self._form is not None else []
        forms += [form for form in PagingForm if form not in forms]
        for form in forms:
            page = self._request(export_id, form.suffix(offset, cap), describe)
            if page is None:
                LOGGER.info("%s: Emarsys refused offset in the %s form", describe, form)
                continue
            buffered = _peek(page.chunks)
            if looks_like_json(buffered[:16]):
                page.close()
                LOGGER.info("%s: Emarsys answered offset in the %s form with JSON", describe, form)
                continue
            records = first_records(buffered, 1 + COMPARED_ROWS)
            skip = 0
            if header is not None and records and records[0][0] == header:
                skip = records.pop(0)[1]
            elif buffered.startswith(BOM):
                skip = len(BOM)
            if [text for text, _ in records][: len(sample)] == sample:
                page.close()
                LOGGER.info("%s: Emarsys ignored offset in the %s form", describe, form)
                continue
            if self._form != form:
                LOGGER.info("Emarsys honours offset in the %s form; using it", form)
                self._form = form
            return page, skip, buffered
        raise PagingError(
            f"{describe}: the download stopped at exactly {cap} rows, a documented Emarsys "
            "per-download cap, and Emarsys ignored offset in both the query and the path "
            "form (or answered them with JSON, not CSV), so the rest cannot be fetched. The "
            "bookmark stays before this window. Lower window_hours so that each export "
            "holds fewer rows",
        )

    def _request(self, export_id: int, suffix: str, describe: str) -> Body | None:
        """One page as a body, or None when the server does not take this form."""
        try:
            response = self._jobs.open_download(export_id, describe, suffix)
        except EmarsysAPIError as exc:
            if exc.status in _NOT_HONOURED:
                return None
            raise
        except ExportExpiredError:
            # Read the window again: its first request then finds the export gone.
            msg = "the export expired between two pages"
            raise TruncatedDownloadError(msg) from None
        if not response.headers.get("Content-Type", "").startswith("text/csv"):
            response.close()
            return None
        return response_body(response)


def _not_csv(describe: str, what: str) -> PagingError:
    return PagingError(
        f"{describe}: Emarsys answered the download with {what}, not CSV; the tap reads "
        "only CSV. The bookmark stays before this window. Lower window_hours so that "
        "each export fits one download without paging, or rerun later",
    )


def _peek(chunks: Iterator[bytes]) -> bytes:
    """Read a page's first bytes, enough for the header and the compared rows."""
    buffered = bytearray()
    for chunk in chunks:
        buffered += chunk
        if len(buffered) >= HEAD_BYTES or len(first_records(buffered, 2 + COMPARED_ROWS)) > (
            1 + COMPARED_ROWS
        ):
            break
    return bytes(buffered)


def _rest(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from chunks


def _check_length(body: Body, received: int) -> None:
    """Raise when one page is shorter than its Content-Length (the caller reads again)."""
    if body.expected_length is not None and received < body.expected_length:
        msg = f"a page: received {received} of {body.expected_length} bytes"
        raise TruncatedDownloadError(msg)


class CapWarning:
    """A delivery whose files cannot be paged (FTP/SFTP): warn when one holds a cap of rows."""

    def __init__(self, delivery: Delivery, caps: RowCaps, *, header: bool) -> None:
        self._delivery = delivery
        self._caps = caps
        self._header = header

    def open(self, export_id: int, status: dict[str, Any], describe: str) -> Body:
        """Open the file through the wrapped delivery, counting its rows."""
        body = self._delivery.open(export_id, status, describe)
        return Body(self._counted(body.chunks, describe), body.expected_length, body.close)

    def _counted(self, chunks: Iterator[bytes], describe: str) -> Iterator[bytes]:
        counter = RecordCounter()
        for chunk in chunks:
            counter.feed(chunk)
            yield chunk
        rows = counter.records - (1 if self._header and counter.records else 0)
        if self._caps.hit(rows):
            LOGGER.warning(
                "%s: the file holds exactly %d data rows, a documented per-download cap of "
                "Emarsys; a file on an FTP/SFTP server cannot be paged, so if Emarsys cut it, "
                "rows are missing. Lower window_hours so that each export holds fewer rows",
                describe,
                rows,
            )

    def window_done(self, export_id: int, status: dict[str, Any]) -> None:
        """Let the wrapped delivery tidy up."""
        self._delivery.window_done(export_id, status)
