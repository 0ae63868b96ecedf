"""The export options: the ``getregistrations`` parameters that do not depend on the window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from singer_sdk import typing as th

from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.fields import check_exportable
from tap_emarsys_registrations.settings.declare import declaration, read_declared, section, setting
from tap_emarsys_registrations.settings.remote import REMOTE_METHODS, RemoteSettings, parse_remote
from tap_emarsys_registrations.settings.values import read_choice, read_flag, read_url

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_emarsys_registrations.settings.declare import Declaration

_LANGUAGE_CODES: Final = (
    "ar bg bp cn cz de dk el en es et fi fr he hi hr hu it jp ko lt lv mk mo mx nl no pl pr "
    "ro ru sc sk sl sr sv th tr uk vi"
)
LANGUAGES: Final = tuple(_LANGUAGE_CODES.split())
LOCAL: Final = "local"  # download through the API
DISTRIBUTION_METHODS: Final = (LOCAL, *REMOTE_METHODS)


def _contact_fields(raw: Any, declared: Declaration) -> tuple[int | str, ...] | None:  # noqa: ANN401
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(declared.path, "must be a non-empty list of field ids or string_ids")
    items: list[int | str] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int | str) or item == "":
            raise ConfigError(declared.path, f"{item!r} is not a field id or string_id")
        items.append(int(item) if isinstance(item, str) and item.strip().isdigit() else item)
    check_exportable(items)
    return tuple(items)


def _contactlist(raw: Any, declared: Declaration) -> int | None:  # noqa: ANN401
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0):
        raise ConfigError(declared.path, f"must be a positive contact list id, not {raw!r}")
    return raw


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions:
    """The ``getregistrations`` parameters that do not depend on the window."""

    contact_fields: tuple[int | str, ...] | None = setting(
        "contact_fields",
        th.ArrayType(th.CustomType({"type": ["integer", "string"]})),
        _contact_fields,
        title="Contact fields",
        description="Field ids or string_ids to export; more than 20 are split over several "
        "exports per window and joined. Default: the selected catalog properties.",
    )
    contactlist: int | None = setting(
        "contactlist",
        th.IntegerType,
        _contactlist,
        title="Contact list",
        description="Only export registrations of contacts in this contact list id.",
    )
    language: str = setting(
        "language",
        th.StringType,
        read_choice,
        default="en",
        allowed=LANGUAGES,
        title="Language",
        description="Language of the CSV header and of choice-field labels.",
    )
    delimiter: str = setting(
        "delimiter",
        th.StringType,
        read_choice,
        default=";",
        allowed=(";", ","),
        title="Delimiter",
        description="CSV delimiter Emarsys writes; both parse the same.",
    )
    with_timestamp: bool = setting(
        "with_timestamp",
        th.BooleanType,
        read_flag,
        default=True,
        title="With timestamp",
        description="Ask for the registration time. Without it registered_at is null, rows "
        "cannot be cut at window edges and the key is user_id plus window_start.",
    )
    add_field_names_header: bool = setting(
        "add_field_names_header",
        th.BooleanType,
        read_flag,
        default=True,
        title="Header row",
        description="Ask for a header row; the tap checks it against the requested fields.",
    )
    distribution_method: str = setting(
        "distribution_method",
        th.StringType,
        read_choice,
        default=LOCAL,
        allowed=DISTRIBUTION_METHODS,
        title="Distribution method",
        description="How Emarsys delivers the file: 'local' downloads it through the API; "
        "'ftp' and 'sftp' upload it to ftp_settings, where the tap reads it.",
    )
    remote: RemoteSettings | None = section(RemoteSettings)
    notification_url: str | None = setting(
        "notification_url",
        th.URIType,
        read_url,
        title="Notification URL",
        description="Passed to Emarsys, which calls it when an export is ready. The tap "
        "still polls.",
    )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ExportOptions:
        """Parse the export options, and the remote server for ``ftp``/``sftp``."""
        method = declaration(cls, "distribution_method").value(config)
        return cls(**read_declared(cls, config, remote=parse_remote(config, method)))
