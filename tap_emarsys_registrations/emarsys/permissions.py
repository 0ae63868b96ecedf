"""A connection test that starts no export: credentials, field catalog, permissions.

Each permission is probed with a request Emarsys rejects for its content, not
for lack of rights: a ``getregistrations`` call with an empty body, and the
status and data of export 0. A probe proves its permission only with an
answer that Emarsys could give only after the permission check passed:

- HTTP 2xx with replyCode 0;
- HTTP 400, 404 or 410 whose JSON envelope carries a replyCode of 1000 or
  more: Emarsys' codes about the request's content (1001-1010 invalid
  parameters or payload, 4001-4007 export states such as "export not found"
  or "in progress", 10001 validation and "Invalid export ID").

HTTP 403 means the permission is missing; HTTP 401 means bad credentials and
fails the test at once. Anything else (5xx or 429 until the retry budget is
spent, a timeout, a dropped connection, a 404 without such a code from a
wrong ``api_url``, a 200 that is not an envelope) proves nothing: the
permission is reported as "could not check", and the test fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from tap_emarsys_registrations.emarsys.client import ExportNotReadyError
from tap_emarsys_registrations.emarsys.replies import endpoint_name
from tap_emarsys_registrations.errors import (
    ConfigError,
    EmarsysAPIError,
    ExportBusyError,
    ExportExpiredError,
    TokenUnavailableError,
    UserFacingError,
)

if TYPE_CHECKING:
    from tap_emarsys_registrations.emarsys.client import EmarsysClient

HTTP_UNAUTHORIZED: Final = 401
HTTP_FORBIDDEN: Final = 403
CONTENT_STATUSES: Final = frozenset({400, 404, 410})
MIN_CONTENT_REPLY_CODE: Final = 1000
# A connection test should answer within seconds: fewer tries than a sync.
PROBE_ATTEMPTS: Final = 3
PROBES: Final = (
    ("field.list", "GET", "field/translate/en"),
    ("export.contact.registrations", "POST", "contact/getregistrations"),
    ("export.status", "GET", "export/0"),
    ("export.download", "GET", "export/0/data"),
)


class MissingPermissionsError(UserFacingError):
    """The API user lacks permissions the tap needs, or they could not be checked."""


@dataclass
class PermissionReport:
    """What the probes showed: permissions missing, and those no answer settled."""

    missing: list[str] = field(default_factory=list)
    unchecked: dict[str, str] = field(default_factory=dict)


def proves_permission(error: EmarsysAPIError) -> bool:
    """Whether an error reply still shows that the request passed the permission check."""
    return (
        error.status in CONTENT_STATUSES
        and error.reply_code is not None
        and error.reply_code >= MIN_CONTENT_REPLY_CODE
    )


def probe_permissions(client: EmarsysClient) -> PermissionReport:
    """Probe every permission the tap needs (see the module docstring for the rule).

    Raises:
        EmarsysAPIError: HTTP 401 (the credentials are wrong), or the token
            request failed, so no probe could be sent.
        TokenUnavailableError: no token could be had (token-fetch limits, or
            the token endpoint kept failing), so no probe could be sent.
    """
    report = PermissionReport()
    for permission, method, path in PROBES:
        body: dict[str, Any] | None = {} if method == "POST" else None
        try:
            client.send(method, path, json=body, max_attempts=PROBE_ATTEMPTS).close()
        except (ExportNotReadyError, ExportExpiredError, ExportBusyError):
            continue  # 4005, 4003 and 4001 are answers about the export, past the check
        except EmarsysAPIError as exc:
            if exc.status == HTTP_UNAUTHORIZED or exc.endpoint != endpoint_name(path):
                raise  # bad credentials, or the token request failed: no probe was answered
            if exc.status == HTTP_FORBIDDEN:
                report.missing.append(permission)
            elif not proves_permission(exc):
                report.unchecked[permission] = str(exc)
        except TokenUnavailableError:
            raise  # no token (limits, outage): no probe can be sent, so none is tried
        except UserFacingError as exc:  # retries spent on 5xx, 429, timeouts, resets
            report.unchecked[permission] = str(exc)
    return report


def check_connection(client: EmarsysClient) -> None:
    """Raise a one-line error naming every missing or unchecked permission."""
    report = probe_permissions(client)
    problems: list[str] = []
    if report.missing:
        problems.append(
            "the API user lacks the permission(s) "
            + ", ".join(report.missing)
            + "; grant them in Emarsys under Management > Security Settings > API users",
        )
    problems.extend(
        f"could not check {permission}: {reason}" for permission, reason in report.unchecked.items()
    )
    if problems:
        raise MissingPermissionsError("Connection test failed: " + "; ".join(problems))


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
