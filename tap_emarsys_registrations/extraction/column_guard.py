"""The guard against silently shrinking columns: fields the last run exported, in STATE.

Columns can vanish from a load without an error: a catalog whose selection was
lost (parallel ``meltano run``s in one project), a selected custom field
deleted in Emarsys, or a field whose ``string_id`` was renamed (a new property
name that the saved selection does not cover). The stream's STATE remembers
the fields each run exported, under ``exported_fields`` keyed by field id. A
run that would export fewer of them stops before any export and names each
lost column and why, unless ``accept_fewer_columns`` is set for that run.

STATE written before this key existed has no such entry: the run records its
fields and goes on (nothing to compare against).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.errors import UserFacingError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping

    from tap_emarsys_registrations.fields import Field

LOGGER: Final = logging.getLogger(__name__)
EXPORTED_FIELDS: Final = "exported_fields"
ACCEPT_SETTING: Final = "accept_fewer_columns"


class FewerColumnsError(UserFacingError):
    """This run would export fewer of the fields the last run exported."""


@dataclass(frozen=True, slots=True)
class LostColumn:
    """A column the last run exported and this one would not, and why."""

    field_id: int
    name: str
    reason: str

    def describe(self) -> str:
        """``last_name (field 2): deselected``."""
        return f"{self.name} (field {self.field_id}): {self.reason}"


def remembered(stream_state: Mapping[str, Any]) -> dict[int, str] | None:
    """The fields the last run exported (id -> property name); None if STATE has none.

    A malformed entry (edited by hand) is ignored with a warning, as if absent.
    """
    raw = stream_state.get(EXPORTED_FIELDS)
    if raw is None:
        return None
    try:
        if isinstance(raw, dict):
            return {int(key): name for key, name in raw.items() if isinstance(name, str)}
    except ValueError:
        pass
    LOGGER.warning(
        "STATE %s is not an object of field ids and names; ignored, and rewritten "
        "from this run's fields",
        EXPORTED_FIELDS,
    )
    return None


def lost_columns(
    previous: Mapping[int, str], exported: Iterable[Field], live: Iterable[Field]
) -> list[LostColumn]:
    """The columns of ``previous`` that ``exported`` lacks, with the reason for each.

    ``live`` is the field catalog as Emarsys lists it now.
    """
    exported_ids = {f.id for f in exported}
    live_by_id = {f.id: f for f in live}
    lost = []
    for field_id, name in sorted(previous.items()):
        if field_id in exported_ids:
            continue
        now = live_by_id.get(field_id)
        if now is None:
            reason = "deleted in Emarsys"
        elif now.property_name != name:
            reason = f"renamed to {now.property_name} in Emarsys, which is not selected"
        else:
            reason = "deselected"
        lost.append(LostColumn(field_id, name, reason))
    return lost


def check_columns(
    stream_state: MutableMapping[str, Any],
    exported: Iterable[Field],
    live: Iterable[Field],
    *,
    accept: bool,
) -> None:
    """Stop if this run would lose columns; then remember this run's fields in STATE.

    Raises:
        FewerColumnsError: naming each lost column and how to accept the change.
    """
    fields = list(exported)
    previous = remembered(stream_state)
    if previous is not None:
        lost = lost_columns(previous, fields, live)
        if lost and not accept:
            names = "; ".join(c.describe() for c in lost)
            msg = (
                f"This run would export {len(lost)} fewer of the columns the last run "
                f"exported: {names}. Nothing was exported. If the selection was lost (e.g. "
                "parallel meltano runs in one project), fix it and run again; to accept "
                f"the change, run once with {ACCEPT_SETTING}: true (in Meltano: "
                "TAP_EMARSYS_REGISTRATIONS_ACCEPT_FEWER_COLUMNS=true meltano run ...)"
            )
            raise FewerColumnsError(msg)
        for column in lost:
            LOGGER.warning("Column accepted as dropped: %s", column.describe())
        for field in fields:
            name = previous.get(field.id)
            if name is not None and name != field.property_name:
                LOGGER.warning(
                    "Field %d is now exported as %s (it was %s): the target gets a new column",
                    field.id,
                    field.property_name,
                    name,
                )
    stream_state[EXPORTED_FIELDS] = {str(f.id): f.property_name for f in fields}
