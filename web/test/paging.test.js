// The grid's pages (how many tiles a page holds at a size, which tiles a page shows) and the call timer's format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_TILE_WIDTH, bestGrid, pageSize, paging } from '../js/ui/stage.js';

test('a page holds the most tiles that stay at least MIN_TILE_WIDTH wide', () => {
  // A desktop stage: many; a phone: a few; a tiny window: one other person.
  const desktop = pageSize(940, 650, 1);
  assert.ok(desktop >= 12, `desktop ${desktop}`);
  assert.ok(bestGrid(desktop + 1, 940, 650).tileW >= MIN_TILE_WIDTH);
  assert.ok(bestGrid(desktop + 2, 940, 650).tileW < MIN_TILE_WIDTH);
  const phone = pageSize(355, 600, 1);
  assert.ok(phone >= 2 && phone <= 4, `phone ${phone}`);
  assert.equal(pageSize(260, 140, 1), 1);
  // Without our own tile (a viewer), one more fits.
  assert.ok(pageSize(355, 600, 0) >= phone);
});

test('pages split the tiles in order and keep the page in range', () => {
  assert.deepEqual(paging(5, 2, 0), { pages: 3, page: 0, start: 0, end: 2 });
  assert.deepEqual(paging(5, 2, 2), { pages: 3, page: 2, start: 4, end: 5 });
  // People left: the page shown moves back to the last one there is.
  assert.deepEqual(paging(3, 2, 2), { pages: 2, page: 1, start: 2, end: 3 });
  assert.deepEqual(paging(0, 4, 1), { pages: 1, page: 0, start: 0, end: 0 });
  assert.deepEqual(paging(4, 4, 0), { pages: 1, page: 0, start: 0, end: 4 });
});

test('the call timer reads m:ss, then h:mm:ss', async () => {
  const { formatDuration } = await import('../js/ui/basics.js');
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(65_400), '1:05');
  assert.equal(formatDuration(3_600_000 + 2 * 60_000 + 3_000), '1:02:03');
  assert.equal(formatDuration(-5), '0:00');
});
