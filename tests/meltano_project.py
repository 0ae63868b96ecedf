"""Running README's Meltano commands in a project, and README's marked non-shell blocks.

Shell blocks are marked ``<!-- readme-test: NAME -->`` and read with
``tests.readme_blocks.readme_block``; a YAML or SQL block is marked the same way and
read with :func:`readme_fence`.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MELTANO = Path(os.environ.get("MELTANO_BIN", REPO / ".venv-meltano" / "bin" / "meltano"))


def readme_fence(name: str, language: str) -> str:
    """The ``language`` block marked ``<!-- readme-test: NAME -->``; exactly one must exist."""
    text = README.read_text(encoding="utf-8")
    pattern = rf"<!-- readme-test: {re.escape(name)} -->\s*```{language}\n(.*?)```"
    found = re.findall(pattern, text, re.DOTALL)
    if len(found) != 1:
        msg = f"README has {len(found)} {language} blocks marked readme-test: {name}"
        raise LookupError(msg)
    return str(found[0])


def commands(block: str) -> list[list[str]]:
    """The commands of a bash block, one a line, comments dropped."""
    found = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            found.append(words)
    return found


def meltano(
    project: Path, args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``meltano ARGS`` in ``project``; a failure shows what Meltano printed."""
    assert args[0] == "meltano", args
    result = subprocess.run(
        [str(MELTANO), *args[1:]],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{shlex.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result
