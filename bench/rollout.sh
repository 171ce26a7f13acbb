#!/usr/bin/env bash
# bench/run.sh rollout: a new version rolled out to 8 test hosts in network namespaces (scripts/test-hosts.sh;
# needs root), with the fixture release, min_healthy_time = "0s" and no health check, beside what edeliver- and
# Capistrano-style scripts do: a sequential OpenSSH loop that, host by host, copies the tarball with scp,
# extracts it, stops the old node (bin/NAME stop), starts the new one (bin/NAME daemon) and waits for it in EPMD.
#   1. total time of a rollout with max_parallel 1 and with 4, against the loop's total;
#   2. each host's downtime (old node gone from the host's EPMD → new node registered), seen by a watcher on each
#      host that asks its EPMD every 10 ms, for ours (max_parallel 1) and the loop alike; and the floor the
#      target is stated against: the release's own stop time (SIGTERM → gone from EPMD) and cold boot
#      (bin/NAME daemon → registered), timed on host 1 itself.
# Medians of BENCH_RUNS (3) runs; each run rolls 0.1.0 → 0.2.0 or back. Prints one JSON line per scenario.
set -euo pipefail
runs=${BENCH_RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
if [ "$(id -u)" != 0 ]; then echo "bench rollout needs root for network namespaces" >&2; exit 1; fi
controlnode=$(packaging/build.sh)
. "$here/../scripts/loopback-host.sh"
work=$(mktemp -d "${BENCH_BASE_DIR:-/var/tmp}/controlnode-bench-rollout.XXXXXX")
chmod 755 "$work"
pids=()
prefix="cnr$(printf '%04x' $RANDOM)"
cleanup() { bash "$here/../scripts/test-hosts.sh" down "$prefix" || true; workspace_cleanup; }
trap cleanup EXIT
. "$here/daemon-lib.sh"
in_daemon_ns() { ip netns exec "$prefix-d" "$@"; }
hosts=8
base="$work/opt/service_app"

for version in 0.1.0 0.2.0; do
    build_fixture_release "$version"
    cp "$work/src/_build/prod/service_app-$version.tar.gz" "$work/"
done
bash "$here/../scripts/test-hosts.sh" up "$prefix" "$hosts" "$work" >&2
for version in 0.1.0 0.2.0; do
    "$controlnode" registry add "$work/service_app-$version.tar.gz" --registry "$work/registry" >&2
done
head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$work/cookie"
chmod 600 "$work/cookie"
list=$(for n in $(seq 1 "$hosts"); do printf '"host%s", ' "$n"; done)
{
    printf '[daemon]\ncontrol_socket = "%s"\nregistry = "%s"\nstate_dir = "%s"\nknown_hosts = "%s"\nlog_level = "warning"\n' \
        "$work/control.sock" "$work/registry" "$work/state" "$work/known_hosts"
    for n in $(seq 1 "$hosts"); do
        printf '\n[hosts.host%s]\naddress = "198.18.0.%s"\nuser = "root"\nidentity_file = "%s"\n' \
            "$n" $((10 + n)) "$work/id_ed25519"
    done
    cat <<CONF

[releases.service_app]
base_path = "$base"
cookie_file = "$work/cookie"
hosts = [${list%, }]
version = "0.1.0"
start_timeout = "60s"
env = { RELEASE_NODE = "service_app" }
update = { max_parallel = 1, min_healthy_time = "0s" }
CONF
} > "$work/controlnode.toml"

status_count() {
    "$controlnode" status --json --socket "$work/control.sock" 2>/dev/null |
        python3 -c "import json,sys; rows=json.load(sys.stdin); print(sum(1 for r in rows if r['status']=='$1' and r.get('version')=='$2'))" ||
        echo 0
}
start_fleet_daemon() {
    start_daemon "$work/controlnode.toml" ip netns exec "$prefix-d" > /dev/null
}
start_fleet_daemon
for _ in $(seq 600); do [ "$(status_count running 0.1.0)" = "$hosts" ] && break; sleep 0.5; done
[ "$(status_count running 0.1.0)" = "$hosts" ] || bench_fail "the 8 releases did not all start" "$work/daemon.log"

# A watcher per host, in its network namespace: asks the host's EPMD for its names every 10 ms and writes
# "down MS" when service_app leaves it and "up MS" when it is back (wall-clock milliseconds).
cat > "$work/watch.py" <<'PY'
import socket, sys, time
log = open(sys.argv[1], "a", buffering=1)
registered = None
while True:
    try:
        s = socket.create_connection(("127.0.0.1", 4369), timeout=1)
        s.sendall(b"\x00\x01n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        now = b"name service_app " in data
    except OSError:
        now = False
    if registered is not None and now != registered:
        log.write(("up" if now else "down") + " %d\n" % int(time.time() * 1000))
    registered = now
    time.sleep(0.01)
PY
for n in $(seq 1 "$hosts"); do
    ip netns exec "$prefix-h$n" python3 "$work/watch.py" "$work/watch-$n.log" &
    pids+=($!)
done
sleep 1

now_ms() { date +%s%3N; }
# downtimes FROM_MS TO_MS: each host's down → up interval within the window, in seconds, one per line.
downtimes() {
    for n in $(seq 1 "$hosts"); do
        awk -v from="$1" -v to="$2" '$2 >= from && $2 <= to { if ($1 == "down") d = $2; else if (d) { printf "%.3f\n", ($2 - d) / 1000; d = 0 } }' \
            "$work/watch-$n.log"
    done
}
seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.3f", (b - a) / 1000 }'; }

ssh_options=(-o BatchMode=yes -o UserKnownHostsFile="$work/known_hosts" -i "$work/id_ed25519")
# The loop of one host: what edeliver and Capistrano-style scripts do, each step its own OpenSSH command.
loop_host() {
    local address=$1 from=$2 to=$3
    in_daemon_ns scp -q "${ssh_options[@]}" "$work/service_app-$to.tar.gz" "root@$address:$base/.upload.tar.gz"
    in_daemon_ns ssh "${ssh_options[@]}" "root@$address" \
        "rm -rf $base/$to.new && mkdir -p $base/$to.new && tar -xzf $base/.upload.tar.gz -C $base/$to.new && rm -rf $base/$to && mv $base/$to.new $base/$to && rm $base/.upload.tar.gz"
    in_daemon_ns ssh "${ssh_options[@]}" "root@$address" \
        "cd $base/$from && RELEASE_COOKIE=\$(cat $work/cookie) RELEASE_NODE=service_app bin/service_app stop > /dev/null"
    in_daemon_ns ssh "${ssh_options[@]}" "root@$address" \
        "until ! epmd -names | grep -q 'name service_app '; do sleep 0.05; done; cd $base/$to && ln -sfn $to $base/current && RELEASE_COOKIE=\$(cat $work/cookie) RELEASE_NODE=service_app setsid bin/service_app daemon < /dev/null > /dev/null 2>&1"
    in_daemon_ns ssh "${ssh_options[@]}" "root@$address" "until epmd -names | grep -q 'name service_app '; do sleep 0.05; done"
}

current=0.1.0
other() { [ "$1" = 0.1.0 ] && echo 0.2.0 || echo 0.1.0; }
ours_1=(); ours_4=(); loop=(); ours_down=(); loop_down=(); stop_s=(); boot_s=()
for _ in $(seq 1 "$runs"); do
    for parallel in 1 4; do
        target=$(other "$current")
        started=$(now_ms)
        "$controlnode" deploy service_app "$target" --max-parallel "$parallel" --socket "$work/control.sock" > "$work/deploy.log" 2>&1 ||
            bench_fail "the rollout to $target failed" "$work/deploy.log"
        took=$(seconds_since "$started")
        ended=$(now_ms)
        if [ "$parallel" = 1 ]; then
            ours_1+=("$took")
            while read -r d; do ours_down+=("$d"); done < <(downtimes "$started" "$ended")
        else
            ours_4+=("$took")
        fi
        current=$target
    done
    # The loop runs with the daemon stopped (it leaves the releases running), so that nothing restarts what the
    # loop stops; the daemon adopts what the loop left when it starts again.
    stop_daemon
    target=$(other "$current")
    started=$(now_ms)
    for n in $(seq 1 "$hosts"); do loop_host "198.18.0.$((10 + n))" "$current" "$target"; done
    loop+=("$(seconds_since "$started")")
    while read -r d; do loop_down+=("$d"); done < <(downtimes "$started" "$(now_ms)")
    current=$target
    # The floor, on host 1 itself: SIGTERM → gone from EPMD, and bin/NAME daemon → registered.
    floor=$(in_daemon_ns ssh "${ssh_options[@]}" root@198.18.0.11 "
        pid=\$(pgrep -f 'beam.*-sname service_app' | head -1)
        t0=\$(date +%s%N); kill -TERM \$pid
        until ! epmd -names | grep -q 'name service_app '; do sleep 0.005; done; t1=\$(date +%s%N)
        while kill -0 \$pid 2>/dev/null; do sleep 0.005; done
        cd $base/$current; t2=\$(date +%s%N)
        RELEASE_COOKIE=\$(cat $work/cookie) RELEASE_NODE=service_app setsid bin/service_app daemon < /dev/null > /dev/null 2>&1
        until epmd -names | grep -q 'name service_app '; do sleep 0.005; done; t3=\$(date +%s%N)
        echo \$(( (t1 - t0) / 1000000 )) \$(( (t3 - t2) / 1000000 ))")
    read -r stop_ms boot_ms <<< "$floor"
    stop_s+=("$(awk -v m="$stop_ms" 'BEGIN { printf "%.3f", m / 1000 }')")
    boot_s+=("$(awk -v m="$boot_ms" 'BEGIN { printf "%.3f", m / 1000 }')")
    start_fleet_daemon
    for _ in $(seq 600); do [ "$(status_count running "$current")" = "$hosts" ] && break; sleep 0.2; done
done

o1=$(printf '%s\n' "${ours_1[@]}" | median); o4=$(printf '%s\n' "${ours_4[@]}" | median)
l=$(printf '%s\n' "${loop[@]}" | median)
od=$(printf '%s\n' "${ours_down[@]}" | median); ld=$(printf '%s\n' "${loop_down[@]}" | median)
st=$(printf '%s\n' "${stop_s[@]}" | median); bt=$(printf '%s\n' "${boot_s[@]}" | median)
floor=$(awk -v s="$st" -v b="$bt" 'BEGIN { printf "%.3f", s + b + 0.2 }')
baseline='"baseline":"sequential OpenSSH loop: scp, extract, bin/NAME stop, bin/NAME daemon, wait for EPMD"'
echo "{\"scenario\":\"rollout_8_hosts_max_parallel_1\",\"ours_s\":$o1,\"baseline_s\":$l,\"ratio\":$(ratio "$o1" "$l"),\"ours_runs_s\":$(json_list "${ours_1[@]}"),\"baseline_runs_s\":$(json_list "${loop[@]}"),$baseline,\"note\":\"target ratio <= 0.5\"}"
echo "{\"scenario\":\"rollout_8_hosts_max_parallel_4\",\"ours_s\":$o4,\"baseline_s\":$l,\"ratio\":$(ratio "$o4" "$l"),\"ours_runs_s\":$(json_list "${ours_4[@]}"),$baseline}"
echo "{\"scenario\":\"host_downtime\",\"ours_s\":$od,\"baseline_s\":$ld,\"ratio\":$(ratio "$od" "$ld"),\"samples\":${#ours_down[@]},\"release_stop_s\":$st,\"release_boot_s\":$bt,\"floor_s\":$floor,$baseline,\"note\":\"target ours <= stop + cold boot + 0.2 s\"}"
stop_daemon
