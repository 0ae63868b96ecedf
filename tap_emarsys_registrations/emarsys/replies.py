"""Reading Emarsys replies: the JSON envelope, endpoint labels, and what to tell the operator."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import requests

# The permission each endpoint needs, named in errors about HTTP 403.
PERMISSIONS: Final = {
    "contact/getregistrations": "export.contact.registrations",
    "export/{id}/data": "export.download",
    "export/{id}": "export.status",
    "field/translate": "field.list",
    "field": "field.get",
    "contactlist": "contactlist.list",
}

# The settings that fill each getregistrations parameter, named in a 400 about it.
PARAMETER_SETTINGS: Final = {
    "distribution_method": "distribution_method",
    "time_range": "start_date', 'end_date' and 'window_hours",
    "contact_fields": "contact_fields",
    "contactlist": "contactlist",
    "language": "language",
    "delimiter": "delimiter",
    "with_timestamp": "with_timestamp",
    "add_field_names_header": "add_field_names_header",
    "notification_url": "notification_url",
    "ftp_settings": "ftp_settings",
    "sftp_settings": "ftp_settings",
}
_PARAMETER: Final = re.compile(
    r"\b(" + "|".join(sorted(PARAMETER_SETTINGS, key=len, reverse=True)) + r")((?:\.\w+)?)\b"
)
_FTP_REFUSED: Final = re.compile(r"distribution[ _]method\W+ftp\b")


def parameter_hint(text: str) -> str | None:
    """Which parameter a 400 names, and the setting that fills it; None if it names none."""
    lowered = text.lower()
    if _FTP_REFUSED.search(lowered):
        return (
            "Emarsys does not take distribution_method 'ftp' (its current API knows 'local' "
            "and 'sftp'): set distribution_method to 'sftp' for an SFTP server (same "
            "ftp_settings), or to 'local'"
        )
    found = _PARAMETER.search(text)
    if found is None:
        return None
    name, entry = found.group(1), found.group(2)
    setting = PARAMETER_SETTINGS[name] + entry
    settings = "settings" if "'" in setting else "setting"
    return f"The parameter '{name}{entry}' is filled from the {settings} '{setting}': check it"


def endpoint_name(path: str) -> str:
    """A stable label for a path, with export ids replaced: ``export/{id}/data``.

    Paging (``?offset=N`` or ``/offset=N&limit=M``) does not change the label.
    """
    parts = [
        ("{id}" if part.isdigit() else part)
        for part in path.partition("?")[0].strip("/").split("/")
        if "=" not in part
    ]
    if parts[:2] == ["field", "translate"]:
        return "field/translate"
    return "/".join(parts)


def envelope(response: requests.Response) -> tuple[int | None, str, Any]:
    """``(replyCode, replyText, data)`` of a JSON reply; ``(None, reason, None)`` otherwise."""
    try:
        body = response.json()
    except ValueError:
        return None, response.reason or f"HTTP {response.status_code}", None
    if not isinstance(body, dict):
        return None, "reply is not a JSON object", None
    code = body.get("replyCode")
    return (
        int(code) if isinstance(code, int | str) and str(code).lstrip("-").isdigit() else None,
        str(body.get("replyText") or ""),
        body.get("data"),
    )


def hint(status: int, reply_code: int | None, text: str, endpoint: str) -> str:  # noqa: PLR0911
    """The setting (or Emarsys permission) to check for a fatal reply."""
    lowered = text.lower()
    if status == 403:  # noqa: PLR2004
        permission = PERMISSIONS.get(endpoint, endpoint)
        return (
            f"The API user lacks the permission '{permission}'; grant it in Emarsys under "
            "Management > Security Settings > API users"
        )
    named = parameter_hint(text) if status == 400 else None  # noqa: PLR2004
    if named is not None:
        return named
    if "contact field" in lowered or "number of fields" in lowered:
        return "Check contact_fields and the selected properties"
    if "contactlist" in lowered or reply_code == 3006:  # noqa: PLR2004
        return "Check contactlist"
    if "language" in lowered:
        return "Check language"
    if "delimiter" in lowered:
        return "Check delimiter"
    if "distribution" in lowered:
        return "Check distribution_method"
    if "date" in lowered or "time_range" in lowered:
        return "Check start_date, end_date and window_hours"
    return "Check api_url and the credentials"
