import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LevelSpeakers } from '../js/media/levels.js';

test('a steady talker enters, stays through pauses between words, and leaves when silent', () => {
  const d = new LevelSpeakers();
  const talk = [0.2, 0.15, 0.02, 0.18, 0.2, 0.01, 0.16];
  /** @type {string[][]} */
  const seen = talk.map((l) => d.update(new Map([['ada', l], ['bob', 0]])));
  assert.deepEqual(seen.at(-1), ['ada']);
  assert.ok(seen.slice(1).every((s) => s.includes('ada')), `no flicker: ${JSON.stringify(seen)}`);
  let left = 0;
  for (let i = 0; i < 20 && d.update(new Map([['ada', 0], ['bob', 0]])).length > 0; i++) left = i + 1;
  assert.ok(left > 0 && left < 10, `gone after a few quiet samples (${left})`);
});

test('the loudest comes first, at most three, and peers who left are forgotten', () => {
  const d = new LevelSpeakers();
  const levels = new Map([['a', 0.1], ['b', 0.3], ['c', 0.2], ['e', 0.25]]);
  /** @type {string[]} */
  let list = [];
  for (let i = 0; i < 5; i++) list = d.update(levels);
  assert.deepEqual(list, ['b', 'e', 'c']);
  list = d.update(new Map([['a', 0.1]]));
  assert.deepEqual(list, ['a']);
});
