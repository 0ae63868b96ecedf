#!/usr/bin/env bash
# Set up and run every check: lint, types, and the test suite against the local sandbox,
# including real Meltano runs and the target compatibility matrix (tests/test_targets.py).
# The full suite runs on the main interpreter (PYTHON, default python3, in .venv); the fast
# subset (-m "not slow") runs on every other Python the package claims (PYTHONS, the
# classifiers of pyproject.toml), each in .venv-py<version>, and on the main interpreter once
# more under each local zone of LOCAL_ZONES (default Europe/Vienna Asia/Kolkata).
# Every sandbox runs in strict contract mode (SandboxConfig's default; sandbox/contract.py):
# requests outside Emarsys' published contract are refused, replies outside it fail the test.
set -euo pipefail
cd "$(dirname "$0")/.."
STARTED=$SECONDS
PYTHONS="${PYTHONS:-3.11 3.12 3.13}"
# System packages the tests use: PostgreSQL (target-postgres, the shared token store) and
# faketime (the tap's CLI under another date, tests/test_wsse_sunset_cli.py).
packages=()
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    packages+=(postgresql)
fi
command -v faketime >/dev/null 2>&1 || packages+=(faketime)
if [ ${#packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing ${packages[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
    else
        echo "These system packages are needed: ${packages[*]} (PostgreSQL server binaries pg_ctl and initdb; faketime)" >&2
        exit 1
    fi
fi
scripts/bootstrap.sh --meltano
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== target venvs (cached in .targets/ while their constraints files are unchanged)"
.venv/bin/python -m tests.targets
MAIN=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "== pytest on Python $MAIN (.venv)" && .venv/bin/python -m pytest "$@"
# The fast tier again in zones other than UTC: Emarsys' own (Europe/Vienna, with DST) and one
# with a half-hour offset. In the fast tier the tap and the sandbox run inside pytest's process,
# so TZ reaches both; a slow test's child processes inherit it as well (tests/cli.py cli_env).
for zone in ${LOCAL_ZONES:-Europe/Vienna Asia/Kolkata}; do
    echo "== fast subset under TZ=$zone" && TZ="$zone" .venv/bin/python -m pytest -q -m "not slow" -p no:cacheprovider
done

# Find an interpreter for version $1: pyenv's newest x.y.*, else pythonX.Y on PATH.
find_python() {
    local found=""
    if command -v pyenv >/dev/null 2>&1; then
        found=$(ls -d "$(pyenv root)/versions/$1".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    if [ -z "$found" ] && command -v "python$1" >/dev/null 2>&1; then
        found=$(command -v "python$1")
    fi
    echo "$found"
}
missing=()
for version in $PYTHONS; do
    [ "$version" = "$MAIN" ] && continue
    python=$(find_python "$version")
    if [ -z "$python" ]; then
        echo "== Python $version: NOT FOUND (no pyenv version $version.* and no python$version on PATH); not tested" >&2
        missing+=("$version")
        continue
    fi
    echo "== fast subset on Python $version ($python) in .venv-py$version"
    PYTHON="$python" VENV=".venv-py$version" scripts/bootstrap.sh
    ".venv-py$version/bin/python" -m pytest -q -m "not slow" -p no:cacheprovider
done
echo "== done in $((SECONDS - STARTED))s"
if [ ${#missing[@]} -gt 0 ]; then
    echo "Python ${missing[*]} missing: those versions were not tested" >&2
fi
