"""The package's shape: imports run one way, no cycles, small modules.

The layers, lowest first (CONTRIBUTING.md "Architecture" has the map):

0. the kernel: top-level ``errors``, ``clock``, ``fields``, ``windows``, ``poll``;
1. ``settings``; 2. ``emarsys``; 3. ``records``; 4. ``delivery``; 5. ``extraction``;
6. the top: ``tap``, ``streams``, ``schema``, ``keys``, ``record_messages``,
   ``output``, ``cli``.

A module may import its own layer's modules and lower layers only. Imports
under ``TYPE_CHECKING`` and inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

PACKAGE: Final = "tap_emarsys_registrations"
ROOT: Final = Path(__file__).resolve().parents[1] / PACKAGE
KERNEL: Final = frozenset({"errors", "clock", "fields", "windows", "poll"})
SUBPACKAGES: Final = ("settings", "emarsys", "records", "delivery", "extraction")
TOP: Final = frozenset(
    {"__init__", "__main__", "tap", "streams", "schema", "keys", "record_messages", "output", "cli"}
)
MAX_LINES: Final = 300


def layer(module: str) -> int:
    """The layer of a dotted module name below the package (``emarsys.auth`` -> 2)."""
    head = module.split(".", maxsplit=1)[0]
    if head in KERNEL:
        return 0
    if head in SUBPACKAGES:
        return 1 + SUBPACKAGES.index(head)
    if head in TOP:
        return len(SUBPACKAGES) + 1
    msg = f"{module} has no layer: place it in tests/test_architecture.py and CONTRIBUTING.md"
    raise AssertionError(msg)


def imports_of(source: str, module: str) -> set[str]:
    """Every package module that ``source`` (the text of ``module``) imports, anywhere."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: the package uses absolute imports only"
            if node.module == PACKAGE:  # from tap_emarsys_registrations import x
                found.update(a.name for a in node.names if _is_module(a.name))
            elif node.module and node.module.startswith(f"{PACKAGE}."):
                found.add(node.module.removeprefix(f"{PACKAGE}."))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix(f"{PACKAGE}.")
                for alias in node.names
                if alias.name.startswith(f"{PACKAGE}.")
            )
    found.discard(module)
    return found


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def package_modules() -> dict[str, str]:
    """Dotted name below the package -> source, for every module of the package."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)
        modules[name] = path.read_text(encoding="utf-8")
    return modules


def violations(modules: dict[str, str]) -> list[str]:
    """Each import that points up the layers."""
    return [
        f"{module} (layer {layer(module)}) imports {target} ({layer(target)})"
        for module, source in modules.items()
        for target in sorted(imports_of(source, module))
        if layer(target) > layer(module)
    ]


def cycles(modules: dict[str, str]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    graph = {m: imports_of(s, m) & modules.keys() for m, s in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_module_has_a_layer() -> None:
    layers = {module: layer(module) for module in package_modules()}
    assert set(layers.values()) == set(range(len(SUBPACKAGES) + 2)), "every layer is used"
    assert {m.split(".")[0] for m in layers if "." in m} == set(SUBPACKAGES)


def test_imports_run_one_way() -> None:
    assert violations(package_modules()) == []


def test_no_import_cycle() -> None:
    assert cycles(package_modules()) == []


def test_no_module_is_over_the_size_limit() -> None:
    too_long = {
        name: source.count("\n")
        for name, source in package_modules().items()
        if source.count("\n") > MAX_LINES
    }
    assert too_long == {}


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "records.csv_records",
            "from tap_emarsys_registrations.extraction.plan import ExportPlan\n",
            ["records.csv_records (layer 3) imports extraction.plan (5)"],
        ),
        (
            "settings.values",
            "if TYPE_CHECKING:\n    from tap_emarsys_registrations.emarsys import client\n",
            ["settings.values (layer 1) imports emarsys (2)"],
        ),
        (
            "fields",
            "def f():\n    import tap_emarsys_registrations.tap\n",
            ["fields (layer 0) imports tap (6)"],
        ),
        ("delivery.ftp", "from tap_emarsys_registrations.records.join import PartJoin\n", []),
    ],
)
def test_the_checker_sees_upward_imports(module: str, source: str, expected: list[str]) -> None:
    assert violations({module: source}) == expected


def test_the_checker_sees_cycles() -> None:
    modules = {
        "extraction.pipeline": "from tap_emarsys_registrations.extraction.window_reader import W\n",
        "extraction.window_reader": (
            "if TYPE_CHECKING:\n"
            "    from tap_emarsys_registrations.extraction.pipeline import Part\n"
        ),
        "extraction.plan": "from tap_emarsys_registrations.windows import Window\n",
    }
    assert cycles(modules) == [["extraction.pipeline", "extraction.window_reader"]]
