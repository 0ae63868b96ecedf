"""The stream's JSON schema, built from the field catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th

from tap_emarsys_registrations.fields import REGISTERED_AT, USER_ID, WINDOW_START

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tap_emarsys_registrations.fields import Field


def _property(field: Field) -> th.Property[Any]:
    description = f"Emarsys field {field.id} '{field.name}' ({field.application_type})"
    kind: type[th.JSONTypeHelper[Any]] = th.StringType
    if field.kind == "number":
        kind = th.NumberType
    elif field.kind == "date":
        kind = th.DateType
    return th.Property(field.property_name, kind, description=description)


def build_schema(fields: Sequence[Field], *, with_timestamp: bool = True) -> dict[str, Any]:
    """The stream's JSON schema: keys, the window bookmark, then one property per field.

    ``registered_at`` is a required, non-null key with timestamps; without them it
    is null in every record and not part of the key.
    """
    registered_at = (
        "Registration time in UTC; part of the primary key"
        if with_timestamp
        else "Null: with_timestamp is off, so Emarsys sends no registration time"
    )
    properties = [
        th.Property(USER_ID, th.IntegerType, required=True, description="Emarsys contact id"),
        th.Property(
            REGISTERED_AT,
            th.DateTimeType,
            required=with_timestamp,
            description=registered_at,
        ),
        th.Property(
            WINDOW_START,
            th.DateTimeType,
            required=True,
            description="Start (UTC) of the export window the row came from; the bookmark",
        ),
    ]
    properties.extend(_property(f) for f in fields)
    return th.PropertiesList(*properties).to_dict()
