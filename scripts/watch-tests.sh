#!/usr/bin/env bash
# Runs a test command ("$@", the Swift Testing binary) under a watchdog. When no test starts or ends for
# TEST_STALL_SECONDS (1200 by default, four times the longest test here), it prints the last tests to start and every
# thread's stack of the test process (gdb), ends the run and fails: one hung test cannot use up CI's time, and its
# report says where it hung. Exits with the command's status otherwise.
set -uo pipefail
stall_limit=${TEST_STALL_SECONDS:-1200}
output=$(mktemp)
trap 'rm -f "$output"' EXIT

"$@" > >(tee "$output") 2>&1 &
runner=$!

last=-1
quiet=0
while kill -0 "$runner" 2> /dev/null; do
    sleep 5
    progress=$(grep -c -E '^(◇|✔|✘) (Test|Suite)' "$output")
    if [ "$progress" != "$last" ]; then
        last=$progress
        quiet=0
        continue
    fi
    quiet=$((quiet + 5))
    [ "$quiet" -lt "$stall_limit" ] && continue
    {
        echo "watch-tests.sh: no test started or ended for ${stall_limit} s; the last ones to start:"
        grep -E '^◇ Test ' "$output" | tail -3
        echo "watch-tests.sh: the stacks of the test process (pid $runner):"
        if command -v gdb > /dev/null; then
            timeout 120 gdb -p "$runner" -batch -ex "thread apply all bt 25" 2>&1 | grep -E '^(Thread|#)' | head -800
        else
            echo "(gdb is not installed: apt-get install gdb)"
        fi
        echo "watch-tests.sh: the run was ended; fix the hang above"
    } >&2
    kill -KILL "$runner" 2> /dev/null
    wait "$runner" 2> /dev/null
    exit 1
done
wait "$runner"
