#!/usr/bin/env bash
# Start the local Emarsys sandbox and run `meltano run tap-emarsys-registrations target-jsonl`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PORT="${SANDBOX_PORT:-8765}"
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
.venv-meltano/bin/meltano install extractor tap-emarsys-registrations
.venv-meltano/bin/meltano install loader target-jsonl
.venv-meltano/bin/meltano run tap-emarsys-registrations target-jsonl
echo
echo "Registrations written to $(pwd)/output/registrations.jsonl ($(wc -l < output/registrations.jsonl) lines). First record:"
head -n 1 output/registrations.jsonl
echo "Bookmark saved by Meltano (a second run only exports newer windows):"
.venv-meltano/bin/meltano state get sandbox:tap-emarsys-registrations-to-target-jsonl
