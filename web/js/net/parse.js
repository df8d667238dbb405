// Checking what the server sends: every frame goes through `parseServerMessage`, which
// rejects what does not follow the protocol and fills in what older servers leave out.
// No DOM.

import { MAX_REQUEST_ID_LEN } from './types.js';
import { isValidRoom } from './rules.js';
import { REACTIONS } from './messages.js';
/** @import { ChatMessage, IceCandidate, IceServer, PeerInfo, PeerState, RequestId, Role, ServerMsg } from './types.js' */

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
  isOptBool(v.reconnecting) &&
  isOptBool(v.hand) &&
  isOptBool(v.onStage) &&
  isOptBool(v.recordingLocally) &&
  isOptBool(v.screen);

/** @param {unknown} v @returns {v is import('./types.js').LayerTrack} */
const isLayerTrack = (v) =>
  isObject(v) &&
  isString(v.mid) &&
  isString(v.from) &&
  isUint(v.layers) &&
  v.layers > 0 &&
  (v.layer === undefined || (isUint(v.layer) && v.layer < v.layers)) &&
  (v.rid === undefined || isString(v.rid)) &&
  (v.width === undefined || isUint(v.width)) &&
  (v.height === undefined || isUint(v.height));

/** @param {unknown} v @returns {v is Role} */
const isRole = (v) => v === 'host' || v === 'guest' || v === 'viewer';

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

/** @param {unknown} v */
const isMediaMode = (v) => v === 'mesh' || v === 'sfu';

/** @param {unknown} v */
const isRecordedFile = (v) => isObject(v) && isString(v.name) && (v.kind === 'audio' || v.kind === 'video')
  && isString(v.peer) && isUint(v.bytes) && isString(v.url) && v.url.startsWith('/recordings/');

/** @param {unknown} v */
const isComposedFile = (v) => isObject(v) && isString(v.name) && isUint(v.bytes)
  && isString(v.url) && v.url.startsWith('/recordings/');

/** @param {unknown} v */
const isRecordingInfo = (v) => isObject(v) && isString(v.id) && isUint(v.startedMs)
  && (v.stoppedMs === undefined || isUint(v.stoppedMs)) && Array.isArray(v.files) && v.files.every(isRecordedFile)
  && (v.replay === undefined || (isString(v.replay) && v.replay.startsWith('/replay/')))
  && (v.composed === undefined || isComposedFile(v.composed));

/** @type {Record<ServerMsg['type'], (m: Record<string, unknown>) => boolean>} */
const SERVER_CHECKS = {
  welcome: (m) =>
    isUint(m.version) &&
    isString(m.peerId) &&
    Array.isArray(m.iceServers) &&
    m.iceServers.every(isIceServer) &&
    (m.resumeToken === undefined || isString(m.resumeToken)) &&
    isOptBool(m.resumed),
  iceServers: (m) => Array.isArray(m.iceServers) && m.iceServers.every(isIceServer),
  joined: (m) =>
    isOptRef(m.ref) &&
    isValidRoom(m.room) &&
    isPeerInfo(m.you) &&
    Array.isArray(m.peers) &&
    m.peers.every(isPeerInfo) &&
    (m.history === undefined || (Array.isArray(m.history) && m.history.every(isChatMessage))) &&
    isOptBool(m.broadcast) &&
    (m.recording === undefined || isString(m.recording)),
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
  callJoined: (m) =>
    isOptRef(m.ref) && isUint(m.call) && isIdList(m.members) && (m.media === undefined || isMediaMode(m.media)),
  callMode: (m) => isUint(m.call) && isMediaMode(m.media),
  sfuOffer: (m) => isString(m.sdp),
  sfuAnswer: (m) => isString(m.sdp),
  activeSpeakers: (m) => isUint(m.call) && isIdList(m.speakers),
  layers: (m) => isUint(m.call) && Array.isArray(m.tracks) && m.tracks.every(isLayerTrack),
  kicked: (m) => isValidRoom(m.room) && isString(m.by),
  muteRequest: (m) => isString(m.by),
  roomLocked: (m) => typeof m.locked === 'boolean' && isString(m.by),
  roleChanged: (m) => isString(m.peerId) && isRole(m.role),
  broadcast: (m) => typeof m.on === 'boolean' && isString(m.by),
  recording: (m) => typeof m.on === 'boolean' && isString(m.by),
  reacted: (m) => isString(m.peer) && REACTIONS.includes(/** @type {any} */ (m.reaction)),
  renamed: (m) => isOptRef(m.ref) && isString(m.peerId) && isString(m.name),
  waitingRoom: (m) => typeof m.on === 'boolean' && isString(m.by),
  waiting: (m) => isOptRef(m.ref) && isValidRoom(m.room),
  knocking: (m) => isString(m.peer) && isString(m.name),
  knockEnded: (m) => isString(m.peer) && typeof m.admitted === 'boolean',
  recordings: (m) => isOptRef(m.ref) && Array.isArray(m.list) && m.list.every(isRecordingInfo),
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


/**
 * The server's ICE servers as `RTCPeerConnection` takes them.
 * @param {IceServer[]} servers
 * @returns {RTCIceServer[]}
 */
export function toRtcIceServers(servers) {
  return servers.map((s) => {
    /** @type {RTCIceServer} */
    const out = { urls: s.urls };
    if (s.username) out.username = s.username;
    if (s.credential) out.credential = s.credential;
    return out;
  });
}
