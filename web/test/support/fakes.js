// Test doubles shared by the Signaling and Reconnector tests: a WebSocket stand-in and
// fake timers the test advances by hand.
import assert from 'node:assert/strict';

/** A WebSocket stand-in: records what is sent, lets the test deliver events. */
export class FakeSocket {
  constructor() {
    this.readyState = 0;
    /** @type {any[]} */
    this.sent = [];
    /** @type {Map<string, Function[]>} */
    this.listeners = new Map();
    /** @type {{code?: number, reason?: string} | null} */
    this.closedWith = null;
  }
  /** @param {string} type @param {Function} fn */
  addEventListener(type, fn) {
    const list = this.listeners.get(type) ?? [];
    list.push(fn);
    this.listeners.set(type, list);
  }
  /** @param {string} type @param {object} [ev] */
  dispatch(type, ev = {}) {
    for (const fn of this.listeners.get(type) ?? []) fn(ev);
  }
  /** @param {unknown} data */
  send(data) {
    assert.equal(this.readyState, 1, 'send only on an open socket');
    assert.equal(typeof data, 'string');
    this.sent.push(JSON.parse(/** @type {string} */ (data)));
  }
  /** @param {number} [code] @param {string} [reason] */
  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }
  // Test side:
  open() {
    this.readyState = 1;
    this.dispatch('open');
  }
  /** @param {unknown} msg a server message, or a raw text frame */
  receive(msg) {
    this.dispatch('message', { data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
  serverClose(code = 1006, reason = '', wasClean = false) {
    this.readyState = 3;
    this.dispatch('close', { code, reason, wasClean });
  }
  last() {
    return this.sent[this.sent.length - 1];
  }
}

/** Manual timers: `tick(ms)` advances time and runs what is due. */
export class FakeTimers {
  constructor() {
    this.now = 0;
    this.nextHandle = 1;
    /** @type {Map<number, {at: number, every: number | null, fn: () => void}>} */
    this.jobs = new Map();
    this.setInterval = (/** @type {() => void} */ fn, /** @type {number} */ ms) => this.add(fn, ms, ms);
    this.setTimeout = (/** @type {() => void} */ fn, /** @type {number} */ ms) => this.add(fn, ms, null);
    this.clearInterval = (/** @type {number} */ h) => this.jobs.delete(h);
    this.clearTimeout = (/** @type {number} */ h) => this.jobs.delete(h);
  }
  /** @param {() => void} fn @param {number} ms @param {number | null} every */
  add(fn, ms, every) {
    const h = this.nextHandle++;
    this.jobs.set(h, { at: this.now + ms, every, fn });
    return h;
  }
  /** @param {number} ms */
  tick(ms) {
    const end = this.now + ms;
    for (;;) {
      /** @type {[number, {at: number, every: number | null, fn: () => void}] | null} */
      let due = null;
      for (const [h, j] of this.jobs) if (j.at <= end && (!due || j.at < due[1].at)) due = [h, j];
      if (!due) break;
      const [h, j] = due;
      this.now = j.at;
      if (j.every !== null) j.at += j.every;
      else this.jobs.delete(h);
      j.fn();
    }
    this.now = end;
  }
  get pending() {
    return this.jobs.size;
  }
}
