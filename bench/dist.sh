#!/usr/bin/env bash
# Erlang distribution benchmarks, on loopback, against one peer node:
#   1. RPC round trip of erlang:node/0, 10,000 sequential calls (after 500 warm-up calls), median
#      and p99: ours (DistBench, a hidden node, rpc through rex) against an Erlang node calling
#      rpc:call/4 in a loop; three alternating rounds each, median of the round medians. Ours runs
#      twice per round: on Swift's default executor, and on the transport's event thread.
#   2. kill -9 of a node until the watcher sees it down, median of 5 runs:
#      ours (DistributionConnection nodedown) against erlang:monitor_node/2 in an Erlang node.
# Prints one JSON line per scenario. Called as `bench/run.sh dist`, or directly.
set -euo pipefail

cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-.build}
RUNS=${RUNS:-5}
COUNT=${COUNT:-10000}

swift build -c release --scratch-path "$SCRATCH" --product DistBench >&2
BENCH="$SCRATCH/release/DistBench"

WORK=$(mktemp -d /tmp/controlnode-distbench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

EPMD_PORT=$(free_port)
export ERL_EPMD_PORT=$EPMD_PORT
export HOME=$WORK
COOKIE="bench-$RANDOM$RANDOM"
HOST=$(hostname -s)
ERL_FLAGS_COMMON=(-setcookie "$COOKIE" -noshell -noinput -kernel inet_dist_use_interface '{127,0,0,1}')

epmd -port "$EPMD_PORT" -address 127.0.0.1 &
PIDS+=($!)
until epmd -port "$EPMD_PORT" -names >/dev/null 2>&1; do sleep 0.05; done

# Starts a node named $1 in the background; sets NODE_PID. Waits until it is registered.
start_node() {
    erl -sname "$1" "${ERL_FLAGS_COMMON[@]}" >"$WORK/$1.log" 2>&1 &
    NODE_PID=$!
    PIDS+=("$NODE_PID")
    until epmd -port "$EPMD_PORT" -names 2>/dev/null | grep -q "^name $1 "; do sleep 0.02; done
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# --- RPC round trip -------------------------------------------------------------------------
start_node bench_peer
PEER="bench_peer@$HOST"

# Ours and the baseline take turns, ROUNDS times each, so that drift in the machine's state (CPU
# frequency, the other core's load) hits both alike; each side reports the median of its rounds.
ROUNDS=${ROUNDS:-3}
OURS_MEDIANS=()
OURS_P99S=()
EVENT_MEDIANS=()
EVENT_P99S=()
BASE_MEDIANS=()
BASE_P99S=()
for round in $(seq 1 "$ROUNDS"); do
    OURS=$("$BENCH" rpc --epmd-port "$EPMD_PORT" --node "$PEER" --cookie "$COOKIE" --count "$COUNT")
    OURS_MEDIANS+=("$(sed -E 's/.*"median_s":([^,]*).*/\1/' <<<"$OURS")")
    OURS_P99S+=("$(sed -E 's/.*"p99_s":([^,]*).*/\1/' <<<"$OURS")")
    # The same client with its task on the transport's event thread (EventThread.executor).
    EVENT=$("$BENCH" rpc --epmd-port "$EPMD_PORT" --node "$PEER" --cookie "$COOKIE" --count "$COUNT" --event-thread 1)
    EVENT_MEDIANS+=("$(sed -E 's/.*"median_s":([^,]*).*/\1/' <<<"$EVENT")")
    EVENT_P99S+=("$(sed -E 's/.*"p99_s":([^,]*).*/\1/' <<<"$EVENT")")

    BASELINE=$(erl -sname "bench_client$round" "${ERL_FLAGS_COMMON[@]}" -eval "
        Peer = '$PEER',
        Call = fun() -> T0 = erlang:monotonic_time(nanosecond),
                        Peer = rpc:call(Peer, erlang, node, []),
                        erlang:monotonic_time(nanosecond) - T0 end,
        [Call() || _ <- lists:seq(1, 500)],
        Samples = lists:sort([Call() || _ <- lists:seq(1, $COUNT)]),
        N = length(Samples),
        Median = lists:nth(N div 2 + 1, Samples) / 1.0e9,
        P99 = lists:nth(min(N, N * 99 div 100 + 1), Samples) / 1.0e9,
        io:format(\"~.9f ~.9f~n\", [Median, P99]),
        halt().")
    BASE_MEDIANS+=("${BASELINE% *}")
    BASE_P99S+=("${BASELINE#* }")
done
OURS_MEDIAN=$(printf '%s\n' "${OURS_MEDIANS[@]}" | median)
OURS_P99=$(printf '%s\n' "${OURS_P99S[@]}" | median)
BASE_MEDIAN=$(printf '%s\n' "${BASE_MEDIANS[@]}" | median)
BASE_P99=$(printf '%s\n' "${BASE_P99S[@]}" | median)
EVENT_MEDIAN=$(printf '%s\n' "${EVENT_MEDIANS[@]}" | median)
EVENT_P99=$(printf '%s\n' "${EVENT_P99S[@]}" | median)
echo "{\"scenario\":\"rpc_round_trip_erlang_node_event_thread\",\"ours_s\":$EVENT_MEDIAN,\"baseline_s\":$BASE_MEDIAN,\"ratio\":$(ratio "$EVENT_MEDIAN" "$BASE_MEDIAN"),\"ours_p99_s\":$EVENT_P99,\"baseline_p99_s\":$BASE_P99,\"calls\":$COUNT,\"rounds\":$ROUNDS,\"ours_round_medians_s\":[$(IFS=,; echo "${EVENT_MEDIANS[*]}")]}"
echo "{\"scenario\":\"rpc_round_trip_erlang_node\",\"ours_s\":$OURS_MEDIAN,\"baseline_s\":$BASE_MEDIAN,\"ratio\":$(ratio "$OURS_MEDIAN" "$BASE_MEDIAN"),\"ours_p99_s\":$OURS_P99,\"baseline_p99_s\":$BASE_P99,\"calls\":$COUNT,\"rounds\":$ROUNDS,\"ours_round_medians_s\":[$(IFS=,; echo "${OURS_MEDIANS[*]}")],\"baseline_round_medians_s\":[$(IFS=,; echo "${BASE_MEDIANS[*]}")]}"

# --- kill -9 until nodedown -------------------------------------------------------------------
OURS_RUNS=()
BASE_RUNS=()
for run in $(seq 1 "$RUNS"); do
    start_node "bench_victim_a$run"
    RESULT=$("$BENCH" watch --epmd-port "$EPMD_PORT" --node "bench_victim_a$run@$HOST" --cookie "$COOKIE" --kill-pid "$NODE_PID")
    OURS_RUNS+=("$(sed -E 's/.*"nodedown_s":([^}]*).*/\1/' <<<"$RESULT")")

    start_node "bench_victim_b$run"
    VICTIM_PID=$NODE_PID
    VICTIM="bench_victim_b$run@$HOST"
    WATCH_OUT="$WORK/watch$run.out"
    erl -sname "bench_watcher$run" "${ERL_FLAGS_COMMON[@]}" -eval "
        Victim = '$VICTIM',
        true = net_kernel:connect_node(Victim),
        monitor_node(Victim, true),
        io:format(\"ready~n\"),
        receive {nodedown, Victim} -> io:format(\"~b~n\", [os:system_time(nanosecond)]) end,
        halt()." >"$WATCH_OUT" 2>&1 &
    WATCHER_PID=$!
    PIDS+=("$WATCHER_PID")
    until grep -q ready "$WATCH_OUT"; do sleep 0.01; done
    KILLED_AT=$("$BENCH" kill --pid "$VICTIM_PID")
    wait "$WATCHER_PID" || true
    DOWN_AT=$(tail -n 1 "$WATCH_OUT")
    BASE_RUNS+=("$(awk -v a="$DOWN_AT" -v b="$KILLED_AT" 'BEGIN { printf "%.9f", (a - b) / 1e9 }')")
done
OURS_KILL=$(printf '%s\n' "${OURS_RUNS[@]}" | median)
BASE_KILL=$(printf '%s\n' "${BASE_RUNS[@]}" | median)
echo "{\"scenario\":\"kill9_to_nodedown\",\"ours_s\":$OURS_KILL,\"baseline_s\":$BASE_KILL,\"ratio\":$(ratio "$OURS_KILL" "$BASE_KILL"),\"runs\":$RUNS,\"ours_runs_s\":[$(IFS=,; echo "${OURS_RUNS[*]}")],\"baseline_runs_s\":[$(IFS=,; echo "${BASE_RUNS[*]}")]}"
