"""One export job: a span of grid windows, its export parts, their state and its checkpoint.

A job is the only object a window's journey changes. Worker threads call
``part_started`` and ``part_done``; the main thread reads it, skips the rows an
earlier read of the same files already handed on (``fresh``, the one place that
does), counts rows per grid window, and checkpoints it once every row is out.
Export ids a worker started wait in ``new_ids`` until the main thread writes
them to STATE (``Extraction.save_ids``, the one place that does).

    PLANNED -> STARTED (every part has an export) -> DONE (every export is done)
            -> READ (every record handed on) -> CHECKPOINTED (bookmark at its end)

A part whose file expired goes back to STARTED with a new export, and its
rows are read again from the first (a new file may order them differently).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tap_emarsys_registrations.delivery.body import ReadMemory
from tap_emarsys_registrations.extraction.spans import Observation
from tap_emarsys_registrations.windows import iso_utc

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_emarsys_registrations.emarsys.exports import ExportRequest
    from tap_emarsys_registrations.extraction.spans import Span
    from tap_emarsys_registrations.windows import Window

T = TypeVar("T")


class JobState(enum.Enum):
    """Where a job stands."""

    PLANNED = "planned"
    STARTED = "started"
    DONE = "done"
    READ = "read"
    CHECKPOINTED = "checkpointed"


@dataclass(frozen=True, slots=True)
class NewId:
    """An export id started for a job part, not yet in STATE."""

    window: Window
    export_id: int
    fingerprint: str
    part: int


@dataclass
class PartExport:
    """One export of a job (a job has several when more than 20 fields are selected)."""

    index: int
    request: ExportRequest
    export_id: int = 0
    status: dict[str, Any] = field(default_factory=dict)
    started: int = 0
    """Exports this run started for the part (0: a saved one is reused)."""
    memory: ReadMemory = field(default_factory=ReadMemory)


class SpanJob:
    """The export of one span: its parts, their state transitions and its checkpoint."""

    def __init__(self, span: Span, requests: Iterable[tuple[ExportRequest, int | None]]) -> None:
        self.span = span
        self.parts = [
            PartExport(index, request, saved or 0)
            for index, (request, saved) in enumerate(requests)
        ]
        self.saved = [part.export_id != 0 for part in self.parts]
        self.state = JobState.STARTED if all(self.saved) else JobState.PLANNED
        self.rows_done = 0
        self.rows_per_window: dict[str, int] = {}
        self._new_ids: list[NewId] = []
        self._lock = threading.Lock()

    @property
    def window(self) -> Window:
        """The whole span the job exports."""
        return self.span.window

    def part_started(self, part: PartExport, export_id: int) -> None:
        """A new export runs for ``part``: remember its id until STATE has it."""
        part.export_id = export_id
        part.status = {}
        part.memory = ReadMemory()
        part.started += 1
        self.state = JobState.STARTED
        with self._lock:
            self._new_ids.append(
                NewId(self.window, export_id, part.request.fingerprint(), part.index)
            )

    def part_done(self, part: PartExport, status: dict[str, Any]) -> None:
        """``part``'s export is done; the job is DONE when every part is."""
        part.status = status
        if all(p.status for p in self.parts):
            self.state = JobState.DONE

    def take_new_ids(self) -> list[NewId]:
        """The ids started since the last call (main thread, to write them to STATE)."""
        with self._lock:
            taken, self._new_ids = self._new_ids, []
        return taken

    def restart_reading(self) -> None:
        """A part was exported again: its rows come from the first, in a new order."""
        self.rows_done = 0
        self.rows_per_window.clear()

    def fresh(self, items: Iterable[T]) -> Iterator[T]:
        """The items of a read not handed on by an earlier read of the same files.

        The same file yields the same rows in the same order, so an item is new
        when it comes after the ``rows_done`` handed on before; each one handed
        on is counted as soon as the next is asked for.
        """
        done = self.rows_done
        for index, item in enumerate(items, start=1):
            if index > done:
                yield item
                self.rows_done = index

    def count(self, window_start: str) -> None:
        """Count a record handed on for its grid window (for the density of later spans)."""
        self.rows_per_window[window_start] = self.rows_per_window.get(window_start, 0) + 1

    def read(self) -> Observation:
        """Every record is out: what the export held, per grid window."""
        self.state = JobState.READ
        counts = self.rows_per_window
        rows = tuple(counts.get(iso_utc(window.start), 0) for window in self.span.windows)
        return Observation(self.span, rows)

    def checkpointed(self) -> None:
        """The bookmark is at the span's end."""
        self.state = JobState.CHECKPOINTED
