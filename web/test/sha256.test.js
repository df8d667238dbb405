// The incremental SHA-256 that verifies files sent in a call (web/js/sha256.js), against
// the FIPS 180-4 / NIST example vectors and node:crypto on random data split at random
// places.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Sha256, sha256Hex } from '../js/p2p/sha256.js';

const enc = (/** @type {string} */ s) => new TextEncoder().encode(s);

test('sha256: known vectors', () => {
  assert.equal(sha256Hex(new Uint8Array(0)),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256Hex(enc('abc')),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(sha256Hex(enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  assert.equal(sha256Hex(enc('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu')),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1');
  // One million 'a', fed in uneven pieces.
  const h = new Sha256();
  const piece = enc('a'.repeat(999));
  let left = 1_000_000;
  while (left > 0) {
    const n = Math.min(left, piece.length);
    h.update(piece.subarray(0, n));
    left -= n;
  }
  assert.equal(h.hex(), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
});

test('sha256: every length around the padding boundaries equals node:crypto', () => {
  const data = randomBytes(200);
  for (let n = 0; n <= 200; n++) {
    const want = createHash('sha256').update(data.subarray(0, n)).digest('hex');
    assert.equal(sha256Hex(data.subarray(0, n)), want, `length ${n}`);
  }
});

test('sha256: random data split at random places equals node:crypto', () => {
  for (let round = 0; round < 20; round++) {
    const data = randomBytes(1 + Math.floor(Math.random() * 300_000));
    const h = new Sha256();
    let pos = 0;
    while (pos < data.length) {
      const n = Math.floor(Math.random() * 70_000);
      h.update(data.subarray(pos, pos + n));
      pos += n;
    }
    assert.equal(h.length, data.length);
    assert.equal(h.hex(), createHash('sha256').update(data).digest('hex'), `round ${round}`);
  }
});

test('sha256: digest is final, ArrayBuffer input works, speed is usable', () => {
  const h = new Sha256().update(enc('abc').buffer);
  assert.equal(h.hex(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(h.hex(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.throws(() => h.update(enc('x')), /after digest/);
  const big = randomBytes(32 * 1024 * 1024);
  const t0 = performance.now();
  const got = new Sha256().update(big).hex();
  const ms = performance.now() - t0;
  assert.equal(got, createHash('sha256').update(big).digest('hex'));
  const mbps = 32 / (ms / 1000);
  console.log(`# sha256.js: ${mbps.toFixed(0)} MiB/s`);
  assert.ok(mbps > 8, `sha256.js hashes ${mbps.toFixed(1)} MiB/s; a 1 GiB file would take too long`);
});
