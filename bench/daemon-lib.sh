# Sourced by bench/daemon.sh, bench/scale.sh and packaging/symbol-order.sh: running the daemon under a notification
# socket, the arithmetic of the JSON lines, and the one-host fleet of 20 releases. Expects $controlnode and $work.
#   start_daemon CONFIG [COMMAND PREFIX...]
#       runs `controlnode run --config CONFIG` (after the prefix, such as `ip netns exec NS`) until READY=1;
#       prints the seconds it took and leaves the daemon's pid in $work/daemon.pid (a prefix must exec in place)
#   stop_daemon         SIGTERM, then waits until it has exited
#   rss_kib PID, cpu_ticks PID, median (of lines on stdin), json_list VALUES..., mib KIB, ratio A B
#   bench_fail MESSAGE LOG  says what failed with the end of LOG (the workspace is removed on exit), and exits 1

start_daemon() {
    # Python binds the notification socket (bash cannot).
    python3 - "$controlnode" "$work" "$@" <<'PY'
import os, socket, subprocess, sys, time
controlnode, work, config, prefix = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
path = os.path.join(work, "notify.sock")
if os.path.exists(path): os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
env = dict(os.environ, NOTIFY_SOCKET=path)
env.pop("JOURNAL_STREAM", None)
log = open(os.path.join(work, "daemon.log"), "ab")
started = time.monotonic()
daemon = subprocess.Popen(prefix + [controlnode, "run", "--config", config, "--log-target", "stderr"], env=env,
                          stdout=log, stderr=log, start_new_session=True)
sock.settimeout(0.2)
while True:
    try:
        if "READY=1" in sock.recv(4096).decode():
            break
    except socket.timeout:
        pass
    if daemon.poll() is not None or time.monotonic() > started + 300:
        tail = open(os.path.join(work, "daemon.log"), errors="replace").read()[-3000:]
        sys.exit(f"controlnode run ended or never sent READY=1; the end of its log:\n{tail}")
print(f"{time.monotonic() - started:.4f}")
open(os.path.join(work, "daemon.pid"), "w").write(str(daemon.pid))
PY
}

stop_daemon() {
    local pid
    pid=$(cat "$work/daemon.pid")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
json_list() { local IFS=,; echo "[$*]"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
bench_fail() { { echo "$1; the end of $(basename "$2"):"; tail -n 30 "$2"; } >&2; exit 1; }

# local_fleet: one loopback host (a local sshd, and EPMD on $epmd_port) with the fixture release built by
# mix release and stored in $work/registry 20 times: as service_app, and repacked as app2..app20 (bin/appN;
# RELEASE_NODE=appN). Writes $work/1.toml (service_app) and $work/20.toml (all 20), manage mode, and
# $work/cookie. Expects scripts/loopback-host.sh sourced and its workspace made.
local_fleet() {
    local previous i
    build_fixture_release 0.1.0
    start_sshd "$work"
    epmd_port=$(free_port)
    epmd -port "$epmd_port" -address 127.0.0.1 & pids+=($!)
    wait_port "$epmd_port"
    head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$work/cookie"
    chmod 600 "$work/cookie"
    "$controlnode" registry add "$work/src/_build/prod/service_app-0.1.0.tar.gz" --registry "$work/registry" >&2
    mkdir -p "$work/repack"
    tar -xzf "$work/src/_build/prod/service_app-0.1.0.tar.gz" -C "$work/repack"
    previous=service_app
    for i in $(seq 2 20); do
        mv "$work/repack/bin/$previous" "$work/repack/bin/app$i"
        previous=app$i
        (cd "$work/repack" && tar -czf "$work/app$i-0.1.0.tar.gz" -- *)
        "$controlnode" registry add "$work/app$i-0.1.0.tar.gz" --registry "$work/registry" >&2
    done
    local_fleet_config 1
    local_fleet_config 20
}

# local_fleet_config COUNT: the configuration for the host and the first COUNT releases, in $work/COUNT.toml.
local_fleet_config() {
    local count=$1 file="$work/$1.toml" name i
    cat > "$file" <<CONF
[daemon]
control_socket = "$work/control-$count.sock"
registry = "$work/registry"
state_dir = "$work/state-$count"
known_hosts = "$SSHD_KNOWN_HOSTS"
log_level = "warning"

[hosts.local]
address = "127.0.0.1"
port = $SSHD_PORT
user = "$(id -un)"
identity_file = "$SSHD_KEY"
epmd_port = $epmd_port
CONF
    for i in $(seq 1 "$count"); do
        name=$([ "$i" = 1 ] && echo service_app || echo "app$i")
        cat >> "$file" <<CONF

[releases.$name]
base_path = "$work/opt/$name"
cookie_file = "$work/cookie"
hosts = ["local"]
version = "0.1.0"
mode = "manage"
start_timeout = "120s"
env = { ERL_EPMD_PORT = "$epmd_port", RELEASE_NODE = "$name" }
CONF
    done
}
