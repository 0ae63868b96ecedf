"""The primary key is never null: in the SCHEMA, in every record, and from saved catalogs."""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from tap_emarsys_registrations.records.csv_records import Layout, RecordBuilder
from tap_emarsys_registrations.errors import CSVFormatError
from tap_emarsys_registrations.fields import Field
from tap_emarsys_registrations.keys import catalog_key, with_required_keys
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tap_emarsys_registrations.records.timestamps import LocalTimestampConverter
from tap_emarsys_registrations.windows import Window
from tests.conftest import UTC, VIENNA, expected_keys, record_keys, run_tap, tap_config

if TYPE_CHECKING:
    from sandbox import Sandbox
    from tests.conftest import Run

MODES = [pytest.param(True, id="with-timestamp"), pytest.param(False, id="without-timestamp")]


def _schema_message(run: Run) -> dict[str, Any]:
    schemas = [m for m in run.messages if m["type"] == "SCHEMA"]
    assert len(schemas) == 1
    return schemas[0]


def _assert_keys_not_nullable(schema: dict[str, Any], keys: list[str]) -> None:
    for name in keys:
        kind = schema["properties"][name]["type"]
        kinds = kind if isinstance(kind, list) else [kind]
        assert "null" not in kinds, f"{name} is nullable: {kind}"
        assert name in schema["required"], f"{name} is not required"


def _old_catalog(sb: Sandbox, config: dict[str, Any]) -> dict[str, Any]:
    """A catalog as an earlier version saved it: the old key and a nullable registered_at."""
    catalog = copy.deepcopy(TapEmarsysRegistrations(config=config).catalog_dict)
    entry = catalog["streams"][0]
    entry["key_properties"] = ["user_id", "registered_at"]
    entry["schema"]["properties"]["registered_at"]["type"] = ["string", "null"]
    entry["schema"]["required"] = ["user_id", "window_start"]
    for item in entry["metadata"]:
        if item["breadcrumb"] == []:
            item["metadata"]["table-key-properties"] = ["user_id", "registered_at"]
    return catalog


@pytest.mark.parametrize("with_timestamp", MODES)
def test_no_key_property_is_nullable_and_no_record_has_a_null_key(
    sandbox: Sandbox, with_timestamp: bool
) -> None:
    config = tap_config(sandbox, with_timestamp=with_timestamp)
    run = run_tap(config)
    assert run.error is None
    message = _schema_message(run)
    keys = ["user_id", "registered_at"] if with_timestamp else ["user_id", "window_start"]
    assert message["key_properties"] == keys
    _assert_keys_not_nullable(message["schema"], keys)
    _assert_keys_not_nullable(message["schema"], ["window_start"])
    registered_at = message["schema"]["properties"]["registered_at"]
    assert registered_at["format"] == "date-time"
    assert with_timestamp == ("null" not in registered_at["type"])
    assert run.records
    for record in run.records:
        assert all(record[name] is not None for name in keys), record
    discovered = TapEmarsysRegistrations(config=config).catalog_dict["streams"][0]
    assert discovered["key_properties"] == keys
    top = next(m for m in discovered["metadata"] if m["breadcrumb"] == [])
    assert top["metadata"]["table-key-properties"] == keys


def test_without_timestamps_a_key_holds_one_contact_per_window(sandbox: Sandbox) -> None:
    """Re-registrations in one window share the key and carry the same values."""
    run = run_tap(tap_config(sandbox, with_timestamp=False))
    assert run.error is None
    by_key: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for record in run.records:
        assert record["registered_at"] is None
        by_key[record["user_id"], record["window_start"]].append(record)
    repeated = [rows for rows in by_key.values() if len(rows) > 1]
    assert repeated, "the sandbox has a contact registering twice in one window"
    for rows in repeated:
        assert all(row == rows[0] for row in rows), "an upsert loses no value"
    start = sandbox.config.start
    truth = {
        (uid, _day_start(at)) for uid, at in expected_keys(sandbox, start, start + dt.timedelta(3))
    }
    assert set(by_key) == truth


def _day_start(instant: str) -> str:
    moment = dt.datetime.fromisoformat(instant)
    return moment.replace(hour=0, minute=0, second=0).isoformat()


def test_saved_catalog_with_the_old_key_and_timestamps_off_moves_to_the_new_key(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    config = tap_config(sandbox, with_timestamp=False)
    catalog = _old_catalog(sandbox, config)
    with caplog.at_level(logging.WARNING):
        run = run_tap(config, catalog=catalog)
    assert run.error is None
    message = _schema_message(run)
    assert message["key_properties"] == ["user_id", "window_start"]
    _assert_keys_not_nullable(message["schema"], ["user_id", "window_start"])
    assert "using ['user_id', 'window_start'] instead" in caplog.text
    assert run.records
    assert all(r["window_start"] is not None for r in run.records)


def test_saved_catalog_with_the_old_schema_and_timestamps_on_gets_a_non_null_key(
    sandbox: Sandbox,
) -> None:
    config = tap_config(sandbox)
    run = run_tap(config, catalog=_old_catalog(sandbox, config))
    assert run.error is None
    message = _schema_message(run)
    assert message["key_properties"] == ["user_id", "registered_at"]
    _assert_keys_not_nullable(message["schema"], ["user_id", "registered_at"])
    start = sandbox.config.start
    assert record_keys(run) == expected_keys(sandbox, start, start + dt.timedelta(days=3))


def test_a_catalog_keyed_on_a_nullable_property_is_refused_before_any_export(
    sandbox: Sandbox,
) -> None:
    config = tap_config(sandbox)
    catalog = _old_catalog(sandbox, config)
    catalog["streams"][0]["key_properties"] = ["email"]
    sandbox.clear_requests()
    run = run_tap(config, catalog=catalog)
    assert run.error is not None
    assert "key_properties ['email'] name email, which can be null" in str(run.error)
    assert not [e for e in sandbox.requests if e.path.endswith("contact/getregistrations")]


def test_state_saved_before_the_key_change_resumes_without_timestamps(sandbox: Sandbox) -> None:
    start = sandbox.config.start
    saved = {
        "bookmarks": {
            "registrations": {
                "replication_key": "window_start",
                "replication_key_value": (start + dt.timedelta(days=2)).isoformat(),
            }
        }
    }
    run = run_tap(tap_config(sandbox, with_timestamp=False), state=saved)
    assert run.error is None
    windows = {r["window_start"] for r in run.records}
    assert windows == {(start + dt.timedelta(days=2)).isoformat()}
    assert run.bookmark == (start + dt.timedelta(days=3)).isoformat()


@pytest.mark.parametrize(
    ("saved", "with_timestamp", "expected", "replaced"),
    [
        ([], True, ("user_id", "registered_at"), False),
        ([], False, ("user_id", "window_start"), False),
        (["user_id", "registered_at"], True, ("user_id", "registered_at"), False),
        (["user_id", "registered_at"], False, ("user_id", "window_start"), True),
        (["registered_at"], False, ("user_id", "window_start"), True),
        (["user_id", "window_start"], True, ("user_id", "window_start"), False),
        (["user_id", "window_start"], False, ("user_id", "window_start"), False),
    ],
)
def test_catalog_key(
    saved: list[str], with_timestamp: bool, expected: tuple[str, ...], replaced: bool
) -> None:
    assert catalog_key(saved, with_timestamp=with_timestamp) == (expected, replaced)


def test_with_required_keys_drops_null_and_adds_required_once() -> None:
    schema: dict[str, Any] = {
        "properties": {"a": {"type": ["string", "null"]}, "b": {"type": ["integer"]}},
        "required": ["b"],
    }
    fixed = with_required_keys(schema, ["a", "b"])
    assert fixed["properties"]["a"]["type"] == ["string"]
    assert fixed["required"] == ["b", "a"]
    assert schema["properties"]["a"]["type"] == ["string", "null"], "the input is not changed"


FIELD = Field(1, "First Name", "shorttext", "first_name", "first_name")


@pytest.mark.parametrize("path", ["build", "build_checked"])
def test_a_row_without_a_timestamp_is_an_error_naming_export_and_row(path: str) -> None:
    """Both the compiled fast path and the checked path refuse a null registered_at."""
    window = Window(dt.datetime(2024, 3, 30, tzinfo=UTC), dt.datetime(2024, 3, 31, tzinfo=UTC))
    layout = Layout((FIELD,), with_timestamp=True, header=True, header_names=("First Name",))
    builder = RecordBuilder(layout, window, LocalTimestampConverter(VIENNA), "export 42")
    assert builder.build(["7", "Ann", "2024-03-30 12:00:00"], 4) is not None
    with pytest.raises(CSVFormatError) as caught:
        getattr(builder, path)(["7", "Ann", ""], 5)
    assert str(caught.value) == (
        "export 42, CSV row 5: user_id 7 has no registration time; "
        "registered_at is part of the primary key and cannot be null"
    )
