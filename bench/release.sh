#!/usr/bin/env bash
# bench/run.sh release: deploy, initialize_state, kill -9 and tunnel-loss recovery of the fixture release
# (Tests/Fixtures/service_app, built with mix release) through one local sshd, against the reference
# library's medians from shared/reference/baseline-measurements.md (it cannot run here: it needs Hex),
# with the release's own cold boot measured in the same run.
set -euo pipefail
tool=${BENCH_TOOL:?run through bench/run.sh}
runs=${BENCH_RUNS:-5}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/controlnode-bench-release.XXXXXX)
pids=()
cleanup() {
    for pid in $(pgrep -f "$work/" || true); do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        ss -ltn "sport = :$port" | grep -q LISTEN || { echo "$port"; return; }
    done
}
wait_port() { for _ in $(seq 500); do ss -ltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.01; done; return 1; }

# The fixture release, built the way the tests build it.
cp -r "$here/../Tests/Fixtures/service_app" "$work/src"
mkdir -p "$work/registry-in"
for version in 0.1.0; do
    (cd "$work/src" && rm -rf _build && MIX_ENV=prod MIX_HOME="$work/mix" HEX_OFFLINE=1 SERVICE_APP_VERSION=$version \
        mix release --overwrite > "$work/mix-$version.log" 2>&1)
    cp "$work/src/_build/prod/service_app-$version.tar.gz" "$work/registry-in/"
done

ssh-keygen -q -t ed25519 -N '' -f "$work/host" -C bench
ssh-keygen -q -t ed25519 -N '' -f "$work/id" -C bench
cp "$work/id.pub" "$work/authorized_keys"
port=$(free_port)
mkdir -p /run/sshd
cat > "$work/sshd_config" <<CONF
ListenAddress 127.0.0.1:$port
HostKey $work/host
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -D -f "$work/sshd_config" -E "$work/sshd.log" & pids+=($!)
wait_port "$port"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host.pub")" > "$work/known_hosts"
epmd_port=$(free_port)
epmd -port "$epmd_port" -address 127.0.0.1 & pids+=($!)
wait_port "$epmd_port"
cookie=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
"$BENCH_TOOL" release-store "$work/registry" "$work/registry-in/service_app-0.1.0.tar.gz"
"$tool" release 127.0.0.1 "$port" "$(id -un)" "$work/id" "$work/known_hosts" "$epmd_port" "$work/opt/service_app" \
    "$work/registry" "$cookie" "$runs"
