"""Windows in, records out: export jobs in flight, records in time order.

The run's grid windows are cut into export spans (``spans.SpanPlanner``), one
``SpanJob`` each. Up to ``max_concurrent_exports`` jobs are started and polled
by worker threads while the main thread reads the oldest finished job, so the
wait for one export overlaps the download of another. Everything that writes
Singer messages stays on the main thread: export ids that workers started are
written to STATE by ``save_ids`` (the only caller of ``export_started``), and
the bookmark only moves over a contiguous run of finished jobs
(``window_finished``, its only writer).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Final, Protocol

from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportFailedError,
    ExportTimeoutError,
)
from tap_emarsys_registrations.extraction.job import SpanJob
from tap_emarsys_registrations.extraction.job_reader import JobReader
from tap_emarsys_registrations.extraction.spans import SpanPlanner, SpanPolicy

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from tap_emarsys_registrations.delivery.base import Delivery
    from tap_emarsys_registrations.emarsys.exports import ExportJobs
    from tap_emarsys_registrations.extraction.job import PartExport
    from tap_emarsys_registrations.extraction.plan import ExportPlan
    from tap_emarsys_registrations.extraction.progress import RunProgress
    from tap_emarsys_registrations.extraction.spans import Span
    from tap_emarsys_registrations.windows import Window

LOGGER: Final = logging.getLogger(__name__)
HTTP_BAD_REQUEST: Final = 400
WAIT_SLICE_SECONDS: Final = 0.1


class StateSink(Protocol):
    """Where the pipeline records progress (the stream's STATE)."""

    def saved_export(self, window: Window, fingerprint: str, part: int = 0) -> int | None:
        """The export id a previous run started for this window part and request, if any."""

    def saved_end(self, start: dt.datetime) -> dt.datetime | None:
        """The end of the span whose export a previous run saved under ``start``, if any."""

    def export_started(
        self, window: Window, export_id: int, fingerprint: str, part: int = 0
    ) -> None:
        """Persist a new export id before waiting for it."""

    def window_finished(self, window: Window) -> None:
        """Advance the bookmark past ``window``; all its records were emitted."""


class Extraction:
    """Runs the windows of one sync and yields their records in window order."""

    def __init__(
        self,
        jobs: ExportJobs,
        plan: ExportPlan,
        *,
        sink: StateSink,
        progress: RunProgress,
        delivery: Delivery,
        stop: threading.Event | None = None,
        policy: SpanPolicy | None = None,
    ) -> None:
        self._jobs = jobs
        self._plan = plan
        self._sink = sink
        self._progress = progress
        self._stop = stop or threading.Event()
        self._policy = policy or SpanPolicy(
            target_rows=1, max_windows=1, concurrency=max(1, plan.concurrency)
        )
        self._in_flight: deque[tuple[SpanJob, Future[None]]] = deque()
        self._reader = JobReader(
            plan=plan,
            delivery=delivery,
            progress=progress,
            restart=self.restart_part,
            on_progress=self.save_ids,
            count_windows=self._policy.merging,
        )

    def run(self, windows: list[Window]) -> Iterator[dict[str, Any]]:
        """Yield the records of every window; mark each job finished after its records."""
        self._progress.run_started(windows, self._plan.field_count)
        planner = SpanPlanner(self._policy, windows)
        workers = max(1, self._plan.concurrency)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        try:
            while True:
                while len(self._in_flight) < workers:
                    span = self._next_span(planner)
                    if span is None:
                        break
                    self._in_flight.append(self._submit(pool, span))
                if not self._in_flight:
                    break
                job, future = self._in_flight[0]
                self._progress.window_started(job.window)
                try:
                    self._await(future)
                except _SplitError:
                    self._split(pool, job)
                    continue
                yield from self._reader.records(job)
                self.save_ids()
                planner.observe(job.read())
                self._sink.window_finished(job.window)
                job.checkpointed()
                self._in_flight.popleft()
                self._reader.files_done(job)
                self._progress.window_finished(job.window)
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            self.save_ids()
        self._progress.run_finished()

    def _next_span(self, planner: SpanPlanner) -> Span | None:
        """The next span: a saved export's own span first, else the planner's choice."""
        start = planner.next_start()
        if start is None:
            return None
        return planner.next_span(planner.saved_span_windows(self._sink.saved_end(start)))

    def _split(self, pool: ThreadPoolExecutor, job: SpanJob) -> None:
        """Main thread: replace a failed merged job by jobs for its two halves."""
        first, second = job.span.halves()
        LOGGER.warning(
            "%s: the export over %d windows failed; exporting %s and %s separately",
            self._progress.describe(job.window),
            len(job.span.windows),
            first,
            second,
        )
        self._in_flight.popleft()
        later = self._submit(pool, second)
        self._in_flight.appendleft(later)
        self._in_flight.appendleft(self._submit(pool, first))

    def _submit(self, pool: ThreadPoolExecutor, span: Span) -> tuple[SpanJob, Future[None]]:
        """Main thread: a job for ``span``, with the export ids STATE saved for it."""
        window = span.window
        requests = [self._plan.request_for(window, k) for k in range(len(self._plan.parts))]
        job = SpanJob(
            span,
            [
                (request, self._sink.saved_export(window, request.fingerprint(), k))
                for k, request in enumerate(requests)
            ],
        )
        return job, pool.submit(self._prepare, job)

    def save_ids(self) -> None:
        """Write the export ids workers started into STATE (main thread; the only writer)."""
        for job, _ in list(self._in_flight):
            for new in job.take_new_ids():
                self._sink.export_started(new.window, new.export_id, new.fingerprint, new.part)

    def _await(self, future: Future[None]) -> None:
        while True:
            done, _ = wait([future], timeout=WAIT_SLICE_SECONDS)
            self.save_ids()
            if done:
                future.result()
                return

    def _start(self, job: SpanJob, part: PartExport) -> None:
        export_id = self._jobs.start(part.request, self._progress.describe(job.window))
        job.part_started(part, export_id)
        self._progress.export_started(job.window, export_id, part.request.time_range)

    def _prepare(self, job: SpanJob) -> None:
        """Worker: reuse or start every part's export, then wait until all are done."""
        for part, saved in zip(job.parts, job.saved, strict=True):
            if saved:
                self._progress.export_reused(job.window, part.export_id)
            else:
                self._start(job, part)
        for part in job.parts:
            self._wait_reusing(job, part)

    def _wait_reusing(self, job: SpanJob, part: PartExport) -> None:
        """Wait for a part's export; a saved one that failed or is unknown is replaced."""
        while True:
            try:
                self._wait_done(job, part)
            except (ExportFailedError, ExportTimeoutError) as exc:
                if part.started and job.span.merged:
                    raise _SplitError from exc
                if part.started or isinstance(exc, ExportTimeoutError):
                    raise
                LOGGER.info("Saved export %d had failed; starting a new one", part.export_id)
            except EmarsysAPIError as exc:
                if part.started or exc.status != HTTP_BAD_REQUEST:
                    raise
                LOGGER.info(
                    "Saved export %d is unknown to Emarsys; starting a new one", part.export_id
                )
            else:
                return
            self._start(job, part)

    def _wait_done(self, job: SpanJob, part: PartExport) -> None:
        window = job.window
        status = self._jobs.wait_until_done(
            part.export_id,
            self._progress.describe(window, part.export_id),
            lambda status, elapsed: self._progress.status_changed(window, status, elapsed),
        )
        job.part_done(part, status)

    def restart_part(self, job: SpanJob, part: PartExport) -> None:
        """Main thread: export an expired part again and wait for it."""
        self._start(job, part)
        self.save_ids()
        self._wait_done(job, part)


class _SplitError(Exception):
    """A merged span's export failed or timed out: export its halves instead."""
