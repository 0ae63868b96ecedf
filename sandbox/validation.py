"""Validation of ``contact/getregistrations`` bodies, following the documented error table."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.conformance import check_request
from sandbox.contactlists import KNOWN_CONTACT_LISTS
from sandbox.fields import LANGUAGES, MAX_EXPORT_FIELDS, exportable_ids
from sandbox.replies import ApiError

if TYPE_CHECKING:
    from sandbox.config import SandboxConfig

VALIDATION_CODE = 10001
INVALID_PAYLOAD_CODE = 1010
INVALID_LANGUAGE_CODE = 1002
INVALID_LANGUAGE = "Invalid language code"
DISTRIBUTION_METHODS = ("local", "ftp", "sftp")
_RANGE_SIZE = 2
_DATE_FORMATS = (
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"), "%Y-%m-%d %H:%M"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
)


@dataclass(frozen=True)
class ExportRequest:
    """A validated registrations export request. Bounds are naive Vienna wall-clock times."""

    distribution_method: str
    start: datetime
    end: datetime
    field_ids: tuple[int, ...]
    delimiter: str = ","
    with_timestamp: bool = True
    header: bool = True
    language: str = "en"
    contactlist: int | None = None
    ftp_settings: dict[str, Any] | None = None
    notification_url: str | None = None


def _invalid(text: str) -> ApiError:
    return ApiError(400, VALIDATION_CODE, text)


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_bound(value: object) -> datetime | None:
    """Parse one ``time_range`` item (three accepted formats), else ``None``."""
    if not isinstance(value, str):
        return None
    for pattern, fmt in _DATE_FORMATS:
        if pattern.fullmatch(value.strip()):
            try:
                return datetime.strptime(value.strip(), fmt)  # noqa: DTZ007 - wall clock
            except ValueError:
                return None
    return None


def _int_like(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, 1)
    if value in (0, 1, "0", "1") and not isinstance(value, bool):
        return int(value) == 1
    raise _invalid(f"Invalid value for {name}: {_show(value)}")


def _field_ids(raw: object) -> tuple[int, ...]:
    if not isinstance(raw, list):
        raise _invalid("Invalid data format for contact_fields. Array expected")
    if not raw:
        raise _invalid("Invalid number of fields")
    allowed = exportable_ids()
    ids = [_int_like(item) for item in raw]
    bad = [_show(item) for item, fid in zip(raw, ids, strict=True) if fid not in allowed]
    if bad:
        raise _invalid(f"Invalid contact field id: {', '.join(bad)}")
    if len(raw) > MAX_EXPORT_FIELDS:
        raise _invalid("Invalid number of fields")
    return tuple(fid for fid in ids if fid is not None)


def _remote_settings(body: dict[str, Any], method: str, config: SandboxConfig) -> dict[str, Any]:
    """The server settings of an ftp/sftp export, read the way ``config`` says Emarsys does.

    ftp takes ``ftp_settings`` (the older docs). sftp takes the key(s) that
    ``config.sftp_settings_key`` accepts (the spec says ``sftp_settings``, its example
    ``ftp_settings``); the other key is ignored, or refused in ``sftp_settings_strict``.
    """
    mode = config.sftp_settings_key
    if method == "ftp":
        keys = ["ftp_settings"]
    elif mode == "either":
        keys = ["sftp_settings", "ftp_settings"]
    else:
        keys = ["ftp_settings" if mode == "ftp_settings" else "sftp_settings"]
    if method == "sftp" and mode == "sftp_settings_strict" and "ftp_settings" in body:
        raise _invalid("Unknown parameter: ftp_settings")
    key = next((k for k in keys if k in body), keys[0])
    settings = body.get(key)
    if settings is None:
        raise _invalid(f"Missing parameter: {key}")
    if not isinstance(settings, dict):
        raise _invalid(f"Invalid data format for {key}. Object expected")
    port, wanted = settings.get("port"), config.sftp_port_type
    if method == "sftp" and port is not None and wanted != "either":
        expected = str if wanted == "string" else int
        if not isinstance(port, expected) or isinstance(port, bool):
            raise _invalid(f"Invalid data format for {key}.port. {wanted.capitalize()} expected")
    return settings


def validate_registrations(body: object, config: SandboxConfig) -> ExportRequest:
    """Validate a getregistrations body, raising ``ApiError`` exactly as Emarsys documents.

    The documented error table first, then the switches for the contract's
    contradictions, then the schema of ``sandbox.contract`` (closed in strict mode).
    """
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_PAYLOAD_CODE, "Invalid request payload")
    for name in ("distribution_method", "time_range", "contact_fields"):
        if body.get(name) is None:
            raise _invalid(f"Missing parameter: {name}")
    time_range = body["time_range"]
    if not isinstance(time_range, list):
        raise _invalid("Invalid data format for time_range. Array expected")
    if len(time_range) != _RANGE_SIZE:
        raise _invalid("Invalid data format for time_range. Array size must be 2")
    method = body["distribution_method"]
    if method not in DISTRIBUTION_METHODS or (method == "ftp" and config.refuse_ftp):
        raise _invalid(f"Invalid distribution method: {_show(method)}")
    field_ids = _field_ids(body["contact_fields"])
    start, end = parse_bound(time_range[0]), parse_bound(time_range[1])
    if start is None or end is None:
        raise _invalid("Valid start_date and end_date is required")
    if end <= start:
        raise _invalid("Invalid value for end_date: end_date is earlier than the start_date")
    delimiter = body.get("delimiter", ",")
    if delimiter not in (",", ";"):
        raise _invalid(f"Invalid value for delimiter: {_show(delimiter)}")
    with_timestamp = _flag(body, "with_timestamp")
    header = _flag(body, "add_field_names_header")
    language = body.get("language", "en")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise ApiError(400, INVALID_LANGUAGE_CODE, INVALID_LANGUAGE)
    contactlist = body.get("contactlist")
    if contactlist is not None and _int_like(contactlist) is None:
        raise _invalid("Invalid data format for contactlist. Integer expected")
    if contactlist is not None and _int_like(contactlist) not in KNOWN_CONTACT_LISTS:
        raise _invalid(f"Invalid value for contactlist: {contactlist}")
    settings = _remote_settings(body, method, config) if method != "local" else None
    closed = config.strict_contract or config.sftp_settings_key == "sftp_settings_strict"
    check_request(body, closed=closed)
    url = body.get("notification_url")
    return ExportRequest(
        distribution_method=method,
        start=start,
        end=end,
        field_ids=field_ids,
        delimiter=delimiter,
        with_timestamp=with_timestamp,
        header=header,
        language=language,
        contactlist=_int_like(contactlist),
        ftp_settings=settings,
        notification_url=url if isinstance(url, str) else None,
    )
