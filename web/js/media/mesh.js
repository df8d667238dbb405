// The media side of a call: one `PeerCall` (RTCPeerConnection) per other member, each
// with its tile on the stage, laid out as a grid with names. The server decides who is in
// the call (see calls.js); this module only connects to the peers it is told to, routes
// their SDP and ICE, and replaces connections that got stuck.

import { PeerCall, WAIT_FOR_OFFER_MS, sessionIdOf } from './call.js';
import { trimName } from '../net/protocol.js';

/** @typedef {import('./call.js').CallStats} CallStats */
/** @typedef {import('./call.js').CallSignaling} CallSignaling */

/**
 * One connection with one peer and its tile.
 * @typedef {object} CallEntry
 * @property {PeerCall} call
 * @property {HTMLElement} tile
 * @property {boolean} [reported] its setup time went to the server (`callStats`)
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

/** @type {Record<RTCPeerConnectionState, string>} */
const CONNECTION_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Reconnecting…',
  failed: 'Connection failed',
  closed: 'Ended',
};

/** @param {string} name */
export function initialOf(name) {
  const first = [...trimName(name)][0];
  return first ? first.toUpperCase() : '?';
}

/** The peer connections of the call we are in, and the stage that shows them. */
export class Mesh {
  /**
   * @param {{stage: HTMLElement, selfTile: HTMLElement, tileTemplate: HTMLTemplateElement}} ui
   * @param {MeshContext} ctx
   */
  constructor(ui, ctx) {
    this.ui = ui;
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
    /** Muted flags of others, as their presence reports them. @type {Map<string, boolean>} */
    this.remoteMuted = new Map();
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

  get size() {
    return this.calls.size;
  }

  /** Forgets everything about past sessions (a new room). */
  reset() {
    this.closeAll();
    this.closeOrphans();
    this.endedSessions.clear();
    this.stuckRetries.clear();
    this.remoteMuted.clear();
  }

  /**
   * Opens the connection (and its tile) with a peer, if there is none yet.
   * @param {string} peerId
   * @param {'offer' | 'await-offer'} mode offer at once (we joined the call), or give the
   *   peer (the newcomer, who offers) the chance to offer first
   * @returns {CallEntry | null}
   */
  connect(peerId, mode) {
    const existing = this.calls.get(peerId);
    if (existing) return existing;
    const sig = this.ctx.signaling();
    const myId = this.ctx.myId();
    if (!sig || !myId || peerId === myId) return null;

    const frag = /** @type {DocumentFragment} */ (this.ui.tileTemplate.content.cloneNode(true));
    const tile = /** @type {HTMLElement} */ (frag.querySelector('.tile'));
    tile.dataset.peerId = peerId;
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    const unmute = /** @type {HTMLButtonElement} */ (tile.querySelector('button.unmute'));
    unmute.setAttribute('aria-label', `Play sound from ${this.ctx.nameOf(peerId)}`);
    unmute.addEventListener('click', () => {
      video.muted = false;
      video.play().catch(() => {});
      unmute.hidden = true;
    });
    this.ui.stage.insertBefore(tile, this.ui.selfTile);

    /** @type {PeerCall} */
    const call = new PeerCall({
      myId,
      peerId,
      iceServers: this.ctx.iceServers(),
      localStream: this.ctx.localStream(),
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
      onAutoplayBlocked: () => {
        unmute.hidden = false;
      },
      onStuck: () => this.replaceStuck(peerId, call),
      ...(this.ctx.callOptions?.() ?? {}),
    });
    /** @type {CallEntry} */
    const entry = { call, tile };
    this.calls.set(peerId, entry);
    this.ctx.onAdded?.(call, tile);
    this.renderTile(entry);
    this.ctx.onChange();
    return entry;
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
    entry.tile.remove();
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
        o.entry.tile.remove();
        continue;
      }
      const call = o.entry.call;
      call.myId = myId;
      call.peerId = newId;
      call.polite = myId < newId; // perfect negotiation roles follow the new ids
      o.entry.tile.dataset.peerId = newId;
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
      o.entry.tile.remove();
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
      entry = this.connect(from, 'await-offer');
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

  /**
   * Shows a peer's microphone state on its tile.
   * @param {string} peerId
   * @param {boolean} audioMuted
   */
  setRemoteMuted(peerId, audioMuted) {
    this.remoteMuted.set(peerId, audioMuted);
    const entry = this.calls.get(peerId);
    if (entry) this.renderTile(entry);
  }

  /** @param {CallEntry} entry */
  renderTile(entry) {
    const { call, tile } = entry;
    const state = call.pc.connectionState;
    tile.dataset.state = state;
    /** @type {HTMLElement} */ (tile.querySelector('.conn-text')).textContent = CONNECTION_TEXT[state] ?? state;
    tile.classList.toggle('has-video', call.firstFrameAt !== null);
    tile.classList.toggle('mic-off', this.remoteMuted.get(call.peerId) === true);
    if (call.firstFrameAt !== null && !entry.reported) {
      entry.reported = true;
      this.reportSetup(call);
    }
    const name = this.ctx.nameOf(call.peerId);
    /** @type {HTMLElement} */ (tile.querySelector('.peer-name')).textContent = name;
    /** @type {HTMLElement} */ (tile.querySelector('.initial')).textContent = initialOf(name);
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

  /** Lays the tiles out in the grid that makes them largest. */
  layout() {
    const stage = this.ui.stage;
    const remotes = this.calls.size;
    stage.dataset.count = String(remotes);
    // Alone: our own preview fills the stage. One other: they fill it and we float
    // picture-in-picture. More: everyone, us included, shares a grid.
    const n = remotes <= 1 ? 1 : remotes + 1;
    const gap = 8;
    const width = stage.clientWidth || window.innerWidth;
    const height = stage.clientHeight || window.innerHeight;
    let best = { cols: 1, rows: 1, area: -1 };
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = (width - gap * (cols - 1)) / cols;
      const h = (height - gap * (rows - 1)) / rows;
      const tileW = Math.min(w, (h * 16) / 9);
      const area = tileW * ((tileW * 9) / 16);
      if (area > best.area + 1) best = { cols, rows, area };
    }
    stage.style.setProperty('--cols', String(best.cols));
    stage.style.setProperty('--rows', String(best.rows));
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
