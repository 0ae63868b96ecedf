"""The tap: its settings and its one stream."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING, Any, ClassVar

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_emarsys_registrations.clock import SYSTEM_CLOCK, Clock
from tap_emarsys_registrations.delivery.row_count import RowCaps
from tap_emarsys_registrations.emarsys.connection import connect
from tap_emarsys_registrations.emarsys.permissions import check_connection, check_contact_list
from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.extraction.state_input import clean_state, parse_state_text
from tap_emarsys_registrations.fields import names_by_id, parse_catalog, resolve_contact_fields
from tap_emarsys_registrations.keys import migrate_catalog
from tap_emarsys_registrations.output import BufferedMsgSpecWriter
from tap_emarsys_registrations.settings.schema import CONFIG_SCHEMA
from tap_emarsys_registrations.settings.tap_settings import (
    Settings,
)
from tap_emarsys_registrations.streams import RegistrationsStream

if TYPE_CHECKING:
    import click
    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.singerlib import Catalog

    from tap_emarsys_registrations.emarsys.client import EmarsysClient


DEFAULT_CAPS = RowCaps()


def _read_and_close(handle: IO[str]) -> str:
    """The text of a ``--state``/``--catalog`` file, closed at once (stdin stays open).

    A file left open ends a failing run with ``ResourceWarning: unclosed file``.
    """
    try:
        return handle.read()
    finally:
        if handle is not sys.stdin and getattr(handle, "name", None) != "<stdin>":
            handle.close()


class TapEmarsysRegistrations(Tap):
    """Emarsys form registrations through the asynchronous export API."""

    name = "tap-emarsys-registrations"
    dynamic_catalog = True
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema: ClassVar[dict[str, Any]] = CONFIG_SCHEMA
    # No BATCH: its files would carry records that per-window STATE already covers.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    def __init__(
        self,
        *args: Any,  # noqa: ANN401
        clock: Clock = SYSTEM_CLOCK,
        row_caps: RowCaps = DEFAULT_CAPS,
        **kwargs: Any,  # noqa: ANN401
    ) -> None:
        self._clock = clock
        self._row_caps = row_caps
        self._settings: Settings | None = None
        self._client: EmarsysClient | None = None
        # Checked here, before the SDK's __init__ runs discovery (the first API call).
        state = kwargs.get("state")
        if isinstance(state, str | PurePath) and str(state):
            state = parse_state_text(Path(state).read_text(encoding="utf-8"), str(state))
        if state is not None and not isinstance(state, str | PurePath):
            kwargs["state"] = clean_state(state)
        self._catalog_migrated = False
        super().__init__(*args, **kwargs)

    # The SDK parses ``--state PATH`` with a bare json.loads, so a file that is
    # not JSON ends in a traceback. The text is checked here and handed on; its
    # content is checked in __init__, like a STATE given in-process.
    @override
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,  # the SDK's private config input type
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
    ) -> None:
        if catalog is not None:
            catalog = io.StringIO(_read_and_close(catalog))
        if state is not None:
            name = getattr(state, "name", "--state")
            state = io.StringIO(json.dumps(parse_state_text(_read_and_close(state), name)))
        super().invoke(
            about=about, about_format=about_format, config=config, state=state, catalog=catalog
        )

    @property
    @override
    def input_catalog(self) -> Catalog | None:
        """The catalog passed in, with a non-null stream key (see keys.migrate_catalog)."""
        catalog = super().input_catalog
        if catalog is not None and not self._catalog_migrated:
            self._catalog_migrated = True
            try:
                migrate_catalog(
                    catalog,
                    RegistrationsStream.name,
                    with_timestamp=self.settings.export.with_timestamp,
                    logger=self.logger,
                )
            except ConfigError as exc:
                raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        return catalog

    @property
    def settings(self) -> Settings:
        """The parsed settings; a bad value raises ``ConfigValidationError`` naming it."""
        if self._settings is None:
            try:
                self._settings = Settings.from_config(self.config)
            except ConfigError as exc:
                raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        return self._settings

    @property
    def client(self) -> EmarsysClient:
        """The HTTP client, built on first use."""
        if self._client is None:
            self._client = connect(self.settings, self._clock, f"{self.name}/{self.plugin_version}")
        return self._client

    # The SDK builds the tap for ``--test`` with its mapper, which runs discovery
    # first, with a sync's retry budget; the connection test probes the catalog
    # itself and should answer within seconds, so it skips that step.
    @override
    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        if value != CliTestOptionValue.All.value:
            super().cb_test(ctx, param, value)
            return
        config = ctx.params["config"]
        tap = cls(
            config=config.config,
            parse_env_config=config.parse_env,
            validate_config=True,
            setup_mapper=False,
        )
        tap.run_connection_test()
        ctx.exit()

    # The SDK's connection test (@final) is a dry-run sync, which would start a
    # costly export; this one checks credentials, the catalog and permissions only.
    @override  # type: ignore[misc]
    def run_connection_test(self) -> bool:
        """Check auth, the field catalog and the API user's permissions; start no export."""
        check_connection(self.client)
        self.logger.info(
            "Connection test passed: credentials, field catalog and permissions are fine",
        )
        return True

    @override
    def discover_streams(self) -> list[RegistrationsStream]:
        settings = self.settings
        catalog = self.client.get("field/translate/en")
        fields = parse_catalog(catalog if isinstance(catalog, list) else [])
        header_names = names_by_id(catalog if isinstance(catalog, list) else [])
        if settings.export.language != "en":
            translated = self.client.get(f"field/translate/{settings.export.language}")
            header_names = names_by_id(translated if isinstance(translated, list) else [])
        try:
            if settings.export.contact_fields is not None:
                resolve_contact_fields(settings.export.contact_fields, fields)
            if settings.export.contactlist is not None:
                check_contact_list(self.client, settings.export.contactlist)
        except ConfigError as exc:
            raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        return [
            RegistrationsStream(
                self,
                fields=fields,
                header_names=header_names,
                settings=settings,
                client=self.client,
                clock=self._clock,
                row_caps=self._row_caps,
            ),
        ]
