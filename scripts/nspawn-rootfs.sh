#!/usr/bin/env bash
# Prints the path of a minimal Debian 12 root file system for systemd-nspawn tests, building it first when
# it is not cached: debootstrap (minbase) with systemd, dbus and an sshd, from the mirror in apt's sources.
# The cache lives outside the repository (CONTROLNODE_FIXTURES, default /var/tmp/controlnode-fixtures) and is
# built in a temporary directory and renamed into place, so an interrupted build never looks finished.
set -euo pipefail
cache=${CONTROLNODE_FIXTURES:-/var/tmp/controlnode-fixtures}
packages=systemd,systemd-sysv,dbus,openssh-server,libssh2-1,libsystemd0,libsqlite3-0,procps,iproute2
key=$(printf 'bookworm %s v1' "$packages" | sha256sum | cut -c1-16)
rootfs="$cache/rootfs-bookworm-$key"
if [ -x "$rootfs/lib/systemd/systemd" ]; then
    echo "$rootfs"
    exit 0
fi
mirror=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{ print $2 }' || true;
           grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{ print $2 }' || true; } | grep -v security | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache"
building=$(mktemp -d "$cache/.rootfs-building.XXXXXX")
trap 'rm -rf "$building"' EXIT
debootstrap --variant=minbase --include="$packages" bookworm "$building" "$mirror" > "$building.log" 2>&1 || {
    echo "debootstrap failed; its log: $building.log" >&2
    exit 1
}
rm -f "$building.log"
# The image is booted read-only under a tmpfs overlay; nothing in it may need a first-boot setup.
echo controlnode-test > "$building/etc/hostname"
rm -f "$building/etc/machine-id"
: > "$building/etc/machine-id"
rm -rf "$rootfs"
mv "$building" "$rootfs"
trap - EXIT
echo "$rootfs"
