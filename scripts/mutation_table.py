"""The mutation score table of scripts/mutation.sh, from ``mutmut results --all true``.

Reads mutmut's result lines (``    <mutant>: <status>``) on standard input and prints,
for each module named on the command line: its mutants, how many the tests killed,
how many survived, the score, how many survivors are listed as equivalent in the
equivalents file, and the score over the mutants that are not equivalent. It then
lists the survivors that are not listed (tests to write, or equivalents to explain)
and the listed mutants that did not survive (stale lines to remove).

A mutant that made the tests time out was detected (a loop that never ends), so it
counts as killed, but the table shows how many: when most mutants time out, the
harness is broken, not the code. mutmut also says "timeout" for a mutant whose tests
could not even be collected (its harness raised and the child exited with 255): the
SDK's suite, tests/test_core.py, discovers the streams when it is imported, so a
mutant that breaks discovery breaks collection. Given ``--meta`` (mutmut's folder of
results) the table tells those apart and counts them as killed, not as timeouts.
Exit status 2 means mutmut left mutants of these modules unchecked, 3 that more than
a tenth of a module's mutants timed out or that most could not have their tests
collected: either way the harness, not the code, is the likely cause.
With ``--unchecked`` it prints only the names of the modules' unchecked mutants, one a
line: what an interrupted run has left to do.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

PACKAGE = "tap_emarsys_registrations"
NOT_COLLECTED = "tests not collected"
KILLED = {"killed", "timeout", NOT_COLLECTED, "caught by type check"}
# The exit status of mutmut's child when running the tests raised: os._exit(-1).
_HARNESS_RAISED = 255
UNCHECKED = {"not checked", "skipped", "check was interrupted by user"}
_RESULT = re.compile(r"^\s+(?P<name>\S+__mutmut_\d+): (?P<status>.+?)\s*$")
_EQUIVALENT = re.compile(r"^- `(?P<name>\S+__mutmut_\d+)`: \S")


def module_of(mutant: str) -> str:
    """The module of a mutant: ``pkg.windows`` for ``pkg.windows.x_f__mutmut_3``."""
    return mutant.rsplit(".", 1)[0]


def module_name(path: str) -> str:
    """The dotted module of ``windows``, ``records/timestamps.py`` or a dotted name."""
    text = path.removesuffix(".py").replace("/", ".")
    return text if text.startswith(PACKAGE + ".") else f"{PACKAGE}.{text}"


def read_results(lines: Iterable[str]) -> dict[str, str]:
    """Mutant name to status, from mutmut's result lines."""
    return {m["name"]: m["status"] for line in lines if (m := _RESULT.match(line))}


def read_exit_codes(folder: Path) -> dict[str, int]:
    """Mutant name to the exit status of its tests, from mutmut's ``*.meta`` files."""
    codes: dict[str, int] = {}
    for meta in sorted(folder.rglob("*.meta")):
        by_key = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        codes.update({name: code for name, code in by_key.items() if isinstance(code, int)})
    return codes


def tell_collection_apart(results: dict[str, str], exit_codes: dict[str, int]) -> dict[str, str]:
    """The results, with a "timeout" whose tests could not be collected called so."""
    return {
        name: NOT_COLLECTED
        if status == "timeout" and exit_codes.get(name) == _HARNESS_RAISED
        else status
        for name, status in results.items()
    }


def read_equivalents(text: str) -> set[str]:
    """The mutants the file lists as equivalent (``- `name`: why``, one a line)."""
    return {m["name"] for line in text.splitlines() if (m := _EQUIVALENT.match(line))}


@dataclass
class Score:
    """One module's figures."""

    module: str
    statuses: Counter[str] = field(default_factory=Counter)
    equivalent: int = 0

    @property
    def mutants(self) -> int:
        return sum(self.statuses.values())

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in KILLED)

    @property
    def timeouts(self) -> int:
        return self.statuses["timeout"]

    @property
    def not_collected(self) -> int:
        return self.statuses[NOT_COLLECTED]

    @property
    def unchecked(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in UNCHECKED)

    @property
    def survived(self) -> int:
        return self.mutants - self.killed - self.unchecked

    @staticmethod
    def percent(part: int, whole: int) -> str:
        return f"{100 * part / whole:.0f}%" if whole else "-"

    def row(self) -> str:
        cells = [
            f"`{self.module.removeprefix(PACKAGE + '.').replace('.', '/')}.py`",
            str(self.mutants),
            str(self.killed),
            str(self.survived),
            str(self.timeouts),
            str(self.not_collected),
            self.percent(self.killed, self.mutants),
            str(self.equivalent),
            self.percent(self.killed, self.mutants - self.equivalent),
        ]
        return "| " + " | ".join(cells) + " |"


HEADER = (
    "| module | mutants | killed | survived | of the killed, timed out "
    "| of the killed, tests not collected | score | equivalent | score over non-equivalent |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def report(
    results: dict[str, str], equivalents: set[str], modules: Sequence[str]
) -> tuple[str, int]:
    """The table and the lists below it, and the exit status."""
    scores = {module: Score(module) for module in modules}
    unexplained: list[str] = []
    stale: list[str] = []
    for name, status in sorted(results.items()):
        score = scores.get(module_of(name))
        if score is None:
            continue
        score.statuses[status] += 1
        survived = status not in KILLED | UNCHECKED
        if survived and name in equivalents:
            score.equivalent += 1
        elif survived:
            unexplained.append(f"{name}: {status}")
    stale = sorted(
        name
        for name in equivalents
        if module_of(name) in scores and results.get(name) in KILLED | {None}
    )
    lines = [HEADER, *(score.row() for score in scores.values())]
    if unexplained:
        lines += ["", "Survivors not listed as equivalent (`mutmut show <name>`):"]
        lines += [f"  {line}" for line in unexplained]
    if stale:
        lines += ["", "Listed as equivalent, but killed or gone (remove the line):"]
        lines += [f"  {name}" for name in stale]
    exit_status = 0
    unchecked = sum(score.unchecked for score in scores.values())
    if unchecked:
        lines += ["", f"{unchecked} mutants were not checked: the run is incomplete"]
        exit_status = 2
    slow = [s.module for s in scores.values() if s.timeouts * 10 > s.mutants]
    if slow:
        lines += ["", f"More than a tenth of the mutants timed out in {', '.join(slow)}"]
        exit_status = exit_status or 3
    uncollected = [s.module for s in scores.values() if s.not_collected * 2 > s.mutants]
    if uncollected:
        lines += ["", f"Most mutants' tests were not collected in {', '.join(uncollected)}"]
        exit_status = exit_status or 3
    return "\n".join(lines), exit_status


def unchecked_mutants(results: dict[str, str], modules: Sequence[str]) -> list[str]:
    """The mutants of ``modules`` that mutmut has not checked yet, in name order."""
    wanted = set(modules)
    return sorted(
        name
        for name, status in results.items()
        if status in UNCHECKED and module_of(name) in wanted
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--equivalents", type=Path, required=True)
    parser.add_argument("--unchecked", action="store_true", help="list unchecked mutants")
    parser.add_argument("--meta", type=Path, help="mutmut's results folder, for exit codes")
    parser.add_argument("modules", nargs="+")
    args = parser.parse_args(argv)
    if args.unchecked:
        for name in unchecked_mutants(
            read_results(sys.stdin), [module_name(m) for m in args.modules]
        ):
            print(name)
        return 0
    equivalents = read_equivalents(args.equivalents.read_text(encoding="utf-8"))
    modules = [module_name(m) for m in args.modules]
    results = read_results(sys.stdin)
    if args.meta is not None:
        results = tell_collection_apart(results, read_exit_codes(args.meta))
    text, status = report(results, equivalents, modules)
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
