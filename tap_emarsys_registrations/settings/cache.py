"""The token cache settings: ``token_cache``, ``token_cache_dir`` and ``token_cache_url``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.settings.declare import read_declared, setting
from tap_emarsys_registrations.settings.store_url import StoreURL, read_store_url
from tap_emarsys_registrations.settings.values import read_flag

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_emarsys_registrations.settings.declare import Declaration


def _folder(raw: Any, declared: Declaration) -> Path | None:  # noqa: ANN401
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise ConfigError(declared.path, f"must be a folder path, not {type(raw).__name__}")
    if "\x00" in raw:
        raise ConfigError(declared.path, "must be a folder path without NUL characters")
    return Path(raw.strip()).expanduser()


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenCacheSettings:
    """Whether OAuth tokens are shared between runs, and in which folder.

    Attributes:
        enabled: Share tokens through files (``token_cache``); off keeps them in memory.
        folder: ``token_cache_dir`` with ``~`` expanded; None means the user's cache
            folder, looked up when the tap runs.
        url: ``token_cache_url``: the PostgreSQL token store shared by every machine;
            the file cache is its fallback while the store cannot be reached.
    """

    enabled: bool = setting(
        "token_cache",
        th.BooleanType,
        read_flag,
        default=True,
        title="Share OAuth tokens",
        description="Keep the OAuth token in a private file (mode 0600) so that every run of "
        "this OS user reuses it until it expires, within Emarsys' limit of 2 token requests a "
        "minute and 10 an hour per client_id. Off: each run fetches its own token.",
    )
    folder: Path | None = setting(
        "token_cache_dir",
        th.StringType,
        _folder,
        title="Token cache folder",
        description="Folder of the shared OAuth token. Default: the user's cache folder "
        "($XDG_CACHE_HOME or ~/.cache, then tap-emarsys-registrations). In containers, point "
        "it at a persistent volume.",
    )
    url: StoreURL | None = setting(
        "token_cache_url",
        th.StringType,
        read_store_url,
        secret=True,
        title="Shared token store (PostgreSQL URL)",
        description="postgresql://USER:PASSWORD@HOST:5432/DATABASE of a token store shared "
        "by every machine and container (needs tap-emarsys-registrations[postgres]): one "
        "token and one ledger of token requests for all of them, the token encrypted with a "
        "key derived from the client secret. If the store cannot be reached, the run warns "
        "and uses the token cache folder.",
    )


def parse_token_cache(config: Mapping[str, Any]) -> TokenCacheSettings:
    """Parse ``token_cache``, ``token_cache_dir`` and ``token_cache_url``; all are optional.

    Raises:
        ConfigError: naming the setting whose value is wrong.
    """
    return TokenCacheSettings(**read_declared(TokenCacheSettings, config))
