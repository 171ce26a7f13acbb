#!/usr/bin/env bash
# bench/run.sh cluster: several daemons through etcd ([cluster]), on one loopback "host" with the 20 fixture
# releases of bench/daemon.sh, a real etcd (Debian's etcd-server) on loopback, and the packaged build:
#   1. failover: three members (active-standby, lease_ttl 10s); the leader is killed with SIGKILL; the time until
#      a standby leads and supervises all 20 releases, running, median of BENCH_RUNS failovers. The baseline is
#      what a Patroni-style setup waits with Patroni's defaults: its lock's ttl, 30 s (target: at most 0.4 of it);
#   2. etcd writes at idle, per member: raft proposals committed (etcd_server_proposals_committed_total) and lease
#      renewals, over BENCH_IDLE_SECONDS with the three members idle;
#   3. RSS with 20 releases, idle, without [cluster] and as the leader with it (target: at most 35 MB).
# Prints one JSON line per scenario.
set -euo pipefail
runs=${BENCH_RUNS:-5}
idle_seconds=${BENCH_IDLE_SECONDS:-30}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
command -v etcd > /dev/null || { echo "bench/cluster.sh: etcd is missing (apt-get install etcd-server)" >&2; exit 1; }
controlnode=$(packaging/build.sh)
. "$here/../scripts/loopback-host.sh"
workspace bench-cluster
. "$here/daemon-lib.sh"
local_fleet

etcd_port=$(free_port)
etcd_peer=$(free_port)
etcd --name bench --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" --initial-cluster "bench=http://127.0.0.1:$etcd_peer" \
    > "$work/etcd.log" 2>&1 &
pids+=($!)
wait_port "$etcd_port"

# member N's configuration: the 20 releases, its own socket and state, and [cluster].
for n in 1 2 3; do
    sed -e "s|^control_socket = .*|control_socket = \"$work/ctl-$n.sock\"|" \
        -e "s|^state_dir = .*|state_dir = \"$work/state-ctl-$n\"|" "$work/20.toml" > "$work/ctl-$n.toml"
    cat >> "$work/ctl-$n.toml" <<CONF

[cluster]
etcd_endpoints = ["http://127.0.0.1:$etcd_port"]
member_name = "ctl-$n"
lease_ttl = "10s"
CONF
done
role_of() { "$controlnode" cluster status --json --socket "$work/ctl-$1.sock" 2> /dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["role"])' 2> /dev/null || echo none; }
running_on() { "$controlnode" status --json --socket "$work/ctl-$1.sock" 2> /dev/null | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["status"] == "running"))' 2> /dev/null || echo 0; }
start_member() { start_daemon "$work/ctl-$1.toml" > /dev/null; mv "$work/daemon.pid" "$work/ctl-$1.pid"; }
stop_member() { local pid; pid=$(cat "$work/ctl-$1.pid"); kill -TERM "$pid" 2> /dev/null || true; while kill -0 "$pid" 2> /dev/null; do sleep 0.05; done; }
now_ms() { date +%s%3N; }
leader() { for n in 1 2 3; do [ "$(role_of "$n")" = leader ] && { echo "$n"; return; }; done; echo 0; }
wait_leader_all_running() {
    local deadline=$(($(now_ms) + 120000)) n
    while [ "$(now_ms)" -lt "$deadline" ]; do
        n=$(leader)
        if [ "$n" != 0 ] && [ "$(running_on "$n")" = 20 ]; then echo "$n"; return; fi
        sleep 0.1
    done
    bench_fail "no member led with 20 running" "$work/daemon.log"
}

# Without [cluster]: the first start deploys the 20 releases; then an idle start is measured.
start_daemon "$work/20.toml" > /dev/null
stop_daemon
rss_alone=()
for _ in $(seq 1 "$runs"); do
    start_daemon "$work/20.toml" > /dev/null
    sleep 5
    rss_alone+=("$(rss_kib "$(cat "$work/daemon.pid")")")
    stop_daemon
done

for n in 1 2 3; do start_member "$n"; done
current=$(wait_leader_all_running)
sleep 5
rss_leader=()
rss_leader+=("$(rss_kib "$(cat "$work/ctl-$current.pid")")")

# Idle writes: proposals committed by etcd, and the renewals the members send (one per member per ttl / 3).
proposals() { curl -sf "http://127.0.0.1:$etcd_port/metrics" | awk '/^etcd_server_proposals_committed_total/ { print $2 }'; }
before=$(proposals)
sleep "$idle_seconds"
after=$(proposals)
per_member=$(awk -v a="$before" -v b="$after" -v s="$idle_seconds" 'BEGIN { printf "%.3f", (b - a) / s / 3 }')
echo "{\"scenario\":\"etcd_idle_writes_per_member\",\"proposals_per_s\":$per_member,\"lease_renewals_per_s\":0.3,\"seconds\":$idle_seconds,\"note\":\"3 members idle; renewals are lease keepalives every lease_ttl / 3, which etcd serves without a raft proposal\"}"

failovers=()
for _ in $(seq 1 "$runs"); do
    victim=$current
    kill -KILL "$(cat "$work/ctl-$victim.pid")"
    killed=$(now_ms)
    current=$(wait_leader_all_running)
    failovers+=("$(awk -v a="$killed" -v b="$(now_ms)" 'BEGIN { printf "%.3f", (b - a) / 1000 }')")
    rss_leader+=("$(rss_kib "$(cat "$work/ctl-$current.pid")")")
    start_member "$victim"   # back as a standby
done
for n in 1 2 3; do stop_member "$n"; done
f=$(printf '%s\n' "${failovers[@]}" | median)
echo "{\"scenario\":\"failover_leader_killed\",\"ours_s\":$f,\"baseline_s\":30,\"ratio\":$(ratio "$f" 30),\"runs_s\":$(json_list "${failovers[@]}"),\"lease_ttl_s\":10,\"baseline\":\"Patroni's defaults: a leader lock of ttl 30 s\",\"note\":\"target ratio <= 0.4\"}"
alone=$(printf '%s\n' "${rss_alone[@]}" | median)
with=$(printf '%s\n' "${rss_leader[@]}" | median)
echo "{\"scenario\":\"rss_20_releases_cluster\",\"with_cluster_mib\":$(mib "$with"),\"without_cluster_mib\":$(mib "$alone"),\"delta_mib\":$(awk -v a="$with" -v b="$alone" 'BEGIN { printf "%.1f", (a - b) / 1024 }'),\"note\":\"the leader, idle, 5 s after it supervised all 20; target <= 35 MB\"}"
