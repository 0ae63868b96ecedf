"""``distribution_method: local``: the file comes from ``GET /export/{id}/data``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_emarsys_registrations.delivery.paging import PagedDownload

if TYPE_CHECKING:
    from tap_emarsys_registrations.delivery.body import Body
    from tap_emarsys_registrations.delivery.row_count import RowCaps
    from tap_emarsys_registrations.emarsys.exports import ExportJobs


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
