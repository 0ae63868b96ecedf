"""STATE is input: checked, and made canonical, before any API call.

People edit STATE by hand (``meltano state set``) and a full disk can cut a
state file short. A STATE the tap cannot use safely stops the run with one
line that names the STATE key path, shows the bad value and says how to fix
it. Oddities that are safe to run with are tolerated:

- a bookmark without a zone is read as UTC, like ``start_date``;
- a bookmark in the future yields no window (nothing is lost);
- a malformed or unknown ``pending_exports`` entry is dropped with a warning,
  so its window is exported again;
- a bookmark without ``replication_key`` is read as ``window_start``;
- keys from other tools (``partitions``, ``progress_markers``, other streams)
  are kept as they are;
- ``singer_state`` next to ``bookmarks`` (``meltano state get`` output pasted into a
  STATE) is kept but not read, with a warning: the tap reads ``bookmarks``, as the
  Singer spec says. ``singer_state`` alone is refused, with the fix.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
from typing import Any, Final

from tap_emarsys_registrations.errors import UserFacingError
from tap_emarsys_registrations.fields import WINDOW_START
from tap_emarsys_registrations.windows import iso_utc

LOGGER: Final = logging.getLogger(__name__)
STREAM: Final = "registrations"
BOOKMARK: Final = "replication_key_value"
REPLICATION_KEY: Final = "replication_key"
PENDING: Final = "pending_exports"
SHOWN_CHARS: Final = 60
FIX: Final = (
    "fix it with `meltano state set <job id> '<json>'`, or start again from start_date "
    "with `meltano state clear <job id>`"
)
_PENDING_KEY: Final = re.compile(r"(?P<start>[^/]+)(?:/(?P<part>\d+))?")


class StateError(UserFacingError):
    """STATE the tap cannot use; the message names the key path and the fix."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        super().__init__(f"Unusable STATE at {where}: {problem}; {FIX}")


def shown(value: object) -> str:
    """``value`` as JSON, cut to a readable length."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def parse_state_text(text: str, source: str) -> Any:  # noqa: ANN401 - any JSON
    """Parse the text of a state file, naming the file when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        position = getattr(exc, "pos", 0)
        reason = str(getattr(exc, "msg", exc))
        excerpt = shown(text) if text.strip() else "an empty file"
        # A cut file fails at its very end, or inside a string that never closes.
        cut = bool(text.strip()) and (
            position >= len(text.rstrip()) or reason.startswith("Unterminated string")
        )
        problem = (
            "it ends before the JSON is complete (cut short, e.g. by a full disk)"
            if cut
            else f"it is not JSON ({reason} at character {position})"
        )
        raise StateError(f"the state file {source}", f"{problem}; it holds {excerpt}") from None


def parse_bookmark(value: object, where: str) -> str:
    """A bookmark as canonical UTC ISO 8601 text (no zone means UTC)."""
    if value is None:
        raise StateError(where, "the bookmark is null, not an ISO 8601 timestamp")
    if not isinstance(value, str):
        kind = _kind(value)
        article = "an" if kind[0] in "aeiou" else "a"
        problem = f"the bookmark {shown(value)} is {article} {kind}, not an ISO 8601 timestamp"
        raise StateError(where, problem)
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        problem = f"the bookmark {shown(value)} is not an ISO 8601 timestamp"
        raise StateError(where, problem) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return iso_utc(moment)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    return "number" if isinstance(value, int | float) else type(value).__name__


def _object(value: object, where: str) -> dict[str, Any]:
    if value is None:
        raise StateError(where, "expected a JSON object, found null")
    if not isinstance(value, dict):
        raise StateError(where, f"expected a JSON object, found {_kind(value)} {shown(value)}")
    return value


def _pending_entry_problem(key: str, entry: object) -> str | None:
    """Why a pending export entry cannot be used, or None when it can."""
    match = _PENDING_KEY.fullmatch(key)
    try:
        dt.datetime.fromisoformat(match["start"] if match else "")
    except ValueError:
        return "its key is not a window start"
    if not isinstance(entry, dict):
        return f"it is {_kind(entry)}, not an object"
    missing = [k for k in ("id", "window_end", "fingerprint") if k not in entry]
    if missing:
        return "it lacks " + ", ".join(missing)
    export_id = entry["id"]
    if isinstance(export_id, bool) or not str(export_id).isdigit():
        return f"its id {shown(export_id)} is not an export id"
    return None


def _clean_pending(stream: dict[str, Any], where: str) -> None:
    pending = stream.get(PENDING)
    if pending is None:
        return
    if not isinstance(pending, dict):
        LOGGER.warning(
            "STATE %s is %s, not an object; ignored, so any export it meant is started again",
            where,
            _kind(pending),
        )
        del stream[PENDING]
        return
    for key, entry in list(pending.items()):
        problem = _pending_entry_problem(key, entry)
        if problem is not None:
            LOGGER.warning(
                "STATE %s.%s is ignored (%s); its window is exported again",
                where,
                key,
                problem,
            )
            del pending[key]


def _check_replication_key(stream: dict[str, Any]) -> None:
    """The SDK uses a bookmark only under the stream's replication key; fill in a missing one.

    Without it the SDK would start from ``start_date`` yet compare records
    against the bookmark, and stop with an "unsorted data" error.
    """
    where = f"bookmarks.{STREAM}.{REPLICATION_KEY}"
    key = stream.get(REPLICATION_KEY)
    if key is None:
        LOGGER.warning("STATE %s is missing; read as %r", where, WINDOW_START)
        stream[REPLICATION_KEY] = WINDOW_START
    elif key != WINDOW_START:
        problem = f"the bookmark is for {shown(key)}, but this stream bookmarks {WINDOW_START!r}"
        raise StateError(where, problem)


def clean_state(state: object) -> dict[str, Any]:
    """A copy of ``state`` that the SDK and the tap can use, else a StateError.

    Raises:
        StateError: the STATE is not an object, ``bookmarks`` or the stream's
            entry is not an object, or the bookmark is not a timestamp.
    """
    top = _object(state, "the top level")
    if "bookmarks" not in top and "singer_state" in top:
        raise StateError(
            "the top level",
            "this is `meltano state get` output; pass the object inside singer_state",
        )
    if "bookmarks" in top and "singer_state" in top:
        LOGGER.warning(
            "STATE has both bookmarks and singer_state (`meltano state get` output); "
            "the run starts from bookmarks and ignores singer_state"
        )
    cleaned: dict[str, Any] = copy.deepcopy(top)
    bookmarks = cleaned.get("bookmarks")
    if bookmarks is None:
        return cleaned
    bookmarks = _object(bookmarks, "bookmarks")
    for name, entry in list(bookmarks.items()):
        if name != STREAM and not isinstance(entry, dict):
            LOGGER.warning("STATE bookmarks.%s is not an object; ignored", name)
            del bookmarks[name]
    if STREAM not in bookmarks:
        return cleaned
    stream = _object(bookmarks[STREAM], f"bookmarks.{STREAM}")
    if BOOKMARK in stream:
        stream[BOOKMARK] = parse_bookmark(stream[BOOKMARK], f"bookmarks.{STREAM}.{BOOKMARK}")
        _check_replication_key(stream)
    _clean_pending(stream, f"bookmarks.{STREAM}.{PENDING}")
    return cleaned
