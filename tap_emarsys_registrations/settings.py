"""Typed, validated settings, parsed once from the raw config mapping.

The JSON schema in ``tap.py`` catches wrong types; this module catches wrong
values and combinations, before any request is sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tap_emarsys_registrations.cache_settings import TokenCacheSettings, parse_token_cache
from tap_emarsys_registrations.config_values import flag
from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.fields import EXCLUDED_FIELD_IDS
from tap_emarsys_registrations.remote_settings import REMOTE_METHODS, RemoteSettings, parse_remote

if TYPE_CHECKING:
    from collections.abc import Mapping

LANGUAGES: Final = (
    "ar",
    "bg",
    "bp",
    "cn",
    "cz",
    "de",
    "dk",
    "el",
    "en",
    "es",
    "et",
    "fi",
    "fr",
    "he",
    "hi",
    "hr",
    "hu",
    "it",
    "jp",
    "ko",
    "lt",
    "lv",
    "mk",
    "mo",
    "mx",
    "nl",
    "no",
    "pl",
    "pr",
    "ro",
    "ru",
    "sc",
    "sk",
    "sl",
    "sr",
    "sv",
    "th",
    "tr",
    "uk",
    "vi",
)
DELIMITERS: Final = (",", ";")
DISTRIBUTION_METHODS: Final = ("local", *REMOTE_METHODS)
DEFAULT_API_URL: Final = "https://api.emarsys.net/api"
DEFAULT_TOKEN_URL: Final = "https://auth.emarsys.net/oauth2/token"  # noqa: S105 - a URL


@dataclass(frozen=True, slots=True)
class OAuthCredentials:
    """OAuth 2.0 client credentials (API v3)."""

    client_id: str
    client_secret: str
    token_url: str

    def __repr__(self) -> str:
        return f"OAuthCredentials(client_id={self.client_id!r}, token_url={self.token_url!r})"


@dataclass(frozen=True, slots=True)
class WsseCredentials:
    """Legacy WSSE credentials (API v2, retired by Emarsys at the end of 2026)."""

    username: str
    secret: str

    def __repr__(self) -> str:
        return f"WsseCredentials(username={self.username!r})"


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """The ``getregistrations`` parameters that do not depend on the window."""

    contact_fields: tuple[int | str, ...] | None
    contactlist: int | None
    language: str
    delimiter: str
    with_timestamp: bool
    add_field_names_header: bool
    distribution_method: str
    notification_url: str | None
    remote: RemoteSettings | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the tap needs from its config, validated."""

    credentials: OAuthCredentials | WsseCredentials
    api_url: str
    start_date: dt.datetime
    end_date: dt.datetime | None
    safety_lag: dt.timedelta
    window: dt.timedelta
    export: ExportOptions
    poll_interval: float
    poll_interval_max: float
    export_timeout: float
    request_timeout: float
    max_concurrent_exports: int
    export_timezone: ZoneInfo
    token_cache: TokenCacheSettings

    @property
    def api_version(self) -> str:
        """``v3`` for OAuth 2.0, ``v2`` for WSSE."""
        return "v3" if isinstance(self.credentials, OAuthCredentials) else "v2"

    @property
    def api_base(self) -> str:
        """The API root including the version, without a trailing slash."""
        return f"{self.api_url}/{self.api_version}"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Parse and validate a config mapping.

        Raises:
            ConfigError: naming the first setting that is wrong and what to change.
        """
        start = _parse_datetime(config, "start_date")
        if start is None:
            raise ConfigError("start_date", "is required (ISO 8601, e.g. 2024-01-01T00:00:00Z)")
        end = _parse_datetime(config, "end_date")
        if end is not None and end <= start:
            raise ConfigError("end_date", f"{config['end_date']!r} is not later than start_date")
        api_url = _url(config, "api_url", DEFAULT_API_URL).rstrip("/")
        if api_url.rsplit("/", 1)[-1] in {"v2", "v3"}:
            raise ConfigError(
                "api_url",
                f"{api_url!r} ends with a version; give the base (e.g. {DEFAULT_API_URL}), "
                "the tap appends /v3 or /v2 itself",
            )
        poll = _positive(config, "poll_interval_seconds", 5.0)
        return cls(
            credentials=_credentials(config),
            api_url=api_url,
            start_date=start,
            end_date=end,
            safety_lag=dt.timedelta(minutes=_non_negative(config, "safety_lag_minutes", 30.0)),
            window=dt.timedelta(hours=_positive(config, "window_hours", 24.0)),
            export=_export_options(config),
            poll_interval=poll,
            poll_interval_max=max(poll, _positive(config, "poll_interval_max_seconds", 60.0)),
            export_timeout=_positive(config, "export_timeout_seconds", 3600.0),
            request_timeout=_positive(config, "request_timeout_seconds", 300.0),
            max_concurrent_exports=int(_positive(config, "max_concurrent_exports", 4)),
            export_timezone=_zone(config),
            token_cache=parse_token_cache(config),
        )


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, not {type(value).__name__}")
    return value.strip() or None


def _credentials(config: Mapping[str, Any]) -> OAuthCredentials | WsseCredentials:
    oauth = {key: _text(config, key) for key in ("client_id", "client_secret")}
    wsse = {key: _text(config, key) for key in ("username", "secret")}
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
        return OAuthCredentials(
            client_id=str(oauth["client_id"]),
            client_secret=str(oauth["client_secret"]),
            token_url=_url(config, "token_url", DEFAULT_TOKEN_URL),
        )
    return WsseCredentials(username=str(wsse["username"]), secret=str(wsse["secret"]))


def _parse_datetime(config: Mapping[str, Any], key: str) -> dt.datetime | None:
    raw = config.get(key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise ConfigError(key, f"must be an ISO 8601 string, not {type(raw).__name__}")
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("z", "Z"))
    except ValueError:
        raise ConfigError(key, f"{raw!r} is not an ISO 8601 date or date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _url(config: Mapping[str, Any], key: str, default: str) -> str:
    value = _text(config, key) or default
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(key, f"{value!r} is not an http(s) URL")
    return value


def _number(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, str):  # from an environment variable
        try:
            return float(value.strip())
        except ValueError:
            raise ConfigError(key, f"must be a number, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ConfigError(key, f"must be a number, not {value!r}")
    return float(value)


def _positive(config: Mapping[str, Any], key: str, default: float) -> float:
    value = _number(config, key, default)
    if value <= 0:
        raise ConfigError(key, f"must be greater than 0, not {value:g}")
    return value


def _non_negative(config: Mapping[str, Any], key: str, default: float) -> float:
    value = _number(config, key, default)
    if value < 0:
        raise ConfigError(key, f"must be 0 or more, not {value:g}")
    return value


def _choice(config: Mapping[str, Any], key: str, allowed: tuple[str, ...] | list[str]) -> str:
    value = _text(config, key) or allowed[0]
    if value not in allowed:
        raise ConfigError(key, f"{value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def _contact_fields(config: Mapping[str, Any]) -> tuple[int | str, ...] | None:
    raw = config.get("contact_fields")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise ConfigError("contact_fields", "must be a non-empty list of field ids or string_ids")
    items: list[int | str] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int | str) or item == "":
            raise ConfigError("contact_fields", f"{item!r} is not a field id or string_id")
        items.append(int(item) if isinstance(item, str) and item.strip().isdigit() else item)
    excluded = sorted({i for i in items if isinstance(i, int) and i in EXCLUDED_FIELD_IDS})
    if excluded:
        raise ConfigError(
            "contact_fields",
            f"Emarsys cannot export field(s) {', '.join(map(str, excluded))} "
            "(27, 28, 29, 32 and 33 are never exportable); remove them",
        )
    return tuple(items)


def _export_options(config: Mapping[str, Any]) -> ExportOptions:
    contactlist = config.get("contactlist")
    if contactlist is not None and (
        isinstance(contactlist, bool) or not isinstance(contactlist, int) or contactlist <= 0
    ):
        raise ConfigError("contactlist", f"must be a positive contact list id, not {contactlist!r}")
    notification_url = _text(config, "notification_url")
    if notification_url is not None:
        _url(config, "notification_url", notification_url)
    method = _choice(config, "distribution_method", DISTRIBUTION_METHODS)
    return ExportOptions(
        contact_fields=_contact_fields(config),
        contactlist=contactlist,
        language=_choice(config, "language", ["en", *LANGUAGES]),
        delimiter=_choice(config, "delimiter", (";", ",")),
        with_timestamp=flag(config, "with_timestamp", default=True),
        add_field_names_header=flag(config, "add_field_names_header", default=True),
        distribution_method=method,
        notification_url=notification_url,
        remote=parse_remote(config, method),
    )


def _zone(config: Mapping[str, Any]) -> ZoneInfo:
    name = _text(config, "export_timezone") or "Europe/Vienna"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("export_timezone", f"{name!r} is not an IANA time zone") from None
