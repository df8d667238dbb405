// Checks web/js/protocol.js against the shared protocol fixtures in fixtures/protocol/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as proto from '../js/net/protocol.js';
import { say } from '../js/i18n/i18n.js';

/**
 * A text from net/ in English words (the catalog's default language), or '' for null.
 * @param {proto.Text | null} text
 */
const en = (text) => (text ? say(text) : '');

const FIXTURES = new URL('../../fixtures/protocol/', import.meta.url);

/** @param {string} dir */
function fixtures(dir) {
  const base = new URL(`${dir}/`, FIXTURES);
  return readdirSync(fileURLToPath(base))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(fileURLToPath(new URL(file, base)), 'utf8');
      return { file, text, value: JSON.parse(text) };
    });
}

/** @typedef {{file: string, text: string, value: any}} Fixture */

const roundTrip = (/** @type {unknown} */ v) => JSON.parse(JSON.stringify(v));

/** Builds the client message a fixture shows, through the public constructors. @param {Fixture} f */
function construct(f) {
  const v = f.value;
  switch (v.type) {
    case 'hello':
      return proto.hello(v.id, v.version, v.resume);
    case 'join':
      return proto.join(v.room, v.name, v.id, { password: v.password, token: v.token });
    case 'leave':
      return proto.leave(v.id);
    case 'offer':
      return proto.offer(v.to, v.sdp, v.id);
    case 'answer':
      return proto.answer(v.to, v.sdp, v.id);
    case 'candidate':
      return proto.candidate(v.to, v.candidate, v.id);
    case 'hangup':
      return proto.hangup(v.to, v.id);
    case 'ping':
      return proto.ping(v.id);
    case 'chat':
      return proto.chat(v.text, v.id, v.key);
    case 'callStats':
      return proto.callStats(v.peer, v.setupMs, v.pair, v.id);
    case 'invite':
      return proto.invite(v.to, v.id);
    case 'cancel':
      return proto.cancelInvite(v.to, v.id);
    case 'accept':
      return proto.accept(v.call, v.id);
    case 'decline':
      return proto.decline(v.call, v.id);
    case 'joinCall':
      return proto.joinCall(v.call, v.id);
    case 'leaveCall':
      return proto.leaveCall(v.id);
    case 'media':
      return proto.media(v.audioMuted, v.videoMuted, v.screen, v.id);
    case 'kick':
      return proto.kick(v.peer, v.id);
    case 'mute':
      return proto.mute(v.peer, v.id);
    case 'lock':
      return proto.lock(v.locked, v.id);
    case 'broadcast':
      return proto.broadcast(v.on, v.id);
    case 'hand':
      return proto.hand(v.up, v.id);
    case 'record':
      return proto.record(v.on, v.id);
    case 'recordings':
      return proto.recordings(v.id);
    case 'stage':
      return proto.stage(v.peer, v.on, v.id);
    case 'sfuOffer':
      return proto.sfuOffer(v.sdp, v.id);
    case 'sfuAnswer':
      return proto.sfuAnswer(v.sdp, v.id);
    case 'sfuView':
      return proto.sfuView(v.tracks, v.id);
    case 'waitingRoom':
      return proto.waitingRoom(v.on, v.id);
    case 'admit':
      return proto.admit(v.peer, v.allow, v.id);
    case 'localRecording':
      return proto.localRecording(v.on, v.id);
    case 'rename':
      return proto.rename(v.name, v.id);
    case 'react':
      return proto.react(v.reaction, v.id);
    default:
      throw new Error(`${f.file}: no constructor for client message type ${v.type}`);
  }
}

const clientFixtures = fixtures('client');
const serverFixtures = fixtures('server');
const invalidFixtures = fixtures('invalid');

test('fixtures are present', () => {
  assert.ok(clientFixtures.length >= 8, 'client fixtures');
  assert.ok(serverFixtures.length >= 10, 'server fixtures');
  assert.ok(invalidFixtures.length >= 5, 'invalid fixtures');
});

for (const f of clientFixtures) {
  test(`client fixture ${f.file}: constructor builds the same message`, () => {
    assert.deepEqual(roundTrip(construct(f)), f.value);
  });
}

test('every client message type has a fixture', () => {
  const types = new Set(clientFixtures.map((f) => f.value.type));
  for (const t of ['hello', 'join', 'leave', 'offer', 'answer', 'candidate', 'hangup', 'ping', 'chat',
    'invite', 'cancel', 'accept', 'decline', 'joinCall', 'leaveCall', 'media', 'kick', 'mute', 'lock',
    'sfuOffer', 'sfuAnswer', 'sfuView', 'react', 'rename', 'localRecording', 'waitingRoom', 'admit', 'broadcast', 'hand', 'stage', 'record', 'recordings']) {
    assert.ok(types.has(t), `missing client fixture for ${t}`);
  }
});

test('hello defaults to the protocol version; ids are optional', () => {
  assert.deepEqual(proto.hello(), { type: 'hello', version: proto.PROTOCOL_VERSION });
  assert.equal(proto.PROTOCOL_VERSION, 1);
  assert.deepEqual(proto.ping(), { type: 'ping' });
  assert.deepEqual(proto.leave(), { type: 'leave' });
});

test('join trims the name like the server does', () => {
  assert.deepEqual(proto.join('standup', '  Ada \n'), { type: 'join', room: 'standup', name: 'Ada' });
});

test('candidate drops null fields of an RTCIceCandidateInit and keeps null as end of candidates', () => {
  const c = proto.candidate('p1', { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: null, sdpMLineIndex: 0, usernameFragment: null });
  assert.deepEqual(roundTrip(c), {
    type: 'candidate',
    to: 'p1',
    candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMLineIndex: 0 },
  });
  assert.deepEqual(roundTrip(proto.candidate('p1', null)), { type: 'candidate', to: 'p1', candidate: null });
});

for (const f of serverFixtures) {
  test(`server fixture ${f.file} is accepted`, () => {
    const msg = proto.parseServerMessage(f.text);
    assert.deepEqual(roundTrip(msg), f.value);
  });
}

test('malformed server messages are rejected', () => {
  const bad = [
    'not json',
    '[1]',
    '{"type":"teleport"}',
    '{"version":1}',
    '{"type":"welcome","version":1,"peerId":7,"iceServers":[]}',
    '{"type":"welcome","version":1,"peerId":"a","iceServers":[{"urls":"stun:x"}]}',
    '{"type":"iceServers"}',
    '{"type":"iceServers","iceServers":[{"urls":["turn:x"],"credential":7}]}',
    '{"type":"joined","room":"bad room","you":{"id":"a","name":"A"},"peers":[]}',
    '{"type":"joined","room":"r","you":{"id":"a"},"peers":[]}',
    '{"type":"peerLeft","peerId":"a","reason":"bored"}',
    '{"type":"peerJoined","peer":{"id":"a","name":"A","role":"admin"}}',
    '{"type":"kicked","room":"bad room","by":"a"}',
    '{"type":"kicked","room":"r"}',
    '{"type":"muteRequest"}',
    '{"type":"roomLocked","locked":"yes","by":"a"}',
    '{"type":"roleChanged","peerId":"a","role":"owner"}',
    '{"type":"offer","from":"a"}',
    '{"type":"candidate","from":"a","candidate":{"sdpMid":"0"}}',
    '{"type":"candidate","from":"a"}',
    '{"type":"error","code":"room_full"}',
    '{"type":"pong","ref":{"x":1}}',
    '{"type":"chat","message":{"id":1,"from":"a","name":"A","text":"hi"}}',
    '{"type":"chat","message":{"id":-1,"from":"a","name":"A","text":"hi","ts":1}}',
    '{"type":"chat","message":{"id":1,"from":"a","name":"A","text":7,"ts":1}}',
    '{"type":"chat","ref":{},"message":{"id":1,"from":"a","name":"A","text":"hi","ts":1}}',
    '{"type":"chat"}',
    '{"type":"joined","room":"r","you":{"id":"a","name":"A"},"peers":[],"history":{}}',
    '{"type":"joined","room":"r","you":{"id":"a","name":"A"},"peers":[],"history":[{"id":1}]}',
    '{"type":"joined","room":"r","you":{"id":"a","name":"A","state":{"status":"away"}},"peers":[]}',
    '{"type":"peerJoined","peer":{"id":"a","name":"A","state":{"status":"idle","audioMuted":"yes"}}}',
    '{"type":"presence","peerId":"a"}',
    '{"type":"presence","peerId":"a","state":{"status":"inCall","call":-1}}',
    '{"type":"invited","call":1,"from":"a"}',
    '{"type":"invited","call":"1","from":"a","members":[]}',
    '{"type":"inviting","call":1}',
    '{"type":"inviteEnded","call":1,"from":"a","to":"b","reason":"bored"}',
    '{"type":"callJoined","call":1,"members":[7]}',
    '{"type":"layers","call":8}',
    '{"type":"layers","call":8,"tracks":[{"mid":"3","from":"a","layer":2,"layers":2}]}',
    '{"type":"layers","call":8,"tracks":[{"mid":"3","from":"a","layers":0}]}',
    '{"type":"layers","call":8,"tracks":[{"mid":3,"from":"a","layers":1}]}',
    '{"type":"layers","call":8,"tracks":[{"mid":"3","from":"a","layers":1,"height":-1}]}',
    '{"type":"recordings","list":[{"id":"1-1","startedMs":1,"files":[],"composed":{"name":"composed.mp4","bytes":1,"url":"https://elsewhere/x.mp4"}}]}',
    '{"type":"recordings","list":[{"id":"1-1","startedMs":1,"files":[],"composed":{"name":"composed.mp4","url":"/recordings/r/1-1/composed.mp4"}}]}',
  ];
  for (const text of bad) {
    assert.throws(() => proto.parseServerMessage(text), proto.ProtocolError, text);
  }
  assert.throws(() => proto.parseServerMessage(new ArrayBuffer(4)), proto.ProtocolError);
});

/** The join fields of an invalid fixture, or null when it is not a join. @param {Fixture} f */
function joinFields(f) {
  let v;
  try {
    v = JSON.parse(f.value.input);
  } catch {
    return null;
  }
  return v && typeof v === 'object' && (v.type === 'join' || v.type === 'rename') ? v : null;
}

test('invalid fixtures: bad names are rejected by the JS validators', () => {
  const names = invalidFixtures.filter((f) => f.value.code === 'bad_name');
  assert.deepEqual(names.map((f) => f.file).sort(),
    ['control-name.json', 'empty-name.json', 'format-name.json', 'long-name.json', 'rename-empty-name.json']);
  for (const f of names) {
    const v = joinFields(f);
    assert.ok(v, f.file);
    assert.equal(proto.isValidName(v.name), false, f.file);
    assert.equal(typeof proto.nameError(v.name)?.key, 'string', f.file);
    if (v.type === 'join') assert.equal(proto.isValidRoom(v.room), true, `${f.file}: its room is fine`);
  }
});

test('invalid fixtures: bad rooms are rejected by the JS validators', () => {
  const rooms = invalidFixtures.filter((f) => f.value.code === 'bad_room');
  assert.deepEqual(rooms.map((f) => f.file).sort(), ['bad-room-punctuation.json', 'bad-room.json', 'long-room.json']);
  for (const f of rooms) {
    const v = joinFields(f);
    assert.ok(v, f.file);
    assert.equal(proto.isValidRoom(v.room), false, f.file);
    assert.equal(typeof proto.roomError(v.room)?.key, 'string', f.file);
    assert.equal(proto.isValidName(v.name), true, `${f.file}: its name is fine`);
  }
});

test('name rules mirror the server', () => {
  assert.equal(proto.isValidName('Ada'), true);
  assert.equal(proto.isValidName('  Ada  '), true);
  assert.equal(proto.isValidName('é'.repeat(64)), true);
  assert.equal(proto.isValidName('é'.repeat(65)), false);
  assert.equal(proto.isValidName('😀'.repeat(64)), true, 'counted in code points, not UTF-16 units');
  assert.equal(proto.isValidName('😀'.repeat(65)), false);
  assert.equal(proto.isValidName(' '.repeat(70) + 'x'), true, 'length is checked after trimming');
  assert.equal(proto.isValidName('a\u0007b'), false);
  assert.equal(proto.isValidName('a\u0085b'), false, 'C1 controls are control characters');
  assert.equal(proto.isValidName('\u0085Ada'), true, 'Rust trims U+0085 (White_Space)');
  assert.equal(proto.isValidName('\u3000Ada\u3000'), true);
  assert.equal(proto.isValidName('\u00a0\u2003'), false, 'only whitespace');
  assert.equal(proto.trimName('\ufeffAda'), '\ufeffAda', 'Rust does not trim U+FEFF');
  assert.equal(proto.isValidName(''), false);
  assert.equal(proto.isValidName(42), false);
});

test('room rules mirror the server', () => {
  for (const ok of ['a', 'standup', 'A-Z_0-9', 'r'.repeat(64), 'café', '会议室']) assert.equal(proto.isValidRoom(ok), true, ok);
  for (const bad of ['', 'r'.repeat(65), 'a b', 'a/b', 'a.b', 'a\n', null, 7]) {
    assert.equal(proto.isValidRoom(bad), false, String(bad));
  }
});

test('server errors and close codes read as English', () => {
  assert.match(en(proto.describeServerError({ code: 'room_full', message: 'room standup is full' })), /full/);
  assert.match(en(proto.describeServerError({ code: 'brand_new', message: 'something odd' })), /something odd/);
  assert.equal(proto.describeClose(1000), null);
  assert.match(en(proto.describeClose(4000)), /Reload/);
  assert.match(en(proto.describeClose(1006)), /connection/i);
  assert.match(en(proto.describeClose(1008)), /too many messages/);
  assert.match(en(proto.describeClose(4003)), /timed out/);
});

test('a joined without history (a server older than chat) reads as an empty history', () => {
  const msg = proto.parseServerMessage('{"type":"joined","room":"r","you":{"id":"a","name":"A"},"peers":[]}');
  assert.equal(msg.type, 'joined');
  assert.deepEqual(msg.type === 'joined' && msg.history, []);
});

test('server chat messages are accepted with and without ref', () => {
  const message = { id: 3, from: 'a', name: 'Ada', text: 'hi\nthere', ts: 1767258000123 };
  assert.deepEqual(proto.parseServerMessage(JSON.stringify({ type: 'chat', message })), { type: 'chat', message });
  assert.deepEqual(proto.parseServerMessage(JSON.stringify({ type: 'chat', ref: 4, message })), { type: 'chat', ref: 4, message });
});

test('invalid fixtures: bad chat texts are rejected by the JS validator', () => {
  const texts = invalidFixtures.filter((f) => f.value.code === 'bad_text');
  assert.deepEqual(texts.map((f) => f.file).sort(), ['control-text.json', 'empty-text.json', 'long-text.json']);
  for (const f of texts) {
    const v = JSON.parse(f.value.input);
    assert.equal(v.type, 'chat', f.file);
    assert.equal(typeof proto.chatTextError(v.text)?.key, 'string', f.file);
  }
});

test('chat text rules mirror the server', () => {
  assert.equal(proto.chatTextError('hi'), null);
  assert.equal(proto.chatTextError('line 1\n\tline 2'), null, 'newline and tab are allowed');
  assert.equal(proto.chatTextError('  padded  '), null);
  assert.equal(proto.chatTextError('x'.repeat(2000)), null);
  assert.equal(proto.chatTextError('😀'.repeat(2000)), null, 'counted in code points');
  assert.equal(proto.chatTextError(' '.repeat(50) + 'x'.repeat(2000) + '\n\n'), null, 'length after trimming');
  assert.match(en(proto.chatTextError('x'.repeat(2001))), /at most 2,000 characters.*1 over/);
  assert.match(en(proto.chatTextError('')), /Type a message/);
  assert.match(en(proto.chatTextError(' \n\t\u3000')), /Type a message/);
  assert.match(en(proto.chatTextError('a\rb')), /control/);
  assert.match(en(proto.chatTextError('a\u0000b')), /control/);
  assert.match(en(proto.chatTextError('a\u009bb')), /control/, 'C1 controls too');
  assert.equal(en(proto.chatTextError(undefined)), 'Type a message first.');
  assert.equal(proto.trimChat('\n  hi \u0085'), 'hi');
  assert.equal(proto.MAX_CHAT_CHARS, 2000);
});

test('chat() sends the trimmed text', () => {
  assert.deepEqual(proto.chat('  hello \n', 5), { type: 'chat', text: 'hello', id: 5 });
  assert.deepEqual(proto.chat('a\nb'), { type: 'chat', text: 'a\nb' });
  assert.deepEqual(proto.chat('once', 6, 'k1'), { type: 'chat', text: 'once', key: 'k1', id: 6 });
});

test('addChatMessage keeps id order and drops duplicates', () => {
  const m = (/** @type {number} */ id) => ({ id, from: 'a', name: 'A', text: `m${id}`, ts: id });
  /** @type {proto.ChatMessage[]} */
  const list = [];
  assert.equal(proto.addChatMessage(list, m(2)), true);
  assert.equal(proto.addChatMessage(list, m(4)), true);
  assert.equal(proto.addChatMessage(list, m(1)), true);
  assert.equal(proto.addChatMessage(list, m(3)), true);
  assert.equal(proto.addChatMessage(list, m(4)), false);
  assert.equal(proto.addChatMessage(list, m(1)), false);
  assert.deepEqual(list.map((x) => x.id), [1, 2, 3, 4]);
});

test('a rejoin history merged by id shows every message exactly once', () => {
  const m = (/** @type {number} */ id, text = `m${id}`) => ({ id, from: 'a', name: 'A', text, ts: 1000 + id });
  // Shown before the connection dropped: 1..3, and 2 also arrived live (dedup'd).
  /** @type {proto.ChatMessage[]} */
  const shown = [];
  for (const x of [m(1), m(2), m(2), m(3)]) proto.addChatMessage(shown, x);
  // Rejoin: the history (last 3 kept) overlaps and has 4 and 5, missed while away.
  const history = [m(3), m(4), m(5)];
  assert.equal(proto.chatHistoryContinues(shown, history), true);
  const added = history.filter((x) => proto.addChatMessage(shown, x));
  assert.deepEqual(added.map((x) => x.id), [4, 5], 'only the missed ones are new');
  // A live copy of 5 arriving after the history is dropped too.
  assert.equal(proto.addChatMessage(shown, m(5)), false);
  assert.deepEqual(shown.map((x) => x.id), [1, 2, 3, 4, 5]);
  // A history entirely older or newer than what is shown also continues it.
  assert.equal(proto.chatHistoryContinues([m(1), m(2)], [m(9)]), true);
  assert.equal(proto.chatHistoryContinues([], []), true);
});

test('a history from a server that lost its ids does not continue what is shown', () => {
  const m = (/** @type {number} */ id, text = `m${id}`, ts = 1000 + id) => ({ id, from: 'a', name: 'A', text, ts });
  const shown = [m(1), m(2), m(3)];
  // Memory-only server restarted: ids start at 1 again, with other messages.
  assert.equal(proto.chatHistoryContinues(shown, [m(1, 'new', 5000)]), false);
  // It restarted and nobody has written yet: nothing to merge, the old ids would clash.
  assert.equal(proto.chatHistoryContinues(shown, []), false);
  // Same id, other text or sender: not the same message.
  assert.equal(proto.chatHistoryContinues(shown, [m(3, 'other'), m(4)]), false);
  assert.equal(proto.chatHistoryContinues(shown, [{ ...m(3), from: 'b' }, m(4)]), false);
});

test('chat errors read as English', () => {
  assert.match(en(proto.describeServerError({ code: 'rate_limited', message: 'slow down' })), /too fast/);
  assert.match(en(proto.describeServerError({ code: 'bad_text', message: 'text must be 1-2000 characters' })), /chat message/);
});

test('peers from servers older than calls are idle and unmuted', () => {
  const m = proto.parseServerMessage('{"type":"joined","room":"r","you":{"id":"a","name":"A"},"peers":[{"id":"b","name":"B"}]}');
  assert.equal(m.type, 'joined');
  if (m.type !== 'joined') return;
  assert.deepEqual(m.peers[0].state, { status: 'idle', audioMuted: false, videoMuted: false });
  assert.deepEqual(m.you.state, { status: 'idle', audioMuted: false, videoMuted: false });
});

test('call errors read as sentences', () => {
  assert.match(en(proto.describeServerError({ code: 'call_full', message: 'the call is full: a call holds at most 2 people' })),
    /^The call is full\. \(the call is full: a call holds at most 2 people\)$/);
  assert.match(en(proto.describeServerError({ code: 'busy', message: 'Bob is busy in another call' })), /busy/);
});
