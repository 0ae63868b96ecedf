"""Reading Emarsys replies: the JSON envelope, endpoint labels, and what to tell the operator."""

from __future__ import annotations

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
