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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from tap_emarsys_registrations.download import Cursor, stream_records
from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportExpiredError,
    ExportFailedError,
    RetriesExhaustedError,
    TruncatedDownloadError,
)
from tap_emarsys_registrations.export import ExportRequest
from tap_emarsys_registrations.timestamps import LocalTimestampConverter
from tap_emarsys_registrations.windows import (
    format_local,
    local_exact_range,
    local_request_range,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from zoneinfo import ZoneInfo

    from tap_emarsys_registrations.csv_records import Layout
    from tap_emarsys_registrations.delivery import Delivery
    from tap_emarsys_registrations.export import ExportJobs
    from tap_emarsys_registrations.progress import RunProgress
    from tap_emarsys_registrations.settings import ExportOptions
    from tap_emarsys_registrations.windows import Window

LOGGER: Final = logging.getLogger(__name__)
MAX_DOWNLOAD_ATTEMPTS: Final = 5
MAX_EXPORTS_PER_WINDOW: Final = 3
HTTP_BAD_REQUEST: Final = 400
# How often (in records) the main thread writes export ids reported by workers.
NOTICE_EVERY_RECORDS: Final = 1024
WAIT_SLICE_SECONDS: Final = 0.1


class StateSink(Protocol):
    """Where the pipeline records progress (the stream's STATE)."""

    def saved_export(self, window: Window, fingerprint: str) -> int | None:
        """The export id a previous run started for this window and request, if any."""

    def export_started(self, window: Window, export_id: int, fingerprint: str) -> None:
        """Persist a new export id before waiting for it."""

    def window_finished(self, window: Window) -> None:
        """Advance the bookmark past ``window``; all its records were emitted."""


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What every export of the run asks for."""

    layout: Layout
    options: ExportOptions
    zone: ZoneInfo
    concurrency: int = 1

    def request_for(self, window: Window) -> ExportRequest:
        """The export request that covers ``window`` under every bound convention."""
        if self.layout.with_timestamp:
            low, high = local_request_range(window, self.zone)
        else:  # without timestamps rows cannot be filtered: ask for the window itself
            low, high = local_exact_range(window, self.zone)
        return ExportRequest(
            time_range=(format_local(low), format_local(high)),
            contact_fields=tuple(f.id for f in self.layout.fields),
            options=self.options,
        )


@dataclass
class _Prepared:
    """A window whose export is done (or failed) in a worker thread."""

    window: Window
    request: ExportRequest
    cursor: Cursor
    exports_started: int


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
        self._delivery = delivery
        self._plan = plan
        self._sink = sink
        self._progress = progress
        self._stop = stop or threading.Event()
        self._converter = LocalTimestampConverter(plan.zone)
        self._notices: queue.SimpleQueue[tuple[Window, int, str]] = queue.SimpleQueue()

    def run(self, windows: list[Window]) -> Iterator[dict[str, Any]]:
        """Yield the records of every window; mark each window finished after its records."""
        self._progress.run_started(windows, len(self._plan.layout.fields))
        requests = {w: self._plan.request_for(w) for w in windows}
        saved = {w: self._sink.saved_export(w, requests[w].fingerprint()) for w in windows}
        workers = max(1, self._plan.concurrency)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        futures: list[Future[_Prepared]] = []
        try:
            for index, window in enumerate(windows):
                while len(futures) < min(len(windows), index + workers):
                    ahead = windows[len(futures)]
                    futures.append(pool.submit(self._prepare, ahead, requests[ahead], saved[ahead]))
                self._progress.window_started(window)
                prepared = self._await(futures[index])
                yield from self._emit(prepared)
                self._write_notices()
                self._sink.window_finished(window)
                self._delivery.window_done(prepared.cursor.export_id, prepared.cursor.status)
                self._progress.window_finished(window)
                futures[index] = Future()  # release the finished window's result
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            self._write_notices()
        self._progress.run_finished()

    def _write_notices(self) -> None:
        """Write export ids that workers started into STATE (main thread only)."""
        while True:
            try:
                window, export_id, fingerprint = self._notices.get_nowait()
            except queue.Empty:
                return
            self._sink.export_started(window, export_id, fingerprint)

    def _await(self, future: Future[_Prepared]) -> _Prepared:
        while True:
            done, _ = wait([future], timeout=WAIT_SLICE_SECONDS)
            self._write_notices()
            if done:
                return future.result()

    def _start(self, window: Window, request: ExportRequest) -> int:
        export_id = self._jobs.start(request, self._progress.describe(window))
        self._notices.put((window, export_id, request.fingerprint()))
        self._progress.export_started(window, export_id, request.time_range)
        return export_id

    def _prepare(self, window: Window, request: ExportRequest, saved: int | None) -> _Prepared:
        """Worker: reuse or start the window's export and wait until it is done."""
        started = 0
        cursor: Cursor | None = None
        if saved is not None:
            self._progress.export_reused(window, saved)
            cursor = Cursor(saved)
        while True:
            if cursor is None:
                started += 1
                cursor = Cursor(self._start(window, request))
            try:
                self._wait_done(window, cursor)
            except ExportFailedError:
                if started:
                    raise
                LOGGER.info("Saved export %d had failed; starting a new one", saved)
                cursor = None
            except EmarsysAPIError as exc:
                if started or exc.status != HTTP_BAD_REQUEST:
                    raise
                LOGGER.info("Saved export %d is unknown to Emarsys; starting a new one", saved)
                cursor = None
            else:
                return _Prepared(window, request, cursor, started)

    def _wait_done(self, window: Window, cursor: Cursor) -> None:
        cursor.status = self._jobs.wait_until_done(
            cursor.export_id,
            self._progress.describe(window, cursor.export_id),
            lambda status, elapsed: self._progress.status_changed(window, status, elapsed),
        )

    def _emit(self, prepared: _Prepared) -> Iterator[dict[str, Any]]:
        """Download the window, re-downloading a cut body and re-exporting an expired one."""
        window, cursor = prepared.window, prepared.cursor
        exports, attempts, emitted = max(prepared.exports_started, 1), 0, 0
        while True:
            describe = self._progress.describe(window, cursor.export_id)
            try:
                body = self._delivery.open(cursor.export_id, cursor.status, describe)
                records = stream_records(
                    body,
                    layout=self._plan.layout,
                    delimiter=self._plan.options.delimiter,
                    window=window,
                    converter=self._converter,
                    cursor=cursor,
                    describe=describe,
                )
                for record in records:
                    yield record
                    emitted += 1
                    if emitted % NOTICE_EVERY_RECORDS == 0:
                        self._write_notices()
                self._progress.rows_emitted(emitted)
            except TruncatedDownloadError as exc:
                attempts += 1
                if attempts >= MAX_DOWNLOAD_ATTEMPTS:
                    raise RetriesExhaustedError(
                        f"{describe}: the download broke off {attempts} times ({exc})",
                    ) from None
                LOGGER.warning(
                    "%s: download incomplete (%s); downloading again, skipping the %d rows "
                    "already emitted",
                    describe,
                    exc,
                    cursor.rows_done,
                )
            except ExportExpiredError:
                self._progress.export_expired(window, cursor.export_id)
                exports += 1
                if exports > MAX_EXPORTS_PER_WINDOW:
                    raise RetriesExhaustedError(
                        f"{describe}: the export expired {MAX_EXPORTS_PER_WINDOW} times before "
                        "it could be downloaded",
                    ) from None
                # A new export may order rows differently: re-emit the window
                # (targets upsert on the key) rather than skip by position.
                cursor = Cursor(self._start(window, prepared.request))
                self._write_notices()
                self._wait_done(window, cursor)
            else:
                return
