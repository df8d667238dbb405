// Drives web/js/protocol.js's Signaling with a fake WebSocket and fake timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PING_INTERVAL_MS } from '../js/net/protocol.js';
import { Signaling, SignalingError } from '../js/net/signaling.js';
import { FakeSocket, FakeTimers } from './support/fakes.js';

const WELCOME = { type: 'welcome', version: 1, peerId: 'me1', iceServers: [{ urls: ['stun:127.0.0.1:3478'] }] };

function setup() {
  const socket = new FakeSocket();
  const timers = new FakeTimers();
  const sig = new Signaling(socket, { timers });
  /** @type {Record<string, any[]>} */
  const events = {};
  for (const type of ['welcome', 'joined', 'left', 'peerJoined', 'peerLeft', 'offer', 'answer', 'candidate', 'hangup', 'chat', 'pong', 'serverError', 'protocolError', 'close',
    'presence', 'invited', 'inviting', 'inviteEnded', 'callJoined']) {
    events[type] = [];
    sig.on(/** @type {any} */ (type), (ev) => events[type].push(ev));
  }
  return { socket, timers, sig, events };
}

/** Lets promise callbacks run. */
const flush = () => new Promise((r) => setImmediate(r));

test('sends hello with the protocol version on open, and resolves ready on welcome', async () => {
  const { socket, sig, events } = setup();
  assert.equal(socket.sent.length, 0, 'nothing before open');
  socket.open();
  assert.equal(socket.sent.length, 1);
  assert.equal(socket.sent[0].type, 'hello');
  assert.equal(socket.sent[0].version, 1);
  socket.receive(WELCOME);
  const welcome = await sig.ready;
  assert.deepEqual(welcome, WELCOME);
  assert.deepEqual(events.welcome, [WELCOME]);
  assert.equal(sig.welcome?.peerId, 'me1');
});

test('says hello at once when given an already open socket', () => {
  const socket = new FakeSocket();
  socket.readyState = 1;
  new Signaling(socket, { timers: new FakeTimers() });
  assert.equal(socket.sent[0]?.type, 'hello');
});

test('join resolves with the joined snapshot matched by request id', async () => {
  const { socket, sig, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  await sig.ready;
  const p = sig.join('standup', ' Ada ');
  const req = socket.last();
  assert.equal(req.type, 'join');
  assert.equal(req.room, 'standup');
  assert.equal(req.name, 'Ada');
  assert.ok(req.id !== undefined, 'join carries a request id');
  assert.notEqual(req.id, socket.sent[0].id, 'request ids are unique');
  const joined = { type: 'joined', ref: req.id, room: 'standup', you: { id: 'me1', name: 'Ada' }, peers: [{ id: 'k3', name: 'Grace' }] };
  socket.receive(joined);
  const idle = { status: 'idle', audioMuted: false, videoMuted: false };
  assert.deepEqual(await p, {
    ...joined,
    you: { ...joined.you, state: idle },
    peers: [{ id: 'k3', name: 'Grace', state: idle }],
    history: [],
  }, 'a missing history reads as [], a missing state as idle');
  assert.equal(events.joined.length, 1, 'the reply is dispatched as an event too');
});

test('leave resolves with left', async () => {
  const { socket, sig } = setup();
  socket.open();
  socket.receive(WELCOME);
  const p = sig.leave();
  const req = socket.last();
  assert.equal(req.type, 'leave');
  socket.receive({ type: 'left', ref: req.id, room: 'standup' });
  assert.equal((await p).room, 'standup');
});

test('an error reply rejects the request it refers to', async () => {
  const { socket, sig, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  const p = sig.join('standup', 'Ada');
  const req = socket.last();
  socket.receive({ type: 'error', code: 'room_full', message: 'room standup is full', ref: req.id });
  await assert.rejects(p, (err) => err instanceof SignalingError && err.code === 'room_full' && /full/.test(err.message));
  assert.equal(events.serverError.length, 0, 'not also reported as an unsolicited error');
});

test('an error for no pending request is surfaced as serverError', () => {
  const { socket, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  const err = { type: 'error', code: 'unknown_peer', message: 'k3 is not a peer in your room', ref: 5 };
  socket.receive(err);
  socket.receive({ type: 'error', code: 'not_joined', message: 'join first' });
  assert.deepEqual(events.serverError, [err, { type: 'error', code: 'not_joined', message: 'join first' }]);
});

test('a hello error rejects ready', async () => {
  const { socket, sig } = setup();
  socket.open();
  const hello = socket.sent[0];
  socket.receive({ type: 'error', code: 'unsupported_version', message: 'version 1 is not supported', ref: hello.id });
  await assert.rejects(sig.ready, (err) => err instanceof SignalingError && err.code === 'unsupported_version');
});

test('relayed messages are dispatched as typed events', () => {
  const { socket, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  const msgs = [
    { type: 'peerJoined', peer: { id: 'k3', name: 'Grace', state: { status: 'idle', audioMuted: false, videoMuted: false } } },
    { type: 'offer', from: 'k3', sdp: 'v=0\r\n' },
    { type: 'answer', from: 'k3', sdp: 'v=0\r\n' },
    { type: 'candidate', from: 'k3', candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
    { type: 'candidate', from: 'k3', candidate: null },
    { type: 'hangup', from: 'k3' },
    { type: 'peerLeft', peerId: 'k3', reason: 'left' },
  ];
  for (const m of msgs) socket.receive(m);
  assert.deepEqual(events.peerJoined, [msgs[0]]);
  assert.deepEqual(events.offer, [msgs[1]]);
  assert.deepEqual(events.answer, [msgs[2]]);
  assert.deepEqual(events.candidate, [msgs[3], msgs[4]]);
  assert.deepEqual(events.hangup, [msgs[5]]);
  assert.deepEqual(events.peerLeft, [msgs[6]]);
});

test('outgoing relay messages have the protocol shape', () => {
  const { socket, sig } = setup();
  socket.open();
  socket.receive(WELCOME);
  socket.sent.length = 0;
  sig.sendOffer('k3', 'v=0\r\n');
  sig.sendAnswer('k3', 'v=0\r\n');
  sig.sendCandidate('k3', { candidate: 'candidate:x', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null });
  sig.sendCandidate('k3', null);
  sig.sendHangup('k3');
  assert.deepEqual(socket.sent, [
    { type: 'offer', to: 'k3', sdp: 'v=0\r\n' },
    { type: 'answer', to: 'k3', sdp: 'v=0\r\n' },
    { type: 'candidate', to: 'k3', candidate: { candidate: 'candidate:x', sdpMid: '0', sdpMLineIndex: 0 } },
    { type: 'candidate', to: 'k3', candidate: null },
    { type: 'hangup', to: 'k3' },
  ]);
});

test('malformed server messages raise protocolError and do not break the connection', () => {
  const { socket, events } = setup();
  socket.open();
  socket.receive('{"type":');
  socket.receive({ type: 'teleport' });
  socket.receive({ type: 'offer', from: 'k3' });
  assert.equal(events.protocolError.length, 3);
  socket.receive(WELCOME);
  assert.equal(events.welcome.length, 1);
});

test('pings every 5 s with a request id, and stops when closed', async () => {
  const { socket, timers, sig, events } = setup();
  assert.equal(PING_INTERVAL_MS, 5_000);
  socket.open();
  socket.receive(WELCOME);
  const pings = () => socket.sent.filter((m) => m.type === 'ping');
  timers.tick(4_999);
  assert.equal(pings().length, 0);
  timers.tick(1);
  assert.equal(pings().length, 1);
  const first = pings()[0];
  assert.ok(first.id !== undefined, 'ping carries a request id');
  socket.receive({ type: 'pong', ref: first.id });
  assert.equal(events.pong.length, 1);
  timers.tick(5_000);
  timers.tick(5_000);
  assert.equal(pings().length, 3);
  assert.equal(new Set(pings().map((p) => p.id)).size, 3, 'each ping has its own id');
  sig.close();
  assert.deepEqual(socket.closedWith, { code: 1000, reason: '' });
  timers.tick(60_000);
  assert.equal(pings().length, 3, 'no pings after close');
});

test('a request with no reply times out', async () => {
  const { socket, timers, sig } = setup();
  socket.open();
  socket.receive(WELCOME);
  const p = sig.join('standup', 'Ada');
  timers.tick(10_000);
  await assert.rejects(p, (err) => err instanceof SignalingError && err.code === 'timeout');
});

test('an unexpected close rejects pending requests and is reported', async () => {
  const { socket, timers, sig, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  const p = sig.join('standup', 'Ada');
  socket.serverClose(4001, 'idle');
  await assert.rejects(p, (err) => err instanceof SignalingError && err.code === 'closed' && err.text.key === 'close.idle_timeout');
  assert.equal(events.close.length, 1);
  assert.equal(events.close[0].code, 4001);
  assert.equal(events.close[0].expected, false);
  assert.equal(timers.pending, 0, 'ping and request timers are cleared');
  assert.equal(sig.send({ type: 'ping' }), false, 'nothing is sent after close');
});

test('a socket that never opens rejects ready', async () => {
  const { socket, sig, events } = setup();
  socket.dispatch('error', {});
  socket.serverClose(1006);
  await assert.rejects(sig.ready, (err) => err instanceof SignalingError && err.text.key === 'close.could_not_connect');
  assert.equal(events.close[0].everOpened, false);
});

test('closing on purpose is reported as expected', async () => {
  const { socket, sig, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  sig.close();
  socket.serverClose(1000, '', true);
  await flush();
  assert.equal(events.close.length, 1);
  assert.equal(events.close[0].expected, true);
});

test('requests on a closed connection fail at once', async () => {
  const { socket, sig } = setup();
  await assert.rejects(sig.join('standup', 'Ada'), (err) => err instanceof SignalingError && err.code === 'closed');
  socket.open();
  socket.serverClose(1006);
  await assert.rejects(sig.ping(), (err) => err instanceof SignalingError && err.code === 'closed');
});

test('a throwing listener does not stop others', () => {
  const { socket, sig } = setup();
  /** @type {unknown[]} */
  const seen = [];
  const origError = console.error;
  console.error = () => {};
  try {
    sig.on('hangup', () => {
      throw new Error('boom');
    });
    const off = sig.on('hangup', (m) => seen.push(m.from));
    socket.open();
    socket.receive({ type: 'hangup', from: 'a' });
    off();
    socket.receive({ type: 'hangup', from: 'b' });
  } finally {
    console.error = origError;
  }
  assert.deepEqual(seen, ['a']);
});

test('sendChat: the own copy (with ref) resolves the reply, after the chat event', async () => {
  const { socket, sig, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  const { id, reply } = sig.sendChat('  hi all \n');
  const req = socket.last();
  assert.deepEqual(req, { type: 'chat', text: 'hi all', id });
  const message = { id: 7, from: 'me1', name: 'Ada', text: 'hi all', ts: 1767258000123 };
  /** @type {string[]} */
  const order = [];
  sig.on('chat', () => order.push('event'));
  reply.then(() => order.push('reply'));
  socket.receive({ type: 'chat', ref: id, message });
  assert.deepEqual(await reply, message);
  assert.deepEqual(order, ['event', 'reply']);
  assert.deepEqual(events.chat, [{ type: 'chat', ref: id, message }]);
});

test('sendChat: others\' messages are plain events; errors reject the reply', async () => {
  const { socket, sig, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  const message = { id: 8, from: 'k3', name: 'Grace', text: 'yo', ts: 1 };
  socket.receive({ type: 'chat', message });
  assert.deepEqual(events.chat, [{ type: 'chat', message }]);
  const { id, reply } = sig.sendChat('spam');
  socket.receive({ type: 'error', code: 'rate_limited', message: 'too fast', ref: id });
  await assert.rejects(reply, (err) => err instanceof SignalingError && err.code === 'rate_limited');
  assert.equal(events.serverError.length, 0);
});

test('sendChat on a closed connection has no id and rejects', async () => {
  const { socket, sig } = setup();
  socket.open();
  socket.serverClose(1006);
  const { id, reply } = sig.sendChat('hello?');
  assert.equal(id, null);
  await assert.rejects(reply, (err) => err instanceof SignalingError && err.code === 'closed');
});

test('call requests go out with ids; call events and refusals are dispatched', () => {
  const { socket, sig, events } = setup();
  socket.open();
  socket.receive(WELCOME);
  assert.ok(sig.sendInvite('k3'));
  const inv = socket.last();
  assert.equal(inv.type, 'invite');
  assert.equal(inv.to, 'k3');
  assert.ok(inv.id !== undefined);
  sig.sendAccept(7);
  assert.deepEqual({ ...socket.last(), id: 0 }, { type: 'accept', call: 7, id: 0 });
  sig.sendDecline(7);
  assert.equal(socket.last().type, 'decline');
  sig.sendJoinCall(7);
  assert.equal(socket.last().type, 'joinCall');
  sig.sendCancel('k3');
  assert.equal(socket.last().type, 'cancel');
  sig.sendLeaveCall();
  assert.equal(socket.last().type, 'leaveCall');
  sig.sendMedia(true, false);
  assert.deepEqual(socket.last(), { type: 'media', audioMuted: true, videoMuted: false });

  const msgs = [
    { type: 'inviting', ref: inv.id, call: 7, to: 'k3' },
    { type: 'invited', call: 8, from: 'k3', members: ['k3'] },
    { type: 'inviteEnded', call: 7, from: 'me1', to: 'k3', reason: 'declined' },
    { type: 'callJoined', call: 8, members: ['k3'] },
    { type: 'presence', peerId: 'k3', state: { status: 'inCall', call: 8, audioMuted: true, videoMuted: false } },
  ];
  for (const m of msgs) socket.receive(m);
  assert.deepEqual(events.inviting, [msgs[0]]);
  assert.deepEqual(events.invited, [msgs[1]]);
  assert.deepEqual(events.inviteEnded, [msgs[2]]);
  assert.deepEqual(events.callJoined, [msgs[3]]);
  assert.deepEqual(events.presence, [msgs[4]]);
  socket.receive({ type: 'error', code: 'busy', message: 'Grace is busy in another call', ref: inv.id });
  assert.equal(events.serverError.at(-1).code, 'busy', 'a refused invite is a serverError event');
});
