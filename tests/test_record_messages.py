"""RECORD messages that skip the SDK's deselection pass equal the SDK's own messages."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.record_messages import DirectRecordMessages
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.conftest import run_tap, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

RECORD: dict[str, Any] = {
    "user_id": 7,
    "registered_at": "2024-03-29T01:00:00+00:00",
    "window_start": "2024-03-29T00:00:00+00:00",
    "email": "a@example.com",
    "points": Decimal("12.50"),
    "notes": None,
}
KEYS = list(RECORD)


class _Stream(DirectRecordMessages):
    name = "registrations"
    primary_keys: ClassVar[list[str]] = ["user_id", "registered_at"]
    replication_key = "window_start"
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    schema: ClassVar[dict[str, Any]] = th.PropertiesList(
        th.Property("user_id", th.IntegerType, required=True),
        th.Property("registered_at", th.DateTimeType),
        th.Property("window_start", th.DateTimeType, required=True),
        th.Property("email", th.StringType),
        th.Property("points", th.NumberType),
        th.Property("notes", th.StringType),
    ).to_dict()

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        del context
        return [dict(RECORD)]


class _Tap(Tap):
    name = "tap-record-messages"
    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList().to_dict()

    def discover_streams(self) -> list[Stream]:
        return [_Stream(self)]


def _catalog(deselect: str | None) -> dict[str, Any]:
    catalog = copy.deepcopy(_Tap(config={}).catalog_dict)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            item["metadata"]["selected"] = item["breadcrumb"] != ["properties", deselect]
    return catalog


def _messages(stream: Stream, *, direct: bool) -> list[dict[str, Any]]:
    # The SDK's own path is the base class's method, called on the same stream.
    generated = (
        stream._generate_record_messages(dict(RECORD))
        if direct
        else Stream._generate_record_messages(stream, dict(RECORD))
    )
    messages = [m.to_dict() for m in generated]
    for message in messages:
        assert message.pop("time_extracted") is not None
    return messages


@pytest.mark.parametrize(
    ("config", "deselect"),
    [
        pytest.param({}, None, id="all-selected"),
        pytest.param({}, "email", id="a-column-deselected"),
        pytest.param(
            {"stream_maps": {"registrations": {"email": None, "domain": "email.split('@')[1]"}}},
            None,
            id="stream-map-drops-and-adds",
        ),
        pytest.param(
            {"stream_maps": {"copy": {"__source__": "registrations"}}}, None, id="stream-copied"
        ),
    ],
)
def test_messages_equal_the_sdks_own(config: dict[str, Any], deselect: str | None) -> None:
    tap = _Tap(config=config, catalog=_catalog(deselect))
    stream = tap.streams["registrations"]
    stream.declare_record_keys(KEYS)  # type: ignore[attr-defined]
    direct = _messages(stream, direct=True)
    assert direct == _messages(stream, direct=False)
    assert direct, "at least one message"
    if deselect:
        assert all(deselect not in m["record"] for m in direct)


def test_the_pass_is_skipped_only_when_every_key_is_selected() -> None:
    selected = _Tap(config={}, catalog=_catalog(None)).streams["registrations"]
    selected.declare_record_keys(KEYS)  # type: ignore[attr-defined]
    deselected = _Tap(config={}, catalog=_catalog("email")).streams["registrations"]
    deselected.declare_record_keys(KEYS)  # type: ignore[attr-defined]
    undeclared = _Tap(config={}, catalog=_catalog(None)).streams["registrations"]
    assert selected._all_keys_selected is True  # type: ignore[attr-defined]
    assert deselected._all_keys_selected is False  # type: ignore[attr-defined]
    assert undeclared._all_keys_selected is False  # type: ignore[attr-defined]


def test_records_are_not_copied_or_changed_on_the_direct_path() -> None:
    stream = _Tap(config={}, catalog=_catalog(None)).streams["registrations"]
    stream.declare_record_keys(KEYS)  # type: ignore[attr-defined]
    record = dict(RECORD)
    (message,) = stream._generate_record_messages(record)
    assert message.record == RECORD


def test_the_tap_drops_a_contact_fields_column_its_catalog_deselects() -> None:
    with Sandbox(SandboxConfig(days=1, per_day=30)) as sb:
        config = tap_config(sb, window_hours=24, contact_fields=[1, 3])
        catalog = copy.deepcopy(TapEmarsysRegistrations(config=config).catalog_dict)
        full = run_tap(config, catalog=catalog)
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if item["breadcrumb"] == ["properties", "email"]:
                    item["metadata"]["selected"] = False
        without = run_tap(config, catalog=catalog)
    assert full.error is None
    assert without.error is None
    assert full.records
    assert all("email" in r and "first_name" in r for r in full.records)
    assert all("email" not in r and "first_name" in r for r in without.records)
    assert [r["user_id"] for r in without.records] == [r["user_id"] for r in full.records]
