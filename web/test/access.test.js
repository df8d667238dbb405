// web/js/access.js without a page: refusal sentences and reading a token's claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_CODES, describeRefusal, tokenClaims } from '../js/ui/access.js';

/**
 * A JWT-shaped string with `claims` as its payload (unsigned: only the shape matters).
 * @param {unknown} claims
 */
function jwt(claims) {
  const b64url = (/** @type {string} */ s) => Buffer.from(s).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${b64url('{"typ":"JWT","alg":"HS256"}')}.${b64url(JSON.stringify(claims))}.c2ln`;
}

test('every access code has its own sentence; other codes have none', () => {
  const sentences = ACCESS_CODES.map(describeRefusal);
  for (const [i, s] of sentences.entries()) {
    assert.ok(typeof s === 'string' && s.length > 10 && s.endsWith('.'), `${ACCESS_CODES[i]}: ${s}`);
  }
  assert.equal(new Set(sentences).size, sentences.length, 'no two codes share a sentence');
  assert.equal(describeRefusal('password_required'), 'This room needs a password.');
  assert.match(/** @type {string} */ (describeRefusal('bad_password')), /^Wrong password/);
  assert.equal(describeRefusal('room_full'), null);
  assert.equal(describeRefusal('whatever'), null);
});

test('tokenClaims reads room, name, role and expiry, including non-ASCII names', () => {
  const c = tokenClaims(jwt({ room: 'standup', name: 'Zoë Ünal 👋', role: 'host', exp: 1795239075 }));
  assert.deepEqual(c, { room: 'standup', name: 'Zoë Ünal 👋', role: 'host', exp: 1795239075 });
});

test('tokenClaims ignores wrong types and returns null for what is not a JWT', () => {
  assert.deepEqual(tokenClaims(jwt({ room: 7, name: null })), {
    room: undefined, name: undefined, role: undefined, exp: undefined,
  });
  for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', 'a.!!!.c', `x.${Buffer.from('[1]').toString('base64')}.y`,
    `x.${Buffer.from('not json').toString('base64')}.y`]) {
    assert.equal(tokenClaims(bad), null, JSON.stringify(bad));
  }
});
