#!/usr/bin/env bash
# Test hosts as network namespaces, for the fleet tests (needs root and iproute2).
#
#   test-hosts.sh up PREFIX COUNT DIR
#       A bridge in a namespace of its own (PREFIX-br), a namespace for the daemon (PREFIX-d, 198.18.0.2) and COUNT
#       host namespaces (PREFIX-h1 ..., 198.18.0.11 ...), each joined to the bridge by a veth pair that is created
#       inside the namespaces (the machine's own interfaces are never touched; 198.18.0.0/15 is the range set aside
#       for network tests). Each host runs an sshd in its own UTS namespace with the host name hostN, so a release
#       there is service_app@hostN, and in its own mount namespace where DIR/opt is DIR/hostN/opt, so every host
#       has a file system of its own under the same base path, and an empty home directory for root (DIR/hostN/home
#       over /root) as on a fresh host, so the machine's own shell start-up files do not run in every command.
#       Writes DIR/id_ed25519 (the client key), DIR/known_hosts, and DIR/hostN/sshd.pid.
#   test-hosts.sh down PREFIX DIR
#       Kills every process in the namespaces (they are all the test's) and deletes the namespaces and their links.
#   test-hosts.sh link PREFIX N|NAME up|down
#       Takes host N's link (or namespace PREFIX-NAME's) to the bridge up or down: down is a silent partition (no
#       FIN, no RST).
#   test-hosts.sh join PREFIX NAME ADDRESS
#       One more namespace on the bridge, PREFIX-NAME at ADDRESS (the cluster tests' etcd and control machines).
#   test-hosts.sh sshd PREFIX N DIR
#       Starts host N's sshd again (same host key, host name and file system), after a test killed it.
set -euo pipefail
. "$(dirname "$0")/loopback-host.sh"

address_of() { echo "198.18.0.$((10 + $1))"; }

up() {
    local prefix=$1 count=$2 dir=$3
    mkdir -p "$dir"
    ip netns add "$prefix-br"
    ip -n "$prefix-br" link add br0 type bridge
    ip -n "$prefix-br" link set br0 up
    ip -n "$prefix-br" link set lo up
    join "$prefix" d 198.18.0.2
    ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519" -C fleet-client
    : > "$dir/known_hosts"
    for n in $(seq 1 "$count"); do
        join "$prefix" "h$n" "$(address_of "$n")"
        start_host_sshd "$prefix" "$n" "$dir"
    done
}

# Creates namespace PREFIX-NAME with eth0 at ADDRESS/24, its peer on the bridge.
join() {
    local prefix=$1 name=$2 address=$3
    ip netns add "$prefix-$name"
    ip -n "$prefix-br" link add "vb-$name" type veth peer name eth0 netns "$prefix-$name"
    ip -n "$prefix-br" link set "vb-$name" master br0 up
    ip -n "$prefix-$name" link set lo up
    ip -n "$prefix-$name" addr add "$address/24" dev eth0
    ip -n "$prefix-$name" link set eth0 up
}

start_host_sshd() {
    local prefix=$1 n=$2 dir=$3/host$2 address
    address=$(address_of "$n")
    mkdir -p "$dir/opt" "$dir/home" "$3/opt"
    local fresh=false
    if [ ! -e "$dir/host_key" ]; then
        fresh=true
        ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C "host$n"
    fi
    cp "$3/id_ed25519.pub" "$dir/authorized_keys"
    write_sshd_config "$dir" "$address:22"
    mkdir -p /run/sshd
    ip netns exec "$prefix-h$n" unshare --uts --mount /bin/sh -c \
        "hostname host$n && mount --bind '$dir/opt' '$3/opt' && mount --bind '$dir/home' /root && exec /usr/sbin/sshd -D -f '$dir/sshd_config' -E '$dir/sshd.log'" \
        < /dev/null > /dev/null 2>&1 &
    for _ in $(seq 200); do
        ip netns exec "$prefix-h$n" ss -ltn "sport = :22" | grep -q LISTEN && break
        sleep 0.02
    done
    if $fresh; then echo "$address $(cut -d' ' -f1,2 "$dir/host_key.pub")" >> "$3/known_hosts"; fi
}

down() {
    local prefix=$1 namespace pid
    for namespace in $(ip netns list | awk '{ print $1 }' | grep "^$prefix-" || true); do
        for pid in $(ip netns pids "$namespace" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
    done
    for namespace in $(ip netns list | awk '{ print $1 }' | grep "^$prefix-" || true); do
        ip netns del "$namespace" 2>/dev/null || true
    done
}

link() {
    local name=$2
    case "$name" in *[!0-9]*) ;; *) name="h$name" ;; esac
    ip -n "$1-br" link set "vb-$name" "$3"
}

case "${1:-}" in
    up) up "$2" "$3" "$4" ;;
    down) down "$2" ;;
    link) link "$2" "$3" "$4" ;;
    sshd) start_host_sshd "$2" "$3" "$4" ;;
    join) join "$2" "$3" "$4" ;;
    *) echo "usage: test-hosts.sh up PREFIX COUNT DIR | down PREFIX | link PREFIX N|NAME up|down | sshd PREFIX N DIR | join PREFIX NAME ADDRESS" >&2; exit 2 ;;
esac
