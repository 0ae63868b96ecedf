"""The API user's credentials: OAuth 2.0 (API v3) or legacy WSSE (API v2), one pair of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from singer_sdk import typing as th

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.settings.declare import declaration, read_declared, setting
from tap_emarsys_registrations.settings.values import read_text, read_url

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_TOKEN_URL: Final = "https://auth.emarsys.net/oauth2/token"  # noqa: S105 - a URL


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthCredentials:
    """OAuth 2.0 client credentials (API v3)."""

    client_id: str = setting(
        "client_id",
        th.StringType,
        read_text,
        title="OAuth client ID",
        description="OAuth 2.0 client ID (API v3, recommended). Set with client_secret.",
    )
    client_secret: str = setting(
        "client_secret",
        th.StringType,
        read_text,
        secret=True,
        title="OAuth client secret",
        description="OAuth 2.0 client secret, shown once when the credential is created.",
    )
    token_url: str = setting(
        "token_url",
        th.URIType,
        read_url,
        default=DEFAULT_TOKEN_URL,
        title="OAuth token URL",
        description="The token endpoint shown with the OAuth credential.",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class WsseCredentials:
    """Legacy WSSE credentials (API v2, retired by Emarsys at the end of 2026)."""

    username: str = setting(
        "username",
        th.StringType,
        read_text,
        title="WSSE username",
        description=(
            "Legacy WSSE API user (API v2). Emarsys retires WSSE at the end of 2026-12-31: "
            "set client_id and client_secret instead (README: Moving from WSSE to OAuth)."
        ),
    )
    secret: str = setting(
        "secret",
        th.StringType,
        read_text,
        secret=True,
        title="WSSE secret",
        description="Legacy WSSE secret of the API user.",
    )


def _pair(cls: type, config: Mapping[str, Any]) -> dict[str, str | None]:
    """The values of the pair's two keys (not the token URL, which has a default)."""
    keys = ("client_id", "client_secret") if cls is OAuthCredentials else ("username", "secret")
    return {key: declaration(cls, key).value(config) for key in keys}


def parse_credentials(config: Mapping[str, Any]) -> OAuthCredentials | WsseCredentials:
    """Exactly one complete pair: OAuth (client_id, client_secret) or WSSE (username, secret).

    Raises:
        ConfigError: naming the key that is missing, or client_id when both or none are set.
    """
    oauth, wsse = _pair(OAuthCredentials, config), _pair(WsseCredentials, config)
    has_oauth, has_wsse = any(oauth.values()), any(wsse.values())
    if has_oauth and has_wsse:
        raise ConfigError(
            "client_id",
            "both OAuth (client_id/client_secret) and WSSE (username/secret) are set; "
            "keep one pair (OAuth is recommended: WSSE is retired at the end of 2026)",
        )
    if not has_oauth and not has_wsse:
        raise ConfigError(
            "client_id",
            "no credentials: set client_id and client_secret (OAuth 2.0), "
            "or username and secret (legacy WSSE)",
        )
    pair = oauth if has_oauth else wsse
    for key, value in pair.items():
        if value is None:
            other = next(k for k in pair if k != key)
            raise ConfigError(key, f"is missing while {other} is set")
    if has_oauth:
        return OAuthCredentials(**read_declared(OAuthCredentials, config, **pair))
    return WsseCredentials(**read_declared(WsseCredentials, config, **pair))
