"""Progress lines an operator can follow: one per step, on the tap's logger (stderr)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tap_emarsys_registrations.windows import iso_utc

if TYPE_CHECKING:
    import datetime as dt
    import logging

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.emarsys.client import RequestStats
    from tap_emarsys_registrations.emarsys.ratelimit import RateGate
    from tap_emarsys_registrations.windows import Window


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest:02d}s"


class RunProgress:
    """Counts windows, exports and rows, and logs where the run stands."""

    def __init__(
        self,
        logger: logging.Logger,
        clock: Clock,
        stats: RequestStats,
        gate: RateGate,
    ) -> None:
        self._logger = logger
        self._clock = clock
        self._stats = stats
        self._gate = gate
        self._windows: list[Window] = []
        self._by_start: dict[dt.datetime, int] = {}
        self._by_end: dict[dt.datetime, int] = {}
        self._run_started = 0.0
        self._window_started = 0.0
        self._window_rows = 0
        self.rows = 0
        self.exports = 0
        self.windows_done = 0

    def _grid_windows(self, window: Window) -> tuple[int, int] | None:
        """The positions of the first and last grid windows an export span covers."""
        first, last = self._by_start.get(window.start), self._by_end.get(window.end)
        return (first, last) if first is not None and last is not None else None

    def describe(self, window: Window, export_id: int | None = None) -> str:
        """``window 3/10 [start, end)`` (or ``windows 3-9/10``), plus the export id: for errors."""
        positions = self._grid_windows(window)
        total = len(self._windows)
        if positions is None:
            where = "window "
        elif positions[0] == positions[1]:
            where = f"window {positions[0]}/{total} "
        else:
            where = f"windows {positions[0]}-{positions[1]}/{total} "
        text = f"{where}{window}"
        return f"{text}, export {export_id}" if export_id is not None else text

    def run_started(self, windows: list[Window], field_count: int) -> None:
        """Log what the run will do."""
        self._windows = windows
        self._by_start = {window.start: n for n, window in enumerate(windows, start=1)}
        self._by_end = {window.end: n for n, window in enumerate(windows, start=1)}
        self._run_started = self._clock.monotonic()
        if not windows:
            self._logger.info("Nothing to export: the bookmark is already at the end date")
            return
        self._logger.info(
            "Exporting registrations from %s to %s: %d window(s), %d field(s) per export",
            iso_utc(windows[0].start),
            iso_utc(windows[-1].end),
            len(windows),
            field_count,
        )

    def window_started(self, window: Window) -> None:
        """Note the start of a window."""
        self._logger.debug("%s: starting", self.describe(window))
        self._window_started = self._clock.monotonic()
        self._window_rows = 0

    def export_started(self, window: Window, export_id: int, time_range: tuple[str, str]) -> None:
        """Log a new export."""
        self.exports += 1
        self._logger.info(
            "%s: started export %d for local time_range %s .. %s",
            self.describe(window),
            export_id,
            *time_range,
        )

    def export_reused(self, window: Window, export_id: int) -> None:
        """Log an export id taken over from state."""
        self._logger.info("%s: resuming export %d saved in state", self.describe(window), export_id)

    def export_expired(self, window: Window, export_id: int) -> None:
        """Log an export whose file is gone."""
        self._logger.warning(
            "%s: export %d expired before its download finished (410/4003); exporting again",
            self.describe(window),
            export_id,
        )

    def status_changed(self, window: Window, status: str, elapsed: float) -> None:
        """Log a status change of the current export."""
        self._logger.info(
            "%s: export status '%s' after %s",
            self.describe(window),
            status,
            _duration(elapsed),
        )

    def rows_emitted(self, rows: int) -> None:
        """Record how many CSV rows the current window's export had."""
        self._window_rows = rows

    def window_finished(self, window: Window) -> None:
        """Log rows, speed and the estimated time left."""
        now = self._clock.monotonic()
        took = now - self._window_started
        self.rows += self._window_rows
        positions = self._grid_windows(window)
        self.windows_done += positions[1] - positions[0] + 1 if positions else 1
        rate = self._window_rows / took if took > 0 else 0.0
        left = len(self._windows) - self.windows_done
        per_window = (now - self._run_started) / max(self.windows_done, 1)
        self._logger.info(
            "%s: done, %d rows in %s (%.0f rows/s); %d window(s) left, about %s",
            self.describe(window),
            self._window_rows,
            _duration(took),
            rate,
            left,
            _duration(per_window * left),
        )

    def run_finished(self) -> None:
        """Log the run summary."""
        stats = self._stats
        self._logger.info(
            "Run finished: %d window(s), %d rows, %d export(s), %d request(s), "
            "%d retries, %d rate-limit response(s), %s waited for rate limits, %s elapsed",
            self.windows_done,
            self.rows,
            self.exports,
            stats.requests,
            stats.retries,
            stats.rate_limited,
            _duration(self._gate.waited_seconds),
            _duration(self._clock.monotonic() - self._run_started),
        )
