#!/usr/bin/env bash
# The demo: a local sshd stands in for a host, the fixture release (Tests/Fixtures/service_app, built with
# mix release) for an application. controlnode runs as it would under systemd, deploys the release,
# and restarts it when it is killed with SIGKILL, which its events and its Prometheus metrics show; then it
# stops and leaves the release running, and the demo cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product controlnode >&2
controlnode=$PWD/.build/release/controlnode

work=$(mktemp -d /tmp/controlnode-demo.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $(pgrep -f "$work/" || true); do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
. scripts/loopback-host.sh
say() { printf '\n== %s\n' "$*"; }
epmd_names() { ERL_EPMD_PORT=$epmd_port epmd -port "$epmd_port" -names 2>/dev/null | grep service_app || true; }
wait_for() { # PATTERN FILE SECONDS
    for _ in $(seq $(($3 * 20))); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
    echo "(no '$1' within $3 s)"; return 1
}

say "building the release: mix release of Tests/Fixtures/service_app (0.1.0)"
cp -r Tests/Fixtures/service_app "$work/src"
(cd "$work/src" && MIX_ENV=prod MIX_HOME="$work/mix" HEX_OFFLINE=1 SERVICE_APP_VERSION=0.1.0 \
    mix release --overwrite > "$work/mix.log" 2>&1) || { tail -20 "$work/mix.log"; exit 1; }
"$controlnode" registry add "$work/src/_build/prod/service_app-0.1.0.tar.gz" --registry "$work/registry"

say "a host: sshd and EPMD on 127.0.0.1"
start_sshd "$work"
epmd_port=$(free_port)
epmd -port "$epmd_port" -address 127.0.0.1 & pids+=($!)
wait_port "$epmd_port"
echo "sshd on 127.0.0.1:$SSHD_PORT, EPMD on 127.0.0.1:$epmd_port"

metrics_port=$(free_port)
say "the configuration: /etc/controlnode/controlnode.toml, here in $work"
head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$work/cookie"
chmod 600 "$work/cookie"
cat > "$work/controlnode.toml" <<CONF
[daemon]
control_socket = "$work/control.sock"
registry = "$work/registry"
state_dir = "$work/state"
known_hosts = "$SSHD_KNOWN_HOSTS"
log_level = "info"
metrics_listen = "127.0.0.1:$metrics_port"
node_metrics_interval = "1s"

[hosts.demo]
address = "127.0.0.1"
port = $SSHD_PORT
user = "$(id -un)"
identity_file = "$SSHD_KEY"
epmd_port = $epmd_port

[releases.service_app]
base_path = "$work/opt/service_app"
cookie_file = "$work/cookie"
hosts = ["demo"]
version = "0.1.0"
mode = "manage"
env = { ERL_EPMD_PORT = "$epmd_port" }
CONF
cat "$work/controlnode.toml"
"$controlnode" check-config "$work/controlnode.toml"

say "controlnode run: deploys 0.1.0 (its log follows)"
"$controlnode" run --config "$work/controlnode.toml" --log-target stderr 2> >(tee "$work/daemon.log" >&2) & daemon=$!
pids+=($daemon)
wait_for "controlnode ready" "$work/daemon.log" 90
echo "EPMD on the host now lists: $(epmd_names)"
"$controlnode" status --socket "$work/control.sock"

say "kill -9 of the release: controlnode restarts it"
pid=$(pgrep -f "$work/opt/service_app/0.1.0/erts-.*/beam.smp" | head -1)
echo "killing the release's VM, os pid $pid"
kill -KILL "$pid"
wait_for "restarted" "$work/daemon.log" 30
sleep 0.5
echo "EPMD on the host now lists: $(epmd_names), os pid $(pgrep -f "$work/opt/service_app/0.1.0/erts-.*/beam.smp" | head -1)"
"$controlnode" status --socket "$work/control.sock"

say "controlnode events service_app: what happened, with the reasons"
"$controlnode" events service_app --socket "$work/control.sock"

say "GET /metrics on 127.0.0.1:$metrics_port, as Prometheus scrapes it (the release's series)"
sleep 1.5  # the node's own figures are asked for once a second here (15 s by default)
curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -E '^controlnode_(release_up|release_restarts_total|nodedown_total|node_(processes|atoms|memory_bytes\{.*kind="total"|uptime))' | sort

say "SIGTERM: controlnode stops, the release keeps running"
kill -TERM "$daemon"
wait "$daemon" && echo "controlnode exited with status 0"
echo "EPMD on the host still lists: $(epmd_names)"
say "done; cleaning up"
