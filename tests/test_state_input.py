"""STATE is input: unusable STATE stops before any API call, tolerable oddities lose no row."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.extraction.state_input import StateError
from tests.cli import run_cli, write_config
from tests.conftest import expected_keys, record_keys, run_tap, shared_token_cache
from tests.state_cases import END, START, pending_state, stream_state, three_days

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path

KEY = "bookmarks.registrations.replication_key_value"


# (id, STATE, where the error points, the bad value as shown) for unusable STATE.
UNUSABLE = [
    ("not-an-object", [1, 2], "the top level", "[1, 2]"),
    ("meltano-state-get-output", {"singer_state": {"bookmarks": {}}}, "the top level", "singer"),
    ("bookmarks-not-an-object", {"bookmarks": "none"}, "bookmarks", '"none"'),
    ("stream-not-an-object", {"bookmarks": {"registrations": 5}}, "bookmarks.registrations", "5"),
    ("garbage", stream_state(replication_key_value="garbage"), KEY, '"garbage"'),
    ("number", stream_state(replication_key_value=1711756800), KEY, "1711756800"),
    ("null", stream_state(replication_key_value=None), KEY, "null"),
    ("list", stream_state(replication_key_value=["2024-03-30"]), KEY, '["2024-03-30"]'),
    ("long", stream_state(replication_key_value="x" * 500), KEY, "x" * 50 + "…"),
    (
        "other-replication-key",
        stream_state(replication_key="registered_at", replication_key_value="2024-03-30T00:00:00Z"),
        "bookmarks.registrations.replication_key",
        '"registered_at"',
    ),
]

# (id, STATE, first day whose rows are expected, warnings naming these keys) for oddities.
TOLERATED = [
    ("without-zone", stream_state(replication_key_value="2024-03-30T00:00:00"), 1, []),
    (
        "without-replication-key",
        {"bookmarks": {"registrations": {"replication_key_value": "2024-03-30T00:00:00Z"}}},
        1,
        ["bookmarks.registrations.replication_key is missing"],
    ),
    ("in-the-future", stream_state(replication_key_value="2099-01-01T00:00:00+00:00"), None, []),
    ("pending-not-an-object", pending_state(["100000001"]), 1, ["pending_exports is list"]),
    (
        "pending-entries-missing-keys",
        pending_state({"2024-03-30T00:00:00+00:00": {"id": 100000001}}),
        1,
        ["lacks window_end, fingerprint"],
    ),
    (
        "pending-entry-not-an-object",
        pending_state({"2024-03-30T00:00:00+00:00": "100000001"}),
        1,
        ["is string, not an object"],
    ),
    (
        "pending-unknown-window",
        pending_state({"someday": {"id": 1, "window_end": "x", "fingerprint": "y"}}),
        1,
        ["pending_exports.someday is ignored"],
    ),
    (
        "pending-bogus-id",
        pending_state(
            {"2024-03-30T00:00:00+00:00": {"id": "abc", "window_end": "", "fingerprint": ""}}
        ),
        1,
        ['its id "abc" is not an export id'],
    ),
    (
        "pending-entry-for-another-request",
        pending_state(
            {"2024-03-30T00:00:00+00:00": {"id": 999, "window_end": "", "fingerprint": "f"}},
        ),
        1,
        [],
    ),
    (
        "keys-from-other-tools",
        {
            "bookmarks": {
                "registrations": {
                    "replication_key": "window_start",
                    "replication_key_value": "2024-03-30T01:00:00+01:00",
                    "partitions": [],
                    "progress_markers": {"Note": "from another tool"},
                    "comment": "edited by hand",
                },
                "another_stream": {"replication_key_value": 42},
                "broken_stream": 7,
            },
            "currently_syncing": None,
        },
        1,
        ["bookmarks.broken_stream is not an object"],
    ),
    ("empty", {}, 0, []),
]


@pytest.fixture(scope="module", autouse=True)
def token_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's runs share the module's sandbox, and so its token."""
    yield from shared_token_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(start=START, days=3, per_day=12)) as sandbox:
        yield sandbox


@pytest.mark.parametrize(
    ("state", "where", "shown"), [c[1:] for c in UNUSABLE], ids=[c[0] for c in UNUSABLE]
)
def test_unusable_state_stops_with_one_line_before_any_api_call(
    sb: Sandbox, state: object, where: str, shown: str
) -> None:
    sb.clear_requests()
    run = run_tap(three_days(sb), state=state)  # type: ignore[arg-type]
    assert isinstance(run.error, StateError), run.error
    message = str(run.error)
    assert "\n" not in message
    assert message.startswith(f"Unusable STATE at {where}: ")
    assert shown in message
    assert "meltano state set" in message
    assert "meltano state clear" in message
    assert len(message) < 400
    assert sb.requests == []
    assert run.messages == []


@pytest.mark.parametrize(
    ("state", "first_day", "warned"), [c[1:] for c in TOLERATED], ids=[c[0] for c in TOLERATED]
)
def test_tolerable_state_runs_and_loses_no_row(
    sb: Sandbox,
    state: dict[str, Any],
    first_day: int | None,
    warned: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    original = json.dumps(state, sort_keys=True)
    with caplog.at_level(
        logging.WARNING, logger="tap_emarsys_registrations.extraction.state_input"
    ):
        run = run_tap(three_days(sb), state=state)
    assert run.error is None, run.error
    assert json.dumps(state, sort_keys=True) == original  # the caller's STATE is not changed
    if first_day is None:
        assert run.records == []
    else:
        begin = START + dt.timedelta(days=first_day)
        assert record_keys(run) == expected_keys(sb, begin, END)
        assert max(Counter(record_keys(run)).values()) == 1
        assert run.bookmark == END.isoformat()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for text in warned:
        assert sum(text in w for w in warnings) == 1, warnings
    assert len(warnings) == len(warned), warnings


def _cli(tmp_path: Path, sb: Sandbox, state_text: str) -> subprocess.CompletedProcess[str]:
    state = tmp_path / "state.json"
    state.write_text(state_text)
    return run_cli(write_config(tmp_path, three_days(sb)), "--state", str(state))


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("bookmarks: yes\n", "it is not JSON (Expecting value at character 0)"),
        (
            '{"bookmarks": {"registrations": {"replication_key_va',
            "ends before the JSON is complete",
        ),
        ("", "an empty file"),
        (
            json.dumps(stream_state(replication_key_value="garbage")),
            f'{KEY}: the bookmark "garbage"',
        ),
    ],
    ids=["not-json", "truncated", "empty", "garbage-bookmark"],
)
def test_cli_unusable_state_file_exits_1_with_one_line(
    tmp_path: Path, sb: Sandbox, text: str, problem: str
) -> None:
    sb.clear_requests()
    result = _cli(tmp_path, sb, text)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "Unusable STATE" in line]
    assert len(lines) == 1, result.stderr
    assert problem in lines[0]
    assert "meltano state clear" in lines[0]
    assert result.stdout == ""
    assert sb.requests == []


def test_a_state_path_handed_to_the_tap_is_checked_too(tmp_path: Path, sb: Sandbox) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"bookmarks": {"registrations": {"replication_key_value": 17')
    sb.clear_requests()
    run = run_tap(three_days(sb), state=str(path))  # type: ignore[arg-type]
    assert isinstance(run.error, StateError)
    assert f"the state file {path}" in str(run.error)
    assert "ends before the JSON is complete" in str(run.error)
    assert sb.requests == []
