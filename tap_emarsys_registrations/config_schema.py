"""The tap's settings: the JSON schema behind ``--about``, validation and Meltano."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_emarsys_registrations.settings import (
    DEFAULT_API_URL,
    DEFAULT_TOKEN_URL,
    DISTRIBUTION_METHODS,
    LANGUAGES,
)

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
        "token_cache",
        th.BooleanType,
        default=True,
        title="Share OAuth tokens",
        description="Keep the OAuth token in a private file (mode 0600) so that every run of "
        "this OS user reuses it until it expires, within Emarsys' limit of 2 token requests a "
        "minute and 10 an hour per client_id. Off: each run fetches its own token.",
    ),
    P(
        "token_cache_dir",
        th.StringType,
        title="Token cache folder",
        description="Folder of the shared OAuth token. Default: the user's cache folder "
        "($XDG_CACHE_HOME or ~/.cache, then tap-emarsys-registrations). In containers, point "
        "it at a persistent volume.",
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
        "cannot be cut at window edges and the key is user_id plus window_start.",
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
