#!/usr/bin/env bash
# bench/run.sh daemon: the daemon itself, on one loopback "host" (a local sshd and EPMD) running the fixture
# release (Tests/Fixtures/service_app, built with mix release):
#   1. time from `controlnode run` to READY=1 with 1 release and with 20 releases on the host, all running,
#      median of 5 starts (each start adopts the running releases: EPMD lookups, a distribution connection
#      and three RPCs per release, over the host's one SSH connection). The 19 extra releases are the fixture
#      repacked under other names (bin/appN; RELEASE_NODE=appN);
#   2. the daemon's RSS, idle, with 1 and with 20 releases, beside a bare BEAM node (`erl -hidden`) connected
#      to the release, the floor of the reference library's footprint (it runs in a BEAM);
#   3. CPU time the daemon uses over 60 idle seconds with 20 releases (BENCH_IDLE_SECONDS to change);
#   4. the same RSS and idle CPU with metrics on (daemon.metrics_listen, node figures every 15 s) and a scrape
#      every 5 s, as a Prometheus server would make.
# Prints one JSON line per scenario.
set -euo pipefail
runs=${BENCH_RUNS:-5}
idle_seconds=${BENCH_IDLE_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
# Built as packaging/install.sh builds it (packaging/build.sh).
controlnode=$(packaging/build.sh)
. "$here/../scripts/loopback-host.sh"
workspace bench-daemon

# The fixture release, built the way the tests build it, stored in a registry by the daemon's own CLI, 20 times.
. "$here/daemon-lib.sh"
local_fleet

# The first start deploys the 20 releases (manage mode, nothing running yet); it is not timed.
start_daemon "$work/20.toml" > /dev/null
stop_daemon

ready_1=(); ready_20=()
for _ in $(seq 1 "$runs"); do
    ready_1+=("$(start_daemon "$work/1.toml")")
    rss_1=$(rss_kib "$(cat "$work/daemon.pid")")
    stop_daemon
    ready_20+=("$(start_daemon "$work/20.toml")")
    stop_daemon
done
r1=$(printf '%s\n' "${ready_1[@]}" | median)
r20=$(printf '%s\n' "${ready_20[@]}" | median)
echo "{\"scenario\":\"ready_1_release\",\"ours_s\":$r1,\"runs_s\":$(json_list "${ready_1[@]}"),\"note\":\"controlnode run until READY=1, adopting a running release\"}"
echo "{\"scenario\":\"ready_20_releases\",\"ours_s\":$r20,\"runs_s\":$(json_list "${ready_20[@]}"),\"note\":\"target <= 1 s\"}"

# A bare hidden BEAM node connected to the release: what the reference library costs at least.
ERL_EPMD_PORT=$epmd_port erl -sname "bench_beam_$$" -hidden -noshell -noinput -setcookie "$(cat "$work/cookie")" \
    -eval "true = net_kernel:connect_node('service_app@$(hostname -s)'), receive after infinity -> ok end." \
    > "$work/beam.log" 2>&1 &
beam_pid=$!
pids+=("$beam_pid")

# Idle: RSS after settling, and CPU over the idle window, with 20 releases.
start_daemon "$work/20.toml" > /dev/null
daemon_pid=$(cat "$work/daemon.pid")
sleep 5
rss_20=$(rss_kib "$daemon_pid")
beam_rss=$(rss_kib "$beam_pid")
ticks_before=$(cpu_ticks "$daemon_pid")
sleep "$idle_seconds"
ticks_after=$(cpu_ticks "$daemon_pid")
rss_20_after=$(rss_kib "$daemon_pid")
stop_daemon
hz=$(getconf CLK_TCK)
# How much of packaging/controlnode.order the binary still has: names gone since it was made cost memory, and
# packaging/symbol-order.sh makes it anew.
order_names() { grep -v '^#' packaging/controlnode.order | LC_ALL=C sort -u; }
order_found=$(nm --defined-only "$controlnode" | awk '{ print $NF }' | LC_ALL=C sort -u |
    LC_ALL=C comm -12 - <(order_names) | wc -l)
order_share=$(ratio "$order_found" "$(order_names | wc -l)")
cpu_percent=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$hz" -v s="$idle_seconds" 'BEGIN { printf "%.3f", 100 * t / hz / s }')
echo "{\"scenario\":\"rss_1_release\",\"ours_mib\":$(awk -v k="$rss_1" 'BEGIN { printf "%.1f", k / 1024 }'),\"baseline_mib\":$(awk -v k="$beam_rss" 'BEGIN { printf "%.1f", k / 1024 }'),\"ratio\":$(ratio "$rss_1" "$beam_rss"),\"baseline\":\"bare hidden erl node connected to the release (the reference library runs in one; measured 65-70 MB)\"}"
echo "{\"scenario\":\"rss_20_releases\",\"ours_mib\":$(awk -v k="$rss_20" 'BEGIN { printf "%.1f", k / 1024 }'),\"after_idle_mib\":$(awk -v k="$rss_20_after" 'BEGIN { printf "%.1f", k / 1024 }'),\"baseline_mib\":$(awk -v k="$beam_rss" 'BEGIN { printf "%.1f", k / 1024 }'),\"ratio\":$(ratio "$rss_20" "$beam_rss"),\"order_file_found\":$order_share,\"note\":\"target <= 20 MB\"}"
echo "{\"scenario\":\"idle_cpu_20_releases\",\"ours_percent_of_core\":$cpu_percent,\"seconds\":$idle_seconds,\"note\":\"target <= 0.5 %\"}"

# Metrics on: the same 20 releases, /metrics on loopback scraped every 5 s, each node asked every 15 s.
metrics_port=$(free_port)
sed "s|^\[daemon\]$|[daemon]\nmetrics_listen = \"127.0.0.1:$metrics_port\"|" "$work/20.toml" > "$work/20m.toml"
start_daemon "$work/20m.toml" > /dev/null
daemon_pid=$(cat "$work/daemon.pid")
scrape() { curl -sf "http://127.0.0.1:$metrics_port/metrics" -o "$work/metrics.txt" || bench_fail "the scrape failed" "$work/daemon.log"; }
# Settle past the first node figures of every release (asked within the first 15 s), scraping as Prometheus would.
for _ in 1 2 3 4; do scrape; sleep 5; done
series=$(grep -vc '^#' "$work/metrics.txt")
grep -q '^controlnode_node_processes{' "$work/metrics.txt" || bench_fail "no node figures were scraped" "$work/daemon.log"
rss_20m=$(rss_kib "$daemon_pid")
ticks_before=$(cpu_ticks "$daemon_pid")
for _ in $(seq 1 $((idle_seconds / 5))); do sleep 5; scrape; done
ticks_after=$(cpu_ticks "$daemon_pid")
rss_20m_after=$(rss_kib "$daemon_pid")
stop_daemon
cpu_m=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$hz" -v s="$idle_seconds" 'BEGIN { printf "%.3f", 100 * t / hz / s }')
echo "{\"scenario\":\"rss_20_releases_metrics_on\",\"ours_mib\":$(mib "$rss_20m"),\"after_idle_mib\":$(mib "$rss_20m_after"),\"metrics_off_mib\":$(mib "$rss_20"),\"delta_mib\":$(awk -v a="$rss_20m_after" -v b="$rss_20" 'BEGIN { printf "%.1f", (a - b) / 1024 }'),\"series\":$series,\"note\":\"target: at most 3 MB above metrics off\"}"
echo "{\"scenario\":\"idle_cpu_20_releases_metrics_on\",\"ours_percent_of_core\":$cpu_m,\"metrics_off_percent\":$cpu_percent,\"seconds\":$idle_seconds,\"note\":\"node figures every 15 s, a scrape every 5 s\"}"
