"""A real Meltano project: install the tap from this checkout, run it into real loaders.

Loaders: target-jsonl, target-duckdb (pinned with duckdb 1.2.2, as scripts/demo.sh uses
it), and meltanolabs-target-postgres into a throwaway PostgreSQL cluster (upserts on
key properties). tests/test_targets.py covers the targets' values without Meltano.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from sandbox import Sandbox, SandboxConfig
from tests.conftest import UTC, VIENNA, shared_token_cache
from tests.postgres import Postgres

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[1]
MELTANO = Path(os.environ.get("MELTANO_BIN", REPO / ".venv-meltano" / "bin" / "meltano"))
START = dt.datetime(2024, 3, 29, tzinfo=UTC)
STATE_ID = "sandbox:tap-emarsys-registrations-to-target-postgres"

# meltano install runs within 600 s
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


class Project:
    """A Meltano project in a temporary folder, pointed at a sandbox and a database."""

    def __init__(self, root: Path, sb: Sandbox, pg: Postgres) -> None:
        self.root, self.sb, self.pg = root, sb, pg
        definition = yaml.safe_load((REPO / "meltano.yml").read_text())
        for plugins in definition["plugins"].values():
            for plugin in plugins:
                plugin["pip_url"] = plugin["pip_url"].replace(
                    "constraints/", f"{REPO}/constraints/"
                )
                plugin["pip_url"] = plugin["pip_url"].replace("-e .", f"-e {REPO}")
        (root / "meltano.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
        self.env = {
            **os.environ,
            "MELTANO_ENVIRONMENT": "sandbox",
            "TAP_EMARSYS_REGISTRATIONS_API_URL": sb.api_url,
            "TAP_EMARSYS_REGISTRATIONS_TOKEN_URL": sb.token_url,
            "TAP_EMARSYS_REGISTRATIONS_CLIENT_SECRET": sb.config.client_secret,
            "TAP_EMARSYS_REGISTRATIONS_POLL_INTERVAL_SECONDS": "1",
            "TAP_EMARSYS_REGISTRATIONS_END_DATE": (START + dt.timedelta(days=2)).isoformat(),
            "TARGET_POSTGRES_PORT": str(pg.port),
            "TARGET_POSTGRES_PASSWORD": "unused",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    def meltano(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(MELTANO), *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, (
            f"meltano {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def db_keys(self) -> list[tuple[int, str]]:
        rows = self.pg.psql("select user_id, registered_at from emarsys.registrations")
        return sorted(
            (int(u), dt.datetime.fromisoformat(r).astimezone(UTC).isoformat()) for u, r in rows
        )


def truth(sb: Sandbox, end: dt.datetime) -> list[tuple[int, str]]:
    return sorted(
        (r.user_id, r.local_time.replace(tzinfo=VIENNA, fold=0).astimezone(UTC).isoformat())
        for r in sb.truth(START, end)
    )


@pytest.fixture(scope="module", autouse=True)
def token_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's tests share one sandbox, so they share one token cache too."""
    yield from shared_token_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    pg = Postgres.start()
    try:
        with Sandbox(SandboxConfig(start=START, days=4, per_day=30)) as sb:
            project = Project(tmp_path_factory.mktemp("meltano"), sb, pg)
            project.meltano("install")
            yield project
    finally:
        pg.stop()


def _posted_windows(sb: Sandbox) -> list[str]:
    return [
        str(e.json_body["time_range"][0])  # type: ignore[index]
        for e in sb.requests
        if e.method == "POST" and e.path.endswith("contact/getregistrations")
    ]


def test_settings_and_selection_are_visible_to_meltano(project: Project) -> None:
    listed = project.meltano("config", "list", "--all", "tap-emarsys-registrations").stdout
    tap_settings = yaml.safe_load((REPO / "meltano.yml").read_text())["plugins"]["extractors"][0][
        "settings"
    ]
    for setting in tap_settings:
        assert setting["name"] in listed
    selection = project.meltano("select", "tap-emarsys-registrations", "--list", "--all").stdout
    for prop in ("registrations.email", "registrations.loyalty_points", "registrations.field_5003"):
        assert prop in selection
    assert "registrations.field_27" not in selection
    assert "average_visit_duration" not in selection


def test_meltano_test_checks_the_connection_without_an_export(project: Project) -> None:
    project.sb.clear_requests()
    result = project.meltano("test", "tap-emarsys-registrations")
    assert "Connection test passed" in result.stdout + result.stderr
    assert not [
        e
        for e in project.sb.requests
        if e.path.endswith("/contact/getregistrations") and e.status == 200
    ]


def test_incremental_runs_into_postgres_load_exactly_the_truth(project: Project) -> None:
    sb = project.sb
    sb.clear_requests()
    project.meltano("run", "tap-emarsys-registrations", "target-postgres")
    first_end = START + dt.timedelta(days=2)
    assert project.db_keys() == truth(sb, first_end)
    assert len(_posted_windows(sb)) == 2

    state = json.loads(project.meltano("state", "get", STATE_ID).stdout.strip().splitlines()[-1])
    bookmark = state["singer_state"]["bookmarks"]["registrations"]["replication_key_value"]
    assert bookmark == first_end.isoformat()

    sb.clear_requests()
    later = START + dt.timedelta(days=4)
    project.meltano(
        "run",
        "tap-emarsys-registrations",
        "target-postgres",
        env={"TAP_EMARSYS_REGISTRATIONS_END_DATE": later.isoformat()},
    )
    new_windows = _posted_windows(sb)
    assert len(new_windows) == 2
    assert all(w >= "2024-03-30 23:59:59" for w in new_windows), new_windows
    keys = project.db_keys()
    assert keys == truth(sb, later)
    assert len(keys) == len(set(keys)), "no duplicate keys"

    sb.clear_requests()
    project.meltano(
        "run",
        "--full-refresh",
        "tap-emarsys-registrations",
        "target-postgres",
        env={"TAP_EMARSYS_REGISTRATIONS_END_DATE": later.isoformat()},
    )
    assert len(_posted_windows(sb)) == 4, "a full refresh exports every window again"
    assert project.db_keys() == truth(sb, later)


def test_run_into_target_jsonl(project: Project) -> None:
    project.meltano("run", "tap-emarsys-registrations", "target-jsonl")
    lines = (project.root / "output" / "registrations.jsonl").read_text().splitlines()
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]
    keys = sorted((r["user_id"], r["registered_at"]) for r in records)
    assert keys == truth(project.sb, START + dt.timedelta(days=2))
    assert {"email", "loyalty_points", "window_start"} <= set(records[0])


def test_run_into_target_duckdb_twice_adds_nothing_the_second_time(project: Project) -> None:
    """The demo's loader and summary: the table equals the truth, and a rerun adds nothing."""
    python = project.root / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
    database = project.root / "output" / "registrations.duckdb"
    database.parent.mkdir(exist_ok=True)  # target-duckdb does not create the folder
    end = START + dt.timedelta(days=2)
    url = (
        f"{project.sb.base_url}/_sandbox/truth?start={START:%Y-%m-%dT%H:%M:%SZ}"
        f"&end={end:%Y-%m-%dT%H:%M:%SZ}&fields=1"
    )
    script = [str(python), str(REPO / "scripts" / "duckdb_summary.py")]
    summaries = []
    for _ in range(2):
        before = subprocess.run(
            [*script, "--count", str(database), "emarsys"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        project.meltano("run", "tap-emarsys-registrations", "target-duckdb")
        summary = subprocess.run(
            [*script, str(database), "emarsys", url, "--before", before],
            capture_output=True,
            text=True,
            check=False,
        )
        assert summary.returncode == 0, summary.stdout + summary.stderr
        summaries.append(summary.stdout)
    rows = len(truth(project.sb, end))
    assert f"{rows} (before this run: 0, added {rows})" in summaries[0]
    assert f"{rows} (before this run: {rows}, added 0)" in summaries[1]
    assert "The table equals the sandbox truth." in summaries[1]
