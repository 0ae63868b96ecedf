"""The pieces of a window the pipeline hands from worker threads to the reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tap_emarsys_registrations.delivery.body import Cursor
    from tap_emarsys_registrations.emarsys.exports import ExportRequest
    from tap_emarsys_registrations.windows import Window


@dataclass
class Part:
    """One export of a window (a window has several when more than 20 fields are selected)."""

    index: int
    request: ExportRequest
    cursor: Cursor
    started: int = 0


@dataclass
class Prepared:
    """A window whose exports are done, as a worker thread left it."""

    window: Window
    parts: list[Part] = field(default_factory=list)
    rows_done: int = 0
