"""The public CI workflows, which cannot run here: GitHub's schema, zizmor, and their shape."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.distribution import pyproject

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
ZIZMOR = Path(sys.executable).parent / "zizmor"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _workflow(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--no-progress", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _steps(data: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in data["jobs"].values() for step in job["steps"]]


def test_workflows_are_the_expected_files() -> None:
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == ["release.yml", "test.yml"]


def _check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


# GitHub's workflow schema, and check-jsonschema's rule that every job has a timeout.
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_workflows_pass_the_workflow_schemas(schema: str) -> None:
    result = _check_jsonschema(schema, *sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_dependabot_config_passes_its_schema_and_updates_the_actions() -> None:
    path = ROOT / ".github" / "dependabot.yml"
    result = _check_jsonschema("vendor.dependabot", path)
    assert result.returncode == 0, result.stdout + result.stderr
    ecosystems = [u["package-ecosystem"] for u in yaml.safe_load(path.read_text())["updates"]]
    assert ecosystems == ["github-actions"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_job_without_a_timeout_is_refused(tmp_path: Path) -> None:
    data = _workflow("release.yml")
    del data["jobs"]["publish"]["timeout-minutes"]
    bad = tmp_path / "release.yml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    result = _check_jsonschema("custom.github-workflows-require-timeout", bad)
    assert result.returncode == 1, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_zizmor_finds_nothing() -> None:
    result = _zizmor(ROOT / ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_zizmor_flags_an_unpinned_action_and_an_injected_expression(tmp_path: Path) -> None:
    data = _workflow("test.yml")
    steps = data["jobs"]["test"]["steps"]
    steps[0]["uses"] = "actions/checkout@v4"
    steps.append({"run": "echo ${{ github.event.pull_request.title }}"})
    bad = tmp_path / ".github" / "workflows" / "test.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    result = _zizmor(bad)
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout
    assert "template-injection" in result.stdout


@pytest.mark.parametrize("name", ["test.yml", "release.yml"])
def test_every_action_is_pinned_by_commit(name: str) -> None:
    uses = [step["uses"] for step in _steps(_workflow(name)) if "uses" in step]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []
    text = (WORKFLOWS / name).read_text()
    assert text.count("@") == text.count(" # v") == len(uses)  # each pin names its release


def test_the_test_workflow_runs_the_suite_on_every_supported_python() -> None:
    data = _workflow("test.yml")
    assert data["permissions"] == {"contents": "read"}
    job = data["jobs"]["test"]
    classifiers = [
        c.rsplit(" :: ", 1)[1]
        for c in pyproject()["project"]["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    ]
    assert job["strategy"]["matrix"]["python-version"] == classifiers == ["3.11", "3.12", "3.13"]
    assert [s["run"] for s in job["steps"] if "run" in s] == ["scripts/test.sh -q"]
    assert "pull_request" in data["on"]
    assert "push" in data["on"]


def test_the_release_publishes_on_a_version_tag_with_trusted_publishing() -> None:
    data = _workflow("release.yml")
    assert data["on"] == {"push": {"tags": ["v*"]}}
    assert data["permissions"] == {}
    build, publish = data["jobs"]["build"], data["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["needs"] == ["build"]
    assert publish["environment"]["name"] == "pypi"
    runs = " ".join(s.get("run", "") for s in build["steps"])
    assert "python -m build --no-isolation" in runs
    assert "twine check --strict" in runs
    assert "tests/test_distribution.py tests/test_user_install.py" in runs
    assert [s["uses"].split("@")[0] for s in publish["steps"]] == [
        "actions/download-artifact",
        "pypa/gh-action-pypi-publish",
    ]
    # Trusted publishing: no password or token is handed to the publish step.
    assert "with" not in publish["steps"][1]
    assert "secrets." not in (WORKFLOWS / "release.yml").read_text()
