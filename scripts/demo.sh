#!/usr/bin/env bash
# The demo: a local sshd and an Erlang node on loopback stand in for a host and its release. controlnode
# finds the node through the host's EPMD over SSH, connects to it as a hidden node through the same SSH
# connection, and reports; then the node is killed with SIGKILL and controlnode reports the nodedown.
# (The full demo, a real release deployed, killed and restarted by the daemon, arrives with the daemon.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product controlnode >&2
controlnode=$PWD/.build/release/controlnode

work=$(mktemp -d /tmp/controlnode-demo.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
. scripts/loopback-host.sh
say() { printf '\n== %s\n' "$*"; }

say "a host: sshd on 127.0.0.1 with generated keys"
start_sshd "$work"
ssh_port=$SSHD_PORT
echo "sshd on 127.0.0.1:$ssh_port, host key $(ssh-keygen -lf "$work/host_key.pub" | cut -d' ' -f2)"

say "its release: an Erlang node registered in the host's EPMD"
epmd_port=$(free_port)
# The cookie lives in files only: the node reads $HOME/.erlang.cookie, controlnode reads --cookie-file.
head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$work/cookie"
chmod 400 "$work/cookie"
cp "$work/cookie" "$work/.erlang.cookie"
ERL_EPMD_PORT=$epmd_port epmd -port "$epmd_port" -address 127.0.0.1 & pids+=($!)
wait_port "$epmd_port"
ERL_EPMD_PORT=$epmd_port HOME=$work erl -sname service_app -noshell -noinput \
    -kernel inet_dist_use_interface '{127,0,0,1}' > "$work/node.log" 2>&1 & node_pid=$!
pids+=($node_pid)
for _ in $(seq 300); do ERL_EPMD_PORT=$epmd_port epmd -port "$epmd_port" -names 2>/dev/null | grep -q service_app && break; sleep 0.05; done
echo "node service_app@$(hostname -s), os pid $node_pid"

say "controlnode probe: EPMD and distribution through one SSH connection"
"$controlnode" probe service_app --address 127.0.0.1 --port "$ssh_port" --user "$(id -un)" \
    --identity "$work/id_ed25519" --known-hosts "$work/known_hosts" --epmd-port "$epmd_port" \
    --cookie-file "$work/cookie" --watch > "$work/probe.out" 2>&1 & probe_pid=$!
for _ in $(seq 600); do grep -q "watching" "$work/probe.out" && break; kill -0 "$probe_pid" 2>/dev/null || break; sleep 0.05; done
cat "$work/probe.out"

say "kill -9 of the node: controlnode sees it go down"
kill -KILL "$node_pid"
wait "$probe_pid" || true
tail -n 1 "$work/probe.out"
