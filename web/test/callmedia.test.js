// The move from mesh to router (web/js/media/callmedia.js): a member's mesh connection
// carries both directions, so it closes only once the router's video plays at both ends
// (each end says `moved` to the other), or after the grace when the note never comes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallMedia, MESH_GRACE_MS } from '../js/media/callmedia.js';

/** A mesh of `ids`, recording what the move does to it. @param {string[]} ids */
function fakeMesh(ids) {
  return {
    calls: new Map(ids.map((id) => [id, { call: { id } }])),
    /** @type {string[]} */
    retired: [],
    /** @type {string[]} */
    closed: [],
    size: ids.length,
    /** @param {string} id */
    retire(id) {
      this.retired.push(id);
    },
    /** @param {string} id */
    close(id) {
      if (!this.calls.delete(id)) return;
      this.closed.push(id);
    },
    closeAll() {
      for (const id of [...this.calls.keys()]) this.close(id);
    },
    /** @param {string} id */
    has(id) {
      return this.calls.has(id);
    },
    sync() {},
    joinCall() {},
  };
}

const fakeSfu = () => ({ offers: 0, joinCall() {}, reveal() {}, close() {}, closeAll() {}, sync() {}, visible: () => 0, quietReport: () => '' });

/** A CallMedia in a call with `ids`, moved to the router. @param {string[]} ids */
function moved(ids) {
  const mesh = fakeMesh(ids);
  /** @type {string[]} */
  const told = [];
  /** @type {(peerId: string) => void} */
  let hear = () => {};
  const media = new CallMedia(/** @type {any} */ (mesh), /** @type {any} */ (fakeSfu()), { layout() {} }, {
    tell: (id) => told.push(id),
    listen: (fn) => {
      hear = fn;
    },
  });
  media.setMode('sfu');
  return { media, mesh, told, hear: (/** @type {string} */ id) => hear(id) };
}

test('a mesh connection stays until the member says our router video plays there too', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { media, mesh, told, hear } = moved(['bob', 'carol']);
  media.onFirstFrame('bob');
  assert.deepEqual(mesh.retired, ['bob'], "Bob's mesh tile is hidden once his router video plays");
  assert.deepEqual(told, ['bob'], 'Bob is told');
  assert.deepEqual(mesh.closed, [], "the connection still carries our picture to Bob's page");
  hear('bob');
  assert.deepEqual(mesh.closed, ['bob'], 'both ends moved: it closes');
  hear('carol');
  assert.deepEqual(mesh.closed, ['bob'], "Carol's router video does not play here yet: hers stays");
  media.onFirstFrame('carol');
  assert.deepEqual(mesh.closed, ['bob', 'carol'], 'Carol had moved first: hers closes as ours plays');
  media.closeAll();
});

test('a member whose note never comes is closed after the grace', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { media, mesh } = moved(['bob']);
  media.onFirstFrame('bob');
  t.mock.timers.tick(MESH_GRACE_MS - 1);
  assert.deepEqual(mesh.closed, []);
  t.mock.timers.tick(1);
  assert.deepEqual(mesh.closed, ['bob']);
  media.closeAll();
});

test("a note that comes before the server's word of the move counts; one from a call we left does not", (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const mesh = fakeMesh(['bob']);
  /** @type {(peerId: string) => void} */
  let hear = () => {};
  const media = new CallMedia(/** @type {any} */ (mesh), /** @type {any} */ (fakeSfu()), { layout() {} }, {
    tell: () => {},
    listen: (fn) => {
      hear = fn;
    },
  });
  media.joinCall(['bob']);
  hear('bob');
  media.setMode('sfu');
  media.onFirstFrame('bob');
  assert.deepEqual(mesh.closed, ['bob'], 'Bob moved before our callMode came: closed as his video plays');

  media.closeAll();
  mesh.calls.set('bob', { call: { id: 'bob' } });
  media.joinCall(['bob']);
  hear('bob');
  media.closeAll();
  mesh.calls.set('bob', { call: { id: 'bob' } });
  media.setMode('sfu');
  media.onFirstFrame('bob');
  assert.deepEqual(mesh.closed, ['bob', 'bob'], 'closeAll closed the second call');
  assert.ok(mesh.calls.has('bob'), "the first call's note does not close the third");
});
