// Noticing a signaling connection that went silent. A link that dies without a word (a
// cable out, a Wi-Fi that stops forwarding) leaves the WebSocket open: its TCP retries
// with a doubling backoff, and once the link is back the next retry can be 10 s or more
// away, while a call's new offer waits behind it. The server answers our `ping` every
// 5 s, so hearing nothing for SILENT_MS means the link is gone: the connection is given
// up (`Signaling.abandon`) and the reconnector opens a fresh one, whose SYNs go out at
// once and which resumes our place (docs/protocol.md, "Liveness"). No DOM; tested in
// web/test/liveness.test.js.

/** Nothing heard from the server for this long, pings going every 5 s: the link is gone. */
export const SILENT_MS = 12_000;
/** A connection without `welcome` this long after it was made is given up. */
export const CONNECT_MS = 8_000;
/** How often the watch looks. */
export const CHECK_MS = 1_000;
/**
 * A look later than this after the previous one means the page itself did not run (a
 * starved machine, a throttled tab); that time is not counted as silence, since the
 * server's answers may be waiting in the page's own queue.
 */
export const STARVED_MS = 3 * CHECK_MS;

/** Silence counted over the time the page ran. Pure: time and messages are inputs. */
export class Silence {
  /** @param {number} now ms */
  constructor(now) {
    /** @private */
    this.last = now;
    /** @private */
    this.heard = 0;
    /** @private */
    this.silent = 0;
  }

  /**
   * A look at `now`, when `heard` messages have arrived in all; returns how long the
   * connection has been silent (ms), not counting time the page did not run.
   * @param {number} now
   * @param {number} heard
   * @returns {number}
   */
  check(now, heard) {
    const gap = now - this.last;
    this.last = now;
    if (heard !== this.heard) {
      this.heard = heard;
      this.silent = 0;
    } else if (gap <= STARVED_MS) {
      this.silent += gap;
    }
    return this.silent;
  }
}

/**
 * @typedef {object} LivenessTimers
 * @property {(fn: () => void, ms: number) => unknown} setInterval
 * @property {(handle: any) => void} clearInterval
 */

/**
 * Watches `sig` until it closes: abandons it after CONNECT_MS without a `welcome`, or
 * SILENT_MS without a message after it.
 * @param {import('./signaling.js').Signaling} sig
 * @param {LivenessTimers} timers
 * @param {() => number} now ms, monotonic
 */
export function watchLiveness(sig, timers, now) {
  const silence = new Silence(now());
  const handle = timers.setInterval(() => {
    if (sig.closed) {
      timers.clearInterval(handle);
      return;
    }
    const quiet = silence.check(now(), sig.heard);
    const limit = sig.welcome ? SILENT_MS : CONNECT_MS;
    if (quiet >= limit) {
      timers.clearInterval(handle);
      sig.abandon(sig.welcome ? `nothing heard for ${quiet} ms` : `no welcome in ${quiet} ms`);
    }
  }, CHECK_MS);
}
