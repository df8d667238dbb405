#!/usr/bin/env bash
# Signaling load benchmark: confab vs a Node `ws` reference relay (bench/node-relay),
# driven by the same load tool (crates/load, `confab-load`) on loopback.
#
#   bash bench/load.sh                 # build, run everything twice, print the table
#   REPEAT=3 CONNS=10000 bash bench/load.sh
#   SKIP_BUILD=1 NICE=-10 bash bench/load.sh
#
# Each figure comes from a fresh server process:
#   scale:      CONNS clients hello + join rooms of 10, idle; connect rate and server RSS
#               growth per connection (VmRSS after joining minus before connecting).
#   throughput: THRU_CLIENTS clients in rooms of 10, every client sends chats as fast as
#               the server answers (4 unanswered each) for DURATION s; deliveries/s.
#   latency:    LAT_CLIENTS clients in rooms of 10, chats paced open-loop at LAT_RATE
#               deliveries/s for DURATION s; p50/p99/p99.9 from scheduled send to arrival.
# Every run also relays 0.25 offers per chat (unicast) and checks every chat and offer
# arrived exactly once and in order per sender; a run that does not is marked FAILED.
#
# Setup, stated because it matters: plain ws:// (confab --insecure-http) on 127.0.0.1,
# no TLS; confab with --no-turn, its chat rate limit lifted (--chat-burst 1000000
# --chat-refill-ms 1; the default allows 1 message/s per connection), its per-connection
# message rate limit off (--msg-rate 0; the default is 50/s), chat kept in memory like
# the Node relay does (--chat-retention-days 0, no SQLite writes), and its connection
# and room caps (per client address too: every client is on 127.0.0.x) raised to fit CONNS. The load tool shares the machine's cores with the
# server. Only processes this script started are stopped (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REPEAT=${REPEAT:-2}
CONNS=${CONNS:-10000}
THRU_CLIENTS=${THRU_CLIENTS:-1000}
LAT_CLIENTS=${LAT_CLIENTS:-1000}
LAT_RATE=${LAT_RATE:-20000}
DURATION=${DURATION:-5}
ROOM=${ROOM:-10}
CONFAB_PORT=${CONFAB_PORT:-18080}
NODE_PORT=${NODE_PORT:-18081}
NICE=${NICE:-0}
OUT=${OUT:-$(mktemp -d /tmp/confab-load.XXXXXX)}
mkdir -p "$OUT"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p confab-server -p confab-load
fi
CONFAB=$ROOT/target/release/confab
LOAD=$ROOT/target/release/confab-load
if [[ ! -d bench/node-relay/node_modules/ws ]]; then
  (cd bench/node-relay && npm ci --no-audit --no-fund)
fi

# Descriptors: the server and the load tool each hold CONNS sockets.
ulimit -n $((CONNS + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < CONNS + 1024 )); then
  echo "open-files limit $(ulimit -n) is too low for CONNS=$CONNS" >&2
  exit 2
fi
# Loopback has ~28k ephemeral ports per source address; spread beyond that.
read -r PORT_LO PORT_HI < /proc/sys/net/ipv4/ip_local_port_range
PER_IP=$(( (PORT_HI - PORT_LO) * 9 / 10 ))
NIPS=$(( (CONNS + PER_IP - 1) / PER_IP ))
SRC=$(seq -s, -f '127.0.0.%g' 1 "$NIPS")

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

SERVER_PID=
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

start_server() { # $1 = confab | node
  stop_server
  if [[ $1 == confab ]]; then
    rm -rf "$OUT/data"
    nice -n "$NICE" "$CONFAB" serve --insecure-http --listen "127.0.0.1:$CONFAB_PORT" \
      --no-turn --media mesh --data-dir "$OUT/data" --log warn \
      --chat-burst 1000000 --chat-refill-ms 1 --chat-ip-burst 1000000 --chat-ip-refill-ms 1 --chat-room-burst 1000000 --chat-room-refill-ms 1 --relay-rate-bytes 0 --msg-rate 0 --chat-retention-days 0 \
      --max-connections $((CONNS + 1000)) --max-rooms $((CONNS + 1000)) \
      --max-http-connections $((CONNS + 2000)) --max-http-connections-per-ip $((CONNS + 1000)) \
      >>"$OUT/confab.log" 2>&1 &
    SERVER_PID=$!
    PORT=$CONFAB_PORT
  else
    nice -n "$NICE" node bench/node-relay/relay.mjs --port "$NODE_PORT" >>"$OUT/node.log" 2>&1 &
    SERVER_PID=$!
    PORT=$NODE_PORT
  fi
  wait_port "$PORT"
  sleep 0.5 # let the baseline RSS settle
}

load() { # $1 = server, $2 = test, $3 = run number, rest = confab-load flags
  local server=$1 test=$2 n=$3
  shift 3
  start_server "$server"
  echo "== $server $test run $n" >&2
  nice -n "$NICE" "$LOAD" --url "ws://127.0.0.1:$PORT/ws" --server-pid "$SERVER_PID" \
    --label "$server" --room-size "$ROOM" --json "$OUT/$server-$test-$n.json" "$@" \
    >"$OUT/$server-$test-$n.txt" 2>&1 || true
  cat "$OUT/$server-$test-$n.txt" >&2
  stop_server
}

for n in $(seq 1 "$REPEAT"); do
  for server in confab node; do
    load "$server" scale "$n" --clients "$CONNS" --duration 0 --source-ip "$SRC" \
      --connect-concurrency 256
    load "$server" throughput "$n" --clients "$THRU_CLIENTS" --duration "$DURATION" \
      --rate 0 --window 4
    load "$server" latency "$n" --clients "$LAT_CLIENTS" --duration "$DURATION" \
      --rate "$LAT_RATE"
  done
done

echo "raw results: $OUT" >&2
node bench/load-table.mjs "$OUT" "$REPEAT" "$CONNS" "$LAT_RATE"
echo
echo "$(nproc) cores; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end;" \
  "nice $NICE; rooms of $ROOM; $DURATION s of traffic per run; $REPEAT runs each."
