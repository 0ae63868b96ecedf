"""Lazy rendering of an export's CSV body, in fixed-size byte chunks."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox.fields import fields_by_id
from sandbox.values import cells_renderer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from sandbox.dataset import Registration

BOM = "\ufeff"
TIMESTAMP_HEADER = "last update"
_ROWS_PER_FLUSH = 256
RAGGED_ROW = 3


@dataclass(frozen=True)
class CsvSpec:
    """How one export file is laid out."""

    field_ids: tuple[int, ...]
    delimiter: str = ","
    with_timestamp: bool = True
    header: bool = True
    language: str = "en"
    bom: bool = False
    crlf: bool = True
    corruption: str | None = None
    _cells: Callable[[int, int], list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Prepare the fast cell lookup for the requested fields."""
        object.__setattr__(self, "_cells", cells_renderer(self.field_ids))

    def header_row(self) -> list[str]:
        """Return the header cells: ``user_id``, field names, optional ``last update``."""
        names = [fields_by_id()[fid].name_in(self.language) for fid in self.field_ids]
        header = ["user_id", *names, *([TIMESTAMP_HEADER] if self.with_timestamp else [])]
        if self.corruption == "renamed_header" and len(header) > 1:
            header[1] = "Unexpected column"
        if self.corruption == "extra_column":
            header.append("Unknown")
        return header

    def row(self, reg: Registration) -> list[str]:
        """Return the cells of one registration's data row."""
        cells = [str(reg.user_id), *self._cells(reg.key, reg.quirk)]
        if self.with_timestamp:
            cells.append(reg.local_time.isoformat(sep=" "))
        return cells


def render_text(rows: Iterable[Registration], spec: CsvSpec) -> Iterator[str]:
    """Yield the CSV body as text pieces of a few hundred rows each."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=spec.delimiter,
        quotechar='"',
        quoting=csv.QUOTE_MINIMAL,
        lineterminator="\r\n" if spec.crlf else "\n",
    )
    if spec.bom:
        buffer.write(BOM)
    if spec.header:
        writer.writerow(spec.header_row())
    pending = 0
    for number, reg in enumerate(rows, start=1):
        cells = spec.row(reg)
        if spec.corruption == "ragged" and number == RAGGED_ROW:
            cells.pop()
        elif spec.corruption == "blank_timestamp" and number == RAGGED_ROW and spec.with_timestamp:
            cells[-1] = ""
        elif spec.corruption == "extra_column":
            cells.append("surprise")
        writer.writerow(cells)
        pending += 1
        if pending >= _ROWS_PER_FLUSH:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
            pending = 0
    tail = buffer.getvalue()
    if tail:
        yield tail


def render_bytes(rows: Iterable[Registration], spec: CsvSpec, chunk_size: int) -> Iterator[bytes]:
    """Yield the UTF-8 body in chunks of exactly ``chunk_size`` bytes (the last may be short)."""
    pending = bytearray()
    for text in render_text(rows, spec):
        pending += text.encode("utf-8")
        while len(pending) >= chunk_size:
            yield bytes(pending[:chunk_size])
            del pending[:chunk_size]
    if pending:
        yield bytes(pending)


def body_length(rows: Iterable[Registration], spec: CsvSpec) -> int:
    """Return the byte length of the body by rendering it once (without keeping it)."""
    return sum(len(text.encode("utf-8")) for text in render_text(rows, spec))


@dataclass(frozen=True)
class CsvBody:
    """A re-renderable CSV body: each iteration regenerates the rows from the dataset."""

    rows: Callable[[], Iterable[Registration]]
    spec: CsvSpec

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        """Yield the body in fixed-size chunks."""
        return render_bytes(self.rows(), self.spec, chunk_size)

    def length(self) -> int:
        """Return the body length in bytes (one full rendering pass)."""
        return body_length(self.rows(), self.spec)


@dataclass(frozen=True)
class FileBody:
    """A CSV body rendered once to a file (``--file-cache``): served at disk speed."""

    path: str

    @classmethod
    def render(cls, body: CsvBody, path: str) -> FileBody:
        """Render ``body`` into ``path`` (atomically) and return the file-backed body."""
        partial = f"{path}.partial"
        with open(partial, "wb") as out:  # noqa: PTH123 - plain file I/O
            for chunk in body.chunks(1 << 20):
                out.write(chunk)
        os.replace(partial, path)  # noqa: PTH105
        return cls(path)

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        """Yield the file in fixed-size chunks."""
        with open(self.path, "rb") as source:  # noqa: PTH123 - plain file I/O
            while chunk := source.read(chunk_size):
                yield chunk

    def length(self) -> int:
        """The file size in bytes."""
        return os.path.getsize(self.path)  # noqa: PTH202
