#!/usr/bin/env bash
# Does the hub's work per message grow with the number of connections? The same chat
# traffic (SENDERS clients sending, RATE deliveries/s for DURATION s, rooms of 10) runs
# once with SMALL connections and once with LARGE (the rest joined and idle), each
# against a fresh confab; the table gives the server's CPU per delivered message in
# both and their ratio (large / small). The hub's timers sit in a heap and its counts
# are kept up to date, so the ratio should stay near 1 (the issue asks for <= 1.2);
# a hub that scanned every connection per message would grow with LARGE.
#
#   bash bench/owner_scale.sh                    # build, then SMALL=1000 LARGE=19000
#   CONFAB=/path/to/other/confab SKIP_BUILD=1 bash bench/owner_scale.sh   # another build
#
# Setup as in bench/load.sh: plain ws:// on 127.0.0.1, --no-turn, chat and message rate
# limits lifted, chat in memory. The machine's 20,000 open files per process cap LARGE
# at about 19,500. Only processes this script started are stopped (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SMALL=${SMALL:-1000}
LARGE=${LARGE:-19000}
SENDERS=${SENDERS:-500}
RATE=${RATE:-10000}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-2}
PORT=${PORT:-18090}
OUT=${OUT:-$(mktemp -d /tmp/confab-owner.XXXXXX)}
mkdir -p "$OUT"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p confab-server -p confab-load
fi
CONFAB=${CONFAB:-$ROOT/target/release/confab}
LOAD=${LOAD:-$ROOT/target/release/confab-load}

ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < LARGE + 512 )); then
  echo "open-files limit $(ulimit -n) is too low for LARGE=$LARGE" >&2
  exit 2
fi
read -r PORT_LO PORT_HI < /proc/sys/net/ipv4/ip_local_port_range
PER_IP=$(( (PORT_HI - PORT_LO) * 9 / 10 ))
# Four times what one run needs: runs follow each other while the last one's ports
# still sit in TIME_WAIT.
NIPS=$(( 4 * ((LARGE + PER_IP - 1) / PER_IP) ))
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

run() { # $1 = clients, $2 = run number
  stop_server
  rm -rf "$OUT/data"
  "$CONFAB" serve --insecure-http --listen "127.0.0.1:$PORT" --no-turn --media mesh \
    --data-dir "$OUT/data" --log warn --chat-burst 1000000 --chat-refill-ms 1 --chat-ip-burst 1000000 --chat-ip-refill-ms 1 --chat-room-burst 1000000 --chat-room-refill-ms 1 --relay-rate-bytes 0 \
    --msg-rate 0 --chat-retention-days 0 --max-connections $((LARGE + 1000)) \
    --max-rooms $((LARGE + 1000)) >>"$OUT/confab.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.5
  echo "== $1 connections, run $2" >&2
  "$LOAD" --url "ws://127.0.0.1:$PORT/ws" --server-pid "$SERVER_PID" --label "c$1" \
    --clients "$1" --senders "$SENDERS" --rate "$RATE" --duration "$DURATION" \
    --room-size 10 --source-ip "$SRC" --connect-concurrency 256 \
    --json "$OUT/c$1-$2.json" >"$OUT/c$1-$2.txt" 2>&1 || true
  cat "$OUT/c$1-$2.txt" >&2
  stop_server
}

for n in $(seq 1 "$REPEAT"); do
  run "$SMALL" "$n"
  run "$LARGE" "$n"
done

python3 - "$OUT" "$REPEAT" "$SMALL" "$LARGE" <<'PY'
import json, sys
out, repeat, small, large = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def runs(c):
    rs = [json.load(open(f"{out}/c{c}-{n}.json")) for n in range(1, repeat + 1)]
    return rs
s, l = runs(small), runs(large)
def med(rs, k):
    v = sorted(r[k] for r in rs if r.get(k) is not None)
    return v[len(v) // 2] if v else None
print(f"| connections | ok | delivered/s | server CPU µs per delivery (runs) | median |")
print(f"| --- | --- | --- | --- | --- |")
for c, rs in ((small, s), (large, l)):
    per = ", ".join(f"{r['cpuUsPerDelivery']:.2f}" for r in rs if r.get('cpuUsPerDelivery'))
    ok = all(r["ok"] for r in rs)
    print(f"| {c} | {'yes' if ok else 'NO'} | {med(rs, 'deliveredPerS'):.0f} | {per} | {med(rs, 'cpuUsPerDelivery'):.2f} |")
ms, ml = med(s, 'cpuUsPerDelivery'), med(l, 'cpuUsPerDelivery')
print(f"\nratio {large}/{small}: {ml / ms:.2f} (target <= 1.2)")
PY
echo "$(nproc) cores; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end;" \
  "$SENDERS senders at $RATE deliveries/s for $DURATION s; rooms of 10; raw: $OUT"
