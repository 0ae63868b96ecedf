"""The ``registrations`` stream: windows from the bookmark to the end date."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_emarsys_registrations.delivery import remote_delivery
from tap_emarsys_registrations.delivery.local import LocalDelivery
from tap_emarsys_registrations.delivery.paging import CapWarning
from tap_emarsys_registrations.emarsys.exports import ExportJobs
from tap_emarsys_registrations.errors import ConfigError
from tap_emarsys_registrations.extraction.checkpoint import StreamCheckpoint
from tap_emarsys_registrations.extraction.column_guard import check_columns
from tap_emarsys_registrations.extraction.pipeline import Extraction
from tap_emarsys_registrations.extraction.plan import ExportPlan
from tap_emarsys_registrations.extraction.progress import RunProgress
from tap_emarsys_registrations.extraction.spans import SpanPolicy
from tap_emarsys_registrations.fields import (
    DEFAULT_FIELD_IDS,
    REGISTERED_AT,
    USER_ID,
    WINDOW_START,
    Field,
    resolve_contact_fields,
)
from tap_emarsys_registrations.keys import primary_key
from tap_emarsys_registrations.poll import PollPolicy
from tap_emarsys_registrations.record_messages import DirectRecordMessages
from tap_emarsys_registrations.schema import build_schema
from tap_emarsys_registrations.windows import floor_second, plan_windows

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import MetadataMapping

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.delivery.base import Delivery
    from tap_emarsys_registrations.delivery.row_count import RowCaps
    from tap_emarsys_registrations.emarsys.client import EmarsysClient
    from tap_emarsys_registrations.settings.tap_settings import Settings


class RegistrationsStream(DirectRecordMessages):
    """Contacts who registered through an Emarsys form, one record per registration."""

    name = "registrations"
    replication_key = WINDOW_START
    # The bookmark has one writer, extraction/checkpoint.py, which moves it over
    # whole finished exports (see _increment_stream_state). Sorted, so the SDK
    # keeps STATE resumable and never adds progress markers to it.
    is_sorted = True
    # Records are cast in the tap (records/csv_records.py) and already match the schema.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(
        self,
        tap: Tap,
        *,
        fields: tuple[Field, ...],
        header_names: Mapping[int, str],
        settings: Settings,
        client: EmarsysClient,
        clock: Clock,
        row_caps: RowCaps,
    ) -> None:
        self._row_caps = row_caps
        self._fields = fields
        self._header_names = header_names
        self._settings = settings
        self._client = client
        self._clock = clock
        with_timestamp = settings.export.with_timestamp
        super().__init__(tap, schema=build_schema(fields, with_timestamp=with_timestamp))
        self.primary_keys = list(primary_key(with_timestamp=with_timestamp))

    @property
    @override
    def metadata(self) -> MetadataMapping:
        metadata = super().metadata
        if self._tap_input_catalog is None and not getattr(self, "_defaults_marked", False):
            self._defaults_marked = True
            configured = self._settings.export.contact_fields
            defaults = (
                resolve_contact_fields(configured, self._fields)
                if configured is not None
                else [f for f in self._fields if f.id in DEFAULT_FIELD_IDS]
            )
            for field in self._fields:
                if field not in defaults:
                    metadata[("properties", field.property_name)].selected_by_default = False
        return metadata

    def export_fields(self) -> list[Field]:
        """The fields each export asks for: ``contact_fields``, else the selected properties.

        Raises:
            ConfigError: when no field would be exported.
        """
        configured = self._settings.export.contact_fields
        if configured is not None:
            chosen = resolve_contact_fields(configured, self._fields)
        else:
            mask = self.mask
            chosen = [f for f in self._fields if mask.get(("properties", f.property_name), False)]
        if not chosen:
            raise ConfigError(
                "contact_fields",
                "no contact field is selected; select at least one property "
                "(meltano select) or set contact_fields",
            )
        return chosen

    def end_of_range(self) -> dt.datetime:
        """``end_date``, but never later than now minus the safety lag."""
        latest = floor_second(self._clock.now() - self._settings.safety_lag)
        end = self._settings.end_date
        if end is None:
            return latest
        if end > latest:
            self.logger.info("end_date %s is in the future; stopping at %s", end, latest)
            return latest
        return end

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """Leave the bookmark alone per record: the checkpoint moves it per finished export.

        The SDK would set it to each record's ``window_start``; within an export
        spanning several grid windows that would checkpoint rows not yet emitted.
        Its STATE messages every ``STATE_MSG_FREQUENCY`` records then repeat the
        last checkpoint. (A private SDK method: the SDK has no public hook, sdk#2879.)
        """
        del latest_record, context

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        settings = self._settings
        fields = tuple(self.export_fields())
        check_columns(
            self.get_context_state(context),
            fields,
            self._fields,
            accept=settings.accept_fewer_columns,
        )
        self.declare_record_keys(
            [USER_ID, REGISTERED_AT, WINDOW_START, *(f.property_name for f in fields)]
        )
        start = self.get_starting_timestamp(context) or settings.start_date
        windows = plan_windows(
            floor_second(start.astimezone(dt.UTC)),
            self.end_of_range(),
            settings.window,
        )
        options = settings.export
        stop = threading.Event()
        policy = PollPolicy(
            settings.poll_interval, settings.poll_interval_max, settings.export_timeout
        )
        remote = options.remote
        hint = remote.upload_hint() if remote is not None else ""
        jobs = ExportJobs(self._client, policy, self._clock, stop, ready_hint=hint)
        header = options.add_field_names_header
        delivery: Delivery = LocalDelivery(jobs, self._row_caps, header=header)
        if remote is not None:
            timeout = settings.request_timeout
            files = remote_delivery(remote, policy, self._clock, timeout=timeout, stop=stop)
            delivery = CapWarning(files, self._row_caps, header=header)
        plan = ExportPlan.build(
            fields,
            self._header_names,
            options,
            settings.export_timezone,
            settings.max_concurrent_exports,
        )
        extraction = Extraction(
            jobs,
            plan,
            sink=StreamCheckpoint(self, context),
            progress=RunProgress(self.logger, self._clock, self._client.stats, self._client.gate),
            delivery=delivery,
            stop=stop,
            policy=SpanPolicy.build(
                window=settings.window,
                max_window=settings.max_window,
                target_rows=settings.target_rows_per_export,
                with_timestamp=options.with_timestamp,
                concurrency=settings.max_concurrent_exports,
            ),
        )
        try:
            yield from extraction.run(windows)
        finally:
            self._client.close()  # the worker threads' sessions, now that they are done
