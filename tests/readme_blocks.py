"""The blocks README.md marks for a test to run, and a new Meltano project to run them in."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MELTANO = Path(os.environ.get("MELTANO_BIN", REPO / ".venv-meltano" / "bin" / "meltano"))


def marked_blocks(marker: str, language: str = "bash") -> list[str]:
    """The fenced blocks that follow ``<!-- marker -->`` in README.md, in order."""
    text = README.read_text(encoding="utf-8")
    pattern = rf"<!-- {re.escape(marker)} -->\s*```{language}\n(.*?)```"
    return re.findall(pattern, text, re.DOTALL)


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
