# Sourced by the demo and the benchmarks: a throw-away "host" on loopback.
#   free_port           prints a TCP port nothing listens on
#   wait_port PORT      waits (up to 10 s) until something listens on PORT
#   start_sshd DIR      generates keys in DIR, starts sshd on a free port of 127.0.0.1 (its pid is appended to
#                       the caller's `pids` array) and sets SSHD_PORT, SSHD_KEY (client key) and
#                       SSHD_KNOWN_HOSTS; the caller's EXIT trap stops what is in `pids`.

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
    cat > "$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1:$SSHD_PORT
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
MaxStartups 100
Subsystem sftp internal-sftp
CONF
    /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
    pids+=($!)
    wait_port "$SSHD_PORT"
    echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$dir/host_key.pub")" > "$dir/known_hosts"
    SSHD_KEY=$dir/id_ed25519
    SSHD_KNOWN_HOSTS=$dir/known_hosts
}
