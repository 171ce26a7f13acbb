#!/usr/bin/env bash
# The test command: installs what the tests need (as root, on Debian 12), builds with warnings treated as
# failures, and runs every test against real sshd, epmd and erl processes.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libssh2-1-dev libsystemd-dev zlib1g-dev pkg-config openssh-server openssh-client erlang-nox erlang-dev
    elixir iproute2 util-linux procps systemd)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "test.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
mkdir -p /run/sshd 2>/dev/null || true

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
if grep -E "warning:" "$log" | grep -v "^warning: 'controlnode'" > /dev/null; then
    echo "test.sh: the build shows warnings (above); fix them" >&2
    exit 1
fi
# Serial: the tests start real servers and measure detection times; parallel runs on small machines
# would turn CPU contention into false failures.
swift test --skip-build --no-parallel
