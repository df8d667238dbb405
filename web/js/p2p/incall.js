// What the in-call features (file transfer, screen share, device choice, the quality
// panel) share, apart from how calls start: the set of PeerCalls currently in the call
// (app.js reports each one with `add` and `remove`), each call's control data channel
// (JSON messages peer to peer, never through the server), our outgoing tracks, and the
// peers' mute/camera/screen state as they report it here (handed to `onPeerState`, which
// feeds the room model: the tiles show the model, not this).
//
// Control messages are objects with a string `type`; `state` is handled here, the others
// go to whoever registered for them with `on(type, fn)`. A message that is not JSON or
// has no type is dropped (logged): a peer's bug must not break our page.

/** @typedef {import('../media/call.js').PeerCall} PeerCall */

/**
 * Another peer's state as it last told us over the control channel.
 * @typedef {object} PeerState
 * @property {boolean} micMuted
 * @property {boolean} camOff
 * @property {boolean} screen sharing their screen instead of the camera
 */

/**
 * @typedef {object} CallMember
 * @property {PeerCall} call
 * @property {HTMLElement | null} tile
 * @property {RTCDataChannel | null} control
 * @property {PeerState | null} state
 */

/** Largest control message we accept, in characters; file data goes on other channels. */
const MAX_CONTROL_MESSAGE = 16 * 1024;

export class InCall {
  /**
   * @param {{nameOf: (peerId: string) => string,
   *   onPeerState?: (peerId: string, state: PeerState | null) => void}} opts
   *   `onPeerState`: a peer reported its state, or (null) its call ended
   */
  constructor(opts) {
    this.nameOf = opts.nameOf;
    this.onPeerState = opts.onPeerState ?? (() => {});
    /** @type {Map<string, CallMember>} */
    this.members = new Map();
    /** The stream we send (app.js's localStream), whose tracks we swap. @type {MediaStream | null} */
    this.stream = null;
    /** Whether the screen, not the camera, is our outgoing video. */
    this.sharingScreen = false;
    /** @type {Map<string, Array<(peerId: string, msg: any) => void>>} */
    this.handlers = new Map();
    /** @type {Array<(peerId: string, channel: RTCDataChannel) => void>} */
    this.channelHandlers = [];
    /**
     * Senders of our tracks besides the calls (see `addSender`).
     * @type {{replaceTrack: (kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<unknown>}[]}
     */
    this.extraSenders = [];
    /** @type {Array<() => void>} */
    this.changeHandlers = [];
  }

  // -------------------------------------------------------------------- membership

  /**
   * A call joined the set (app.js, when it creates one).
   * @param {PeerCall} call
   * @param {HTMLElement} tile
   */
  add(call, tile) {
    const m = this.member(call);
    if (!m) return;
    m.tile = tile;
    this.changed();
  }

  /**
   * A call left the set (hung up, peer gone, replaced).
   * @param {string} peerId
   */
  remove(peerId) {
    const m = this.members.get(peerId);
    if (!m) return;
    this.members.delete(peerId);
    if (m.state) this.onPeerState(peerId, null);
    this.changed();
  }

  /** Everyone left (we left the room). */
  clear() {
    for (const id of [...this.members.keys()]) this.remove(id);
    this.stream = null;
    this.sharingScreen = false;
  }

  /**
   * The member for `call`, created on first sight (the control channel may be reported
   * before `add`). Null if that peer already has another, newer call.
   * @param {PeerCall} call
   * @returns {CallMember | null}
   */
  member(call) {
    let m = this.members.get(call.peerId);
    if (m && m.call !== call) {
      if (!m.call.closed) return null;
      m = undefined;
    }
    if (!m) {
      m = { call, tile: null, control: null, state: null };
      this.members.set(call.peerId, m);
    }
    return m;
  }

  /** @returns {PeerCall[]} the live calls */
  calls() {
    return [...this.members.values()].map((m) => m.call).filter((c) => !c.closed);
  }

  /**
   * Everything that sends our tracks: the live calls, and the connections registered
   * with `addSender` (the SFU's, which carries our tracks to everyone at once).
   * @returns {{replaceTrack: (kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<unknown>}[]}
   */
  senders() {
    return [...this.calls(), ...this.extraSenders];
  }

  /**
   * Registers a sender of our tracks besides the calls (see `senders`).
   * @param {{replaceTrack: (kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<unknown>}} sender
   */
  addSender(sender) {
    this.extraSenders.push(sender);
  }

  /** @param {string} peerId */
  tileOf(peerId) {
    return this.members.get(peerId)?.tile ?? null;
  }

  /** @param {string} peerId @returns {PeerState | null} */
  peerState(peerId) {
    return this.members.get(peerId)?.state ?? null;
  }

  /** @param {() => void} fn called when calls come or go or a peer's state changes */
  onChange(fn) {
    this.changeHandlers.push(fn);
  }

  /** @private */
  changed() {
    for (const fn of this.changeHandlers) fn();
  }

  // -------------------------------------------------------------------- data channels

  /**
   * PeerCall's `onDataChannel` hook: our control channel, or one the peer opened.
   * @param {PeerCall} call
   * @param {RTCDataChannel} channel
   */
  dataChannel(call, channel) {
    const m = this.member(call);
    if (!m) return;
    if (channel === call.control) {
      m.control = channel;
      channel.onopen = () => {
        this.sendState(call.peerId);
        this.changed();
      };
      channel.onmessage = (ev) => this.receive(call.peerId, ev.data);
      channel.onclose = () => this.changed();
      if (channel.readyState === 'open') this.sendState(call.peerId);
      return;
    }
    for (const fn of this.channelHandlers) fn(call.peerId, channel);
  }

  /** @param {(peerId: string, channel: RTCDataChannel) => void} fn for channels the peer opens */
  onChannel(fn) {
    this.channelHandlers.push(fn);
  }

  /**
   * Opens a new data channel to a peer (no renegotiation: the SCTP association exists).
   * @param {string} peerId
   * @param {string} label
   * @returns {RTCDataChannel | null}
   */
  openChannel(peerId, label) {
    const m = this.members.get(peerId);
    if (!m || m.call.closed) return null;
    return m.call.pc.createDataChannel(label, { ordered: true });
  }

  /**
   * @param {string} type
   * @param {(peerId: string, msg: any) => void} fn
   */
  on(type, fn) {
    const list = this.handlers.get(type) ?? [];
    list.push(fn);
    this.handlers.set(type, list);
  }

  /**
   * Sends a control message; false if the peer's control channel is not open.
   * @param {string} peerId
   * @param {{type: string} & Record<string, unknown>} msg
   * @returns {boolean}
   */
  send(peerId, msg) {
    const ch = this.members.get(peerId)?.control;
    if (!ch || ch.readyState !== 'open') return false;
    ch.send(JSON.stringify(msg));
    return true;
  }

  /** @param {string} peerId */
  controlOpen(peerId) {
    return this.members.get(peerId)?.control?.readyState === 'open';
  }

  /**
   * @private
   * @param {string} peerId
   * @param {unknown} data
   */
  receive(peerId, data) {
    /** @type {any} */
    let msg;
    try {
      if (typeof data !== 'string' || data.length > MAX_CONTROL_MESSAGE) throw new Error('not a short text');
      msg = JSON.parse(data);
      if (!msg || typeof msg.type !== 'string') throw new Error('no type');
    } catch (err) {
      console.warn(`confab: dropped a malformed control message from ${peerId}:`, err);
      return;
    }
    if (msg.type === 'state') {
      this.receiveState(peerId, msg);
      return;
    }
    for (const fn of this.handlers.get(msg.type) ?? []) fn(peerId, msg);
  }

  // -------------------------------------------------------------------- state

  /** Our own state, read from the outgoing tracks. @returns {PeerState} */
  localState() {
    const audio = this.stream?.getAudioTracks()[0];
    const video = this.stream?.getVideoTracks()[0];
    return {
      micMuted: !audio || !audio.enabled,
      camOff: !video || !video.enabled,
      screen: this.sharingScreen,
    };
  }

  /**
   * Tells peers our state (after mute, camera off, screen share). With no argument: all.
   * @param {string} [peerId]
   */
  sendState(peerId) {
    const msg = { type: 'state', ...this.localState() };
    for (const id of peerId ? [peerId] : [...this.members.keys()]) this.send(id, msg);
  }

  /**
   * @private
   * @param {string} peerId
   * @param {any} msg
   */
  receiveState(peerId, msg) {
    const m = this.members.get(peerId);
    if (!m) return;
    m.state = { micMuted: msg.micMuted === true, camOff: msg.camOff === true, screen: msg.screen === true };
    this.onPeerState(peerId, m.state);
    this.changed();
  }

  // -------------------------------------------------------------------- outgoing tracks

  /**
   * Sends `track` instead of the current track of its kind: in the local stream (so the
   * preview and calls started later use it) and in every live call (replaceTrack, no
   * renegotiation). The new track inherits the old one's `enabled` (mute stays muted).
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack} track
   * @returns {Promise<MediaStreamTrack | null>} the track it replaced (not stopped)
   */
  async replaceOutgoing(kind, track) {
    const stream = this.stream;
    if (!stream) return null;
    const old = (kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks())[0] ?? null;
    if (old === track) return null;
    if (old) {
      track.enabled = old.enabled;
      stream.removeTrack(old);
    }
    stream.addTrack(track);
    await Promise.all(
      this.senders().map((c) =>
        c.replaceTrack(kind, track).catch((err) => console.error(`confab: replacing the ${kind} track failed`, err)),
      ),
    );
    return old;
  }
}
