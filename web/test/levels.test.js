import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LevelSpeakers, meanLevel, ReceivedLevels } from '../js/media/levels.js';

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

test('a level is the mean over the time between two readings, not the newest packet\'s', () => {
  assert.equal(meanLevel(undefined, { energy: 1, seconds: 1 }), null, 'nothing to compare yet');
  assert.equal(meanLevel({ energy: 1, seconds: 1 }, { energy: 1, seconds: 1 }), null, 'no audio played');
  // A beep at 0.5 (energy 0.25 a second) for 0.1 s within 0.25 s: heard, whenever it was.
  const level = meanLevel({ energy: 2, seconds: 10 }, { energy: 2 + 0.25 * 0.1, seconds: 10.25 });
  assert.ok(Math.abs((level ?? 0) - Math.sqrt(0.1)) < 1e-9, String(level));
});

test('received levels come from each connection\'s audio energy, per peer', async () => {
  /** @param {number} energy @param {number} seconds */
  const pc = (energy, seconds) => {
    const stats = { energy, seconds };
    return {
      stats,
      getStats: async () => new Map([['a', { type: 'inbound-rtp', kind: 'audio', totalAudioEnergy: stats.energy, totalSamplesDuration: stats.seconds }],
        ['v', { type: 'inbound-rtp', kind: 'video' }]]),
      getReceivers: () => [],
    };
  };
  const ada = pc(0, 0);
  const bob = pc(0, 0);
  const levels = new ReceivedLevels();
  const pcs = /** @type {any} */ ({ ada, bob });
  assert.deepEqual([...(await levels.read(pcs))], [['ada', 0], ['bob', 0]], 'first reading: the newest packet (none)');
  ada.stats.energy = 0.25 * 0.25;
  ada.stats.seconds = 0.25;
  bob.stats.seconds = 0.25;
  const second = await levels.read(pcs);
  assert.equal(second.get('ada'), 0.5);
  assert.equal(second.get('bob'), 0);
  const third = await levels.read(/** @type {any} */ ({ bob }));
  assert.deepEqual([...third.keys()], ['bob'], 'a peer gone is forgotten');
  assert.equal(levels.last.has('ada'), false);
});
