"""Per-window STATE: the bookmark and the ids of exports still being worked on.

The stream's state holds ``replication_key_value`` (the start of the first
unfinished window, in UTC) and ``pending_exports``, keyed by window start,
so a rerun reuses an export instead of starting a duplicate (which Emarsys
would refuse with 4001 while the first still runs).

This is the one place that touches SDK state plumbing. The SDK has no public
"emit state now" hook (meltano/sdk#2879); ``finalize_state_progress_markers``
is the only non-underscore method that marks state dirty and writes it, which
an empty window needs as much as a full one.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.fields import WINDOW_START
from tap_emarsys_registrations.windows import iso_utc

if TYPE_CHECKING:
    from singer_sdk import Stream
    from singer_sdk.helpers.types import Context

    from tap_emarsys_registrations.windows import Window

PENDING_EXPORTS: Final = "pending_exports"


class StreamCheckpoint:
    """Writes the stream's progress into its STATE and emits it."""

    def __init__(self, stream: Stream, context: Context | None) -> None:
        self._stream = stream
        self._context = context

    def _state(self) -> dict[str, Any]:
        return self._stream.get_context_state(self._context)

    def _pending(self) -> dict[str, Any]:
        state = self._state()
        pending = state.get(PENDING_EXPORTS)
        if not isinstance(pending, dict):
            pending = {}
            state[PENDING_EXPORTS] = pending
        return pending

    def _emit(self) -> None:
        self._stream.finalize_state_progress_markers(self._state())

    @staticmethod
    def _key(window: Window, part: int) -> str:
        start = iso_utc(window.start)
        return start if part == 0 else f"{start}/{part}"

    def saved_export(self, window: Window, fingerprint: str, part: int = 0) -> int | None:
        """The export id saved for exactly this window part and request, if any."""
        entry = self._pending().get(self._key(window, part))
        if not isinstance(entry, dict):
            return None
        if entry.get("window_end") != iso_utc(window.end):
            return None
        if entry.get("fingerprint") != fingerprint:
            return None
        try:
            return int(entry["id"])
        except (KeyError, TypeError, ValueError):
            return None

    def saved_end(self, start: dt.datetime) -> dt.datetime | None:
        """Where the export saved for a span starting at ``start`` ends, if one is saved.

        A span of several grid windows is saved like a window: under its start,
        with its end; the next run reuses it by planning the same span.
        """
        entry = self._pending().get(iso_utc(start))
        if not isinstance(entry, dict):
            return None
        try:
            return dt.datetime.fromisoformat(str(entry["window_end"])).astimezone(dt.UTC)
        except (KeyError, ValueError):
            return None

    def export_started(
        self, window: Window, export_id: int, fingerprint: str, part: int = 0
    ) -> None:
        """Save the export id and emit STATE before anything waits on it."""
        self._pending()[self._key(window, part)] = {
            "id": export_id,
            "window_end": iso_utc(window.end),
            "fingerprint": fingerprint,
        }
        self._emit()

    def window_finished(self, window: Window) -> None:
        """Move the bookmark to the window's end, forget the exports inside it, emit STATE.

        This is the bookmark's one writer (the stream leaves it alone per record).
        """
        state = self._state()
        pending = self._pending()
        for key in [k for k in pending if _starts_in(k, window)]:
            del pending[key]
        state["replication_key"] = WINDOW_START
        state["replication_key_value"] = iso_utc(window.end)
        self._emit()


def _starts_in(key: str, window: Window) -> bool:
    """Whether a ``pending_exports`` key (``start`` or ``start/part``) starts in ``window``."""
    try:
        start = dt.datetime.fromisoformat(key.split("/", 1)[0])
    except ValueError:
        return False
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    return start in window
