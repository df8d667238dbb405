import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidRoom, roomError } from '../js/net/protocol.js';
import { randomRoom } from '../js/ui/lobby.js';

test('room names may use letters and digits of any script, as the server allows', () => {
  for (const ok of ['standup', 'team_2-a', '会议室', 'встреча', 'café', '부산-회의', 'x'.repeat(64), '会'.repeat(64)]) {
    assert.equal(roomError(ok), null, ok);
  }
  for (const bad of ['stand up', 'a/b', 'a.b', '会议室。', 'a\u200Bb', 'a\u202Eb', 'e\u0301', '😀']) {
    assert.equal(roomError(bad)?.key, 'room.chars', bad);
  }
  assert.equal(roomError('会'.repeat(65))?.key, 'room.too_long', 'counted in characters');
  assert.equal(roomError('')?.key, 'room.empty');
});

test('suggested room names are valid and in the chosen language', () => {
  for (let i = 0; i < 50; i++) {
    const en = randomRoom('en');
    const zh = randomRoom('zh-CN');
    assert.ok(isValidRoom(en) && /^[a-z]+-[a-z]+-\d{3}$/.test(en), en);
    assert.ok(isValidRoom(zh) && /^\p{Script=Han}+-\d{3}$/u.test(zh), zh);
  }
});
