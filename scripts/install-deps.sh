#!/usr/bin/env bash
# Installs the Debian 12 packages controlnode builds and tests with, when any is missing (needs root).
set -euo pipefail
packages=(libssh2-1-dev libsystemd-dev libsqlite3-dev sqlite3 zlib1g-dev pkg-config openssh-server openssh-client erlang-nox erlang-dev
    elixir iproute2 util-linux procps systemd systemd-container debootstrap python3
    tcsh fish zsh tmux
    prometheus curl  # the metrics test's Prometheus server and promtool; the benchmarks' scrapes
    dpkg-dev binutils lintian  # scripts/build-deb.sh: dpkg-shlibdeps, dpkg-gencontrol, strip and lintian
    etcd-server etcd-client  # the cluster tests' etcd and etcdctl
    gdb)  # scripts/watch-tests.sh: the stacks of a hung test
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# The fuzz targets (scripts/fuzz.sh) link the toolchain's own libFuzzer and address sanitizer runtimes; they come
# with the Swift toolchain, not from a Debian package.
swiftc=$(readlink -f "$(command -v swiftc)")
if ! ls "$(dirname "$swiftc")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer-"$(uname -m)".a > /dev/null 2>&1; then
    echo "install-deps.sh: the Swift toolchain at $(dirname "$swiftc") has no libFuzzer runtime" \
        "(lib/clang/*/lib/linux/libclang_rt.fuzzer-$(uname -m).a); install a swift.org toolchain for Linux, which ships it" >&2
    exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: missing packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
