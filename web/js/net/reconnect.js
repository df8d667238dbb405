// Reconnecting the signaling connection: exponential backoff with jitter, and the resume
// token that gets the same identity back (docs/protocol.md, "Reconnecting"). No DOM, so
// node's test runner drives it with fake sockets and timers (web/test/reconnect.test.js).
//
// Outgoing signaling while disconnected is dropped, not queued: `Signaling.send` returns
// false on a closed socket. SDP and ICE in flight can be lost that way; the peer
// connections recover with an ICE restart once signaling is back (see call.js), and
// anything stateful (room, call) is re-established from the server's snapshot.

import { CloseCode } from './protocol.js';
import { watchLiveness } from './liveness.js';

/** @typedef {import('./signaling.js').Signaling} Signaling */
/** @typedef {import('./signaling.js').CloseInfo} CloseInfo */
/** @typedef {import('./protocol.js').WelcomeMsg} WelcomeMsg */

/** First retry delay; it doubles per failed attempt up to `MAX_DELAY_MS`. */
export const BASE_DELAY_MS = 500;
/** Longest wait between attempts. */
export const MAX_DELAY_MS = 10_000;

/**
 * The wait before reconnect attempt `attempt` (0 for the first): 0.5 s doubling to 10 s,
 * times a random factor in [0.5, 1) so that clients dropped together (a server restart)
 * do not come back in lockstep.
 * @param {number} attempt
 * @param {() => number} [random] uniform in [0, 1)
 * @returns {number}
 */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * Whether a closed connection should be reconnected: not after our own `close()` (a
 * deliberate leave), not after an unsupported version (4000: reconnecting cannot help)
 * and not after 4004 (another connection took this identity over).
 * @param {CloseInfo} info
 * @returns {boolean}
 */
export function shouldReconnect(info) {
  if (info.expected) return false;
  return info.code !== CloseCode.UNSUPPORTED_VERSION && info.code !== CloseCode.REPLACED;
}

/**
 * @typedef {object} ReconnectorOptions
 * @property {(resume: string | undefined) => Signaling} open a new connection whose
 *   `hello` carries `resume` (the last resume token, if any)
 * @property {(sig: Signaling) => void} onOpen a replacement connection exists (wire its
 *   events now, before any arrive)
 * @property {(sig: Signaling, welcome: WelcomeMsg) => void} onReady it said welcome;
 *   `welcome.resumed` tells whether the identity (and room) came back
 * @property {(delayMs: number, attempt: number) => void} [onWaiting] the connection is
 *   down; the next attempt is in `delayMs`
 * @property {(info: CloseInfo) => void} [onGiveUp] a close that must not be retried
 * @property {ReconnectTimers} [timers]
 * @property {() => number} [now] ms, monotonic (the liveness watch's clock)
 * @property {() => number} [random]
 */

/**
 * @typedef {object} ReconnectTimers
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(h: any) => void} clearTimeout
 * @property {(fn: () => void, ms: number) => unknown} setInterval
 * @property {(h: any) => void} clearInterval
 */

/**
 * Keeps one signaling connection alive: when it drops (and `shouldReconnect`), opens a
 * new one after `backoffDelay`, presenting the last resume token; repeats until a
 * `welcome` arrives, then starts counting from the first delay again.
 */
export class Reconnector {
  /** @param {ReconnectorOptions} opts */
  constructor(opts) {
    this.opts = opts;
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h),
      setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
      clearInterval: (h) => globalThis.clearInterval(h),
    };
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    /** The resume token of the last welcome. Secret: never logged. @type {string | undefined} */
    this.token = undefined;
    /** Failed attempts since the last welcome. */
    this.attempt = 0;
    /** Replacement connections opened so far (for tests and the debug handle). */
    this.reconnects = 0;
    /** @type {Signaling | null} */
    this.current = null;
    this.stopped = false;
    /** @private @type {unknown} */
    this.timer = null;
  }

  /**
   * Watches `sig` (the first connection, or a replacement): reconnects when it drops,
   * and gives it up when it goes silent (liveness.js).
   * @param {Signaling} sig
   */
  watch(sig) {
    this.current = sig;
    watchLiveness(sig, this.timers, this.now);
    sig.on('welcome', (w) => {
      if (this.current !== sig) return;
      if (w.resumeToken !== undefined) this.token = w.resumeToken;
      this.attempt = 0;
    });
    sig.on('close', (info) => {
      if (this.current !== sig || this.stopped) return;
      if (!shouldReconnect(info)) {
        this.opts.onGiveUp?.(info);
        return;
      }
      this.schedule();
    });
  }

  /** Whether we are between connections (the last one dropped, a new one not ready). */
  get waiting() {
    return this.timer !== null;
  }

  /** @private */
  schedule() {
    if (this.timer !== null || this.stopped) return;
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt++;
    this.opts.onWaiting?.(delay, this.attempt);
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.reconnects++;
      /** @type {Signaling} */
      let sig;
      try {
        sig = this.opts.open(this.token);
      } catch {
        this.schedule(); // e.g. the WebSocket constructor refused; try again later
        return;
      }
      this.watch(sig);
      this.opts.onOpen(sig);
      sig.ready.then(
        (w) => {
          if (this.current === sig && !this.stopped) this.opts.onReady(sig, w);
        },
        () => {}, // the 'close' handler schedules the next attempt
      );
    }, delay);
  }

  /** A deliberate leave: never reconnect again. */
  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.current = null;
  }
}
