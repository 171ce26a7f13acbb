#!/usr/bin/env bash
# Runs one libFuzzer target of the fuzz/ package (see FUZZING.md) for a number of seconds.
#
#   scripts/fuzz.sh --list              the target names, one a line
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#
# Builds the target first when needed (debug, address sanitizer, libFuzzer coverage on the library too) in
# .build-fuzz. Starts from the committed seeds in fuzz/corpus/TARGET and keeps what it learns in
# .build-fuzz/corpus/TARGET, so the work tree stays clean. A crash, a Swift trap, a timeout or a memory blow-up
# is written to fuzz/artifacts/TARGET/ (ignored by git) and makes this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

targets() {
    sed -n 's/^ *fuzzTarget("\([a-z0-9-]*\)".*/\1/p' fuzz/Package.swift
}

if [ "${1:-}" = "--list" ]; then
    targets
    exit 0
fi
if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...] | scripts/fuzz.sh --list" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
if ! targets | grep -qx "$target"; then
    echo "fuzz.sh: no target $target; the targets are: $(targets | tr '\n' ' ')" >&2
    exit 2
fi

scratch=.build-fuzz
# SwiftPM's own --sanitize=fuzzer lets libFuzzer supply main(); its sanitizer flags reach swiftc as separate
# -sanitize= options, of which swiftc keeps only the last, so the combined list is passed after them.
# lld, because gold warns about every address-sanitizer helper symbol.
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! swift build --package-path fuzz --scratch-path "$scratch" --product "$target" \
    --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld > "$build_log" 2>&1; then
    cat "$build_log" >&2
    echo "fuzz.sh: building $target failed" >&2
    exit 1
fi
if ! scripts/build-warnings.sh < "$build_log"; then
    echo "fuzz.sh: building $target shows warnings (above); fix them" >&2
    exit 1
fi

corpus="$scratch/corpus/$target"
artifacts="fuzz/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
log="$scratch/fuzz-$target.log"
echo "fuzz.sh: $target for $seconds s (log: $log)" >&2
# -timeout: one input taking 10 s is a hang worth reporting; -rss_limit_mb: a parser that lets input size its
# allocations shows up as an out-of-memory crash rather than as a slow machine.
options=()
case "$target" in
    # Each input arms EPMD's 5-second answer deadline, whose timer outlives the input: libFuzzer then sees more
    # allocations than frees after every input and scans the whole heap for leaks, 20 times slower. Leaks in
    # what the other targets share with it (streams, packet reading) are still checked there.
    epmd) options+=(-detect_leaks=0) ;;
esac
status=0
# Swift's own crash backtracer would run inside the address sanitizer's process and trip it; libFuzzer's
# handler reports the trap and keeps the input instead.
SWIFT_BACKTRACE=enable=no "$scratch/debug/$target" "$corpus" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${options[@]+"${options[@]}"} "$@" > "$log" 2>&1 || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
# libFuzzer's own last word on the corpus it keeps ("corp: 681/252Kb") and the edges covered.
corp=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1)
echo "fuzz.sh: $target: ${runs:-?} executions, ${speed:-?} per second, ${corp:-no coverage line}" >&2
if [ "$status" -ne 0 ]; then
    grep -E "ERROR|Fatal error|SUMMARY|==[0-9]+==|Test unit written" "$log" | head -20 >&2 || true
    echo "fuzz.sh: $target found a failure (exit $status); the input is in $artifacts/, the output in $log" >&2
    exit 1
fi
