#!/usr/bin/env bash
# Builds controlnode_<version>_<arch>.deb and prints its path: the binary as packaging/build.sh builds it (the
# Swift runtime linked in, so the host needs no toolchain), the unit, the sysusers.d and tmpfiles.d files, the
# example configuration as the conffile /etc/controlnode/controlnode.toml, and from packaging/deb the maintainer
# scripts, the copyright file, the changelog and the man page. The version is the binary's own
# (`controlnode --version`); its Depends are what dpkg-shlibdeps finds for the binary's shared libraries.
# lintian, when installed, must report no errors.
#   scripts/build-deb.sh [OUTPUT_DIR]      (default .build/deb)
# CONTROLNODE_BINARY=path packages a binary built elsewhere instead of building one here.
# Needs dpkg-dev (dpkg-shlibdeps, dpkg-gencontrol) and the -dev packages the build needs; not root.
set -euo pipefail
repository=$(cd "$(dirname "$0")/.." && pwd)
output=$(realpath -m -- "${1:-$repository/.build/deb}")
cd "$repository"
umask 022

fail() {
    echo "build-deb.sh: $*" >&2
    exit 1
}
for tool in dpkg-deb dpkg-shlibdeps dpkg-gencontrol dpkg-parsechangelog strip gzip; do
    command -v "$tool" > /dev/null || fail "$tool is missing; install it: apt-get install dpkg-dev binutils gzip"
done

binary=${CONTROLNODE_BINARY:-}
if [ -z "$binary" ]; then
    binary=$(packaging/build.sh) || fail "packaging/build.sh failed (above); fix the build, then run this again"
fi
[ -f "$binary" ] && [ -x "$binary" ] || fail "$binary is not an executable; build it with packaging/build.sh"

# The one version: the binary's `--version` ("controlnode 0.1.0"), which Sources/ControlNodeDaemon sets.
reported=$("$binary" --version) || fail "$binary --version failed; is it a controlnode binary for this machine?"
version=${reported#controlnode }
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] ||
    fail "$binary --version printed '$reported', not 'controlnode VERSION' with a Debian upstream version"
logged=$(dpkg-parsechangelog -l packaging/deb/changelog -S Version)
[ "$logged" = "$version" ] ||
    fail "the binary is version $version but packaging/deb/changelog's newest entry is $logged;" \
        "add an entry for $version at the top of packaging/deb/changelog"
arch=$(dpkg --print-architecture)

work=$(mktemp -d "${TMPDIR:-/tmp}/controlnode-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps and dpkg-gencontrol work on a source-package layout: debian/control, debian/changelog and the
# package's tree in debian/controlnode.
mkdir -p "$work/debian"
cp packaging/deb/control packaging/deb/changelog "$work/debian/"
root=$work/debian/controlnode

# The binary goes to /usr/bin (stripped, as Debian ships binaries), so the unit, which names /usr/local/bin where
# install.sh puts it, is pointed there; it names the package's man page too.
install -D -m 0755 "$binary" "$root/usr/bin/controlnode"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/controlnode"
install -d "$root/lib/systemd/system"
sed -e 's|/usr/local/bin/controlnode|/usr/bin/controlnode|g' -e '/^Description=/a Documentation=man:controlnode(1)' \
    packaging/systemd/controlnode.service \
    > "$root/lib/systemd/system/controlnode.service"
grep -q '^ExecStart=/usr/bin/controlnode ' "$root/lib/systemd/system/controlnode.service" ||
    fail "packaging/systemd/controlnode.service has no ExecStart=/usr/local/bin/controlnode to point at /usr/bin"
install -D -m 0644 packaging/systemd/controlnode.sysusers "$root/usr/lib/sysusers.d/controlnode.conf"
install -D -m 0644 packaging/systemd/controlnode.tmpfiles "$root/usr/lib/tmpfiles.d/controlnode.conf"
# 0644 root:root in the package (lintian's rule for /etc); postinst gives it to the controlnode group, 0640,
# with dpkg-statoverride. It holds no secret: keys and cookies are files of their own.
install -D -m 0644 packaging/systemd/controlnode.toml.example "$root/etc/controlnode/controlnode.toml"
install -D -m 0644 packaging/deb/copyright "$root/usr/share/doc/controlnode/copyright"
install -D -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/controlnode"
# controlnode is its own upstream (a native package, its version without a Debian revision): policy 12.7 names
# the Debian changelog changelog.gz then, not changelog.Debian.gz.
gzip -9n < packaging/deb/changelog > "$root/usr/share/doc/controlnode/changelog.gz"
install -d "$root/usr/share/man/man1"
gzip -9n < packaging/deb/controlnode.1 > "$root/usr/share/man/man1/controlnode.1.gz"
chmod 0644 "$root/usr/share/doc/controlnode/changelog.gz" "$root/usr/share/man/man1/controlnode.1.gz"

install -d "$root/DEBIAN"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
    > "$root/DEBIAN/md5sums"

(cd "$work" &&
    dpkg-shlibdeps -Tdebian/controlnode.substvars debian/controlnode/usr/bin/controlnode &&
    dpkg-gencontrol -pcontrolnode -Pdebian/controlnode -Tdebian/controlnode.substvars -fdebian/files -v"$version") ||
    fail "dpkg-shlibdeps or dpkg-gencontrol failed (above); the libraries the binary links must come from" \
    "installed packages: run scripts/install-deps.sh"

mkdir -p "$output"
deb=$output/controlnode_${version}_${arch}.deb
# The whole tree as root:root, whoever builds it; the archive's timestamps are the changelog's date, not the build's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l packaging/deb/changelog -S Timestamp)} \
    dpkg-deb --root-owner-group --build "$root" "$deb" > /dev/null

if command -v lintian > /dev/null; then
    report=$(lintian --fail-on error --tag-display-limit 0 "$deb" 2>&1) ||
        fail "lintian reports errors in $deb (or could not check it); fix them:"$'\n'"$report"
    # Its complaint about running as root (as the tests do) is no finding about the package.
    report=$(grep -v '^running with root privileges' <<< "$report" || true)
    [ -z "$report" ] || echo "$report" >&2
else
    echo "build-deb.sh: lintian is not installed, so $deb is not checked (apt-get install lintian)" >&2
fi
echo "$deb"
