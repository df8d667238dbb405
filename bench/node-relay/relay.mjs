// Reference signaling relay for the load benchmark (bench/load.sh): the subset of
// confab's protocol (docs/protocol.md) that confab-load uses, with the same JSON, the
// same room semantics and similar limits, on Node's `ws` package. Not for production:
// it exists so confab's figures have a familiar baseline.
//
//   node relay.mjs [--port 18081] [--host 127.0.0.1]
//
// Implemented: hello -> welcome; join -> joined (+ peerJoined to the room); leave ->
// left (+ peerLeft); chat -> chat to the whole room (sender's copy with ref), history of
// 100; offer/answer/candidate/hangup {to} -> {from} to that peer only; ping -> pong;
// close -> peerLeft "disconnected". Errors: bad_json, unknown_type, bad_field,
// hello_required, already_hello, not_joined, already_joined, unknown_peer, room_full.
// Liveness as confab: a WebSocket ping every 15 s, closed (4001) after 40 s of silence.
// A client whose unsent data passes 1 MiB is closed with 4002 (confab drops a client
// whose 256-message queue fills). No chat rate limit (the benchmark lifts confab's).
import { createServer } from "node:http";
import { randomInt } from "node:crypto";
import { WebSocketServer } from "ws";

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const PORT = Number(arg("--port", "18081"));
const HOST = arg("--host", "127.0.0.1");
const MAX_PEERS_PER_ROOM = 16;
const HISTORY = 100;
const PING_MS = 15_000;
const IDLE_MS = 40_000;
const MAX_BUFFERED = 1 << 20;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** @typedef {{ws: import("ws").WebSocket, id: string, name: string|null, room: Room|null, hello: boolean, lastSeen: number}} Peer */
/** @typedef {{id: string, members: Map<string, Peer>, history: object[], lastChatId: number}} Room */

/** @type {Map<string, Room>} */
const rooms = new Map();
/** @type {Set<Peer>} */
const peers = new Set();

function newPeerId() {
  let s = "";
  for (let i = 0; i < 12; i++) s += ALPHABET[randomInt(32)];
  return s;
}

/** @param {Peer} p @param {object} msg */
function send(p, msg) {
  if (p.ws.readyState !== 1) return;
  if (p.ws.bufferedAmount > MAX_BUFFERED) {
    p.ws.close(4002, "too slow to keep up");
    return;
  }
  p.ws.send(JSON.stringify(msg));
}

/** @param {Peer} p @param {string} code @param {string} message @param {unknown} ref */
function error(p, code, message, ref) {
  const m = { type: "error", code, message };
  if (ref !== undefined) m.ref = ref;
  send(p, m);
}

/** @param {Peer} p @param {"left"|"disconnected"} reason */
function leaveRoom(p, reason) {
  const room = p.room;
  if (!room) return;
  room.members.delete(p.id);
  p.room = null;
  if (room.members.size === 0) {
    rooms.delete(room.id);
    return;
  }
  for (const other of room.members.values()) {
    send(other, { type: "peerLeft", peerId: p.id, reason });
  }
}

const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** @param {Peer} p @param {any} m */
function handle(p, m) {
  const ref = m.id;
  const type = m.type;
  if (type === "ping") return send(p, ref === undefined ? { type: "pong" } : { type: "pong", ref });
  if (type === "hello") {
    if (p.hello) return error(p, "already_hello", "hello was already sent", ref);
    if (m.version !== 1) return error(p, "bad_field", "version must be 1", ref);
    p.hello = true;
    return send(p, { type: "welcome", version: 1, peerId: p.id, iceServers: [] });
  }
  if (!p.hello) return error(p, "hello_required", "say hello first", ref);
  switch (type) {
    case "join": {
      if (typeof m.room !== "string" || typeof m.name !== "string") {
        return error(p, "bad_field", "join needs room and name", ref);
      }
      if (!ROOM_RE.test(m.room)) return error(p, "bad_room", "bad room id", ref);
      const name = m.name.trim();
      if (name.length < 1 || name.length > 64) return error(p, "bad_name", "bad name", ref);
      if (p.room) return error(p, "already_joined", "already in a room", ref);
      let room = rooms.get(m.room);
      if (room && room.members.size >= MAX_PEERS_PER_ROOM) {
        return error(p, "room_full", "the room is full", ref);
      }
      if (!room) {
        room = { id: m.room, members: new Map(), history: [], lastChatId: 0 };
        rooms.set(m.room, room);
      }
      const others = [...room.members.values()].map((o) => ({ id: o.id, name: o.name }));
      for (const o of room.members.values()) {
        send(o, { type: "peerJoined", peer: { id: p.id, name } });
      }
      room.members.set(p.id, p);
      p.room = room;
      p.name = name;
      const joined = { type: "joined", room: room.id, you: { id: p.id, name }, peers: others, history: room.history };
      if (ref !== undefined) joined.ref = ref;
      return send(p, joined);
    }
    case "leave": {
      if (!p.room) return error(p, "not_joined", "not in a room", ref);
      const id = p.room.id;
      leaveRoom(p, "left");
      return send(p, ref === undefined ? { type: "left", room: id } : { type: "left", ref, room: id });
    }
    case "chat": {
      if (typeof m.text !== "string") return error(p, "bad_field", "chat needs text", ref);
      if (!p.room) return error(p, "not_joined", "not in a room", ref);
      const text = m.text.trim();
      if (text.length < 1 || text.length > 2000) return error(p, "bad_text", "bad text", ref);
      const room = p.room;
      const message = { id: ++room.lastChatId, from: p.id, name: p.name, text, ts: Date.now() };
      room.history.push(message);
      if (room.history.length > HISTORY) room.history.shift();
      const plain = JSON.stringify({ type: "chat", message });
      for (const o of room.members.values()) {
        if (o === p) send(p, ref === undefined ? { type: "chat", message } : { type: "chat", ref, message });
        else if (o.ws.bufferedAmount > MAX_BUFFERED) o.ws.close(4002, "too slow to keep up");
        else o.ws.send(plain);
      }
      return;
    }
    case "offer":
    case "answer":
    case "candidate":
    case "hangup": {
      if (typeof m.to !== "string") return error(p, "bad_field", `${type} needs to`, ref);
      if ((type === "offer" || type === "answer") && (typeof m.sdp !== "string" || m.sdp === "")) {
        return error(p, "bad_sdp", "sdp must not be empty", ref);
      }
      if (!p.room) return error(p, "not_joined", "not in a room", ref);
      const to = p.room.members.get(m.to);
      if (!to || to === p) return error(p, "unknown_peer", `${m.to} is not a peer in your room`, ref);
      const out = { type, from: p.id };
      if (type === "offer" || type === "answer") out.sdp = m.sdp;
      if (type === "candidate") out.candidate = m.candidate ?? null;
      return send(to, out);
    }
    default:
      return error(p, "unknown_type", `unknown message type ${JSON.stringify(type)}`, ref);
  }
}

const http = createServer((req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });
http.on("upgrade", (req, socket, head) => {
  if (req.url !== "/ws") {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    socket.setNoDelay(true);
    /** @type {Peer} */
    const p = { ws, id: newPeerId(), name: null, room: null, hello: false, lastSeen: Date.now() };
    peers.add(p);
    const seen = () => {
      p.lastSeen = Date.now();
    };
    ws.on("pong", seen);
    ws.on("ping", seen);
    ws.on("message", (data, isBinary) => {
      seen();
      if (isBinary) return error(p, "bad_json", "binary frames are not accepted");
      let m;
      try {
        m = JSON.parse(data.toString());
      } catch {
        return error(p, "bad_json", "not JSON");
      }
      if (m === null || typeof m !== "object" || Array.isArray(m)) {
        return error(p, "bad_json", "not a JSON object");
      }
      handle(p, m);
    });
    ws.on("close", () => {
      peers.delete(p);
      leaveRoom(p, "disconnected");
    });
    ws.on("error", () => {});
  });
});

// One timer for everyone (as is usual with ws), not one per connection.
const liveness = setInterval(() => {
  const now = Date.now();
  for (const p of peers) {
    if (now - p.lastSeen > IDLE_MS) p.ws.close(4001, "idle timeout");
    else p.ws.ping();
  }
}, PING_MS);

http.listen(PORT, HOST, () => {
  console.log(`node ws relay listening on ws://${HOST}:${PORT}/ws`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    clearInterval(liveness);
    for (const p of peers) p.ws.close(1001, "server shutting down");
    http.close();
    setTimeout(() => process.exit(0), 500).unref();
  });
}
