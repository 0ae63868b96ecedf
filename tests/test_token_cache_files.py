"""The token cache's files, one rule each: what is kept, pruned, rewritten and warned about.

No token endpoint is needed: the cache is driven through its public methods, as the
authenticator drives it, and its files are read back as the next run reads them.
"""

from __future__ import annotations

import json
import logging
import re
import stat
import threading
from typing import TYPE_CHECKING

import filelock
import pytest

from tap_emarsys_registrations.emarsys import token_cache
from tap_emarsys_registrations.emarsys.token_cache import (
    LOCK_FILE,
    REQUESTS_FILE,
    TOKENS_FILE,
    CachedToken,
    CacheKey,
    FileTokenCache,
    MemoryTokenCache,
)
from tap_emarsys_registrations.errors import UserFacingError

if TYPE_CHECKING:
    from pathlib import Path

T0 = 1_800_000_000.0
URL = "https://api.example/token"
KEY = CacheKey.of(URL, "client", "secret")
OTHER = CacheKey.of(URL, "other-client", "secret")
LOGGER = "tap_emarsys_registrations.emarsys.token_cache"


def test_a_key_files_the_token_by_secret_and_the_requests_by_client() -> None:
    rotated = CacheKey.of(URL, "client", "rotated")
    assert rotated.token != KEY.token
    assert rotated.ledger == KEY.ledger == f"client {URL}"
    assert CacheKey.of(URL + "/", "client", "secret").token != KEY.token
    assert "secret" not in repr(KEY)
    assert len(KEY.token) == 64


def test_the_files_a_0_2_0_run_wrote_are_read_so_an_upgrade_fetches_no_new_token(
    tmp_path: Path,
) -> None:
    """The files as 0.2.0 wrote them for KEY: the key names must not change across releases."""
    token_key = "2b6c192975975f1cdcbb30e13b83ae9eb07ddf14c5b6732e612919279971630c"
    tokens = {token_key: {"access_token": "t1", "expires_at": T0 + 3600.0, "lifetime": 3600.0}}
    (tmp_path / TOKENS_FILE).write_text(json.dumps({"version": 1, "tokens": tokens}))
    requests = {"version": 1, "requests": {f"client {URL}": [T0 - 60.0]}}
    (tmp_path / REQUESTS_FILE).write_text(json.dumps(requests))
    cache = FileTokenCache(tmp_path)
    with cache.locked():
        assert cache.load(KEY) == CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0)
        assert cache.request_times(KEY) == [T0 - 60.0]


def test_a_token_is_not_shown_in_its_repr() -> None:
    token = CachedToken("the-access-token", expires_at=T0, lifetime=3600.0)
    assert repr(token) == f"CachedToken(expires_at={T0}, lifetime=3600.0)"


@pytest.mark.parametrize("cache_type", ["memory", "file"])
def test_a_token_is_dropped_only_when_it_is_the_one_named(cache_type: str, tmp_path: Path) -> None:
    cache = MemoryTokenCache() if cache_type == "memory" else FileTokenCache(tmp_path)
    token = CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0)
    with cache.locked():
        cache.store(KEY, token)
        cache.drop(KEY, "t0")
        assert cache.load(KEY) == token
        cache.drop(KEY, None)
        assert cache.load(KEY) is None
        cache.store(KEY, token)
        cache.drop(KEY, "t1")
        assert cache.load(KEY) is None
        cache.drop(KEY, "t1")  # nothing left to drop


def test_the_ledger_file_keeps_the_last_hour_of_every_client(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    third = CacheKey.of(URL, "third-client", "secret")
    with cache.locked():
        cache.record_request(OTHER, T0 - 3700.0)
        cache.record_request(third, T0 - 3600.0)  # exactly an hour old: no longer counts
        cache.record_request(KEY, T0 - 3600.0)
        cache.record_request(KEY, T0 - 3599.0)
        cache.record_request(KEY, T0)
    content = json.loads((tmp_path / REQUESTS_FILE).read_text())
    assert content == {"version": 1, "requests": {KEY.ledger: [T0 - 3599.0, T0]}}
    later = FileTokenCache(tmp_path)
    with later.locked():
        assert later.request_times(KEY) == [T0 - 3599.0, T0]
        assert later.request_times(OTHER) == []


def test_the_memory_ledger_forgets_requests_an_hour_old() -> None:
    cache = MemoryTokenCache()
    for moment in (T0 - 3600.0, T0 - 3599.0, T0):
        cache.record_request(KEY, moment)
    assert cache.request_times(KEY) == [T0 - 3599.0, T0]


def test_the_tokens_file_is_rewritten_only_when_something_changed(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    with cache.locked():
        cache.store(KEY, CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0))
    path = tmp_path / TOKENS_FILE
    path.write_text(path.read_text())  # same content, new inode
    before = path.stat().st_ino
    with cache.locked():
        cache.drop(KEY, "another token")
    assert path.stat().st_ino == before
    with cache.locked():
        cache.drop(KEY, "t1")
    assert path.stat().st_ino != before
    assert json.loads(path.read_text()) == {"version": 1, "tokens": {}}


def test_every_file_is_private(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "cache")
    with cache.locked():
        cache.store(KEY, CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0))
        cache.record_request(KEY, T0)
    folder = tmp_path / "cache"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [LOCK_FILE, REQUESTS_FILE, TOKENS_FILE]
    )
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (TOKENS_FILE, {"version": 2, "tokens": {}}),
        (TOKENS_FILE, {"tokens": {}}),
        (REQUESTS_FILE, {"version": 2, "requests": {}}),
        (REQUESTS_FILE, {"version": 1, "requests": {KEY.ledger: ["soon"]}}),
        (REQUESTS_FILE, {"version": 1, "requests": []}),
    ],
)
def test_a_file_of_another_version_or_shape_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, content: object
) -> None:
    (tmp_path / name).write_text(json.dumps(content))
    cache = FileTokenCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger=LOGGER), cache.locked():
        assert cache.load(KEY) is None
        assert cache.request_times(KEY) == []
    assert [r.getMessage() for r in caplog.records] == [
        f"Ignoring the corrupt token cache file {tmp_path / name}; it will be rewritten"
    ]


def test_a_file_that_cannot_be_read_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / TOKENS_FILE).mkdir()  # reading a folder fails with an OSError
    cache = FileTokenCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger=LOGGER), cache.locked():
        assert cache.load(KEY) is None
        cache.store(KEY, CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0))
    messages = [r.getMessage() for r in caplog.records]
    path = re.escape(str(tmp_path / TOKENS_FILE))
    assert re.fullmatch(
        rf"Ignoring the unreadable token cache file {path} \(\[Errno 21\] Is a directory: "
        rf"'{path}'\)",
        messages[0],
    )
    # the reason names the folder in the way, so the user can see what to remove
    assert re.fullmatch(
        rf"Cannot write the token cache in {re.escape(str(tmp_path))} \(\[Errno 21\] Is a "
        rf"directory: '.+\.tmp' -> '{path}'\)",
        messages[1],
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_run_that_holds_the_lock_too_long_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_cache, "LOCK_TIMEOUT_SECONDS", 0.05)
    held = filelock.FileLock(tmp_path / LOCK_FILE)
    held.acquire()
    try:
        result: list[BaseException] = []

        def other_thread() -> None:  # filelock's locks are per thread within a process
            try:
                with FileTokenCache(tmp_path).locked():
                    pass
            except UserFacingError as exc:
                result.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    finally:
        held.release()
    assert [str(e) for e in result] == [
        (
            f"Another run has held the token cache lock {tmp_path / LOCK_FILE} for 0s; check for "
            "a stuck run, or set token_cache_dir to a folder of this job's own"
        )
    ]


def test_a_token_that_expired_as_a_new_one_was_issued_is_pruned(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path)
    other = CacheKey.of(URL, "client", "rotated")
    with cache.locked():
        cache.store(OTHER, CachedToken("expired", expires_at=T0, lifetime=3600.0))
        cache.store(other, CachedToken("valid", expires_at=T0 + 1.0, lifetime=3600.0))
        cache.store(KEY, CachedToken("new", expires_at=T0 + 3600.0, lifetime=3600.0))
    later = FileTokenCache(tmp_path)
    with later.locked():
        assert later.load(OTHER) is None
        assert later.load(other) is not None
        assert later.load(KEY) is not None


def test_a_folder_that_cannot_be_made_keeps_tokens_in_this_run_and_says_which_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # root may write anywhere, but not below a file
    cache = FileTokenCache(blocker / "cache")
    token = CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        with cache.locked():
            cache.store(KEY, token)
            cache.record_request(KEY, T0)
        with cache.locked():
            assert cache.load(KEY) == token
            assert cache.request_times(KEY) == [T0]
    assert [r.getMessage() for r in caplog.records] == [
        (
            f"Token cache folder {blocker / 'cache'} is unusable (Not a directory); tokens are not "
            "shared with other runs. Set token_cache_dir to a writable folder"
        )
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_missing_parent_folders_are_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "xdg" / "tap-emarsys-registrations"
    cache = FileTokenCache(folder)
    with cache.locked():
        cache.store(KEY, CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert json.loads((folder / TOKENS_FILE).read_text())["tokens"][KEY.token] == {
        "access_token": "t1",
        "expires_at": T0 + 3600.0,
        "lifetime": 3600.0,
    }


@pytest.mark.parametrize(
    ("mode", "warned"), [(0o777, True), (0o770, True), (0o702, True), (0o755, False)]
)
def test_a_folder_others_may_write_to_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, *, warned: bool
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    with caplog.at_level(logging.WARNING, logger=LOGGER), FileTokenCache(folder).locked():
        pass
    expected = (
        f"Token cache folder {folder} is writable by other users; set token_cache_dir to a "
        "folder only this user can write to"
    )
    assert [r.getMessage() for r in caplog.records] == ([expected] if warned else [])


def test_a_folder_removed_during_a_run_is_warned_about_and_the_token_kept_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "cache"
    cache = FileTokenCache(folder)
    token = CachedToken("t1", expires_at=T0 + 3600.0, lifetime=3600.0)
    with caplog.at_level(logging.WARNING, logger=LOGGER), cache.locked():
        folder.rename(tmp_path / "moved")  # a clean-up job took the folder away
        cache.store(KEY, token)
        cache.record_request(KEY, T0)
        assert cache.load(KEY) == token
        assert cache.request_times(KEY) == [T0]
    pattern = (
        rf"Cannot write the token cache in {re.escape(str(folder))} \(\[Errno 2\] No such file "
        rf"or directory: '{re.escape(str(folder))}/\.(?P<name>[\w.-]+?)\.\w+\.tmp'\)"
    )
    matches = [re.fullmatch(pattern, r.getMessage()) for r in caplog.records]
    assert [m["name"] if m else None for m in matches] == [TOKENS_FILE, REQUESTS_FILE]
    assert sorted(p.name for p in (tmp_path / "moved").iterdir()) == [LOCK_FILE]
