"""Stream one finished export's bytes into CSV rows, detecting a body that was cut short.

A cut is caught by Content-Length, by a body that does not end with a line
break, by a value left open inside quotes, or by a short last row. Rows are
handed on one by one, as cells; what they become, and which of them an earlier
read already handed on, is the reader's business (``extraction``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import requests

from tap_emarsys_registrations.errors import TruncatedDownloadError
from tap_emarsys_registrations.records.csv_records import ChunkReader, broken_body, csv_reader

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator


DOWNLOAD_CHUNK_BYTES: Final = 1 << 20


@dataclass
class ReadMemory:
    """What earlier reads of the same file showed: an empty body, an unterminated size."""

    empty_bodies: int = 0
    unterminated_size: int = -1


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


def check_complete(reader: ChunkReader, expected_length: int | None, memory: ReadMemory) -> None:
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
        if memory.unterminated_size == reader.bytes_read:
            return
        memory.unterminated_size = reader.bytes_read
        msg = "the body does not end with a line break"
        raise TruncatedDownloadError(msg)


def data_rows(
    body: Body,
    *,
    delimiter: str,
    memory: ReadMemory,
    check_header: Callable[[list[str]], None] | None = None,
) -> Generator[tuple[int, list[str]], None, None]:
    """Yield ``(row number, cells)`` of the body's data rows, checking its completeness.

    With ``check_header`` the first row is the header, handed to it instead.
    A row returned before the end of the body was followed by more data, so it
    is whole. Once the body has been read to its end, its completeness is
    checked before any further row is handed on.
    """
    try:
        reader = ChunkReader(body.chunks)
        number, checked, header = 0, False, check_header is not None
        try:
            for row in csv_reader(reader, delimiter):
                number += 1
                if reader.eof and not checked:
                    check_complete(reader, body.expected_length, memory)
                    checked = True
                if header:
                    header = False
                    if check_header is not None:
                        check_header(row)
                    continue
                yield number, row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise broken_body(exc) from None
        if reader.bytes_read == 0 and check_header is not None and memory.empty_bodies == 0:
            # Zero rows still come with a header; an empty body is trusted only
            # when a second download says the same.
            memory.empty_bodies += 1
            msg = "the body is empty, without even the header row"
            raise TruncatedDownloadError(msg)
        if not checked:
            check_complete(reader, body.expected_length, memory)
    finally:
        body.close()
