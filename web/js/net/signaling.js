// `Signaling`: a small client of the confab signaling protocol over a WebSocket-like
// object (hello, requests with ids and timeouts, pings, typed events). It never touches
// the DOM, so node's test runner drives it with a fake socket (web/test/signaling.test.js).
// The messages themselves are built and checked in protocol.js.

import {
  CloseCode,
  PING_INTERVAL_MS,
  ProtocolError,
  REQUEST_TIMEOUT_MS,
  accept,
  answer,
  cancelInvite,
  candidate,
  chat,
  decline,
  describeClose,
  describeServerError,
  hangup,
  hello,
  invite,
  join,
  joinCall,
  leave,
  leaveCall,
  media,
  callStats,
  offer,
  parseServerMessage,
  ping,
  sfuAnswer,
  sfuView,
  react,
  rename,
  sfuOffer,
  toIceCandidate,
} from './protocol.js';

/**
 * @import {
 *   Text, CallJoinedMsg, ChatMessage, ClientMsg, ErrorMsg, InviteEndedMsg, InvitedMsg,
 *   InvitingMsg, JoinedMsg, LeftMsg, PeerJoinedMsg, PeerLeftMsg, PongMsg, PresenceMsg,
 *   RemoteAnswerMsg, RemoteCandidateMsg, RemoteChatMsg, RemoteHangupMsg, RemoteOfferMsg,
 *   RequestId, ServerMsg, WelcomeMsg, IceServersMsg
 * } from './protocol.js'
 */

// ---------------------------------------------------------------------------------------
// Signaling client

/**
 * The parts of the browser `WebSocket` that `Signaling` uses, so tests can pass a fake.
 * @typedef {object} SocketLike
 * @property {number} readyState 0 connecting, 1 open, 2 closing, 3 closed
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {(type: string, listener: (ev: any) => void) => void} addEventListener
 */

/**
 * Timer functions, injectable for tests.
 * @typedef {object} Timers
 * @property {(fn: () => void, ms: number) => unknown} setInterval
 * @property {(handle: any) => void} clearInterval
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(handle: any) => void} clearTimeout
 */

/**
 * @typedef {object} SignalingOptions
 * @property {Partial<Timers>} [timers]
 * @property {number} [pingIntervalMs]
 * @property {number} [requestTimeoutMs]
 * @property {string} [resume] the `resumeToken` of an earlier welcome, sent in `hello`
 *   to get that identity back (see reconnect.js)
 */

/**
 * How the connection ended.
 * @typedef {object} CloseInfo
 * @property {number} code
 * @property {string} reason
 * @property {boolean} wasClean
 * @property {boolean} expected true when this side called `close()`
 * @property {boolean} everOpened whether the socket ever opened
 */

/**
 * Events `Signaling` dispatches, by name.
 * @typedef {object} SignalingEvents
 * @property {WelcomeMsg} welcome
 * @property {IceServersMsg} iceServers TURN credentials, for members (before `joined`)
 * @property {JoinedMsg} joined
 * @property {LeftMsg} left
 * @property {PeerJoinedMsg} peerJoined
 * @property {PeerLeftMsg} peerLeft
 * @property {RemoteOfferMsg} offer
 * @property {RemoteAnswerMsg} answer
 * @property {RemoteCandidateMsg} candidate
 * @property {RemoteHangupMsg} hangup
 * @property {RemoteChatMsg} chat every chat message in the room, own ones included
 * @property {PresenceMsg} presence
 * @property {InvitedMsg} invited
 * @property {InvitingMsg} inviting
 * @property {InviteEndedMsg} inviteEnded
 * @property {CallJoinedMsg} callJoined
 * @property {import('./protocol.js').CallModeMsg} callMode our call moved to the media router
 * @property {import('./protocol.js').RemoteSfuOfferMsg} sfuOffer the media router offers tracks
 * @property {import('./protocol.js').RemoteSfuAnswerMsg} sfuAnswer the media router's answer
 * @property {import('./protocol.js').ActiveSpeakersMsg} activeSpeakers who is talking in our
 *   call on the media router
 * @property {import('./protocol.js').LayersMsg} layers the layer of each track the router sends us
 * @property {import('./protocol.js').KickedMsg} kicked a host removed us from the room
 * @property {import('./protocol.js').MuteRequestMsg} muteRequest a host asks us to mute
 * @property {import('./protocol.js').RoomLockedMsg} roomLocked
 * @property {import('./protocol.js').RoleChangedMsg} roleChanged
 * @property {import('./protocol.js').RemoteBroadcastMsg} broadcast a host started or stopped
 *   a broadcast
 * @property {import('./protocol.js').ReactedMsg} reacted a member reacted
 * @property {import('./protocol.js').RenamedMsg} renamed a member changed its name
 * @property {import('./protocol.js').RemoteWaitingRoomMsg} waitingRoom a host turned the
 *   waiting room on or off
 * @property {import('./protocol.js').WaitingMsg} waiting our `join` waits for a host (the
 *   join's promise settles when a host answers: no time limit meanwhile)
 * @property {import('./protocol.js').KnockingMsg} knocking to hosts: someone waits to join
 * @property {import('./protocol.js').KnockEndedMsg} knockEnded to hosts: someone waits no more
 * @property {import('./protocol.js').RecordingMsg} recording a host started or stopped
 *   recording the room
 * @property {import('./protocol.js').RecordingListMsg} recordings the room's recordings
 *   (the answer to `recordings`)
 * @property {PongMsg} pong
 * @property {ErrorMsg} serverError an `error` that answered no pending request
 * @property {ProtocolError} protocolError the server sent something unreadable
 * @property {CloseInfo} close
 */

/** A failed request: a server `error` reply, a timeout, or a closed connection. */
export class SignalingError extends Error {
  /**
   * @param {string} code a server error code, or 'timeout' / 'closed'
   * @param {string} message the server's message, or for developers (not shown as is)
   * @param {Text} [text] for the person; by default the server error code's words
   */
  constructor(code, message, text) {
    super(message);
    this.name = 'SignalingError';
    /** @type {string} */
    this.code = code;
    /** @type {Text} what to tell the person (a catalog key; the page words it) */
    this.text = text ?? describeServerError({ code, message });
  }
}

/**
 * @typedef {object} Pending
 * @property {string} expect the reply type that resolves it
 * @property {(msg: any) => void} resolve
 * @property {(err: SignalingError) => void} reject
 * @property {unknown} timer
 */

/**
 * The signaling client: says hello when the socket opens, resolves `ready` with the
 * `welcome`, sends keep-alive pings, matches replies to requests by id and dispatches
 * everything else as typed events.
 */
export class Signaling {
  /**
   * @param {SocketLike} socket a WebSocket (or fake), connecting or open
   * @param {SignalingOptions} [options]
   */
  constructor(socket, options = {}) {
    this.socket = socket;
    /** @type {Timers} */
    this.timers = {
      setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
      clearInterval: (h) => globalThis.clearInterval(h),
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h),
      ...options.timers,
    };
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    /** @private */
    this.resume = options.resume;
    /** @type {WelcomeMsg | null} */
    this.welcome = null;
    /** @type {boolean} */
    this.closed = false;
    /** @private */
    this.nextId = 1;
    /** @private @type {Map<RequestId, Pending>} */
    this.pending = new Map();
    /** @private @type {Map<string, Set<(ev: any) => void>>} */
    this.listeners = new Map();
    /** @private @type {unknown} */
    this.pingTimer = null;
    /** @private */
    this.closeRequested = false;
    /** @private */
    this.everOpened = false;
    /** @private @type {RequestId | null} */
    this.helloId = null;
    /** Messages received so far, good or bad: what the liveness watch looks at (liveness.js). */
    this.heard = 0;

    /** @private @type {(w: WelcomeMsg) => void} */
    this.resolveReady = () => {};
    /** @private @type {(e: SignalingError) => void} */
    this.rejectReady = () => {};
    /** Resolves with the server's `welcome`; rejects if the connection fails first. */
    this.ready = /** @type {Promise<WelcomeMsg>} */ (
      new Promise((resolve, reject) => {
        this.resolveReady = resolve;
        this.rejectReady = reject;
      })
    );
    // Nobody may be awaiting `ready` yet; a rejection is reported through 'close' too.
    this.ready.catch(() => {});

    socket.addEventListener('open', () => this.onOpen());
    socket.addEventListener('message', (ev) => this.onMessage(ev.data));
    socket.addEventListener('close', (ev) =>
      this.onClose(typeof ev?.code === 'number' ? ev.code : 1006, String(ev?.reason ?? ''), Boolean(ev?.wasClean)),
    );
    // An 'error' event is always followed by 'close', which does the reporting.
    socket.addEventListener('error', () => {});
    if (socket.readyState === 1) this.onOpen();
  }

  /**
   * Subscribes to an event. Returns a function that unsubscribes.
   * @template {keyof SignalingEvents} K
   * @param {K} type
   * @param {(ev: SignalingEvents[K]) => void} listener
   * @returns {() => void}
   */
  on(type, listener) {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @private
   * @template {keyof SignalingEvents} K
   * @param {K} type
   * @param {SignalingEvents[K]} ev
   */
  emit(type, ev) {
    for (const fn of [...(this.listeners.get(type) ?? [])]) {
      try {
        fn(ev);
      } catch (err) {
        console.error(`confab: ${type} listener failed`, err);
      }
    }
  }

  /** @private */
  onOpen() {
    if (this.everOpened) return;
    this.everOpened = true;
    this.helloId = this.takeId();
    this.send(hello(this.helloId, undefined, this.resume));
    this.pingTimer = this.timers.setInterval(() => {
      this.ping().catch(() => {});
    }, this.pingIntervalMs);
  }

  /**
   * @private
   * @param {unknown} data
   */
  onMessage(data) {
    this.heard++;
    /** @type {ServerMsg} */
    let msg;
    try {
      msg = parseServerMessage(data);
    } catch (err) {
      this.emit('protocolError', err instanceof ProtocolError ? err : new ProtocolError(String(err)));
      return;
    }
    if (msg.type === 'welcome') {
      if (this.welcome) return;
      this.welcome = msg;
      this.resolveReady(msg);
      this.emit('welcome', msg);
      return;
    }
    if (msg.type === 'error') {
      if (msg.ref !== undefined && msg.ref === this.helloId && !this.welcome) {
        this.rejectReady(new SignalingError(msg.code, msg.message));
        return;
      }
      const p = msg.ref !== undefined ? this.pending.get(msg.ref) : undefined;
      if (p && msg.ref !== undefined) {
        this.settle(msg.ref);
        p.reject(new SignalingError(msg.code, msg.message));
      } else {
        this.emit('serverError', msg);
      }
      return;
    }
    if (msg.type === 'waiting' && msg.ref !== undefined) {
      // A host answers in their own time: the join keeps waiting, without a deadline.
      const p = this.pending.get(msg.ref);
      if (p) this.timers.clearTimeout(p.timer);
    }
    if (
      (msg.type === 'joined' || msg.type === 'left' || msg.type === 'pong' || msg.type === 'chat' ||
        msg.type === 'renamed') &&
      msg.ref !== undefined
    ) {
      const p = this.pending.get(msg.ref);
      if (p && p.expect === msg.type) {
        this.settle(msg.ref);
        p.resolve(msg);
      }
    }
    // Replies are dispatched as events too, after their promise settled.
    this.emit(msg.type, /** @type {any} */ (msg));
  }

  /**
   * @private
   * @param {number} code
   * @param {string} reason
   * @param {boolean} wasClean
   */
  onClose(code, reason, wasClean) {
    if (this.closed) return;
    this.closed = true;
    this.stopPing();
    const why = describeClose(code) ?? { key: 'close.closed' };
    const message = `closed (${code}${reason ? ` ${reason}` : ''})`;
    if (!this.welcome) {
      this.rejectReady(
        this.everOpened
          ? new SignalingError('closed', message, why)
          : new SignalingError('closed', `could not connect (${code})`, { key: 'close.could_not_connect' }),
      );
    }
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(new SignalingError('closed', message, why));
    }
    this.emit('close', { code, reason, wasClean, expected: this.closeRequested, everOpened: this.everOpened });
  }

  /** @private */
  stopPing() {
    if (this.pingTimer !== null) {
      this.timers.clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }

  /**
   * @private
   * @returns {number}
   */
  takeId() {
    return this.nextId++;
  }

  /**
   * @private
   * @param {RequestId} id
   */
  settle(id) {
    const p = this.pending.get(id);
    if (p) {
      this.timers.clearTimeout(p.timer);
      this.pending.delete(id);
    }
  }

  /**
   * Sends one message if the socket is open. Returns whether it was sent.
   * @param {ClientMsg} msg
   * @returns {boolean}
   */
  send(msg) {
    if (this.closed || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(msg));
    return true;
  }

  /**
   * @private
   * @template {'joined' | 'left' | 'pong' | 'chat' | 'renamed'} T
   * @param {T} expect
   * @param {(id: number) => ClientMsg} build
   * @returns {Promise<Extract<ServerMsg, {type: T}>>}
   */
  request(expect, build) {
    if (this.closed || this.socket.readyState !== 1) {
      return Promise.reject(new SignalingError('closed', 'not connected', { key: 'close.not_connected' }));
    }
    const id = this.takeId();
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalingError('timeout', 'no answer in time', { key: 'close.no_answer' }));
      }, this.requestTimeoutMs);
      this.pending.set(id, { expect, resolve, reject, timer });
      this.send(build(id));
    });
  }

  /**
   * Joins a room, with its password or a join token when it needs one; resolves with
   * the `joined` snapshot.
   * @param {string} room
   * @param {string} name
   * @param {{password?: string, token?: string}} [credentials]
   * @returns {Promise<JoinedMsg>}
   */
  join(room, name, credentials = {}) {
    return this.request('joined', (id) => join(room, name, id, credentials));
  }

  /**
   * Leaves the current room; resolves with `left`.
   * @returns {Promise<LeftMsg>}
   */
  leave() {
    return this.request('left', (id) => leave(id));
  }

  /**
   * Sends a keep-alive; resolves with the `pong`.
   * @returns {Promise<PongMsg>}
   */
  ping() {
    return this.request('pong', (id) => ping(id));
  }

  /**
   * Sends a chat message (trimmed). Returns the request id, which comes back as `ref` on
   * this connection's copy of the message (also dispatched as a 'chat' event, before
   * `reply` settles), or null when not connected; and `reply`, which resolves with the
   * stored message or rejects with a SignalingError (`bad_text`, `rate_limited`,
   * `not_joined`, 'timeout' or 'closed'). `key`: ours for this message; sent again with
   * the same key, it is delivered once.
   * @param {string} text
   * @param {string} [key]
   * @returns {{id: number | null, reply: Promise<ChatMessage>}}
   */
  sendChat(text, key) {
    /** @type {number | null} */
    let id = null;
    const reply = this.request('chat', (n) => {
      id = n;
      return chat(text, n, key);
    }).then((m) => m.message);
    return { id, reply };
  }

  /** @param {string} to @param {string} sdp */
  sendOffer(to, sdp) {
    return this.send(offer(to, sdp));
  }

  /** An offer for the media router (SFU calls). @param {string} sdp */
  sendSfuOffer(sdp) {
    return this.send(sfuOffer(sdp));
  }

  /** The answer to the media router's offer. @param {string} sdp */
  sendSfuAnswer(sdp) {
    return this.send(sfuAnswer(sdp));
  }

  /**
   * Changes our display name; resolves with the `renamed` confirming it, or rejects with
   * a SignalingError (`bad_name`, `name_fixed`, `rate_limited`, ...).
   * @param {string} name
   */
  rename(name) {
    return this.request('renamed', (id) => rename(name, id));
  }

  /** A reaction for the room. @param {import('./types.js').Reaction} reaction */
  sendReact(reaction) {
    return this.send(react(reaction));
  }

  /** How we show the router's video tracks. @param {import('./types.js').TrackView[]} tracks */
  sendSfuView(tracks) {
    return this.send(sfuView(tracks));
  }

  /** @param {string} to @param {string} sdp */
  sendAnswer(to, sdp) {
    return this.send(answer(to, sdp));
  }

  /** @param {string} to @param {Parameters<typeof toIceCandidate>[0]} c */
  sendCandidate(to, c) {
    return this.send(candidate(to, c));
  }

  /** @param {string} to */
  sendHangup(to) {
    return this.send(hangup(to));
  }

  // Calls. Fire and forget: the outcome arrives as `inviting`, `callJoined`, `presence`
  // or `inviteEnded` events, and a refusal as a 'serverError' (`busy`, `call_full`, …).

  /** @param {string} to */
  sendInvite(to) {
    return this.send(invite(to, this.takeId()));
  }

  /** @param {string} to */
  sendCancel(to) {
    return this.send(cancelInvite(to, this.takeId()));
  }

  /** @param {number} call */
  sendAccept(call) {
    return this.send(accept(call, this.takeId()));
  }

  /** @param {number} call */
  sendDecline(call) {
    return this.send(decline(call, this.takeId()));
  }

  /** @param {number} call */
  sendJoinCall(call) {
    return this.send(joinCall(call, this.takeId()));
  }

  sendLeaveCall() {
    return this.send(leaveCall(this.takeId()));
  }

  /** @param {boolean} audioMuted @param {boolean} videoMuted @param {boolean} [screen] */
  sendMedia(audioMuted, videoMuted, screen = false) {
    return this.send(media(audioMuted, videoMuted, screen));
  }

  /**
   * @param {string} peer
   * @param {number} setupMs
   * @param {import('./protocol.js').PairType} pair
   */
  sendCallStats(peer, setupMs, pair) {
    return this.send(callStats(peer, setupMs, pair));
  }

  /**
   * Gives up on a connection that stopped answering (liveness.js): closes the socket with
   * `SILENT` (the server holds our place, as for a drop) and reports 'close' at once,
   * not expected, so the reconnector opens another; a dead link would never carry the
   * close handshake the browser waits for.
   * @param {string} reason
   */
  abandon(reason) {
    if (this.closed) return;
    this.closeSocket(CloseCode.SILENT, reason);
    this.onClose(CloseCode.SILENT, reason, false);
  }

  /**
   * Closes the connection on purpose; the 'close' event reports `expected: true`.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = CloseCode.NORMAL, reason = '') {
    this.closeRequested = true;
    this.stopPing();
    this.closeSocket(code, reason);
  }

  /**
   * Closes the socket if it is connecting or open; a code or reason the browser refuses
   * (a reason over 123 bytes) closes it without them.
   * @private
   * @param {number} code
   * @param {string} reason
   */
  closeSocket(code, reason) {
    if (this.socket.readyState !== 0 && this.socket.readyState !== 1) return;
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.close();
    }
  }
}
