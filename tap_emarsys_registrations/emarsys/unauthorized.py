"""What an HTTP 401 from the API means, and what the operator should change.

A pure function of the reply, the authentication in use and the time, so that
each reading is tested without a server: bad OAuth credentials, a WSSE clock
out of Emarsys' 5-minute frame, bad WSSE credentials, or, after 2026-12-31,
WSSE itself retired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tap_emarsys_registrations.emarsys.wsse_sunset import is_past_sunset, retired_message
from tap_emarsys_registrations.errors import EmarsysAPIError, WsseRetiredError

if TYPE_CHECKING:
    import datetime as dt


def unauthorized_error(
    *,
    oauth: bool,
    now: dt.datetime,
    endpoint: str,
    reply_code: int | None,
    text: str,
    server_date: str | None,
) -> EmarsysAPIError:
    """The error for a 401 on ``endpoint`` with Emarsys' ``replyCode`` and ``replyText``."""

    def error(hint: str) -> EmarsysAPIError:
        return EmarsysAPIError(
            status=401, reply_code=reply_code, reply_text=text, endpoint=endpoint, hint=hint
        )

    if oauth:
        return error("Check client_id and client_secret, and that the API user is active")
    if "time" in text.lower():
        # Emarsys still checks the WSSE time frame, so WSSE itself is not what failed.
        local = now.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return error(
            "WSSE requires this machine's clock to be within 5 minutes of Emarsys: "
            f"the server's Date header says {server_date or 'unknown'}, this machine "
            f"says {local}. Check the clock (NTP)"
        )
    if is_past_sunset(now):
        return WsseRetiredError(
            status=401,
            reply_code=reply_code,
            reply_text=text,
            endpoint=endpoint,
            message=retired_message(endpoint, 401, reply_code, text),
        )
    return error("Check username and secret")
