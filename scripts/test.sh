#!/usr/bin/env bash
# Set up and run every check: lint, types, and the test suite against the local sandbox,
# including real Meltano runs into target-jsonl and target-postgres.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing PostgreSQL (for the target-postgres pipeline test)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "PostgreSQL server binaries (pg_ctl, initdb) are needed: install the postgresql package" >&2
        exit 1
    fi
fi
scripts/bootstrap.sh --meltano
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && .venv/bin/python -m pytest "$@"
