"""RECORD messages without the SDK's per-record deselection pass, when nothing is deselected.

For every record the SDK copies the record and looks each key up in the
selection mask to drop deselected properties, then conforms types (a no-op
at ``TypeConformanceLevel.NONE``) and applies stream maps. The tap builds
records from the columns it exported, so when every one of those columns is
selected the pass cannot drop anything: it costs about a tenth of the tap's
per-record time for nothing. The stream says once per run which keys its
records carry; if all are selected, records go straight to the stream maps.
Otherwise (a catalog deselecting a ``contact_fields`` column) the SDK's own
path runs, unchanged.

This is the one place that depends on SDK internals: the SDK has no public
hook between ``get_records`` and the RECORD message, so ``_generate_record_messages``
is overridden and mirrors singer-sdk 0.54 (stream maps, ``_stream_version``,
the extraction time). ``tests/test_record_messages.py`` compares its output with
the SDK's own for the same records.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable


class DirectRecordMessages(Stream):
    """A stream whose records skip the deselection pass when every key they carry is selected."""

    _all_keys_selected = False

    def declare_record_keys(self, keys: Iterable[str]) -> None:
        """Name the keys every record of this run carries (checked against the selection once)."""
        mask = self.mask
        self._all_keys_selected = self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE and all(
            mask[("properties", key)] for key in keys
        )

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        if not self._all_keys_selected:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=dt.datetime.now(dt.UTC),
                )
