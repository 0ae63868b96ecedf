"""STATE as input, in the fast tier: the state file's text, pending export keys, zones.

The messages are checked word for word, since an operator fixes STATE by them; runs
go against a real sandbox in-process, and a STATE the tap cannot use stops the run
before any request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.extraction.state_input import (
    FIX,
    StateError,
    clean_state,
    parse_state_text,
)
from tests.conftest import expected_keys, record_keys, run_tap, shared_token_cache
from tests.local_zone import local_zone
from tests.state_cases import DAY_2, END, START, pending_state, stream_state, three_days

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LOGGER = "tap_emarsys_registrations.extraction.state_input"


@pytest.fixture(scope="module", autouse=True)
def token_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's runs share the module's sandbox, and so its token."""
    yield from shared_token_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(start=START, days=3, per_day=12)) as sandbox:
        yield sandbox


def _entry(export_id: object = 100000001) -> dict[str, Any]:
    return {"id": export_id, "window_end": "2024-03-31T00:00:00+00:00", "fingerprint": "f"}


# The state file's text.


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "bookmarks: yes\n",
            'it is not JSON (Expecting value at character 0); it holds "bookmarks: yes\\n"',
        ),
        ("", "it is not JSON (Expecting value at character 0); it holds an empty file"),
        (" \n\n", "it is not JSON (Expecting value at character 3); it holds an empty file"),
        ('{"a": 1} x', 'it is not JSON (Extra data at character 9); it holds "{\\"a\\": 1} x"'),
        (
            '{"bookmarks": {"registrations": 17',
            (
                "it ends before the JSON is complete (cut short, e.g. by a full disk); "
                'it holds "{\\"bookmarks\\": {\\"registrations\\": 17"'
            ),
        ),
        (
            '{"bookmarks": {} \n',
            (
                "it ends before the JSON is complete (cut short, e.g. by a full disk); "
                'it holds "{\\"bookmarks\\": {} \\n"'
            ),
        ),
        (
            '{"bookmarks": {"registrations": {"replication_key_va',
            (
                "it ends before the JSON is complete (cut short, e.g. by a full disk); "
                'it holds "{\\"bookmarks\\": {\\"registrations\\": {\\"replication_key_va"'
            ),
        ),
    ],
    ids=["not-json", "empty", "blank", "extra-data", "cut", "cut-then-blank", "cut-in-a-string"],
)
def test_an_unreadable_state_file_stops_the_run_naming_the_file(
    sb: Sandbox, tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    sb.clear_requests()
    run = run_tap(three_days(sb), state=str(path))  # type: ignore[arg-type]
    assert isinstance(run.error, StateError)
    assert str(run.error) == f"Unusable STATE at the state file {path}: {problem}; {FIX}"
    assert sb.requests == []
    assert run.messages == []


def test_a_long_state_file_is_shown_cut_to_sixty_characters() -> None:
    text = '{"bookmarks": ' + "x" * 100
    with pytest.raises(StateError) as raised:
        parse_state_text(text, "s.json")
    shown = '"{\\"bookmarks\\": ' + "x" * 42 + "…"  # 60 characters of the JSON string
    assert len(shown) == 60
    assert f"it holds {shown}; " in str(raised.value)


def test_a_readable_state_file_is_parsed() -> None:
    assert parse_state_text('{"bookmarks": {}}\n', "s.json") == {"bookmarks": {}}


# pending_exports keys: a window start, or a window start and a part number.


@pytest.mark.parametrize(
    "key",
    [
        f"{DAY_2}/x",
        f"{DAY_2}/",
        f"{DAY_2}/1/2",
        f"{DAY_2}/-1",
        f"{DAY_2}/1x",
        "/1",
        "",
        "someday",
        "someday/1",
    ],
)
def test_a_malformed_pending_key_is_dropped_with_a_warning(
    key: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = pending_state({key: _entry(), DAY_2: _entry(100000002)})
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cleaned = clean_state(state)
    assert cleaned["bookmarks"]["registrations"]["pending_exports"] == {DAY_2: _entry(100000002)}
    assert [r.getMessage() for r in caplog.records] == [
        (
            f"STATE bookmarks.registrations.pending_exports.{key} is ignored (its key is not a "
            "window start); its window is exported again"
        )
    ]


@pytest.mark.parametrize("key", [DAY_2, f"{DAY_2}/1", f"{DAY_2}/12", "2024-03-30T01:00:00+01:00"])
def test_a_pending_key_of_a_window_or_a_window_part_is_kept(
    key: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = pending_state({key: _entry()})
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cleaned = clean_state(state)
    assert cleaned["bookmarks"]["registrations"]["pending_exports"] == {key: _entry()}
    assert caplog.records == []


@pytest.mark.parametrize(
    ("export_id", "kept"),
    [
        ("100000001", True),
        (100000001, True),
        (True, False),
        (12.5, False),
        (-5, False),
        (None, False),
    ],
)
def test_a_pending_export_id_must_be_a_whole_number(export_id: object, kept: bool) -> None:
    cleaned = clean_state(pending_state({DAY_2: _entry(export_id)}))
    pending = cleaned["bookmarks"]["registrations"]["pending_exports"]
    assert (DAY_2 in pending) is kept


def test_a_run_with_malformed_pending_keys_exports_those_windows_again(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    state = pending_state({f"{DAY_2}/x": _entry(), f"{DAY_2}/": _entry(), "/1": _entry()})
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run = run_tap(three_days(sb), state=state)
    assert run.error is None, run.error
    assert record_keys(run) == expected_keys(sb, START + dt.timedelta(days=1), END)
    assert max(Counter(record_keys(run)).values()) == 1
    assert run.bookmark == END.isoformat()
    assert len([r for r in caplog.records if "is ignored" in r.getMessage()]) == 3


# Bookmarks without a zone are UTC, whatever the machine's zone.


@pytest.mark.parametrize("zone", ["UTC", "Europe/Vienna", "Asia/Kolkata"])
def test_a_bookmark_without_a_zone_is_utc_in_every_local_zone(zone: str) -> None:
    with local_zone(zone):
        cleaned = clean_state(stream_state(replication_key_value="2024-03-30T00:00:00"))
    assert cleaned["bookmarks"]["registrations"]["replication_key_value"] == DAY_2


def test_a_bookmark_is_made_canonical_utc() -> None:
    cleaned = clean_state(stream_state(replication_key_value=" 2024-03-30T05:30:00+05:30 "))
    assert cleaned["bookmarks"]["registrations"]["replication_key_value"] == DAY_2


def test_a_run_from_a_zoneless_bookmark_in_vienna_starts_at_that_utc_time(sb: Sandbox) -> None:
    with local_zone("Europe/Vienna"):
        run = run_tap(
            three_days(sb), state=stream_state(replication_key_value="2024-03-30T00:00:00")
        )
    assert run.error is None, run.error
    assert record_keys(run) == expected_keys(sb, START + dt.timedelta(days=1), END)


# A STATE with both `bookmarks` and `singer_state`.


def test_a_state_with_bookmarks_and_singer_state_runs_from_bookmarks_and_says_so(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The tap reads ``bookmarks``, as the Singer spec says; ``singer_state`` is kept.

    ``meltano state get`` prints ``{"singer_state": {...}}``; pasted next to a STATE's own
    bookmarks it is most likely a leftover, so the run goes on from ``bookmarks`` and a
    warning names the key it ignores.
    """
    later = {"bookmarks": {"registrations": {"replication_key_value": "2024-03-31T00:00:00Z"}}}
    state = {**stream_state(replication_key_value=DAY_2), "singer_state": later}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cleaned = clean_state(state)
        run = run_tap(three_days(sb), state=state)
    assert cleaned["singer_state"] == later
    assert run.error is None, run.error
    assert record_keys(run) == expected_keys(sb, START + dt.timedelta(days=1), END)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        warnings.count(
            "STATE has both bookmarks and singer_state (`meltano state get` output); the run "
            "starts from bookmarks and ignores singer_state"
        )
        == 2
    )


def test_meltano_state_get_output_alone_is_refused_with_the_fix() -> None:
    with pytest.raises(StateError) as raised:
        clean_state({"singer_state": stream_state(replication_key_value=DAY_2)})
    assert str(raised.value) == (
        "Unusable STATE at the top level: this is `meltano state get` output; pass the "
        f"object inside singer_state; {FIX}"
    )


def test_a_stream_without_a_bookmark_keeps_its_other_keys() -> None:
    state = {"bookmarks": {"registrations": {"pending_exports": {DAY_2: _entry()}}}}
    assert clean_state(state) == state
    assert clean_state({"currently_syncing": "registrations"}) == {
        "currently_syncing": "registrations"
    }


# Unusable STATE, word for word.


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ([1, 2], "the top level: expected a JSON object, found list [1, 2]"),
        ("x", 'the top level: expected a JSON object, found string "x"'),
        (None, "the top level: expected a JSON object, found null"),
        ({"bookmarks": "none"}, 'bookmarks: expected a JSON object, found string "none"'),
        (
            {"bookmarks": {"registrations": 5}},
            "bookmarks.registrations: expected a JSON object, found number 5",
        ),
        (
            {"bookmarks": {"registrations": [1]}},
            "bookmarks.registrations: expected a JSON object, found list [1]",
        ),
        (
            stream_state(replication_key_value="garbage"),
            (
                'bookmarks.registrations.replication_key_value: the bookmark "garbage" is not an '
                "ISO 8601 timestamp"
            ),
        ),
        (
            stream_state(replication_key_value=1711756800),
            (
                "bookmarks.registrations.replication_key_value: the bookmark 1711756800 is a "
                "number, not an ISO 8601 timestamp"
            ),
        ),
        (
            stream_state(replication_key_value=True),
            (
                "bookmarks.registrations.replication_key_value: the bookmark true is a boolean, "
                "not an ISO 8601 timestamp"
            ),
        ),
        (
            stream_state(replication_key_value=None),
            (
                "bookmarks.registrations.replication_key_value: the bookmark is null, "
                "not an ISO 8601 timestamp"
            ),
        ),
        (
            stream_state(replication_key_value=["a"]),
            (
                'bookmarks.registrations.replication_key_value: the bookmark ["a"] is a list, '
                "not an ISO 8601 timestamp"
            ),
        ),
        (
            stream_state(replication_key_value={"a": 1}),
            (
                'bookmarks.registrations.replication_key_value: the bookmark {"a": 1} is an '
                "object, not an ISO 8601 timestamp"
            ),
        ),
        (
            stream_state(replication_key="registered_at", replication_key_value=DAY_2),
            (
                'bookmarks.registrations.replication_key: the bookmark is for "registered_at", '
                "but this stream bookmarks 'window_start'"
            ),
        ),
    ],
)
def test_unusable_state_is_named_word_for_word(state: object, message: str) -> None:
    with pytest.raises(StateError) as raised:
        clean_state(state)
    assert str(raised.value) == f"Unusable STATE at {message}; {FIX}"


def test_tolerated_oddities_are_warned_about_word_for_word(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = {
        "bookmarks": {
            "other": 3,
            "another": {"replication_key_value": 42},
            "registrations": {
                "replication_key_value": "2024-03-30T00:00:00Z",
                "pending_exports": {
                    DAY_2: {"id": 1},
                    f"{DAY_2}/1": 5,
                    "2024-03-31T00:00:00+00:00": {"id": "x", "window_end": 1, "fingerprint": 2},
                },
            },
        }
    }
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cleaned = clean_state(state)
    assert cleaned == {
        "bookmarks": {
            "another": {"replication_key_value": 42},
            "registrations": {
                "replication_key": "window_start",
                "replication_key_value": DAY_2,
                "pending_exports": {},
            },
        }
    }
    where = "STATE bookmarks.registrations"
    assert [r.getMessage() for r in caplog.records] == [
        "STATE bookmarks.other is not an object; ignored",
        f"{where}.replication_key is missing; read as 'window_start'",
        (
            f"{where}.pending_exports.{DAY_2} is ignored (it lacks window_end, fingerprint); "
            "its window is exported again"
        ),
        (
            f"{where}.pending_exports.{DAY_2}/1 is ignored (it is number, not an object); "
            "its window is exported again"
        ),
        (
            f"{where}.pending_exports.2024-03-31T00:00:00+00:00 is ignored "
            '(its id "x" is not an export id); its window is exported again'
        ),
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        clean_state(stream_state(replication_key_value=DAY_2, pending_exports=[1]))
    assert [r.getMessage() for r in caplog.records] == [
        (
            f"{where}.pending_exports is list, not an object; ignored, so any export it meant is "
            "started again"
        )
    ]


def test_values_are_shown_as_written_and_the_error_names_where(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(StateError) as raised:
        clean_state(stream_state(replication_key_value="früh am Morgen"))
    key = "bookmarks.registrations.replication_key_value"
    assert raised.value.where == key
    assert str(raised.value) == (
        f'Unusable STATE at {key}: the bookmark "früh am Morgen" is not an ISO 8601 '
        f"timestamp; {FIX}"
    )
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        clean_state(pending_state({DAY_2: None}))
    assert [r.getMessage() for r in caplog.records] == [
        (
            f"STATE bookmarks.registrations.pending_exports.{DAY_2} is ignored (it is null, not an "
            "object); its window is exported again"
        )
    ]


def test_a_state_handed_over_in_process_may_hold_values_json_cannot(sb: Sandbox) -> None:
    """A caller that builds STATE in Python is told what it passed, as Python shows it."""
    run = run_tap(three_days(sb), state=stream_state(replication_key_value=dt.date(2024, 3, 30)))
    assert isinstance(run.error, StateError)
    assert str(run.error) == (
        "Unusable STATE at bookmarks.registrations.replication_key_value: the bookmark "
        f"datetime.date(2024, 3, 30) is a date, not an ISO 8601 timestamp; {FIX}"
    )


@pytest.mark.parametrize(
    ("length", "shown"), [(58, '"' + "x" * 58 + '"'), (59, '"' + "x" * 58 + "…")]
)
def test_a_bad_bookmark_is_shown_whole_up_to_sixty_characters(length: int, shown: str) -> None:
    with pytest.raises(StateError) as raised:
        clean_state(stream_state(replication_key_value="x" * length))
    assert f"the bookmark {shown} is not an ISO 8601 timestamp; " in str(raised.value)
