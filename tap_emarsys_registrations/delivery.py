"""Where a finished export's file is read from.

With ``distribution_method: local`` the file comes from ``GET /export/{id}/data``.
Other deliveries (FTP, SFTP) implement the same two calls, so every file goes
through the same streaming parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from tap_emarsys_registrations.paging import PagedDownload

if TYPE_CHECKING:
    from tap_emarsys_registrations.download import Body
    from tap_emarsys_registrations.export import ExportJobs
    from tap_emarsys_registrations.row_count import RowCaps


class Delivery(Protocol):
    """Opens the file of a finished export, and tidies up after a finished window."""

    def open(self, export_id: int, status: dict[str, Any], describe: str) -> Body:
        """Open the export's CSV file for streaming."""

    def window_done(self, export_id: int, status: dict[str, Any]) -> None:
        """Called once the window's records were all emitted and checkpointed."""


class LocalDelivery:
    """Downloads the file through the API (``/export/{id}/data``), in pages after a row cap."""

    def __init__(self, jobs: ExportJobs, caps: RowCaps, *, header: bool) -> None:
        self._download = PagedDownload(jobs, caps, header=header)

    def open(self, export_id: int, status: dict[str, Any], describe: str) -> Body:
        """Stream the body of ``GET /export/{id}/data`` (and any further pages)."""
        del status
        return self._download.open(export_id, describe)

    def window_done(self, export_id: int, status: dict[str, Any]) -> None:
        """Nothing to tidy up: Emarsys expires API downloads itself."""
        del export_id, status
