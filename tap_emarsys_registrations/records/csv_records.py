"""Streaming CSV bytes into typed records.

The body is never held in memory: network chunks feed an incremental UTF-8
decoder (``utf-8-sig`` drops a BOM) and the ``csv`` module, which handles
RFC 4180 quoting, embedded delimiters and newlines in values. Columns are
mapped by position (``user_id``, the requested fields in request order, then
the timestamp), never by header text; a header, when present, is checked.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.errors import CSVFormatError, TruncatedDownloadError
from tap_emarsys_registrations.fields import USER_ID, Field
from tap_emarsys_registrations.records.row_function import compile_rows
from tap_emarsys_registrations.windows import iso_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter
    from tap_emarsys_registrations.windows import Window

READ_BUFFER_BYTES: Final = 1 << 16
# Emarsys "largetext" fields are unlimited; the csv default of 128 KiB is not.
FIELD_SIZE_LIMIT: Final = 64 * 1024 * 1024
_COMMA_DECIMAL: Final = re.compile(r"^-?\d+,\d+$")
_DATE_FORMATS: Final = ("%d.%m.%Y", "%Y/%m/%d")
_ISO_DATE_LENGTH: Final = 10


class ChunkReader(io.RawIOBase):
    """A readable byte stream over an iterator of chunks; remembers the last byte."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self.bytes_read = 0
        self.last_byte = b""
        self.eof = False

    def readable(self) -> bool:  # noqa: D102 - io.RawIOBase protocol
        return True

    def readinto(self, buffer: Any) -> int:  # noqa: ANN401, D102 - io.RawIOBase protocol
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        self.last_byte = bytes(buffer[size - 1 : size])
        return size


def csv_reader(reader: ChunkReader, delimiter: str) -> Iterator[list[str]]:
    """A ``csv`` reader over the decoded stream (``utf-8-sig`` drops a BOM).

    It raises ``csv.Error`` on a body cut inside a quoted value and
    ``UnicodeDecodeError`` on bytes that are not UTF-8; see ``broken_body``.
    """
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
    text = io.TextIOWrapper(
        io.BufferedReader(reader, READ_BUFFER_BYTES),
        encoding="utf-8-sig",
        newline="",
    )
    return csv.reader(text, delimiter=delimiter, strict=True)


def broken_body(exc: csv.Error | UnicodeDecodeError) -> TruncatedDownloadError:
    """The retryable error for a body the ``csv`` reader could not finish."""
    if isinstance(exc, UnicodeDecodeError):
        return TruncatedDownloadError(f"body is not valid UTF-8 ({exc.reason})")
    return TruncatedDownloadError(f"CSV ended or broke inside a value: {exc}")


def cast_number(raw: str) -> Decimal | None:
    """Emarsys numeric value to Decimal, keeping all its digits; '' is null.

    A plain decimal (the usual cell) costs one ``Decimal``; surrounding blanks
    and a decimal comma (``12,5``) take the slower way.
    """
    if not raw:
        return None
    try:
        value = Decimal(raw)  # ignores surrounding blanks, as the slower way does
    except InvalidOperation:
        value = _lenient_number(raw)
    if not value.is_finite():
        msg = f"{raw!r} is not a finite number"
        raise ValueError(msg)
    return value


def _lenient_number(raw: str) -> Decimal:
    text = raw.strip()
    if _COMMA_DECIMAL.match(text):
        text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        msg = f"{raw!r} is not a number"
        raise ValueError(msg) from None


def cast_date(raw: str) -> str | None:
    """Emarsys date to ``YYYY-MM-DD``; other layouts are converted when unambiguous.

    A valid ``YYYY-MM-DD`` (the usual cell) is returned as it is.
    """
    if not raw:
        return None
    if len(raw) == _ISO_DATE_LENGTH and raw[4] == "-" and raw[7] == "-":
        try:
            dt.date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return raw
    text = raw.strip()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    for layout in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, layout).date().isoformat()  # noqa: DTZ007
        except ValueError:
            continue
    return text  # kept verbatim rather than lost; the schema's format is advisory


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns an export was asked for."""

    fields: tuple[Field, ...]
    with_timestamp: bool
    header: bool
    header_names: tuple[str, ...]

    @property
    def width(self) -> int:
        """Number of columns per row."""
        return 1 + len(self.fields) + (1 if self.with_timestamp else 0)


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


class RecordBuilder:
    """Turns the rows of one export into records of one window (or of its ``grid`` windows).

    ``build(row, row_number)`` is the record for one data row, or None when the
    row lies outside the window; ``values(row, row_number)`` is just the
    export's field columns (for joining the parts of a wide export). Both
    raise ``CSVFormatError`` naming the row for a wrong width or a bad value.
    They are compiled once per export by ``compile_rows`` (row_function.py).
    """

    build: Callable[[list[str], int], dict[str, Any] | None]
    values: Callable[[list[str], int], dict[str, Any]]

    def __init__(
        self,
        layout: Layout,
        window: Window,
        converter: LocalTimestampConverter,
        describe: str,
        grid: Sequence[Window] = (),
    ) -> None:
        self._layout = layout
        self._describe = describe
        self._names = [f.property_name for f in layout.fields]
        self.build, self.values = compile_rows(
            layout.fields,
            with_timestamp=layout.with_timestamp,
            window_start=iso_utc(window.start),
            window_end=iso_utc(window.end),
            to_utc=converter.to_utc_string,
            casts={"number": cast_number, "date": cast_date},
            error=self.error,
            grid_starts=tuple(iso_utc(w.start) for w in grid),
        )

    def error(self, row_number: int, problem: str) -> CSVFormatError:
        """A format error that names the export, the window and the row."""
        return CSVFormatError(f"{self._describe}, CSV row {row_number}: {problem}")

    def check_header(self, row: list[str]) -> None:
        """Compare a header row with the requested columns.

        Raises:
            CSVFormatError: on a different column count, a first column other than
                ``user_id``, or a field name that differs from the catalog's.
        """
        layout = self._layout
        if len(row) != layout.width:
            raise self.error(1, f"header has {len(row)} columns, expected {layout.width}")
        if _normalise(row[0]) != USER_ID:
            raise self.error(1, f"first header column is {row[0]!r}, expected 'user_id'")
        for position, (got, expected) in enumerate(
            zip(row[1:], layout.header_names, strict=False),
            start=2,
        ):
            if expected and _normalise(got) != _normalise(expected):
                raise self.error(
                    1,
                    f"header column {position} is {got!r}, expected {expected!r} "
                    "(the export does not have the requested fields)",
                )

    def add_values(self, record: dict[str, Any], row: list[str], row_number: int) -> None:
        """Cast this export's field columns of ``row`` into ``record``.

        Raises:
            CSVFormatError: for a value that does not fit its field's type.
        """
        record.update(self.values(row, row_number))

    def nulls(self) -> dict[str, None]:
        """This export's fields, all null: for a row another export part lacks."""
        return dict.fromkeys(self._names)
