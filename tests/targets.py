"""Real Singer targets for the compatibility matrix, each in its own cached venv.

A target is installed from the package index into ``.targets/<name>`` with its own
constraints file. The venv is reused while that file and the package pin are
unchanged (a stamp holds their digest), so only the first run pays for the install.
Run ``python -m tests.targets`` to install them all ahead of the tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("TARGET_VENVS", REPO / ".targets"))


@dataclass(frozen=True)
class Target:
    """One loader: the package pin, its constraints file and its executable."""

    name: str
    requirement: str
    constraints: str

    @property
    def venv(self) -> Path:
        return CACHE / self.name

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / self.name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def digest(self) -> str:
        text = (REPO / self.constraints).read_bytes() + self.requirement.encode()
        return hashlib.sha256(text).hexdigest()

    def ensure(self) -> Path:
        """Install the target unless its cached venv matches; return the executable."""
        stamp = self.venv / ".constraints.sha256"
        digest = self.digest()
        if self.executable.exists() and stamp.exists() and stamp.read_text() == digest:
            return self.executable
        shutil.rmtree(self.venv, ignore_errors=True)
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        install = [str(self.python), "-m", "pip", "install", "--disable-pip-version-check"]
        result = subprocess.run(
            [*install, "-c", str(REPO / self.constraints), self.requirement],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            msg = f"installing {self.requirement} failed:\n{result.stdout}\n{result.stderr}"
            raise RuntimeError(msg)
        stamp.write_text(digest)
        return self.executable


# target-duckdb 0.8.0 loses the first row of every batch with duckdb 1.3 or newer
# (its COPY passes no HEADER false); duckdb 1.2.2 keeps every row.
DUCKDB = Target("target-duckdb", "target-duckdb==0.8.0", "constraints/target-duckdb.txt")
POSTGRES = Target(
    "target-postgres", "meltanolabs-target-postgres==0.8.1", "constraints/target-postgres.txt"
)
CSV = Target("target-csv", "meltanolabs-target-csv==0.5.0", "constraints/target-csv.txt")
JSONL = Target("target-jsonl", "target-jsonl==0.1.4", "constraints/target-jsonl.txt")
ALL = (DUCKDB, POSTGRES, CSV, JSONL)


if __name__ == "__main__":
    for target in ALL:
        print(f"{target.name}: {target.ensure()}")
