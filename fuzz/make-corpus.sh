#!/usr/bin/env bash
# Writes the seed corpora under fuzz/corpus/ from real inputs: terms and distribution packets that Erlang's own
# term_to_binary makes, the bytes a live epmd and a live node send (NAMES, PORT_PLEASE2 and a full handshake,
# recorded by fuzz/record-peer.py), known_hosts lines for a key ssh-keygen makes (plain and hashed), release
# tarballs that tar and gzip make, the packaged configuration example, and control socket lines.
#
# Needs erl, epmd, ssh-keygen, tar, gzip and python3 (scripts/install-deps.sh installs them). Run from anywhere;
# rerun to regenerate (the live recordings differ each time: challenges are random).
set -euo pipefail
cd "$(dirname "$0")"
corpus=$PWD/corpus
work=$(mktemp -d)
node_pid=""
cleanup() {
    [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && epmd -kill > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# Inputs that FuzzInput reads start with a control byte: 0xff feeds them whole, 0x02 in pieces of 3 bytes.
both() {  # both DIR NAME FILE
    mkdir -p "$1"
    { printf '\xff'; cat "$3"; } > "$1/$2-whole"
    { printf '\x02'; cat "$3"; } > "$1/$2-pieces"
}

rm -rf "$corpus"
mkdir -p "$corpus"

# Terms and packets, by Erlang itself.
erl -noshell -eval '
    Dir = "'"$work"'/erl",
    ok = filelib:ensure_path(Dir),
    Pid = self(), Ref = make_ref(), Port = hd(erlang:ports()),
    Terms = [
        {atom, ok}, {tuple, {ok, 42, -7, 1 bsl 70, -(1 bsl 100), 3.25}},
        {list, [1, two, "three", <<"four">>, [], {}]}, {improper, [a, b | c]},
        {map, #{name => <<"myapp">>, version => "0.1.0", nested => #{1 => [x]}}},
        {pid, Pid}, {ref, Ref}, {port, Port}, {export, fun lists:reverse/1}, {local_fun, fun(X) -> {X, Pid} end},
        {bits, <<1:3>>}, {unicode, [{list_to_atom("atom_" ++ [252]), unicode:characters_to_binary([252, 8364])}]}, {string, "plain string"},
        {compressed, term_to_binary(lists:duplicate(200, hello), [compressed])},
        {health, {ok, #{status => healthy, checks => [{db, ok}, {cache, {error, timeout}}]}}}
    ],
    lists:foreach(fun
        ({compressed, Bin}) -> ok = file:write_file(Dir ++ "/term-compressed", Bin);
        ({Name, T}) -> ok = file:write_file(Dir ++ "/term-" ++ atom_to_list(Name), term_to_binary(T))
    end, Terms),
    Packet = fun(Ctrl, Payload) ->
        Body = case Payload of
            none -> <<112, (term_to_binary(Ctrl))/binary>>;
            _ -> <<112, (term_to_binary(Ctrl))/binary, (term_to_binary(Payload))/binary>>
        end,
        <<(byte_size(Body)):32, Body/binary>>
    end,
    Tick = <<0:32>>,
    Frames = [
        {send, [Packet({2, '"''"', Pid}, {reply, Ref, {ok, running}})]},
        {reg_send, [Tick, Packet({6, Pid, '"''"', rex}, {Pid, {call, erlang, node, [], Pid}})]},
        {monitor_exit, [Packet({21, Pid, Pid, Ref, noconnection}, none), Tick]},
        {payload_monitor_exit, [Packet({28, Pid, Pid, Ref}, {shutdown, normal})]},
        {unlink_id, [Packet({35, 17, Pid, Pid}, none)]},
        {monitor_link, [Packet({19, Pid, net_kernel, Ref}, none), Packet({1, Pid, Pid}, none)]},
        {alias_send, [Packet({33, Pid, Ref}, {Ref, hello})]}
    ],
    lists:foreach(fun({Name, Parts}) ->
        ok = file:write_file(Dir ++ "/frame-" ++ atom_to_list(Name), Parts)
    end, Frames),
    halt().'
mkdir -p "$corpus/term-decoder"
for file in "$work"/erl/term-*; do cp "$file" "$corpus/term-decoder/$(basename "$file" | sed 's/^term-//')"; done
for file in "$work"/erl/frame-*; do both "$corpus/distribution-framing" "$(basename "$file" | sed 's/^frame-//')" "$file"; done

# A live epmd and node: what they answer, recorded.
# A private epmd port, so that nodes of other programs on this machine are neither seen nor disturbed.
export ERL_EPMD_PORT=43691
epmd -daemon
erl -sname myapp@localhost -setcookie fuzzcookie -noshell -hidden &
node_pid=$!
python3 record-peer.py --epmd-port "$ERL_EPMD_PORT" --cookie fuzzcookie --alive myapp --out "$work/peer"
kill "$node_pid"
wait "$node_pid" || true
node_pid=""
epmd -kill > /dev/null || true
for name in names port-please2 port-please2-unknown; do both "$corpus/epmd" "$name" "$work/peer/$name"; done
both "$corpus/handshake" handshake "$work/peer/handshake"
both "$corpus/handshake" alive "$work/peer/handshake-alive"

# known_hosts: a real key, as a plain line, a port line, a revoked line and ssh-keygen's hashed form.
ssh-keygen -q -t ed25519 -N '' -C '' -f "$work/host_key"
key=$(cut -d' ' -f1,2 "$work/host_key.pub")
mkdir -p "$corpus/known-hosts"
printf 'web1.example.com,10.0.0.7 %s\n' "$key" > "$corpus/known-hosts/plain"
printf '# a comment\n[10.0.0.7]:2222 %s\n*.example.com,!bad.example.com %s\n@revoked web? %s\n' "$key" "$key" "$key" \
    > "$corpus/known-hosts/patterns"
cp "$corpus/known-hosts/plain" "$work/hashed"
ssh-keygen -q -H -f "$work/hashed" 2>/dev/null
cp "$work/hashed" "$corpus/known-hosts/hashed"

# Release tarballs: a small release tree, as ustar, with a GNU long name, and pax; 512-byte records.
tree=$work/tree
mkdir -p "$tree/bin" "$tree/releases/0.1.0" "$tree/lib/myapp-0.1.0/ebin"
printf '#!/bin/sh\nexec erl "$@"\n' > "$tree/bin/myapp"
chmod 755 "$tree/bin/myapp"
printf '0.1.0 myapp\n' > "$tree/releases/start_erl.data"
printf '{release,{"myapp","0.1.0"},{erts,"14.2"},[]}.\n' > "$tree/releases/0.1.0/myapp.rel"
ln -s ../releases/0.1.0/myapp.rel "$tree/lib/myapp-0.1.0/ebin/link"
long=$tree/lib/myapp-0.1.0/ebin/$(printf 'a%.0s' $(seq 1 120)).beam
printf 'beam' > "$long"
mkdir -p "$corpus/tar" "$corpus/gzip-tar"
tar -C "$tree" -b 1 --format=ustar -cf "$work/ustar.tar" ./bin ./releases
tar -C "$tree" -b 1 --format=gnu -cf "$work/gnu.tar" ./bin ./lib
tar -C "$tree" -b 1 --format=pax -cf "$work/pax.tar" ./lib
for name in ustar gnu pax; do
    both "$corpus/tar" "$name" "$work/$name.tar"
    gzip -9 -n -c "$work/$name.tar" > "$work/$name.tar.gz"
done
both "$corpus/gzip-tar" release "$work/gnu.tar.gz"
both "$corpus/gzip-tar" ustar "$work/ustar.tar.gz"
cat "$work/ustar.tar.gz" "$work/pax.tar.gz" > "$work/two-members.tar.gz"
both "$corpus/gzip-tar" two-members "$work/two-members.tar.gz"

# The configuration: the packaged example, and a host that uses the agent.
mkdir -p "$corpus/toml-config"
cp ../packaging/systemd/controlnode.toml.example "$corpus/toml-config/example.toml"
cat > "$corpus/toml-config/agent.toml" <<'EOF'
[daemon]
node_name = "cn"
host_key_policy = "accept-new"

[hosts."db-1"]
address = "db1.internal"
user = "deploy"
agent = true

[releases.worker]
base_path = "/srv/worker"
cookie_file = "/etc/controlnode/worker.cookie"
hosts = ["db-1"]
mode = "observe"
update = { max_parallel = 2, canary = 1, auto_promote = false }
EOF

# Control socket lines, as the CLI writes them, and an answer as the daemon writes it.
mkdir -p "$corpus/control-request"
printf '{"command":"status","release":"myapp"}' > "$corpus/control-request/status"
printf '{"command":"deploy","release":"myapp","version":"0.2.0","hosts":["web1","web2"],"max_parallel":2,"canary":1,"force":false,"detach":true}' \
    > "$corpus/control-request/deploy"
printf '{"command":"history","release":"myapp","limit":20}' > "$corpus/control-request/history"
printf '{"ok":true,"status":[{"release":"myapp","host":"web1","node":"myapp@web1","status":"running","version":"0.1.0","mode":"manage","tunnel_port":null,"os_pid":4242,"restarts":0,"since":null,"last_error":null,"desired_version":"0.1.0","desired_by":"deploy","drift":false}]}' \
    > "$corpus/control-request/status-answer"

find "$corpus" -type f | sort | sed "s|^$corpus/||"
