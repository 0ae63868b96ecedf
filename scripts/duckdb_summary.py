"""Summarise the demo's DuckDB file and compare it with the sandbox truth.

Runs with the loader's own Python (it has the duckdb package):

    .meltano/loaders/target-duckdb/venv/bin/python scripts/duckdb_summary.py \\
        FILE SCHEMA TRUTH_URL [--before N]

Prints the row count (and the count before this run), the registrations per day,
one sample row, and whether the loaded keys equal the sandbox truth; exits 1 when
they do not, or when a key appears twice.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import duckdb


def count(path: str, schema: str) -> int:
    """Rows in the table now; 0 before the first run."""
    if not Path(path).exists():
        return 0
    with duckdb.connect(path, read_only=True) as db:
        exists = db.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = 'registrations'",
            [schema],
        ).fetchone()
        if not exists or not exists[0]:
            return 0
        found = db.execute(f'select count(*) from "{schema}".registrations').fetchone()
        return int(found[0]) if found else 0


def truth_keys(url: str) -> set[tuple[int, str]]:
    """(user_id, registered_at as naive UTC text) of the sandbox's registrations."""
    with urllib.request.urlopen(url, timeout=30) as reply:  # the local sandbox only
        rows = json.load(reply)
    return {(int(r["user_id"]), r["registered_at"].removesuffix("Z")) for r in rows}


def summary(path: str, schema: str, url: str, before: int) -> int:
    table = f'"{schema}".registrations'
    with duckdb.connect(path, read_only=True) as db:
        rows = db.execute(f"select count(*) from {table}").fetchone()
        total = int(rows[0]) if rows else 0
        added = total - before
        print(f"Rows in {path} ({table}): {total} (before this run: {before}, added {added})")
        print("Registrations per day (UTC):")
        per_day = db.execute(
            f"select cast(registered_at as date) as day, count(*) from {table} "
            "group by day order by day"
        ).fetchall()
        for day, n in per_day:
            print(f"  {day}  {n}")
        sample = db.execute(
            f"select user_id, registered_at, window_start, email, first_name, loyalty_points "
            f"from {table} order by registered_at, user_id limit 1"
        )
        names = [column[0] for column in sample.description]
        print("Sample row:", dict(zip(names, sample.fetchone() or (), strict=False)))
        loaded = db.execute(
            f"select user_id, strftime(registered_at, '%Y-%m-%dT%H:%M:%S') from {table}"
        ).fetchall()
    keys = {(int(u), str(r)) for u, r in loaded}
    expected = truth_keys(url)
    duplicates = len(loaded) - len(keys)
    print(
        f"Sandbox truth: {len(expected)} registrations; distinct keys loaded: {len(keys)}; "
        f"duplicate keys: {duplicates}"
    )
    if keys != expected or duplicates:
        print(
            f"MISMATCH: {len(expected - keys)} missing, {len(keys - expected)} unexpected",
            file=sys.stderr,
        )
        return 1
    print("The table equals the sandbox truth.")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--count"]:
        print(count(argv[1], argv[2]))
        return 0
    path, schema, url = argv[:3]
    before = int(argv[4]) if argv[3:4] == ["--before"] else 0
    return summary(path, schema, url, before)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
