"""A throwaway PostgreSQL cluster for loader tests (initdb + pg_ctl on a free port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _binary(name: str) -> str:
    debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    found = shutil.which(name) or (str(debian[-1]) if debian else None)
    if found is None:
        msg = f"PostgreSQL's {name} is missing; scripts/test.sh installs the postgresql package"
        raise RuntimeError(msg)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Postgres:
    """A running cluster; stop() removes it."""

    port: int
    directory: Path

    @classmethod
    def start(cls) -> Postgres:
        directory = Path(tempfile.mkdtemp(prefix="pg-"))
        as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(directory, "postgres")
            as_postgres = ["runuser", "-u", "postgres", "--"]
        port = _free_port()
        data = directory / "data"
        subprocess.run(
            [*as_postgres, _binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_postgres,
                _binary("pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(directory / "log"),
                "-o",
                f"-p {port} -k {directory} -c listen_addresses=127.0.0.1",
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return cls(port, directory)

    def psql(self, sql: str) -> list[list[str]]:
        """Run one query through psql and return the rows (tab-separated, no header)."""
        result = subprocess.run(
            [
                _binary("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-At",
                "-F",
                "\t",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    def stop(self) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                *as_postgres,
                _binary("pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def pg_dump(port: int, database: str = "postgres") -> str:
    """The plain-SQL dump of ``database``, as a backup of the store would hold it."""
    result = subprocess.run(
        [_binary("pg_dump"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout
