# Sourced by the demo, the benchmarks and the test hosts: a throw-away "host" on loopback.
#   workspace NAME      makes a scratch directory $work (/tmp/controlnode-NAME.XXXXXX) and an empty `pids`
#                       array, and traps EXIT to kill what runs from $work and what is in `pids`, then remove $work
#   build_fixture_release VERSION
#                       builds Tests/Fixtures/service_app with mix release into $work/src/_build/prod
#   write_sshd_config DIR LISTEN
#                       writes DIR/sshd_config: listening on LISTEN, keys and pid file in DIR, keys only
#   free_port           prints a TCP port nothing listens on
#   wait_port PORT      waits (up to 10 s) until something listens on PORT
#   start_sshd DIR      generates keys in DIR, starts sshd on a free port of 127.0.0.1 (its pid is appended to
#                       the caller's `pids` array) and sets SSHD_PORT, SSHD_KEY (client key) and
#                       SSHD_KNOWN_HOSTS; the caller's EXIT trap stops what is in `pids`.

workspace() {
    work=$(mktemp -d "/tmp/controlnode-$1.XXXXXX")
    pids=()
    trap workspace_cleanup EXIT
}

workspace_cleanup() {
    for pid in $(pgrep -f "$work/" || true); do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}

build_fixture_release() {
    local source
    source=$(cd "$(dirname "${BASH_SOURCE[0]}")/../Tests/Fixtures/service_app" && pwd)
    [ -d "$work/src" ] || cp -r "$source" "$work/src"
    (cd "$work/src" && rm -rf _build && MIX_ENV=prod MIX_HOME="$work/mix" HEX_OFFLINE=1 SERVICE_APP_VERSION=$1 \
        mix release --overwrite > "$work/mix-$1.log" 2>&1)
}

write_sshd_config() {
    cat > "$1/sshd_config" <<CONF
ListenAddress $2
HostKey $1/host_key
PidFile $1/sshd.pid
AuthorizedKeysFile $1/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
MaxStartups 100
Subsystem sftp internal-sftp
CONF
}

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        ss -ltn "sport = :$port" | grep -q LISTEN || { echo "$port"; return; }
    done
}

wait_port() {
    for _ in $(seq 1000); do
        ss -ltn "sport = :$1" | grep -q LISTEN && return 0
        sleep 0.01
    done
    echo "nothing listens on port $1 after 10 s" >&2
    return 1
}

start_sshd() {
    local dir=$1
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C loopback-host
    ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519" -C loopback-client
    cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
    SSHD_PORT=$(free_port)
    mkdir -p /run/sshd
    write_sshd_config "$dir" "127.0.0.1:$SSHD_PORT"
    /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
    pids+=($!)
    wait_port "$SSHD_PORT"
    echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$dir/host_key.pub")" > "$dir/known_hosts"
    SSHD_KEY=$dir/id_ed25519
    SSHD_KNOWN_HOSTS=$dir/known_hosts
}
