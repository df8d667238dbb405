#!/usr/bin/env bash
# SFU media benchmark: confab's SFU vs Janus 1.1.2's VideoRoom, driven by the same load
# tool (crates/load, `confab-media`) in the same run.
#
#   bash bench/media.sh                          # build, run everything, print the table
#   DURATION=5 STEPS="10 25" bash bench/media.sh # shorter
#   SERVERS=confab SKIP_BUILD=1 bash bench/media.sh
#   RECORD=0 bash bench/media.sh                 # without the recording runs
#   SFU_SHARDS=2 bash bench/media.sh             # confab with two SFU shards on its one port
#
# What it measures. Headless str0m peers (one UDP socket each) publish synthetic VP8
# (FPS frames/s, VIDEO_KBPS kbit/s, frames split into RTP packets of at most 1,100
# bytes: 2 per frame by default) and Opus (a 100-byte packet every 20 ms), and receive
# what the SFU forwards. Each video frame and audio packet carries its number in its
# stream (a stamp in the payload); receivers count unique stamps and RTP sequence
# numbers per stream, so loss is measured, not assumed. After every receiver gets
# every source's video and WARMUP seconds more, a DURATION s window is measured:
#   forwarded packets/s   unique RTP packets the receivers got, per second
#   server µs per packet  server CPU time (utime + stime of its PID in /proc) / forwarded
#   packets per CPU s     forwarded / server CPU seconds (the ratio compares these)
#   loss, end to end      stamps missing from the span each receiver saw per stream (an
#                         SFU that numbers each receiver's packets itself, as confab
#                         does, leaves no sequence gap where it drops a frame)
#   RTP loss              sequence numbers missing from each stream's span
#   frames delivered      video frames received / frames the sources sent (a stall)
# Loads, each on a fresh server process, confab then Janus:
#   meeting:   MEETING_ROOMS rooms of MEETING members, each publishing and receiving
#              the others
#   broadcast: 1 publisher to N receivers, N stepping through STEPS until a run does not
#              hold (loss or RTP loss >= MAX_LOSS %, a receiver missing a source's
#              video, or under 98 % of the frames delivered); "most receivers held" is
#              the last N held.
#   recording: REC_ROOMS rooms of REC_MEETING at REC_KBPS kbit/s, run without and with
#              every room recorded (confab: its host sends `record`; Janus: rooms made
#              with `record`); the extra server CPU per recorded person (one video and
#              one audio track) is the cost of recording.
#
# Setup, stated because it matters. The benchmark runs in two network namespaces of its
# own (unshare --net): the servers' (A) and the peers' (B), joined by one veth pair
# (10.77.0.1 in A, 10.77.0.2 in B) and nothing else, so no datagram can reach the
# machine's own addresses. Why not loopback: Janus never gathers ICE candidates on a
# loopback interface (with none left it lets libnice take every interface, the
# machine's public address included), and its libnice sends through the device, which
# fails when both veth ends sit in one namespace. Both servers get the same path:
# HTTP/WebSocket and media on 10.77.0.1, peers on 10.77.0.2. On veth, as on loopback,
# the kernel's receive work for a datagram is charged to the process that sent it (the
# server pays for delivering to the peers, the tool for delivering to the server).
# confab: --media sfu, --no-turn, plain HTTP, room and call caps raised. Janus: only
# the HTTP transport and the VideoRoom plugin, ICE on the veth only, a room with VP8,
# Opus and no bitrate cap; its default threading (JANUS_EVENT_LOOPS sets
# `event_loops`). The load tool shares the machine's cores with the server; a run
# reports the tool's CPU and how busy the machine was, so a CPU-starved run shows
# itself. Only processes this script started are stopped (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
MEETING=${MEETING:-5}
MEETING_ROOMS=${MEETING_ROOMS:-10}
STEPS=${STEPS:-10 25 50 100 200 400}
MAX_LOSS=${MAX_LOSS:-0.5}
SERVERS=${SERVERS:-confab janus}
SETUP_TIMEOUT=${SETUP_TIMEOUT:-60}
FPS=${FPS:-30}
VIDEO_KBPS=${VIDEO_KBPS:-500}
JANUS_EVENT_LOOPS=${JANUS_EVENT_LOOPS:-}
SFU_SHARDS=${SFU_SHARDS:-1}
RECORD=${RECORD:-1}
REC_MEETING=${REC_MEETING:-4}
REC_ROOMS=${REC_ROOMS:-5}
REC_KBPS=${REC_KBPS:-2000}
OUT=${OUT:-$(mktemp -d /tmp/confab-media.XXXXXX)}

if [[ -z "${MEDIA_NETNS:-}" ]]; then
  if [[ -z "${SKIP_BUILD:-}" ]]; then
    cargo build --release -p confab-server -p confab-load
  fi
  if [[ " $SERVERS " == *" janus "* ]] && ! command -v janus >/dev/null; then
    echo "janus is not installed (Debian: apt-get install -y janus), or run SERVERS=confab" >&2
    exit 2
  fi
  export DURATION WARMUP MEETING MEETING_ROOMS STEPS MAX_LOSS SERVERS SETUP_TIMEOUT FPS VIDEO_KBPS \
    JANUS_EVENT_LOOPS OUT RECORD REC_MEETING REC_ROOMS REC_KBPS SFU_SHARDS
  mkdir -p "$OUT"
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  # A private network namespace (unprivileged users map themselves to root in it).
  userns=()
  [[ $EUID -ne 0 ]] && userns=(--map-root-user)
  unshare --net "${userns[@]}" env MEDIA_NETNS=1 bash "$0" "$@"
  echo "raw results: $OUT" >&2
  node bench/media-table.mjs "$OUT" "$MEETING" "$STEPS" "$MAX_LOSS" "$REC_MEETING" "$REC_KBPS"
  echo
  echo "$(nproc) cores; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end;" \
    "$DURATION s measured per run after $WARMUP s of warm-up; VP8 $VIDEO_KBPS kbit/s at $FPS fps + Opus 50 packets/s per publisher."
  exit 0
fi

# Inside namespace A (the servers') from here on; B (the peers') is held open by a
# sleeping process of our own, stopped at the end.
ip link set lo up
unshare --net sleep 86400 &
PEERS_NS=$!
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
  kill "$PEERS_NS" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 50); do
  [[ "$(readlink "/proc/$PEERS_NS/ns/net")" != "$(readlink /proc/self/ns/net)" ]] && break
  sleep 0.05
done
ip link add mb0 type veth peer name mb1 netns "$PEERS_NS"
ip addr add 10.77.0.1/24 dev mb0
ip link set mb0 up
in_peers() { nsenter --net="/proc/$PEERS_NS/ns/net" "$@"; }
in_peers ip link set lo up
in_peers ip addr add 10.77.0.2/24 dev mb1
in_peers ip link set mb1 up

SERVER_IP=10.77.0.1
PEER_IP=10.77.0.2
CONFAB=${CONFAB:-$ROOT/target/release/confab}
MEDIA=$ROOT/target/release/confab-media
CONFAB_PORT=18090
SFU_PORT=17882
JANUS_PORT=18188
JANUS_DIR=$OUT/janus-conf

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    # A recorded confab run: keep its files (its data dir goes at the next start).
    if [[ -n "${CONFAB_REC_DIR:-}" && -d "$OUT/data/recordings" ]]; then
      cp -r "$OUT/data/recordings/." "$CONFAB_REC_DIR/"
      CONFAB_REC_DIR=
    fi
  fi
}

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$SERVER_IP/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

janus_config() {
  mkdir -p "$JANUS_DIR"
  local plugins=/usr/lib/x86_64-linux-gnu/janus
  [[ -d $plugins ]] || plugins=$(dirname "$(dirname "$(find /usr/lib -name libjanus_videoroom.so -print -quit)")")
  local others
  others=$(cd "$plugins/plugins" && ls ./*.so | sed 's|^\./||' | grep -v '^libjanus_videoroom.so$' | paste -sd, -)
  local transports
  transports=$(cd "$plugins/transports" && ls ./*.so | sed 's|^\./||' | grep -v '^libjanus_http.so$' | paste -sd, -)
  local loops=""
  [[ -n "$JANUS_EVENT_LOOPS" ]] && loops="  event_loops = $JANUS_EVENT_LOOPS"
  cat >"$JANUS_DIR/janus.jcfg" <<EOF
general: {
  configs_folder = "$JANUS_DIR"
  plugins_folder = "$plugins/plugins"
  transports_folder = "$plugins/transports"
  events_folder = "$plugins/events"
  loggers_folder = "$plugins/loggers"
  debug_level = 3
  session_timeout = 60
  interface = "$SERVER_IP"
$loops
}
certificates: {
}
media: {
  rtp_port_range = "40000-49999"
}
nat: {
  ice_enforce_list = "mb0"
  ignore_mdns = true
}
plugins: {
  disable = "$others"
}
transports: {
  disable = "$transports"
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
events: {
  broadcast = false
}
EOF
  cat >"$JANUS_DIR/janus.transport.http.jcfg" <<EOF
general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = $JANUS_PORT
  ip = "$SERVER_IP"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
EOF
  printf 'general: {\n}\n' >"$JANUS_DIR/janus.plugin.videoroom.jcfg"
}

start_server() { # $1 = confab | janus; sets SERVER_PID and URL
  stop_server
  if [[ $1 == confab ]]; then
    rm -rf "$OUT/data"
    "$CONFAB" serve --insecure-http --listen "$SERVER_IP:$CONFAB_PORT" --no-turn \
      --media sfu --sfu-listen "$SERVER_IP:$SFU_PORT" --sfu-shards "$SFU_SHARDS" \
      --data-dir "$OUT/data" --log warn \
      --chat-retention-days 0 --max-peers-per-room 2000 --max-call-size 2000 \
      --max-connections 5000 --max-http-connections 5000 \
      --max-http-connections-per-ip 5000 --max-detached-per-ip 5000 \
      >>"$OUT/confab.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$CONFAB_PORT"
    URL=ws://$SERVER_IP:$CONFAB_PORT/ws
  else
    (cd "$JANUS_DIR" && exec janus -F "$JANUS_DIR" -C "$JANUS_DIR/janus.jcfg" -o) \
      >>"$OUT/janus.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$JANUS_PORT"
    URL=http://$SERVER_IP:$JANUS_PORT/janus
  fi
  sleep 0.5
}

run() { # $1 = server, $2 = shape, $3 = size, $4 = rooms, $5 = a name's tag, then more
  # options for the tool; the tool's status (0 = held)
  local server=$1 shape=$2 size=$3 rooms=${4:-1} tag=${5:-} status=0
  shift 5 || shift $#
  local name="$server-$shape-$size$tag"
  start_server "$server"
  echo "== $name" >&2
  in_peers "$MEDIA" --server "$server" --url "$URL" --bind-ip "$PEER_IP" --server-pid "$SERVER_PID" \
    --shape "$shape" --size "$size" --rooms "$rooms" --duration "$DURATION" --warmup "$WARMUP" \
    --setup-timeout "$SETUP_TIMEOUT" --max-loss-pct "$MAX_LOSS" --fps "$FPS" \
    --video-kbps "$VIDEO_KBPS" --json "$OUT/$name.json" "$@" \
    >"$OUT/$name.txt" 2>&1 || status=$?
  cat "$OUT/$name.txt" >&2
  stop_server
  return "$status"
}

# Recording: the same meeting load (REC_ROOMS rooms of REC_MEETING, VP8 at REC_KBPS)
# with and without every room recorded; the difference in server CPU is what recording
# costs. confab writes WebM files (crates/record) under its data dir; Janus, the
# reference, writes each publisher's RTP as it comes (.mjr, no muxing). Bytes on disk are
# counted after each run to show that it recorded.
record_runs() { # $1 = server
  local server=$1 saved=$VIDEO_KBPS dir
  VIDEO_KBPS=$REC_KBPS
  run "$server" meeting "$REC_MEETING" "$REC_ROOMS" "-norec" || true
  dir=$OUT/rec-$server
  rm -rf "$dir" && mkdir -p "$dir"
  # confab's data dir is wiped at the next start: count its recordings before that.
  CONFAB_REC_DIR=$dir
  run "$server" meeting "$REC_MEETING" "$REC_ROOMS" "-rec" --record "$dir" || true
  VIDEO_KBPS=$saved
  du -sb "$dir" | cut -f1 >"$OUT/$server-rec-bytes.txt"
  find "$dir" -type f | wc -l >"$OUT/$server-rec-files.txt"
}

[[ " $SERVERS " == *" janus "* ]] && janus_config
for server in $SERVERS; do
  run "$server" meeting "$MEETING" "$MEETING_ROOMS" || true
done
declare -A stepping
for server in $SERVERS; do stepping[$server]=1; done
for n in $STEPS; do
  for server in $SERVERS; do
    if [[ ${stepping[$server]} == 1 ]]; then
      run "$server" broadcast "$n" || stepping[$server]=0
    fi
  done
done
if [[ $RECORD == 1 ]]; then
  for server in $SERVERS; do record_runs "$server"; done
fi
