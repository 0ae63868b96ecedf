"""What every delivery does: open a finished export's file, and tidy up after its window."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tap_emarsys_registrations.delivery.body import Body


class Delivery(Protocol):
    """Opens the file of a finished export, and tidies up after a finished window."""

    def open(self, export_id: int, status: dict[str, Any], describe: str) -> Body:
        """Open the export's CSV file for streaming."""

    def window_done(self, export_id: int, status: dict[str, Any]) -> None:
        """Called once the window's records were all emitted and checkpointed."""
