#!/usr/bin/env bash
# Builds controlnode as it is installed, and prints the binary's path: release mode, the Swift runtime linked
# in (the binary needs only the system's libssh2, libsystemd and libc), and linked by lld with relative
# relocations packed (-z pack-relative-relocs, which glibc 2.36 and later apply): the table of about 40,000
# relocations that the loader reads once at start shrinks from about 1 MB to 8 KB, and stays out of memory.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product controlnode --static-swift-stdlib --scratch-path .build/static \
    -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs >&2
echo "$PWD/.build/static/release/controlnode"
