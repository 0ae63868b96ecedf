"""Read a finished job: open its export files and turn their rows into records.

A body cut short is read again and the rows already handed on are skipped
(``SpanJob.fresh``), since the same file yields the same rows in the same
order. An expired export is exported again; a new file may order rows
differently, so that job's records are emitted again from the start (targets
upsert on the key). Jobs split over several exports are joined row by row.
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
from tap_emarsys_registrations.fields import WINDOW_START
from tap_emarsys_registrations.records.csv_records import RecordBuilder
from tap_emarsys_registrations.records.join import PartJoin
from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from tap_emarsys_registrations.delivery.base import Delivery
    from tap_emarsys_registrations.delivery.body import Body
    from tap_emarsys_registrations.extraction.job import PartExport, SpanJob
    from tap_emarsys_registrations.extraction.plan import ExportPlan
    from tap_emarsys_registrations.extraction.progress import RunProgress

LOGGER: Final = logging.getLogger(__name__)
MAX_DOWNLOAD_ATTEMPTS: Final = 5
MAX_EXPORTS_PER_PART: Final = 3
# How often (in records) the main thread writes export ids reported by workers.
NOTICE_EVERY_RECORDS: Final = 1024


class JobReader:
    """Turns the finished exports of one job into its records."""

    def __init__(
        self,
        *,
        plan: ExportPlan,
        delivery: Delivery,
        progress: RunProgress,
        restart: Callable[[SpanJob, PartExport], None],
        on_progress: Callable[[], None],
        count_windows: bool = False,
    ) -> None:
        self._plan = plan
        self._delivery = delivery
        self._progress = progress
        self._restart = restart
        self._on_progress = on_progress
        self._converter = LocalTimestampConverter(plan.zone)
        self._emitted = 0
        self._count_windows = count_windows

    def files_done(self, job: SpanJob) -> None:
        """Let the delivery tidy up each part's file."""
        for part in job.parts:
            self._delivery.window_done(part.export_id, part.status)

    def records(self, job: SpanJob) -> Iterator[dict[str, Any]]:
        """Yield the job's records, recovering from cut bodies and expired exports."""
        attempts = 0
        self._emitted = 0
        exports = {part.index: max(part.started, 1) for part in job.parts}
        while True:
            describe = self._describe(job)
            try:
                yield from self._read(job)
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
                    job.rows_done,
                )
            except _PartExpiredError as expired:
                part = expired.part
                self._progress.export_expired(job.window, part.export_id)
                exports[part.index] += 1
                if exports[part.index] > MAX_EXPORTS_PER_PART:
                    msg = (
                        f"{describe}: the export expired {MAX_EXPORTS_PER_PART} times before it "
                        "could be downloaded"
                    )
                    raise RetriesExhaustedError(msg) from None
                self._restart(job, part)
                job.restart_reading()
            else:
                self._progress.rows_emitted(self._emitted)
                return

    def _counted(self, job: SpanJob, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Count records handed on; now and then write export ids workers reported.

        Records are counted per grid window too when spans are sized from them.
        """
        count = job.count if self._count_windows else None
        for record in records:
            yield record
            if count is not None:
                count(record[WINDOW_START])
            self._emitted += 1
            if not self._emitted % NOTICE_EVERY_RECORDS:
                self._on_progress()

    def _describe(self, job: SpanJob) -> str:
        ids = ", ".join(str(part.export_id) for part in job.parts)
        return self._progress.describe(job.window, None) + f", export {ids}"

    def _open(self, job: SpanJob) -> list[Body]:
        bodies: list[Body] = []
        try:
            for part in job.parts:
                describe = self._progress.describe(job.window, part.export_id)
                try:
                    bodies.append(self._delivery.open(part.export_id, part.status, describe))
                except ExportExpiredError:
                    raise _PartExpiredError(part) from None
        except BaseException:
            for body in bodies:
                body.close()
            raise
        return bodies

    def _read(self, job: SpanJob) -> Iterator[dict[str, Any]]:
        bodies = self._open(job)
        builders: list[RecordBuilder] = []
        streams: list[Generator[tuple[int, list[str]], None, None]] = []
        for part, body in zip(job.parts, bodies, strict=True):
            layout = self._plan.parts[part.index]
            describe = self._progress.describe(job.window, part.export_id)
            grid = job.span.windows
            builder = RecordBuilder(layout, job.window, self._converter, describe, grid)
            builders.append(builder)
            streams.append(
                data_rows(
                    body,
                    delimiter=self._plan.options.delimiter,
                    memory=part.memory,
                    check_header=builder.check_header if layout.header else None,
                ),
            )
        try:
            if len(streams) == 1:  # the common case: skip rows, then build the rest
                build = builders[0].build
                built = (build(row, number) for number, row in job.fresh(streams[0]))
                yield from self._counted(job, (record for record in built if record is not None))
                return
            join = PartJoin(builders, with_timestamp=self._plan.options.with_timestamp)
            yield from self._counted(job, job.fresh(join.records(streams)))
            if join.unmatched:
                LOGGER.warning(
                    "%s: %d row(s) were missing from some export parts; their fields from "
                    "those parts are null",
                    self._describe(job),
                    join.unmatched,
                )
        finally:
            for stream in streams:
                stream.close()


class _PartExpiredError(Exception):
    """One part's file is gone (410/4003)."""

    def __init__(self, part: PartExport) -> None:
        super().__init__(part.index)
        self.part = part
