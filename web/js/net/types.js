// confab signaling protocol, version 1: constants and the message types, as JSDoc.
// `protocol.js` re-exports this module with the builders, rules and parser; import
// from there. The Rust crate `crates/proto` owns the protocol; fixtures/protocol/ keeps
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
export const PING_INTERVAL_MS = 5_000;
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
  /** Sent by a client: it heard nothing from the server for too long (liveness.js). */
  SILENT: 4010,
});

// ---------------------------------------------------------------------------------------
// Types

/** @typedef {number | string} RequestId */

/**
 * Something to tell the person, not yet in words: a key of the text catalog
 * (web/js/i18n/) and its named parameters (a parameter may itself be a `Text`). net/
 * returns these; the page words them in the chosen language (`say` in i18n.js).
 * @typedef {{key: string, params?: Record<string, string | number | Text>}} Text
 */

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
 * `hand`: its hand is raised. `onStage`: a host brought it on stage (it may send media in a
 * broadcast). `recordingLocally`: it records the call on its own device.
 * @typedef {{status: 'idle' | 'ringing' | 'inCall', call?: number, audioMuted: boolean,
 *   videoMuted: boolean, reconnecting?: boolean, hand?: boolean, onStage?: boolean,
 *   recordingLocally?: boolean, screen?: boolean}} PeerState
 */

/**
 * A peer as the room sees it. `state` is always set here: `validateServerMessage` fills
 * in an idle state for servers that predate calls. `role` is absent for guests.
 * @typedef {{id: string, name: string, state: PeerState, role?: Role}} PeerInfo
 */

/** @typedef {'host' | 'guest' | 'viewer'} Role */

/** @typedef {'accepted' | 'declined' | 'cancelled' | 'timeout' | 'left'} InviteEndReason */

/**
 * A chat message as the server stored it. `id` increases within a room; `ts` is the
 * server's time of receipt in Unix milliseconds.
 * @typedef {{id: number, from: string, name: string, text: string, ts: number, key?: string}} ChatMessage
 */

/**
 * @typedef {'bad_json' | 'unknown_type' | 'bad_field' | 'too_large' | 'bad_name' |
 *   'bad_room' | 'bad_sdp' | 'hello_required' | 'already_hello' | 'unsupported_version' |
 *   'not_joined' | 'already_joined' | 'unknown_peer' | 'room_full' | 'server_full' | 'bad_text' |
 *   'rate_limited' | 'busy' | 'call_full' | 'already_in_call' | 'already_invited' |
 *   'in_another_call' | 'no_invitation' | 'unknown_call' | 'not_in_call' | 'password_required' |
 *   'bad_password' | 'token_required' | 'bad_token' | 'not_host' | 'room_locked' |
 *   'not_sfu_call' | 'media_failed' | 'no_media_server' | 'name_fixed' | 'not_admitted'} ErrorCode
 */

/** @typedef {{type: 'hello', version: number, id?: RequestId, resume?: string}} HelloMsg */
/** @typedef {{type: 'join', room: string, name: string, id?: RequestId, password?: string, token?: string}} JoinMsg */
/** @typedef {{type: 'leave', id?: RequestId}} LeaveMsg */
/** @typedef {{type: 'offer', to: string, sdp: string, id?: RequestId}} OfferMsg */
/** @typedef {{type: 'answer', to: string, sdp: string, id?: RequestId}} AnswerMsg */
/** @typedef {{type: 'candidate', to: string, candidate: IceCandidate | null, id?: RequestId}} CandidateMsg */
/** @typedef {{type: 'hangup', to: string, id?: RequestId}} HangupMsg */
/** @typedef {{type: 'ping', id?: RequestId}} PingMsg */
/** @typedef {{type: 'chat', text: string, id?: RequestId, key?: string}} ChatMsg */
/** @typedef {{type: 'invite', to: string, id?: RequestId}} InviteMsg */
/** @typedef {{type: 'cancel', to: string, id?: RequestId}} CancelMsg */
/** @typedef {{type: 'accept', call: number, id?: RequestId}} AcceptMsg */
/** @typedef {{type: 'decline', call: number, id?: RequestId}} DeclineMsg */
/** @typedef {{type: 'joinCall', call: number, id?: RequestId}} JoinCallMsg */
/** @typedef {{type: 'leaveCall', id?: RequestId}} LeaveCallMsg */
/** @typedef {{type: 'media', audioMuted: boolean, videoMuted: boolean, screen?: boolean, id?: RequestId}} MediaMsg */
/** @typedef {'host' | 'srflx' | 'prflx' | 'relay'} PairType */
/** @typedef {{type: 'callStats', peer: string, setupMs: number, pair: PairType, id?: RequestId}} CallStatsMsg */
/** @typedef {{type: 'kick', peer: string, id?: RequestId}} KickMsg */
/** @typedef {{type: 'mute', peer: string, id?: RequestId}} MuteMsg */
/** @typedef {{type: 'lock', locked: boolean, id?: RequestId}} LockMsg */
/** @typedef {{type: 'broadcast', on: boolean, id?: RequestId}} BroadcastMsg */
/** @typedef {{type: 'hand', up: boolean, id?: RequestId}} HandMsg */
/** @typedef {{type: 'stage', peer: string, on: boolean, id?: RequestId}} StageMsg */
/** @typedef {{type: 'record', on: boolean, id?: RequestId}} RecordMsg */
/** @typedef {{type: 'recordings', id?: RequestId}} RecordingsMsg */
/** @typedef {{type: 'sfuOffer', sdp: string, id?: RequestId}} SfuOfferMsg */
/** @typedef {{type: 'sfuAnswer', sdp: string, id?: RequestId}} SfuAnswerMsg */
/** @typedef {{mid: string, width: number, height: number}} TrackView */
/** @typedef {'thumbsUp' | 'clap' | 'laugh' | 'heart' | 'party' | 'surprised'} Reaction */
/** @typedef {{type: 'react', reaction: Reaction, id?: RequestId}} ReactMsg */
/** @typedef {{type: 'rename', name: string, id?: RequestId}} RenameMsg */
/** @typedef {{type: 'localRecording', on: boolean, id?: RequestId}} LocalRecordingMsg */
/** @typedef {{type: 'waitingRoom', on: boolean, id?: RequestId}} WaitingRoomMsg */
/** @typedef {{type: 'admit', peer: string, allow: boolean, id?: RequestId}} AdmitMsg */
/** @typedef {{type: 'sfuView', tracks: TrackView[], id?: RequestId}} SfuViewMsg */
/**
 * @typedef {HelloMsg | JoinMsg | LeaveMsg | OfferMsg | AnswerMsg | CandidateMsg | HangupMsg |
 *   PingMsg | ChatMsg | InviteMsg | CancelMsg | AcceptMsg | DeclineMsg | JoinCallMsg |
 *   LeaveCallMsg | MediaMsg | CallStatsMsg | KickMsg | MuteMsg | LockMsg | SfuOfferMsg |
 *   SfuAnswerMsg | SfuViewMsg | ReactMsg | RenameMsg | LocalRecordingMsg | WaitingRoomMsg | AdmitMsg | BroadcastMsg | HandMsg | StageMsg | RecordMsg | RecordingsMsg} ClientMsg
 */

/**
 * `iceServers` here need no credentials (STUN): TURN comes to room members in
 * `IceServersMsg`.
 * @typedef {{type: 'welcome', version: number, peerId: string, iceServers: IceServer[],
 *   resumeToken?: string, resumed?: boolean}} WelcomeMsg
 */
/**
 * The ICE servers for new peer connections from now on, TURN credentials included: sent
 * to a member before its `joined`, and again before the credentials expire.
 * @typedef {{type: 'iceServers', iceServers: IceServer[]}} IceServersMsg
 */
/**
 * `history` is always an array here: `validateServerMessage` fills in `[]` for servers
 * that predate chat.
 * `broadcast`: the room is in broadcast mode (absent: not). `recording`: the host who
 * started recording the room (absent: not recorded).
 * @typedef {{type: 'joined', ref?: RequestId, room: string, you: PeerInfo, peers: PeerInfo[],
 *   history: ChatMessage[], broadcast?: boolean, recording?: string}} JoinedMsg
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
/**
 * How a call carries media: a mesh of peer connections, or one connection to the server's
 * media router (SFU).
 * @typedef {'mesh' | 'sfu'} MediaMode
 */
/** @typedef {{type: 'callJoined', ref?: RequestId, call: number, members: string[], media?: MediaMode}} CallJoinedMsg */
/** @typedef {{type: 'callMode', call: number, media: MediaMode}} CallModeMsg */
/** @typedef {{type: 'sfuOffer', sdp: string}} RemoteSfuOfferMsg */
/** @typedef {{type: 'sfuAnswer', sdp: string}} RemoteSfuAnswerMsg */
/**
 * Who is talking in our call on the media router, loudest first (at most three; empty when
 * nobody is).
 * @typedef {{type: 'activeSpeakers', call: number, speakers: string[]}} ActiveSpeakersMsg
 */
/**
 * One video track we receive from the media router: `layer` is the forwarded layer's place
 * among the `layers` its publisher sends (0 the smallest; absent: paused), `mid` our
 * m-line's, `from` the publisher.
 * @typedef {{mid: string, from: string, layer?: number, layers: number, rid?: string,
 *   width?: number, height?: number}} LayerTrack
 */
/**
 * Which layer of each video track the media router forwards to us (the whole list).
 * @typedef {{type: 'layers', call: number, tracks: LayerTrack[]}} LayersMsg
 */
/** @typedef {{type: 'kicked', room: string, by: string}} KickedMsg */
/** @typedef {{type: 'muteRequest', by: string}} MuteRequestMsg */
/** @typedef {{type: 'roomLocked', locked: boolean, by: string}} RoomLockedMsg */
/** @typedef {{type: 'roleChanged', peerId: string, role: Role}} RoleChangedMsg */
/** @typedef {{type: 'broadcast', on: boolean, by: string}} RemoteBroadcastMsg */
/** @typedef {{type: 'recording', on: boolean, by: string}} RecordingMsg */
/** @typedef {{type: 'reacted', peer: string, reaction: Reaction}} ReactedMsg */
/** @typedef {{type: 'renamed', peerId: string, name: string, ref?: RequestId}} RenamedMsg */
/** @typedef {{type: 'waitingRoom', on: boolean, by: string}} RemoteWaitingRoomMsg */
/** @typedef {{type: 'waiting', ref?: RequestId, room: string}} WaitingMsg */
/** @typedef {{type: 'knocking', peer: string, name: string}} KnockingMsg */
/** @typedef {{type: 'knockEnded', peer: string, admitted: boolean}} KnockEndedMsg */
/** @typedef {{name: string, kind: 'audio' | 'video', peer: string, bytes: number, url: string}} RecordedFile */
/** The recording mixed into one MP4 by `confab recording compose`. @typedef {{name: string, bytes: number, url: string}} ComposedFile */
/** @typedef {{id: string, startedMs: number, stoppedMs?: number, files: RecordedFile[], replay?: string, composed?: ComposedFile}} RecordingInfo */
/** @typedef {{type: 'recordings', ref?: RequestId, list: RecordingInfo[]}} RecordingListMsg */
/** @typedef {{type: 'pong', ref?: RequestId}} PongMsg */
/** @typedef {{type: 'error', code: ErrorCode, message: string, ref?: RequestId}} ErrorMsg */
/**
 * @typedef {WelcomeMsg | IceServersMsg | JoinedMsg | LeftMsg | PeerJoinedMsg | PeerLeftMsg | RemoteOfferMsg |
 *   RemoteAnswerMsg | RemoteCandidateMsg | RemoteHangupMsg | RemoteChatMsg | PresenceMsg |
 *   InvitedMsg | InvitingMsg | InviteEndedMsg | CallJoinedMsg | CallModeMsg | RemoteSfuOfferMsg |
 *   RemoteSfuAnswerMsg | ActiveSpeakersMsg | LayersMsg | KickedMsg | MuteRequestMsg | RoomLockedMsg |
 *   RoleChangedMsg | RemoteBroadcastMsg | RecordingMsg | RecordingListMsg | ReactedMsg | RenamedMsg | RemoteWaitingRoomMsg | WaitingMsg | KnockingMsg |
 *   KnockEndedMsg | PongMsg | ErrorMsg} ServerMsg
 */
