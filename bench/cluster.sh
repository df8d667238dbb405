#!/usr/bin/env bash
# Cluster benchmark: one confab node alone (the reference) against three nodes sharing
# rooms over a real redis-server, driven by the same load tool (crates/load) on loopback,
# in the same invocation.
#
#   bash bench/cluster.sh                  # build, run everything twice, print the table
#   REPEAT=3 LAT_RATE=20000 bash bench/cluster.sh
#
# Each figure comes from fresh processes (and a fresh Redis):
#   scale:   CONNS clients hello + join rooms of 10, spread round-robin over the nodes
#            (so every room has members on every node); connect rate and RSS per
#            connection (all nodes together).
#   latency: LAT_CLIENTS clients in rooms of 10, chats paced open-loop at LAT_RATE
#            deliveries/s for DURATION s; p50/p99/p99.9 from scheduled send to arrival.
#            With three nodes, two of every three deliveries cross nodes through Redis.
#   Redis:   its CPU seconds (INFO cpu, user + sys) and commands over the latency run,
#            per delivered message.
# Every run also relays 0.25 offers per chat (unicast) and checks every chat and offer
# arrived exactly once and in order per sender; a run that does not is marked FAILED.
#
# Setup, stated because it matters: plain ws:// on 127.0.0.1, every node with the same
# flags as bench/load.sh (chat rate limits lifted, --msg-rate 0, no chat store, no
# TURN). The nodes, Redis and the load tool share this machine's cores, so three nodes
# here cost three times the processes on the same CPUs: the figures show the price of
# crossing nodes, not the capacity three machines would have. Only processes this
# script started are stopped (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REPEAT=${REPEAT:-2}
CONNS=${CONNS:-3000}
LAT_CLIENTS=${LAT_CLIENTS:-1000}
LAT_RATE=${LAT_RATE:-20000}
DURATION=${DURATION:-5}
ROOM=${ROOM:-10}
BASE_PORT=${BASE_PORT:-18180}
REDIS_PORT=${REDIS_PORT:-18179}
OUT=${OUT:-$(mktemp -d /tmp/confab-cluster.XXXXXX)}
mkdir -p "$OUT"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p confab-server -p confab-load
fi
CONFAB=$ROOT/target/release/confab
LOAD=$ROOT/target/release/confab-load
command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 2; }

ulimit -n $((CONNS + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

PIDS=()
REDIS_PID=
stop_all() {
  for p in "${PIDS[@]}" $REDIS_PID; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}" $REDIS_PID; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  REDIS_PID=
}
trap stop_all EXIT

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

redis() { redis-cli -p "$REDIS_PORT" "$@"; }

start() { # $1 = nodes (1: alone, no Redis; 3: a cluster)
  stop_all
  local n=$1 cluster=()
  if (( n > 1 )); then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      >>"$OUT/redis.log" 2>&1 &
    REDIS_PID=$!
    wait_port "$REDIS_PORT"
    cluster=(--redis-url "redis://127.0.0.1:$REDIS_PORT/0")
  fi
  URLS=
  for i in $(seq 1 "$n"); do
    local port=$((BASE_PORT + i))
    rm -rf "$OUT/data-$i"
    "$CONFAB" serve --insecure-http --listen "127.0.0.1:$port" --no-turn --media mesh \
      --data-dir "$OUT/data-$i" --log warn --node-id "node-$i" "${cluster[@]}" \
      --chat-burst 1000000 --chat-refill-ms 1 --chat-ip-burst 1000000 --chat-ip-refill-ms 1 \
      --chat-room-burst 1000000 --chat-room-refill-ms 1 --relay-rate-bytes 0 --msg-rate 0 \
      --chat-retention-days 0 --max-connections $((CONNS + 1000)) --max-rooms $((CONNS + 1000)) \
      --max-http-connections $((CONNS + 2000)) --max-http-connections-per-ip $((CONNS + 1000)) \
      >>"$OUT/confab-$i.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
    URLS+="${URLS:+,}ws://127.0.0.1:$port/ws"
  done
  sleep 0.5
}

redis_cpu() { # user + sys CPU seconds, and commands processed
  if [[ -z "$REDIS_PID" ]]; then return; fi
  local cpu cmds
  cpu=$(redis INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {print s}')
  cmds=$(redis INFO stats | tr -d '\r' | awk -F: '/^total_commands_processed:/ {print $2}')
  echo "$cpu $cmds"
}

load() { # $1 = nodes, $2 = test, $3 = run, rest = confab-load flags
  local nodes=$1 test=$2 n=$3
  shift 3
  start "$nodes"
  echo "== $nodes node(s) $test run $n" >&2
  local before after
  before=$(redis_cpu)
  local pids
  pids=$(IFS=,; echo "${PIDS[*]}")
  "$LOAD" --url "$URLS" --server-pid "$pids" --label "nodes-$nodes" --room-size "$ROOM" \
    --json "$OUT/n$nodes-$test-$n.json" "$@" >"$OUT/n$nodes-$test-$n.txt" 2>&1 || true
  after=$(redis_cpu)
  if [[ -n "$REDIS_PID" ]]; then echo "$before $after" >"$OUT/n$nodes-$test-$n.redis"; fi
  cat "$OUT/n$nodes-$test-$n.txt" >&2
  stop_all
}

for n in $(seq 1 "$REPEAT"); do
  for nodes in 1 3; do
    load "$nodes" scale "$n" --clients "$CONNS" --duration 0 --connect-concurrency 256
    load "$nodes" latency "$n" --clients "$LAT_CLIENTS" --duration "$DURATION" --rate "$LAT_RATE"
  done
done

echo "raw results: $OUT" >&2
node bench/cluster-table.mjs "$OUT" "$REPEAT" "$LAT_RATE"
echo
echo "$(nproc) cores; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end;" \
  "rooms of $ROOM; $DURATION s of traffic per run; $REPEAT runs each."
