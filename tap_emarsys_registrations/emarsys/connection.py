"""Builds the HTTP client for the configured API version and authentication."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
import requests

from tap_emarsys_registrations.emarsys.auth import OAuthClientCredentials, WsseAuthenticator
from tap_emarsys_registrations.emarsys.client import EmarsysClient
from tap_emarsys_registrations.emarsys.token_cache import FileTokenCache, MemoryTokenCache
from tap_emarsys_registrations.emarsys.wsse_sunset import sunset_warning
from tap_emarsys_registrations.settings.credentials import OAuthCredentials

if TYPE_CHECKING:
    from singer_sdk.authenticators import APIAuthenticatorBase

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.settings.cache import TokenCacheSettings
    from tap_emarsys_registrations.settings.tap_settings import Settings

APP_NAME = "tap-emarsys-registrations"
LOGGER = logging.getLogger(__name__)


def token_cache(settings: TokenCacheSettings, client_secret: str = "") -> MemoryTokenCache:
    """The configured token cache; the default folder is looked up now, not at import.

    With ``token_cache_url``, the shared PostgreSQL store, falling back to the folder.
    """
    if not settings.enabled:
        return MemoryTokenCache()
    folder = settings.folder or Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    files = FileTokenCache(folder.absolute())
    if settings.url is None:
        return files
    from tap_emarsys_registrations.emarsys.token_store_pg import PostgresTokenStore  # noqa: PLC0415 - psycopg only when used

    return PostgresTokenStore(settings.url, client_secret, files)


def connect(settings: Settings, clock: Clock, user_agent: str) -> EmarsysClient:
    """A client for ``settings.api_base``, signing with OAuth 2.0 or WSSE."""

    def new_session() -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = user_agent
        return session

    credentials = settings.credentials
    authenticator: APIAuthenticatorBase
    if isinstance(credentials, OAuthCredentials):
        authenticator = OAuthClientCredentials(
            token_url=credentials.token_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            session=new_session(),
            timeout=min(settings.request_timeout, 60.0),
            clock=clock,
            cache=token_cache(settings.token_cache, credentials.client_secret),
        )
    else:
        LOGGER.warning("%s", sunset_warning(clock.now()))
        authenticator = WsseAuthenticator(
            username=credentials.username,
            secret=credentials.secret,
            clock=clock,
        )
    return EmarsysClient(
        api_base=settings.api_base,
        authenticator=authenticator,
        session_factory=new_session,
        clock=clock,
        timeout=settings.request_timeout,
    )
