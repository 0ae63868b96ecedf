"""The tap: its settings and its one stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities
from typing_extensions import override

from tap_emarsys_registrations.clock import SYSTEM_CLOCK, Clock
from tap_emarsys_registrations.connection import connect
from tap_emarsys_registrations.connection_check import check_connection, check_contact_list
from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.fields import names_by_id, parse_catalog, resolve_contact_fields
from tap_emarsys_registrations.output import BufferedMsgSpecWriter
from tap_emarsys_registrations.settings import (
    DEFAULT_API_URL,
    DEFAULT_TOKEN_URL,
    DISTRIBUTION_METHODS,
    LANGUAGES,
    Settings,
)
from tap_emarsys_registrations.streams import RegistrationsStream

if TYPE_CHECKING:
    from singer_sdk.helpers.capabilities import CapabilitiesEnum

    from tap_emarsys_registrations.client import EmarsysClient

P = th.Property
# A number, or its text: the SDK's `--config=ENV` (and `meltano test`) passes
# environment values of number settings as strings.
NUMBER = th.CustomType({"type": ["number", "string"], "pattern": r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"})

CONFIG_SCHEMA = th.PropertiesList(
    P(
        "client_id",
        th.StringType,
        title="OAuth client ID",
        description="OAuth 2.0 client ID (API v3, recommended). Set with client_secret.",
    ),
    P(
        "client_secret",
        th.StringType,
        secret=True,
        title="OAuth client secret",
        description="OAuth 2.0 client secret, shown once when the credential is created.",
    ),
    P(
        "token_url",
        th.URIType,
        default=DEFAULT_TOKEN_URL,
        title="OAuth token URL",
        description="The token endpoint shown with the OAuth credential.",
    ),
    P(
        "username",
        th.StringType,
        title="WSSE username",
        description="Legacy WSSE API user (API v2). Emarsys retires WSSE at the end of 2026.",
    ),
    P(
        "secret",
        th.StringType,
        secret=True,
        title="WSSE secret",
        description="Legacy WSSE secret of the API user.",
    ),
    P(
        "api_url",
        th.URIType,
        default=DEFAULT_API_URL,
        title="API base URL",
        description="Emarsys API base without the version; the tap appends /v3 or /v2.",
    ),
    P(
        "start_date",
        th.DateTimeType,
        required=True,
        title="Start date",
        description="Earliest registration time to export (ISO 8601; no zone means UTC).",
    ),
    P(
        "end_date",
        th.DateTimeType,
        title="End date",
        description="Export up to this time (exclusive). Default: now minus safety_lag_minutes.",
    ),
    P(
        "safety_lag_minutes",
        NUMBER,
        default=30,
        title="Safety lag (minutes)",
        description="Without end_date, stop this long before now so late writes are not missed.",
    ),
    P(
        "window_hours",
        NUMBER,
        default=24,
        title="Window length (hours)",
        description="Length of the time window each export covers.",
    ),
    P(
        "contact_fields",
        th.ArrayType(th.CustomType({"type": ["integer", "string"]})),
        title="Contact fields",
        description="Field ids or string_ids to export; more than 20 are split over several "
        "exports per window and joined. Default: the selected "
        "catalog properties.",
    ),
    P(
        "contactlist",
        th.IntegerType,
        title="Contact list",
        description="Only export registrations of contacts in this contact list id.",
    ),
    P(
        "language",
        th.StringType,
        default="en",
        allowed_values=list(LANGUAGES),
        title="Language",
        description="Language of the CSV header and of choice-field labels.",
    ),
    P(
        "delimiter",
        th.StringType,
        default=";",
        allowed_values=[";", ","],
        title="Delimiter",
        description="CSV delimiter Emarsys writes; both parse the same.",
    ),
    P(
        "with_timestamp",
        th.BooleanType,
        default=True,
        title="With timestamp",
        description="Ask for the registration time. Without it registered_at is null, rows "
        "cannot be cut at window edges and the primary key is weaker.",
    ),
    P(
        "add_field_names_header",
        th.BooleanType,
        default=True,
        title="Header row",
        description="Ask for a header row; the tap checks it against the requested fields.",
    ),
    P(
        "distribution_method",
        th.StringType,
        default="local",
        allowed_values=list(DISTRIBUTION_METHODS),
        title="Distribution method",
        description="How Emarsys delivers the file: 'local' downloads it through the API; "
        "'ftp' and 'sftp' upload it to ftp_settings, where the tap reads it.",
    ),
    P(
        "ftp_settings",
        th.ObjectType(
            P(
                "host",
                th.StringType,
                title="FTP/SFTP host",
                description="Host name or address of your FTP/SFTP server (required for ftp "
                "and sftp).",
            ),
            P(
                "port",
                th.CustomType({"type": ["integer", "string"]}),
                title="FTP/SFTP port",
                description="Port of the server. Default: 21 for ftp, 22 for sftp.",
            ),
            P(
                "username",
                th.StringType,
                title="FTP/SFTP username",
                description="Login name on the server; Emarsys and the tap both use it.",
            ),
            P(
                "password",
                # Not only "string": the SDK's type error would print the value. A
                # number (an unquoted YAML password) is refused by settings.py instead.
                th.CustomType({"type": ["string", "number", "boolean"]}),
                secret=True,
                title="FTP/SFTP password",
                description="Password of the login; sent to Emarsys with each export request.",
            ),
            P(
                "folder",
                th.StringType,
                title="FTP/SFTP folder",
                description="Folder Emarsys uploads into, relative to the login folder. "
                "Default: the login folder.",
            ),
        ),
        title="FTP/SFTP server",
        description="Your server that Emarsys uploads the export files to, for "
        "distribution_method 'ftp' or 'sftp'.",
    ),
    P(
        "ftp_tls",
        th.BooleanType,
        default=False,
        title="FTPS",
        description="With 'ftp', read the files over FTPS (explicit TLS); the server "
        "certificate must be trusted by this machine.",
    ),
    P(
        "delete_remote_file",
        th.BooleanType,
        default=False,
        title="Delete remote files",
        description="With 'ftp' or 'sftp', delete each file from the server once its records "
        "were emitted and checkpointed.",
    ),
    P(
        "notification_url",
        th.URIType,
        title="Notification URL",
        description="Passed to Emarsys, which calls it when an export is ready. The tap "
        "still polls.",
    ),
    P(
        "poll_interval_seconds",
        NUMBER,
        default=5,
        title="Poll interval (s)",
        description="First wait between export status checks; it grows by 1.5x.",
    ),
    P(
        "poll_interval_max_seconds",
        NUMBER,
        default=60,
        title="Max poll interval (s)",
        description="Cap of the growing wait between status checks.",
    ),
    P(
        "export_timeout_seconds",
        NUMBER,
        default=3600,
        title="Export timeout (s)",
        description="Fail the run when one export has not finished after this long.",
    ),
    P(
        "request_timeout_seconds",
        NUMBER,
        default=300,
        title="Request timeout (s)",
        description="Timeout of one HTTP request (connect and each read).",
    ),
    P(
        "max_concurrent_exports",
        th.IntegerType,
        default=4,
        title="Max concurrent exports",
        description="Exports kept in flight at once during backfills.",
    ),
    P(
        "export_timezone",
        th.StringType,
        default="Europe/Vienna",
        title="Export time zone",
        description="IANA zone Emarsys uses for time_range and CSV timestamps.",
    ),
).to_dict()


class TapEmarsysRegistrations(Tap):
    """Emarsys form registrations through the asynchronous export API."""

    name = "tap-emarsys-registrations"
    dynamic_catalog = True
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema: ClassVar[dict[str, Any]] = CONFIG_SCHEMA
    # No BATCH: its files would carry records that per-window STATE already covers.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    def __init__(self, *args: Any, clock: Clock = SYSTEM_CLOCK, **kwargs: Any) -> None:  # noqa: ANN401
        self._clock = clock
        self._settings: Settings | None = None
        self._client: EmarsysClient | None = None
        super().__init__(*args, **kwargs)

    @property
    def settings(self) -> Settings:
        """The parsed settings; a bad value raises ``ConfigValidationError`` naming it."""
        if self._settings is None:
            try:
                self._settings = Settings.from_config(self.config)
            except ConfigError as exc:
                raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        return self._settings

    @property
    def client(self) -> EmarsysClient:
        """The HTTP client, built on first use."""
        if self._client is None:
            self._client = connect(self.settings, self._clock, f"{self.name}/{self.plugin_version}")
        return self._client

    # The SDK's connection test (@final) is a dry-run sync, which would start a
    # costly export; this one checks credentials, the catalog and permissions only.
    @override  # type: ignore[misc]
    def run_connection_test(self) -> bool:
        """Check auth, the field catalog and the API user's permissions; start no export."""
        check_connection(self.client)
        self.logger.info(
            "Connection test passed: credentials, field catalog and permissions are fine",
        )
        return True

    @override
    def discover_streams(self) -> list[RegistrationsStream]:
        settings = self.settings
        catalog = self.client.get("field/translate/en")
        fields = parse_catalog(catalog if isinstance(catalog, list) else [])
        header_names = names_by_id(catalog if isinstance(catalog, list) else [])
        if settings.export.language != "en":
            translated = self.client.get(f"field/translate/{settings.export.language}")
            header_names = names_by_id(translated if isinstance(translated, list) else [])
        try:
            if settings.export.contact_fields is not None:
                resolve_contact_fields(settings.export.contact_fields, fields)
            if settings.export.contactlist is not None:
                check_contact_list(self.client, settings.export.contactlist)
        except ConfigError as exc:
            raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        return [
            RegistrationsStream(
                self,
                fields=fields,
                header_names=header_names,
                settings=settings,
                client=self.client,
                clock=self._clock,
            ),
        ]
