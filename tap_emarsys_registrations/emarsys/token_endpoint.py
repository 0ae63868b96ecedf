"""One request to the OAuth token endpoint, and what each answer means."""

from __future__ import annotations

import math
from typing import Final

import requests

from tap_emarsys_registrations.errors import EmarsysAPIError, TransientAPIError

HTTP_UNAUTHORIZED: Final = 401
HTTP_BAD_REQUEST: Final = 400
HTTP_TOO_MANY_REQUESTS: Final = 429
HTTP_SERVER_ERROR: Final = 500


def request_token(
    session: requests.Session, token_url: str, credentials: tuple[str, str], timeout: float
) -> tuple[str, float]:
    """Send one client-credentials request; the access token and its lifetime in seconds.

    Raises:
        TokenRateLimitedError: HTTP 429.
        TransientAPIError: 5xx, a timeout or a connection error.
        EmarsysAPIError: credentials rejected, or no access_token in the reply.
    """
    try:
        response = session.post(
            token_url,
            data={"grant_type": "client_credentials"},
            auth=credentials,
            headers={"Accept": "application/json"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        msg = f"OAuth token request failed: {type(exc).__name__}"
        raise TransientAPIError(msg) from None
    with response:
        if response.status_code == HTTP_TOO_MANY_REQUESTS:
            raise TokenRateLimitedError(retry_after(response.headers.get("Retry-After")))
        if response.status_code >= HTTP_SERVER_ERROR:
            msg = f"OAuth token endpoint answered HTTP {response.status_code}"
            raise TransientAPIError(msg)
        if response.status_code in {HTTP_UNAUTHORIZED, HTTP_BAD_REQUEST}:
            raise EmarsysAPIError(
                status=response.status_code,
                reply_code=None,
                reply_text="the token endpoint rejected the client credentials",
                endpoint="OAuth token request",
                hint="Check client_id, client_secret and token_url",
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise EmarsysAPIError(
                status=response.status_code,
                reply_code=None,
                reply_text="the token endpoint did not return an access_token",
                endpoint="OAuth token request",
                hint="Check token_url: it must point at the Emarsys token endpoint",
            ) from None
    return token, lifetime


class TokenRateLimitedError(Exception):
    """HTTP 429 from the token endpoint, with its Retry-After in seconds, if any."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("HTTP 429")
        self.retry_after = retry_after


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; None if absent or a date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
