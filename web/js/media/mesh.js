// The mesh transport (see transport.js): one `PeerCall` (RTCPeerConnection) per other
// member of our call, each playing in a tile the stage gives it (ui/stage.js). The server
// decides who is in the call (see room/room.js); this module only connects to the peers
// it is told to, routes their SDP and ICE, replaces connections that got stuck, and
// carries connections over a server restart.

import { PeerCall, WAIT_FOR_OFFER_MS, isDataOnly, sessionIdOf } from './call.js';

/** @typedef {import('./call.js').CallStats} CallStats */
/** @typedef {import('./call.js').CallSignaling} CallSignaling */
/** @typedef {import('./transport.js').Transport} Transport */
/** @typedef {import('./transport.js').MediaSignal} MediaSignal */

/**
 * The tiles a transport plays media in (ui/stage.js's Stage).
 * @typedef {object} StageView
 * @property {(peerId: string, name: string) => import('../ui/stage.js').Tile} create
 * @property {(tile: HTMLElement, state: import('../ui/stage.js').TileState) => void} render
 * @property {(tile: HTMLElement) => void} remove
 * @property {(remotes: number) => void} layout
 */

/**
 * One connection with one peer and its tile.
 * @typedef {object} CallEntry
 * @property {PeerCall} call
 * @property {HTMLElement} tile
 * @property {boolean} [reported] its setup time went to the server (`callStats`)
 * @property {boolean} [dataOnly] data channels only (files in a call through the router):
 *   its tile stays hidden
 * @property {boolean} [keep] carried over from before a server restart and rebound to
 *   the peer's new id: `sync` keeps it while the server call is being re-created
 */

/**
 * A connection whose peer we know only by its id from before the signaling server
 * restarted; media still flows on it (see `orphanAll`).
 * @typedef {object} Orphan
 * @property {CallEntry} entry
 * @property {string | null} newId the peer's new id, once it told us over the rebind channel
 */

/**
 * What the mesh needs from the app.
 * @typedef {object} MeshContext
 * @property {() => (CallSignaling & {sendHangup: (to: string) => unknown,
 *   sendCallStats?: (peer: string, setupMs: number, pair: import('../net/protocol.js').PairType) => unknown}) | null} signaling
 * @property {() => string | null} myId
 * @property {() => RTCIceServer[]} iceServers
 * @property {() => MediaStream | null} localStream
 * @property {() => number | null} joinedAt
 * @property {(peerId: string) => string} nameOf
 * @property {() => void} onChange the set of connections changed
 * @property {() => Partial<import('./call.js').PeerCallOptions>} [callOptions] extra options
 *   for every PeerCall (the in-call features' data channel hook)
 * @property {(call: PeerCall, tile: HTMLElement) => void} [onAdded] a connection was opened
 * @property {(peerId: string) => void} [onRemoved] a connection was closed
 * @property {(peerId: string) => boolean} [isInRoom] whether a peer id is in our room now
 * @property {(peerId: string) => void} [onRebound] a connection from before a server
 *   restart now belongs to this (new) peer id; the app re-creates the call with it
 */

/** How long connections carried over a server restart wait to be rebound or re-called. */
const REBIND_TIMEOUT_MS = 60_000;

/** How often a stuck connection with one peer is replaced before giving up. */
const MAX_STUCK_RETRIES = 2;

/**
 * The peer connections of the call we are in.
 * @implements {Transport}
 */
export class Mesh {
  /**
   * @param {StageView} stage
   * @param {MeshContext} ctx
   */
  constructor(stage, ctx) {
    this.stage = stage;
    this.ctx = ctx;
    /** Live connections by peer id. @type {Map<string, CallEntry>} */
    this.calls = new Map();
    /**
     * Remote SDP session ids of connections that ended, per peer: offers still in flight
     * from such a session are stale and must not restart the connection.
     * @type {Map<string, Set<string>>}
     */
    this.endedSessions = new Map();
    /** Stuck connections replaced so far, per peer. @type {Map<string, number>} */
    this.stuckRetries = new Map();
    /** Connections from before a server restart, by the peer's old id. @type {Map<string, Orphan>} */
    this.orphans = new Map();
    /** Connections carried over a server restart, for the debug handle. */
    this.rebound = 0;
    /** The latest id each connection's peer announced. @type {WeakMap<PeerCall, string>} */
    this.announced = new WeakMap();
    /** @private @type {ReturnType<typeof setInterval> | null} */
    this.announceTimer = null;
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.orphanTimer = null;
  }

  /** @param {string} peerId */
  has(peerId) {
    return this.calls.has(peerId);
  }

  /**
   * Whether the connection with `peerId` was carried over a server restart and waits
   * for its call to be re-created.
   * @param {string} peerId
   */
  isKept(peerId) {
    return this.calls.get(peerId)?.keep === true;
  }

  /** Calls with a tile on show (a retired one's is hidden until it closes). */
  get size() {
    return [...this.calls.values()].filter((e) => !e.tile.hidden).length;
  }

  /** Forgets everything about past sessions (a new room). */
  reset() {
    this.closeAll();
    this.closeOrphans();
    this.endedSessions.clear();
    this.stuckRetries.clear();
  }

  /**
   * Opens the connection (and its tile) with a peer, if there is none yet.
   * @param {string} peerId
   * @param {'offer' | 'await-offer'} mode offer at once (we joined the call), or give the
   *   peer (the newcomer, who offers) the chance to offer first
   * @param {boolean} [dataOnly] data channels only, no media (see `openData`)
   * @returns {CallEntry | null}
   */
  connect(peerId, mode, dataOnly = false) {
    const existing = this.calls.get(peerId);
    if (existing) return existing;
    const sig = this.ctx.signaling();
    const myId = this.ctx.myId();
    if (!sig || !myId || peerId === myId) return null;

    const { tile, video, autoplayBlocked } = this.stage.create(peerId, this.ctx.nameOf(peerId));

    /** @type {PeerCall} */
    const call = new PeerCall({
      myId,
      peerId,
      iceServers: this.ctx.iceServers(),
      localStream: this.ctx.localStream(),
      dataOnly,
      // Through whatever signaling connection is current (it is replaced on reconnect),
      // and only while this call is ours (not orphaned by a server restart).
      signaling: {
        sendOffer: (to, sdp) => this.live(call) && this.ctx.signaling()?.sendOffer(to, sdp),
        sendAnswer: (to, sdp) => this.live(call) && this.ctx.signaling()?.sendAnswer(to, sdp),
        sendCandidate: (to, c) => this.live(call) && this.ctx.signaling()?.sendCandidate(to, c),
      },
      onRebind: (c, newId) => this.handleRebind(c, newId),
      video,
      joinedAt: this.ctx.joinedAt(),
      waitForOfferMs: mode === 'await-offer' ? WAIT_FOR_OFFER_MS : 0,
      onChange: () => {
        const entry = this.calls.get(peerId);
        if (entry && entry.call === call) this.renderTile(entry);
      },
      onAutoplayBlocked: autoplayBlocked,
      onStuck: () => this.replaceStuck(peerId, call),
      ...(this.ctx.callOptions?.() ?? {}),
    });
    tile.hidden = dataOnly;
    /** @type {CallEntry} */
    const entry = { call, tile, dataOnly };
    this.calls.set(peerId, entry);
    this.ctx.onAdded?.(call, tile);
    this.renderTile(entry);
    this.ctx.onChange();
    return entry;
  }

  /**
   * Opens a connection with data channels only to a member (files in a call whose media
   * goes through the router), unless one exists. The member answers in kind (an offer
   * without media is answered without: `handleOffer`).
   * @param {string} peerId
   * @returns {boolean} whether there is a connection with the member now
   */
  openData(peerId) {
    return this.connect(peerId, 'offer', true) !== null;
  }

  /** Members with a data-only connection. @returns {string[]} */
  dataPeers() {
    return [...this.calls].filter(([, e]) => e.dataOnly).map(([id]) => id);
  }

  /**
   * A member's call is about to close (its media comes another way now): its tile is
   * hidden and silent, while we go on sending to it for a moment.
   * @param {string} peerId
   */
  retire(peerId) {
    const entry = this.calls.get(peerId);
    if (!entry) return;
    entry.tile.hidden = true;
    const video = entry.tile.querySelector('video');
    if (video) video.muted = true;
    this.ctx.onChange();
  }

  /**
   * Closes the connection with one peer (without telling them) and removes its tile.
   * @param {string} peerId
   */
  close(peerId) {
    const entry = this.calls.get(peerId);
    if (!entry) return;
    const session = entry.call.remoteSessionId();
    if (session) {
      let set = this.endedSessions.get(peerId);
      if (!set) this.endedSessions.set(peerId, (set = new Set()));
      set.add(session);
    }
    entry.call.close();
    this.stage.remove(entry.tile);
    this.calls.delete(peerId);
    this.ctx.onRemoved?.(peerId);
    this.ctx.onChange();
  }

  closeAll() {
    for (const id of [...this.calls.keys()]) this.close(id);
  }

  /**
   * Makes the connections match the call's members: connect to new ones (they offer),
   * close the rest (but not those carried over a server restart while their call is
   * being re-created: `keep`).
   * @param {Set<string>} members everyone else in our call (empty: no call)
   */
  sync(members) {
    for (const [id, entry] of [...this.calls]) {
      if (members.has(id)) entry.keep = false;
      else if (!entry.keep) this.close(id);
    }
    for (const id of members) this.connect(id, 'await-offer');
  }

  /**
   * @param {PeerCall} call
   * @returns {boolean} whether `call` is a current connection (not an orphan)
   */
  live(call) {
    return this.calls.get(call.peerId)?.call === call;
  }

  // ---------------------------------------------------------- server restarts

  /**
   * The signaling server forgot us (it restarted): we will get a new peer id, and so will
   * everyone else. Keeps every connection (media flows peer to peer) as an orphan, out
   * of `calls` so that nothing closes it while the room and call are re-created; they
   * are rebound to the peers' new ids when the peers tell us those ids (`announce`).
   */
  orphanAll() {
    for (const [id, entry] of this.calls) {
      // The peer may have told us its new id already (its server connection came back
      // before ours did).
      const told = this.announced.get(entry.call);
      this.orphans.set(id, { entry, newId: told && told !== id ? told : null });
    }
    this.calls.clear();
    if (this.orphanTimer !== null) clearTimeout(this.orphanTimer);
    this.orphanTimer = setTimeout(() => this.closeOrphans(), REBIND_TIMEOUT_MS);
    this.ctx.onChange();
  }

  /**
   * Tells every orphan's peer our new id, now and every second until all are rebound
   * (the peer may not be listening yet: its own connection to the server may still be
   * down), and rebinds those whose new id we already know.
   */
  announce() {
    if (this.announceTimer !== null) clearInterval(this.announceTimer);
    this.announceTimer = null;
    // Also to connections already rebound on our side but whose call is not re-created
    // yet (`keep`): the peer may not have heard us, or not been listening, yet.
    const tell = () => {
      const myId = this.ctx.myId();
      const kept = [...this.calls.values()].filter((e) => e.keep);
      if (this.orphans.size === 0 && kept.length === 0) {
        if (this.announceTimer !== null) clearInterval(this.announceTimer);
        this.announceTimer = null;
        return;
      }
      if (!myId) return;
      for (const o of this.orphans.values()) o.entry.call.announceId(myId);
      for (const e of kept) e.call.announceId(myId);
      this.tryRebind();
    };
    this.announceTimer = setInterval(tell, 1000);
    tell();
  }

  /**
   * The peer of `call` says its new id is `newId`.
   * @param {PeerCall} call
   * @param {string} newId
   */
  handleRebind(call, newId) {
    this.announced.set(call, newId);
    for (const o of this.orphans.values()) {
      if (o.entry.call === call) o.newId = newId;
    }
    this.tryRebind();
  }

  /**
   * Moves orphans whose peer's new id is known and in our room back into `calls` under
   * that id, with our new id, and tells the app (which re-creates the call).
   * @private
   */
  tryRebind() {
    const myId = this.ctx.myId();
    if (!myId) return;
    for (const [oldId, o] of [...this.orphans]) {
      const newId = o.newId;
      if (!newId || newId === myId || !this.ctx.isInRoom?.(newId)) continue;
      this.orphans.delete(oldId);
      const existing = this.calls.get(newId);
      if (existing) {
        // Already connected anew (e.g. a fresh call won the race): drop the old one.
        o.entry.call.close();
        this.stage.remove(o.entry.tile);
        continue;
      }
      const call = o.entry.call;
      call.myId = myId;
      call.peerId = newId;
      call.polite = myId < newId; // perfect negotiation roles follow the new ids
      o.entry.keep = true;
      this.calls.set(newId, o.entry);
      this.rebound++;
      this.renderTile(o.entry);
      this.ctx.onRebound?.(newId);
    }
    if (this.orphans.size === 0 && this.orphanTimer !== null) {
      clearTimeout(this.orphanTimer);
      this.orphanTimer = null;
    }
    this.ctx.onChange();
  }

  /** Closes the connections that could not be rebound. @private */
  closeOrphans() {
    for (const o of this.orphans.values()) {
      o.entry.call.close();
      this.stage.remove(o.entry.tile);
      this.ctx.onRemoved?.(o.entry.call.peerId);
    }
    this.orphans.clear();
    if (this.orphanTimer !== null) clearTimeout(this.orphanTimer);
    if (this.announceTimer !== null) clearInterval(this.announceTimer);
    this.orphanTimer = null;
    this.announceTimer = null;
    for (const entry of this.calls.values()) entry.keep = false;
    this.ctx.onChange();
  }

  /**
   * Hands fresh ICE servers (new TURN credentials) to every connection, orphans too, for
   * their ICE restarts; connections made from now on take them from `ctx.iceServers()`.
   * @param {RTCIceServer[]} iceServers
   */
  setIceServers(iceServers) {
    for (const [, entry] of this.allEntries()) entry.call.setIceServers(iceServers);
  }

  /** Signaling is back: resend what may have been lost, restart ICE where it is down. */
  resumeSignaling() {
    for (const entry of this.calls.values()) entry.call.resumeSignaling();
  }

  /**
   * Replaces a connection that never got going (see STUCK_ICE_MS in call.js): hang it up
   * and offer again on a fresh one; the peer answers with a fresh connection of its own.
   * @param {string} peerId
   * @param {PeerCall} call
   */
  replaceStuck(peerId, call) {
    const entry = this.calls.get(peerId);
    const sig = this.ctx.signaling();
    if (!entry || entry.call !== call || !sig) return;
    const tries = (this.stuckRetries.get(peerId) ?? 0) + 1;
    if (tries > MAX_STUCK_RETRIES) return;
    this.stuckRetries.set(peerId, tries);
    sig.sendHangup(peerId);
    this.close(peerId);
    this.connect(peerId, 'offer');
  }

  /**
   * An offer from a peer. Only members of our call may open a connection (`isMember`);
   * offers from sessions that already ended are dropped.
   * @param {string} from
   * @param {string} sdp
   * @param {boolean} isMember
   */
  handleOffer(from, sdp, isMember) {
    let entry = this.calls.get(from) ?? null;
    if (!entry) {
      if (!isMember) return;
      const session = sessionIdOf(sdp);
      if (session && this.endedSessions.get(from)?.has(session)) return;
      entry = this.connect(from, 'await-offer', isDataOnly(sdp));
      if (!entry) return;
    }
    entry.call.handleDescription({ type: 'offer', sdp });
  }

  /** @param {string} from @param {string} sdp */
  handleAnswer(from, sdp) {
    this.calls.get(from)?.call.handleDescription({ type: 'answer', sdp });
  }

  /** @param {string} from @param {RTCIceCandidateInit | null} candidate */
  handleCandidate(from, candidate) {
    this.calls.get(from)?.call.handleCandidate(candidate);
  }

  /**
   * The peer closed its connection with us (to replace a stuck one); it offers anew.
   * @param {string} from
   */
  handleHangup(from) {
    this.close(from);
  }

  /** @param {CallEntry} entry */
  renderTile(entry) {
    const { call, tile } = entry;
    this.stage.render(tile, {
      peerId: call.peerId,
      connectionState: call.pc.connectionState,
      hasVideo: call.firstFrameAt !== null,
      name: this.ctx.nameOf(call.peerId),
    });
    if (call.firstFrameAt !== null && !entry.reported) {
      entry.reported = true;
      this.reportSetup(call);
    }
  }

  /**
   * Tells the server (for its metrics) how long this connection took to show video and
   * over which kind of path.
   * @param {PeerCall} call
   */
  async reportSetup(call) {
    const setupMs = (call.firstFrameAt ?? call.startedAt) - call.startedAt;
    const s = await call.stats().catch(() => null);
    const type = s?.localCandidateType;
    if (type !== 'host' && type !== 'srflx' && type !== 'prflx' && type !== 'relay') return;
    this.ctx.signaling()?.sendCallStats?.(call.peerId, setupMs, type);
  }

  renderTiles() {
    for (const entry of this.calls.values()) this.renderTile(entry);
  }

  /** Lays the tiles out (the stage picks the grid). */
  layout() {
    this.stage.layout(this.calls.size);
  }

  // ---------------------------------------------------------- Transport

  /** We joined a call: offer to every member. @param {string[]} members */
  joinCall(members) {
    for (const id of members) this.connect(id, 'offer');
  }

  /**
   * SDP, ICE or a hangup relayed from a peer.
   * @param {MediaSignal} msg
   * @param {boolean} isMember whether `msg.from` is in our call
   */
  handleSignal(msg, isMember) {
    switch (msg.type) {
      case 'offer':
        this.handleOffer(msg.from, msg.sdp, isMember);
        break;
      case 'answer':
        this.handleAnswer(msg.from, msg.sdp);
        break;
      case 'candidate':
        this.handleCandidate(msg.from, msg.candidate);
        break;
      case 'hangup':
        this.handleHangup(msg.from);
        break;
    }
  }

  /**
   * Sends `track` instead of the current track of its kind on every live connection.
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  replaceTrack(kind, track) {
    return Promise.all([...this.calls.values()].map((e) => e.call.replaceTrack(kind, track)));
  }

  /** Live connections and (during a rebind after a server restart) orphans by old id. */
  allEntries() {
    return [...this.calls, ...[...this.orphans].map(([id, o]) => /** @type {const} */ ([id, o.entry]))];
  }

  /** @returns {Record<string, RTCPeerConnection>} */
  pcs() {
    return Object.fromEntries(this.allEntries().map(([id, e]) => [id, e.call.pc]));
  }

  /** @returns {Promise<Record<string, CallStats>>} */
  async stats() {
    const entries = await Promise.all(
      this.allEntries().map(async ([id, e]) => /** @type {const} */ ([id, await e.call.stats()])),
    );
    return Object.fromEntries(entries);
  }
}
