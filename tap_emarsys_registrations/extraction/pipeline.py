"""Windows in, records out: several exports in flight, records in time order.

Up to ``max_concurrent_exports`` windows are started and polled by worker
threads while the main thread downloads the oldest finished window, so the
wait for one export overlaps the download of another. Everything that writes
Singer messages stays on the main thread: export ids reported by workers are
written to STATE as soon as the main thread gets to them, and the bookmark
only ever moves over a contiguous run of finished windows.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Final, Protocol

from tap_emarsys_registrations.delivery.body import Cursor
from tap_emarsys_registrations.errors import EmarsysAPIError, ExportFailedError
from tap_emarsys_registrations.extraction.parts import Part, Prepared
from tap_emarsys_registrations.extraction.window_reader import WindowReader

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_emarsys_registrations.delivery.base import Delivery
    from tap_emarsys_registrations.emarsys.exports import ExportJobs, ExportRequest
    from tap_emarsys_registrations.extraction.plan import ExportPlan
    from tap_emarsys_registrations.extraction.progress import RunProgress
    from tap_emarsys_registrations.windows import Window

LOGGER: Final = logging.getLogger(__name__)
HTTP_BAD_REQUEST: Final = 400
WAIT_SLICE_SECONDS: Final = 0.1


class StateSink(Protocol):
    """Where the pipeline records progress (the stream's STATE)."""

    def saved_export(self, window: Window, fingerprint: str, part: int = 0) -> int | None:
        """The export id a previous run started for this window part and request, if any."""

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
    ) -> None:
        self._jobs = jobs
        self._plan = plan
        self._sink = sink
        self._progress = progress
        self._stop = stop or threading.Event()
        self._notices: queue.SimpleQueue[tuple[Window, int, str, int]] = queue.SimpleQueue()
        self._reader = WindowReader(
            plan=plan,
            delivery=delivery,
            progress=progress,
            restart=self.restart_part,
            on_progress=self._write_notices,
        )

    def run(self, windows: list[Window]) -> Iterator[dict[str, Any]]:
        """Yield the records of every window; mark each window finished after its records."""
        self._progress.run_started(windows, self._plan.field_count)
        saved = {w: self._saved(w) for w in windows}
        workers = max(1, self._plan.concurrency)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        futures: list[Future[Prepared]] = []
        try:
            for index, window in enumerate(windows):
                while len(futures) < min(len(windows), index + workers):
                    ahead = windows[len(futures)]
                    futures.append(pool.submit(self._prepare, ahead, saved[ahead]))
                self._progress.window_started(window)
                prepared = self._await(futures[index])
                yield from self._reader.records(prepared)
                self._write_notices()
                self._sink.window_finished(window)
                self._reader.window_done(prepared)
                self._progress.window_finished(window)
                futures[index] = Future()  # release the finished window's result
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            self._write_notices()
        self._progress.run_finished()

    def _saved(self, window: Window) -> list[tuple[ExportRequest, int | None]]:
        requests = [self._plan.request_for(window, k) for k in range(len(self._plan.parts))]
        return [
            (request, self._sink.saved_export(window, request.fingerprint(), k))
            for k, request in enumerate(requests)
        ]

    def _write_notices(self) -> None:
        """Write export ids that workers started into STATE (main thread only)."""
        while True:
            try:
                window, export_id, fingerprint, part = self._notices.get_nowait()
            except queue.Empty:
                return
            self._sink.export_started(window, export_id, fingerprint, part)

    def _await(self, future: Future[Prepared]) -> Prepared:
        while True:
            done, _ = wait([future], timeout=WAIT_SLICE_SECONDS)
            self._write_notices()
            if done:
                return future.result()

    def _start(self, window: Window, part: Part) -> None:
        export_id = self._jobs.start(part.request, self._progress.describe(window))
        part.cursor = Cursor(export_id)
        part.started += 1
        self._notices.put((window, export_id, part.request.fingerprint(), part.index))
        self._progress.export_started(window, export_id, part.request.time_range)

    def _prepare(self, window: Window, saved: list[tuple[ExportRequest, int | None]]) -> Prepared:
        """Worker: reuse or start every part's export, then wait until all are done."""
        prepared = Prepared(window)
        for index, (request, saved_id) in enumerate(saved):
            part = Part(index, request, Cursor(saved_id or 0))
            if saved_id is None:
                self._start(window, part)
            else:
                self._progress.export_reused(window, saved_id)
            prepared.parts.append(part)
        for part in prepared.parts:
            self._wait_reusing(window, part)
        return prepared

    def _wait_reusing(self, window: Window, part: Part) -> None:
        """Wait for a part's export; a saved one that failed or is unknown is replaced."""
        while True:
            try:
                self._wait_done(window, part.cursor)
            except ExportFailedError:
                if part.started:
                    raise
                LOGGER.info("Saved export %d had failed; starting a new one", part.cursor.export_id)
            except EmarsysAPIError as exc:
                if part.started or exc.status != HTTP_BAD_REQUEST:
                    raise
                LOGGER.info(
                    "Saved export %d is unknown to Emarsys; starting a new one",
                    part.cursor.export_id,
                )
            else:
                return
            self._start(window, part)

    def _wait_done(self, window: Window, cursor: Cursor) -> None:
        cursor.status = self._jobs.wait_until_done(
            cursor.export_id,
            self._progress.describe(window, cursor.export_id),
            lambda status, elapsed: self._progress.status_changed(window, status, elapsed),
        )

    def restart_part(self, prepared: Prepared, part: Part) -> None:
        """Main thread: export an expired part again and wait for it."""
        self._start(prepared.window, part)
        self._write_notices()
        self._wait_done(prepared.window, part.cursor)
