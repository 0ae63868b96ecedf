"""Readers of single raw config values, shared by the settings declarations.

Each reader takes the raw value (None when unset) and the setting's declaration,
falls back to the declared default, and raises a one-line ``ConfigError`` naming
the setting when the value is wrong.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tap_emarsys_registrations.errors import ConfigError

if TYPE_CHECKING:
    from tap_emarsys_registrations.settings.declare import Declaration


def text(raw: Any, name: str, *, secret: bool = False, strip: bool = True) -> str | None:  # noqa: ANN401
    """A string setting, None when unset or blank; a secret's value is never shown.

    Raises:
        ConfigError: when the value is not a string.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        shown = " (quote it in YAML); its value is not shown" if secret else f", not {raw!r}"
        raise ConfigError(name, f"must be a string{shown}")
    return (raw.strip() if strip else raw) or None


def read_text(raw: Any, declared: Declaration) -> str | None:  # noqa: ANN401
    """A string, stripped; blank means the default."""
    return text(raw, declared.path, secret=declared.secret) or declared.default


def read_verbatim(raw: Any, declared: Declaration) -> str | None:  # noqa: ANN401
    """A string kept as given (a password may start or end with spaces)."""
    return text(raw, declared.path, secret=declared.secret, strip=False) or declared.default


def read_url(raw: Any, declared: Declaration) -> str | None:  # noqa: ANN401
    """An http(s) URL; blank means the default."""
    value = read_text(raw, declared)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(declared.path, f"{value!r} is not an http(s) URL")
    return value


def read_flag(raw: Any, declared: Declaration) -> bool:  # noqa: ANN401
    """A boolean; anything but true/false names the setting."""
    if raw is None:
        return bool(declared.default)
    if not isinstance(raw, bool):
        raise ConfigError(declared.path, f"must be true or false, not {raw!r}")
    return raw


def read_choice(raw: Any, declared: Declaration) -> str:  # noqa: ANN401
    """One of ``declared.allowed``; blank means the default."""
    value = str(read_text(raw, declared))
    allowed = declared.allowed or ()
    if value not in allowed:
        raise ConfigError(declared.path, f"{value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def _number(raw: Any, declared: Declaration) -> float:  # noqa: ANN401
    value = declared.default if raw is None else raw
    if isinstance(value, str):  # from an environment variable
        try:
            return float(value.strip())
        except ValueError:
            raise ConfigError(declared.path, f"must be a number, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ConfigError(declared.path, f"must be a number, not {value!r}")
    return float(value)


def read_positive(raw: Any, declared: Declaration) -> float:  # noqa: ANN401
    """A number greater than 0 (its text is accepted too)."""
    value = _number(raw, declared)
    if value <= 0:
        raise ConfigError(declared.path, f"must be greater than 0, not {value:g}")
    return value


def read_non_negative(raw: Any, declared: Declaration) -> float:  # noqa: ANN401
    """A number of 0 or more (its text is accepted too)."""
    value = _number(raw, declared)
    if value < 0:
        raise ConfigError(declared.path, f"must be 0 or more, not {value:g}")
    return value


def read_count(raw: Any, declared: Declaration) -> int:  # noqa: ANN401
    """A whole number greater than 0 (a fraction is cut)."""
    return int(read_positive(raw, declared))


def read_datetime(raw: Any, declared: Declaration) -> dt.datetime | None:  # noqa: ANN401
    """An ISO 8601 date or date-time in UTC, whole seconds; no zone means UTC."""
    if raw is None or raw == "":
        if declared.required:
            raise ConfigError(declared.path, "is required (ISO 8601, e.g. 2024-01-01T00:00:00Z)")
        return None
    if not isinstance(raw, str):
        raise ConfigError(declared.path, f"must be an ISO 8601 string, not {type(raw).__name__}")
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("z", "Z"))
    except ValueError:
        raise ConfigError(declared.path, f"{raw!r} is not an ISO 8601 date or date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)
