// The call's transport as the rest of the client sees it (transport.js): the mesh
// (mesh.js) while the call is small, the server's media router (sfu.js) once the server
// says the call uses it (`callJoined {media: 'sfu'}`, or `callMode` when it grows).
//
// The move from mesh to router is seamless: the router's tile of each member stays
// hidden, and that member's mesh connection open, until the router's video of them
// plays. The mesh connection carries both directions, so it closes only when both ends
// have moved: each end tells the other over the call's control channel (`moved`) once
// the router's video of the other plays there, and the end that knows both closes. A
// member whose router video never comes is moved anyway after `MOVE_TIMEOUT_MS` (its
// mesh tile may then go black until the router's video plays).
//
// Files stay peer to peer in calls through the router: `openData` opens a connection
// with data channels only to the member, on demand, and the member answers in kind.

/** @typedef {import('./call.js').CallStats} CallStats */
/** @typedef {import('./transport.js').Transport} Transport */
/** @typedef {import('./transport.js').MediaSignal} MediaSignal */
/** @typedef {import('../net/protocol.js').MediaMode} MediaMode */

import { isDataOnly } from './call.js';

/**
 * How long a member's mesh connection waits for its router video before it closes
 * anyway. Long: until then the member's picture keeps coming over the mesh, and a member
 * whose machine is slow can take over 20 s to publish to the router (seen on two loaded
 * cores); its tile would be black from the close until then.
 */
const MOVE_TIMEOUT_MS = 45_000;

/**
 * Once a member's router video plays here, how long its mesh connection stays open
 * (hidden, silent) at most while we wait for the member's `moved`: closing before its
 * page plays our router video would freeze our picture on its screen until it does. A
 * member whose note never comes (a lost control channel, an older page) is closed then.
 */
export const MESH_GRACE_MS = 10_000;

/** The control message that says "your media reaches me through the router now". */
export const MOVED = 'moved';

/**
 * How the two ends of a mesh call tell each other they moved (features' control channel).
 * @typedef {object} MoveNotes
 * @property {(peerId: string) => unknown} tell sends `moved` to the member (lost if its channel is closed)
 * @property {(fn: (peerId: string) => void) => void} listen calls `fn` for each `moved` a member sends
 */

/**
 * @implements {Transport}
 */
export class CallMedia {
  /**
   * @param {import('./mesh.js').Mesh} mesh
   * @param {import('./sfu.js').SfuLink} sfu
   * @param {{layout: (remotes: number) => void}} stage
   * @param {MoveNotes} notes
   */
  constructor(mesh, sfu, stage, notes) {
    this.mesh = mesh;
    this.sfu = sfu;
    this.stage = stage;
    this.notes = notes;
    /** Whether `notes.listen` was called (once is enough). */
    this.listening = false;
    /** Members that told us our router video plays on their page. @type {Set<string>} */
    this.theyMoved = new Set();
    /** How our call carries media. @type {MediaMode} */
    this.mode = 'mesh';
    /** Members whose mesh call is retired, closing after `MESH_GRACE_MS`. @type {Set<string>} */
    this.retiring = new Set();
    /** Members whose mesh connection stays until their router video plays. @type {Set<string>} */
    this.moving = new Set();
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.moveTimer = null;
  }

  /** Moves done (for the debug handle). */
  get moved() {
    return this.sfu.offers > 0 && this.moving.size === 0;
  }

  get size() {
    return this.mesh.size + this.sfu.visible();
  }

  /**
   * Our call carries media this way from now on (`callMode`, or a `callJoined`).
   * @param {MediaMode} mode
   */
  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    if (mode !== 'sfu') return;
    this.listen();
    const meshed = [...this.mesh.calls.keys()];
    this.moving = new Set(meshed);
    this.sfu.joinCall(meshed, true);
    if (this.moveTimer !== null) clearTimeout(this.moveTimer);
    this.moveTimer = setTimeout(() => this.finishMove(), MOVE_TIMEOUT_MS);
  }

  /** The router's video of `peerId` plays steadily: its mesh connection can go. @param {string} peerId */
  onFirstFrame(peerId) {
    if (!this.moving.delete(peerId)) return;
    console.info(`confab: ${peerId}'s media now comes through the server`);
    const call = this.mesh.calls.get(peerId)?.call;
    this.mesh.retire(peerId);
    this.retiring.add(peerId);
    this.notes.tell(peerId);
    if (this.theyMoved.has(peerId)) this.closeRetired(peerId);
    else setTimeout(() => {
      // Unless the member's mesh call ended meanwhile, or is a new one.
      if (call && this.mesh.calls.get(peerId)?.call === call) this.closeRetired(peerId);
    }, MESH_GRACE_MS);
    if (this.moving.size === 0) this.finishMove();
  }

  /**
   * The member says our router video plays on its page (it may say so before the
   * server's `callMode` reaches us): once its router video plays here too, the mesh
   * connection has nothing left to carry.
   * @param {string} peerId
   */
  peerMoved(peerId) {
    if (!this.mesh.has(peerId)) return;
    this.theyMoved.add(peerId);
    if (this.retiring.has(peerId)) this.closeRetired(peerId);
  }

  /** @private @param {string} peerId */
  closeRetired(peerId) {
    this.retiring.delete(peerId);
    this.theyMoved.delete(peerId);
    this.mesh.close(peerId);
  }

  /** The move is over (or took too long): the router's tiles show, the mesh closes. @private */
  finishMove() {
    if (this.moveTimer !== null) clearTimeout(this.moveTimer);
    this.moveTimer = null;
    const late = [...this.moving];
    this.moving.clear();
    if (late.length) {
      console.warn(`confab: moved without waiting for the server's video: ${late.join(', ')}; ` +
        `the router's video seen: ${this.sfu.quietReport()}`);
    }
    for (const id of late) {
      this.sfu.reveal(id);
      this.mesh.close(id);
    }
  }

  /** Hears members' `moved` notes from now on (the control channel exists once a call does). @private */
  listen() {
    if (this.listening) return;
    this.listening = true;
    this.notes.listen((peerId) => this.peerMoved(peerId));
  }

  /** @param {string[]} members */
  joinCall(members) {
    this.listen();
    if (this.mode === 'sfu') this.sfu.joinCall(members);
    else this.mesh.joinCall(members);
  }

  /** @param {Set<string>} members */
  sync(members) {
    if (this.mode === 'sfu') {
      for (const id of this.moving) if (!members.has(id)) this.moving.delete(id);
      const keep = [...this.moving, ...this.retiring, ...this.mesh.dataPeers()];
      this.mesh.sync(new Set(keep.filter((id) => members.has(id))));
      this.sfu.sync(members);
    } else {
      this.mesh.sync(members);
    }
  }

  /** @param {string} peerId */
  close(peerId) {
    this.moving.delete(peerId);
    this.theyMoved.delete(peerId);
    this.mesh.close(peerId);
    this.sfu.close(peerId);
  }

  /** We left the call: everything closes and the next call starts as a mesh. */
  closeAll() {
    this.mesh.closeAll();
    this.sfu.closeAll();
    this.moving.clear();
    if (this.moveTimer !== null) clearTimeout(this.moveTimer);
    this.moveTimer = null;
    this.retiring.clear();
    this.theyMoved.clear();
    this.mode = 'mesh';
  }

  reset() {
    this.closeAll();
    this.mesh.reset();
  }

  /**
   * Mesh signaling from a member. In an SFU call only connections that still exist (the
   * move is under way) take it: no new mesh connection opens there.
   * @param {MediaSignal} msg
   * @param {boolean} isMember
   */
  handleSignal(msg, isMember) {
    const files = msg.type === 'offer' && isDataOnly(msg.sdp);
    if (this.mode === 'sfu' && !this.mesh.has(msg.from) && !files) return;
    this.mesh.handleSignal(msg, isMember);
  }

  /**
   * A connection for files with a member of our call: its mesh call, or in a call through
   * the router one with data channels only, opened now (media stays on the router).
   * @param {string} peerId
   * @returns {boolean} whether there is one now (its control channel may still be opening)
   */
  openData(peerId) {
    if (this.mesh.has(peerId)) return true;
    return this.mode === 'sfu' && this.mesh.openData(peerId);
  }

  /** The server says our SFU connection failed (`media_failed`): make a fresh one. */
  sfuFailed() {
    if (this.mode === 'sfu') this.sfu.failed();
  }

  /** @param {{type: 'sfuOffer' | 'sfuAnswer', sdp: string}} msg */
  handleSfu(msg) {
    return this.sfu.handleSfu(msg);
  }

  /**
   * Which layer of each track the router forwards us, for the quality panel.
   * @param {import('../net/types.js').LayersMsg} msg
   * @param {number | null} myCall
   */
  handleLayers(msg, myCall) {
    this.sfu.forwarded.handle(msg, myCall);
  }

  resumeSignaling() {
    this.mesh.resumeSignaling();
    this.sfu.resumeSignaling();
  }

  /**
   * Fresh ICE servers (new TURN credentials) for the mesh connections' ICE restarts. The
   * SFU connection restarts no ICE: it takes `ctx.iceServers()` when it is made.
   * @param {RTCIceServer[]} iceServers
   */
  setIceServers(iceServers) {
    this.mesh.setIceServers(iceServers);
  }

  /**
   * Our camera and microphone came (we were brought on stage): send them. Only calls on
   * the router take tracks mid-call; a mesh call made without them stays without.
   * @param {MediaStream} stream
   */
  publish(stream) {
    if (this.mode === 'sfu') this.sfu.publish(stream);
  }

  /** We went back to the audience: stop sending our tracks. */
  unpublish() {
    if (this.mode === 'sfu') this.sfu.unpublish();
  }

  /** @param {'audio' | 'video'} kind @param {MediaStreamTrack | null} track */
  replaceTrack(kind, track) {
    return Promise.all([this.mesh.replaceTrack(kind, track), this.sfu.replaceTrack(kind, track)]);
  }

  renderTiles() {
    this.mesh.renderTiles();
    this.sfu.renderTiles();
  }

  /** Lays the tiles out (the stage picks the grid). */
  layout() {
    this.stage.layout(this.size);
  }

  /** The mesh's connections by peer while the call is a mesh, else null. */
  meshPcs() {
    return this.mode === 'mesh' ? this.mesh.pcs() : null;
  }

  /** @returns {Record<string, RTCPeerConnection>} */
  pcs() {
    return { ...this.mesh.pcs(), ...this.sfu.pcs() };
  }

  /** @returns {Promise<Record<string, CallStats>>} per member: its router stats once its video plays there */
  async stats() {
    const [mesh, sfu] = await Promise.all([this.mesh.stats(), this.sfu.stats()]);
    const out = { ...mesh };
    for (const [id, s] of Object.entries(sfu)) if (!(id in out) || s.firstFrameAt !== null) out[id] = s;
    return out;
  }

  // Server restarts concern the mesh only: the router's connection ends with the server.

  /** @param {string} peerId */
  isKept(peerId) {
    return this.mesh.isKept(peerId);
  }

  orphanAll() {
    this.sfu.closeAll();
    this.mode = 'mesh';
    this.mesh.orphanAll();
  }

  announce() {
    this.mesh.announce();
  }

  get rebound() {
    return this.mesh.rebound;
  }
}
