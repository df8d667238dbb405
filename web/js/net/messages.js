// Builders for the messages a client sends. Each returns the wire object (JSON.stringify
// it); `id`, when given, comes back as `ref` on the reply. No DOM.

import { PROTOCOL_VERSION } from './types.js';
import { trimChat, trimName } from './rules.js';
/** @import { BroadcastMsg, HandMsg, ReactMsg, Reaction, RecordMsg, RecordingsMsg, RenameMsg, SfuViewMsg, StageMsg } from './types.js' */
/** @import { AcceptMsg, AnswerMsg, CallStatsMsg, CancelMsg, CandidateMsg, ChatMsg, DeclineMsg, HangupMsg, HelloMsg, IceCandidate, InviteMsg, JoinCallMsg, JoinMsg, KickMsg, LeaveCallMsg, LeaveMsg, LockMsg, MediaMsg, MuteMsg, OfferMsg, PairType, PingMsg, RequestId, SfuAnswerMsg, SfuOfferMsg } from './types.js' */

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
 * `sfuOffer`: an SDP offer for the server's media router (in a call whose media is `sfu`).
 * @param {string} sdp
 * @param {RequestId} [id]
 * @returns {SfuOfferMsg}
 */
export function sfuOffer(sdp, id) {
  return withId({ type: /** @type {const} */ ('sfuOffer'), sdp }, id);
}

/**
 * `sfuAnswer`: the answer to the media router's offer.
 * @param {string} sdp
 * @param {RequestId} [id]
 * @returns {SfuAnswerMsg}
 */
export function sfuAnswer(sdp, id) {
  return withId({ type: /** @type {const} */ ('sfuAnswer'), sdp }, id);
}

/** The reactions there are, in the order the picker shows them. */
export const REACTIONS = /** @type {const} */ (['thumbsUp', 'clap', 'laugh', 'heart', 'party', 'surprised']);

/**
 * `react`: a reaction for everyone in the room.
 * @param {Reaction} reaction
 * @param {RequestId} [id]
 * @returns {ReactMsg}
 */
export function react(reaction, id) {
  return withId({ type: /** @type {const} */ ('react'), reaction }, id);
}

/**
 * `waitingRoom`: host only, joiners wait to be admitted (`on`) or come straight in.
 * @param {boolean} on
 * @param {import('./types.js').RequestId} [id]
 * @returns {import('./types.js').WaitingRoomMsg}
 */
export function waitingRoom(on, id) {
  return withId({ type: /** @type {const} */ ('waitingRoom'), on }, id);
}

/**
 * `admit`: host only, let `peer` (waiting to join) in or not.
 * @param {string} peer
 * @param {boolean} allow
 * @param {import('./types.js').RequestId} [id]
 * @returns {import('./types.js').AdmitMsg}
 */
export function admit(peer, allow, id) {
  return withId({ type: /** @type {const} */ ('admit'), peer, allow }, id);
}

/**
 * `localRecording`: we started or stopped recording the call on this device.
 * @param {boolean} on
 * @param {import('./types.js').RequestId} [id]
 * @returns {import('./types.js').LocalRecordingMsg}
 */
export function localRecording(on, id) {
  return withId({ type: /** @type {const} */ ('localRecording'), on }, id);
}

/**
 * `rename`: our new display name (trimmed like the server does).
 * @param {string} name
 * @param {import('./types.js').RequestId} [id]
 * @returns {RenameMsg}
 */
export function rename(name, id) {
  return withId({ type: /** @type {const} */ ('rename'), name: trimName(name) }, id);
}

/**
 * `sfuView`: how we show each video track the router sends us (device pixels; 0 by 0:
 * not shown), so it sends each in the simulcast layer that fits.
 * @param {import('./types.js').TrackView[]} tracks
 * @param {RequestId} [id]
 * @returns {SfuViewMsg}
 */
export function sfuView(tracks, id) {
  return withId({ type: /** @type {const} */ ('sfuView'), tracks }, id);
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
 * `chat`: a text message to everyone in the room (sent trimmed), with our key for it
 * (sending it again with the same key delivers it once).
 * @param {string} text
 * @param {RequestId} [id]
 * @param {string} [key]
 * @returns {ChatMsg}
 */
export function chat(text, id, key) {
  const msg = { type: /** @type {const} */ ('chat'), text: trimChat(text) };
  return withId(key === undefined ? msg : { ...msg, key }, id);
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
 * `media`: report the microphone and camera state shown to the room, and whether the
 * screen is the outgoing video (`screen` only when true, as the protocol writes it).
 * @param {boolean} audioMuted
 * @param {boolean} videoMuted
 * @param {boolean} [screen]
 * @param {RequestId} [id]
 * @returns {MediaMsg}
 */
export function media(audioMuted, videoMuted, screen = false, id) {
  const msg = { type: /** @type {const} */ ('media'), audioMuted, videoMuted };
  return withId(screen ? { ...msg, screen: true } : msg, id);
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
 * `broadcast`: turn broadcast mode on or off (hosts only).
 * @param {boolean} on
 * @param {RequestId} [id]
 * @returns {BroadcastMsg}
 */
export function broadcast(on, id) {
  return withId({ type: /** @type {const} */ ('broadcast'), on }, id);
}

/**
 * `record`: start or stop recording the room on the server (hosts only).
 * @param {boolean} on
 * @param {RequestId} [id]
 * @returns {RecordMsg}
 */
export function record(on, id) {
  return withId({ type: /** @type {const} */ ('record'), on }, id);
}

/**
 * `recordings`: the room's recordings on the server (hosts only).
 * @param {RequestId} [id]
 * @returns {RecordingsMsg}
 */
export function recordings(id) {
  return withId({ type: /** @type {const} */ ('recordings') }, id);
}

/**
 * `hand`: raise or lower our hand.
 * @param {boolean} up
 * @param {RequestId} [id]
 * @returns {HandMsg}
 */
export function hand(up, id) {
  return withId({ type: /** @type {const} */ ('hand'), up }, id);
}

/**
 * `stage`: bring a peer on stage or back to the audience (hosts; anyone for itself, off).
 * @param {string} peer
 * @param {boolean} on
 * @param {RequestId} [id]
 * @returns {StageMsg}
 */
export function stage(peer, on, id) {
  return withId({ type: /** @type {const} */ ('stage'), peer, on }, id);
}

/**
 * `ping`: keep-alive, answered with `pong`.
 * @param {RequestId} [id]
 * @returns {PingMsg}
 */
export function ping(id) {
  return withId({ type: /** @type {const} */ ('ping') }, id);
}

