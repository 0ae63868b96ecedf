#!/usr/bin/env bash
# Create .venv (the tap, its test tools, pinned by constraints/tap.txt) and, with
# --meltano, .venv-meltano (Meltano, pinned by constraints/meltano.txt).
# PYTHON picks the interpreter and VENV the folder of the tap's venv, e.g.
#   PYTHON=python3.13 VENV=.venv-py3.13 scripts/bootstrap.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Python 3.11 or newer is required, found {sys.version.split()[0]}")
PY
pip_install() {
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check "${@:2}"
}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
pip_install "$VENV" -c constraints/tap.txt -e '.[dev]'
if [ "${1:-}" = "--meltano" ]; then
    if [ ! -x .venv-meltano/bin/meltano ]; then
        "$PYTHON" -m venv .venv-meltano
    fi
    pip_install .venv-meltano -c constraints/meltano.txt meltano
fi
