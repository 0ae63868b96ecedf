"""Typed reads of single values from the raw config mapping, shared by the settings parsers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_emarsys_registrations.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping


def flag(config: Mapping[str, Any], key: str, *, default: bool) -> bool:
    """A boolean setting; anything but true/false names the setting.

    Raises:
        ConfigError: when the value is not a boolean.
    """
    value = config.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, not {value!r}")
    return value
