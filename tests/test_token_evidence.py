"""One INFO line per run says whether the OAuth token was reused, from where, or fetched."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from sandbox import Sandbox, SandboxConfig
from tests.conftest import run_tap, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

AUTH_LOGGER = "tap_emarsys_registrations.emarsys.auth"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=3)) as sandbox:
        yield sandbox


def _token_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == AUTH_LOGGER and r.getMessage().startswith("OAuth token ")
    ]


def test_each_run_says_whether_it_fetched_or_reused_the_token(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "volume"
    config = tap_config(sb, token_cache_dir=str(folder))
    lines = []
    for _ in range(3):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=AUTH_LOGGER):
            assert run_tap(config).error is None
        lines.append(_token_lines(caplog))
    assert lines[0] == ["OAuth token fetched (1 of 10 token requests this hour for this client_id)"]
    # The sandbox's tokens live an hour; the runs take seconds.
    reused = f"OAuth token reused from {folder.absolute()} (valid 59 more minutes)"
    assert lines[1:] == [[reused], [reused]]
    assert len(sb.token_requests) == 1


def test_the_count_covers_every_token_request_of_the_hour(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tap_config(sb, token_cache_dir=str(tmp_path / "volume"))
    assert run_tap(config).error is None
    (tmp_path / "volume" / "tokens.json").unlink()  # a lost token, the ledger kept
    with caplog.at_level(logging.INFO, logger=AUTH_LOGGER):
        assert run_tap(config).error is None
    assert _token_lines(caplog) == [
        "OAuth token fetched (2 of 10 token requests this hour for this client_id)"
    ]
