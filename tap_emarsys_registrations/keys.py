"""The stream's primary key, which is never null, and its migration from saved catalogs.

With timestamps the key is ``[user_id, registered_at]``: one record per registration.
Without them Emarsys sends no registration time, so the key is ``[user_id,
window_start]``: one row per contact and export window. Every key property is a
non-null, required property of the schema, because SQL targets make key columns
NOT NULL.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Final

from singer_sdk.singerlib import Schema, StreamMetadata

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.fields import REGISTERED_AT, USER_ID, WINDOW_START

if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence

    from singer_sdk.singerlib import Catalog

KEY_WITH_TIMESTAMP: Final = (USER_ID, REGISTERED_AT)
KEY_WITHOUT_TIMESTAMP: Final = (USER_ID, WINDOW_START)


def primary_key(*, with_timestamp: bool) -> tuple[str, ...]:
    """The stream's key for a ``with_timestamp`` mode."""
    return KEY_WITH_TIMESTAMP if with_timestamp else KEY_WITHOUT_TIMESTAMP


def never_null(*, with_timestamp: bool) -> frozenset[str]:
    """The properties that no record leaves null in this mode."""
    present = {USER_ID, WINDOW_START}
    if with_timestamp:
        present.add(REGISTERED_AT)
    return frozenset(present)


def catalog_key(saved: Sequence[str], *, with_timestamp: bool) -> tuple[tuple[str, ...], bool]:
    """The key to use for the key a saved catalog names, and whether it was replaced.

    A catalog saved by an earlier version may carry ``[user_id, registered_at]``
    while timestamps are off, where ``registered_at`` is null in every record: that
    key is replaced by the current one. An empty key means the tap's own.

    Raises:
        ConfigError: when the catalog keys on a property that can be null.
    """
    default = primary_key(with_timestamp=with_timestamp)
    if not saved:
        return default, False
    if not with_timestamp and REGISTERED_AT in saved:
        return default, tuple(saved) != default
    nullable = [name for name in saved if name not in never_null(with_timestamp=with_timestamp)]
    if nullable:
        raise ConfigError(
            "catalog",
            f"key_properties {list(saved)} name {', '.join(nullable)}, which can be null; "
            f"use {list(default)} (or remove key_properties from the catalog)",
        )
    return tuple(saved), False


def with_required_keys(schema: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A copy of ``schema`` whose key properties are non-null and required."""
    fixed = copy.deepcopy(schema)
    properties = fixed.setdefault("properties", {})
    for name in keys:
        prop = properties.setdefault(name, {})
        kind = prop.get("type")
        if isinstance(kind, list):
            prop["type"] = [k for k in kind if k != "null"]
    required = list(fixed.get("required", []))
    fixed["required"] = required + [name for name in keys if name not in required]
    return fixed


def migrate_catalog(
    catalog: Catalog, stream: str, *, with_timestamp: bool, logger: logging.Logger
) -> None:
    """Give a saved catalog's entry for ``stream`` a non-null key, in place.

    The SDK takes the key from the catalog (``key_properties``, else the
    ``table-key-properties`` metadata) and the SCHEMA from its schema, so both are
    fixed here: the key by :func:`catalog_key`, the schema by
    :func:`with_required_keys`.

    Raises:
        ConfigError: when the catalog keys on a property that can be null.
    """
    entry = catalog.get_stream(stream)
    if entry is None:
        return
    top = entry.metadata.get(())
    table_keys = top.table_key_properties if isinstance(top, StreamMetadata) else None
    saved = list(entry.key_properties or table_keys or [])
    keys, replaced = catalog_key(saved, with_timestamp=with_timestamp)
    if replaced:
        logger.warning(
            "The catalog's key_properties %s include registered_at, which is null with "
            "with_timestamp off; using %s instead",
            saved,
            list(keys),
        )
    entry.key_properties = list(keys)
    if isinstance(top, StreamMetadata):
        top.table_key_properties = list(keys)
    entry.schema = Schema.from_dict(with_required_keys(entry.schema.to_dict(), keys))
