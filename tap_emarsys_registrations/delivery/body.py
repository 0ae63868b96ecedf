"""Stream one finished export into records, detecting a body that was cut short.

A cut is caught by Content-Length, by a body that does not end with a line
break, by a value left open inside quotes, or by a short last row. Rows are
handed on one by one; a cursor remembers how many were handed on, so a
repeated download of the same export skips them instead of emitting them twice.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

import requests

from tap_emarsys_registrations.errors import TruncatedDownloadError
from tap_emarsys_registrations.records.csv_records import (
    ChunkReader,
    Layout,
    RecordBuilder,
    broken_body,
    csv_reader,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator


DOWNLOAD_CHUNK_BYTES: Final = 1 << 20


@dataclass
class Cursor:
    """One export of a window: its id, its final status reply, and empty-body retries."""

    export_id: int
    empty_bodies: int = 0
    unterminated_size: int = -1
    status: dict[str, Any] = field(default_factory=dict)


@dataclass
class Body:
    """An open export file: its bytes, the length announced for it, and how to close it."""

    chunks: Iterator[bytes]
    expected_length: int | None
    close: Callable[[], None]


def response_body(response: requests.Response) -> Body:
    """A Body over a streamed HTTP response (Content-Length counts unless encoded)."""
    length = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity") not in {"identity", ""}
    expected = int(length) if length is not None and length.isdigit() and not encoded else None
    return Body(chunks(response), expected, response.close)


def chunks(response: requests.Response) -> Iterator[bytes]:
    """The body's chunks; a connection lost mid-body becomes a truncated download."""
    try:
        yield from response.iter_content(DOWNLOAD_CHUNK_BYTES)
    except (requests.RequestException, OSError) as exc:
        msg = f"connection lost mid-download ({type(exc).__name__})"
        raise TruncatedDownloadError(msg) from None


def check_complete(reader: ChunkReader, expected_length: int | None, cursor: Cursor) -> None:
    """Raise when the body is shorter than announced or was cut after its last line break.

    With a length, a body of that length is complete. Without one, a body must
    end with a line break; one that does not is trusted only when a second read
    ends at the same byte (a cut connection rarely stops at the same place twice).
    """
    if expected_length is not None:
        if reader.bytes_read < expected_length:
            msg = f"received {reader.bytes_read} of {expected_length} bytes"
            raise TruncatedDownloadError(msg)
        return
    if reader.bytes_read and reader.last_byte not in {b"\n", b"\r"}:
        if cursor.unterminated_size == reader.bytes_read:
            return
        cursor.unterminated_size = reader.bytes_read
        msg = "the body does not end with a line break"
        raise TruncatedDownloadError(msg)


class Done(Protocol):
    """Where a reader counts the data rows already handed on."""

    rows_done: int


def data_rows(
    body: Body,
    *,
    layout: Layout,
    delimiter: str,
    builder: RecordBuilder,
    cursor: Cursor,
    done: Done | None = None,
) -> Generator[Any, None, None]:
    """Yield the body's data rows after checking its header and completeness.

    Without ``done`` it yields ``(row number, cells)``. With ``done`` it yields
    the records ``builder`` makes, skips the first ``done.rows_done`` data rows
    (handed on by an earlier read of the same file) and counts each row on.

    A row returned before the end of the body was followed by more data, so it
    is whole. Once the body has been read to its end, its completeness is
    checked before any further row is handed on.
    """
    try:
        reader = ChunkReader(body.chunks)
        number, index, checked, header = 0, 0, False, layout.header
        skip = done.rows_done if done is not None else 0
        build = builder.build
        try:
            for row in csv_reader(reader, delimiter):
                number += 1
                if reader.eof and not checked:
                    check_complete(reader, body.expected_length, cursor)
                    checked = True
                if header:
                    header = False
                    builder.check_header(row)
                    continue
                index += 1
                if done is None:
                    yield number, row
                elif index > skip:
                    record = build(row, number)
                    if record is not None:
                        yield record
                    done.rows_done = index
        except (csv.Error, UnicodeDecodeError) as exc:
            raise broken_body(exc) from None
        if reader.bytes_read == 0 and layout.header and cursor.empty_bodies == 0:
            # Zero rows still come with a header; an empty body is trusted only
            # when a second download says the same.
            cursor.empty_bodies += 1
            msg = "the body is empty, without even the header row"
            raise TruncatedDownloadError(msg)
        if not checked:
            check_complete(reader, body.expected_length, cursor)
    finally:
        body.close()
