"""The shared token store (token_cache_url) on a real PostgreSQL, with real tap processes.

Each run is a CLI process with a fresh HOME and cache folder, as a container
or pod starts: only the store is shared. The sandbox enforces Emarsys'
token-fetch limits (2 a minute, 10 an hour per client_id).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import requests

from sandbox import Sandbox, SandboxConfig
from tap_emarsys_registrations.clock import Clock
from tap_emarsys_registrations.emarsys import token_store_schema
from tap_emarsys_registrations.emarsys.auth import OAuthClientCredentials
from tap_emarsys_registrations.emarsys.token_cache import CacheKey, FileTokenCache
from tap_emarsys_registrations.emarsys.token_store_pg import PostgresTokenStore, lock_id
from tap_emarsys_registrations.emarsys.token_store_schema import CREATE_SQL, REQUESTS, TOKENS
from tap_emarsys_registrations.settings.cache import parse_token_cache
from tests.cli import REPO, TAP, cli_env
from tests.conftest import tap_config
from tests.meltano_project import readme_fence
from tests.postgres import Postgres, pg_dump

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tap_emarsys_registrations.settings.store_url import StoreURL

# The throwaway cluster trusts every local connection, so any password is accepted: it
# is in the URL only to prove that it never shows.
PASSWORD = "store-pw-41d9b7"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    cluster = Postgres.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def database(pg: Postgres, request: pytest.FixtureRequest) -> str:
    """A database of this test's own, so that each test starts with an empty store."""
    name = re.sub(r"\W", "_", request.node.name.lower())[:50]
    pg.psql(f"DROP DATABASE IF EXISTS {name}")
    pg.psql(f"CREATE DATABASE {name}")
    return name


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(days=1, per_day=10)) as sandbox:
        yield sandbox


def _url(pg: Postgres, database: str, user: str = "postgres") -> str:
    return f"postgresql://{user}:{PASSWORD}@127.0.0.1:{pg.port}/{database}"


def _pod(tmp_path: Path, sb: Sandbox, url: str, name: str, **overrides: Any) -> list[str]:
    """The command and a fresh HOME for one pod: nothing is shared but the store."""
    home = tmp_path / name
    home.mkdir()
    end = sb.config.start + dt.timedelta(hours=6)
    config = tap_config(sb, end_date=end.isoformat(), window_hours=6, token_cache_url=url)
    (home / "config.json").write_text(json.dumps(config | overrides), encoding="utf-8")
    return [*TAP, "--config", str(home / "config.json")]


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    home = tmp_path / name
    return cli_env(debug=True) | {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}


def _run(tmp_path: Path, sb: Sandbox, url: str, name: str) -> subprocess.CompletedProcess[str]:
    command = _pod(tmp_path, sb, url, name)
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(tmp_path, name),
        timeout=120,
        check=False,
    )


def _token_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if "OAuth token reused" in ln or "fetched (" in ln]
    assert len(lines) == 1, stderr
    return lines[0]


def _store(url: str, secret: str, tmp_path: Path) -> PostgresTokenStore:
    parsed: StoreURL | None = parse_token_cache({"token_cache_url": url}).url
    assert parsed is not None
    return PostgresTokenStore(parsed, secret, FileTokenCache(tmp_path / "unused"))


def test_six_ephemeral_runs_one_after_another_fetch_one_token(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    url = _url(pg, database)
    masked = f"postgresql://postgres:***@127.0.0.1:{pg.port}/{database}"
    lines = []
    for number in range(6):
        result = _run(tmp_path, sb, url, f"pod{number}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert PASSWORD not in result.stderr + result.stdout
        assert sb.config.client_secret not in result.stderr
        lines.append(_token_line(result.stderr))
    assert len(sb.token_requests) == 1
    assert "OAuth token fetched (1 of 10 token requests this hour" in lines[0]
    for line in lines[1:]:
        assert f"OAuth token reused from {masked} (valid 59 more minutes)" in line


def test_four_ephemeral_runs_at_once_fetch_one_token(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    url = _url(pg, database)
    processes = [
        subprocess.Popen(
            _pod(tmp_path, sb, url, f"pod{n}"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=_env(tmp_path, f"pod{n}"),
        )
        for n in range(4)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    for process in processes:
        if process.stderr:
            process.stderr.close()
    for code, stderr in outcomes:
        assert code == 0, stderr[-2000:]
    assert len(sb.token_requests) == 1
    lines = [_token_line(stderr) for _, stderr in outcomes]
    assert sum("OAuth token fetched" in line for line in lines) == 1
    assert sum("OAuth token reused from postgresql://" in line for line in lines) == 3


def test_a_dump_of_the_store_holds_no_usable_token(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    url = _url(pg, database)
    assert _run(tmp_path, sb, url, "pod").returncode == 0
    key = CacheKey.of(sb.token_url, sb.config.client_id, sb.config.client_secret)
    # Opened with the client secret, the stored token is the one Emarsys accepts.
    store = _store(url, sb.config.client_secret, tmp_path)
    with store.locked(key):
        token = store.load(key)
    assert token is not None
    answer = requests.get(
        f"{sb.api_url}/v3/field/translate/en",
        headers={"Authorization": f"Bearer {token.access_token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    dump = pg_dump(pg.port, database)
    assert TOKENS in dump
    assert token.access_token not in dump
    assert sb.config.client_secret not in dump
    # With another secret, the row does not open.
    other = _store(url, "another-secret", tmp_path)
    with other.locked(key):
        assert other.load(key) is None


def test_a_budget_spent_by_other_pods_is_seen_by_a_fresh_pod(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    url = _url(pg, database)
    key = CacheKey.of(sb.token_url, sb.config.client_id, sb.config.client_secret)
    # Ten other pods fetched a token in the last hour, and none of their tokens is left.
    store = _store(url, sb.config.client_secret, tmp_path)
    now = time.time()
    with store.locked(key):
        for minute in range(10):
            store.record_request(key, now - 3000 + minute * 60)
    result = _run(tmp_path, sb, url, "fresh-pod")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "10 token requests for this client_id were already sent in the last hour" in (
        result.stderr
    )
    assert sb.token_requests == []


def test_newer_tables_are_left_alone_and_the_run_uses_the_file_cache(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    url = _url(pg, database)
    assert _run(tmp_path, sb, url, "pod1").returncode == 0
    with psycopg.connect(url.replace(PASSWORD, ""), autocommit=True) as conn:
        conn.execute(
            f"COMMENT ON TABLE {TOKENS} IS 'tap-emarsys-registrations token store, format 2'"
        )
    result = _run(tmp_path, sb, url, "pod2")
    assert result.returncode == 0
    warning = [ln for ln in result.stderr.splitlines() if "The token store token_cache_url" in ln]
    assert len(warning) == 1
    assert "format 2, written by a newer release of the tap" in warning[0]
    assert "OAuth token fetched" in _token_line(result.stderr)


def test_readme_sql_creates_the_tables_and_a_least_privileged_user_works(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    # As the README's DBA: create the tables, the tap's user, and grant it DML only.
    script = readme_fence("token-store-dba-sql", "sql").replace("tap_password", PASSWORD)
    assert CREATE_SQL in script  # the README shows the tables the tap would create
    with psycopg.connect(_url(pg, database).replace(PASSWORD, ""), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS tap_emarsys")
        conn.execute(script.encode())
        privileges = conn.execute(
            "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants WHERE grantee = 'tap_emarsys' "
            "GROUP BY table_name ORDER BY table_name"
        ).fetchall()
        creatable = conn.execute(
            "SELECT has_schema_privilege('tap_emarsys', 'public', 'CREATE')"
        ).fetchone()
    assert privileges == [
        (REQUESTS, "DELETE,INSERT,SELECT,UPDATE"),
        (TOKENS, "DELETE,INSERT,SELECT,UPDATE"),
    ]
    assert creatable == (False,)
    url = _url(pg, database, user="tap_emarsys")
    first = _run(tmp_path, sb, url, "pod1")
    second = _run(tmp_path, sb, url, "pod2")
    for result in (first, second):
        assert result.returncode == 0, result.stderr[-2000:]
        assert "The token store token_cache_url" not in result.stderr  # no fallback
    assert "OAuth token reused from postgresql://tap_emarsys:***@" in _token_line(second.stderr)
    assert len(sb.token_requests) == 1


def test_a_malformed_url_is_one_line_and_exit_1(sb: Sandbox, tmp_path: Path) -> None:
    url = f"postgresql://tap:{PASSWORD}@db:54x2/meltano"
    result = _run(tmp_path, sb, url, "pod")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if "Invalid setting 'token_cache_url" in ln]
    assert len(errors) == 1
    assert "port (value not shown) is not a number" in errors[0]
    assert PASSWORD not in result.stderr
    assert sb.requests == []


def test_the_lock_is_free_while_a_run_waits_for_the_ledger(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    url = _url(pg, database)
    key = CacheKey.of(sb.token_url, sb.config.client_id, sb.config.client_secret)
    now = time.time()
    store = _store(url, sb.config.client_secret, tmp_path)
    with store.locked(key):  # two requests in the last minute: the next one has to wait
        store.record_request(key, now - 30)
        store.record_request(key, now - 20)
    free_while_waiting: list[bool] = []

    def sleep(seconds: float) -> None:
        assert seconds > 0
        with psycopg.connect(url, autocommit=True) as other:  # another pod
            row = other.execute("SELECT pg_try_advisory_lock(%s)", (lock_id(key),)).fetchone()
            free_while_waiting.append(row == (True,))
            other.execute("SELECT pg_advisory_unlock_all()")

    clock = Clock(time=time.time, monotonic=time.monotonic, sleep=sleep)
    auth = OAuthClientCredentials(
        token_url=sb.token_url,
        client_id=sb.config.client_id,
        client_secret=sb.config.client_secret,
        session=requests.Session(),
        clock=clock,
        cache=_store(url, sb.config.client_secret, tmp_path),
    )
    try:
        assert auth.token()
    finally:
        auth.close()
    assert free_while_waiting == [True]
    assert len(sb.token_requests) == 1


def test_a_login_the_store_refuses_warns_once_and_the_run_succeeds(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path
) -> None:
    url = _url(pg, database, user="nobody")  # no such role: the login fails
    result = _run(tmp_path, sb, url, "pod")
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [ln for ln in result.stderr.splitlines() if "The token store token_cache_url" in ln]
    assert len(warnings) == 1
    assert f"postgresql://nobody:***@127.0.0.1:{pg.port}/{database}" in warnings[0]
    assert '"nobody" does not exist' in warnings[0]
    assert PASSWORD not in result.stderr
    assert "OAuth token fetched" in _token_line(result.stderr)


def test_older_tables_are_migrated_to_the_format_this_release_reads(
    pg: Postgres, database: str, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _url(pg, database)
    assert _run(tmp_path, sb, url, "pod1").returncode == 0  # format 1 tables, one token
    # A later release: format 2 adds a column.
    monkeypatch.setattr(token_store_schema, "FORMAT_VERSION", 2)
    monkeypatch.setattr(
        token_store_schema, "MIGRATIONS", {2: (f"ALTER TABLE {TOKENS} ADD COLUMN note text",)}
    )
    with psycopg.connect(url, autocommit=False) as conn:
        token_store_schema.prepare(conn)
        conn.commit()
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            (TOKENS,),
        ).fetchall()
        comment = conn.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')", (TOKENS,)
        ).fetchone()
    assert ("note",) in columns
    assert comment == ("tap-emarsys-registrations token store, format 2",)
