// The replay page's timing and its reading of the server's answer (web/js/replay/):
// placing tracks on the recording's clock, the master clock, what each element must do,
// and grouping tracks by person.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Clock, DRIFT_S, clockText, length, place, plan } from '../js/replay/sync.js';
import { checkReplay } from '../js/replay/tracks.js';

test('a track is placed by its own timestamps, or by the recorded start where a player starts at zero', () => {
  // Chromium: the file runs 2.5 s to 8 s, and its duration says 8.
  assert.deepEqual(place(2500, 8000, 8), { start: 2.5, end: 8, shift: 0 });
  // A player that starts every file at zero: its duration is 5.5; the start shifts it.
  assert.deepEqual(place(2500, 8000, 5.5), { start: 2.5, end: 8, shift: 2.5 });
  // Without the end (an older manifest), the file's own clock.
  assert.deepEqual(place(2500, 0, 8), { start: 2.5, end: 8, shift: 0 });
  // A file cut off by a crash has no duration: it runs to the end.
  assert.equal(place(0, 0, Infinity).end, Infinity);
  assert.equal(place(1000, 5000, NaN).end, Infinity);
});

test('the clock runs from play to pause, seeks, holds, and stops at the end', () => {
  const c = new Clock(10);
  assert.equal(c.position(0), 0);
  c.play(1000);
  assert.equal(c.position(3000), 2);
  c.pause(3000);
  assert.equal(c.position(9000), 2, 'paused, it stays');
  c.seek(7, 9000);
  c.play(9000);
  assert.equal(c.position(10_000), 8);
  c.hold(12_000);
  assert.equal(c.position(12_000), 8, 'held where it was last read, not where it would be');
  assert.equal(c.position(14_500), 10, 'never past the end');
  assert.equal(c.playing, false, 'it stops there');
  c.play(20_000);
  assert.equal(c.position(20_000), 0, 'play at the end starts again');
  c.seek(-3, 20_000);
  assert.equal(c.position(20_000), 0);
});

test('each element is parked before its start, kept within the drift while on, and left after its end', () => {
  const p = { start: 2, end: 8, shift: 0 };
  assert.deepEqual(plan(1, true, p, { paused: false, time: 0 }), { phase: 'before', seekTo: 2, play: false });
  assert.deepEqual(plan(1, true, p, { paused: false, time: 2 }), { phase: 'before', seekTo: null, play: false });
  assert.deepEqual(plan(5, true, p, { paused: false, time: 5 + DRIFT_S / 2 }), { phase: 'on', seekTo: null, play: true });
  assert.deepEqual(plan(5, true, p, { paused: false, time: 5 + DRIFT_S * 1.5 }), { phase: 'on', seekTo: 5, play: true });
  // An element about to start goes exactly where the clock is first.
  assert.deepEqual(plan(5, true, p, { paused: true, time: 5.06 }), { phase: 'on', seekTo: 5, play: true });
  // Paused (a seek by the user), elements go exactly where the clock is.
  assert.deepEqual(plan(5, false, p, { paused: false, time: 5.06 }), { phase: 'on', seekTo: 5, play: false });
  assert.deepEqual(plan(9, true, p, { paused: false, time: 8 }), { phase: 'after', seekTo: null, play: false });
  // A player starting at zero: element time is the clock minus the shift.
  const shifted = { start: 2, end: 8, shift: 2 };
  assert.deepEqual(plan(5, true, shifted, { paused: false, time: 0 }), { phase: 'on', seekTo: 3, play: true });
  assert.deepEqual(plan(1, true, shifted, { paused: false, time: 1 }), { phase: 'before', seekTo: 0, play: false });
});

test('the length is the longer of the recorded span and the last track end', () => {
  assert.equal(length(1000, 6000, [{ start: 0, end: 4, shift: 0 }]), 5);
  assert.equal(length(1000, undefined, [{ start: 0, end: 4, shift: 0 }, { start: 1, end: Infinity, shift: 0 }]), 4);
  assert.equal(clockText(245.7), '4:05');
});

test('the server answer is checked and grouped by person, video first, in order of appearance', () => {
  const track = (/** @type {object} */ o) => ({ kind: 'video', peer: 'a', name: 'Ada', startMs: 0, url: '/recordings/r/1-1/a-1-video.webm?exp=1&sig=2', ...o });
  const r = checkReplay({
    room: 'r', id: '1-1', startedMs: 1, stoppedMs: 9,
    tracks: [
      track({ kind: 'audio', peer: 'b', name: 'Bob', startMs: 3000 }),
      track({ peer: 'b', name: 'Bob', startMs: 3000 }),
      track({ kind: 'audio' }),
      track({}),
    ],
  });
  assert.ok(r);
  assert.deepEqual(r.people.map((p) => [p.name, p.tracks.map((x) => x.kind)]), [['Ada', ['video', 'audio']], ['Bob', ['video', 'audio']]]);
  // Not a recording's link, a bad kind, a missing list: refused whole.
  assert.equal(checkReplay({ room: 'r', id: '1-1', startedMs: 1, tracks: [track({ url: 'https://evil.test/x' })] }), null);
  assert.equal(checkReplay({ room: 'r', id: '1-1', startedMs: 1, tracks: [track({ kind: 'text' })] }), null);
  assert.equal(checkReplay({ room: 'r', id: '1-1', startedMs: 1 }), null);
  assert.equal(checkReplay(null), null);
});
