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
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.errors import CSVFormatError, TruncatedDownloadError
from tap_emarsys_registrations.fastpath import compile_row_function
from tap_emarsys_registrations.fields import REGISTERED_AT, USER_ID, WINDOW_START, Field
from tap_emarsys_registrations.windows import iso_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from tap_emarsys_registrations.timestamps import LocalTimestampConverter
    from tap_emarsys_registrations.windows import Window

READ_BUFFER_BYTES: Final = 1 << 16
# Emarsys "largetext" fields are unlimited; the csv default of 128 KiB is not.
FIELD_SIZE_LIMIT: Final = 64 * 1024 * 1024
_COMMA_DECIMAL: Final = re.compile(r"^-?\d+,\d+$")
_DATE_FORMATS: Final = ("%d.%m.%Y", "%Y/%m/%d")


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
    """Emarsys numeric value to Decimal, keeping all its digits; '' is null."""
    if raw == "":
        return None
    text = raw.strip()
    if _COMMA_DECIMAL.match(text):
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        msg = f"{raw!r} is not a number"
        raise ValueError(msg) from None
    if not value.is_finite():
        msg = f"{raw!r} is not a finite number"
        raise ValueError(msg)
    return value


def cast_date(raw: str) -> str | None:
    """Emarsys date to ``YYYY-MM-DD``; other layouts are converted when unambiguous."""
    if raw == "":
        return None
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


def caster_for(field: Field) -> Callable[[str], Any]:
    """The cast of a number or date column, chosen once per export (text needs none)."""
    return cast_number if field.kind == "number" else cast_date


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


_EMPTY_TO_NONE: Final = {"": None}.get  # as map(f, cells, cells): '' -> None, else the cell


def _getter(indices: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """A C-speed ``row -> tuple of the cells at indices``."""
    if not indices:
        return lambda _row: ()
    if len(indices) == 1:
        only = indices[0]
        return lambda row: (row[only],)
    return itemgetter(*indices)


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


class RecordBuilder:
    """Turns the rows of one export into records of one window."""

    def __init__(
        self,
        layout: Layout,
        window: Window,
        converter: LocalTimestampConverter,
        describe: str,
    ) -> None:
        self._layout = layout
        self._window = window
        self._converter = converter
        self._describe = describe
        self._names = [f.property_name for f in layout.fields]
        self._width = layout.width
        self._with_timestamp = layout.with_timestamp
        # Text columns are copied in C (itemgetter, zip, dict.get turning '' into None);
        # only number and date columns get a Python cast, chosen here, once per export.
        text = [(i, f.property_name) for i, f in enumerate(layout.fields, 1) if f.kind == "string"]
        self._text_names = [name for _, name in text]
        self._text_cells = _getter([i for i, _ in text])
        self._typed = [
            (i, f.property_name, caster_for(f))
            for i, f in enumerate(layout.fields, 1)
            if f.kind != "string"
        ]
        self._window_start = iso_utc(window.start)
        self._low = self._window_start
        self._high = iso_utc(window.end)
        self._fast = compile_row_function(
            layout.fields,
            with_timestamp=layout.with_timestamp,
            window_start=self._low,
            window_end=self._high,
            to_utc=converter.to_utc_string,
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

    def build(self, row: list[str], row_number: int) -> dict[str, Any] | None:
        """The record for one data row, or None when the row lies outside the window.

        Raises:
            CSVFormatError: for a row of the wrong width or with a bad value.
        """
        try:
            return self._fast(row)
        except (ValueError, ArithmeticError):
            return self.build_checked(row, row_number)

    def build_checked(self, row: list[str], row_number: int) -> dict[str, Any] | None:
        """``build`` for the rows the fast path refuses: converts odd values, names errors.

        Raises:
            CSVFormatError: for a row of the wrong width, with a bad value, or with
                an empty timestamp (a null key).
        """
        if len(row) != self._width:
            raise self.error(row_number, f"{len(row)} columns, expected {self._width}")
        try:
            user_id = int(row[0])
        except ValueError:
            raise self.error(row_number, f"user_id {row[0]!r} is not an integer") from None
        registered_at: str | None = None
        if self._with_timestamp:
            raw = row[-1]
            if raw == "":
                raise self.error(
                    row_number,
                    f"user_id {user_id} has no registration time; registered_at is part of "
                    "the primary key and cannot be null",
                )
            try:
                registered_at = self._converter.to_utc_string(raw)
            except ValueError as exc:
                raise self.error(row_number, str(exc)) from None
            if not self._low <= registered_at < self._high:
                return None
        record: dict[str, Any] = {
            USER_ID: user_id,
            REGISTERED_AT: registered_at,
            WINDOW_START: self._window_start,
        }
        self.add_values(record, row, row_number)
        return record

    def add_values(self, record: dict[str, Any], row: list[str], row_number: int) -> None:
        """Cast this export's field columns of ``row`` into ``record``.

        Raises:
            CSVFormatError: for a value that does not fit its field's type.
        """
        cells = self._text_cells(row)
        record.update(zip(self._text_names, map(_EMPTY_TO_NONE, cells, cells), strict=False))
        try:
            for index, name, cast in self._typed:
                record[name] = cast(row[index])
        except ValueError as exc:
            raise self.error(row_number, str(exc)) from None

    def nulls(self) -> dict[str, None]:
        """This export's fields, all null: for a row another export part lacks."""
        return dict.fromkeys(self._names)
