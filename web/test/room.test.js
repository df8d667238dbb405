// The DOM-free room model (web/js/room/room.js), fed the server fixtures in
// fixtures/protocol/server/ (through the same parser the client uses) and sequences
// built from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseServerMessage } from '../js/net/protocol.js';
import { Room } from '../js/room/room.js';

/** @typedef {import('../js/net/protocol.js').ServerMsg} ServerMsg */

const FIXTURES = new URL('../../fixtures/protocol/server/', import.meta.url);

/**
 * A fixture, parsed as the client parses frames; `patch` changes fields first.
 * @param {string} name
 * @param {Record<string, unknown>} [patch]
 * @returns {any}
 */
function fixture(name, patch = {}) {
  const value = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));
  return parseServerMessage(JSON.stringify({ ...value, ...patch }));
}

const ADA = 'a8d2kq0n5v1c'; // us in joined.json
const GRACE = 'k3j9x2m4p7qa';
const ALAN = 'm5t8w3qz6r2b';

/** A room that has joined `standup` as Ada (joined.json: Grace and Alan in call 7). */
function joinedRoom() {
  const room = new Room();
  room.handle(fixture('welcome'));
  room.handle(fixture('joined'));
  return room;
}

test('welcome and joined: our id, the room, the peers with presence, the history', () => {
  const room = new Room();
  room.handle(fixture('welcome'));
  assert.equal(room.myId, ADA);
  room.handle(fixture('joined'));
  assert.equal(room.room, 'standup');
  assert.equal(room.name, 'Ada');
  assert.deepEqual([...room.peers.keys()], [GRACE, ALAN]);
  assert.deepEqual(room.me, { status: 'idle', audioMuted: false, videoMuted: false });
  assert.equal(room.role, 'guest');
  assert.equal(room.locked, false);
  assert.deepEqual(room.chat.map((m) => m.id), [40, 41]);
  assert.equal(room.myCall(), null);
  assert.deepEqual(room.members(), new Set());
  assert.deepEqual(room.runningCall(), { call: 7, members: [GRACE, ALAN] });
  assert.deepEqual(room.membersOf(7, GRACE).map((p) => p.id), [ALAN]);
  assert.equal(room.nameOf(GRACE), 'Grace');
  assert.equal(room.nameOf('nobody'), 'Someone');
  assert.deepEqual(room.media(ALAN), { micMuted: true, camOff: false, screen: false });
});

test('peerJoined, peerLeft: the list follows; a name outlives its peer', () => {
  const room = new Room();
  room.handle(fixture('welcome', { peerId: 'me0000000000' }));
  room.handle(fixture('joined', { you: { id: 'me0000000000', name: 'Me' }, peers: [], history: [] }));
  room.handle(fixture('peer-joined'));
  assert.deepEqual([...room.peers.keys()], [GRACE]);
  room.handle(fixture('peer-joined-host'));
  assert.equal(room.peers.get(ADA)?.role, 'host');
  room.handle(fixture('peer-left'));
  assert.deepEqual([...room.peers.keys()], [ADA]);
  assert.equal(room.nameOf(GRACE), 'Grace');
});

test('presence: a peer in our call, our own presence, reconnecting', () => {
  const room = joinedRoom();
  room.handle(fixture('presence', { peerId: ADA, state: { status: 'inCall', call: 7, audioMuted: false, videoMuted: false } }));
  assert.equal(room.myCall(), 7);
  assert.deepEqual(room.members(), new Set([GRACE, ALAN]));
  assert.equal(room.runningCall(), null);
  room.handle(fixture('presence'));
  assert.deepEqual(room.peers.get(GRACE)?.state, { status: 'inCall', call: 7, audioMuted: true, videoMuted: false });
  assert.equal(room.media(GRACE).micMuted, true);
  room.handle(fixture('presence-reconnecting'));
  assert.equal(room.peers.get(GRACE)?.state.reconnecting, true);
  assert.equal(room.media(GRACE).micMuted, false);
  // A presence for someone not in the room changes nothing.
  room.handle(fixture('presence', { peerId: 'gone00000000' }));
  assert.equal(room.peers.has('gone00000000'), false);
});

test('roles and the lock', () => {
  const room = joinedRoom();
  room.handle(fixture('role-changed'));
  assert.equal(room.peers.get(GRACE)?.role, 'host');
  assert.equal(room.role, 'guest');
  room.handle(fixture('role-changed', { peerId: ADA }));
  assert.equal(room.role, 'host');
  room.handle(fixture('room-locked'));
  assert.equal(room.locked, true);
  room.handle(fixture('room-locked', { locked: false }));
  assert.equal(room.locked, false);
});

test('invitations: outgoing rings until inviteEnded; incoming until callJoined', () => {
  const room = joinedRoom();
  room.handle(fixture('inviting'));
  assert.deepEqual([...room.outgoing], [[GRACE, 7]]);
  const ended = room.handle(fixture('invite-ended'));
  assert.deepEqual(ended, { outgoingEnded: true, incomingEnded: false });
  assert.equal(room.outgoing.size, 0);

  room.handle(fixture('invited', { from: GRACE }));
  assert.equal(room.incoming?.call, 7);
  assert.deepEqual(room.handle(fixture('invite-ended', { from: GRACE, to: ADA, call: 8 })), {
    outgoingEnded: false,
    incomingEnded: false,
  });
  assert.equal(room.incoming?.call, 7, 'another call ending leaves ours ringing');
  room.handle(fixture('call-joined'));
  assert.equal(room.incoming, null);
  assert.equal(room.myCall(), 7);
  assert.deepEqual(room.members(), new Set([GRACE, ALAN]));

  room.handle(fixture('inviting', { to: 'new000000000' }));
  room.leftCall();
  assert.equal(room.myCall(), null);
  assert.equal(room.me.call, undefined);
  assert.equal(room.outgoing.size, 0);
});

test('chat: live messages merge by id; a resumed join continues the history', () => {
  const room = joinedRoom();
  room.handle(fixture('chat'));
  room.handle(fixture('chat-from-other')); // the same id again
  assert.deepEqual(room.chat.map((m) => m.id), [40, 41, 42]);
  // Resumed (same identity): the history overlaps what we have; each message once.
  room.handle(fixture('welcome-resumed'));
  const history = [...fixture('joined').history, fixture('chat').message];
  history.push({ ...history[2], id: 43, text: 'missed while away' });
  room.handle(fixture('joined', { history }));
  assert.deepEqual(room.chat.map((m) => m.id), [40, 41, 42, 43]);
  // A history that does not continue ours (ids reused): start over from it.
  room.handle(fixture('welcome-resumed'));
  room.handle(fixture('joined'));
  assert.deepEqual(room.chat.map((m) => m.id), [40, 41]);
  // A fresh welcome (the server restarted): start over from its history.
  room.handle(fixture('welcome'));
  room.handle(fixture('joined', { history: [] }));
  assert.deepEqual(room.chat, []);
});

test('peer media: one answer from two reports, the newest wins', () => {
  const room = joinedRoom();
  assert.deepEqual(room.media(GRACE), { micMuted: false, camOff: false, screen: false });
  // Grace mutes: her control channel says so first...
  room.peerReported(GRACE, { micMuted: true, camOff: false, screen: true });
  assert.deepEqual(room.media(GRACE), { micMuted: true, camOff: false, screen: true });
  // ...a presence for another reason carries her old flags: not a new report.
  room.handle(fixture('presence', { state: { status: 'inCall', call: 7, audioMuted: false, videoMuted: false } }));
  assert.equal(room.media(GRACE).micMuted, true);
  // ...then the server's echo of her `media` agrees.
  room.handle(fixture('presence', { state: { status: 'inCall', call: 7, audioMuted: true, videoMuted: false, screen: true } }));
  assert.deepEqual(room.media(GRACE), { micMuted: true, camOff: false, screen: true });
  // She unmutes and turns the camera off through the server only (no channel any more).
  room.peerReported(GRACE, null);
  assert.deepEqual(room.media(GRACE), { micMuted: true, camOff: false, screen: true }, 'the server\'s report stands');
  room.handle(fixture('presence', { state: { status: 'idle', audioMuted: false, videoMuted: true } }));
  assert.deepEqual(room.media(GRACE), { micMuted: false, camOff: true, screen: false });
  room.handle(fixture('peer-left'));
  assert.deepEqual(room.media(GRACE), { micMuted: false, camOff: false, screen: false });
});

test('peer media: in a call through the router only the server says a screen is shared', () => {
  const room = joinedRoom();
  room.handle(fixture('presence-screen', { peerId: GRACE }));
  assert.deepEqual(room.media(GRACE), { micMuted: false, camOff: false, screen: true });
  // She stops sharing: her next `media` says so.
  room.handle(fixture('presence', { peerId: GRACE, state: { status: 'inCall', call: 7, audioMuted: false, videoMuted: false } }));
  assert.equal(room.media(GRACE).screen, false);
});

test('listeners hear every change with its message; kicked and reset forget the room', () => {
  const room = new Room();
  /** @type {(string | null)[]} */
  const seen = [];
  const off = room.onChange((m) => seen.push(m ? m.type : null));
  room.handle(fixture('welcome'));
  room.handle(fixture('joined'));
  room.handle(fixture('pong')); // not a room change
  room.handle(fixture('offer'));
  room.handle(fixture('chat'));
  room.peerReported(GRACE, { micMuted: false, camOff: false, screen: false });
  assert.deepEqual(seen, ['welcome', 'joined', 'chat', null]);
  room.handle(fixture('kicked'));
  assert.equal(room.room, null);
  assert.equal(room.peers.size, 0);
  assert.equal(room.myId, null);
  room.handle(fixture('joined'));
  room.reset();
  assert.equal(room.chat.length, 0);
  off();
  room.handle(fixture('joined'));
  assert.equal(seen.length, 7);
});

test('broadcast: who may send media, a host alone is a running call, the stage and hands', () => {
  // joined-broadcast.json: we are Alan, a viewer; Ada hosts, alone in call 1.
  const room = new Room();
  room.handle(fixture('joined-broadcast'));
  assert.equal(room.broadcast, true);
  assert.equal(room.role, 'viewer');
  assert.equal(room.mayPublish(ALAN), false, 'a viewer does not send');
  assert.equal(room.mayPublish(ADA), true, 'the host does');
  assert.deepEqual(room.runningCall(), { call: 1, members: [ADA] }, 'the host alone is what we watch');

  // On stage (presence-stage.json names Grace; here it is us): we may send.
  room.handle(fixture('presence-stage', { peerId: ALAN }));
  assert.equal(room.me.onStage, true);
  assert.equal(room.me.hand, true);
  assert.equal(room.mayPublish(ALAN), true);

  // The broadcast stops: a guest may send again, a viewer only on stage.
  const stopped = new Room();
  stopped.handle(fixture('joined-broadcast', { you: { id: ALAN, name: 'Alan', state: { status: 'idle' } } }));
  assert.equal(stopped.mayPublish(ALAN), false, 'a guest in a broadcast does not send');
  stopped.handle(fixture('broadcast', { on: false }));
  assert.equal(stopped.broadcast, false);
  assert.equal(stopped.mayPublish(ALAN), true, 'a guest sends outside a broadcast');
  assert.equal(stopped.runningCall(), null, 'a call of one is no running call outside a broadcast');
});
