"""Typed, validated settings, parsed once from the raw config mapping.

Each setting is declared once, on the attribute it fills (see ``declare``): the
declaration gives the JSON schema (``config_schema``) that catches wrong types,
the default, and the reader that catches wrong values. Combinations are checked
here, before any request is sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk import typing as th

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.settings.cache import TokenCacheSettings, parse_token_cache
from tap_emarsys_registrations.settings.credentials import (
    OAuthCredentials,
    WsseCredentials,
    parse_credentials,
)
from tap_emarsys_registrations.settings.declare import read_declared, section, setting
from tap_emarsys_registrations.settings.export import ExportOptions
from tap_emarsys_registrations.settings.values import (
    read_count,
    read_datetime,
    read_flag,
    read_non_negative,
    read_positive,
    read_text,
    read_url,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_emarsys_registrations.settings.declare import Declaration

DEFAULT_API_URL: Final = "https://api.emarsys.net/api"
# Emarsys caps one download request at 1,000,000 rows (KF); an export sized above it
# would always be paged.
MAX_TARGET_ROWS: Final = 1_000_000
# A number, or its text: the SDK's `--config=ENV` (and `meltano test`) passes
# environment values of number settings as strings.
NUMBER: Final = th.CustomType(
    {"type": ["number", "string"], "pattern": r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"}
)


def _api_url(raw: Any, declared: Declaration) -> str:  # noqa: ANN401
    api_url = str(read_url(raw, declared)).rstrip("/")
    if api_url.rsplit("/", 1)[-1] in {"v2", "v3"}:
        raise ConfigError(
            declared.path,
            f"{api_url!r} ends with a version; give the base (e.g. {declared.default}), "
            "the tap appends /v3 or /v2 itself",
        )
    return api_url


def _minutes(raw: Any, declared: Declaration) -> dt.timedelta:  # noqa: ANN401
    return dt.timedelta(minutes=read_non_negative(raw, declared))


def _hours(raw: Any, declared: Declaration) -> dt.timedelta:  # noqa: ANN401
    return dt.timedelta(hours=read_positive(raw, declared))


def _target_rows(raw: Any, declared: Declaration) -> int:  # noqa: ANN401
    rows = read_count(raw, declared)
    if rows > MAX_TARGET_ROWS:
        raise ConfigError(
            declared.path,
            f"must be at most {MAX_TARGET_ROWS:,} (the download row cap), not {rows:,}",
        )
    return rows


def _zone(raw: Any, declared: Declaration) -> ZoneInfo:  # noqa: ANN401
    name = str(read_text(raw, declared))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(declared.path, f"{name!r} is not an IANA time zone") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the tap needs from its config, validated."""

    credentials: OAuthCredentials | WsseCredentials = section(
        OAuthCredentials, TokenCacheSettings, WsseCredentials
    )
    api_url: str = setting(
        "api_url",
        th.URIType,
        _api_url,
        default=DEFAULT_API_URL,
        title="API base URL",
        description="Emarsys API base without the version; the tap appends /v3 or /v2.",
    )
    start_date: dt.datetime = setting(
        "start_date",
        th.DateTimeType,
        read_datetime,
        required=True,
        title="Start date",
        description="Earliest registration time to export (ISO 8601; no zone means UTC).",
    )
    end_date: dt.datetime | None = setting(
        "end_date",
        th.DateTimeType,
        read_datetime,
        title="End date",
        description="Export up to this time (exclusive). Default: now minus safety_lag_minutes.",
    )
    safety_lag: dt.timedelta = setting(
        "safety_lag_minutes",
        NUMBER,
        _minutes,
        default=30,
        title="Safety lag (minutes)",
        description="Without end_date, stop this long before now so late writes are not missed.",
    )
    window: dt.timedelta = setting(
        "window_hours",
        NUMBER,
        _hours,
        default=24,
        title="Window length (hours)",
        description=(
            "Length of the time window each export covers; the grid of bookmarks and "
            "window_start. Backfills merge consecutive windows (max_window_hours)."
        ),
    )
    max_window: dt.timedelta = setting(
        "max_window_hours",
        NUMBER,
        _hours,
        default=744,
        title="Max export span (hours)",
        description=(
            "Longest span one export may cover when a backfill merges consecutive windows: "
            "the whole windows that fit. Equal to window_hours turns merging off."
        ),
    )
    target_rows_per_export: int = setting(
        "target_rows_per_export",
        th.IntegerType,
        _target_rows,
        default=250_000,
        title="Target rows per export",
        description=(
            "Rows a merged backfill export aims for, sized from the rows earlier exports "
            "returned (at most 1,000,000, the download row cap)."
        ),
    )
    export: ExportOptions = section(ExportOptions)
    poll_interval: float = setting(
        "poll_interval_seconds",
        NUMBER,
        read_positive,
        default=5,
        title="Poll interval (s)",
        description="First wait between export status checks; it grows by 1.5x.",
    )
    poll_interval_max: float = setting(
        "poll_interval_max_seconds",
        NUMBER,
        read_positive,
        default=60,
        title="Max poll interval (s)",
        description="Cap of the growing wait between status checks.",
    )
    export_timeout: float = setting(
        "export_timeout_seconds",
        NUMBER,
        read_positive,
        default=3600,
        title="Export timeout (s)",
        description="Fail the run when one export has not finished after this long.",
    )
    request_timeout: float = setting(
        "request_timeout_seconds",
        NUMBER,
        read_positive,
        default=300,
        title="Request timeout (s)",
        description="Timeout of one HTTP request (connect and each read).",
    )
    max_concurrent_exports: int = setting(
        "max_concurrent_exports",
        th.IntegerType,
        read_count,
        default=4,
        title="Max concurrent exports",
        description="Exports kept in flight at once during backfills.",
    )
    export_timezone: ZoneInfo = setting(
        "export_timezone",
        th.StringType,
        _zone,
        default="Europe/Vienna",
        title="Export time zone",
        description="IANA zone Emarsys uses for time_range and CSV timestamps.",
    )
    accept_fewer_columns: bool = setting(
        "accept_fewer_columns",
        th.BooleanType,
        read_flag,
        default=False,
        title="Accept fewer columns",
        description="Set for one run to accept exporting fewer of the fields the last run "
        "exported (deselected, deleted or renamed in Emarsys). Unset, such a run stops "
        "before any export and names each lost column.",
    )
    token_cache: TokenCacheSettings = field()  # laid out with the credentials

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
        values = read_declared(
            cls,
            config,
            credentials=parse_credentials(config),
            export=ExportOptions.from_config(config),
            token_cache=parse_token_cache(config),
        )
        start, end = values["start_date"], values["end_date"]
        if end is not None and end <= start:
            raise ConfigError("end_date", f"{config['end_date']!r} is not later than start_date")
        values["poll_interval_max"] = max(values["poll_interval"], values["poll_interval_max"])
        if values["max_window"] < values["window"]:
            if config.get("max_window_hours") not in (None, ""):
                raise ConfigError(
                    "max_window_hours",
                    f"{config['max_window_hours']!r} is shorter than window_hours "
                    f"({config.get('window_hours')!r}); set it to window_hours or more",
                )
            values["max_window"] = values["window"]  # windows longer than the default span
        return cls(**values)
