#!/usr/bin/env bash
# Create .venv (the tap, its test tools, pinned by constraints/tap.txt) and, with
# --meltano, .venv-meltano (Meltano, pinned by constraints/meltano.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Python 3.11 or newer is required, found {sys.version.split()[0]}")
PY
pip_install() {
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check "${@:2}"
}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
pip_install .venv -c constraints/tap.txt -e '.[dev]'
if [ "${1:-}" = "--meltano" ]; then
    if [ ! -x .venv-meltano/bin/meltano ]; then
        "$PYTHON" -m venv .venv-meltano
    fi
    pip_install .venv-meltano -c constraints/meltano.txt meltano
fi
