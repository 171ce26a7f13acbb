#!/usr/bin/env bash
# Installs controlnode (as root): the binary, the systemd unit, its sysusers.d and tmpfiles.d files, and an
# example configuration when none exists. Then: edit /etc/controlnode/controlnode.toml, run
# `controlnode check-config`, and `systemctl enable --now controlnode`.
# CONTROLNODE_BINARY=path installs a binary built elsewhere instead of building one here.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:-/usr/local}
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
binary=${CONTROLNODE_BINARY:-}
if [ -z "$binary" ]; then
    binary=$(packaging/build.sh)
fi
install -D -m 0755 "$binary" "$prefix/bin/controlnode"
missing=$(ldd "$prefix/bin/controlnode" 2>/dev/null | awk '/not found/ { print $1 }' | paste -sd' ' || true)
if [ -n "$missing" ]; then
    echo "install.sh: controlnode needs $missing; install them: apt-get install libssh2-1 libsystemd0 libsqlite3-0" >&2
    exit 1
fi
install -D -m 0644 packaging/systemd/controlnode.service /etc/systemd/system/controlnode.service
install -D -m 0644 packaging/systemd/controlnode.sysusers /etc/sysusers.d/controlnode.conf
install -D -m 0644 packaging/systemd/controlnode.tmpfiles /etc/tmpfiles.d/controlnode.conf
if [ "$prefix" != /usr/local ]; then
    sed -i "s|/usr/local/bin/controlnode|$prefix/bin/controlnode|" /etc/systemd/system/controlnode.service
fi
systemd-sysusers /etc/sysusers.d/controlnode.conf
systemd-tmpfiles --create /etc/tmpfiles.d/controlnode.conf
install -d -m 0750 -o root -g controlnode /etc/controlnode
if [ ! -e /etc/controlnode/controlnode.toml ]; then
    install -m 0640 -o root -g controlnode packaging/systemd/controlnode.toml.example /etc/controlnode/controlnode.toml
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "installed: $prefix/bin/controlnode, /etc/systemd/system/controlnode.service; next: edit /etc/controlnode/controlnode.toml"
