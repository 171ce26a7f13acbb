#!/usr/bin/env bash
# Reads a build log on stdin and prints its warnings and errors that are about controlnode's own code (to stderr);
# exits 1 when there is one, 0 when there is none. scripts/test.sh and scripts/fuzz.sh fail a build that has any.
# Two kinds of lines are not ours and are left out: SwiftPM's notes on the 'controlnode' manifest, and a
# dependency's manifest that leaves a file undeclared (swift-distributed-tracing, which async-http-client brings,
# has one).
set -euo pipefail
if grep -E "(warning|error):" | grep -v "^warning: 'controlnode'" \
    | grep -v -E "^warning: '[a-z0-9-]+': found [0-9]+ file\(s\) which are unhandled" >&2; then
    exit 1
fi
exit 0
