// confab signaling protocol, version 1: message constructors and validators for what the
// server sends. `Signaling`, the client over a WebSocket, is in signaling.js.
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
  REPLACED: 4004,
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

/**
 * A peer's presence: idle, ringing (invited to `call`, not answered yet) or in `call`;
 * and its mute flags as its client reported them.
 * `reconnecting`: its connection dropped and the server holds its place for a resume.
 * @typedef {{status: 'idle' | 'ringing' | 'inCall', call?: number, audioMuted: boolean,
 *   videoMuted: boolean, reconnecting?: boolean}} PeerState
 */

/**
 * A peer as the room sees it. `state` is always set here: `validateServerMessage` fills
 * in an idle state for servers that predate calls. `role` is absent for guests.
 * @typedef {{id: string, name: string, state: PeerState, role?: Role}} PeerInfo
 */

/** @typedef {'host' | 'guest'} Role */

/** @typedef {'accepted' | 'declined' | 'cancelled' | 'timeout' | 'left'} InviteEndReason */

/**
 * A chat message as the server stored it. `id` increases within a room; `ts` is the
 * server's time of receipt in Unix milliseconds.
 * @typedef {{id: number, from: string, name: string, text: string, ts: number}} ChatMessage
 */

/**
 * @typedef {'bad_json' | 'unknown_type' | 'bad_field' | 'too_large' | 'bad_name' |
 *   'bad_room' | 'bad_sdp' | 'hello_required' | 'already_hello' | 'unsupported_version' |
 *   'not_joined' | 'already_joined' | 'unknown_peer' | 'room_full' | 'server_full' | 'bad_text' |
 *   'rate_limited' | 'busy' | 'call_full' | 'already_in_call' | 'already_invited' |
 *   'in_another_call' | 'no_invitation' | 'unknown_call' | 'not_in_call' | 'password_required' |
 *   'bad_password' | 'token_required' | 'bad_token' | 'not_host' | 'room_locked'} ErrorCode
 */

/** @typedef {{type: 'hello', version: number, id?: RequestId, resume?: string}} HelloMsg */
/** @typedef {{type: 'join', room: string, name: string, id?: RequestId, password?: string, token?: string}} JoinMsg */
/** @typedef {{type: 'leave', id?: RequestId}} LeaveMsg */
/** @typedef {{type: 'offer', to: string, sdp: string, id?: RequestId}} OfferMsg */
/** @typedef {{type: 'answer', to: string, sdp: string, id?: RequestId}} AnswerMsg */
/** @typedef {{type: 'candidate', to: string, candidate: IceCandidate | null, id?: RequestId}} CandidateMsg */
/** @typedef {{type: 'hangup', to: string, id?: RequestId}} HangupMsg */
/** @typedef {{type: 'ping', id?: RequestId}} PingMsg */
/** @typedef {{type: 'chat', text: string, id?: RequestId}} ChatMsg */
/** @typedef {{type: 'invite', to: string, id?: RequestId}} InviteMsg */
/** @typedef {{type: 'cancel', to: string, id?: RequestId}} CancelMsg */
/** @typedef {{type: 'accept', call: number, id?: RequestId}} AcceptMsg */
/** @typedef {{type: 'decline', call: number, id?: RequestId}} DeclineMsg */
/** @typedef {{type: 'joinCall', call: number, id?: RequestId}} JoinCallMsg */
/** @typedef {{type: 'leaveCall', id?: RequestId}} LeaveCallMsg */
/** @typedef {{type: 'media', audioMuted: boolean, videoMuted: boolean, id?: RequestId}} MediaMsg */
/** @typedef {'host' | 'srflx' | 'prflx' | 'relay'} PairType */
/** @typedef {{type: 'callStats', peer: string, setupMs: number, pair: PairType, id?: RequestId}} CallStatsMsg */
/** @typedef {{type: 'kick', peer: string, id?: RequestId}} KickMsg */
/** @typedef {{type: 'mute', peer: string, id?: RequestId}} MuteMsg */
/** @typedef {{type: 'lock', locked: boolean, id?: RequestId}} LockMsg */
/**
 * @typedef {HelloMsg | JoinMsg | LeaveMsg | OfferMsg | AnswerMsg | CandidateMsg | HangupMsg |
 *   PingMsg | ChatMsg | InviteMsg | CancelMsg | AcceptMsg | DeclineMsg | JoinCallMsg |
 *   LeaveCallMsg | MediaMsg | CallStatsMsg | KickMsg | MuteMsg | LockMsg} ClientMsg
 */

/**
 * @typedef {{type: 'welcome', version: number, peerId: string, iceServers: IceServer[],
 *   resumeToken?: string, resumed?: boolean}} WelcomeMsg
 */
/**
 * `history` is always an array here: `validateServerMessage` fills in `[]` for servers
 * that predate chat.
 * @typedef {{type: 'joined', ref?: RequestId, room: string, you: PeerInfo, peers: PeerInfo[],
 *   history: ChatMessage[]}} JoinedMsg
 */
/** @typedef {{type: 'left', ref?: RequestId, room: string}} LeftMsg */
/** @typedef {{type: 'peerJoined', peer: PeerInfo}} PeerJoinedMsg */
/** @typedef {{type: 'peerLeft', peerId: string, reason: 'left' | 'disconnected' | 'kicked'}} PeerLeftMsg */
/** @typedef {{type: 'offer', from: string, sdp: string}} RemoteOfferMsg */
/** @typedef {{type: 'answer', from: string, sdp: string}} RemoteAnswerMsg */
/** @typedef {{type: 'candidate', from: string, candidate: IceCandidate | null}} RemoteCandidateMsg */
/** @typedef {{type: 'hangup', from: string}} RemoteHangupMsg */
/** @typedef {{type: 'chat', ref?: RequestId, message: ChatMessage}} RemoteChatMsg */
/** @typedef {{type: 'presence', peerId: string, state: PeerState}} PresenceMsg */
/** @typedef {{type: 'invited', call: number, from: string, members: string[]}} InvitedMsg */
/** @typedef {{type: 'inviting', ref?: RequestId, call: number, to: string}} InvitingMsg */
/** @typedef {{type: 'inviteEnded', call: number, from: string, to: string, reason: InviteEndReason}} InviteEndedMsg */
/** @typedef {{type: 'callJoined', ref?: RequestId, call: number, members: string[]}} CallJoinedMsg */
/** @typedef {{type: 'kicked', room: string, by: string}} KickedMsg */
/** @typedef {{type: 'muteRequest', by: string}} MuteRequestMsg */
/** @typedef {{type: 'roomLocked', locked: boolean, by: string}} RoomLockedMsg */
/** @typedef {{type: 'roleChanged', peerId: string, role: Role}} RoleChangedMsg */
/** @typedef {{type: 'pong', ref?: RequestId}} PongMsg */
/** @typedef {{type: 'error', code: ErrorCode, message: string, ref?: RequestId}} ErrorMsg */
/**
 * @typedef {WelcomeMsg | JoinedMsg | LeftMsg | PeerJoinedMsg | PeerLeftMsg | RemoteOfferMsg |
 *   RemoteAnswerMsg | RemoteCandidateMsg | RemoteHangupMsg | RemoteChatMsg | PresenceMsg |
 *   InvitedMsg | InvitingMsg | InviteEndedMsg | CallJoinedMsg | KickedMsg | MuteRequestMsg |
 *   RoomLockedMsg | RoleChangedMsg | PongMsg | ErrorMsg} ServerMsg
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
 * `hello`: the first message on a connection; with `resume`, the `resumeToken` of an
 * earlier `welcome`, to get that identity back after a dropped connection.
 * @param {RequestId} [id]
 * @param {number} [version]
 * @param {string} [resume]
 * @returns {HelloMsg}
 */
export function hello(id, version = PROTOCOL_VERSION, resume) {
  /** @type {HelloMsg} */
  const msg = withId({ type: /** @type {const} */ ('hello'), version }, id);
  return resume === undefined ? msg : { ...msg, resume };
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
 * `invite`: ring a peer into your call (a new one if you are in none).
 * @param {string} to
 * @param {RequestId} [id]
 * @returns {InviteMsg}
 */
export function invite(to, id) {
  return withId({ type: /** @type {const} */ ('invite'), to }, id);
}

/**
 * `cancel`: withdraw your pending invitation to a peer.
 * @param {string} to
 * @param {RequestId} [id]
 * @returns {CancelMsg}
 */
export function cancelInvite(to, id) {
  return withId({ type: /** @type {const} */ ('cancel'), to }, id);
}

/**
 * `accept`: join the call you are being rung into.
 * @param {number} call
 * @param {RequestId} [id]
 * @returns {AcceptMsg}
 */
export function accept(call, id) {
  return withId({ type: /** @type {const} */ ('accept'), call }, id);
}

/**
 * `decline`: refuse the invitation to a call.
 * @param {number} call
 * @param {RequestId} [id]
 * @returns {DeclineMsg}
 */
export function decline(call, id) {
  return withId({ type: /** @type {const} */ ('decline'), call }, id);
}

/**
 * `joinCall`: join a call running in your room, without an invitation.
 * @param {number} call
 * @param {RequestId} [id]
 * @returns {JoinCallMsg}
 */
export function joinCall(call, id) {
  return withId({ type: /** @type {const} */ ('joinCall'), call }, id);
}

/**
 * `leaveCall`: hang up; the others in the call stay connected.
 * @param {RequestId} [id]
 * @returns {LeaveCallMsg}
 */
export function leaveCall(id) {
  return withId({ type: /** @type {const} */ ('leaveCall') }, id);
}

/**
 * `media`: report the microphone and camera state shown to the room.
 * @param {boolean} audioMuted
 * @param {boolean} videoMuted
 * @param {RequestId} [id]
 * @returns {MediaMsg}
 */
export function media(audioMuted, videoMuted, id) {
  return withId({ type: /** @type {const} */ ('media'), audioMuted, videoMuted }, id);
}

/** Longest setup time a `callStats` may report, in milliseconds. */
export const MAX_SETUP_MS = 600_000;

/**
 * `callStats`: media from `peer` plays; how long the setup took and the path type. Only
 * counted in the server's metrics.
 * @param {string} peer
 * @param {number} setupMs rounded and clamped to 0..MAX_SETUP_MS
 * @param {PairType} pair
 * @param {RequestId} [id]
 * @returns {CallStatsMsg}
 */
export function callStats(peer, setupMs, pair, id) {
  const ms = Math.min(MAX_SETUP_MS, Math.max(0, Math.round(setupMs)));
  return withId({ type: /** @type {const} */ ('callStats'), peer, setupMs: ms, pair }, id);
}

/**
 * `kick`: remove a peer from the room (hosts only; others get `not_host`).
 * @param {string} peer
 * @param {RequestId} [id]
 * @returns {KickMsg}
 */
export function kick(peer, id) {
  return withId({ type: /** @type {const} */ ('kick'), peer }, id);
}

/**
 * `mute`: ask a peer to mute its microphone (hosts only).
 * @param {string} peer
 * @param {RequestId} [id]
 * @returns {MuteMsg}
 */
export function mute(peer, id) {
  return withId({ type: /** @type {const} */ ('mute'), peer }, id);
}

/**
 * `lock`: lock the room against new joins, or unlock it (hosts only).
 * @param {boolean} locked
 * @param {RequestId} [id]
 * @returns {LockMsg}
 */
export function lock(locked, id) {
  return withId({ type: /** @type {const} */ ('lock'), locked }, id);
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

const STATUSES = ['idle', 'ringing', 'inCall'];
const END_REASONS = ['accepted', 'declined', 'cancelled', 'timeout', 'left'];

/** @param {unknown} v @returns {v is boolean | undefined} */
const isOptBool = (v) => v === undefined || typeof v === 'boolean';

/** @param {unknown} v @returns {v is PeerState} */
const isPeerState = (v) =>
  isObject(v) &&
  STATUSES.includes(/** @type {string} */ (v.status)) &&
  (v.call === undefined || v.call === null || isUint(v.call)) &&
  isOptBool(v.audioMuted) &&
  isOptBool(v.videoMuted) &&
  isOptBool(v.reconnecting);

/** @param {unknown} v @returns {v is Role} */
const isRole = (v) => v === 'host' || v === 'guest';

/** @param {unknown} v @returns {v is PeerInfo} */
const isPeerInfo = (v) =>
  isObject(v) && isString(v.id) && isString(v.name) && (v.state === undefined || isPeerState(v.state)) &&
  (v.role === undefined || isRole(v.role));

/**
 * Fills in what older servers leave out: an idle state, false mute flags.
 * @param {any} peer
 */
function normalizePeer(peer) {
  const s = peer.state ?? { status: 'idle' };
  if (s.call === null) delete s.call;
  s.audioMuted = s.audioMuted ?? false;
  s.videoMuted = s.videoMuted ?? false;
  peer.state = s;
}

/** @param {unknown} v @returns {v is string[]} */
const isIdList = (v) => Array.isArray(v) && v.every(isString);

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
    isUint(m.version) &&
    isString(m.peerId) &&
    Array.isArray(m.iceServers) &&
    m.iceServers.every(isIceServer) &&
    (m.resumeToken === undefined || isString(m.resumeToken)) &&
    isOptBool(m.resumed),
  joined: (m) =>
    isOptRef(m.ref) &&
    isValidRoom(m.room) &&
    isPeerInfo(m.you) &&
    Array.isArray(m.peers) &&
    m.peers.every(isPeerInfo) &&
    (m.history === undefined || (Array.isArray(m.history) && m.history.every(isChatMessage))),
  left: (m) => isOptRef(m.ref) && isValidRoom(m.room),
  peerJoined: (m) => isPeerInfo(m.peer),
  peerLeft: (m) => isString(m.peerId) && (m.reason === 'left' || m.reason === 'disconnected' || m.reason === 'kicked'),
  offer: (m) => isString(m.from) && isString(m.sdp),
  answer: (m) => isString(m.from) && isString(m.sdp),
  candidate: (m) => isString(m.from) && isCandidateOrNull(m.candidate),
  hangup: (m) => isString(m.from),
  chat: (m) => isOptRef(m.ref) && isChatMessage(m.message),
  presence: (m) => isString(m.peerId) && isPeerState(m.state),
  invited: (m) => isUint(m.call) && isString(m.from) && isIdList(m.members),
  inviting: (m) => isOptRef(m.ref) && isUint(m.call) && isString(m.to),
  inviteEnded: (m) =>
    isUint(m.call) && isString(m.from) && isString(m.to) && END_REASONS.includes(/** @type {string} */ (m.reason)),
  callJoined: (m) => isOptRef(m.ref) && isUint(m.call) && isIdList(m.members),
  kicked: (m) => isValidRoom(m.room) && isString(m.by),
  muteRequest: (m) => isString(m.by),
  roomLocked: (m) => typeof m.locked === 'boolean' && isString(m.by),
  roleChanged: (m) => isString(m.peerId) && isRole(m.role),
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
  if (type === 'joined') {
    normalizePeer(value.you);
    for (const p of /** @type {unknown[]} */ (value.peers)) normalizePeer(p);
  }
  if (type === 'peerJoined') normalizePeer(value.peer);
  if (type === 'presence') normalizePeer({ state: value.state });
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
  busy: 'They are busy in another call.',
  call_full: 'The call is full.',
  already_in_call: 'They are already in your call.',
  already_invited: 'They are already being called.',
  in_another_call: 'You are in another call. Hang up first.',
  no_invitation: 'That call invitation is no longer open.',
  unknown_call: 'That call has ended.',
  not_in_call: 'You are not in a call.',
  not_host: 'Only a host of the room can do that.',
  room_locked: 'This room is locked: the host is not letting anyone else in right now.',
  password_required: 'This room needs a password.',
  bad_password: 'Wrong password.',
  token_required: 'This server only lets people in with an invitation link.',
  bad_token: 'This invitation link is not valid any more.',
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
    case CloseCode.REPLACED:
      return 'This room was opened again in another connection.';
    default:
      return 'Lost the connection to the server.';
  }
}
