"""``token_cache_url``: the PostgreSQL URL of the token store shared by every machine.

The URL holds a password, so it is kept in an object whose ``repr`` and
``masked`` form show ``***`` in its place, and no error message quotes it.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.settings.values import text

if TYPE_CHECKING:
    from tap_emarsys_registrations.settings.declare import Declaration

# Meltano's MELTANO_DATABASE_URI is often written with SQLAlchemy's driver suffix.
SCHEMES: Final = frozenset({"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"})
EXAMPLE: Final = "postgresql://USER:PASSWORD@HOST:5432/DATABASE"
INSTALL_HINT: Final = (
    "it needs the PostgreSQL extra: pip install 'tap-emarsys-registrations[postgres]' "
    "(in Meltano: pip_url: tap-emarsys-registrations[postgres])"
)
MASK: Final = "***"


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A checked PostgreSQL URL; only ``masked`` may be shown."""

    conninfo: str = field(repr=False)
    """The URL as libpq takes it (``postgresql://`` scheme)."""
    masked: str
    """The URL with its password replaced by ``***``, for logs and errors."""
    password: str | None = field(default=None, repr=False)

    def scrub(self, message: str) -> str:
        """``message`` with the password, if it appears, replaced by ``***``."""
        if not self.password:
            return message
        return message.replace(self.password, MASK).replace(unquote(self.password), MASK)


def _mask(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", rf"\1\2{MASK}", parts.query)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _password(url: str) -> str | None:
    parts = urlsplit(url)
    found = [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
    return parts.password or (found[0] if found else None)


def _check(url: str, name: str) -> None:
    problem = f"must be a PostgreSQL URL like {EXAMPLE}"
    if "://" not in url:
        raise ConfigError(name, f"{problem}; the value (not shown) has no scheme")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise ConfigError(name, f"{problem}, not a {scheme[:20]!r} URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(name, f"{problem}; its port (value not shown) is not a number") from None
    host_in_query = any(k.lower() == "host" for k, _ in parse_qsl(parts.query))
    if not parts.hostname and not host_in_query:
        raise ConfigError(name, f"{problem}; it names no host")
    if port == 0:
        raise ConfigError(name, f"{problem}; port 0 is not a port")
    if any(ch.isspace() for ch in url):
        raise ConfigError(name, f"{problem}; it contains spaces (escape them as %20)")


def read_store_url(raw: Any, declared: Declaration) -> StoreURL | None:  # noqa: ANN401
    """A PostgreSQL URL, checked without quoting it; needs the ``postgres`` extra.

    Raises:
        ConfigError: naming the setting, when the URL is malformed, has another
            scheme, or psycopg is not installed.
    """
    value = text(raw, declared.path, secret=True)
    if value is None:
        return None
    _check(value, declared.path)
    if importlib.util.find_spec("psycopg") is None:
        raise ConfigError(declared.path, INSTALL_HINT)
    conninfo = "postgresql://" + value.split("://", 1)[1]
    return StoreURL(conninfo=conninfo, masked=_mask(value), password=_password(value))
