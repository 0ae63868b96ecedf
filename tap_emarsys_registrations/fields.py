"""The Emarsys field catalog, and the JSON schema it implies.

Each exportable field becomes one property, named by its ``string_id`` or
``field_<id>`` when it has none (or when the name would collide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

# Fields Emarsys refuses in exports: visit length, page views, days since last
# mail, user status and contact source.
EXCLUDED_FIELD_IDS: Final = frozenset({27, 28, 29, 32, 33})
MAX_FIELDS_PER_EXPORT: Final = 20
# Exported when the catalog selects nothing else explicitly.
DEFAULT_FIELD_IDS: Final = (1, 2, 3, 31, 34, 35)

USER_ID: Final = "user_id"
REGISTERED_AT: Final = "registered_at"
WINDOW_START: Final = "window_start"
RESERVED_PROPERTIES: Final = frozenset({USER_ID, REGISTERED_AT, WINDOW_START})

NUMERIC_TYPES: Final = frozenset({"numeric"})
DATE_TYPES: Final = frozenset({"date", "birthdate"})


@dataclass(frozen=True, slots=True)
class Field:
    """One contact field as the catalog describes it."""

    id: int
    name: str
    application_type: str
    string_id: str | None
    property_name: str

    @property
    def kind(self) -> str:
        """``number``, ``date`` or ``string``: how the tap types the field's values."""
        if self.application_type in NUMERIC_TYPES:
            return "number"
        if self.application_type in DATE_TYPES:
            return "date"
        return "string"


def parse_catalog(entries: Iterable[Mapping[str, Any]]) -> tuple[Field, ...]:
    """Build the exportable fields from a ``GET /field`` reply, in id order.

    Ids arrive as ints or strings and are coerced; excluded fields are skipped.
    """
    raw: list[tuple[int, str, str, str | None]] = []
    for entry in entries:
        field_id = int(entry["id"])
        if field_id in EXCLUDED_FIELD_IDS:
            continue
        string_id = entry.get("string_id") or None
        raw.append(
            (
                field_id,
                str(entry.get("name") or ""),
                str(entry.get("application_type") or "shorttext"),
                str(string_id) if string_id is not None else None,
            ),
        )
    raw.sort()
    taken = set(RESERVED_PROPERTIES) | {f"field_{item[0]}" for item in raw}
    fields: list[Field] = []
    for field_id, name, application_type, string_id in raw:
        name_ok = string_id is not None and string_id not in taken
        property_name = string_id if name_ok and string_id else f"field_{field_id}"
        taken.add(property_name)
        fields.append(Field(field_id, name, application_type, string_id, property_name))
    return tuple(fields)


def names_by_id(entries: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """Map field id to display name from a ``GET /field/translate/{lang}`` reply."""
    return {int(entry["id"]): str(entry.get("name") or "") for entry in entries}


def resolve_contact_fields(spec: Sequence[int | str], fields: Sequence[Field]) -> list[Field]:
    """Turn ``contact_fields`` (ids or string_ids) into catalog fields, in the given order.

    Raises:
        ConfigError: naming the entries that are excluded, unknown or repeated.
    """
    by_id = {f.id: f for f in fields}
    by_name = {f.string_id: f for f in fields if f.string_id}
    by_name.update({f.property_name: f for f in fields})
    check_exportable(spec)
    resolved: list[Field] = []
    unknown: list[str] = []
    for item in spec:
        number = _as_int(item)
        field = by_id.get(number) if number is not None else by_name.get(str(item))
        if field is None:
            unknown.append(repr(item))
        elif field in resolved:
            raise ConfigError("contact_fields", f"field {item!r} is listed twice")
        else:
            resolved.append(field)
    if unknown:
        raise ConfigError(
            "contact_fields",
            f"unknown field(s) {', '.join(unknown)}: not in this account's field catalog "
            "(use an id or string_id from `--discover`)",
        )
    return resolved


def check_exportable(spec: Iterable[int | str]) -> None:
    """Refuse the fields Emarsys never exports (given as ids, or ids as text).

    Raises:
        ConfigError: naming ``contact_fields`` and the excluded ids.
    """
    excluded = sorted({n for n in map(_as_int, spec) if n in EXCLUDED_FIELD_IDS})
    if excluded:
        *rest, last = sorted(EXCLUDED_FIELD_IDS)
        raise ConfigError(
            "contact_fields",
            f"Emarsys cannot export field(s) {', '.join(map(str, excluded))} "
            f"({', '.join(map(str, rest))} and {last} are never exportable); remove them",
        )


def _as_int(item: int | str) -> int | None:
    if isinstance(item, int):
        return item
    text = item.strip()
    return int(text) if text.isdigit() else None
