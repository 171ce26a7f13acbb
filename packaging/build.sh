#!/usr/bin/env bash
# Builds controlnode as it is installed, and prints the binary's path: release mode, the Swift runtime linked
# in (the binary needs only the system's libssh2, libsystemd, libsqlite3 and libc), linked by lld:
#   - relative relocations packed (-z pack-relative-relocs, which glibc 2.36 and later apply): the table of
#     about 40,000 relocations that the loader reads once at start shrinks from about 1 MB to 8 KB;
#   - no dynamic symbol table beyond what the libraries need (--no-export-dynamic): SwiftPM exports every symbol of
#     an executable, and the loader searches the executable first for each symbol the shared libraries bind, so
#     the 14,000 exported names (1 MB of .dynsym, .dynstr and .gnu.hash) were read at every start and stayed
#     resident; crash reports still get names from the static symbol table;
#   - code laid out by use: every function in its own section, and the functions a running daemon executes
#     (packaging/controlnode.order, made by packaging/symbol-order.sh) placed together at the start of the
#     code, with the compiler's unnamed helpers beside them (packaging/unnamed-functions.ld). The kernel maps
#     code 64 KB at a time around each page touched, so scattered functions cost whole windows of memory:
#     this layout keeps about 3 MB of the daemon's resident memory out. Names the order file lists that the
#     code no longer has are skipped, so a stale file costs memory, never a failed build.
set -euo pipefail
cd "$(dirname "$0")/.."
# The order file is not a build input SwiftPM tracks: link again every time, a matter of seconds.
rm -f .build/static/release/controlnode
swift build -c release --product controlnode --static-swift-stdlib --scratch-path .build/static \
    -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
    -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
    -Xlinker --symbol-ordering-file="$PWD/packaging/controlnode.order" -Xlinker --no-warn-symbol-ordering \
    -Xlinker -T -Xlinker "$PWD/packaging/unnamed-functions.ld" >&2
echo "$PWD/.build/static/release/controlnode"
