"""The command blocks README marks for a test: ``<!-- readme-test: NAME -->`` before a fence.

A test runs such a block as written, so the commands a user copies are the ones
the suite ran.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(
    r"<!-- readme-test: (?P<name>[\w-]+) -->\s*\n\s*```bash\n(?P<body>.*?)\n\s*```", re.DOTALL
)


def readme_block(name: str, readme: Path = README) -> str:
    """The shell text of the block named ``name``, dedented; exactly one must exist."""
    found = [m for m in _BLOCK.finditer(readme.read_text(encoding="utf-8")) if m["name"] == name]
    if len(found) != 1:
        msg = f"README has {len(found)} blocks marked readme-test: {name}"
        raise LookupError(msg)
    lines = found[0]["body"].splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"
