"""The per-window STATE that checkpoint.py keeps and emits, through its public methods.

A real tap (against a sandbox, for its field catalog) gives the real stream and its
SDK state plumbing; the assertions are on the STATE messages it writes, as a target
or ``meltano state get`` sees them, and on what a later run finds in them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.extraction.checkpoint import StreamCheckpoint
from tap_emarsys_registrations.extraction.state_input import clean_state
from tap_emarsys_registrations.tap import TapEmarsysRegistrations
from tap_emarsys_registrations.windows import Window
from tests.conftest import shared_token_cache, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

UTC = dt.UTC
DAY = dt.timedelta(days=1)
FIRST = Window(dt.datetime(2024, 3, 30, tzinfo=UTC), dt.datetime(2024, 3, 31, tzinfo=UTC))
SECOND = Window(FIRST.end, FIRST.end + DAY)
FIRST_START = "2024-03-30T00:00:00+00:00"
SECOND_START = "2024-03-31T00:00:00+00:00"


@pytest.fixture(scope="module", autouse=True)
def token_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield from shared_token_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=1)) as sandbox:
        yield sandbox


class Checkpoints:
    """A tap's stream with its checkpoint, and the STATE messages it wrote."""

    def __init__(self, sb: Sandbox, state: dict[str, Any] | None = None) -> None:
        self._raw = io.BytesIO()
        self._out = io.TextIOWrapper(self._raw, encoding="utf-8")  # the tap writes bytes
        with contextlib.redirect_stdout(self._out):
            self.tap = TapEmarsysRegistrations(config=tap_config(sb), state=state)
            self.checkpoint = StreamCheckpoint(self.tap.streams["registrations"], None)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.checkpoint, name)

        def called(*args: Any) -> Any:
            with contextlib.redirect_stdout(self._out):
                return method(*args)

        return called

    @property
    def states(self) -> list[dict[str, Any]]:
        self._out.flush()
        lines = self._raw.getvalue().decode().splitlines()
        messages = [json.loads(line) for line in lines if line]
        return [m["value"] for m in messages if m["type"] == "STATE"]

    @property
    def stream_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.states[-1]["bookmarks"]["registrations"]
        return state


def test_each_part_of_a_wide_window_keeps_its_own_export_id(sb: Sandbox) -> None:
    checkpoints = Checkpoints(sb)
    for part, export_id in enumerate([100000007, 100000008, 100000009]):
        checkpoints.export_started(FIRST, export_id, f"fingerprint-{part}", part)
    assert len(checkpoints.states) == 3, "STATE is emitted as each export starts"
    assert checkpoints.stream_state["pending_exports"] == {
        FIRST_START: {"id": 100000007, "window_end": SECOND_START, "fingerprint": "fingerprint-0"},
        f"{FIRST_START}/1": {
            "id": 100000008,
            "window_end": SECOND_START,
            "fingerprint": "fingerprint-1",
        },
        f"{FIRST_START}/2": {
            "id": 100000009,
            "window_end": SECOND_START,
            "fingerprint": "fingerprint-2",
        },
    }
    later = Checkpoints(sb, state=clean_state(checkpoints.states[-1]))
    found = [later.saved_export(FIRST, f"fingerprint-{part}", part) for part in range(3)]
    assert found == [100000007, 100000008, 100000009]
    assert later.saved_export(FIRST, "fingerprint-1", 3) is None


def test_a_saved_export_is_reused_only_for_the_same_window_and_request(sb: Sandbox) -> None:
    checkpoints = Checkpoints(sb)
    checkpoints.export_started(FIRST, 100000007, "fingerprint", 0)
    assert checkpoints.saved_export(FIRST, "fingerprint", 0) == 100000007
    assert checkpoints.saved_export(FIRST, "another request", 0) is None
    shorter = Window(FIRST.start, FIRST.end - dt.timedelta(hours=1))
    assert checkpoints.saved_export(shorter, "fingerprint", 0) is None
    assert checkpoints.saved_export(SECOND, "fingerprint", 0) is None
    assert checkpoints.saved_export(FIRST, "fingerprint", 1) is None


@pytest.mark.parametrize(
    "entry",
    [
        {"window_end": SECOND_START, "fingerprint": "fingerprint"},
        {"id": "one", "window_end": SECOND_START, "fingerprint": "fingerprint"},
        {"id": None, "window_end": SECOND_START, "fingerprint": "fingerprint"},
        "100000007",
    ],
    ids=["no-id", "id-not-a-number", "id-null", "not-an-object"],
)
def test_a_saved_entry_without_a_usable_id_is_not_reused(sb: Sandbox, entry: object) -> None:
    state = {"bookmarks": {"registrations": {"pending_exports": {FIRST_START: entry}}}}
    assert Checkpoints(sb, state=state).saved_export(FIRST, "fingerprint", 0) is None


def test_a_saved_id_written_as_text_is_reused(sb: Sandbox) -> None:
    entry = {"id": "100000007", "window_end": SECOND_START, "fingerprint": "fingerprint"}
    state = {"bookmarks": {"registrations": {"pending_exports": {FIRST_START: entry}}}}
    assert Checkpoints(sb, state=state).saved_export(FIRST, "fingerprint", 0) == 100000007


def test_a_finished_window_moves_the_bookmark_and_forgets_only_its_own_exports(
    sb: Sandbox,
) -> None:
    checkpoints = Checkpoints(sb)
    checkpoints.export_started(FIRST, 100000001, "a", 0)
    checkpoints.export_started(FIRST, 100000002, "b", 1)
    checkpoints.export_started(SECOND, 100000003, "a", 0)
    checkpoints.export_started(SECOND, 100000004, "b", 1)
    checkpoints.window_finished(FIRST)
    state = checkpoints.stream_state
    assert state["replication_key"] == "window_start"
    assert state["replication_key_value"] == SECOND_START
    assert sorted(state["pending_exports"]) == [SECOND_START, f"{SECOND_START}/1"]
    checkpoints.window_finished(SECOND)
    assert checkpoints.stream_state["pending_exports"] == {}
    assert checkpoints.stream_state["replication_key_value"] == "2024-04-01T00:00:00+00:00"
    assert len(checkpoints.states) == 6


def test_a_finished_empty_window_emits_its_bookmark_under_window_start(sb: Sandbox) -> None:
    checkpoints = Checkpoints(sb, state={})
    checkpoints.window_finished(FIRST)
    assert checkpoints.states == [
        {
            "bookmarks": {
                "registrations": {
                    "pending_exports": {},
                    "replication_key": "window_start",
                    "replication_key_value": SECOND_START,
                }
            }
        }
    ]


def test_window_bounds_with_another_offset_give_the_same_keys(sb: Sandbox) -> None:
    vienna = dt.timezone(dt.timedelta(hours=1))
    same = Window(FIRST.start.astimezone(vienna), FIRST.end.astimezone(vienna))
    checkpoints = Checkpoints(sb)
    checkpoints.export_started(same, 100000007, "fingerprint", 2)
    assert list(checkpoints.stream_state["pending_exports"]) == [f"{FIRST_START}/2"]
    assert checkpoints.saved_export(FIRST, "fingerprint", 2) == 100000007
    checkpoints.window_finished(same)
    assert checkpoints.stream_state["replication_key_value"] == SECOND_START


def test_saved_exports_keyed_without_a_zone_or_in_another_offset_are_forgotten_by_instant(
    sb: Sandbox,
) -> None:
    """A key without a zone is a UTC start, as a zoneless bookmark is; an offset counts."""
    entry = {"id": 100000007, "window_end": SECOND_START, "fingerprint": "fingerprint"}
    keys = [
        "2024-03-30T00:00:00",  # FIRST's start, written without a zone
        "2024-03-30T23:59:59/2",
        "2024-03-31T00:30:00+01:00",  # 23:30 UTC: inside FIRST
        "2024-03-31T00:00:00",  # SECOND's start
        "2024-03-31T01:00:00+01:00/1",  # SECOND's start, in Vienna's offset
    ]
    stream = {"replication_key_value": FIRST_START, "pending_exports": dict.fromkeys(keys, entry)}
    checkpoints = Checkpoints(sb, state={"bookmarks": {"registrations": stream}})
    checkpoints.window_finished(FIRST)
    assert list(checkpoints.stream_state["pending_exports"]) == keys[3:]
