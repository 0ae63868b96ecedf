"""The built wheel installed as a user would: a fresh venv, runtime pins, no checkout on the path.

Every tap process of a test runs with one environment (its own HOME and XDG_CACHE_HOME,
so a token cached by one run is the one the next run finds) against a fresh sandbox.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import venv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from packaging.utils import canonicalize_name

from tests.conftest import expected_keys, tap_config
from tests.distribution import ROOT, build, pyproject, requirement_key, source_version
from tests.postgres import Postgres

if TYPE_CHECKING:
    from sandbox import Sandbox

# pip installs the wheel, within 600 s a step
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

# Run inside the user's venv: every installed distribution must be reachable from the
# tap's own requirements (markers evaluated there), so nothing else came along.
UNREACHED = """
import importlib.metadata as md, json
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canon
dists = {canon(d.metadata["Name"]): d for d in md.distributions()}
seen, todo = set(), [("tap-emarsys-registrations", frozenset())]
while todo:
    name, extras = todo.pop()
    if (name, extras) in seen or name not in dists:
        continue
    seen.add((name, extras))
    for text in dists[name].requires or []:
        req = Requirement(text)
        envs = [{"extra": e} for e in extras] or [{"extra": ""}]
        if req.marker is None or any(req.marker.evaluate(e) for e in envs):
            todo.append((canon(req.name), frozenset(req.extras)))
print(json.dumps(sorted(set(dists) - {n for n, _ in seen})))
"""
SEEDED = {"pip", "setuptools", "wheel"}  # what `python -m venv` puts in every venv


@dataclass(frozen=True)
class UserVenv:
    """A venv that holds the built wheel and its runtime dependencies."""

    path: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def tap(self) -> Path:
        return self.path / "bin" / "tap-emarsys-registrations"


def _clean_env() -> dict[str, str]:
    """This process's environment without anything that points Python at other packages."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}


def _run(args: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("env", _clean_env())
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, timeout=600, **kwargs
    )


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> UserVenv:
    dist = build(tmp_path_factory.mktemp("dist"))
    path = tmp_path_factory.mktemp("user") / "venv"
    venv.EnvBuilder(with_pip=True).create(path)
    installed = _run(
        [
            path / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-c",
            ROOT / "constraints" / "runtime.txt",
            dist.wheel,
        ],
        cwd=path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return UserVenv(path, dist.wheel)


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """The environment of every tap process in one test: nothing points at the checkout."""
    env = _clean_env() | {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    (tmp_path / "home").mkdir()
    return env


def test_the_wheel_is_installed_with_the_runtime_pins_only(user_venv: UserVenv) -> None:
    check = _run([user_venv.python, "-m", "pip", "check"])
    assert check.returncode == 0, check.stdout + check.stderr
    listed = _run([user_venv.python, "-m", "pip", "list", "--format=json"])
    installed = {canonicalize_name(d["name"]): d for d in json.loads(listed.stdout)}
    tap = installed.pop(canonicalize_name("tap-emarsys-registrations"))
    assert tap["version"] == source_version()
    assert "editable_project_location" not in tap
    pins = {}
    for line in (ROOT / "constraints" / "runtime.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    got = {name: d["version"] for name, d in installed.items() if name not in SEEDED}
    # Each installed distribution at its pinned version. Some pins serve older Pythons
    # only (importlib-metadata, zipp below 3.12), so the pins may name more than this has.
    assert got.items() <= pins.items(), set(got.items()) - set(pins.items())
    declared = {requirement_key(r)[0] for r in pyproject()["project"]["dependencies"]}
    assert declared <= got.keys()
    assert "backoff" not in got
    unreached = _run([user_venv.python, "-c", UNREACHED], cwd=user_venv.path)
    assert unreached.returncode == 0, unreached.stderr
    assert set(json.loads(unreached.stdout)) <= SEEDED


def test_the_package_is_imported_from_the_venv_not_the_checkout(
    user_venv: UserVenv, user_env: dict[str, str], tmp_path: Path
) -> None:
    where = _run(
        [user_venv.python, "-c", "import tap_emarsys_registrations as t; print(t.__file__)"],
        env=user_env,
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(user_venv.path)
    sandbox = _run([user_venv.python, "-c", "import sandbox"], env=user_env, cwd=tmp_path)
    assert sandbox.returncode != 0
    assert "No module named 'sandbox'" in sandbox.stderr


def test_about_agrees_with_the_source_version_and_plugin_definition(
    user_venv: UserVenv, user_env: dict[str, str], tmp_path: Path
) -> None:
    about = _run([user_venv.tap, "--about", "--format=json"], env=user_env, cwd=tmp_path)
    assert about.returncode == 0, about.stderr
    info = json.loads(about.stdout)
    definition = yaml.safe_load((ROOT / "plugin.yml").read_text())
    assert info["name"] == pyproject()["project"]["name"] == definition["name"]
    assert info["version"] == source_version()
    assert info["supported_python_versions"] == definition["supported_python_versions"]
    assert sorted(info["capabilities"]) == definition["capabilities"]
    version = _run([user_venv.tap, "--version"], env=user_env, cwd=tmp_path)
    assert f"v{source_version()}," in version.stdout


def test_discover_and_sync_from_the_user_install_give_the_sandbox_truth(
    user_venv: UserVenv, user_env: dict[str, str], tmp_path: Path, sandbox: Sandbox
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(sandbox, window_hours=24)))
    discovered = _run([user_venv.tap, "--config", config, "--discover"], env=user_env, cwd=tmp_path)
    assert discovered.returncode == 0, discovered.stderr
    catalog = json.loads(discovered.stdout)
    assert [s["tap_stream_id"] for s in catalog["streams"]] == ["registrations"]

    synced = _run([user_venv.tap, "--config", config], env=user_env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    messages = [json.loads(ln, parse_float=Decimal) for ln in synced.stdout.splitlines() if ln]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    start = sandbox.config.start
    end = start + dt.timedelta(days=sandbox.config.days)
    keys = sorted((r["user_id"], r["registered_at"]) for r in records)
    assert keys == expected_keys(sandbox, start, end)
    assert len(keys) > 0
    bookmark = states[-1]["bookmarks"]["registrations"]["replication_key_value"]
    assert bookmark == end.isoformat()
    assert sandbox.config.client_secret not in synced.stdout + synced.stderr


def test_the_token_store_without_the_postgres_extra_says_how_to_install_it(
    user_venv: UserVenv, user_env: dict[str, str], tmp_path: Path, sandbox: Sandbox
) -> None:
    password = "store-pw-0a9e"
    config = tmp_path / "config.json"
    url = f"postgresql://tap:{password}@127.0.0.1:5432/meltano"
    config.write_text(json.dumps(tap_config(sandbox, token_cache_url=url)))
    sandbox.clear_requests()
    result = _run([user_venv.tap, "--config", config], env=user_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if "Invalid setting 'token_cache_url'" in ln]
    assert len(errors) == 1, result.stderr
    assert "pip install 'tap-emarsys-registrations[postgres]'" in errors[0]
    assert password not in result.stderr
    assert sandbox.requests == []


def test_the_postgres_extra_installed_as_readme_says_shares_one_token_between_fresh_homes(
    user_venv: UserVenv, tmp_path: Path, sandbox: Sandbox
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install 'tap-emarsys-registrations[postgres]'" in readme
    path = tmp_path / "venv"  # a venv of its own: the one above must hold the runtime only
    venv.EnvBuilder(with_pip=True).create(path)
    pip: list[str | Path] = [path / "bin" / "python", "-m", "pip", "install"]
    constraints = ROOT / "constraints" / "runtime.txt"
    installed = _run([*pip, "-c", constraints, f"{user_venv.wheel}[postgres]"], cwd=path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    cluster = Postgres.start()
    try:
        url = f"postgresql://postgres:pw-7c1e@127.0.0.1:{cluster.port}/postgres"
        config = tmp_path / "config.json"
        config.write_text(json.dumps(tap_config(sandbox, window_hours=24, token_cache_url=url)))
        sandbox.clear_requests()
        runs = []
        for pod in ("pod-1", "pod-2"):  # fresh homes: only the store is shared
            home = tmp_path / pod
            home.mkdir()
            env = _clean_env() | {"HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}
            runs.append(
                _run(
                    [path / "bin" / "tap-emarsys-registrations", "--config", config],
                    env=env,
                    cwd=home,
                )
            )
        stored = cluster.psql("SELECT count(*) FROM tap_emarsys_registrations_tokens")
    finally:
        cluster.stop()
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert len(sandbox.token_requests) == 1
    assert stored == [["1"]]
    assert all("pw-7c1e" not in r.stdout + r.stderr for r in runs)
