"""Build the sdist and wheel as a release does, and read what pyproject.toml promises.

The build runs ``python -m build --no-isolation`` from the dev venv: the hatchling pinned
in constraints/tap.txt builds the sdist, then the wheel from the unpacked sdist (build's
default), so a wheel that works proves the sdist is complete. Set ``DIST_DIR`` to inspect
artifacts built beforehand (the release workflow does, so it checks what it publishes).
"""

from __future__ import annotations

import ast
import email.message
import email.parser
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "tap_emarsys_registrations"


@dataclass(frozen=True)
class Dist:
    """The two artifacts of one build."""

    sdist: Path
    wheel: Path


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def source_version() -> str:
    """``__version__`` as written in the package source (read, not imported)."""
    tree = ast.parse((ROOT / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "__version__"
        ]:
            assert isinstance(node.value, ast.Constant)
            return str(node.value.value)
    raise AssertionError(f"no __version__ in {PACKAGE}/__init__.py")


def requirement_key(text: str) -> tuple[str, frozenset[str], str, str]:
    """A requirement compared by meaning: name, extras, specifiers and marker."""
    req = Requirement(text)
    specifiers = ",".join(sorted(str(s) for s in req.specifier))
    return canonicalize_name(req.name), frozenset(req.extras), specifiers, str(req.marker or "")


def _only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def build(outdir: Path) -> Dist:
    given = os.environ.get("DIST_DIR")
    if given:
        outdir = Path(given).resolve()
    else:
        result = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(ROOT)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return Dist(_only(sorted(outdir.glob("*.tar.gz"))), _only(sorted(outdir.glob("*.whl"))))


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        name = _only([Path(n) for n in zf.namelist() if n.endswith(".dist-info/METADATA")])
        return email.parser.BytesParser().parsebytes(zf.read(str(name)))


def wheel_file(wheel: Path, suffix: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(str(_only([Path(n) for n in zf.namelist() if n.endswith(suffix)])))


def sdist_names(sdist: Path) -> list[str]:
    """Member paths with the ``<name>-<version>/`` prefix removed."""
    with tarfile.open(sdist) as tf:
        return [m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name and m.isfile()]


def sdist_file(sdist: Path, member: str) -> bytes:
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/", 1)[0]
        extracted = tf.extractfile(f"{top}/{member}")
        assert extracted is not None, member
        return extracted.read()
