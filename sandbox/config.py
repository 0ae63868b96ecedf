"""Static sandbox configuration and the runtime fault switches."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from sandbox.profile import Burst, ExportTime

BOUNDS = ("[]", "[)", "(]", "()")
FRAMINGS = ("content-length", "chunked", "close")
# The documented status is "in progress"; one public client reports "in_progress".
IN_PROGRESS_SPELLINGS = ("in progress", "in_progress")
PAGING_FORMS = ("query", "path", "both", "none")
# Who may poll and download an export: any credential of the account, or only the one
# that started it (others get 400/10001 as for an id that does not exist). The docs do
# not say whether an export started through WSSE (v2) can be polled with OAuth (v3).
EXPORT_SCOPES = ("account", "credential")
# Which key carries the server settings of distribution_method sftp: the current spec
# names sftp_settings, its example and the older docs ftp_settings (see sandbox/contract.py).
SFTP_KEYS = ("either", "ftp_settings", "sftp_settings", "sftp_settings_strict")
# The type of the SFTP port: a string in the current spec, an integer in the older docs.
PORT_TYPES = ("either", "string", "integer")
# The export id in replies: the spec's integer when started and string in the status.
EXPORT_ID_FORMS = ("spec", "integer", "string")


def _default_start() -> datetime:
    return datetime(2024, 3, 29, tzinfo=UTC)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that is fixed for the lifetime of one sandbox server.

    All fields have defaults, so ``SandboxConfig()`` is a working configuration.
    """

    port: int = 0
    seed: int = 42
    # Dataset: UTC range [start, start + days), ``per_day`` random registrations per UTC day.
    start: datetime = field(default_factory=_default_start)
    days: int = 4
    per_day: int = 40
    # Campaign bursts: on their days ``Burst.per_day`` replaces ``per_day`` (sandbox/profile.py).
    bursts: tuple[Burst, ...] = ()
    # Credentials.
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - sandbox credential
    username: str = "sandbox001"
    secret: str = "sandbox-secret"  # noqa: S105 - sandbox credential
    token_path: str = "/oauth2/token"  # noqa: S105 - a URL path
    token_ttl_seconds: float = 3600.0
    # Emarsys' token-fetch limits per client_id (None switches one off), and whether
    # the 429 names a Retry-After (the docs do not say).
    token_limit_per_minute: int | None = 2
    token_limit_per_hour: int | None = 10
    token_retry_after: bool = False
    # Export jobs.
    # The export-time model: a fixed overhead per export plus a time per 1,000 rows it
    # selects, on the sandbox clock (so a shared virtual clock models minutes at once).
    export_delay_seconds: float = 0.0
    export_seconds_per_thousand_rows: float = 0.0
    export_expiry_seconds: float | None = None
    bounds: str = "[]"
    in_progress_spelling: str = "in progress"
    export_scope: str = "account"
    # CSV download rendering and HTTP framing.
    bom: bool = False
    crlf: bool = True
    framing: str = "content-length"
    chunk_size: int = 65536
    # A slow link: the pause after each chunk of a CSV body (0 = as fast as loopback).
    download_pause_seconds: float = 0.0
    # /data row cap and paging (see sandbox/paging.py): None = no cap; which of the
    # offset/limit forms are honoured (query, path, both, none); header on later pages.
    download_row_cap: int | None = None
    paging_forms: str = "both"
    header_on_every_page: bool = True
    # ftp/sftp delivery: FTPS for uploads, and the pause between failed upload attempts.
    ftp_tls: bool = False
    upload_retry_seconds: float = 1.0
    # Rate limiting, permissions, clock.
    rate_limit_per_minute: int | None = None
    rate_limit_window_seconds: float = 60.0
    permissions: frozenset[str] | None = None
    clock_offset_seconds: float = 0.0
    # The contract (sandbox/contract.py): every getregistrations body is validated; strict
    # refuses parameters the schema does not name. check_replies validates every JSON reply
    # against the reply schemas and turns a violation into a 500 that the tests see.
    strict_contract: bool = True
    check_replies: bool = True
    # The contract's contradictions, one switch each (sandbox/contract.py says why):
    # the settings key of sftp ("sftp_settings_strict": only sftp_settings, and an
    # unknown parameter is refused even outside strict_contract), the port's type,
    # whether distribution_method "ftp" is refused, whether /data with limit answers
    # JSON, the export id's type in the replies and the status reply's "type".
    sftp_settings_key: str = "either"
    sftp_port_type: str = "either"
    refuse_ftp: bool = False
    limit_answers_json: bool = False
    # ...labelled text/csv, as the spec declares for /data, instead of application/json.
    limit_json_labelled_csv: bool = False
    # Every /data answer is JSON, limit or not (the spec's only declared /data schema is
    # the JSON envelope, though it declares text/csv).
    data_answers_json: bool = False
    export_id_form: str = "spec"
    status_type: str = "Registrations"
    # Benchmarks: render each distinct export body once into this folder and serve the
    # file, so the download runs at disk speed instead of the simulator's render speed.
    file_cache_dir: str | None = None

    def __post_init__(self) -> None:
        """Validate the values that would otherwise fail late and obscurely."""
        if self.start.tzinfo is None:
            msg = "SandboxConfig.start must be timezone-aware"
            raise ValueError(msg)
        if self.start.utcoffset() != UTC.utcoffset(None):
            object.__setattr__(self, "start", self.start.astimezone(UTC))
        if self.bounds not in BOUNDS:
            msg = f"bounds must be one of {BOUNDS}, not {self.bounds!r}"
            raise ValueError(msg)
        if self.in_progress_spelling not in IN_PROGRESS_SPELLINGS:
            msg = f"in_progress_spelling must be one of {IN_PROGRESS_SPELLINGS}"
            raise ValueError(msg)
        if self.export_scope not in EXPORT_SCOPES:
            msg = f"export_scope must be one of {EXPORT_SCOPES}, not {self.export_scope!r}"
            raise ValueError(msg)
        if self.paging_forms not in PAGING_FORMS:
            msg = f"paging_forms must be one of {PAGING_FORMS}, not {self.paging_forms!r}"
            raise ValueError(msg)
        for name, allowed in (
            ("sftp_settings_key", SFTP_KEYS),
            ("sftp_port_type", PORT_TYPES),
            ("export_id_form", EXPORT_ID_FORMS),
        ):
            if getattr(self, name) not in allowed:
                msg = f"{name} must be one of {allowed}, not {getattr(self, name)!r}"
                raise ValueError(msg)
        if self.download_row_cap is not None and self.download_row_cap < 1:
            msg = "download_row_cap must be >= 1 (or None for no cap)"
            raise ValueError(msg)
        if self.framing not in FRAMINGS:
            msg = f"framing must be one of {FRAMINGS}, not {self.framing!r}"
            raise ValueError(msg)
        if self.download_pause_seconds < 0:
            msg = "download_pause_seconds must be >= 0"
            raise ValueError(msg)
        self.export_time  # noqa: B018 - validates both parts of the export-time model
        if self.days < 0 or self.per_day < 0 or self.chunk_size < 1:
            msg = "days and per_day must be >= 0 and chunk_size >= 1"
            raise ValueError(msg)
        if not self.token_path.startswith("/") or self.token_path.startswith(("/api", "/_sandbox")):
            msg = "token_path must start with '/' and not collide with /api or /_sandbox"
            raise ValueError(msg)

    @property
    def export_time(self) -> ExportTime:
        """The export-time model: ``export_delay_seconds`` plus a time per 1,000 rows."""
        return ExportTime(self.export_delay_seconds, self.export_seconds_per_thousand_rows)


@dataclass
class Faults:
    """Runtime fault switches; tests flip these while the server runs. All off by default."""

    error_rate_5xx: float = 0.0
    """Probability of a random 500/502/503 (JSON envelope) on any /api request."""
    reply_code_error_rate: float = 0.0
    """Probability of HTTP 200 carrying replyCode 1003 or 2011 on any /api request."""
    drop_download_after_bytes: int | None = None
    """When set, /data downloads send full headers, then only this many body bytes, then close."""
    drop_download_count: int = 0
    """How many downloads to drop (decremented each time); 0 means every download."""
    fail_next_exports: int = 0
    """The next N started exports end in status ``error``."""
    never_finish: bool = False
    """Exports that are not finished yet stay ``in progress`` while this is on."""
    too_many_requests_burst: int = 0
    """The next N /api requests get 429 with X-RateLimit-Reset = now + reset_after_seconds."""
    reset_after_seconds: float = 1.0
    """Seconds until the advertised reset for ``too_many_requests_burst`` replies."""
    expire_now: bool = False
    """Every finished export's /data answers 410/4003."""
    shuffle_rows: bool = False
    """Downloads list rows in an order of their own (seeded by the export id)."""
    omit_first_row_with_field: int | None = None
    """Exports whose contact_fields include this id leave out their first data row."""
    token_budget_spent: bool = False
    """Every token request answers 429, as if the client_id's hourly budget were used up."""
    token_endpoint_down: bool = False
    """Every token request answers 503 (an outage of the token endpoint)."""
    wsse_retired: bool = False
    """Every WSSE (v2) request answers 401/1 ``Unauthorized.``, as after Emarsys retires WSSE."""
    drop_connections: bool = False
    """Every /api request is read, then its connection is closed without a reply."""
    stall_seconds: float = 0.0
    """Every /api request waits this long before it is answered (client timeouts)."""
    reply_file_name: str | None = None
    """Done ftp/sftp exports report this ``file_name`` instead of the uploaded file's
    (a buggy or tampered status reply; the upload itself is unchanged)."""
    reply_ftp_dir: str | None = None
    """Done ftp/sftp exports report this ``ftp_dir`` instead of the configured folder."""
    corrupt_csv: str | None = None
    """Malformed downloads: ``ragged`` (3rd data row loses a cell), ``extra_column``
    (every row and the header gain one), ``renamed_header`` (2nd header cell), or
    ``blank_timestamp`` (3rd data row has an empty timestamp cell)."""

    def reset(self) -> None:
        """Switch every fault off again."""
        for f in fields(self):
            setattr(self, f.name, getattr(Faults(), f.name))

    def update(self, changes: dict[str, object]) -> None:
        """Set several switches by name (used by the HTTP control endpoint)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            msg = f"unknown fault(s): {', '.join(unknown)}"
            raise ValueError(msg)
        for name, value in changes.items():
            setattr(self, name, value)
