// The SFU transport (see transport.js): one RTCPeerConnection to the server's media
// router, which forwards every member's tracks to everyone else in the call. We send our
// tracks once (not once per member, as in the mesh), and the router offers us the
// others' tracks by renegotiating; each forwarded track's stream id is the peer id of
// the member it comes from, which is how a track finds its tile. Signaling is
// `sfuOffer`/`sfuAnswer` without `to` (docs/protocol.md); the router is ICE-lite and
// names its one address in its answer, so no candidates are exchanged.
//
// Collisions: the router yields (it drops its own offer when ours crosses it and makes
// it again later), so we ignore its offer while ours is outstanding.

import { pairTypes, playRemote } from './call.js';
import { VIEW_EVERY_MS, screenLayers, sendInit, tileViews } from './layers.js';
import { ForwardedLayers } from './forwarded.js';

/** @typedef {import('./call.js').CallStats} CallStats */
/** @typedef {import('./mesh.js').StageView} StageView */

/**
 * What the SFU transport needs from the app.
 * @typedef {object} SfuContext
 * @property {() => ({sendSfuOffer: (sdp: string) => unknown, sendSfuAnswer: (sdp: string) => unknown,
 *   sendSfuView?: (tracks: import('../net/types.js').TrackView[]) => unknown}) | null} signaling
 * @property {() => RTCIceServer[]} iceServers
 * @property {() => MediaStream | null} localStream
 * @property {() => number | null} joinedAt
 * @property {(peerId: string) => string} nameOf
 * @property {() => void} onChange tiles or connection state changed
 * @property {(peerId: string) => void} [onFirstFrame] a member's video is playing here
 * @property {typeof RTCPeerConnection} [RTCPeerConnection] for tests
 */

/**
 * One member's media as the router forwards it, and its tile.
 * @typedef {object} SfuEntry
 * @property {HTMLElement} tile
 * @property {HTMLVideoElement} video
 * @property {() => void} autoplayBlocked
 * @property {number | null} firstFrameAt performance.now() of its first decoded frame
 * @property {number} startedAt
 * @property {import('./quality.js').QualitySource} [source] its quality panel source
 */

/** Frames a member's router video must have decoded before its mesh tile gives way. */
const SETTLED_FRAMES = 5;

/** After the connection fails, how long before a fresh one is tried. */
const RETRY_MS = 2000;

/** Fresh connections tried in a row before giving up (until the next call). */
const MAX_RETRIES = 5;
/** How long a new connection's offer may wait for its answer after a failure was told. */
const ANSWER_WAIT_MS = 5000;

/**
 * Media of our call through the server's router; `CallMedia` (callmedia.js) puts it
 * behind the `Transport` shape with the mesh.
 */
export class SfuLink {
  /**
   * @param {StageView} stage
   * @param {SfuContext} ctx
   */
  constructor(stage, ctx) {
    this.stage = stage;
    this.ctx = ctx;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** Members' tiles by peer id. @type {Map<string, SfuEntry>} */
    this.entries = new Map();
    /** Members of our call as last synced: tiles exist for exactly these. @type {Set<string>} */
    this.members = new Set();
    /** Remote track id -> member, for per-member statistics. @type {Map<string, string>} */
    this.trackOwner = new Map();
    /** What the last check of hidden tiles saw (`quietReport`). @type {string[]} */
    this.quietSeen = [];
    /** The router's stream of each member, by peer id (its stream id). @type {Map<string, MediaStream>} */
    this.streams = new Map();
    /** Peers whose tiles stay hidden until their first frame (the move from a mesh). @type {Set<string>} */
    this.quiet = new Set();
    /** Offers we made (for the debug handle and tests). */
    this.offers = 0;
    /** Fresh connections made after a failure. */
    this.retries = 0;
    /** @private */
    this.makingOffer = false;
    /** Negotiation steps, one at a time (see `serially`). @private @type {Promise<void>} */
    this.chain = Promise.resolve();
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    /** @private @type {ReturnType<typeof setInterval> | null} */
    this.quietTimer = null;
    /** @private @type {ReturnType<typeof setInterval> | null} */
    this.viewTimer = null;
    /** The views last sent, as JSON (sent again only when they change). @private */
    this.lastViews = '';
    /** Which layer the router forwards on each of our mids (`layers`). */
    this.forwarded = new ForwardedLayers();
  }

  get size() {
    return this.entries.size;
  }

  /** Whether we have a connection to the router (or are making one). */
  get active() {
    return this.pc !== null;
  }

  /** Opens the connection to the router, sending our tracks, if not open yet. */
  start() {
    if (this.pc) return;
    const PC = this.ctx.RTCPeerConnection ?? RTCPeerConnection;
    const pc = new PC({ iceServers: this.ctx.iceServers(), bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const stream = this.ctx.localStream();
    const tracks = stream ? stream.getTracks() : [];
    // Send-only: what we receive comes on m-lines the router adds by its own offers.
    for (const track of tracks) pc.addTransceiver(track, sendInit(track, stream ? [stream] : []));
    // Nothing to send: still offer something, so the router has a session to add the
    // others' tracks to.
    if (tracks.length === 0) pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.onnegotiationneeded = () => this.serially(() => this.offer(pc));
    pc.ontrack = ({ track, streams }) => this.attach(track, streams[0]);
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === 'failed') this.retry();
      if (pc.connectionState === 'connected') this.retries = 0;
      this.renderTiles();
      this.ctx.onChange();
    };
    this.viewTimer = setInterval(() => this.reportViews(), VIEW_EVERY_MS);
    // Under Node (unit tests) the timer must not keep the process alive.
    /** @type {any} */ (this.viewTimer).unref?.();
  }

  /**
   * Tells the router how big each member's video shows here, in device pixels, so it
   * sends the simulcast layer that fits: 0 by 0 for one not seen (the page hidden, the
   * tile scrolled away), which then costs nothing. A tile waiting hidden for its first
   * frames (the move from a mesh) is not reported: it must get them.
   * @private
   */
  reportViews() {
    const pc = this.pc;
    if (!pc || typeof pc.getTransceivers !== 'function') return;
    const tracks = tileViews(pc, (track) => {
      const owner = this.trackOwner.get(track.id);
      const entry = owner ? this.entries.get(owner) : undefined;
      return owner && entry && !this.quiet.has(owner) ? entry : null;
    });
    const json = JSON.stringify(tracks);
    if (json === this.lastViews) return;
    this.lastViews = json;
    this.ctx.signaling()?.sendSfuView?.(tracks);
  }

  /** @private @param {RTCPeerConnection} pc */
  async offer(pc) {
    if (pc !== this.pc || this.makingOffer || pc.signalingState !== 'stable') return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      const sdp = pc.localDescription?.sdp;
      if (pc === this.pc && sdp && pc.localDescription?.type === 'offer') {
        this.offers++;
        this.ctx.signaling()?.sendSfuOffer(sdp);
      }
    } catch (err) {
      if (pc === this.pc) console.error('confab: offer to the media server failed', err);
    } finally {
      this.makingOffer = false;
    }
  }

  /**
   * Runs `step` after every step queued before it: an answer being applied must be done
   * before the router's next offer is looked at (they arrive milliseconds apart).
   * @private
   * @param {() => Promise<void>} step
   */
  serially(step) {
    this.chain = this.chain.then(step, step);
    return this.chain;
  }

  /**
   * The router's answer, or its offer of the others' tracks, in arrival order.
   * @param {{type: 'sfuOffer' | 'sfuAnswer', sdp: string}} msg
   */
  handleSfu(msg) {
    return this.serially(() => this.applySfu(msg));
  }

  /** @private @param {{type: 'sfuOffer' | 'sfuAnswer', sdp: string}} msg */
  async applySfu(msg) {
    const pc = this.pc;
    if (!pc) return;
    try {
      if (msg.type === 'sfuAnswer') {
        if (pc.signalingState !== 'have-local-offer') return;
        await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        return;
      }
      // Ours is outstanding: the router drops its offer and makes it again later.
      if (this.makingOffer || pc.signalingState !== 'stable') return;
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      await pc.setLocalDescription();
      const sdp = pc.localDescription?.sdp;
      if (pc === this.pc && sdp) this.ctx.signaling()?.sendSfuAnswer(sdp);
    } catch (err) {
      if (pc === this.pc) console.error('confab: media server negotiation failed', err);
    }
  }

  /**
   * The router said our connection failed (`media_failed`): start over shortly. Unless
   * our offer of a new connection is out: then the failure was the old connection's
   * (told when the link came back, just before the new one's answer), and only an
   * offer left unanswered means the router refused the new one.
   */
  failed() {
    const pc = this.pc;
    if (pc && !pc.remoteDescription && pc.signalingState === 'have-local-offer') {
      setTimeout(() => {
        if (this.pc === pc && !pc.remoteDescription) this.retry();
      }, ANSWER_WAIT_MS);
      return;
    }
    this.retry();
  }

  /** @private */
  retry() {
    if (this.retryTimer !== null || !this.pc) return;
    if (this.retries >= MAX_RETRIES) return;
    this.retries++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.pc) return;
      this.dropConnection();
      this.start();
      this.ctx.onChange();
    }, RETRY_MS);
  }

  /** Closes the connection, keeping the tiles (their media is gone). @private */
  dropConnection() {
    const pc = this.pc;
    this.pc = null;
    if (!pc) return;
    pc.onnegotiationneeded = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.close();
    if (this.viewTimer !== null) clearInterval(this.viewTimer);
    this.viewTimer = null;
    this.lastViews = '';
    this.forwarded.clear();
    this.trackOwner.clear();
    this.streams.clear();
    for (const e of this.entries.values()) e.video.srcObject = null;
  }

  /**
   * A forwarded track arrived: it plays in its member's tile.
   * @private
   * @param {MediaStreamTrack} track
   * @param {MediaStream | undefined} stream
   */
  attach(track, stream) {
    const peerId = stream?.id;
    if (!peerId || !stream) return;
    this.trackOwner.set(track.id, peerId);
    // A member's tracks may come before its presence says it is in our call: they wait.
    this.streams.set(peerId, stream);
    if (this.members.has(peerId)) this.play(peerId, stream);
  }

  /**
   * Plays a member's forwarded stream in its tile.
   * @private
   * @param {string} peerId
   * @param {MediaStream} stream
   */
  play(peerId, stream) {
    const entry = this.entry(peerId);
    if (entry.video.srcObject !== stream) entry.video.srcObject = stream;
    playRemote(entry.video, entry.autoplayBlocked);
  }

  /**
   * The tile of `peerId`, made on first use.
   * @private
   * @param {string} peerId
   * @returns {SfuEntry}
   */
  entry(peerId) {
    const existing = this.entries.get(peerId);
    if (existing) return existing;
    const { tile, video, autoplayBlocked } = this.stage.create(peerId, this.ctx.nameOf(peerId));
    tile.dataset.transport = 'sfu';
    tile.hidden = this.quiet.has(peerId);
    /** @type {SfuEntry} */
    const entry = { tile, video, autoplayBlocked, firstFrameAt: null, startedAt: performance.now() };
    this.entries.set(peerId, entry);
    const mark = () => {
      if (entry.firstFrameAt !== null || this.entries.get(peerId) !== entry) return;
      entry.firstFrameAt = performance.now();
      this.renderTile(peerId, entry);
      this.ctx.onChange();
    };
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(() => mark());
    video.addEventListener('resize', () => {
      if (video.videoWidth > 0) mark();
    });
    this.renderTile(peerId, entry);
    this.ctx.onChange();
    return entry;
  }

  /**
   * While tiles wait hidden (the move from a mesh), checks four times a second which of
   * them decode steadily (`SETTLED_FRAMES` frames: a first frame alone may be followed
   * by a stall until the next keyframe), and shows those; `onFirstFrame` then lets their
   * mesh connections go. A hidden video element may not render, so decoding is read
   * from the statistics, not from the element.
   * @private
   */
  watchQuiet() {
    if (this.quietTimer !== null) return;
    this.quietTimer = setInterval(async () => {
      const pc = this.pc;
      if (this.quiet.size === 0 || !pc) {
        if (this.quietTimer !== null) clearInterval(this.quietTimer);
        this.quietTimer = null;
        return;
      }
      const report = await pc.getStats().catch(() => null);
      /** @type {string[]} */
      const settled = [];
      /** @type {string[]} */
      const seen = [];
      report?.forEach((/** @type {any} */ s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        const owner = this.trackOwner.get(s.trackIdentifier);
        seen.push(`${owner ?? `unknown track ${s.trackIdentifier}`}: ${s.packetsReceived ?? 0} packets, ` +
          `${s.framesDecoded ?? 0} frames decoded (${s.keyFramesDecoded ?? 0} key), ${s.frameHeight ?? 0} tall`);
        if ((s.framesDecoded ?? 0) < SETTLED_FRAMES) return;
        if (owner && this.quiet.has(owner)) settled.push(owner);
      });
      this.quietSeen = seen;
      for (const id of settled) this.reveal(id);
    }, 250);
  }

  /** What the last check of the hidden tiles saw, per video track (for a move's log). */
  quietReport() {
    return this.quietSeen.join('; ') || 'no video track yet';
  }

  /** Shows a tile that waited hidden. @param {string} peerId */
  reveal(peerId) {
    if (!this.quiet.delete(peerId)) return;
    const entry = this.entries.get(peerId);
    if (entry) entry.tile.hidden = false;
    this.ctx.onFirstFrame?.(peerId);
    this.ctx.onChange();
  }

  /** @private @param {string} peerId @param {SfuEntry} entry */
  renderTile(peerId, entry) {
    this.stage.render(entry.tile, {
      peerId,
      connectionState: this.pc?.connectionState ?? 'new',
      hasVideo: entry.firstFrameAt !== null,
      name: this.ctx.nameOf(peerId),
    });
  }

  renderTiles() {
    for (const [id, e] of this.entries) this.renderTile(id, e);
  }

  /** Tiles showing (hidden ones wait for their first frame). */
  visible() {
    return [...this.entries.values()].filter((e) => !e.tile.hidden).length;
  }

  // ---------------------------------------------------------- Transport

  /**
   * We joined an SFU call (or ours moved to the router): connect to it.
   * @param {string[]} members
   * @param {boolean} [quiet] these members' tiles stay hidden until their first frame
   *   (their mesh tiles show them meanwhile)
   */
  joinCall(members, quiet = false) {
    if (quiet) for (const id of members) this.quiet.add(id);
    this.sync(new Set(members));
    this.start();
    if (this.quiet.size > 0) this.watchQuiet();
  }

  /** Keeps tiles for exactly these members of our call. @param {Set<string>} members */
  sync(members) {
    this.members = new Set(members);
    for (const id of [...this.entries.keys()]) if (!members.has(id)) this.close(id);
    for (const id of members) {
      const isNew = !this.entries.has(id);
      this.entry(id);
      const stream = this.streams.get(id);
      if (isNew && stream) this.play(id, stream);
    }
  }

  /** @param {string} peerId */
  close(peerId) {
    const entry = this.entries.get(peerId);
    if (!entry) return;
    entry.video.srcObject = null;
    this.stage.remove(entry.tile);
    this.entries.delete(peerId);
    this.quiet.delete(peerId);
    this.ctx.onChange();
  }

  /** We left the call: close the connection and every tile. */
  closeAll() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retries = 0;
    this.dropConnection();
    for (const id of [...this.entries.keys()]) this.close(id);
    this.members.clear();
    this.quiet.clear();
    if (this.quietTimer !== null) clearInterval(this.quietTimer);
    this.quietTimer = null;
  }

  reset() {
    this.closeAll();
  }

  /** The signaling connection is back: an offer of ours may have been lost; make it again. */
  resumeSignaling() {
    const pc = this.pc;
    const sdp = pc?.localDescription?.sdp;
    if (pc && sdp && pc.signalingState === 'have-local-offer') this.ctx.signaling()?.sendSfuOffer(sdp);
  }

  /**
   * Sends `stream`'s tracks too (brought on stage mid-call): new send-only m-lines, so
   * the connection renegotiates.
   * @param {MediaStream} stream
   */
  publish(stream) {
    const pc = this.pc;
    if (!pc) return;
    for (const track of stream.getTracks()) pc.addTransceiver(track, sendInit(track, [stream]));
  }

  /** Stops every m-line we send on (back in the audience); the router's stay. */
  unpublish() {
    const pc = this.pc;
    if (!pc) return;
    for (const t of pc.getTransceivers()) {
      if (t.direction === 'sendonly' && t.currentDirection !== 'stopped') t.stop();
    }
  }

  /**
   * Sends `track` instead of the current track of its kind (no renegotiation).
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  async replaceTrack(kind, track) {
    const pc = this.pc;
    if (!pc) return;
    const sender = pc.getSenders().find((s) => s.track?.kind === kind)
      ?? pc.getTransceivers().find((t) => t.sender.track === null && t.receiver.track.kind === kind
        && (t.direction === 'sendrecv' || t.direction === 'sendonly'))?.sender;
    if (!sender) return;
    await sender.replaceTrack(track);
    if (kind === 'video') await screenLayers(sender, track);
  }

  /**
   * Each shown member's share of the connection, for the quality panel: its own inbound
   * streams, with the connection's path and what we send. Stable objects per member.
   * @returns {import('./quality.js').QualitySource[]}
   */
  qualitySources() {
    /** @type {import('./quality.js').QualitySource[]} */
    const out = [];
    for (const [peerId, e] of this.entries) {
      if (e.tile.hidden || !this.pc) continue;
      e.source ??= {
        peerId,
        pc: { getStats: () => this.statsOf(peerId) },
        get firstFrameAt() {
          return e.firstFrameAt;
        },
        startedAt: e.startedAt,
        layerOf: (mid) => this.forwarded.get(mid),
      };
      out.push(e.source);
    }
    return out;
  }

  /**
   * The connection's statistics without the inbound streams of other members.
   * @private
   * @param {string} peerId
   */
  async statsOf(peerId) {
    /** @type {Map<string, any>} */
    const out = new Map();
    const report = await this.pc?.getStats();
    report?.forEach((/** @type {any} */ s) => {
      if (s.type === 'inbound-rtp' && this.trackOwner.get(s.trackIdentifier) !== peerId) return;
      out.set(s.id, s);
    });
    return out;
  }

  /** @returns {Record<string, RTCPeerConnection>} the one connection, under each member */
  pcs() {
    const pc = this.pc;
    return pc ? Object.fromEntries([...this.entries.keys()].map((id) => [id, pc])) : {};
  }

  /** @returns {Promise<Record<string, CallStats>>} per member, from the one connection */
  async stats() {
    const pc = this.pc;
    /** @type {Map<string, {framesDecoded: number, audioPacketsReceived: number}>} */
    const per = new Map();
    /** @type {string | null} */
    let localCandidateType = null;
    /** @type {string | null} */
    let remoteCandidateType = null;
    if (pc) {
      /** @type {Map<string, any>} */
      const byId = new Map();
      /** @type {string | null} */
      let pairId = null;
      const report = await pc.getStats();
      report.forEach((/** @type {any} */ s) => {
        byId.set(s.id, s);
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        if (s.type !== 'inbound-rtp') return;
        const owner = this.trackOwner.get(s.trackIdentifier);
        if (!owner) return;
        const p = per.get(owner) ?? { framesDecoded: 0, audioPacketsReceived: 0 };
        if (s.kind === 'video') p.framesDecoded += s.framesDecoded ?? 0;
        else if (s.kind === 'audio') p.audioPacketsReceived += s.packetsReceived ?? 0;
        per.set(owner, p);
      });
      ({ localCandidateType, remoteCandidateType } = pairTypes(byId, pairId));
    }
    /** @type {Record<string, CallStats>} */
    const out = {};
    for (const [id, e] of this.entries) {
      const p = per.get(id) ?? { framesDecoded: 0, audioPacketsReceived: 0 };
      out[id] = {
        iceConnectionState: pc?.iceConnectionState ?? 'closed',
        connectionState: pc?.connectionState ?? 'closed',
        signalingState: pc?.signalingState ?? 'closed',
        videoWidth: e.video.videoWidth,
        framesDecoded: p.framesDecoded,
        audioPacketsReceived: p.audioPacketsReceived,
        localCandidateType,
        remoteCandidateType,
        joinedAt: this.ctx.joinedAt(),
        firstFrameAt: e.firstFrameAt,
        startedAt: e.startedAt,
        offers: this.offers,
        iceRestarts: this.retries,
      };
    }
    return out;
  }
}
