// One `PeerCall` per remote peer: an RTCPeerConnection negotiated with the "perfect
// negotiation" pattern from the W3C WebRTC spec (section 10, "Perfect negotiation
// example") and MDN. Both sides may start negotiating at any time; when their offers
// collide, the *polite* peer rolls its own offer back and the *impolite* one ignores
// the incoming offer. Who is polite is fixed by the protocol: the peer with the smaller
// peer id (plain string comparison).

/**
 * What `PeerCall` needs from the signaling connection.
 * @typedef {object} CallSignaling
 * @property {(to: string, sdp: string) => unknown} sendOffer
 * @property {(to: string, sdp: string) => unknown} sendAnswer
 * @property {(to: string, candidate: RTCIceCandidateInit | null) => unknown} sendCandidate
 */

/**
 * Per-peer statistics, as `window.confab.stats()` reports them (see
 * docs/web-test-contract.md).
 * @typedef {object} CallStats
 * @property {RTCIceConnectionState} iceConnectionState
 * @property {RTCPeerConnectionState} connectionState
 * @property {RTCSignalingState} signalingState
 * @property {number} videoWidth of the remote <video> element
 * @property {number} framesDecoded inbound-rtp video
 * @property {number} audioPacketsReceived inbound-rtp audio
 * @property {string | null} localCandidateType of the selected candidate pair
 * @property {string | null} remoteCandidateType of the selected candidate pair
 * @property {number | null} joinedAt performance.now() when we joined the room
 * @property {number | null} firstFrameAt performance.now() of the first remote video frame
 * @property {number} startedAt performance.now() when this connection was created (the
 *   call started or was accepted)
 * @property {number} offers offers this connection made or applied: 1 after the first
 *   negotiation; it grows only when the call is renegotiated
 * @property {number} iceRestarts ICE restarts this side started (`restartIce()`)
 */

/**
 * @typedef {object} PeerCallOptions
 * @property {string} myId our peer id
 * @property {string} peerId theirs
 * @property {RTCIceServer[]} iceServers
 * @property {MediaStream | null} localStream tracks to send (null: receive only)
 * @property {CallSignaling} signaling
 * @property {HTMLVideoElement} video where the remote media plays
 * @property {number | null} [joinedAt]
 * @property {(call: PeerCall) => void} [onChange] connection state or first frame changed
 * @property {(call: PeerCall) => void} [onAutoplayBlocked] the remote video had to be muted to play
 * @property {number} [waitForOfferMs] hold our tracks back this long (or until the peer's
 *   first offer arrives) instead of offering at once; see `WAIT_FOR_OFFER_MS`
 * @property {(call: PeerCall) => void} [onStuck] ICE never started; the owner should
 *   replace this call with a fresh one (see `STUCK_ICE_MS`)
 * @property {(call: PeerCall, channel: RTCDataChannel) => void} [onDataChannel] a data
 *   channel exists: our control channel (`call.control`, created with the media) or one
 *   the peer opened
 * @property {(call: PeerCall, peerId: string) => void} [onRebind] the peer told us its
 *   new peer id over the rebind channel (after a server restart; see mesh.js)
 * @property {boolean} [dataOnly] no media at all, only data channels: the connection
 *   opened on demand for files in a call whose media goes through the server's router
 * @property {typeof RTCPeerConnection} [RTCPeerConnection] for tests
 */

/**
 * The control channel: pre-negotiated (same id on both sides, no in-band handshake), so
 * it opens as soon as the connection does, whoever offered. In-call features (file
 * offers, mute state) talk peer to peer on it, never through the server.
 */
export const CONTROL_CHANNEL = Object.freeze({ label: 'confab', id: 0 });

/**
 * How long a peer already in the room waits for a newcomer's offer before offering
 * itself. The newcomer offers as soon as it has joined, so this is rarely reached; it
 * keeps the two sides from offering at the same moment. Perfect negotiation resolves
 * such a collision, but Chromium (seen in M156, about one collision in four between two
 * tabs) sometimes never gathers ICE candidates on the polite side after it rolls its own
 * offer back, whether implicitly or explicitly, and `restartIce()` does not revive it.
 */
export const WAIT_FOR_OFFER_MS = 1500;

/**
 * The safety net for that bug: if ICE is still 'new' this long after an offer/answer
 * exchange completed, the impolite side reports the call as stuck (`onStuck`) so it can
 * be replaced by a fresh connection. Only the impolite side does, so the replacement
 * does not collide again.
 */
export const STUCK_ICE_MS = 3000;

/**
 * After ICE fails, the polite side waits this long for the impolite side's ICE restart
 * before restarting itself, so the two restarts do not collide.
 */
const POLITE_RESTART_DELAY_MS = 4000;

/**
 * ICE 'disconnected' for this long (consent checks failing: a link went down, the
 * network changed) starts an ICE restart, on the impolite side; the polite side waits
 * `POLITE_RESTART_DELAY_MS` more. Chromium needs about 30 s to call it 'failed'.
 */
export const DISCONNECTED_RESTART_MS = 2500;

/**
 * The rebind channel: pre-negotiated like the control channel, used only to tell the
 * peer our new peer id after the signaling server restarted (mesh.js). Its id is far
 * above those the browser assigns to in-band channels (file transfers).
 */
export const REBIND_CHANNEL = Object.freeze({ label: 'confab-rebind', id: 1001 });

/** Sends and receives media with one remote peer. */
export class PeerCall {
  /** @param {PeerCallOptions} opts */
  constructor(opts) {
    this.myId = opts.myId;
    this.peerId = opts.peerId;
    /** Perfect negotiation: the smaller id yields on collision. */
    this.polite = opts.myId < opts.peerId;
    this.signaling = opts.signaling;
    this.video = opts.video;
    this.joinedAt = opts.joinedAt ?? null;
    /** @type {number | null} */
    this.firstFrameAt = null;
    this.onChange = opts.onChange ?? (() => {});
    this.onAutoplayBlocked = opts.onAutoplayBlocked ?? (() => {});
    this.onStuck = opts.onStuck ?? (() => {});
    this.onDataChannel = opts.onDataChannel ?? (() => {});
    this.onRebind = opts.onRebind ?? (() => {});
    /** ICE restarts started by this side; see `CallStats.iceRestarts`. */
    this.iceRestarts = 0;
    /** @type {RTCDataChannel | null} */
    this.rebindChannel = null;
    this.closed = false;
    this.startedAt = performance.now();
    /** Offers made or applied; see `CallStats.offers`. */
    this.offers = 0;
    /** @type {RTCDataChannel | null} */
    this.control = null;

    // Perfect negotiation state.
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;

    const PC = opts.RTCPeerConnection ?? RTCPeerConnection;
    // One transport for audio and video from the first offer: fewer candidates and ICE
    // checks than 'balanced', and every browser we support bundles anyway.
    this.pc = new PC({ iceServers: opts.iceServers, bundlePolicy: 'max-bundle' });
    const pc = this.pc;

    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription?.type === 'offer') this.offers++;
        this.sendDescription();
      } catch (err) {
        if (!this.closed) console.error(`confab: negotiation with ${this.peerId} failed`, err);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (this.closed) return;
      this.signaling.sendCandidate(this.peerId, candidate ? candidate.toJSON() : null);
    };
    pc.oniceconnectionstatechange = () => {
      const state = pc.iceConnectionState;
      if (state === 'failed') this.restartAfterFailure();
      if (state === 'disconnected') this.armDisconnectTimer();
      if (state === 'connected' || state === 'completed') this.clearRestartTimers();
      this.onChange(this);
    };
    pc.onconnectionstatechange = () => this.onChange(this);
    pc.onsignalingstatechange = () => {
      if (pc.signalingState === 'stable') this.armWatchdog();
      this.onChange(this);
    };
    pc.ontrack = ({ track, streams }) => this.attachTrack(track, streams[0]);
    pc.ondatachannel = ({ channel }) => {
      if (!this.closed) this.onDataChannel(this, channel);
    };

    this.watchFirstFrame();

    /** @private */
    this.localStream = opts.localStream;
    /** Data channels only (see `PeerCallOptions.dataOnly`). */
    this.dataOnly = opts.dataOnly === true;
    /** @private */
    this.mediaAdded = false;
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.waitTimer = null;
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.watchdogTimer = null;
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.restartTimer = null;
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.disconnectTimer = null;
    const wait = opts.waitForOfferMs ?? 0;
    if (wait > 0) {
      this.waitTimer = setTimeout(() => this.addLocalMedia(), wait);
    } else {
      this.addLocalMedia();
    }
  }

  /**
   * Adds our tracks (which starts negotiation unless an offer from the peer is being
   * answered). Called once: at creation, after the peer's first offer was applied, or
   * when waiting for that offer timed out.
   * @private
   */
  addLocalMedia() {
    if (this.mediaAdded || this.closed) return;
    this.mediaAdded = true;
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    const pc = this.pc;
    const stream = this.localStream;
    // After the peer's offer was applied, addTrack reuses its transceivers, so the
    // answer sends on them.
    if (stream && !this.dataOnly) for (const track of stream.getTracks()) pc.addTrack(track, stream);
    if (typeof pc.createDataChannel === 'function') {
      this.control = pc.createDataChannel(CONTROL_CHANNEL.label, { negotiated: true, id: CONTROL_CHANNEL.id });
      this.onDataChannel(this, this.control);
      const rebind = pc.createDataChannel(REBIND_CHANNEL.label, { negotiated: true, id: REBIND_CHANNEL.id });
      rebind.onmessage = ({ data }) => {
        try {
          const msg = JSON.parse(String(data));
          if (!this.closed && typeof msg?.id === 'string' && msg.id.length <= 64) this.onRebind(this, msg.id);
        } catch {
          // not ours to worry about: the peer runs another version
        }
      };
      this.rebindChannel = rebind;
    }
    // Without a local track of a kind, still ask to receive that kind, so a receive-only
    // participant can start a call too.
    for (const kind of /** @type {('audio' | 'video')[]} */ (this.dataOnly ? [] : ['audio', 'video'])) {
      const have = pc.getTransceivers().some((t) => t.receiver.track.kind === kind);
      if (!have) pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }

  /**
   * After an offer/answer exchange, checks later that ICE got going (impolite side only).
   * @private
   */
  armWatchdog() {
    if (this.polite) return;
    if (this.watchdogTimer !== null) clearTimeout(this.watchdogTimer);
    this.watchdogTimer = setTimeout(() => {
      this.watchdogTimer = null;
      const pc = this.pc;
      if (this.closed || pc.signalingState !== 'stable') return;
      if (!pc.remoteDescription || !pc.localDescription || pc.iceConnectionState !== 'new') return;
      console.warn(`confab: ICE with ${this.peerId} never started`);
      this.onStuck(this);
    }, STUCK_ICE_MS);
  }

  /**
   * ICE failed (e.g. the network changed): restart it. Both sides see the failure; the
   * impolite one restarts at once, the polite one only if that restart does not come.
   * @private
   */
  restartAfterFailure() {
    if (!this.polite) {
      this.restartIce();
      return;
    }
    if (this.restartTimer !== null) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      const state = this.pc.iceConnectionState;
      if (!this.closed && (state === 'failed' || state === 'disconnected')) this.restartIce();
    }, POLITE_RESTART_DELAY_MS);
  }

  /**
   * ICE went 'disconnected': if it stays so for `DISCONNECTED_RESTART_MS`, restart it as
   * after a failure.
   * @private
   */
  armDisconnectTimer() {
    if (this.disconnectTimer !== null) return;
    this.disconnectTimer = setTimeout(() => {
      this.disconnectTimer = null;
      if (!this.closed && this.pc.iceConnectionState === 'disconnected') this.restartAfterFailure();
    }, DISCONNECTED_RESTART_MS);
  }

  /** @private */
  clearRestartTimers() {
    if (this.disconnectTimer !== null) clearTimeout(this.disconnectTimer);
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.disconnectTimer = null;
    this.restartTimer = null;
  }

  /**
   * New ICE servers (fresh TURN credentials from the server's `iceServers`) for the ICE
   * restarts to come: a restart gathers again, and the credentials this connection began
   * with may have expired by then. Running allocations keep theirs. Ignored once closed,
   * or if the browser refuses the change.
   * @param {RTCIceServer[]} iceServers
   */
  setIceServers(iceServers) {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (err) {
      console.warn(`confab: new ICE servers refused for ${this.peerId}`, err);
    }
  }

  /** Starts an ICE restart (renegotiates through signaling) and counts it. */
  restartIce() {
    if (this.closed) return;
    this.iceRestarts++;
    this.pc.restartIce();
  }

  /**
   * Signaling is back after an outage: what was sent meanwhile is lost. Sends our
   * pending offer again, or restarts ICE if the connection is still down.
   */
  resumeSignaling() {
    if (this.closed) return;
    const pc = this.pc;
    if (pc.signalingState === 'have-local-offer') {
      this.sendDescription();
      return;
    }
    const state = pc.iceConnectionState;
    if (state === 'failed' || (state === 'disconnected' && !this.polite)) this.restartIce();
  }

  /**
   * Tells the peer our new peer id over the rebind channel (once it is open).
   * @param {string} id
   */
  announceId(id) {
    const ch = this.rebindChannel;
    if (!ch || ch.readyState !== 'open' || this.closed) return;
    try {
      ch.send(JSON.stringify({ id }));
    } catch {
      // closing; the rebind will not happen and the owner times it out
    }
  }

  /** @private */
  sendDescription() {
    const desc = this.pc.localDescription;
    if (!desc || this.closed) return;
    if (desc.type === 'offer') this.signaling.sendOffer(this.peerId, desc.sdp);
    else if (desc.type === 'answer') this.signaling.sendAnswer(this.peerId, desc.sdp);
  }

  /**
   * Applies an offer or answer relayed from the peer.
   * @param {{type: 'offer' | 'answer', sdp: string}} description
   */
  async handleDescription(description) {
    if (this.closed) return;
    const pc = this.pc;
    try {
      const readyForOffer =
        !this.makingOffer && (pc.signalingState === 'stable' || this.isSettingRemoteAnswerPending);
      const offerCollision = description.type === 'offer' && !readyForOffer;
      this.ignoreOffer = !this.polite && offerCollision;
      if (this.ignoreOffer) return;
      this.isSettingRemoteAnswerPending = description.type === 'answer';
      await pc.setRemoteDescription(description); // rolls our own offer back if needed
      this.isSettingRemoteAnswerPending = false;
      if (description.type === 'offer') {
        this.offers++;
        this.addLocalMedia(); // if we were waiting for this offer
        await pc.setLocalDescription();
        this.sendDescription();
      }
    } catch (err) {
      if (!this.closed) console.error(`confab: applying ${description.type} from ${this.peerId} failed`, err);
    }
  }

  /**
   * Adds a trickled ICE candidate from the peer; null means end of candidates.
   * @param {RTCIceCandidateInit | null} candidate
   */
  async handleCandidate(candidate) {
    if (this.closed) return;
    try {
      if (candidate) {
        await this.pc.addIceCandidate(candidate);
      } else {
        await this.pc.addIceCandidate();
      }
    } catch (err) {
      // Candidates belonging to an offer we ignored are expected to fail.
      if (!this.ignoreOffer && !this.closed) console.warn(`confab: candidate from ${this.peerId} rejected`, err);
    }
  }

  /**
   * Sends `track` instead of whatever of its kind we send now (a camera or microphone
   * switch, a screen share), with `RTCRtpSender.replaceTrack`: no renegotiation, the call
   * carries on. Only when we had no track of that kind at all (a receive-only
   * transceiver) does the direction change, which renegotiates.
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  async replaceTrack(kind, track) {
    if (this.closed) return;
    const mine = this.pc
      .getTransceivers()
      .filter((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
    const sending = mine.filter((t) => t.sender.track !== null);
    const targets = sending.length > 0 ? sending : mine.slice(0, 1);
    for (const t of targets) {
      await t.sender.replaceTrack(track);
      if (track && (t.direction === 'recvonly' || t.direction === 'inactive')) {
        t.direction = t.direction === 'recvonly' ? 'sendrecv' : 'sendonly';
      }
    }
  }

  /**
   * @private
   * @param {MediaStreamTrack} track
   * @param {MediaStream | undefined} stream
   */
  attachTrack(track, stream) {
    const video = this.video;
    if (stream) {
      if (video.srcObject !== stream) video.srcObject = stream;
    } else {
      // The sender gave no stream: collect its tracks in one of our own.
      let own = video.srcObject instanceof MediaStream ? video.srcObject : null;
      if (!own) video.srcObject = own = new MediaStream();
      if (!own.getTracks().includes(track)) own.addTrack(track);
    }
    this.play();
  }

  /** @private */
  play() {
    playRemote(this.video, () => this.onAutoplayBlocked(this));
  }

  /** @private */
  watchFirstFrame() {
    const video = this.video;
    const mark = () => {
      if (this.firstFrameAt !== null || this.closed) return;
      this.firstFrameAt = performance.now();
      this.onChange(this);
    };
    if (typeof video.requestVideoFrameCallback === 'function') {
      video.requestVideoFrameCallback(() => mark());
    }
    video.addEventListener('loadeddata', () => {
      if (video.videoWidth > 0) mark();
    });
    video.addEventListener('resize', () => {
      if (video.videoWidth > 0) mark();
    });
  }

  /**
   * The remote session id (the `o=` line), to tell a fresh call from this one.
   * @returns {string | null}
   */
  remoteSessionId() {
    const sdp = this.pc.currentRemoteDescription?.sdp ?? this.pc.remoteDescription?.sdp;
    return sdp ? sessionIdOf(sdp) : null;
  }

  /**
   * Gathers the statistics for this call.
   * @returns {Promise<CallStats>}
   */
  async stats() {
    const pc = this.pc;
    let framesDecoded = 0;
    let audioPacketsReceived = 0;
    /** @type {string | null} */
    let localCandidateType = null;
    /** @type {string | null} */
    let remoteCandidateType = null;
    if (!this.closed) {
      /** @type {Map<string, any>} */
      const byId = new Map();
      /** @type {string | null} */
      let selectedPairId = null;
      const report = await pc.getStats();
      report.forEach((/** @type {any} */ s) => {
        byId.set(s.id, s);
        if (s.type === 'inbound-rtp') {
          const kind = s.kind ?? s.mediaType;
          if (kind === 'video') framesDecoded += s.framesDecoded ?? 0;
          else if (kind === 'audio') audioPacketsReceived += s.packetsReceived ?? 0;
        } else if (s.type === 'transport' && s.selectedCandidatePairId) {
          selectedPairId = s.selectedCandidatePairId;
        }
      });
      ({ localCandidateType, remoteCandidateType } = pairTypes(byId, selectedPairId));
    }
    return {
      iceConnectionState: pc.iceConnectionState,
      connectionState: pc.connectionState,
      signalingState: pc.signalingState,
      videoWidth: this.video.videoWidth,
      framesDecoded,
      audioPacketsReceived,
      localCandidateType,
      remoteCandidateType,
      joinedAt: this.joinedAt,
      firstFrameAt: this.firstFrameAt,
      startedAt: this.startedAt,
      offers: this.offers,
      iceRestarts: this.iceRestarts,
    };
  }

  /** Ends the call: closes the connection and detaches the remote media. */
  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    if (this.watchdogTimer !== null) clearTimeout(this.watchdogTimer);
    this.clearRestartTimers();
    const pc = this.pc;
    pc.onnegotiationneeded = null;
    pc.onicecandidate = null;
    pc.oniceconnectionstatechange = null;
    pc.onconnectionstatechange = null;
    pc.onsignalingstatechange = null;
    pc.ontrack = null;
    pc.ondatachannel = null;
    pc.close();
    this.video.srcObject = null;
  }
}

/**
 * Plays a remote stream's video element. When autoplay with sound is refused, it plays
 * muted so the picture shows, and `onBlocked` lets the UI offer an unmute button.
 * @param {HTMLVideoElement} video
 * @param {() => void} onBlocked
 */
export function playRemote(video, onBlocked) {
  video.play().catch((err) => {
    if (err && err.name === 'NotAllowedError' && !video.muted) {
      video.muted = true;
      onBlocked();
      video.play().catch(() => {});
    }
  });
}

/**
 * The candidate types of a connection's selected pair: the transport's selected pair,
 * else a nominated succeeded (or `selected`) one.
 * @param {Map<string, any>} byId a getStats report by id
 * @param {string | null} selectedPairId the transport's `selectedCandidatePairId`
 * @returns {{localCandidateType: string | null, remoteCandidateType: string | null}}
 */
export function pairTypes(byId, selectedPairId) {
  let pair = selectedPairId ? byId.get(selectedPairId) : undefined;
  if (!pair) {
    for (const s of byId.values()) {
      if (s.type === 'candidate-pair' && ((s.state === 'succeeded' && s.nominated) || s.selected)) {
        pair = s;
        break;
      }
    }
  }
  return {
    localCandidateType: pair ? byId.get(pair.localCandidateId)?.candidateType ?? null : null,
    remoteCandidateType: pair ? byId.get(pair.remoteCandidateId)?.candidateType ?? null : null,
  };
}

/**
 * The session id of an SDP's `o=` line, or null.
 * @param {string} sdp
 * @returns {string | null}
 */
export function sessionIdOf(sdp) {
  const m = /^o=\S+ (\S+) /m.exec(sdp);
  return m ? m[1] : null;
}

/**
 * Whether an SDP describes data channels only (no audio or video section): a peer
 * opening the connection for files in a call through the router (`dataOnly`).
 * @param {string} sdp
 */
export function isDataOnly(sdp) {
  return /^m=application /m.test(sdp) && !/^m=(audio|video) /m.test(sdp);
}
