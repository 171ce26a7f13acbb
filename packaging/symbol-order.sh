#!/usr/bin/env bash
# Writes packaging/controlnode.order, the list of functions a running daemon executes, which packaging/build.sh
# hands to the linker to place them together. Run it again when the code has changed much (bench/run.sh daemon
# shows the cost of a stale list as resident memory), and commit the file.
#
# How: the daemon built by packaging/build.sh runs the bench's one-host fleet of 20 releases (bench/daemon-lib.sh)
# under valgrind's callgrind, the way a host runs it: a start that adopts the running releases, READY=1, two
# `controlnode status` requests, idle ticks and keepalives, SIGTERM; then the same with one release; then the 20
# again with metrics on (daemon.metrics_listen, node figures every 2 s) and a few scrapes. Every function callgrind
# saw executing in the binary goes in the list, sorted by name so that the file diffs well, plus the few
# that only run outside callgrind (it serialises threads, so lock contention never happens there), plus the names
# of the list it replaces that the binary still has (ORDER_FRESH=1 starts from nothing). The functions only the
# metrics run executes come last, after a `# metrics on` line, so that they do not spread out the code of a daemon
# without metrics. Takes about five minutes.
# Needs valgrind (apt-get install valgrind) besides what scripts/install-deps.sh installs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
command -v valgrind > /dev/null || { echo "symbol-order.sh: valgrind is missing; apt-get install valgrind" >&2; exit 1; }
idle_seconds=${ORDER_IDLE_SECONDS:-30}
built=$(packaging/build.sh)
. scripts/loopback-host.sh
workspace symbol-order
# Profiled without its debug information: valgrind 3.19 cannot read the DWARF 5 that clang writes for the C parts of
# the dependencies (SwiftNIO's), and the symbol table it keeps is all the list needs.
controlnode="$work/controlnode"
objcopy --strip-debug "$built" "$controlnode"
. bench/daemon-lib.sh
local_fleet

# The first start deploys the releases (nothing runs yet); the profiled one finds them running.
start_daemon "$work/20.toml" > /dev/null
stop_daemon
for count in 20 1; do
    echo "symbol-order.sh: the daemon under callgrind with $count releases, ${idle_seconds} s idle" >&2
    start_daemon "$work/$count.toml" valgrind --tool=callgrind --demangle=no --dump-instr=no \
        --callgrind-out-file="$work/callgrind-$count.out" > /dev/null
    "$controlnode" status --config "$work/$count.toml" > /dev/null
    "$controlnode" status --json --config "$work/$count.toml" > /dev/null
    sleep "$idle_seconds"
    stop_daemon
done
echo "symbol-order.sh: the daemon under callgrind with 20 releases and metrics on" >&2
metrics_port=$(free_port)
sed "s|^\[daemon\]$|[daemon]\nmetrics_listen = \"127.0.0.1:$metrics_port\"\nnode_metrics_interval = \"2s\"|" \
    "$work/20.toml" > "$work/20m.toml"
start_daemon "$work/20m.toml" valgrind --tool=callgrind --demangle=no --dump-instr=no \
    --callgrind-out-file="$work/metrics-20.out" > /dev/null
for _ in 1 2 3 4 5; do sleep 3; curl -sf "http://127.0.0.1:$metrics_port/metrics" > /dev/null; done
stop_daemon

nm --defined-only "$controlnode" | awk '{ print $NF }' > "$work/defined"
python3 - "$controlnode" "$work/defined" "$work/metrics-20.out" "$work"/callgrind-*.out > "$work/order" <<'PY'
import os, re, sys
binary, defined, metrics_profile, profiles = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
# Callgrind names each object (ob=, cob=) and function (fn=, cfn=) in full once, as "(id) name", then by "(id)".
# Objects are kept as resolved paths, resolved once each.
tables = {"ob": {}, "fn": {}}
def name(kind, value):
    resolve = os.path.realpath if kind == "ob" else str
    m = re.match(r"\((\d+)\)(?: (.*))?$", value)
    if not m:
        return resolve(value)
    if m.group(2) is not None:
        tables[kind][m.group(1)] = resolve(m.group(2))
    return tables[kind].get(m.group(1))
def executed(profiles):
  functions = set()
  for line in (line for profile in profiles for line in open(profile, errors="replace")):
      key, _, value = line.rstrip("\n").partition("=")
      if key.startswith("version:"):                          # a new profile, with its own ids
          tables, current, called = {"ob": {}, "fn": {}}, None, None
      elif key == "ob":
          current = name("ob", value)
      elif key == "cob":
          called = name("ob", value)
      elif key in ("fn", "cfn"):
          function = name("fn", value)
          obj = called if key == "cfn" and called else current
          if obj == binary and function:
              functions.add(re.sub(r"'\d+$", "", function))   # 'N marks a recursion level
          if key == "cfn":
              called = None
  return {f for f in functions if not f.startswith(("0x", "("))}
# Code valgrind could not name (shown as addresses) has no symbol to order; the entry point and the contention
# paths of locks run only outside callgrind's view.
functions = executed(profiles)
functions |= {"_start", "_dispatch_unfair_lock_lock_slow", "_dispatch_unfair_lock_unlock_slow"}
metrics = executed([metrics_profile]) - functions
# Each run sees a slightly different set (which thread waits on which lock varies): the names of the current list
# that the binary still defines stay, so the list is the union of every profile taken since ORDER_FRESH=1.
if os.environ.get("ORDER_FRESH") != "1" and os.path.exists("packaging/controlnode.order"):
    names = set(line.strip() for line in open(defined))
    tier = functions
    for line in open("packaging/controlnode.order"):
        if line.startswith("# metrics on"):
            tier = metrics
        elif not line.startswith("#") and line.strip() in names:
            tier.add(line.strip())
    metrics -= functions
print("# The functions a running daemon executes, placed together by the linker (packaging/build.sh).")
print("# Made by packaging/symbol-order.sh; make it anew after large code changes.")
print("\n".join(sorted(functions)))
print("# metrics on: what only a daemon serving /metrics executes")
print("\n".join(sorted(metrics)))
PY
mv "$work/order" packaging/controlnode.order
echo "symbol-order.sh: $(grep -vc '^#' packaging/controlnode.order) functions in packaging/controlnode.order" >&2
