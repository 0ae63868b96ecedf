"""The OAuth token cache, the token-request ledger and the authenticator, on an injected clock.

Tokens come from a real sandbox; only the tap's clock is simulated, so that
expiry margins and limit waits are exact and no test waits in real time.
"""

from __future__ import annotations

import json
import logging
import stat
import threading
from typing import TYPE_CHECKING, Any

import pytest
import requests

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.emarsys.auth import OAuthClientCredentials, TokenLimitError, retry_after
from tap_emarsys_registrations.settings.cache import parse_token_cache
from tap_emarsys_registrations.clock import Clock
from tap_emarsys_registrations.errors import ConfigError, RetriesExhaustedError
from tap_emarsys_registrations.emarsys.token_cache import (
    REQUESTS_FILE,
    TOKENS_FILE,
    CachedToken,
    CacheKey,
    FileTokenCache,
    MemoryTokenCache,
)
from tap_emarsys_registrations.emarsys.token_ledger import DOCUMENTED_LIMITS, FetchLimits, next_fetch
from tests.conftest import run_tap, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = 1_800_000_000.0
LIMIT_TEXT = "2 token requests a minute and 10 an hour per client_id"


class FakeTime:
    """Wall clock and sleep of the tap: sleeping moves the clock on at once."""

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    @property
    def clock(self) -> Clock:
        return Clock(time=lambda: self.now, monotonic=lambda: self.now, sleep=self.sleep)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=1)) as sandbox:
        yield sandbox


def _auth(
    sb: Sandbox,
    cache: MemoryTokenCache,
    fake: FakeTime,
    **credentials: str,
) -> OAuthClientCredentials:
    cfg = sb.config
    return OAuthClientCredentials(
        token_url=credentials.get("token_url", sb.token_url),
        client_id=cfg.client_id,
        client_secret=credentials.get("client_secret", cfg.client_secret),
        session=requests.Session(),
        clock=fake.clock,
        cache=cache,
    )


def _key(sb: Sandbox) -> CacheKey:
    return CacheKey.of(sb.token_url, sb.config.client_id, sb.config.client_secret)


# The ledger: pure arithmetic on request times.


def test_an_empty_ledger_allows_a_fetch_now() -> None:
    assert next_fetch([], T0, DOCUMENTED_LIMITS).wait == 0.0
    assert next_fetch([T0 - 61.0, T0 - 3601.0], T0, DOCUMENTED_LIMITS).wait == 0.0


def test_two_requests_in_the_last_minute_mean_a_short_wait() -> None:
    plan = next_fetch([T0 - 50.0, T0 - 20.0], T0, DOCUMENTED_LIMITS)
    assert (plan.wait, plan.window, plan.sent, plan.is_short) == (10.0, "minute", 2, True)


def test_ten_requests_in_the_hour_mean_a_long_wait() -> None:
    times = [T0 - 3000.0 + 120.0 * i for i in range(10)]  # 2 minutes apart
    plan = next_fetch(times, T0, DOCUMENTED_LIMITS)
    assert (plan.wait, plan.window, plan.sent, plan.is_short) == (600.0, "hour", 10, False)


def test_a_request_time_in_the_future_counts_as_now() -> None:
    plan = next_fetch([T0 + 500.0, T0 + 900.0], T0, FetchLimits(per_minute=2, per_hour=10))
    assert plan.wait == 60.0


# The authenticator with the file cache.


def test_a_token_is_reused_until_the_refresh_margin(sb: Sandbox, tmp_path: Path) -> None:
    fake = FakeTime()
    auth = _auth(sb, FileTokenCache(tmp_path), fake)
    first = auth.token()
    fake.now = T0 + 3600.0 - 60.5  # lifetime 3600s, margin min(60s, a tenth)
    assert auth.token() == first
    fake.now = T0 + 3600.0 - 59.5
    second = auth.token()
    assert second != first
    assert len(sb.token_requests) == 2
    assert auth.tokens_fetched == 2


def test_another_run_reads_the_token_from_the_file(sb: Sandbox, tmp_path: Path) -> None:
    fake = FakeTime()
    token = _auth(sb, FileTokenCache(tmp_path), fake).token()
    later = _auth(sb, FileTokenCache(tmp_path), fake)
    assert later.token() == token
    assert later.tokens_fetched == 0
    assert len(sb.token_requests) == 1


def test_files_are_private_and_hold_no_secret(sb: Sandbox, tmp_path: Path) -> None:
    folder = tmp_path / "new" / "cache"
    token = _auth(sb, FileTokenCache(folder), FakeTime()).token()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert TOKENS_FILE in files
    assert REQUESTS_FILE in files
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert sb.config.client_secret not in path.read_text()
    entries = json.loads((folder / TOKENS_FILE).read_text())["tokens"]
    assert [e["access_token"] for e in entries.values()] == [token]
    assert next(iter(entries.values()))["expires_at"] == T0 + 3600.0


def test_a_changed_secret_or_token_url_never_reuses_the_token(sb: Sandbox, tmp_path: Path) -> None:
    fake = FakeTime()
    token = _auth(sb, FileTokenCache(tmp_path), fake).token()
    same_server = sb.token_url.replace("127.0.0.1", "localhost")
    other_url = _auth(sb, FileTokenCache(tmp_path), fake, token_url=same_server)
    assert other_url.token() != token
    rotated = _auth(sb, FileTokenCache(tmp_path), fake, client_secret="rotated")
    with pytest.raises(Exception, match="rejected the client credentials"):
        rotated.token()  # the sandbox knows only the old secret: the request was sent
    assert len(sb.token_requests) == 3


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'{"version": 1, "tokens": {"k": {"expires_at": 1}}}', b"\xff\xfe"],
)
def test_a_corrupt_cache_is_ignored_with_a_warning_and_rewritten(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    (tmp_path / TOKENS_FILE).write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="tap_emarsys_registrations.emarsys.token_cache"):
        token = _auth(sb, FileTokenCache(tmp_path), FakeTime()).token()
    assert any(TOKENS_FILE in r.getMessage() for r in caplog.records)
    rewritten = json.loads((tmp_path / TOKENS_FILE).read_text())
    assert [e["access_token"] for e in rewritten["tokens"].values()] == [token]


def test_an_unusable_folder_keeps_the_token_in_memory(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="tap_emarsys_registrations.emarsys.token_cache"):
        auth = _auth(sb, FileTokenCache(blocker / "cache"), FakeTime())
        assert auth.token() == auth.token()
    assert any("unusable" in r.getMessage() for r in caplog.records)
    assert len(sb.token_requests) == 1


def test_tokens_expired_before_a_new_one_are_pruned(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    old = CacheKey.of("https://a.example/token", "id", "old-secret")
    live = CacheKey.of("https://a.example/token", "id2", "secret")
    new = CacheKey.of("https://a.example/token", "id", "new-secret")
    with cache.locked():
        cache.store(old, CachedToken("t-old", expires_at=T0 + 10.0, lifetime=3600.0))
        cache.store(live, CachedToken("t-live", expires_at=T0 + 3000.0, lifetime=3600.0))
    with cache.locked():
        cache.store(new, CachedToken("t-new", expires_at=T0 + 3620.0, lifetime=3600.0))
    with cache.locked():
        assert cache.load(old) is None
        assert cache.load(live) is not None
        assert cache.load(new) is not None


def test_a_folder_other_users_can_write_to_is_warned_about(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with caplog.at_level(logging.WARNING, logger="tap_emarsys_registrations.emarsys.token_cache"):
        _auth(sb, FileTokenCache(shared), FakeTime()).token()
    assert any("writable by other users" in r.getMessage() for r in caplog.records)


def test_a_401_drops_the_cached_token_only_if_it_is_still_the_rejected_one(
    sb: Sandbox, tmp_path: Path
) -> None:
    fake = FakeTime()
    auth = _auth(sb, FileTokenCache(tmp_path), fake)
    token = auth.token()
    auth.invalidate("an-older-token")
    assert _auth(sb, FileTokenCache(tmp_path), fake).token() == token
    auth.invalidate(token)
    assert "access_token" not in (tmp_path / TOKENS_FILE).read_text()
    fresh = auth.token()
    assert fresh != token
    assert len(sb.token_requests) == 2


def test_a_short_wait_for_the_limit_is_waited_and_logged(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileTokenCache(tmp_path)
    with cache.locked():
        cache.record_request(_key(sb), T0 - 50.0)
        cache.record_request(_key(sb), T0 - 30.0)
    fake = FakeTime()
    with caplog.at_level(logging.INFO, logger="tap_emarsys_registrations.emarsys.auth"):
        _auth(sb, cache, fake).token()
    assert fake.sleeps == [10.0]
    assert any(
        "Waiting 10s" in r.getMessage() and LIMIT_TEXT in r.getMessage() for r in caplog.records
    )
    assert len(sb.token_requests) == 1


def test_a_long_wait_for_the_limit_fails_at_once_naming_the_limit_and_the_remedies(
    sb: Sandbox, tmp_path: Path
) -> None:
    cache = FileTokenCache(tmp_path)
    with cache.locked():
        for i in range(10):
            cache.record_request(_key(sb), T0 - 3000.0 + 120.0 * i)
    fake = FakeTime()
    with pytest.raises(TokenLimitError) as raised:
        _auth(sb, cache, fake).token()
    message = str(raised.value)
    assert "\n" not in message
    for part in (LIMIT_TEXT, "last hour", "about 10 min", "token_cache_dir", "own API credential"):
        assert part in message
    assert fake.sleeps == []
    assert sb.token_requests == []


def test_the_ledger_is_shared_with_the_next_run(tmp_path: Path) -> None:
    # Three tokens in one real second: the sandbox's own limits are off, the tap's are not.
    config = SandboxConfig(days=1, per_day=1, token_limit_per_minute=None)
    with Sandbox(config) as sandbox:
        fake = FakeTime()
        first = _auth(sandbox, FileTokenCache(tmp_path), fake)
        first.token()
        first.invalidate()
        first.token()  # two requests this minute
        second = _auth(sandbox, FileTokenCache(tmp_path), fake)
        second.invalidate()
        second.token()
        assert fake.sleeps == [60.0]  # waited for the first request to leave the minute
        assert len(sandbox.token_requests) == 3


def test_threads_with_their_own_cache_objects_fetch_one_token(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(days=1, per_day=1)) as sandbox:
        tokens: list[str] = []
        barrier = threading.Barrier(8)

        def run() -> None:
            auth = _auth(sandbox, FileTokenCache(tmp_path), FakeTime())
            barrier.wait()
            tokens.append(auth.token())

        threads = [threading.Thread(target=run) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(tokens) == 8
        assert len(set(tokens)) == 1
        assert len(sandbox.token_requests) == 1


def test_with_the_cache_off_nothing_is_written(sb: Sandbox, tmp_path: Path) -> None:
    config = tap_config(sb, token_cache=False, token_cache_dir=str(tmp_path / "unused"))
    assert run_tap(config).error is None
    assert run_tap(config).error is None
    assert not (tmp_path / "unused").exists()
    assert len(sb.token_requests) == 2


def test_runs_in_one_process_share_the_token_in_the_configured_folder(
    sb: Sandbox, tmp_path: Path
) -> None:
    config = tap_config(sb, token_cache_dir=str(tmp_path / "volume"))
    for _ in range(3):
        assert run_tap(config).error is None
    assert len(sb.token_requests) == 1
    assert (tmp_path / "volume" / TOKENS_FILE).exists()


# The token endpoint's own answers.


def test_a_429_with_a_short_retry_after_is_waited_once(tmp_path: Path) -> None:
    config = SandboxConfig(days=1, per_day=1, token_limit_per_minute=1, token_retry_after=True)
    with Sandbox(config) as sandbox:
        creds = (sandbox.config.client_id, sandbox.config.client_secret)
        grant = {"grant_type": "client_credentials"}
        assert requests.post(sandbox.token_url, auth=creds, data=grant).status_code == 200
        fake = FakeTime()
        with pytest.raises(TokenLimitError) as raised:
            _auth(sandbox, FileTokenCache(tmp_path), fake).token()
        assert len(fake.sleeps) == 1
        assert 55.0 <= fake.sleeps[0] <= 60.0  # the Retry-After, waited once
        assert [e.status for e in sandbox.token_requests] == [200, 429, 429]
        assert "HTTP 429" in str(raised.value)
        assert LIMIT_TEXT in str(raised.value)


def test_a_429_without_retry_after_fails_at_once_without_blaming_token_url(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.faults.token_budget_spent = True
    fake = FakeTime()
    with pytest.raises(TokenLimitError) as raised:
        _auth(sb, FileTokenCache(tmp_path), fake).token()
    message = str(raised.value)
    assert "HTTP 429" in message
    assert LIMIT_TEXT in message
    assert "token_url" not in message
    assert fake.sleeps == []
    assert len(sb.token_requests) == 1


def test_a_token_endpoint_outage_ends_the_run_after_three_token_requests(sb: Sandbox) -> None:
    sb.faults.token_endpoint_down = True
    run = run_tap(tap_config(sb))
    assert isinstance(run.error, RetriesExhaustedError)
    assert "OAuth token request failed 3 times" in str(run.error)
    assert [e.status for e in sb.token_requests] == [503, 503, 503]


def test_retry_after_in_seconds_only() -> None:
    assert retry_after("30") == 30.0
    assert retry_after(" 2.5 ") == 2.5
    assert retry_after("-4") == 0.0
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None
    assert retry_after("nan") is None
    assert retry_after(None) is None


# The settings.


def test_token_cache_settings_default_to_on_in_the_user_cache_folder() -> None:
    settings = parse_token_cache({})
    assert (settings.enabled, settings.folder) == (True, None)
    moved = parse_token_cache({"token_cache": False, "token_cache_dir": "~/tokens"})
    assert moved.enabled is False
    assert moved.folder is not None
    assert moved.folder.is_absolute()
    assert moved.folder.name == "tokens"


@pytest.mark.parametrize(
    ("config", "setting"),
    [({"token_cache": "yes"}, "token_cache"), ({"token_cache_dir": 5}, "token_cache_dir")],
)
def test_bad_token_cache_settings_name_the_setting(config: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_token_cache(config)
    assert raised.value.setting == setting
