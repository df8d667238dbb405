// confab signaling protocol, version 1: message constructors, validators for what the
// server sends, and `Signaling`, a small client over a WebSocket-like object.
//
// This module never touches the DOM, so node's test runner can load it and drive
// `Signaling` with a fake socket (see web/test/). The Rust crate `crates/proto` owns the
// protocol; the rules below mirror it and the JSON fixtures in fixtures/protocol/ keep
// both sides honest.

/** The protocol version spoken in `hello` and expected in `welcome`. */
export const PROTOCOL_VERSION = 1;
/** Longest display name, in Unicode scalar values, after trimming. */
export const MAX_NAME_CHARS = 64;
/** Longest chat text, in Unicode scalar values, after trimming. */
export const MAX_CHAT_CHARS = 2000;
/** Longest room id (room ids are ASCII). */
export const MAX_ROOM_LEN = 64;
/** Longest string request id. */
export const MAX_REQUEST_ID_LEN = 64;
/** How often `Signaling` sends a keep-alive `ping`, in milliseconds. */
export const PING_INTERVAL_MS = 15_000;
/** How long a request (join, leave, ping, chat) may wait for its reply, in milliseconds. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** WebSocket close codes the server uses (mirrors `confab_proto::close`). */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  FLOOD: 1008,
  TOO_BIG: 1009,
  UNSUPPORTED_VERSION: 4000,
  IDLE_TIMEOUT: 4001,
  SLOW_CONSUMER: 4002,
  HELLO_TIMEOUT: 4003,
});

// ---------------------------------------------------------------------------------------
// Types

/** @typedef {number | string} RequestId */

/**
 * An ICE candidate in the shape of `RTCIceCandidateInit` (what `RTCIceCandidate.toJSON()`
 * returns).
 * @typedef {object} IceCandidate
 * @property {string} candidate
 * @property {string} [sdpMid]
 * @property {number} [sdpMLineIndex]
 * @property {string} [usernameFragment]
 */

/**
 * One entry of `RTCConfiguration.iceServers`.
 * @typedef {object} IceServer
 * @property {string[]} urls
 * @property {string} [username]
 * @property {string} [credential]
 */

/** @typedef {{id: string, name: string}} PeerInfo */

/**
 * A chat message as the server stored it. `id` increases within a room; `ts` is the
 * server's time of receipt in Unix milliseconds.
 * @typedef {{id: number, from: string, name: string, text: string, ts: number}} ChatMessage
 */

/**
 * @typedef {'bad_json' | 'unknown_type' | 'bad_field' | 'too_large' | 'bad_name' |
 *   'bad_room' | 'bad_sdp' | 'hello_required' | 'already_hello' | 'unsupported_version' |
 *   'not_joined' | 'already_joined' | 'unknown_peer' | 'room_full' | 'server_full' | 'bad_text' |
 *   'rate_limited'} ErrorCode
 */

/** @typedef {{type: 'hello', version: number, id?: RequestId}} HelloMsg */
/** @typedef {{type: 'join', room: string, name: string, id?: RequestId, password?: string, token?: string}} JoinMsg */
/** @typedef {{type: 'leave', id?: RequestId}} LeaveMsg */
/** @typedef {{type: 'offer', to: string, sdp: string, id?: RequestId}} OfferMsg */
/** @typedef {{type: 'answer', to: string, sdp: string, id?: RequestId}} AnswerMsg */
/** @typedef {{type: 'candidate', to: string, candidate: IceCandidate | null, id?: RequestId}} CandidateMsg */
/** @typedef {{type: 'hangup', to: string, id?: RequestId}} HangupMsg */
/** @typedef {{type: 'ping', id?: RequestId}} PingMsg */
/** @typedef {{type: 'chat', text: string, id?: RequestId}} ChatMsg */
/** @typedef {HelloMsg | JoinMsg | LeaveMsg | OfferMsg | AnswerMsg | CandidateMsg | HangupMsg | PingMsg | ChatMsg} ClientMsg */

/** @typedef {{type: 'welcome', version: number, peerId: string, iceServers: IceServer[]}} WelcomeMsg */
/**
 * `history` is always an array here: `validateServerMessage` fills in `[]` for servers
 * that predate chat.
 * @typedef {{type: 'joined', ref?: RequestId, room: string, you: PeerInfo, peers: PeerInfo[],
 *   history: ChatMessage[]}} JoinedMsg
 */
/** @typedef {{type: 'left', ref?: RequestId, room: string}} LeftMsg */
/** @typedef {{type: 'peerJoined', peer: PeerInfo}} PeerJoinedMsg */
/** @typedef {{type: 'peerLeft', peerId: string, reason: 'left' | 'disconnected'}} PeerLeftMsg */
/** @typedef {{type: 'offer', from: string, sdp: string}} RemoteOfferMsg */
/** @typedef {{type: 'answer', from: string, sdp: string}} RemoteAnswerMsg */
/** @typedef {{type: 'candidate', from: string, candidate: IceCandidate | null}} RemoteCandidateMsg */
/** @typedef {{type: 'hangup', from: string}} RemoteHangupMsg */
/** @typedef {{type: 'chat', ref?: RequestId, message: ChatMessage}} RemoteChatMsg */
/** @typedef {{type: 'pong', ref?: RequestId}} PongMsg */
/** @typedef {{type: 'error', code: ErrorCode, message: string, ref?: RequestId}} ErrorMsg */
/**
 * @typedef {WelcomeMsg | JoinedMsg | LeftMsg | PeerJoinedMsg | PeerLeftMsg | RemoteOfferMsg |
 *   RemoteAnswerMsg | RemoteCandidateMsg | RemoteHangupMsg | RemoteChatMsg | PongMsg | ErrorMsg} ServerMsg
 */

// ---------------------------------------------------------------------------------------
// Validators (mirroring crates/proto)

const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;
// Rust's `str::trim` strips Unicode White_Space, which differs slightly from JS `trim()`
// (JS also strips U+FEFF, Rust also strips U+0085), so spell the set out.
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g');
// Rust's `char::is_control`: general category Cc.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
// The same, minus tab and newline (allowed in chat).
const CHAT_CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * Whether `room` is a valid room id: 1-64 characters of `A-Z a-z 0-9 _ -`.
 * @param {unknown} room
 * @returns {room is string}
 */
export function isValidRoom(room) {
  return typeof room === 'string' && ROOM_RE.test(room);
}

/**
 * Trims a display name the way the server does.
 * @param {string} name
 * @returns {string}
 */
export function trimName(name) {
  return name.replace(TRIM_RE, '');
}

/**
 * Checks a display name. Returns null when it is valid, else an English explanation.
 * @param {unknown} name
 * @returns {string | null}
 */
export function nameError(name) {
  if (typeof name !== 'string') return 'Please enter your name.';
  const trimmed = trimName(name);
  const chars = [...trimmed].length;
  if (chars === 0) return 'Please enter your name.';
  if (chars > MAX_NAME_CHARS) return `Your name can be at most ${MAX_NAME_CHARS} characters long.`;
  if (CONTROL_RE.test(trimmed)) return 'Your name must not contain control characters.';
  return null;
}

/**
 * Whether `name` is a valid display name (after trimming).
 * @param {unknown} name
 * @returns {name is string}
 */
export function isValidName(name) {
  return nameError(name) === null;
}

/**
 * Checks a room id. Returns null when it is valid, else an English explanation.
 * @param {unknown} room
 * @returns {string | null}
 */
export function roomError(room) {
  if (typeof room !== 'string' || room.length === 0) return 'Please enter a room name.';
  if (room.length > MAX_ROOM_LEN) return `A room name can be at most ${MAX_ROOM_LEN} characters long.`;
  if (!ROOM_RE.test(room)) {
    return 'A room name may only use letters A–Z, digits, "-" and "_" (no spaces).';
  }
  return null;
}

/**
 * Trims a chat text the way the server does (Rust's `str::trim`).
 * @param {string} text
 * @returns {string}
 */
export function trimChat(text) {
  return text.replace(TRIM_RE, '');
}

/**
 * Checks a chat text. Returns null when the server will accept it, else an English
 * explanation (the server's rule for `bad_text`: 1-2000 characters after trimming, no
 * control characters other than newline and tab).
 * @param {unknown} text
 * @returns {string | null}
 */
export function chatTextError(text) {
  if (typeof text !== 'string') return 'Type a message first.';
  const trimmed = trimChat(text);
  const chars = [...trimmed].length;
  if (chars === 0) return 'Type a message first.';
  if (chars > MAX_CHAT_CHARS) {
    return `A message can be at most ${MAX_CHAT_CHARS.toLocaleString('en')} characters long; ` +
      `this one is ${(chars - MAX_CHAT_CHARS).toLocaleString('en')} over.`;
  }
  if (CHAT_CONTROL_RE.test(trimmed)) return 'A message must not contain control characters.';
  return null;
}

/**
 * Adds `msg` to `list` (kept in id order) unless a message with its id is there already.
 * Returns whether it was added. History and live messages can overlap (and will across
 * reconnects), so every insert goes through here.
 * @param {ChatMessage[]} list
 * @param {ChatMessage} msg
 * @returns {boolean}
 */
export function addChatMessage(list, msg) {
  let i = list.length;
  while (i > 0 && list[i - 1].id > msg.id) i--;
  if (i > 0 && list[i - 1].id === msg.id) return false;
  list.splice(i, 0, msg);
  return true;
}

/**
 * Whether a room's `joined.history`, received on rejoining after a reconnect, continues
 * the messages already shown (`shown`, in id order), so both can be merged by id with
 * `addChatMessage` and every message shows exactly once. False when the server has
 * forgotten the room's ids (it restarted without a chat store, or the room emptied on a
 * server with `--chat-retention-days 0`): a shown id then comes back with other content,
 * or the history ends below the last shown id. The caller must then start over from
 * `history` alone, or new messages reusing old ids would be dropped as duplicates.
 * @param {ChatMessage[]} shown
 * @param {ChatMessage[]} history
 * @returns {boolean}
 */
export function chatHistoryContinues(shown, history) {
  if (shown.length === 0) return true;
  const last = history.length ? history[history.length - 1].id : 0;
  if (last < shown[shown.length - 1].id) return false;
  const byId = new Map(shown.map((m) => [m.id, m]));
  return history.every((m) => {
    const old = byId.get(m.id);
    return !old || (old.from === m.from && old.ts === m.ts && old.text === m.text);
  });
}

// ---------------------------------------------------------------------------------------
// Client message constructors

/**
 * @template {object} T
 * @param {T} msg
 * @param {RequestId | undefined} id
 * @returns {T & {id?: RequestId}}
 */
function withId(msg, id) {
  return id === undefined ? msg : { ...msg, id };
}

/**
 * `hello`: the first message on a connection.
 * @param {RequestId} [id]
 * @param {number} [version]
 * @returns {HelloMsg}
 */
export function hello(id, version = PROTOCOL_VERSION) {
  return withId({ type: /** @type {const} */ ('hello'), version }, id);
}

/**
 * `join`: enter a room under a display name (sent trimmed), with the room's password or
 * a join token when it needs one.
 * @param {string} room
 * @param {string} name
 * @param {RequestId} [id]
 * @param {{password?: string, token?: string}} [credentials]
 * @returns {JoinMsg}
 */
export function join(room, name, id, credentials = {}) {
  /** @type {JoinMsg} */
  const msg = { type: /** @type {const} */ ('join'), room, name: trimName(name) };
  if (id !== undefined) msg.id = id;
  if (credentials.password) msg.password = credentials.password;
  if (credentials.token) msg.token = credentials.token;
  return msg;
}

/**
 * `leave`: leave the current room.
 * @param {RequestId} [id]
 * @returns {LeaveMsg}
 */
export function leave(id) {
  return withId({ type: /** @type {const} */ ('leave') }, id);
}

/**
 * `offer`: an SDP offer for one peer.
 * @param {string} to
 * @param {string} sdp
 * @param {RequestId} [id]
 * @returns {OfferMsg}
 */
export function offer(to, sdp, id) {
  return withId({ type: /** @type {const} */ ('offer'), to, sdp }, id);
}

/**
 * `answer`: an SDP answer for one peer.
 * @param {string} to
 * @param {string} sdp
 * @param {RequestId} [id]
 * @returns {AnswerMsg}
 */
export function answer(to, sdp, id) {
  return withId({ type: /** @type {const} */ ('answer'), to, sdp }, id);
}

/**
 * Copies an `RTCIceCandidateInit`-like object into the wire shape, dropping null fields.
 * @param {{candidate?: string, sdpMid?: string | null, sdpMLineIndex?: number | null,
 *   usernameFragment?: string | null} | null | undefined} c
 * @returns {IceCandidate | null}
 */
export function toIceCandidate(c) {
  if (c === null || c === undefined) return null;
  /** @type {IceCandidate} */
  const out = { candidate: c.candidate ?? '' };
  if (c.sdpMid !== null && c.sdpMid !== undefined) out.sdpMid = c.sdpMid;
  if (c.sdpMLineIndex !== null && c.sdpMLineIndex !== undefined) out.sdpMLineIndex = c.sdpMLineIndex;
  if (c.usernameFragment !== null && c.usernameFragment !== undefined) {
    out.usernameFragment = c.usernameFragment;
  }
  return out;
}

/**
 * `candidate`: a trickled ICE candidate for one peer; `null` means end of candidates.
 * @param {string} to
 * @param {Parameters<typeof toIceCandidate>[0]} c
 * @param {RequestId} [id]
 * @returns {CandidateMsg}
 */
export function candidate(to, c, id) {
  return withId({ type: /** @type {const} */ ('candidate'), to, candidate: toIceCandidate(c) }, id);
}

/**
 * `hangup`: end the call with one peer.
 * @param {string} to
 * @param {RequestId} [id]
 * @returns {HangupMsg}
 */
export function hangup(to, id) {
  return withId({ type: /** @type {const} */ ('hangup'), to }, id);
}

/**
 * `chat`: a text message to everyone in the room (sent trimmed).
 * @param {string} text
 * @param {RequestId} [id]
 * @returns {ChatMsg}
 */
export function chat(text, id) {
  return withId({ type: /** @type {const} */ ('chat'), text: trimChat(text) }, id);
}

/**
 * `ping`: keep-alive, answered with `pong`.
 * @param {RequestId} [id]
 * @returns {PingMsg}
 */
export function ping(id) {
  return withId({ type: /** @type {const} */ ('ping') }, id);
}

// ---------------------------------------------------------------------------------------
// Server message parsing

/** A server message that does not follow the protocol. */
export class ProtocolError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {unknown} v @returns {v is string} */
const isString = (v) => typeof v === 'string';

/** @param {unknown} v @returns {v is number} */
const isUint = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** @param {unknown} v @returns {v is RequestId | undefined} */
const isOptRef = (v) =>
  v === undefined || v === null || isUint(v) || (isString(v) && v.length <= MAX_REQUEST_ID_LEN);

/** @param {unknown} v @returns {v is PeerInfo} */
const isPeerInfo = (v) => isObject(v) && isString(v.id) && isString(v.name);

/** @param {unknown} v @returns {v is ChatMessage} */
const isChatMessage = (v) =>
  isObject(v) && isUint(v.id) && isString(v.from) && isString(v.name) && isString(v.text) && isUint(v.ts);

/** @param {unknown} v @returns {v is IceServer} */
function isIceServer(v) {
  return (
    isObject(v) &&
    Array.isArray(v.urls) &&
    v.urls.every(isString) &&
    (v.username === undefined || v.username === null || isString(v.username)) &&
    (v.credential === undefined || v.credential === null || isString(v.credential))
  );
}

/** @param {unknown} v @returns {v is IceCandidate | null} */
function isCandidateOrNull(v) {
  return (
    v === null ||
    (isObject(v) &&
      isString(v.candidate) &&
      (v.sdpMid === undefined || v.sdpMid === null || isString(v.sdpMid)) &&
      (v.sdpMLineIndex === undefined || v.sdpMLineIndex === null || isUint(v.sdpMLineIndex)) &&
      (v.usernameFragment === undefined || v.usernameFragment === null || isString(v.usernameFragment)))
  );
}

/** @type {Record<ServerMsg['type'], (m: Record<string, unknown>) => boolean>} */
const SERVER_CHECKS = {
  welcome: (m) =>
    isUint(m.version) && isString(m.peerId) && Array.isArray(m.iceServers) && m.iceServers.every(isIceServer),
  joined: (m) =>
    isOptRef(m.ref) &&
    isValidRoom(m.room) &&
    isPeerInfo(m.you) &&
    Array.isArray(m.peers) &&
    m.peers.every(isPeerInfo) &&
    (m.history === undefined || (Array.isArray(m.history) && m.history.every(isChatMessage))),
  left: (m) => isOptRef(m.ref) && isValidRoom(m.room),
  peerJoined: (m) => isPeerInfo(m.peer),
  peerLeft: (m) => isString(m.peerId) && (m.reason === 'left' || m.reason === 'disconnected'),
  offer: (m) => isString(m.from) && isString(m.sdp),
  answer: (m) => isString(m.from) && isString(m.sdp),
  candidate: (m) => isString(m.from) && isCandidateOrNull(m.candidate),
  hangup: (m) => isString(m.from),
  chat: (m) => isOptRef(m.ref) && isChatMessage(m.message),
  pong: (m) => isOptRef(m.ref),
  // Unknown error codes are accepted: a newer server may add some.
  error: (m) => isString(m.code) && isString(m.message) && isOptRef(m.ref),
};

/**
 * Checks that a decoded JSON value is a server message this client understands.
 * @param {unknown} value
 * @returns {ServerMsg}
 * @throws {ProtocolError}
 */
export function validateServerMessage(value) {
  if (!isObject(value)) throw new ProtocolError('server message is not a JSON object');
  const type = value.type;
  if (!isString(type) || !Object.hasOwn(SERVER_CHECKS, type)) {
    throw new ProtocolError(`unknown server message type ${JSON.stringify(type)}`);
  }
  const check = SERVER_CHECKS[/** @type {ServerMsg['type']} */ (type)];
  if (!check(value)) throw new ProtocolError(`malformed ${type} message`);
  if (value.ref === null) delete value.ref;
  if (type === 'joined' && value.history === undefined) value.history = [];
  return /** @type {ServerMsg} */ (/** @type {unknown} */ (value));
}

/**
 * Parses one text frame from the server.
 * @param {unknown} text
 * @returns {ServerMsg}
 * @throws {ProtocolError}
 */
export function parseServerMessage(text) {
  if (typeof text !== 'string') throw new ProtocolError('binary frames are not part of the protocol');
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('server sent invalid JSON');
  }
  return validateServerMessage(value);
}

// ---------------------------------------------------------------------------------------
// Human-readable errors

/** @type {Record<string, string>} */
const ERROR_TEXT = {
  bad_name: 'The server did not accept that name.',
  bad_room: 'The server did not accept that room name.',
  room_full: 'This room is full. Try again later or pick another room.',
  server_full: 'The server has reached its limit of rooms. Try again later.',
  unsupported_version: 'This page is out of date for the server. Reload the page.',
  unknown_peer: 'That person is no longer in the room.',
  not_joined: 'You are not in a room any more.',
  already_joined: 'You are already in a room.',
  too_large: 'A message was too large for the server.',
  bad_text: 'The server did not accept that chat message.',
  rate_limited: 'You are sending messages too fast. Wait a moment and try again.',
};

/**
 * Turns a server `error` message into an English sentence for the user.
 * @param {{code: string, message: string}} err
 * @returns {string}
 */
export function describeServerError(err) {
  const known = ERROR_TEXT[err.code];
  if (known && err.message) return `${known} (${err.message})`;
  return known ?? `The server reported an error: ${err.message || err.code}`;
}

/**
 * Explains why the signaling connection closed, or null for a normal close.
 * @param {number} code
 * @returns {string | null}
 */
export function describeClose(code) {
  switch (code) {
    case CloseCode.NORMAL:
      return null;
    case CloseCode.GOING_AWAY:
      return 'The server is restarting.';
    case CloseCode.UNSUPPORTED_VERSION:
      return 'This page is out of date for the server. Reload the page.';
    case CloseCode.IDLE_TIMEOUT:
      return 'The connection to the server timed out.';
    case CloseCode.SLOW_CONSUMER:
      return 'The connection to the server was too slow and was dropped.';
    case CloseCode.TOO_BIG:
      return 'The server closed the connection: a message was too large.';
    case CloseCode.FLOOD:
      return 'The server closed the connection: this page sent too many messages too fast.';
    case CloseCode.HELLO_TIMEOUT:
      return 'The connection to the server timed out while connecting.';
    default:
      return 'Lost the connection to the server.';
  }
}

// ---------------------------------------------------------------------------------------
// Signaling client

/**
 * The parts of the browser `WebSocket` that `Signaling` uses, so tests can pass a fake.
 * @typedef {object} SocketLike
 * @property {number} readyState 0 connecting, 1 open, 2 closing, 3 closed
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {(type: string, listener: (ev: any) => void) => void} addEventListener
 */

/**
 * Timer functions, injectable for tests.
 * @typedef {object} Timers
 * @property {(fn: () => void, ms: number) => unknown} setInterval
 * @property {(handle: any) => void} clearInterval
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(handle: any) => void} clearTimeout
 */

/**
 * @typedef {object} SignalingOptions
 * @property {Partial<Timers>} [timers]
 * @property {number} [pingIntervalMs]
 * @property {number} [requestTimeoutMs]
 */

/**
 * How the connection ended.
 * @typedef {object} CloseInfo
 * @property {number} code
 * @property {string} reason
 * @property {boolean} wasClean
 * @property {boolean} expected true when this side called `close()`
 * @property {boolean} everOpened whether the socket ever opened
 */

/**
 * Events `Signaling` dispatches, by name.
 * @typedef {object} SignalingEvents
 * @property {WelcomeMsg} welcome
 * @property {JoinedMsg} joined
 * @property {LeftMsg} left
 * @property {PeerJoinedMsg} peerJoined
 * @property {PeerLeftMsg} peerLeft
 * @property {RemoteOfferMsg} offer
 * @property {RemoteAnswerMsg} answer
 * @property {RemoteCandidateMsg} candidate
 * @property {RemoteHangupMsg} hangup
 * @property {RemoteChatMsg} chat every chat message in the room, own ones included
 * @property {PongMsg} pong
 * @property {ErrorMsg} serverError an `error` that answered no pending request
 * @property {ProtocolError} protocolError the server sent something unreadable
 * @property {CloseInfo} close
 */

/** A failed request: a server `error` reply, a timeout, or a closed connection. */
export class SignalingError extends Error {
  /**
   * @param {string} code a server error code, or 'timeout' / 'closed'
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'SignalingError';
    /** @type {string} */
    this.code = code;
  }
}

/**
 * @typedef {object} Pending
 * @property {string} expect the reply type that resolves it
 * @property {(msg: any) => void} resolve
 * @property {(err: SignalingError) => void} reject
 * @property {unknown} timer
 */

/**
 * The signaling client: says hello when the socket opens, resolves `ready` with the
 * `welcome`, sends keep-alive pings, matches replies to requests by id and dispatches
 * everything else as typed events.
 */
export class Signaling {
  /**
   * @param {SocketLike} socket a WebSocket (or fake), connecting or open
   * @param {SignalingOptions} [options]
   */
  constructor(socket, options = {}) {
    this.socket = socket;
    /** @type {Timers} */
    this.timers = {
      setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
      clearInterval: (h) => globalThis.clearInterval(h),
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h),
      ...options.timers,
    };
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    /** @type {WelcomeMsg | null} */
    this.welcome = null;
    /** @type {boolean} */
    this.closed = false;
    /** @private */
    this.nextId = 1;
    /** @private @type {Map<RequestId, Pending>} */
    this.pending = new Map();
    /** @private @type {Map<string, Set<(ev: any) => void>>} */
    this.listeners = new Map();
    /** @private @type {unknown} */
    this.pingTimer = null;
    /** @private */
    this.closeRequested = false;
    /** @private */
    this.everOpened = false;
    /** @private @type {RequestId | null} */
    this.helloId = null;

    /** @private @type {(w: WelcomeMsg) => void} */
    this.resolveReady = () => {};
    /** @private @type {(e: SignalingError) => void} */
    this.rejectReady = () => {};
    /** Resolves with the server's `welcome`; rejects if the connection fails first. */
    this.ready = /** @type {Promise<WelcomeMsg>} */ (
      new Promise((resolve, reject) => {
        this.resolveReady = resolve;
        this.rejectReady = reject;
      })
    );
    // Nobody may be awaiting `ready` yet; a rejection is reported through 'close' too.
    this.ready.catch(() => {});

    socket.addEventListener('open', () => this.onOpen());
    socket.addEventListener('message', (ev) => this.onMessage(ev.data));
    socket.addEventListener('close', (ev) =>
      this.onClose(typeof ev?.code === 'number' ? ev.code : 1006, String(ev?.reason ?? ''), Boolean(ev?.wasClean)),
    );
    // An 'error' event is always followed by 'close', which does the reporting.
    socket.addEventListener('error', () => {});
    if (socket.readyState === 1) this.onOpen();
  }

  /**
   * Subscribes to an event. Returns a function that unsubscribes.
   * @template {keyof SignalingEvents} K
   * @param {K} type
   * @param {(ev: SignalingEvents[K]) => void} listener
   * @returns {() => void}
   */
  on(type, listener) {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @private
   * @template {keyof SignalingEvents} K
   * @param {K} type
   * @param {SignalingEvents[K]} ev
   */
  emit(type, ev) {
    for (const fn of [...(this.listeners.get(type) ?? [])]) {
      try {
        fn(ev);
      } catch (err) {
        console.error(`confab: ${type} listener failed`, err);
      }
    }
  }

  /** @private */
  onOpen() {
    if (this.everOpened) return;
    this.everOpened = true;
    this.helloId = this.takeId();
    this.send(hello(this.helloId));
    this.pingTimer = this.timers.setInterval(() => {
      this.ping().catch(() => {});
    }, this.pingIntervalMs);
  }

  /**
   * @private
   * @param {unknown} data
   */
  onMessage(data) {
    /** @type {ServerMsg} */
    let msg;
    try {
      msg = parseServerMessage(data);
    } catch (err) {
      this.emit('protocolError', err instanceof ProtocolError ? err : new ProtocolError(String(err)));
      return;
    }
    if (msg.type === 'welcome') {
      if (this.welcome) return;
      this.welcome = msg;
      this.resolveReady(msg);
      this.emit('welcome', msg);
      return;
    }
    if (msg.type === 'error') {
      if (msg.ref !== undefined && msg.ref === this.helloId && !this.welcome) {
        this.rejectReady(new SignalingError(msg.code, msg.message));
        return;
      }
      const p = msg.ref !== undefined ? this.pending.get(msg.ref) : undefined;
      if (p && msg.ref !== undefined) {
        this.settle(msg.ref);
        p.reject(new SignalingError(msg.code, msg.message));
      } else {
        this.emit('serverError', msg);
      }
      return;
    }
    if (
      (msg.type === 'joined' || msg.type === 'left' || msg.type === 'pong' || msg.type === 'chat') &&
      msg.ref !== undefined
    ) {
      const p = this.pending.get(msg.ref);
      if (p && p.expect === msg.type) {
        this.settle(msg.ref);
        p.resolve(msg);
      }
    }
    // Replies are dispatched as events too, after their promise settled.
    this.emit(msg.type, /** @type {any} */ (msg));
  }

  /**
   * @private
   * @param {number} code
   * @param {string} reason
   * @param {boolean} wasClean
   */
  onClose(code, reason, wasClean) {
    if (this.closed) return;
    this.closed = true;
    this.stopPing();
    const why = describeClose(code) ?? 'The connection to the server closed.';
    if (!this.welcome) {
      this.rejectReady(
        new SignalingError('closed', this.everOpened ? why : 'Could not connect to the server.'),
      );
    }
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(new SignalingError('closed', why));
    }
    this.emit('close', { code, reason, wasClean, expected: this.closeRequested, everOpened: this.everOpened });
  }

  /** @private */
  stopPing() {
    if (this.pingTimer !== null) {
      this.timers.clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }

  /**
   * @private
   * @returns {number}
   */
  takeId() {
    return this.nextId++;
  }

  /**
   * @private
   * @param {RequestId} id
   */
  settle(id) {
    const p = this.pending.get(id);
    if (p) {
      this.timers.clearTimeout(p.timer);
      this.pending.delete(id);
    }
  }

  /**
   * Sends one message if the socket is open. Returns whether it was sent.
   * @param {ClientMsg} msg
   * @returns {boolean}
   */
  send(msg) {
    if (this.closed || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  /**
   * @private
   * @template {'joined' | 'left' | 'pong' | 'chat'} T
   * @param {T} expect
   * @param {(id: number) => ClientMsg} build
   * @returns {Promise<Extract<ServerMsg, {type: T}>>}
   */
  request(expect, build) {
    if (this.closed || this.socket.readyState !== 1) {
      return Promise.reject(new SignalingError('closed', 'Not connected to the server.'));
    }
    const id = this.takeId();
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalingError('timeout', 'The server did not answer in time.'));
      }, this.requestTimeoutMs);
      this.pending.set(id, { expect, resolve, reject, timer });
      this.send(build(id));
    });
  }

  /**
   * Joins a room; resolves with the `joined` snapshot.
   * @param {string} room
   * @param {string} name
   * @returns {Promise<JoinedMsg>}
   */
  join(room, name) {
    return this.request('joined', (id) => join(room, name, id));
  }

  /**
   * Leaves the current room; resolves with `left`.
   * @returns {Promise<LeftMsg>}
   */
  leave() {
    return this.request('left', (id) => leave(id));
  }

  /**
   * Sends a keep-alive; resolves with the `pong`.
   * @returns {Promise<PongMsg>}
   */
  ping() {
    return this.request('pong', (id) => ping(id));
  }

  /**
   * Sends a chat message (trimmed). Returns the request id, which comes back as `ref` on
   * this connection's copy of the message (also dispatched as a 'chat' event, before
   * `reply` settles), or null when not connected; and `reply`, which resolves with the
   * stored message or rejects with a SignalingError (`bad_text`, `rate_limited`,
   * `not_joined`, 'timeout' or 'closed').
   * @param {string} text
   * @returns {{id: number | null, reply: Promise<ChatMessage>}}
   */
  sendChat(text) {
    /** @type {number | null} */
    let id = null;
    const reply = this.request('chat', (n) => {
      id = n;
      return chat(text, n);
    }).then((m) => m.message);
    return { id, reply };
  }

  /** @param {string} to @param {string} sdp */
  sendOffer(to, sdp) {
    return this.send(offer(to, sdp));
  }

  /** @param {string} to @param {string} sdp */
  sendAnswer(to, sdp) {
    return this.send(answer(to, sdp));
  }

  /** @param {string} to @param {Parameters<typeof toIceCandidate>[0]} c */
  sendCandidate(to, c) {
    return this.send(candidate(to, c));
  }

  /** @param {string} to */
  sendHangup(to) {
    return this.send(hangup(to));
  }

  /**
   * Closes the connection on purpose; the 'close' event reports `expected: true`.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = CloseCode.NORMAL, reason = '') {
    this.closeRequested = true;
    this.stopPing();
    if (this.socket.readyState === 0 || this.socket.readyState === 1) {
      try {
        this.socket.close(code, reason);
      } catch {
        this.socket.close();
      }
    }
  }
}
