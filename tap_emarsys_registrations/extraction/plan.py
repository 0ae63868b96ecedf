"""What each export of a run asks for, including the split of wide field selections."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import TYPE_CHECKING

from tap_emarsys_registrations.emarsys.exports import ExportRequest
from tap_emarsys_registrations.fields import MAX_FIELDS_PER_EXPORT
from tap_emarsys_registrations.records.csv_records import Layout
from tap_emarsys_registrations.windows import (
    format_local,
    local_exact_range,
    local_request_range,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from zoneinfo import ZoneInfo

    from tap_emarsys_registrations.fields import Field
    from tap_emarsys_registrations.settings.export import ExportOptions
    from tap_emarsys_registrations.windows import Window


def split_fields(fields: Sequence[Field], limit: int = MAX_FIELDS_PER_EXPORT) -> list[list[Field]]:
    """Split ``fields`` into the fewest parts of at most ``limit``, as even as possible."""
    if not fields:
        return [[]]
    count = ceil(len(fields) / limit)
    size = ceil(len(fields) / count)
    return [list(fields[i : i + size]) for i in range(0, len(fields), size)]


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """The layout of every export part and the options they share."""

    parts: tuple[Layout, ...]
    options: ExportOptions
    zone: ZoneInfo
    concurrency: int = 1

    @classmethod
    def build(
        cls,
        fields: Sequence[Field],
        header_names: Mapping[int, str],
        options: ExportOptions,
        zone: ZoneInfo,
        concurrency: int = 1,
    ) -> ExportPlan:
        """One part per at most 20 fields; every part carries user_id and the timestamp."""
        parts = tuple(
            Layout(
                fields=tuple(chunk),
                with_timestamp=options.with_timestamp,
                header=options.add_field_names_header,
                header_names=tuple(header_names.get(f.id, "") for f in chunk),
            )
            for chunk in split_fields(fields)
        )
        return cls(parts=parts, options=options, zone=zone, concurrency=concurrency)

    @property
    def field_count(self) -> int:
        """Fields per record, over all parts."""
        return sum(len(part.fields) for part in self.parts)

    def request_for(self, window: Window, part: int = 0) -> ExportRequest:
        """The export request of one part that covers ``window`` under every bound convention."""
        if self.options.with_timestamp:
            low, high = local_request_range(window, self.zone)
        else:  # without timestamps rows cannot be filtered: ask for the window itself
            low, high = local_exact_range(window, self.zone)
        return ExportRequest(
            time_range=(format_local(low), format_local(high)),
            contact_fields=tuple(f.id for f in self.parts[part].fields),
            options=self.options,
        )
