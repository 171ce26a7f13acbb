#!/usr/bin/env bash
# The test command: installs what the tests need (as root, on Debian 12), builds with warnings treated as
# failures, and runs every test against real sshd, epmd and erl processes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
mkdir -p /run/sshd 2>/dev/null || true

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
# Warnings of our own code fail the run (scripts/build-warnings.sh says which lines are ours).
if ! scripts/build-warnings.sh < "$log" 2> /dev/null; then
    echo "test.sh: the build shows warnings (above); fix them" >&2
    exit 1
fi
# Serial: the tests start real servers and measure detection times; parallel runs on small machines
# would turn CPU contention into false failures. A hung test ends the run with its stacks (watch-tests.sh).
# The test binary runs directly, not through `swift test`, which holds the tests' output back in its buffer: a
# run that is stopped shows where it was.
bin=$(swift build --show-bin-path)
NO_COLOR=1 scripts/watch-tests.sh "$bin/controlnodePackageTests.xctest" --testing-library swift-testing --no-parallel
# Then each fuzz target for 20 s (FUZZING.md; 600 s runs are recorded there): a crash, trap or hang it finds
# fails the run. 20 s keeps the whole CI run near its 30-minute budget.
for target in $(scripts/fuzz.sh --list); do scripts/fuzz.sh "$target" 20; done
