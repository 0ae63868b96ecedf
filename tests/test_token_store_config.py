"""token_cache_url: checked before any request, and a store that is down never fails a run.

These run in-process: no PostgreSQL is started. A store that refuses or does
not answer is a closed port or a socket that never answers.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import TYPE_CHECKING

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.emarsys import token_store_pg
from tap_emarsys_registrations.settings.cache import parse_token_cache
from tap_emarsys_registrations.settings.store_url import INSTALL_HINT
from tests.conftest import run_tap, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PASSWORD = "pg-pass-8c1d3e"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=3)) as sandbox:
        yield sandbox


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"mysql://tap:{PASSWORD}@db:3306/x", "not a 'mysql' URL"),
        (f"tap:{PASSWORD}@db/x", "has no scheme"),
        (f"postgresql://tap:{PASSWORD}@db:port/x", "port (value not shown) is not a number"),
        (f"postgresql://tap:{PASSWORD}@/x", "it names no host"),
    ],
    ids=["scheme", "no-scheme", "port", "no-host"],
)
def test_a_malformed_url_stops_the_run_before_any_request(
    sb: Sandbox, tmp_path: Path, url: str, problem: str
) -> None:
    run = run_tap(tap_config(sb, token_cache_url=url, token_cache_dir=str(tmp_path)))
    message = str(run.error)
    assert "token_cache_url" in message
    assert problem in message
    assert PASSWORD not in message
    assert len(message.splitlines()) == 1
    assert sb.requests == []


def test_the_url_without_the_postgres_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # how Python sees a missing package
    with pytest.raises(Exception, match="token_cache_url") as raised:
        parse_token_cache({"token_cache_url": f"postgresql://tap:{PASSWORD}@db/x"})
    assert INSTALL_HINT in str(raised.value)
    assert "tap-emarsys-registrations[postgres]" in str(raised.value)


def test_meltano_style_urls_are_taken_and_shown_masked() -> None:
    for scheme in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        url = parse_token_cache({"token_cache_url": f"{scheme}://tap:{PASSWORD}@db:5432/m"}).url
        assert url is not None
        assert url.conninfo == f"postgresql://tap:{PASSWORD}@db:5432/m"
        assert url.masked == f"{scheme}://tap:***@db:5432/m"
        assert PASSWORD not in repr(url)
    query = parse_token_cache({"token_cache_url": f"postgresql:///m?host=/run&password={PASSWORD}"})
    assert query.url is not None
    assert query.url.masked == "postgresql:///m?host=/run&password=***"


def _store_down_runs(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture, url: str
) -> list[str]:
    folder = tmp_path / "volume"
    config = tap_config(sb, token_cache_url=url, token_cache_dir=str(folder))
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            run = run_tap(config)
            assert run.error is None
            assert run.records
    assert len(sb.token_requests) == 1  # the file cache took over: the 2nd run reused it
    messages = [r.getMessage() for r in caplog.records]
    assert all(PASSWORD not in m for m in messages)
    warnings = [m for m in messages if "token_cache_url" in m]
    assert len(warnings) == 2, warnings  # once per run
    for warning in warnings:
        assert ":***@127.0.0.1" in warning
        assert str(folder.absolute()) in warning
    assert f"OAuth token reused from {folder.absolute()} (valid 59 more minutes)" in messages
    return warnings


def test_a_store_that_refuses_connections_falls_back_to_the_file_cache(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql://tap:{PASSWORD}@127.0.0.1:{_closed_port()}/meltano"
    warnings = _store_down_runs(sb, tmp_path, caplog, url)
    assert "refused" in warnings[0].lower()


def test_a_store_that_does_not_answer_times_out_and_falls_back(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_store_pg, "CONNECT_TIMEOUT_SECONDS", 2)  # libpq's least
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = f"postgresql://tap:{PASSWORD}@127.0.0.1:{port}/meltano"
        warnings = _store_down_runs(sb, tmp_path, caplog, url)
    assert "timeout" in warnings[0].lower()
