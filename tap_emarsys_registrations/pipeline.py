"""Windows in, records out: the export of each window, with recovery, in time order.

For every window the pipeline reuses the export saved in state or starts one,
records its id before waiting, waits, and streams the CSV into records. A
download cut short is downloaded again and the rows already emitted are
skipped; an expired export is started again. The window is reported finished
only after its last record has been handed on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import requests

from tap_emarsys_registrations.csv_records import ChunkReader, Layout, RecordBuilder, iter_rows
from tap_emarsys_registrations.errors import (
    EmarsysAPIError,
    ExportExpiredError,
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
    from collections.abc import Iterable, Iterator
    from zoneinfo import ZoneInfo

    from tap_emarsys_registrations.export import ExportJobs
    from tap_emarsys_registrations.progress import RunProgress
    from tap_emarsys_registrations.settings import ExportOptions
    from tap_emarsys_registrations.windows import Window

LOGGER: Final = logging.getLogger(__name__)
DOWNLOAD_CHUNK_BYTES: Final = 1 << 16
MAX_DOWNLOAD_ATTEMPTS: Final = 5
MAX_EXPORTS_PER_WINDOW: Final = 3
HTTP_BAD_REQUEST: Final = 400


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
class _Cursor:
    """How far the current export's rows have been handed on."""

    export_id: int
    rows_done: int = 0
    empty_bodies: int = 0


def _lookahead(rows: Iterable[list[str]]) -> Iterator[tuple[list[str], bool]]:
    """Pair each row with whether it is the last one."""
    iterator = iter(rows)
    previous = next(iterator, None)
    while previous is not None:
        current = next(iterator, None)
        yield previous, current is None
        previous = current


class Extraction:
    """Runs the windows of one sync and yields their records in window order."""

    def __init__(
        self,
        jobs: ExportJobs,
        plan: ExportPlan,
        sink: StateSink,
        progress: RunProgress,
    ) -> None:
        self._jobs = jobs
        self._plan = plan
        self._sink = sink
        self._progress = progress
        self._converter = LocalTimestampConverter(plan.zone)

    def run(self, windows: list[Window]) -> Iterator[dict[str, Any]]:
        """Yield the records of every window; mark each window finished after its records."""
        self._progress.run_started(windows, len(self._plan.layout.fields))
        for window in windows:
            self._progress.window_started(window)
            yield from self._window(window)
            self._sink.window_finished(window)
            self._progress.window_finished(window)
        self._progress.run_finished()

    def _window(self, window: Window) -> Iterator[dict[str, Any]]:
        request = self._plan.request_for(window)
        fingerprint = request.fingerprint()
        saved = self._sink.saved_export(window, fingerprint)
        cursor = _Cursor(saved) if saved is not None else None
        if cursor is not None:
            self._progress.export_reused(window, cursor.export_id)
        exports = 0
        while True:
            if cursor is None:
                exports += 1
                if exports > MAX_EXPORTS_PER_WINDOW:
                    raise RetriesExhaustedError(
                        f"{self._progress.describe(window)}: the export expired "
                        f"{MAX_EXPORTS_PER_WINDOW} times before it could be downloaded",
                    )
                export_id = self._jobs.start(request, self._progress.describe(window))
                self._sink.export_started(window, export_id, fingerprint)
                self._progress.export_started(window, export_id, request.time_range)
                cursor = _Cursor(export_id)
            try:
                yield from self._finish_export(window, cursor)
            except ExportExpiredError:
                self._progress.export_expired(window, cursor.export_id)
                cursor = None
            except EmarsysAPIError as exc:
                if saved is None or exc.status != HTTP_BAD_REQUEST or exports:
                    raise
                LOGGER.info("Saved export %d is unknown to Emarsys; starting a new one", saved)
                cursor = None
            else:
                return

    def _finish_export(self, window: Window, cursor: _Cursor) -> Iterator[dict[str, Any]]:
        describe = self._progress.describe(window, cursor.export_id)
        self._jobs.wait_until_done(
            cursor.export_id,
            describe,
            lambda status, elapsed: self._progress.status_changed(window, status, elapsed),
        )
        for attempt in range(1, MAX_DOWNLOAD_ATTEMPTS + 1):
            try:
                yield from self._download(window, cursor, describe)
            except TruncatedDownloadError as exc:
                if attempt == MAX_DOWNLOAD_ATTEMPTS:
                    raise RetriesExhaustedError(
                        f"{describe}: the download broke off {attempt} times ({exc})",
                    ) from None
                LOGGER.warning(
                    "%s: download incomplete (%s); downloading again, skipping the %d rows "
                    "already emitted",
                    describe,
                    exc,
                    cursor.rows_done,
                )
            else:
                return

    def _download(
        self,
        window: Window,
        cursor: _Cursor,
        describe: str,
    ) -> Iterator[dict[str, Any]]:
        layout = self._plan.layout
        builder = RecordBuilder(layout, window, self._converter, describe)
        response = self._jobs.open_download(cursor.export_id, describe)
        with response:
            reader = ChunkReader(_chunks(response))
            rows = iter_rows(reader, self._plan.options.delimiter)
            first_data_row = 2 if layout.header else 1
            data_index = 0
            for row_number, (row, is_last) in enumerate(_lookahead(rows), start=1):
                if is_last:
                    _check_complete(reader, response)
                if row_number < first_data_row:
                    builder.check_header(row)
                    continue
                if data_index < cursor.rows_done:
                    data_index += 1
                    continue
                if is_last and len(row) != layout.width:
                    msg = f"the last row has {len(row)} of {layout.width} columns"
                    raise TruncatedDownloadError(msg)
                record = builder.build(row, row_number)
                data_index += 1
                if record is not None:
                    self._progress.row_emitted()
                    yield record
                cursor.rows_done = data_index
            if reader.bytes_read == 0 and layout.header and cursor.empty_bodies == 0:
                # Zero rows still come with a header; an empty body is trusted only
                # when a second download says the same.
                cursor.empty_bodies += 1
                msg = "the body is empty, without even the header row"
                raise TruncatedDownloadError(msg)
            _check_complete(reader, response)


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """The body's chunks; a connection lost mid-body becomes a truncated download."""
    try:
        yield from response.iter_content(DOWNLOAD_CHUNK_BYTES)
    except (requests.RequestException, OSError) as exc:
        msg = f"connection lost mid-download ({type(exc).__name__})"
        raise TruncatedDownloadError(msg) from None


def _check_complete(reader: ChunkReader, response: requests.Response) -> None:
    """Raise when the body is shorter than announced or does not end with a line break."""
    length = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity") not in {"identity", ""}
    if length is not None and length.isdigit() and not encoded and reader.bytes_read < int(length):
        msg = f"received {reader.bytes_read} of {length} bytes"
        raise TruncatedDownloadError(msg)
    if reader.bytes_read and reader.last_byte not in {b"\n", b"\r"}:
        msg = "the body does not end with a line break"
        raise TruncatedDownloadError(msg)
