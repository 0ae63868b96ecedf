"""The token cache settings: ``token_cache`` and ``token_cache_dir``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tap_emarsys_registrations.config_values import flag
from tap_emarsys_registrations.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, slots=True)
class TokenCacheSettings:
    """Whether OAuth tokens are shared between runs, and in which folder.

    Attributes:
        enabled: Share tokens through files (``token_cache``); off keeps them in memory.
        folder: ``token_cache_dir`` with ``~`` expanded; None means the user's cache
            folder, looked up when the tap runs.
    """

    enabled: bool = True
    folder: Path | None = None


def parse_token_cache(config: Mapping[str, Any]) -> TokenCacheSettings:
    """Parse ``token_cache`` and ``token_cache_dir``; both are optional.

    Raises:
        ConfigError: naming the setting whose value is wrong.
    """
    enabled = flag(config, "token_cache", default=True)
    raw = config.get("token_cache_dir")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return TokenCacheSettings(enabled=enabled)
    if not isinstance(raw, str):
        raise ConfigError("token_cache_dir", f"must be a folder path, not {type(raw).__name__}")
    if "\x00" in raw:
        raise ConfigError("token_cache_dir", "must be a folder path without NUL characters")
    return TokenCacheSettings(enabled=enabled, folder=Path(raw.strip()).expanduser())
