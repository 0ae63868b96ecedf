"""The tap runs in one process: no module of the package can start or steer another."""

from __future__ import annotations

import ast
from pathlib import Path

import tap_emarsys_registrations

PACKAGE = Path(tap_emarsys_registrations.__file__).parent
# Modules that start processes, or that only make sense between processes (fcntl is POSIX-only).
FORBIDDEN = {
    "subprocess",
    "multiprocessing",
    "concurrent.futures.process",
    "concurrent.futures.ProcessPoolExecutor",
    "fcntl",
    "pty",
}
FORBIDDEN_CALLS = {"fork", "forkpty", "spawnv", "spawnl", "execv", "execl", "system", "popen"}


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _os_calls(tree: ast.AST) -> set[str]:
    """``os.<name>`` attributes used anywhere (``os.fork``, ``os.system`` ...)."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    }


def test_the_package_has_sources_to_check() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 10


def test_no_module_imports_a_process_or_posix_only_module() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found = {
            name for name in _imported(tree) if name in FORBIDDEN or name.split(".")[0] in FORBIDDEN
        }
        found |= {
            f"os.{call}" for call in _os_calls(tree) if call.startswith(tuple(FORBIDDEN_CALLS))
        }
        if found:
            offenders[str(path.relative_to(PACKAGE))] = sorted(found)
    assert offenders == {}


def test_the_scanner_sees_what_it_forbids() -> None:
    tree = ast.parse(
        "import subprocess\nfrom fcntl import fcntl\nimport os\nos.fork()\n"
        "from concurrent.futures import process\n"
    )
    assert {"subprocess", "fcntl", "concurrent.futures.process"} <= _imported(tree)
    assert "fork" in _os_calls(tree)
