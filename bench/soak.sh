#!/usr/bin/env bash
# Soak benchmark (issue 12): legitimate clients join password rooms, call (SDP offers
# relayed) and chat, first alone (quiet) and then while every attack of the issue runs
# at once; one table compares them. Loopback only, bounded in time (about 2.5 min).
#
#   bash bench/soak.sh
#   SKIP_BUILD=1 CLIENTS=100 DURATION=20 bash bench/soak.sh
#   ABUSE_ARGS='--slow-readers 0' bash bench/soak.sh   # leave an attack out
#
# Legitimate: `confab-load` (crates/load), CLIENTS clients in rooms of ROOM (rooms
# load-0… behind one password), each from an address of its own (127.0.2.x), chats paced
# open-loop at RATE deliveries/s plus a relayed offer per 4 chats, for DURATION s; it
# checks every chat and offer arrives exactly once and in order. Join latency is from
# TCP connect to `joined` (hello and the password check included).
# Abusive: `confab-abuse` (crates/load/src/abuse), each attack from loopback addresses
# of its own (see its docs): password guessing from GUESSERS addresses on those rooms,
# idle sockets to HTTP and TURN, slow readers pipelining joins, ghosts, chat floods,
# TURN allocations without credentials, oversized relays.
# The server runs with its default limits (TURN on loopback, the chat store on). The
# first joins after the start are measured apart (they run argon2); the quiet phase
# comes next, so the rooms' password is known when the attack starts.
# Only processes this script started are stopped (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CLIENTS=${CLIENTS:-100}
ROOM=${ROOM:-5}
RATE=${RATE:-300}
DURATION=${DURATION:-20}
GUESSERS=${GUESSERS:-64}
RAMP=${RAMP:-8}
SETTLE_AFTER=${SETTLE_AFTER:-35}
PORT=${PORT:-18090}
TURN_PORT=${TURN_PORT:-18478}
OUT=${OUT:-$(mktemp -d /tmp/confab-soak.XXXXXX)}
mkdir -p "$OUT"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p confab-server -p confab-load
fi
CONFAB=$ROOT/target/release/confab
LOAD=$ROOT/target/release/confab-load
ABUSE=$ROOT/target/release/confab-abuse

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
ROOMS=$(( (CLIENTS + ROOM - 1) / ROOM ))
HASH=$(printf 'soak password\n' | "$CONFAB" hash-password)
PW_ARGS=()
for i in $(seq 0 $((ROOMS - 1))); do PW_ARGS+=(--room-password "load-$i=$HASH"); done
SRC=$(seq -s, -f '127.0.2.%g' 1 "$CLIENTS")

SERVER_PID= ABUSE_PID= SAMPLER_PID=
cleanup() {
  for p in "$SAMPLER_PID" "$ABUSE_PID" "$SERVER_PID"; do
    if [[ -n "$p" ]]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT

rm -rf "$OUT/data"
"$CONFAB" serve --insecure-http --listen "127.0.0.1:$PORT" --media mesh \
  --turn-listen "127.0.0.1:$TURN_PORT" --turn-relay-ports 43000-43999 \
  --data-dir "$OUT/data" --log warn "${PW_ARGS[@]}" >>"$OUT/confab.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done
sleep 1

# One line per second: phase, RSS KiB, open descriptors (the server's).
PHASE_FILE=$OUT/phase
echo quiet >"$PHASE_FILE"
sample() {
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l)
    echo "$(cat "$PHASE_FILE") $rss $fds"
    sleep 1
  done
}
sample >"$OUT/samples.txt" &
SAMPLER_PID=$!

legit() { # $1 = phase name, $2 = seconds of traffic
  echo "== legitimate clients, $1" >&2
  "$LOAD" --url "ws://127.0.0.1:$PORT/ws" --server-pid "$SERVER_PID" --label "$1" \
    --clients "$CLIENTS" --room-size "$ROOM" --source-ip "$SRC" --rate "$RATE" \
    --duration "$2" --password 'soak password' --json "$OUT/$1.json" \
    >"$OUT/$1.txt" 2>&1 || true
  cat "$OUT/$1.txt" >&2
}

# The first joins after a start verify the password with argon2 (once a room); the
# phases compared below run after them.
legit first-joins 0
legit quiet "$DURATION"
echo attack >"$PHASE_FILE"
ABUSE_SECS=$(( RAMP + DURATION + 15 ))
"$ABUSE" --url "ws://127.0.0.1:$PORT/ws" --turn "127.0.0.1:$TURN_PORT" \
  --duration "$ABUSE_SECS" --guessers "$GUESSERS" --rooms "$ROOMS" \
  --json "$OUT/abuse.json" ${ABUSE_ARGS:-} >"$OUT/abuse.txt" 2>&1 &
ABUSE_PID=$!
sleep "$RAMP"
legit attack "$DURATION"
wait "$ABUSE_PID" || true
ABUSE_PID=
cat "$OUT/abuse.txt" >&2
echo after >"$PHASE_FILE"
sleep "$SETTLE_AFTER"
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=

echo "raw results: $OUT" >&2
node bench/soak-table.mjs "$OUT"
echo
echo "$(nproc) cores; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end;" \
  "$CLIENTS legitimate clients in rooms of $ROOM, $RATE deliveries/s for $DURATION s per phase;" \
  "$GUESSERS guessing addresses; 'after' is ${SETTLE_AFTER} s after the attacks stopped."
