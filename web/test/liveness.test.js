// Drives web/js/net/liveness.js: silence counted over the time the page ran, and a
// silent or never-welcomed connection given up and replaced through the Reconnector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Signaling } from '../js/net/signaling.js';
import { Reconnector } from '../js/net/reconnect.js';
import { CHECK_MS, CONNECT_MS, SILENT_MS, Silence } from '../js/net/liveness.js';
import { CloseCode } from '../js/net/protocol.js';
import { FakeSocket, FakeTimers } from './support/fakes.js';

const WELCOME = { type: 'welcome', version: 1, peerId: 'p1', iceServers: [], resumeToken: 'tok-1' };

test('silence grows while nothing is heard, and a message resets it', () => {
  const s = new Silence(0);
  assert.equal(s.check(1000, 0), 1000);
  assert.equal(s.check(2000, 0), 2000);
  assert.equal(s.check(3000, 1), 0, 'a message arrived');
  assert.equal(s.check(4000, 1), 1000);
});

test('time in which the page did not run is not counted as silence', () => {
  const s = new Silence(0);
  assert.equal(s.check(1000, 0), 1000);
  // The page was starved for 20 s: the pongs may sit in its own queue.
  assert.equal(s.check(21_000, 0), 1000);
  assert.equal(s.check(22_000, 0), 2000);
});

/** @param {FakeSocket} s (a function, so the check above does not narrow it to null) */
const closedCode = (s) => s.closedWith?.code;

function setup() {
  const timers = new FakeTimers();
  const sockets = [new FakeSocket()];
  /** @type {number[]} */
  const waits = [];
  const r = new Reconnector({
    open: (resume) => {
      const s = new FakeSocket();
      sockets.push(s);
      return new Signaling(s, { timers, resume });
    },
    onOpen: () => {},
    onReady: () => {},
    onWaiting: (ms) => waits.push(ms),
    timers,
    now: () => timers.now,
    random: () => 0.5,
  });
  r.watch(new Signaling(sockets[0], { timers }));
  return { timers, sockets, waits };
}

test('a connection that answers its pings is kept, however long', () => {
  const { timers, sockets, waits } = setup();
  sockets[0].open();
  sockets[0].receive(WELCOME);
  for (let i = 0; i < 120; i++) {
    timers.tick(1000);
    const ping = sockets[0].last();
    if (ping.type === 'ping' && !ping.answered) {
      ping.answered = true;
      sockets[0].receive({ type: 'pong', ref: ping.id });
    }
  }
  assert.equal(sockets[0].closedWith, null);
  assert.deepEqual(waits, []);
});

test('a connection that goes silent is given up with 4010 and replaced', () => {
  const { timers, sockets, waits } = setup();
  sockets[0].open();
  sockets[0].receive(WELCOME);
  timers.tick(SILENT_MS - 1000);
  assert.equal(sockets[0].closedWith, null, 'not before SILENT_MS');
  timers.tick(CHECK_MS * 2); // the watch looks once a second
  assert.equal(closedCode(sockets[0]), CloseCode.SILENT);
  assert.deepEqual(waits, [375], 'the reconnector took over at once');
  timers.tick(375);
  assert.equal(sockets.length, 2, 'a new connection');
});

test('a connection that never says welcome is given up after CONNECT_MS', () => {
  const { timers, sockets, waits } = setup();
  timers.tick(CONNECT_MS - 1000);
  assert.equal(sockets[0].closedWith, null);
  timers.tick(CHECK_MS);
  assert.equal(closedCode(sockets[0]), CloseCode.SILENT);
  assert.equal(waits.length, 1);
});
