"""The sdist and the wheel: they pass twine's checks and hold what pyproject.toml promises."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.distribution import (
    PACKAGE,
    ROOT,
    Dist,
    build,
    pyproject,
    requirement_key,
    sdist_file,
    sdist_names,
    source_version,
    wheel_file,
    wheel_metadata,
)

if TYPE_CHECKING:
    from email.message import Message
    from pathlib import Path

# Never shipped to users: the tests, the Emarsys stand-in, the benchmark and the tools.
DEVELOPMENT_ONLY = ("tests/", "sandbox/", "benchmarks/", "scripts/", ".ci/", ".github/")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    return build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def metadata(dist: Dist) -> Message:
    return wheel_metadata(dist.wheel)


def _package_sources() -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / PACKAGE).rglob("*") if p.is_file()} - {
        p.relative_to(ROOT).as_posix() for p in (ROOT / PACKAGE).rglob("__pycache__/*")
    }


@pytest.mark.slow  # builds the sdist and wheel in a subprocess
@pytest.mark.timeout(600)
def test_twine_check_strict_passes(dist: Dist) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.sdist), str(dist.wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


@pytest.mark.slow  # builds the sdist and wheel in a subprocess
@pytest.mark.timeout(600)
def test_wheel_holds_the_package_its_license_and_py_typed_and_nothing_else(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as zf:
        names = set(zf.namelist())
    dist_info = f"{PACKAGE}-{source_version()}.dist-info"
    assert {n.split("/", 1)[0] for n in names} == {PACKAGE, dist_info}
    assert _package_sources() <= names
    assert f"{PACKAGE}/py.typed" in names
    assert not [n for n in names if n.startswith(DEVELOPMENT_ONLY) or "__pycache__" in n]
    assert wheel_file(dist.wheel, ".dist-info/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License" in (ROOT / "LICENSE").read_bytes()


@pytest.mark.slow  # builds the sdist and wheel in a subprocess
@pytest.mark.timeout(600)
def test_wheel_metadata_is_what_pyproject_declares(metadata: Message) -> None:
    project = pyproject()["project"]
    assert metadata["Name"] == project["name"]
    assert metadata["Version"] == source_version()
    assert metadata["Requires-Python"] == project["requires-python"]
    assert metadata["License-Expression"] == project["license"]
    assert metadata.get_all("License-File") == project["license-files"]
    assert set(metadata.get_all("Classifier") or []) == set(project["classifiers"])
    runtime = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert sorted(map(requirement_key, runtime)) == sorted(
        map(requirement_key, project["dependencies"])
    )
    assert "python-backoff" in {requirement_key(r)[0] for r in runtime}
    assert "backoff" not in {requirement_key(r)[0] for r in runtime}


@pytest.mark.slow  # builds the sdist and wheel in a subprocess
@pytest.mark.timeout(600)
def test_wheel_names_the_console_entry_point(dist: Dist) -> None:
    entry_points = wheel_file(dist.wheel, ".dist-info/entry_points.txt").decode()
    scripts = pyproject()["project"]["scripts"]
    assert entry_points.splitlines()[0] == "[console_scripts]"
    for name, target in scripts.items():
        assert f"{name} = {target}" in entry_points.splitlines()
    assert "tap-emarsys-registrations" in scripts


@pytest.mark.slow  # builds the sdist and wheel in a subprocess
@pytest.mark.timeout(600)
def test_sdist_holds_what_the_wheel_is_built_from_and_no_development_files(dist: Dist) -> None:
    names = set(sdist_names(dist.sdist))
    assert _package_sources() <= names
    assert {"pyproject.toml", "PKG-INFO", "LICENSE", "README.md"} <= names
    assert "constraints/runtime.txt" in names
    # The Meltano plugin definition, for `meltano add --from-ref` outside the repository.
    assert sdist_file(dist.sdist, "plugin.yml") == (ROOT / "plugin.yml").read_bytes()
    assert not [n for n in names if n.startswith(DEVELOPMENT_ONLY)]
    assert sdist_file(dist.sdist, "pyproject.toml") == (ROOT / "pyproject.toml").read_bytes()
    pkg_info = sdist_file(dist.sdist, "PKG-INFO").decode()
    assert f"Version: {source_version()}\n" in pkg_info


def test_the_version_is_written_once() -> None:
    project = pyproject()
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == f"{PACKAGE}/__init__.py"
    written = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / PACKAGE).rglob("*.py")
        if "__version__ =" in p.read_text()
    ]
    assert written == [f"{PACKAGE}/__init__.py"]


@pytest.mark.slow  # builds the sdist and wheel in a subprocess
@pytest.mark.timeout(600)
def test_plugin_definition_installs_this_distribution(metadata: Message) -> None:
    definition = yaml.safe_load((ROOT / "plugin.yml").read_text())
    assert definition["pip_url"] == metadata["Name"]
    assert definition["executable"] in pyproject()["project"]["scripts"]
    python_classifiers = {
        c.rsplit(" :: ", 1)[1]
        for c in metadata.get_all("Classifier") or []
        if c.startswith("Programming Language :: Python :: 3.")
    }
    assert set(definition["supported_python_versions"]) == python_classifiers


def test_runtime_constraints_agree_with_the_development_pins() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
        return {requirement_key(ln)[0]: ln.split("==", 1)[1] for ln in lines}

    runtime, full = pins(ROOT / "constraints/runtime.txt"), pins(ROOT / "constraints/tap.txt")
    assert runtime.items() <= full.items()
