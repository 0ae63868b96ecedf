"""scripts/mutation_table.py: the figures scripts/mutation.sh prints from mutmut's results."""

from __future__ import annotations

import fnmatch
import importlib.util
import io
import json
import re
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("mutation_table", ROOT / "scripts/mutation_table.py")
assert _SPEC is not None
assert _SPEC.loader is not None
table = importlib.util.module_from_spec(_SPEC)
sys.modules["mutation_table"] = table  # dataclasses look the module up
_SPEC.loader.exec_module(table)
read_equivalents, read_results, report = table.read_equivalents, table.read_results, table.report
W = "tap_emarsys_registrations.windows"
L = "tap_emarsys_registrations.emarsys.token_ledger"
RESULTS = f"""\
    tap_emarsys_registrations.cli.x_main__mutmut_1: survived
    {W}.x_iso_utc__mutmut_1: killed
    {W}.x_iso_utc__mutmut_2: killed
    {W}.x_iso_utc__mutmut_3: timeout
    {W}.x_iso_utc__mutmut_4: survived
    {W}.xǁWindowǁ__post_init____mutmut_1: no tests
    {L}.x_recent__mutmut_1: killed
    {L}.x_recent__mutmut_2: survived
"""
EQUIVALENTS = f"""\
# Equivalent mutants

- `{W}.x_iso_utc__mutmut_4`: the same string either way.
- `{W}.x_iso_utc__mutmut_1`: killed now, so this line is stale.
- `{L}.x_gone__mutmut_9`: renumbered away.
"""


def test_the_table_counts_killed_survived_and_equivalent_per_module() -> None:
    text, status = report(
        read_results(RESULTS.splitlines()),
        read_equivalents(EQUIVALENTS),
        [W, L],
    )
    assert status == 3, "one of windows' five mutants timed out"
    lines = text.splitlines()
    assert lines[2] == "| `windows.py` | 5 | 3 | 2 | 1 | 0 | 60% | 1 | 75% |"
    assert lines[3] == "| `emarsys/token_ledger.py` | 2 | 1 | 1 | 0 | 0 | 50% | 0 | 50% |"
    assert lines[-1] == f"More than a tenth of the mutants timed out in {W}"
    assert f"  {W}.xǁWindowǁ__post_init____mutmut_1: no tests" in lines
    assert f"  {L}.x_recent__mutmut_2: survived" in lines
    assert f"  {W}.x_iso_utc__mutmut_1" in lines
    assert f"  {L}.x_gone__mutmut_9" in lines
    assert not any("cli" in line for line in lines)


def test_a_timeout_whose_tests_could_not_be_collected_is_a_kill_but_not_a_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # mutmut's results folder: one .meta file per module, exit codes by mutant; 255 is
    # its child exiting with -1 because running the tests raised, 152 is SIGXCPU.
    meta = tmp_path / "tap_emarsys_registrations/windows.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {f"{W}.x_iso_utc__mutmut_{n}": code for n, code in [(1, 255), (2, 152), (3, 1)]}
    meta.write_text(json.dumps({"exit_code_by_key": codes | {f"{W}.x_f__mutmut_1": None}}))
    lines = [f"    {W}.x_iso_utc__mutmut_{n}: {s}" for n, s in [(1, "timeout"), (2, "timeout")]]
    lines += [f"    {W}.x_iso_utc__mutmut_3: killed", f"    {W}.x_iso_utc__mutmut_4: timeout"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    equivalents = tmp_path / "equivalents.md"
    equivalents.write_text("")

    status = table.main(["--equivalents", str(equivalents), "--meta", str(tmp_path), "windows"])

    # Of the four, two timed out (152, and 4 whose code is unknown) and one was not
    # collected: all four are killed, and two of four timing out is over a tenth.
    assert status == 3
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| `windows.py` | 4 | 4 | 0 | 2 | 1 | 100% | 0 | 100% |"
    assert table.read_exit_codes(tmp_path) == codes
    # A mutant whose tests were not collected is no sign of a slow harness; most of a
    # module's mutants failing collection is a sign of a broken one.
    one_of_two = {f"{W}.x_iso_utc__mutmut_1": "timeout", f"{W}.x_iso_utc__mutmut_3": "killed"}
    assert report(table.tell_collection_apart(one_of_two, codes), set(), [W])[1] == 0
    alone = {f"{W}.x_iso_utc__mutmut_1": "timeout"}
    text, status = report(table.tell_collection_apart(alone, codes), set(), [W])
    assert (status, text.splitlines()[-1]) == (
        3,
        f"Most mutants' tests were not collected in {W}",
    )


def test_unchecked_mutants_make_the_run_incomplete() -> None:
    text, status = report(read_results([f"    {W}.x_iso_utc__mutmut_1: not checked"]), set(), [W])
    assert status == 2
    assert text.splitlines()[-1] == "1 mutants were not checked: the run is incomplete"


def test_a_resumed_run_is_given_only_the_unchecked_mutants_of_its_modules(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        f"    {W}.x_iso_utc__mutmut_2: not checked",
        f"    {W}.x_iso_utc__mutmut_1: check was interrupted by user",
        f"    {W}.x_iso_utc__mutmut_3: killed",
        f"    {L}.x_recent__mutmut_1: not checked",
        "    tap_emarsys_registrations.cli.x_main__mutmut_1: not checked",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert (
        table.main(["--equivalents", "unused.md", "--unchecked", "windows", "emarsys/token_ledger"])
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [
        f"{L}.x_recent__mutmut_1",
        f"{W}.x_iso_utc__mutmut_1",
        f"{W}.x_iso_utc__mutmut_2",
    ]


def test_the_equivalents_file_gives_a_reason_for_each_mutant_of_a_core_module() -> None:
    text = (ROOT / "tests" / "mutation_equivalents.md").read_text(encoding="utf-8")
    script = (ROOT / "scripts" / "mutation.sh").read_text(encoding="utf-8")
    core = re.search(r"CORE=\(\n(.*?)\n\)", script, re.DOTALL)
    assert core is not None
    modules = {f"tap_emarsys_registrations.{m.strip().replace('/', '.')}" for m in core[1].split()}
    listed = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(read_equivalents(text)) == len(listed), "each line: - `mutant`: reason"
    assert {name.rsplit(".", 1)[0] for name in read_equivalents(text)} <= modules


def test_mutmut_runs_the_fast_tier_in_forked_processes_without_the_size_check() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert config["process_isolation"] == "forkserver"
    assert config["forkserver_warmup"] == "none", "the server imports no test module"
    args = config["pytest_add_cli_args"]
    assert args[args.index("-m") + 1] == "not slow"
    deselected = [args[i + 1] for i, arg in enumerate(args) if arg == "--deselect"]
    assert deselected == [
        "tests/test_architecture.py::test_no_module_is_over_the_size_limit",
        "tests/test_settings_declarations.py::test_every_default_is_written_once",
    ]
    for test in deselected:
        path, name = test.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), "the deselected test exists"


def test_mutmut_copies_every_file_of_the_project_the_tests_may_read() -> None:
    # mutmut runs the tests in its own copy (mutants/), which holds the source paths, the
    # tests, pyproject.toml and also_copy only: a file left out makes a test fail on every
    # mutant, and mutmut then gives up before the first one.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    ignored = [line.rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines() if line]
    top_level = {
        path.name
        for path in ROOT.iterdir()
        if path.name != ".git" and not any(fnmatch.fnmatch(path.name, p) for p in ignored)
    }
    assert {"examples", "sandbox", "README.md"} <= top_level
    copied = {*config["source_paths"], *config["also_copy"], "tests", "pyproject.toml"}
    assert top_level - copied == set()
