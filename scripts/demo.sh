#!/usr/bin/env bash
# Start the local Emarsys sandbox, run `meltano run tap-emarsys-registrations target-duckdb`,
# then summarise the DuckDB file (with the loader's own duckdb) and print the bookmark.
# Run it twice: the second run finds the bookmark at the end date and adds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${SANDBOX_PORT:-8765}"
DB=output/registrations.duckdb
SCHEMA=emarsys
START=2024-03-29T00:00:00Z
END=2024-04-02T00:00:00Z  # the sandbox environment's end_date in meltano.yml
scripts/bootstrap.sh --meltano
.venv/bin/python -m sandbox --port "$PORT" --start 2024-03-29 --days 4 --per-day 40 \
    --export-delay 1 > .sandbox.log 2>&1 &
SANDBOX_PID=$!
trap 'kill "$SANDBOX_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/_sandbox/health')" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
export MELTANO_ENVIRONMENT=sandbox
export TAP_EMARSYS_REGISTRATIONS_CLIENT_SECRET=sandbox-client-secret
export TAP_EMARSYS_REGISTRATIONS_API_URL="http://127.0.0.1:$PORT/api"
export TAP_EMARSYS_REGISTRATIONS_TOKEN_URL="http://127.0.0.1:$PORT/oauth2/token"
MELTANO=.venv-meltano/bin/meltano
LOADER_PYTHON=.meltano/loaders/target-duckdb/venv/bin/python
"$MELTANO" install extractor tap-emarsys-registrations
"$MELTANO" install loader target-duckdb
mkdir -p output
BEFORE=$("$LOADER_PYTHON" scripts/duckdb_summary.py --count "$DB" "$SCHEMA")
"$MELTANO" run tap-emarsys-registrations target-duckdb
echo
"$LOADER_PYTHON" scripts/duckdb_summary.py "$DB" "$SCHEMA" \
    "http://127.0.0.1:$PORT/_sandbox/truth?start=$START&end=$END&fields=1" --before "$BEFORE"
echo "Bookmark saved by Meltano (a second run only exports newer windows):"
"$MELTANO" state get sandbox:tap-emarsys-registrations-to-target-duckdb
