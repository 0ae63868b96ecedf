"""A run that would export fewer of the last run's columns stops and names each one."""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.extraction.column_guard import (
    EXPORTED_FIELDS,
    FewerColumnsError,
    lost_columns,
)
from tap_emarsys_registrations.fields import Field
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tests.conftest import run_tap, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator

STREAM = "registrations"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=2, per_day=5)) as sandbox:
        yield sandbox


def _exports(sb: Sandbox) -> list[Any]:
    return [e for e in sb.requests if e.path.endswith("contact/getregistrations")]


def _stream_state(state: dict[str, Any]) -> dict[str, Any]:
    return state["bookmarks"][STREAM]  # type: ignore[no-any-return]


def _selecting(config: dict[str, Any], names: set[str]) -> dict[str, Any]:
    catalog = copy.deepcopy(TapEmarsysRegistrations(config=config).catalog_dict)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            breadcrumb = item["breadcrumb"]
            if len(breadcrumb) == 2:  # ("properties", name)
                item["metadata"]["selected"] = breadcrumb[1] in names
    return catalog


def test_a_lost_selection_stops_the_run_and_names_each_column(sb: Sandbox) -> None:
    config = tap_config(sb, contact_fields=None)
    chosen = {"email", "loyalty_points", "field_5003"}
    first = run_tap(config, catalog=_selecting(config, chosen))
    assert first.error is None
    state = first.last_state
    assert _stream_state(state)[EXPORTED_FIELDS] == {
        "3": "email",
        "5001": "loyalty_points",
        "5003": "field_5003",
    }
    sb.clear_requests()
    # The next run gets a catalog without the selection: the tap's 6 default fields.
    second = run_tap(config, state=state)
    assert isinstance(second.error, FewerColumnsError)
    message = str(second.error)
    assert (
        "export 2 fewer of the columns the last run exported: loyalty_points (field 5001): "
        "deselected; field_5003 (field 5003): deselected. Nothing was exported." in message
    )
    assert "accept_fewer_columns" in message
    assert len(message.splitlines()) == 1
    assert _exports(sb) == []
    assert second.bookmark is None or second.bookmark == first.bookmark


def test_a_deleted_and_a_renamed_field_are_named_with_their_reason() -> None:
    live = [
        Field(1, "First Name", "shorttext", "first_name", "first_name"),
        Field(3, "E-Mail", "longtext", "email", "email"),
    ]
    previous = {1: "first_name", 3: "e_mail", 6000: "shoe_size"}
    lost = lost_columns(previous, [live[0]], live)
    assert [c.describe() for c in lost] == [
        "e_mail (field 3): renamed to email in Emarsys, which is not selected",
        "shoe_size (field 6000): deleted in Emarsys",
    ]


def test_a_field_deleted_in_emarsys_stops_the_run(sb: Sandbox) -> None:
    config = tap_config(sb)
    first = run_tap(config)
    assert first.error is None
    state = copy.deepcopy(first.last_state)
    _stream_state(state)[EXPORTED_FIELDS]["6000"] = "shoe_size"  # exported last time
    sb.clear_requests()
    second = run_tap(config, state=state)
    assert isinstance(second.error, FewerColumnsError)
    assert "shoe_size (field 6000): deleted in Emarsys" in str(second.error)
    assert _exports(sb) == []


def test_accepting_fewer_columns_for_one_run_records_the_new_set(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    first = run_tap(tap_config(sb, contact_fields=[1, 2, 3]))
    assert first.error is None
    fewer = tap_config(sb, contact_fields=[1, 3])
    refused = run_tap(fewer, state=first.last_state)
    assert isinstance(refused.error, FewerColumnsError)
    assert "last_name (field 2): deselected" in str(refused.error)
    with caplog.at_level(logging.WARNING):
        accepted = run_tap(fewer | {"accept_fewer_columns": True}, state=first.last_state)
    assert accepted.error is None
    assert "Column accepted as dropped: last_name (field 2): deselected" in caplog.text
    assert _stream_state(accepted.last_state)[EXPORTED_FIELDS] == {"1": "first_name", "3": "email"}
    # From then on the smaller set is the one compared against.
    assert run_tap(fewer, state=accepted.last_state).error is None


def test_state_without_the_key_keeps_working_and_gains_it(sb: Sandbox) -> None:
    config = tap_config(sb, contact_fields=[1, 3])
    first = run_tap(config)
    assert first.error is None
    old = copy.deepcopy(first.last_state)
    del _stream_state(old)[EXPORTED_FIELDS]  # STATE written before this release
    second = run_tap(tap_config(sb, contact_fields=[1]), state=old)
    assert second.error is None
    assert _stream_state(second.last_state)[EXPORTED_FIELDS] == {"1": "first_name"}


def test_a_malformed_entry_is_ignored_with_a_warning(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    config = tap_config(sb, contact_fields=[1, 3])
    first = run_tap(config)
    state = copy.deepcopy(first.last_state)
    _stream_state(state)[EXPORTED_FIELDS] = ["first_name"]
    with caplog.at_level(logging.WARNING):
        second = run_tap(config, state=state)
    assert second.error is None
    assert f"STATE {EXPORTED_FIELDS} is not an object" in caplog.text
    assert _stream_state(second.last_state)[EXPORTED_FIELDS] == {"1": "first_name", "3": "email"}
