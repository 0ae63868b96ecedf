"""Real tap processes share one OAuth token, within Emarsys' token-fetch limits.

Every run here is a CLI process against a sandbox that enforces the documented
limits (2 token requests a minute, 10 an hour per client_id). The processes of
one test share the test's cache folder (XDG_CACHE_HOME, see conftest.py), as
the runs of one OS user on one machine do. All of them log at DEBUG, and no
secret or token may appear in what they print.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.emarsys.token_cache import (
    REQUESTS_FILE,
    TOKENS_FILE,
    CacheKey,
    FileTokenCache,
)
from tests.cli import REPO, TAP, cli_env, run_cli
from tests.conftest import tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

LIMIT_TEXT = "2 token requests a minute and 10 an hour per client_id"

# several CLI runs of up to 60-90 s each
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=10)) as sandbox:
        yield sandbox


def _config_file(folder: Path, sb: Sandbox, **overrides: Any) -> Path:
    """A config for one 6-hour window, so that each run takes about a second."""
    end = sb.config.start + dt.timedelta(hours=6)
    config = tap_config(sb, end_date=end.isoformat(), window_hours=6, **overrides)
    path = folder / f"config-{len(list(folder.glob('config-*.json')))}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _command(config: Path, args: Sequence[str]) -> list[str]:
    return [*TAP, "--config", str(config), *args]


def _env() -> dict[str, str]:
    return cli_env(debug=True)


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args, debug=True)


def _parallel(config: Path, count: int) -> list[tuple[int, str, str]]:
    processes = [
        subprocess.Popen(
            _command(config, []),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=_env(),
        )
        for _ in range(count)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=90)
        results.append((process.returncode, out, err))
    return results


def _secrets(sb: Sandbox) -> set[str]:
    """The client secret and every Basic or Bearer credential the sandbox was sent."""
    found = {sb.config.client_secret}
    for entry in sb.requests:
        for name, value in entry.headers.items():
            if name.lower() == "authorization":
                found.add(value.split(" ", 1)[1])
    return found


def _assert_no_secrets(sb: Sandbox, outputs: Sequence[str]) -> None:
    secrets = _secrets(sb)
    assert len(secrets) >= 3, "the secret, the Basic credentials and at least one token"
    for output in outputs:
        assert "DEBUG" in output, "debug logging was on"
        assert not [s for s in secrets if s in output]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line or "ERROR" in line[:40]]


def test_parallel_and_back_to_back_runs_fetch_one_token(sb: Sandbox, tmp_path: Path) -> None:
    config = _config_file(tmp_path, sb)
    outputs = []
    for code, out, err in _parallel(config, 4):  # started together, on an empty cache
        assert code == 0, err[-2000:]
        assert out.count('"type":"RECORD"') + out.count('"type": "RECORD"') > 0
        outputs.append(err)
    rounds = [["--discover"], [], ["--test"], ["--discover"], ["--test"]]
    for args in rounds * 4:
        result = _run(config, *args)
        assert result.returncode == 0, result.stderr[-2000:]
        outputs.append(result.stderr + result.stdout)
    assert [e.status for e in sb.token_requests] == [200]
    assert [e for e in sb.requests if e.status == 401] == []
    _assert_no_secrets(sb, outputs)


def test_the_cache_file_is_private_and_holds_the_token_but_no_secret(
    sb: Sandbox, tmp_path: Path, token_cache_home: Path
) -> None:
    result = _run(_config_file(tmp_path, sb), "--test")
    assert result.returncode == 0, result.stderr[-2000:]
    assert stat.S_IMODE(token_cache_home.stat().st_mode) == 0o700
    files = sorted(p for p in token_cache_home.rglob("*") if p.is_file())
    assert {TOKENS_FILE, REQUESTS_FILE} <= {p.name for p in files}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert sb.config.client_secret.encode() not in path.read_bytes(), path.name
    tokens = json.loads((token_cache_home / TOKENS_FILE).read_text())["tokens"]
    bearers = {
        value.removeprefix("Bearer ")
        for entry in sb.requests
        for name, value in entry.headers.items()
        if name.lower() == "authorization" and value.startswith("Bearer ")
    }
    assert [entry["access_token"] for entry in tokens.values()] == list(bearers)
    _assert_no_secrets(sb, [result.stderr + result.stdout])


def test_a_changed_secret_or_token_url_fetches_a_new_token(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=10)) as first:
        port = first.port
        assert _run(_config_file(tmp_path, first), "--test").returncode == 0
        other_url = first.token_url.replace("127.0.0.1", "localhost")
        moved = _run(_config_file(tmp_path, first, token_url=other_url), "--test")
        assert moved.returncode == 0, moved.stderr[-2000:]
        assert len(first.token_requests) == 2
    # The credential is rotated: same server address, a new secret.
    rotated = SandboxConfig(days=1, per_day=10, port=port, client_secret="rotated-secret-0815")
    with Sandbox(rotated) as second:
        result = _run(_config_file(tmp_path, second), "--test")
        assert result.returncode == 0, result.stderr[-2000:]
        assert [e.status for e in second.token_requests] == [200]
        assert [e for e in second.requests if e.status == 401] == []


def test_a_corrupt_cache_file_warns_and_is_rewritten(
    sb: Sandbox, tmp_path: Path, token_cache_home: Path
) -> None:
    config = _config_file(tmp_path, sb)
    assert _run(config, "--test").returncode == 0
    (token_cache_home / TOKENS_FILE).write_text('{"version": 1, "tokens": {"x": ')
    result = _run(config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Ignoring the corrupt token cache file" in result.stderr
    tokens = json.loads((token_cache_home / TOKENS_FILE).read_text())["tokens"]
    assert len(tokens) == 1
    assert len(sb.token_requests) == 2
    assert _run(config, "--test").returncode == 0
    assert len(sb.token_requests) == 2, "the rewritten cache is used again"


def _assert_one_line_failure(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = _error_lines(result.stderr)
    assert len(errors) == 1, errors
    for part in parts:
        assert part in errors[0]


def test_a_spent_budget_fails_at_once_naming_the_limit(sb: Sandbox, tmp_path: Path) -> None:
    sb.faults.token_budget_spent = True
    config = _config_file(tmp_path, sb)
    for args in ([], ["--test"]):  # a third run this minute would wait for the ledger
        result = _run(config, *args)
        _assert_one_line_failure(result, "HTTP 429", LIMIT_TEXT, "token_cache_dir")
        assert "token_url" not in _error_lines(result.stderr)[0]
    assert [e.status for e in sb.token_requests] == [429, 429]


def test_a_full_local_ledger_fails_without_a_token_request(
    sb: Sandbox, tmp_path: Path, token_cache_home: Path
) -> None:
    cache = FileTokenCache(token_cache_home)
    key = CacheKey.of(sb.token_url, sb.config.client_id, sb.config.client_secret)
    now = time.time()
    with cache.locked():
        for i in range(10):
            cache.record_request(key, now - 3000.0 + 100.0 * i)
    result = _run(_config_file(tmp_path, sb), "--discover")
    _assert_one_line_failure(result, "Not fetching an OAuth token", LIMIT_TEXT, "last hour")
    assert sb.token_requests == []


def test_a_401_on_the_cached_token_refreshes_it_exactly_once(sb: Sandbox, tmp_path: Path) -> None:
    config = _config_file(tmp_path, sb)
    assert _run(config, "--test").returncode == 0
    sb.revoke_tokens()
    sb.clear_requests()
    result = _run(config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [e.status for e in sb.token_requests] == [200]
    assert len([e for e in sb.requests if e.status == 401]) == 1
    again = _run(config, "--test")
    assert again.returncode == 0
    assert len(sb.token_requests) == 1, "the refreshed token was written to the cache"
    _assert_no_secrets(sb, [result.stderr, again.stderr])
