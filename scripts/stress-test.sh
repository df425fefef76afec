#!/usr/bin/env bash
# Run the test suite N times in a row (default 10) and count the runs that passed.
#   scripts/stress-test.sh [N] [--hog] [-- PYTEST ARGS]
# --hog keeps one busy loop per CPU core running the whole time: the suite must pass on a busy
# machine as on an idle one. Each run's output goes to $STRESS_LOG_DIR (default a temp folder);
# the last line printed is "N passed, M failed" (runs).
set -uo pipefail
cd "$(dirname "$0")/.."

runs=10
hog=0
pytest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --hog) hog=1 ;;
        --) shift; pytest_args=("$@"); break ;;
        ''|*[!0-9]*) echo "usage: $0 [N] [--hog] [-- PYTEST ARGS]" >&2; exit 2 ;;
        *) runs=$1 ;;
    esac
    shift
done
if [ "$runs" -lt 1 ]; then
    echo "usage: $0 [N] [--hog] [-- PYTEST ARGS]  (N at least 1)" >&2
    exit 2
fi

log_dir=${STRESS_LOG_DIR:-$(mktemp -d -t ailive-stress.XXXXXX)}
mkdir -p "$log_dir"
hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null; done
    hogs=()
}
trap stop_hogs EXIT
trap 'stop_hogs; exit 130' INT TERM
if [ "$hog" = 1 ]; then
    for _ in $(seq "$(nproc)"); do
        sh -c 'while :; do :; done' &
        hogs+=("$!")
    done
    echo "CPU hog: ${#hogs[@]} busy loops (one per core)"
fi

passed=0
failed=0
for i in $(seq "$runs"); do
    log="$log_dir/run-$i.log"
    start=$(date +%s)
    if .venv/bin/python -m pytest -q -p no:cacheprovider "${pytest_args[@]}" >"$log" 2>&1; then
        passed=$((passed + 1))
        verdict=passed
    else
        failed=$((failed + 1))
        verdict="FAILED (see $log)"
    fi
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
    echo "run $i/$runs: $verdict in $(($(date +%s) - start)) s, load $load: $(tail -n 1 "$log")"
done
stop_hogs
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
