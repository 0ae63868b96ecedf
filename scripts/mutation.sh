#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut: each mutant is one small change to a
# module (an operator, a constant, a call), and some test of the fast tier must fail for it.
#
#   scripts/mutation.sh                                  every core module (CORE below)
#   scripts/mutation.sh windows records/timestamps       the named modules of the package
#   scripts/mutation.sh --resume [module ...]            finish an interrupted run
#
# It prints, per module: mutants, killed, survived, score, the survivors listed as
# equivalent in tests/mutation_equivalents.md (a change no behaviour can show, each with
# its reason), and the score over the mutants that are not equivalent; then every
# survivor that is not listed. The settings are under [tool.mutmut] in pyproject.toml:
# the fast tier only, without the two tests that read the package's source text
# (mutmut's rewritten copies of the modules are far longer), and process_isolation = "forkserver" (mutants run in processes
# forked from one that never ran a test: the fast tier starts sandboxes and threads, and a
# fork of a process holding them can count a mutant as killed that no test killed).
# mutmut works in mutants/ (removed first, so no earlier result is counted) and writes its
# progress to mutants.log. --resume keeps mutants/ and runs only the mutants of the modules
# that are still unchecked (same commit only: results of changed code are not redone). MUTATION_CHILDREN (default 2) mutants run at once. It takes
# hours for the whole core on two cores, so it is not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
CORE=(
    windows
    records/timestamps
    records/csv_records
    records/row_function
    extraction/state_input
    extraction/checkpoint
    emarsys/token_ledger
    emarsys/token_cache
)
resume=false
if [ "${1:-}" = "--resume" ]; then
    resume=true
    shift
fi
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=("${CORE[@]}")
patterns=()
for module in "${modules[@]}"; do
    module="${module%.py}"
    module="${module#tap_emarsys_registrations/}"
    if [ ! -f "tap_emarsys_registrations/$module.py" ]; then
        echo "No module tap_emarsys_registrations/$module.py" >&2
        exit 2
    fi
    patterns+=("tap_emarsys_registrations.${module//\//.}.*")
done
[ -x .venv/bin/mutmut ] || scripts/bootstrap.sh
table() {
    .venv/bin/mutmut results --all true \
        | .venv/bin/python scripts/mutation_table.py --equivalents tests/mutation_equivalents.md \
            --meta mutants "$@"
}
if $resume && [ -d mutants ]; then
    # mutmut re-runs every mutant a pattern names, so name the unchecked ones instead
    mapfile -t targets < <(table --unchecked "${modules[@]}")
    echo "== mutmut on the ${#targets[@]} unchecked mutants of ${modules[*]} (progress in mutants.log)"
else
    rm -rf mutants mutants.log
    targets=("${patterns[@]}")
    echo "== mutmut on ${modules[*]} (progress in mutants.log)"
fi
if [ ${#targets[@]} -gt 0 ] \
    && ! .venv/bin/mutmut run --max-children "${MUTATION_CHILDREN:-2}" "${targets[@]}" >>mutants.log 2>&1; then
    tr '\r' '\n' <mutants.log | tail -n 20 >&2
    echo "mutmut failed; see mutants.log" >&2
    exit 1
fi
table "${modules[@]}"
