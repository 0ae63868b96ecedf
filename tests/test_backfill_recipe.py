"""README "Backfilling": 4 partitions at once, as the recipe says, into target-postgres.

The project is made as README's Meltano walkthrough makes it (the built wheel with the
``postgres`` extra as ``pip_url``), with README's copyable target-postgres definition.
Then README's two blocks run as written, through bash: the first window alone creates the
table, and 4 partitions start at once, each in its own copy of the installed project with
a fresh HOME, sharing ``token_cache_url`` and a file state backend. In the installed
project, README's one-job block runs too, and then a selection that lost ``first_name``
is refused by the tap's column guard and accepted with README's accept block.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
import yaml

from sandbox import Sandbox, SandboxConfig
from tests.conftest import UTC, VIENNA
from tests.distribution import build
from tests.meltano_project import MELTANO, REPO, commands, meltano, readme_fence
from tests.postgres import Postgres
from tests.readme_blocks import readme_block

if TYPE_CHECKING:
    from pathlib import Path

START = dt.datetime(2024, 3, 29, tzinfo=UTC)
DAYS = 4
PLUGIN = "tap-emarsys-registrations"
RUN = ["meltano", "run", PLUGIN, "target-postgres"]

# meltano install, the build, and 4 parallel runs within 600 s each
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def _day(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()


def _project(root: Path, wheel: Path, env: dict[str, str], sb: Sandbox) -> Path:
    meltano(root, ["meltano", "init", "project", "--no-usage-stats"], env)
    project = root / "project"
    shutil.copy(REPO / "plugin.yml", project / "plugin.yml")
    add, configure = readme_block("meltano-add"), readme_block("meltano-configure")
    for words in commands(add):
        meltano(project, words, env)
    definition = yaml.safe_load((project / "meltano.yml").read_text())
    definition["plugins"]["extractors"][0]["pip_url"] = (
        f"-c {REPO}/constraints/runtime.txt {wheel}[postgres]"
    )
    (loader,) = yaml.safe_load(readme_fence("meltano-loader-postgres", "yaml"))
    definition["plugins"]["loaders"] = [loader]
    (project / "meltano.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    placeholders = {
        "YOUR_CLIENT_ID": sb.config.client_id,
        "YOUR_CLIENT_SECRET": sb.config.client_secret,
    }
    for words in commands(configure):
        meltano(project, [placeholders.get(w, w) for w in words], env)
    meltano(project, ["meltano", "install", "--plugin-type", "loader", "target-postgres"], env)
    return project


def _date(n: int) -> str:
    return (START + dt.timedelta(days=n)).date().isoformat()


def _partition_env(base: dict[str, str], home: Path, day: int) -> dict[str, str]:
    """A fresh HOME, and the partition's START and END that README's block reads."""
    home.mkdir()
    return base | {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "START": _date(day),
        "END": _date(day + 1),
        "PATH": f"{MELTANO.parent}{os.pathsep}{base['PATH']}",
    }


def _bash(script: str) -> list[str]:
    return ["bash", "-euo", "pipefail", "-c", script]


def _sh(project: Path, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _bash(script),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _one_job_then_a_lost_column(
    project: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], ...]:
    """README's one-job backfill; then a selection that lost first_name, refused and accepted."""
    one_job = _sh(project, readme_block("backfill-one-job"), env)
    assert one_job.returncode == 0, one_job.stdout + one_job.stderr
    meltano(project, ["meltano", "select", PLUGIN, "--rm", "registrations", "first_name"], env)
    refused = _sh(project, shlex.join(RUN), env)
    accepted = _sh(project, readme_block("accept-fewer-columns"), env)
    after = _sh(project, shlex.join(RUN), env)
    return refused, accepted, after


def _assert_refused_then_accepted(
    refused: subprocess.CompletedProcess[str],
    accepted: subprocess.CompletedProcess[str],
    after: subprocess.CompletedProcess[str],
) -> None:
    assert refused.returncode != 0
    assert "first_name (field 1): deselected" in refused.stdout + refused.stderr
    for result in (accepted, after):
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Column accepted as dropped: first_name (field 1): deselected" in (
        accepted.stdout + accepted.stderr
    )


def test_four_partitions_at_once_load_the_truth_with_one_token(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    wheel = build(tmp_path_factory.mktemp("dist")).wheel
    root = tmp_path_factory.mktemp("backfill")
    pg = Postgres.start()
    try:
        config = SandboxConfig(start=START, days=DAYS, per_day=25, export_delay_seconds=1)
        with Sandbox(config) as sb:
            base = {
                **os.environ,
                "HOME": str(root / "setup-home"),
                "XDG_CACHE_HOME": str(root / "setup-home" / ".cache"),
                "TAP_EMARSYS_REGISTRATIONS_API_URL": sb.api_url,
                "TAP_EMARSYS_REGISTRATIONS_TOKEN_URL": sb.token_url,
                "TAP_EMARSYS_REGISTRATIONS_POLL_INTERVAL_SECONDS": "1",
                "TAP_EMARSYS_REGISTRATIONS_END_DATE": _day(1),
                "TARGET_POSTGRES_PORT": str(pg.port),
                "TARGET_POSTGRES_PASSWORD": "unused-by-trust-auth",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            }
            project = _project(root, wheel, base, sb)
            shared = base | {
                "TAP_EMARSYS_REGISTRATIONS_TOKEN_CACHE_URL": (
                    f"postgresql://postgres:pw@127.0.0.1:{pg.port}/postgres"
                ),
                "MELTANO_STATE_BACKEND_URI": f"file://{root / 'state'}",
            }
            copies = []
            for n in range(DAYS):
                copy = root / f"part{n}"
                shutil.copytree(project, copy, symlinks=True)
                copies.append(copy)
            sb.clear_requests()
            # README: once, alone, the first window of the first partition (its dates
            # are the sandbox's here).
            first_window = (
                readme_block("backfill-first-window")
                .replace("2023-01-01", _date(0))
                .replace("2023-01-02", _date(1))
            )
            prepare = _sh(copies[0], first_window, _partition_env(shared, root / "prepare", 0))
            assert prepare.returncode == 0, prepare.stdout + prepare.stderr
            created = pg.psql("select count(*) from emarsys.registrations")
            # README: then every partition at once, each in its own project copy.
            partition = readme_block("backfill-partition")
            processes = [
                subprocess.Popen(
                    _bash(partition),
                    cwd=copy,
                    env=_partition_env(shared, root / f"home{n}", n),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for n, copy in enumerate(copies)
            ]
            outcomes = [p.communicate(timeout=600) for p in processes]
            truth = sorted(
                (
                    r.user_id,
                    r.local_time.replace(tzinfo=VIENNA, fold=0).astimezone(UTC).isoformat(),
                )
                for r in sb.truth(START, START + dt.timedelta(days=DAYS))
            )
            token_requests = len(sb.token_requests)
            exports = [
                e for e in sb.requests if e.method == "POST" and e.path.endswith("getregistrations")
            ]
            # README: MELTANO_SYS_DIR_ROOT moves the whole .meltano folder. A partition run
            # in the installed project with a new system folder installs the plugins there
            # again (Meltano's auto_install), and keeps its catalog and database there.
            sys_dir = root / "sys-part3"
            moved = _partition_env(shared, root / "sys-home", DAYS - 1)
            moved["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
            shutil.rmtree(project / ".meltano" / "run")  # the walkthrough's catalog
            meltano(project, [*RUN[:2], f"--state-id-suffix={_date(DAYS - 1)}", *RUN[2:]], moved)
            project_run_dir_used = (project / ".meltano" / "run").exists()
            guard = _one_job_then_a_lost_column(project, base | {"PATH": moved["PATH"]})
        rows = pg.psql("select user_id, registered_at, email from emarsys.registrations")
        columns = pg.psql(
            "select column_name from information_schema.columns "
            "where table_schema = 'emarsys' and table_name = 'registrations'"
        )
    finally:
        pg.stop()
    for process, (output, _) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, output[-3000:]
    assert int(created[0][0]) > 0
    assert token_requests == 1
    # The prepare run's window was not exported again: its partition resumed after it.
    assert len(exports) == DAYS + 1 - 1
    loaded = sorted(
        (int(u), dt.datetime.fromisoformat(r).astimezone(UTC).isoformat()) for u, r, _ in rows
    )
    assert loaded == truth
    assert len(truth) >= DAYS * 25  # with the edge cases the sandbox adds
    assert {"email", "first_name"} <= {c[0] for c in columns}
    assert "last_name" not in {c[0] for c in columns}  # the README's selection held
    for moved_path in (
        f"extractors/{PLUGIN}/venv",
        "loaders/target-postgres/venv",
        f"run/{PLUGIN}/tap.properties.json",
        "meltano.db",
    ):
        assert (sys_dir / moved_path).exists(), moved_path
    assert not project_run_dir_used  # the project's own folder was not used
    _assert_refused_then_accepted(*guard)
