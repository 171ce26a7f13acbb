#!/usr/bin/env bash
# bench/run.sh release: deploy, initialize_state, kill -9 and tunnel-loss recovery of the fixture release
# (Tests/Fixtures/service_app, built with mix release) through one local sshd, against the reference
# library's medians from shared/reference/baseline-measurements.md (it cannot run here: it needs Hex),
# with the release's own cold boot measured in the same run.
set -euo pipefail
tool=${BENCH_TOOL:?run through bench/run.sh}
runs=${BENCH_RUNS:-5}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scripts/loopback-host.sh"
workspace bench-release

# The fixture release, built the way the tests build it.
mkdir -p "$work/registry-in"
build_fixture_release 0.1.0
cp "$work/src/_build/prod/service_app-0.1.0.tar.gz" "$work/registry-in/"

start_sshd "$work"
port=$SSHD_PORT
epmd_port=$(free_port)
epmd -port "$epmd_port" -address 127.0.0.1 & pids+=($!)
wait_port "$epmd_port"
cookie=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
"$BENCH_TOOL" release-store "$work/registry" "$work/registry-in/service_app-0.1.0.tar.gz"
# The base path is a directory on the machine's disk (/var/tmp), like the /opt or /srv of a real host, unless
# BENCH_BASE_DIR names another place (a tmpfs such as /dev/shm, to take the disk's file-creation cost out of the
# deploy figures). The extraction alone is timed beside it.
base_dir=$(mktemp -d "${BENCH_BASE_DIR:-/var/tmp}/controlnode-bench-base.XXXXXX")
# The bench logs in as a deploy user of its own with no shell start-up files, as on a host set up for deploys:
# sshd runs every command through the user's shell, and a developer's ~/.bashrc (pyenv, nvm, ...) would be timed
# with each command. Its password is "*" (no password, not locked: sshd refuses locked accounts even keys). Without
# root, it logs in as the current user.
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
    user=controlnode-bench
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /bin/bash --password "*" "$user"
    chmod 755 "$work" "$base_dir"
    chmod 644 "$work/authorized_keys"
    chown "$user" "$base_dir"
fi
trap 'for pid in $(pgrep -f "$base_dir/" || true); do kill -KILL "$pid" 2>/dev/null || true; done; workspace_cleanup
    rm -rf "$base_dir"; [ "$user" != controlnode-bench ] || userdel "$user" 2>/dev/null || true' EXIT
extract_runs=()
for _ in $(seq 1 "$runs"); do
    rm -rf "$base_dir/extract" && mkdir -p "$base_dir/extract"
    t0=$(date +%s%N)
    tar -xzf "$work/registry-in/service_app-0.1.0.tar.gz" -C "$base_dir/extract"
    extract_runs+=("$(( $(date +%s%N) - t0 ))")
done
rm -rf "$base_dir/extract"
extract_median=$(printf '%s\n' "${extract_runs[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%.4f", v[int((NR + 1) / 2)] / 1e9 }')
echo "{\"scenario\":\"tarball_extraction_alone\",\"ours_s\":$extract_median,\"note\":\"tar -xzf of the 5.4 MB fixture (602 files) on the base path's filesystem, for reading the deploy figures\"}"
"$tool" release 127.0.0.1 "$port" "$user" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS" "$epmd_port" "$base_dir/opt/service_app" \
    "$work/registry" "$cookie" "$runs"
