// The room as this client knows it, without a DOM: who is here (with presence, role and
// microphone/camera state), our own presence and role, whether the room is locked, the
// call invitations both ways, and the chat history. It changes only through `handle`
// (a decoded server message, see net/parse.js) and a few local facts (`leftCall`,
// `peerReported`, `reset`), and tells listeners after every change. The UI renders from
// it; node's test runner drives it with the fixtures in fixtures/protocol/ (see
// web/test/room.test.js).
//
// Peer media state has one path into the UI: `media(peerId)`. A peer reports its
// microphone, camera and screen twice, through the server (`media`, echoed in its
// `presence`) and, while in a call with us, on the call's control channel (`state`).
// Both are the peer's own report of the same thing; the room keeps the newest of them
// (a presence counts as a report only when its flags changed, since a presence is also
// sent for status changes with the flags it last had).

import { addChatMessage, chatHistoryContinues } from '../net/rules.js';

/** @import { ChatMessage, InvitedMsg, PeerInfo, PeerState, Role, ServerMsg } from '../net/types.js' */

/**
 * A peer's microphone, camera and screen as the UI shows them.
 * @typedef {{micMuted: boolean, camOff: boolean, screen: boolean}} PeerMedia
 */

/**
 * What `handle(inviteEnded)` changed, for the words the UI shows.
 * @typedef {{outgoingEnded: boolean, incomingEnded: boolean}} InviteEndResult
 */

/** @returns {PeerState} */
export const idleState = () => ({ status: 'idle', audioMuted: false, videoMuted: false });

/** @param {PeerState} s @returns {PeerMedia} */
const fromPresence = (s) => ({ micMuted: s.audioMuted, camOff: s.videoMuted, screen: s.screen === true });

export class Room {
  constructor() {
    /** @type {Array<(msg: ServerMsg | null) => void>} */
    this.listeners = [];
    /** Our peer id, from `welcome` or `joined`. @type {string | null} */
    this.myId = null;
    /** @type {string | null} */
    this.name = null;
    /** The last `welcome` resumed our identity (so `joined` is the same room again). */
    this.resumed = false;
    /** @type {string | null} */
    this.room = null;
    /** Our presence, as the server last told us (or as we just left a call). @type {PeerState} */
    this.me = idleState();
    /** Our role in the room. @type {Role} */
    this.role = 'guest';
    this.locked = false;
    /** The waiting room is on: joiners wait for a host to let them in. */
    this.waitingRoom = false;
    /** Who waits to join, by peer id (told to hosts only). @type {Map<string, string>} */
    this.knocks = new Map();
    /** The room is in broadcast mode: only hosts and those on stage send media. */
    this.broadcast = false;
    /** Who started recording the room on the server, while it is recorded. @type {string | null} */
    this.recordedBy = null;
    /** Everyone else in the room, in join order. @type {Map<string, PeerInfo>} */
    this.peers = new Map();
    /** Names of peers seen in this room, kept after they leave. @type {Map<string, string>} */
    this.names = new Map();
    /** The invitation ringing at us. @type {InvitedMsg | null} */
    this.incoming = null;
    /** Our invitations still ringing: peer id -> call id. @type {Map<string, number>} */
    this.outgoing = new Map();
    /** The room's chat, in id order (history, then live messages). @type {ChatMessage[]} */
    this.chat = [];
    /** The newest media report of each peer. @type {Map<string, PeerMedia>} */
    this.mediaState = new Map();
    /** What each peer reported on its call's control channel, while that call lasts. @type {Map<string, PeerMedia>} */
    this.reported = new Map();
  }

  /** Everything but the listeners back to a new room's state. @private */
  clearState() {
    Object.assign(this, new Room(), { listeners: this.listeners });
  }

  /**
   * Calls `fn` after every change, with the server message that caused it (null for a
   * local change). Returns a function that removes it.
   * @param {(msg: ServerMsg | null) => void} fn
   */
  onChange(fn) {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((f) => f !== fn);
    };
  }

  /** @private @param {ServerMsg | null} msg */
  changed(msg) {
    for (const fn of [...this.listeners]) fn(msg);
  }

  /** Back to no room: forget everything. */
  reset() {
    this.clearState();
    this.changed(null);
  }

  // ------------------------------------------------------------------ server messages

  /**
   * Applies one server message. Messages that do not change the room (SDP, pong,
   * errors...) are ignored. Returns, for `inviteEnded`, which of our invitations ended.
   * @param {ServerMsg} msg
   * @returns {InviteEndResult | undefined}
   */
  handle(msg) {
    /** @type {InviteEndResult | undefined} */
    let result;
    switch (msg.type) {
      case 'welcome':
        this.myId = msg.peerId;
        this.resumed = msg.resumed === true;
        break;
      case 'joined': {
        // Resumed after a dropped connection: the history continues what we have.
        const again = this.resumed && this.room === msg.room;
        this.myId = msg.you.id;
        this.name = msg.you.name;
        this.room = msg.room;
        this.me = { ...msg.you.state };
        this.role = msg.you.role ?? 'guest';
        this.locked = false;
        this.waitingRoom = false; // `waitingRoom` follows when it is on
        this.knocks.clear(); // so do the knocks, for a host
        this.broadcast = msg.broadcast === true;
        this.recordedBy = msg.recording ?? null;
        this.peers.clear();
        for (const p of msg.peers) this.addPeer(p);
        if (again && chatHistoryContinues(this.chat, msg.history)) {
          for (const m of msg.history) addChatMessage(this.chat, m);
        } else {
          this.chat = [...msg.history];
        }
        break;
      }
      case 'left':
      case 'kicked':
        this.clearState();
        break;
      case 'peerJoined':
        this.addPeer(msg.peer);
        break;
      case 'peerLeft':
        this.peers.delete(msg.peerId);
        this.outgoing.delete(msg.peerId);
        this.mediaState.delete(msg.peerId);
        this.reported.delete(msg.peerId);
        break;
      case 'presence':
        this.presence(msg.peerId, msg.state);
        break;
      case 'roleChanged':
        if (msg.peerId === this.myId) {
          this.role = msg.role;
        } else {
          const peer = this.peers.get(msg.peerId);
          if (peer) peer.role = msg.role;
        }
        break;
      case 'renamed':
        if (msg.peerId === this.myId) {
          this.name = msg.name;
        } else {
          const peer = this.peers.get(msg.peerId);
          if (peer) peer.name = msg.name;
          this.names.set(msg.peerId, msg.name);
        }
        break;
      case 'roomLocked':
        this.locked = msg.locked;
        break;
      case 'waitingRoom':
        this.waitingRoom = msg.on;
        break;
      case 'knocking':
        this.knocks.set(msg.peer, msg.name);
        break;
      case 'knockEnded':
        this.knocks.delete(msg.peer);
        break;
      case 'broadcast':
        this.broadcast = msg.on;
        break;
      case 'recording':
        this.recordedBy = msg.on ? msg.by : null;
        break;
      case 'invited':
        this.incoming = msg;
        break;
      case 'inviting':
        this.outgoing.set(msg.to, msg.call);
        break;
      case 'inviteEnded': {
        const outgoingEnded = msg.from === this.myId;
        if (outgoingEnded) this.outgoing.delete(msg.to);
        const incomingEnded = msg.to === this.myId && this.incoming?.call === msg.call;
        if (incomingEnded) this.incoming = null;
        result = { outgoingEnded, incomingEnded };
        break;
      }
      case 'callJoined':
        this.me = { ...this.me, status: 'inCall', call: msg.call };
        this.incoming = null;
        break;
      case 'chat':
        if (!addChatMessage(this.chat, msg.message)) return undefined;
        break;
      default:
        return undefined;
    }
    this.changed(msg);
    return result;
  }

  /** @private @param {PeerInfo} peer */
  addPeer(peer) {
    this.peers.set(peer.id, peer);
    this.names.set(peer.id, peer.name);
    const fromServer = fromPresence(peer.state);
    this.mediaState.set(peer.id, { ...fromServer, screen: this.reported.get(peer.id)?.screen ?? fromServer.screen });
  }

  /** @private @param {string} peerId @param {PeerState} state */
  presence(peerId, state) {
    if (peerId === this.myId) {
      this.me = state;
      return;
    }
    const peer = this.peers.get(peerId);
    if (!peer) return;
    const before = peer.state;
    peer.state = state;
    if (before.audioMuted !== state.audioMuted || before.videoMuted !== state.videoMuted ||
        (before.screen === true) !== (state.screen === true)) {
      const media = this.media(peerId);
      this.mediaState.set(peerId, { ...media, micMuted: state.audioMuted, camOff: state.videoMuted, screen: state.screen === true });
    }
  }

  // ------------------------------------------------------------------ local facts

  /** We hung up: the server confirms with our presence; the UI acts at once. */
  leftCall() {
    const me = { ...this.me, status: /** @type {const} */ ('idle') };
    delete me.call;
    this.me = me;
    this.outgoing.clear();
    this.changed(null);
  }

  /** After a server restart the old invitations are gone with the old ids. */
  forgetInvitations() {
    this.incoming = null;
    this.outgoing.clear();
    this.changed(null);
  }

  /**
   * A peer's own report on its call's control channel; null when that call ended (its
   * screen is then not shown any more, and the server's report stands).
   * @param {string} peerId
   * @param {PeerMedia | null} state
   */
  peerReported(peerId, state) {
    if (state) {
      this.reported.set(peerId, { ...state });
      this.mediaState.set(peerId, { ...state });
    } else {
      if (!this.reported.delete(peerId)) return;
      const peer = this.peers.get(peerId);
      if (peer) this.mediaState.set(peerId, fromPresence(peer.state));
      else this.mediaState.delete(peerId);
    }
    this.changed(null);
  }

  // ------------------------------------------------------------------ queries

  /**
   * The microphone, camera and screen of a peer: its newest report (see the header).
   * @param {string} peerId
   * @returns {PeerMedia}
   */
  media(peerId) {
    const known = this.mediaState.get(peerId);
    if (known) return { ...known };
    const peer = this.peers.get(peerId);
    return peer ? fromPresence(peer.state) : { micMuted: false, camOff: false, screen: false };
  }

  /**
   * Whether a peer (or we, for our own id) may send media: hosts, those on stage, and
   * outside a broadcast every guest (the server's rule, docs/protocol.md).
   * @param {string | null} id
   */
  mayPublish(id) {
    const info = id === this.myId ? { role: this.role, state: this.me } : this.peers.get(id ?? '');
    if (!info) return false;
    const role = info.role ?? 'guest';
    return role === 'host' || info.state.onStage === true || (!this.broadcast && role !== 'viewer');
  }

  /** @param {string} id */
  nameOf(id) {
    return this.peers.get(id)?.name ?? this.names.get(id) ?? 'Someone';
  }

  /** The call we are in, or null. */
  myCall() {
    return this.me.status === 'inCall' && this.me.call !== undefined ? this.me.call : null;
  }

  /** Everyone else in our call, by their presence. @returns {Set<string>} */
  members() {
    const call = this.myCall();
    /** @type {Set<string>} */
    const out = new Set();
    if (call === null) return out;
    for (const p of this.peers.values()) {
      if (p.state.status === 'inCall' && p.state.call === call) out.add(p.id);
    }
    return out;
  }

  /**
   * Everyone in `call` but `except`, by presence, in join order.
   * @param {number} call
   * @param {string} [except]
   */
  membersOf(call, except) {
    const out = [];
    for (const p of this.peers.values()) {
      if (p.id !== except && p.state.status === 'inCall' && p.state.call === call) out.push(p);
    }
    return out;
  }

  /**
   * The biggest call running in the room that we are not in: what "Join the call" joins.
   * @returns {{call: number, members: string[]} | null}
   */
  runningCall() {
    /** @type {Map<number, string[]>} */
    const calls = new Map();
    for (const p of this.peers.values()) {
      const c = p.state.call;
      if (p.state.status !== 'inCall' || c === undefined || c === this.myCall()) continue;
      calls.set(c, [...(calls.get(c) ?? []), p.id]);
    }
    /** @type {{call: number, members: string[]} | null} */
    let best = null;
    for (const [call, members] of calls) {
      // A broadcast's call may be its host alone, waiting for the audience.
      const live = members.length >= 2 || this.broadcast;
      if (live && (!best || members.length > best.members.length)) best = { call, members };
    }
    return best;
  }
}
