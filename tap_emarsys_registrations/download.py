"""Stream one finished export into records, detecting a body that was cut short.

A cut is caught by Content-Length, by a body that does not end with a line
break, by a value left open inside quotes, or by a short last row. Rows are
handed on one by one; a cursor remembers how many were handed on, so a
repeated download of the same export skips them instead of emitting them twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import requests

from tap_emarsys_registrations.csv_records import ChunkReader, Layout, RecordBuilder, iter_rows
from tap_emarsys_registrations.errors import TruncatedDownloadError

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator


DOWNLOAD_CHUNK_BYTES: Final = 1 << 16


@dataclass
class Cursor:
    """One export of a window: its id, its final status reply, and empty-body retries."""

    export_id: int
    empty_bodies: int = 0
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


def lookahead(rows: Iterable[list[str]]) -> Iterator[tuple[list[str], bool]]:
    """Pair each row with whether it is the last one."""
    iterator = iter(rows)
    previous = next(iterator, None)
    while previous is not None:
        current = next(iterator, None)
        yield previous, current is None
        previous = current


def chunks(response: requests.Response) -> Iterator[bytes]:
    """The body's chunks; a connection lost mid-body becomes a truncated download."""
    try:
        yield from response.iter_content(DOWNLOAD_CHUNK_BYTES)
    except (requests.RequestException, OSError) as exc:
        msg = f"connection lost mid-download ({type(exc).__name__})"
        raise TruncatedDownloadError(msg) from None


def check_complete(reader: ChunkReader, expected_length: int | None) -> None:
    """Raise when the body is shorter than announced or does not end with a line break."""
    if expected_length is not None and reader.bytes_read < expected_length:
        msg = f"received {reader.bytes_read} of {expected_length} bytes"
        raise TruncatedDownloadError(msg)
    if reader.bytes_read and reader.last_byte not in {b"\n", b"\r"}:
        msg = "the body does not end with a line break"
        raise TruncatedDownloadError(msg)


def data_rows(
    body: Body,
    *,
    layout: Layout,
    delimiter: str,
    builder: RecordBuilder,
    cursor: Cursor,
) -> Generator[tuple[int, list[str]], None, None]:
    """Yield ``(row number, cells)`` of the data rows, after checking header and completeness."""
    try:
        reader = ChunkReader(body.chunks)
        first_data_row = 2 if layout.header else 1
        width = layout.width
        for row_number, (row, is_last) in enumerate(
            lookahead(iter_rows(reader, delimiter)),
            start=1,
        ):
            if is_last:
                check_complete(reader, body.expected_length)
            if row_number < first_data_row:
                builder.check_header(row)
                continue
            if is_last and len(row) != width:
                msg = f"the last row has {len(row)} of {width} columns"
                raise TruncatedDownloadError(msg)
            yield row_number, row
        if reader.bytes_read == 0 and layout.header and cursor.empty_bodies == 0:
            # Zero rows still come with a header; an empty body is trusted only
            # when a second download says the same.
            cursor.empty_bodies += 1
            msg = "the body is empty, without even the header row"
            raise TruncatedDownloadError(msg)
        check_complete(reader, body.expected_length)
    finally:
        body.close()
