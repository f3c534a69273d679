#!/usr/bin/env bash
# Run the offline suite several times with the same seeds, pinned to one CPU core that a
# busy loop keeps loaded: a test that races the clock or the scheduler fails here first.
#
#   scripts/soak.sh [RUNS] [pytest args...]     (RUNS defaults to 10)
#
# Hypothesis draws from a fixed seed, and every other random choice in the suite comes
# from seeded generators, so each run sees the same inputs; only the timing differs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
shift || true
core=${SOAK_CORE:-0}
python=${SOAK_PYTHON:-.venv/bin/python}

taskset -c "$core" sh -c 'while :; do :; done' &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT

for run in $(seq 1 "$runs"); do
    started=$(date +%s)
    if taskset -c "$core" "$python" -m pytest -q -p no:cacheprovider \
        --hypothesis-seed=20261206 "$@" >"/tmp/soak-run-$run.log" 2>&1; then
        verdict=passed
    else
        verdict=FAILED
    fi
    summary=$(tail -n 1 "/tmp/soak-run-$run.log")
    echo "run $run of $runs: $verdict in $(($(date +%s) - started)) s: $summary"
    if [ "$verdict" = FAILED ]; then
        grep -E "^(FAILED|ERROR)" "/tmp/soak-run-$run.log" || true
        exit 1
    fi
done
