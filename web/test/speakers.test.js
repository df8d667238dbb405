// Active speakers on the tiles (web/js/ui/speakers.js) against a fake stage: the speakers'
// tiles get `speaking`, the loudest `data-loudest`, the others are cleared; a list for
// another call is ignored and leaving the call clears the marks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Speakers } from '../js/ui/speakers.js';

/** A tile: a class list and a dataset, as the module uses them. @param {string} peerId */
function fakeTile(peerId) {
  const classes = new Set(['tile', 'remote']);
  return {
    dataset: /** @type {Record<string, string>} */ ({ peerId }),
    classList: {
      /** @param {string} c @param {boolean} on */
      toggle: (c, on) => (on ? classes.add(c) : classes.delete(c)),
      /** @param {string} c */
      contains: (c) => classes.has(c),
    },
  };
}

function fakeStage(/** @type {string[]} */ ids) {
  const tiles = ids.map(fakeTile);
  const stage = /** @type {any} */ ({ querySelectorAll: () => tiles });
  /** Who is marked: speaking ids, and the loudest. */
  const marks = () => ({
    speaking: tiles.filter((t) => t.classList.contains('speaking')).map((t) => t.dataset.peerId),
    loudest: tiles.filter((t) => 'loudest' in t.dataset).map((t) => t.dataset.peerId),
  });
  return { stage, tiles, marks };
}

test('the speakers of our call are marked, the loudest first; the others cleared', () => {
  const { stage, marks } = fakeStage(['ada', 'bob', 'cy']);
  const s = new Speakers(stage);
  s.handle({ type: 'activeSpeakers', call: 3, speakers: ['bob', 'ada'] }, 3);
  assert.deepEqual(marks(), { speaking: ['ada', 'bob'], loudest: ['bob'] });
  s.handle({ type: 'activeSpeakers', call: 3, speakers: ['cy'] }, 3);
  assert.deepEqual(marks(), { speaking: ['cy'], loudest: ['cy'] });
  assert.deepEqual(s.snapshot(), { call: 3, speakers: ['cy'], levels: {} });
  s.handle({ type: 'activeSpeakers', call: 3, speakers: [] }, 3);
  assert.deepEqual(marks(), { speaking: [], loudest: [] });
});

test('a list for another call is ignored; leaving the call clears the marks', () => {
  const { stage, marks } = fakeStage(['ada', 'bob']);
  const s = new Speakers(stage);
  s.handle({ type: 'activeSpeakers', call: 4, speakers: ['ada'] }, 3);
  assert.deepEqual(s.snapshot(), { call: null, speakers: [], levels: {} });
  s.handle({ type: 'activeSpeakers', call: 3, speakers: ['ada'] }, 3);
  s.follow(3); // still in it
  assert.deepEqual(marks().speaking, ['ada']);
  s.follow(null);
  assert.deepEqual(marks(), { speaking: [], loudest: [] });
  assert.deepEqual(s.snapshot(), { call: null, speakers: [], levels: {} });
});
