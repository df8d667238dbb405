// Drives web/js/reconnect.js: backoff, resume tokens, when not to reconnect, with fake
// sockets and timers, through the real Signaling client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Signaling } from '../js/net/signaling.js';
import { FakeSocket, FakeTimers } from './support/fakes.js';
import { Reconnector, backoffDelay, shouldReconnect, BASE_DELAY_MS, MAX_DELAY_MS } from '../js/net/reconnect.js';

const flush = () => new Promise((r) => setImmediate(r));

/** @param {string} peerId @param {string} resumeToken @param {boolean} [resumed] */
const welcome = (peerId, resumeToken, resumed = false) =>
  ({ type: 'welcome', version: 1, peerId, iceServers: [], resumeToken, ...(resumed ? { resumed } : {}) });

/**
 * A Reconnector over fake sockets; `sockets` lists every socket opened, first included.
 * @param {{random?: () => number}} [opts]
 */
function setup({ random = () => 0.5 } = {}) {
  const timers = new FakeTimers();
  const sockets = [new FakeSocket()];
  /** @type {(string | undefined)[]} */
  const opened = [];
  /** @type {import('../js/net/protocol.js').WelcomeMsg[]} */
  const ready = [];
  /** @type {[number, number][]} */
  const waits = [];
  /** @type {number[]} */
  const gaveUp = [];
  const first = new Signaling(sockets[0], { timers });
  const r = new Reconnector({
    open: (resume) => {
      const s = new FakeSocket();
      sockets.push(s);
      opened.push(resume);
      return new Signaling(s, { timers, resume });
    },
    onOpen: () => {},
    onReady: (sig, w) => ready.push(w),
    onWaiting: (ms, n) => waits.push([ms, n]),
    onGiveUp: (info) => gaveUp.push(info.code),
    timers,
    random,
  });
  r.watch(first);
  return { timers, sockets, opened, ready, waits, gaveUp, r, first };
}

test('backoff doubles from 0.5 s to at most 10 s, with jitter in [0.5, 1)', () => {
  const top = (/** @type {number} */ n) => backoffDelay(n, () => 0.999999);
  const bottom = (/** @type {number} */ n) => backoffDelay(n, () => 0);
  assert.equal(bottom(0), BASE_DELAY_MS / 2);
  assert.equal(top(0), BASE_DELAY_MS);
  assert.equal(top(1), 1000);
  assert.equal(top(2), 2000);
  assert.equal(top(4), 8000);
  assert.equal(top(5), MAX_DELAY_MS);
  assert.equal(top(60), MAX_DELAY_MS);
  assert.equal(bottom(60), MAX_DELAY_MS / 2);
});

test('a dropped connection reconnects after the backoff and presents the resume token', async () => {
  const t = setup();
  t.sockets[0].open();
  assert.equal(t.sockets[0].sent[0].resume, undefined, 'first hello has no token');
  t.sockets[0].receive(welcome('p1', 'tok-1'));
  t.sockets[0].serverClose(1006);
  assert.deepEqual(t.waits, [[375, 1]]);
  t.timers.tick(374);
  assert.equal(t.sockets.length, 1, 'not before the delay');
  t.timers.tick(1);
  assert.equal(t.sockets.length, 2);
  assert.deepEqual(t.opened, ['tok-1']);
  t.sockets[1].open();
  assert.equal(t.sockets[1].sent[0].type, 'hello');
  assert.equal(t.sockets[1].sent[0].resume, 'tok-1');
  t.sockets[1].receive(welcome('p1', 'tok-2', true));
  await flush();
  assert.equal(t.ready.length, 1);
  assert.equal(t.ready[0].resumed, true);
  // The next drop uses the new (single-use) token and starts from the first delay.
  t.sockets[1].serverClose(1006);
  t.timers.tick(375);
  assert.deepEqual(t.opened, ['tok-1', 'tok-2']);
  assert.deepEqual(t.waits.map((w) => w[1]), [1, 1]);
});

test('failed attempts back off further until a welcome', async () => {
  const t = setup({ random: () => 0.999999 });
  t.sockets[0].open();
  t.sockets[0].receive(welcome('p1', 'tok-1'));
  t.sockets[0].serverClose(1006);
  for (let i = 0; i < 6; i++) {
    t.timers.tick(MAX_DELAY_MS);
    t.sockets[t.sockets.length - 1].serverClose(1006); // the server is still down
    await flush();
  }
  assert.deepEqual(
    t.waits.map((w) => w[0]),
    [500, 1000, 2000, 4000, 8000, 10000, 10000],
  );
  assert.ok(t.opened.every((tok) => tok === 'tok-1'), 'the token is kept until a welcome');
  // The server is back: fresh identity (it restarted), a new token, and the count resets.
  t.timers.tick(MAX_DELAY_MS);
  const s = t.sockets[t.sockets.length - 1];
  s.open();
  s.receive(welcome('p9', 'tok-9'));
  await flush();
  assert.equal(t.ready.at(-1)?.peerId, 'p9');
  assert.equal(t.ready.at(-1)?.resumed, undefined);
  s.serverClose(1006);
  assert.equal(t.waits.at(-1)?.[0], 500);
  t.timers.tick(500);
  assert.equal(t.opened.at(-1), 'tok-9');
});

test('never reconnects after a deliberate close, version 4000 or replaced 4004', () => {
  assert.equal(shouldReconnect({ code: 1006, reason: '', wasClean: false, expected: false, everOpened: true }), true);
  assert.equal(shouldReconnect({ code: 1001, reason: '', wasClean: true, expected: false, everOpened: true }), true);
  assert.equal(shouldReconnect({ code: 1000, reason: '', wasClean: true, expected: true, everOpened: true }), false);
  assert.equal(shouldReconnect({ code: 4000, reason: '', wasClean: true, expected: false, everOpened: true }), false);
  assert.equal(shouldReconnect({ code: 4004, reason: '', wasClean: true, expected: false, everOpened: true }), false);

  const t = setup();
  t.sockets[0].open();
  t.sockets[0].serverClose(4000);
  t.timers.tick(60_000);
  assert.equal(t.sockets.length, 1);
  assert.deepEqual(t.gaveUp, [4000]);

  const u = setup();
  u.sockets[0].open();
  u.first.close();
  u.sockets[0].serverClose(1000, '', true);
  u.timers.tick(60_000);
  assert.equal(u.sockets.length, 1, 'our own close is a leave');

  const v = setup();
  v.sockets[0].open();
  v.sockets[0].serverClose(1006);
  v.r.stop(); // left while waiting
  v.timers.tick(60_000);
  assert.equal(v.sockets.length, 1);
});
