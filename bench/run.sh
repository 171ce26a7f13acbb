#!/usr/bin/env bash
# Benchmarks: bench/run.sh GROUP (ssh, dist, release, daemon, scale, rollout, cluster, all).
# Each group prints one JSON line per scenario: ours and the baseline measured side by side in the same run,
# as medians of several runs, with ratio = ours / baseline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
group=${1:-all}
cd "$here/.."
swift build -c release --product ControlNodeBench >&2
export BENCH_TOOL="$PWD/.build/release/ControlNodeBench"
run_group() {
    if [ -x "$here/$1.sh" ]; then "$here/$1.sh"; else echo "bench group $1 is not written yet" >&2; return 1; fi
}
case "$group" in
    all) for g in ssh dist release daemon scale rollout cluster; do [ -x "$here/$g.sh" ] && run_group "$g"; done ;;
    *) run_group "$group" ;;
esac
