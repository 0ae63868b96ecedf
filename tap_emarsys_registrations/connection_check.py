"""A connection test that starts no export: credentials, field catalog, permissions.

Each permission is probed with a request Emarsys rejects for its content, not
for lack of rights: a ``getregistrations`` call with an empty body, and the
status and data of export 0. Only HTTP 403 means the permission is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tap_emarsys_registrations.errors import ConfigError, EmarsysAPIError, UserFacingError

if TYPE_CHECKING:
    from tap_emarsys_registrations.client import EmarsysClient

HTTP_FORBIDDEN: Final = 403
PROBES: Final = (
    ("field.list", "GET", "field/translate/en"),
    ("export.contact.registrations", "POST", "contact/getregistrations"),
    ("export.status", "GET", "export/0"),
    ("export.download", "GET", "export/0/data"),
)


class MissingPermissionsError(UserFacingError):
    """The API user lacks permissions the tap needs."""


def missing_permissions(client: EmarsysClient) -> list[str]:
    """The permissions whose probe Emarsys answered with 403."""
    missing: list[str] = []
    for permission, method, path in PROBES:
        try:
            client.send(method, path, json={} if method == "POST" else None).close()
        except EmarsysAPIError as exc:
            if exc.status == HTTP_FORBIDDEN:
                missing.append(permission)
            elif exc.status == 401:  # noqa: PLR2004 - bad credentials fail the test outright
                raise
        except Exception:  # noqa: BLE001, S112 - any other answer proves the right exists
            continue
    return missing


def check_connection(client: EmarsysClient) -> None:
    """Raise a one-line error naming every missing permission."""
    missing = missing_permissions(client)
    if missing:
        raise MissingPermissionsError(
            "The API user lacks the permission(s) "
            + ", ".join(missing)
            + "; grant them in Emarsys under Management > Security Settings > API users",
        )


def check_contact_list(client: EmarsysClient, list_id: int) -> None:
    """Raise a ConfigError naming ``contactlist`` when the account has no such list.

    Needs the ``contactlist.list`` permission (one read-only request).
    """
    lists = client.get("contactlist")
    known = (
        {str(entry.get("id")) for entry in lists if isinstance(entry, dict)}
        if isinstance(lists, list)
        else set()
    )
    if str(list_id) not in known:
        raise ConfigError(
            "contactlist",
            f"{list_id} is not a contact list of this account "
            f"(known: {', '.join(sorted(known)) or 'none'})",
        )
