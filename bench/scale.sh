#!/usr/bin/env bash
# bench/run.sh scale: the daemon against test hosts in network namespaces (scripts/test-hosts.sh; needs root),
# with its default settings (keepalive 5 s, 3 missed; tick timeout 15 s):
#   1. time from `controlnode run` to READY=1 with 200 (release, host) pairs, all running: 8 hosts × 25 release
#      names (the fixture release repacked as r01 ... r25, started small: interactive code loading, one
#      scheduler); median of BENCH_RUNS starts, each adopting the 200 running releases;
#   2. the daemon's RSS with 1, 50 and 200 pairs, 5 s after READY=1, beside a bare hidden BEAM node (the
#      reference library runs in one; its own measured figure is 65-70 MB with one release);
#   3. CPU time the daemon uses over BENCH_IDLE_SECONDS (60) idle seconds with 200 pairs, with metrics off and
#      with metrics on (node figures every 15 s, a scrape every 15 s);
#   4. partition detection: the links of hosts 6, 7 and 8 go down at once (no FIN, no RST); ours is the time
#      until `controlnode status` shows all of a host's releases unreachable, the baseline the time until a
#      plain Erlang node with the default net_ticktime (60 s), connected over the same links to a node on each
#      of those hosts, gets nodedown. Three hosts give three samples of each from one partition.
# Prints one JSON line per scenario.
set -euo pipefail
runs=${BENCH_RUNS:-3}
idle_seconds=${BENCH_IDLE_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
if [ "$(id -u)" != 0 ]; then echo "bench scale needs root for network namespaces" >&2; exit 1; fi
controlnode=$(packaging/build.sh)
. "$here/../scripts/loopback-host.sh"
# Not under /tmp: 200 releases are extracted here, and /tmp can be small or crowded.
work=$(mktemp -d "${BENCH_BASE_DIR:-/var/tmp}/controlnode-bench-scale.XXXXXX")
chmod 755 "$work"
pids=()
prefix="cnb$(printf '%04x' $RANDOM)"
cleanup() { bash "$here/../scripts/test-hosts.sh" down "$prefix" || true; workspace_cleanup; }
trap cleanup EXIT
in_daemon_ns() { ip netns exec "$prefix-d" "$@"; }

build_fixture_release 0.1.0
bash "$here/../scripts/test-hosts.sh" up "$prefix" 8 "$work" >&2
mkdir -p "$work/repack"
tar -xzf "$work/src/_build/prod/service_app-0.1.0.tar.gz" -C "$work/repack"
previous=service_app
names=()
for i in $(seq -w 1 25); do
    mv "$work/repack/bin/$previous" "$work/repack/bin/r$i"
    previous=r$i
    names+=("r$i")
    (cd "$work/repack" && tar -I 'gzip -1' -cf "$work/r$i-0.1.0.tar.gz" -- *)
    "$controlnode" registry add "$work/r$i-0.1.0.tar.gz" --registry "$work/registry" >&2
done
head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$work/cookie"
chmod 600 "$work/cookie"
# The baseline's Erlang nodes read the same cookie from their home directory, not from their command line.
mkdir -p "$work/erlhome"
cp "$work/cookie" "$work/erlhome/.erlang.cookie"
chmod 400 "$work/erlhome/.erlang.cookie"

# write_config FILE NAMES HOSTS: the releases r01..rNAMES on host1..hostHOSTS, manage mode, daemon defaults.
write_config() {
    local file=$1 count=$2 hosts=$3 n list
    list=$(for n in $(seq 1 "$hosts"); do printf '"host%s", ' "$n"; done)
    cat > "$file" <<CONF
[daemon]
control_socket = "$work/control.sock"
registry = "$work/registry"
state_dir = "$work/state"
known_hosts = "$work/known_hosts"
log_level = "warning"
CONF
    for n in $(seq 1 "$hosts"); do
        printf '\n[hosts.host%s]\naddress = "198.18.0.%s"\nuser = "root"\nidentity_file = "%s"\n' \
            "$n" $((10 + n)) "$work/id_ed25519" >> "$file"
    done
    for name in "${names[@]:0:$count}"; do
        cat >> "$file" <<CONF

[releases.$name]
base_path = "$work/opt/$name"
cookie_file = "$work/cookie"
hosts = [${list%, }]
version = "0.1.0"
start_timeout = "10m"
env = { RELEASE_NODE = "$name", RELEASE_MODE = "interactive", ERL_FLAGS = "+S 1:1 +SDcpu 1:1 +SDio 1 +A 1" }
CONF
    done
}
write_config "$work/200.toml" 25 8
write_config "$work/50.toml" 25 2
write_config "$work/1.toml" 1 1

. "$here/daemon-lib.sh"
start_daemon_ns() { start_daemon "$1" ip netns exec "$prefix-d"; }
# status_count STATUS [HOST]: how many rows have that status (on that host).
status_count() {
    "$controlnode" status --json --socket "$work/control.sock" 2>/dev/null |
        python3 -c "import json,sys; rows=json.load(sys.stdin); print(sum(1 for r in rows if r['status']=='$1' and ('${2:-}'=='' or r['host']=='${2:-}')))" ||
        echo 0
}

# The first start deploys all 200 (not timed); then every start adopts them.
start_daemon_ns "$work/200.toml" > /dev/null
for _ in $(seq 1800); do [ "$(status_count running)" = 200 ] && break; sleep 0.5; done
[ "$(status_count running)" = 200 ] || bench_fail "the 200 releases did not all start" "$work/daemon.log"
stop_daemon

ready_200=(); rss_200=(); rss_50=(); rss_1=()
for _ in $(seq 1 "$runs"); do
    ready_200+=("$(start_daemon_ns "$work/200.toml")")
    sleep 5
    rss_200+=("$(rss_kib "$(cat "$work/daemon.pid")")")
    stop_daemon
    start_daemon_ns "$work/50.toml" > /dev/null; sleep 5
    rss_50+=("$(rss_kib "$(cat "$work/daemon.pid")")")
    stop_daemon
    start_daemon_ns "$work/1.toml" > /dev/null; sleep 5
    rss_1+=("$(rss_kib "$(cat "$work/daemon.pid")")")
    stop_daemon
done

# The baseline's node: a bare hidden BEAM on host 1 connected to a release there (it listens on the host's
# loopback; the inetrc file lets the node name resolve).
echo '{host, {127,0,0,1}, ["host1"]}.' > "$work/inetrc"
ip netns exec "$prefix-h1" nsenter -t "$(cat "$work/host1/sshd.pid")" -m -u env ERL_INETRC="$work/inetrc" HOME="$work/erlhome" \
    erl -sname "bench_beam_$$" -hidden -noshell -noinput \
    -eval "true = net_kernel:connect_node('r01@host1'), receive after infinity -> ok end." > "$work/beam.log" 2>&1 &
pids+=($!)
sleep 5
beam_pid=$(pgrep -f "beam.*bench_beam_$$" | head -1 || true)
[ -n "$beam_pid" ] || bench_fail "the baseline BEAM did not stay up" "$work/beam.log"
beam_rss=$(rss_kib "$beam_pid")

r200=$(printf '%s\n' "${ready_200[@]}" | median)
m200=$(printf '%s\n' "${rss_200[@]}" | median); m50=$(printf '%s\n' "${rss_50[@]}" | median)
m1=$(printf '%s\n' "${rss_1[@]}" | median)
echo "{\"scenario\":\"ready_200_pairs\",\"ours_s\":$r200,\"runs_s\":$(json_list "${ready_200[@]}"),\"note\":\"target <= 5 s\"}"
for pair in "1 $m1" "50 $m50" "200 $m200"; do
    set -- $pair
    echo "{\"scenario\":\"rss_$1_pairs\",\"ours_mib\":$(mib "$2"),\"baseline_mib\":$(mib "$beam_rss"),\"ratio\":$(ratio "$2" "$beam_rss"),\"baseline\":\"bare hidden BEAM node connected to one release\"$([ "$1" = 200 ] && echo ',"note":"target <= 40 MB"')}"
done

# Idle: the 200 pairs connected, nothing happening.
start_daemon_ns "$work/200.toml" > /dev/null
daemon_pid=$(cat "$work/daemon.pid")
sleep 5
ticks_before=$(cpu_ticks "$daemon_pid")
sleep "$idle_seconds"
ticks_after=$(cpu_ticks "$daemon_pid")
cpu_percent=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v s="$idle_seconds" \
    'BEGIN { printf "%.3f", 100 * t / hz / s }')
echo "{\"scenario\":\"idle_cpu_200_pairs\",\"ours_percent_of_core\":$cpu_percent,\"seconds\":$idle_seconds,\"note\":\"target <= 1 %\"}"
# The same with metrics on: every node asked for its figures every 15 s (the default), /metrics scraped every 15 s.
stop_daemon
sed "s|^\[daemon\]$|[daemon]\nmetrics_listen = \"127.0.0.1:9568\"|" "$work/200.toml" > "$work/200m.toml"
start_daemon_ns "$work/200m.toml" > /dev/null
daemon_pid=$(cat "$work/daemon.pid")
scrape() { in_daemon_ns curl -sf http://127.0.0.1:9568/metrics -o "$work/metrics.txt" || bench_fail "the scrape failed" "$work/daemon.log"; }
sleep 20
scrape
[ "$(grep -c '^controlnode_node_processes{' "$work/metrics.txt")" = 200 ] ||
    bench_fail "$(grep -c '^controlnode_node_processes{' "$work/metrics.txt") of 200 nodes gave figures" "$work/daemon.log"
rss_200m=$(rss_kib "$daemon_pid")
ticks_before=$(cpu_ticks "$daemon_pid")
for _ in $(seq 1 $((idle_seconds / 15))); do sleep 15; scrape; done
ticks_after=$(cpu_ticks "$daemon_pid")
cpu_m=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v s=$((idle_seconds / 15 * 15)) \
    'BEGIN { printf "%.3f", 100 * t / hz / s }')
echo "{\"scenario\":\"idle_cpu_200_pairs_metrics_on\",\"ours_percent_of_core\":$cpu_m,\"metrics_off_percent\":$cpu_percent,\"rss_mib\":$(mib "$rss_200m"),\"series\":$(grep -vc '^#' "$work/metrics.txt"),\"note\":\"target <= 1 %, node figures every 15 s\"}"
stop_daemon
start_daemon_ns "$work/200.toml" > /dev/null
# Partition: Erlang's own detection over the same links, beside ours. Each cut host runs a plain node on its
# 198.18 address (EPMD on port 4370, apart from the releases' own); a watcher in the daemon's namespace
# connects to them with the default net_ticktime.
peers=()
for n in 6 7 8; do
    ip netns exec "$prefix-h$n" epmd -port 4370 > /dev/null 2>&1 &
    pids+=($!)
    # Listening before the node starts, or erl would start an EPMD of its own.
    for _ in $(seq 50); do ip netns exec "$prefix-h$n" epmd -port 4370 -names > /dev/null 2>&1 && break; sleep 0.1; done
    ip netns exec "$prefix-h$n" env ERL_EPMD_PORT=4370 HOME="$work/erlhome" erl -name "peer@198.18.0.$((10 + n))" \
        -noshell -noinput -eval "receive after infinity -> ok end." > "$work/peer$n.log" 2>&1 &
    pids+=($!)
    peers+=("'peer@198.18.0.$((10 + n))'")
done
in_daemon_ns epmd -port 4370 > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do in_daemon_ns epmd -port 4370 -names > /dev/null 2>&1 && break; sleep 0.1; done
sleep 2
in_daemon_ns env ERL_EPMD_PORT=4370 HOME="$work/erlhome" erl -name watcher@198.18.0.2 -hidden -noshell -noinput \
    -eval "
        Peers = [$(IFS=,; echo "${peers[*]}")],
        [true = net_kernel:connect_node(P) || P <- Peers],
        ok = net_kernel:monitor_nodes(true, [{node_type, all}]),
        io:format(\"connected~n\"),
        Wait = fun W(0) -> ok; W(K) -> receive {nodedown, Node, _} ->
            io:format(\"nodedown ~s ~b~n\", [Node, os:system_time(millisecond)]), W(K - 1)
            after 150000 -> io:format(\"no nodedown within 150 s~n\") end end,
        Wait(length(Peers)), halt()." > "$work/watcher.log" 2>&1 &
watcher=$!
pids+=("$watcher")
for _ in $(seq 300); do grep -q connected "$work/watcher.log" && break; sleep 0.1; done
grep -q connected "$work/watcher.log" || bench_fail "the Erlang watcher did not connect" "$work/watcher.log"
sleep 20  # both sides idle, as a quiet partition finds them
cut_ms=$(date +%s%3N)
for n in 6 7 8; do bash "$here/../scripts/test-hosts.sh" link "$prefix" "$n" down; done
declare -A ours=()
while [ ${#ours[@]} -lt 3 ] && [ $(( $(date +%s%3N) - cut_ms )) -lt 60000 ]; do
    for n in 6 7 8; do
        if [ -z "${ours[$n]:-}" ] && [ "$(status_count unreachable "host$n")" = 25 ]; then
            ours[$n]=$(( $(date +%s%3N) - cut_ms ))
        fi
    done
    sleep 0.1
done
wait "$watcher" || true
theirs=()
while read -r _ _ at; do theirs+=("$(awk -v a="$at" -v c="$cut_ms" 'BEGIN { printf "%.2f", (a - c) / 1000 }')"); done \
    < <(grep '^nodedown' "$work/watcher.log")
[ ${#theirs[@]} = 3 ] || bench_fail "the Erlang watcher saw ${#theirs[@]} of 3 nodedowns" "$work/watcher.log"
ours_s=()
[ ${#ours[@]} = 3 ] || bench_fail "only ${#ours[@]} of 3 cut hosts showed all releases unreachable within 60 s" "$work/daemon.log"
for n in 6 7 8; do ours_s+=("$(awk -v a="${ours[$n]}" 'BEGIN { printf "%.2f", a / 1000 }')"); done
o=$(printf '%s\n' "${ours_s[@]}" | median); t=$(printf '%s\n' "${theirs[@]}" | median)
echo "{\"scenario\":\"partition_detection\",\"ours_s\":$o,\"baseline_s\":$t,\"ratio\":$(ratio "$o" "$t"),\"ours_runs_s\":$(json_list "${ours_s[@]}"),\"baseline_runs_s\":$(json_list "${theirs[@]}"),\"baseline\":\"Erlang nodedown with the default net_ticktime (60 s)\",\"note\":\"target <= 15 s\"}"
stop_daemon
