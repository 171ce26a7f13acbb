#!/usr/bin/env bash
# bench/run.sh ssh: our SSH layer (libssh2) against OpenSSH's clients, on one local sshd.
# Fair pairs force OpenSSH to the cipher and MAC libssh2 1.10 negotiates (aes128-ctr, hmac-sha2-256);
# the "default" lines let OpenSSH pick its own (chacha20-poly1305).
set -euo pipefail
tool=${BENCH_TOOL:?run through bench/run.sh}
runs=${BENCH_RUNS:-5}
gib=$((1024 * 1024 * 1024))
work=$(mktemp -d /tmp/controlnode-bench-ssh.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/../scripts/loopback-host.sh"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", b - a}'; }
emit() { # scenario ours baseline [extra json]
    awk -v s="$1" -v o="$2" -v b="$3" -v x="${4:-}" \
        'BEGIN {printf "{\"scenario\":\"%s\",\"ours_s\":%.4f,\"baseline_s\":%.4f,\"ratio\":%.3f%s}\n", s, o, b, o / b, x}'
}

start_sshd "$work"
port=$SSHD_PORT
user=$(id -un)
ours=(127.0.0.1 "$port" "$user" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS")
openssh=(-p "$port" -i "$SSHD_KEY" -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" -o StrictHostKeyChecking=yes
    -o BatchMode=yes -o LogLevel=ERROR)
fair=(-o Ciphers=aes128-ctr -o MACs=hmac-sha2-256)

our_methods=$("$tool" methods "${ours[@]}")
default_methods=$(ssh "${openssh[@]}" -v "$user@127.0.0.1" true 2>&1 | sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 \2/p' | head -1)
printf '{"scenario":"negotiated","ours":"%s","openssh_fair":"aes128-ctr hmac-sha2-256","openssh_default":"%s"}\n' \
    "$our_methods" "$default_methods"

# (1) 1 GiB through a local forward into a sink that reads to end of file.
sink=$(free_port)
"$tool" sink "$sink" & pids+=($!)
wait_port "$sink"
ours_port=$(free_port)
"$tool" forward "${ours[@]}" "$ours_port" "$sink" > "$work/forward.out" & pids+=($!)
wait_port "$ours_port"
fair_port=$(free_port)
ssh "${openssh[@]}" "${fair[@]}" -N -L "$fair_port:127.0.0.1:$sink" "$user@127.0.0.1" & pids+=($!)
default_port=$(free_port)
ssh "${openssh[@]}" -N -L "$default_port:127.0.0.1:$sink" "$user@127.0.0.1" & pids+=($!)
wait_port "$fair_port"
wait_port "$default_port"
o=(); f=(); d=()
for _ in $(seq "$runs"); do
    o+=("$("$tool" pump "$ours_port" $gib)")
    f+=("$("$tool" pump "$fair_port" $gib)")
    d+=("$("$tool" pump "$default_port" $gib)")
done
om=$(printf '%s\n' "${o[@]}" | median); fm=$(printf '%s\n' "${f[@]}" | median); dm=$(printf '%s\n' "${d[@]}" | median)
emit forward_1gib_fair "$om" "$fm" ",\"baseline\":\"ssh -N -L, aes128-ctr hmac-sha2-256\""
emit forward_1gib_openssh_default "$om" "$dm" ",\"baseline\":\"ssh -N -L, default cipher\""

# (2) 200 MiB upload (connection set-up included on both sides; ours also verifies the checksum on the host).
head -c $((200 * 1024 * 1024)) /dev/urandom > "$work/upload.bin"
sum=$(sha256sum "$work/upload.bin" | cut -d' ' -f1)   # known in advance, as the registry keeps it
mkdir -p "$work/remote"
echo "put $work/upload.bin $work/remote/sftp.bin" > "$work/batch"
o=(); f=(); d=()
for _ in $(seq "$runs"); do
    rm -f "$work/remote/"*
    a=$(now); "$tool" upload "${ours[@]}" "$work/upload.bin" "$work/remote/ours.bin" "$sum"; b=$(now); o+=("$(elapsed "$a" "$b")")
    a=$(now); sftp -q -b "$work/batch" -P "$port" -i "$SSHD_KEY" -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" \
        -o BatchMode=yes "${fair[@]}" "$user@127.0.0.1" > /dev/null; b=$(now); f+=("$(elapsed "$a" "$b")")
    a=$(now); sftp -q -b "$work/batch" -P "$port" -i "$SSHD_KEY" -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" \
        -o BatchMode=yes "$user@127.0.0.1" > /dev/null; b=$(now); d+=("$(elapsed "$a" "$b")")
done
om=$(printf '%s\n' "${o[@]}" | median); fm=$(printf '%s\n' "${f[@]}" | median); dm=$(printf '%s\n' "${d[@]}" | median)
emit upload_200mib_fair "$om" "$fm" ",\"baseline\":\"sftp -b put, aes128-ctr hmac-sha2-256\""
emit upload_200mib_openssh_default "$om" "$dm" ",\"baseline\":\"sftp -b put, default cipher\""

# (3) connect + authenticate + exec `true`.
o=(); f=(); d=()
for _ in $(seq "$runs"); do
    a=$(now); "$tool" exec "${ours[@]}" true; b=$(now); o+=("$(elapsed "$a" "$b")")
    a=$(now); ssh "${openssh[@]}" "${fair[@]}" "$user@127.0.0.1" true; b=$(now); f+=("$(elapsed "$a" "$b")")
    a=$(now); ssh "${openssh[@]}" "$user@127.0.0.1" true; b=$(now); d+=("$(elapsed "$a" "$b")")
done
om=$(printf '%s\n' "${o[@]}" | median); fm=$(printf '%s\n' "${f[@]}" | median); dm=$(printf '%s\n' "${d[@]}" | median)
emit connect_exec_true_fair "$om" "$fm" ",\"baseline\":\"ssh host true, aes128-ctr hmac-sha2-256\""
emit connect_exec_true_openssh_default "$om" "$dm" ",\"baseline\":\"ssh host true, default cipher\""
