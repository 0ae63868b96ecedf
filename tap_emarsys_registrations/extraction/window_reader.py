"""Read a prepared window: open its export files and turn them into records.

A body cut short is read again and the records already handed on are
skipped, since the same file yields the same rows in the same order. An
expired export is exported again; a new file may order rows differently, so
that window's records are emitted again from the start (targets upsert on
the key). Windows split over several exports are joined row by row.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.delivery.body import data_rows
from tap_emarsys_registrations.errors import (
    ExportExpiredError,
    RetriesExhaustedError,
    TruncatedDownloadError,
)
from tap_emarsys_registrations.records.csv_records import RecordBuilder
from tap_emarsys_registrations.records.join import PartJoin
from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from tap_emarsys_registrations.delivery.base import Delivery
    from tap_emarsys_registrations.delivery.body import Body
    from tap_emarsys_registrations.extraction.parts import Part, Prepared
    from tap_emarsys_registrations.extraction.plan import ExportPlan
    from tap_emarsys_registrations.extraction.progress import RunProgress

LOGGER: Final = logging.getLogger(__name__)
MAX_DOWNLOAD_ATTEMPTS: Final = 5
MAX_EXPORTS_PER_PART: Final = 3
# How often (in records) the main thread writes export ids reported by workers.
NOTICE_EVERY_RECORDS: Final = 1024


class WindowReader:
    """Turns the finished exports of one window into its records."""

    def __init__(
        self,
        *,
        plan: ExportPlan,
        delivery: Delivery,
        progress: RunProgress,
        restart: Callable[[Prepared, Part], None],
        on_progress: Callable[[], None],
    ) -> None:
        self._plan = plan
        self._delivery = delivery
        self._progress = progress
        self._restart = restart
        self._on_progress = on_progress
        self._converter = LocalTimestampConverter(plan.zone)
        self._emitted = 0

    def window_done(self, prepared: Prepared) -> None:
        """Let the delivery tidy up each part's file."""
        for part in prepared.parts:
            self._delivery.window_done(part.cursor.export_id, part.cursor.status)

    def records(self, prepared: Prepared) -> Iterator[dict[str, Any]]:
        """Yield the window's records, recovering from cut bodies and expired exports."""
        attempts = 0
        self._emitted = 0
        exports = {part.index: max(part.started, 1) for part in prepared.parts}
        while True:
            describe = self._describe(prepared)
            try:
                yield from self._read(prepared)
            except TruncatedDownloadError as exc:
                attempts += 1
                if attempts >= MAX_DOWNLOAD_ATTEMPTS:
                    msg = f"{describe}: the download broke off {attempts} times ({exc})"
                    raise RetriesExhaustedError(msg) from None
                LOGGER.warning(
                    "%s: download incomplete (%s); reading again, skipping the %d rows "
                    "already emitted",
                    describe,
                    exc,
                    prepared.rows_done,
                )
            except _PartExpiredError as expired:
                part = expired.part
                self._progress.export_expired(prepared.window, part.cursor.export_id)
                exports[part.index] += 1
                if exports[part.index] > MAX_EXPORTS_PER_PART:
                    msg = (
                        f"{describe}: the export expired {MAX_EXPORTS_PER_PART} times before it "
                        "could be downloaded"
                    )
                    raise RetriesExhaustedError(msg) from None
                self._restart(prepared, part)
                prepared.rows_done = 0
            else:
                self._progress.rows_emitted(self._emitted)
                return

    def _count(self, records: int) -> None:
        """Count records handed on; now and then write export ids workers reported."""
        before = self._emitted
        self._emitted += records
        if before // NOTICE_EVERY_RECORDS != self._emitted // NOTICE_EVERY_RECORDS:
            self._on_progress()

    def _describe(self, prepared: Prepared) -> str:
        ids = ", ".join(str(part.cursor.export_id) for part in prepared.parts)
        return self._progress.describe(prepared.window, None) + f", export {ids}"

    def _open(self, prepared: Prepared) -> list[Body]:
        bodies: list[Body] = []
        try:
            for part in prepared.parts:
                describe = self._progress.describe(prepared.window, part.cursor.export_id)
                try:
                    bodies.append(
                        self._delivery.open(part.cursor.export_id, part.cursor.status, describe),
                    )
                except ExportExpiredError:
                    raise _PartExpiredError(part) from None
        except BaseException:
            for body in bodies:
                body.close()
            raise
        return bodies

    def _read(self, prepared: Prepared) -> Iterator[dict[str, Any]]:
        bodies = self._open(prepared)
        builders: list[RecordBuilder] = []
        streams: list[Generator[Any, None, None]] = []
        for part, body in zip(prepared.parts, bodies, strict=True):
            layout = self._plan.parts[part.index]
            describe = self._progress.describe(prepared.window, part.cursor.export_id)
            builder = RecordBuilder(layout, prepared.window, self._converter, describe)
            builders.append(builder)
            streams.append(
                data_rows(
                    body,
                    layout=layout,
                    delimiter=self._plan.options.delimiter,
                    builder=builder,
                    cursor=part.cursor,
                    done=prepared if len(bodies) == 1 else None,
                ),
            )
        try:
            if len(streams) == 1:  # the common case, record by record: no extra layer
                for record in streams[0]:
                    yield record
                    self._emitted += 1
                    if not self._emitted % NOTICE_EVERY_RECORDS:
                        self._on_progress()
                return
            join = PartJoin(builders, with_timestamp=self._plan.options.with_timestamp)
            for index, record in enumerate(join.records(streams), start=1):
                if index > prepared.rows_done:
                    yield record
                    prepared.rows_done = index
                    self._count(1)
            if join.unmatched:
                LOGGER.warning(
                    "%s: %d row(s) were missing from some export parts; their fields from "
                    "those parts are null",
                    self._describe(prepared),
                    join.unmatched,
                )
        finally:
            for stream in streams:
                stream.close()


class _PartExpiredError(Exception):
    """One part's file is gone (410/4003)."""

    def __init__(self, part: Part) -> None:
        super().__init__(part.index)
        self.part = part
