"""The Python versions pyproject.toml claims are the ones scripts/test.sh tests."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_classifiers_list_exactly_the_tested_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    claimed = {
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    floor = re.fullmatch(r">=(3\.\d+)", project["requires-python"])
    assert floor is not None
    script = (ROOT / "scripts" / "test.sh").read_text()
    tested = re.search(r'PYTHONS="\$\{PYTHONS:-([\d. ]+)\}"', script)
    assert tested is not None, "scripts/test.sh names the Pythons it tests"
    versions = tested.group(1).split()
    assert claimed == set(versions)
    assert min(versions, key=lambda v: tuple(map(int, v.split(".")))) == floor.group(1)
