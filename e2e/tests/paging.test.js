// Grid paging in a call through the router: Alice's window is small, so her grid shows
// one page of the people who fit at a useful size and a pager ("1 / 2"). A person on
// another page costs her nothing: the router stops sending their video (her page says
// so with `sfuView`), while the people on her page keep decoding. Turning the page brings
// the others' video back. Looked at in Chinese too.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, callIsUp, invite, joinRoom, waitForInvitation } from '../lib/call.js';
import { callStats, pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';

const SKIP = skipReason();

/** @typedef {import('playwright-core').Page} Page */

/**
 * Alice's remote tiles: on this page or not.
 * @param {Page} page
 */
function pageTiles(page) {
  return page.evaluate(() => {
    const tiles = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('#stage .tile.remote:not([hidden])')]);
    return {
      shown: tiles.filter((t) => !t.classList.contains('off-page')).map((t) => t.dataset.peerId ?? ''),
      off: tiles.filter((t) => t.classList.contains('off-page')).map((t) => t.dataset.peerId ?? ''),
    };
  });
}

/**
 * Video frames each peer's stream decoded on `page` over `ms`.
 * @param {Page} page
 * @param {number} ms
 */
async function decodedOver(page, ms) {
  const before = await callStats(page);
  await sleep(ms);
  const after = await callStats(page);
  return Object.fromEntries(Object.entries(after).map(([id, s]) => [id, s.framesDecoded - (before[id]?.framesDecoded ?? 0)]));
}

test('paging: a small window pages the grid; people on another page cost no video until shown',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [{ locale: 'zh-CN' }, {}, {}, {}], confabArgs: ['--media', 'sfu'] });
    const [alice, bob, carol, dave] = lab.pages;
    const room = roomName('paging');
    const ids = [];
    for (const [i, page] of lab.pages.entries()) ids.push(await joinRoom(lab, page, room, ['Alice', 'Bob', 'Carol', 'Dave'][i]));
    // Bob calls (Alice's page speaks Chinese, the helper reads English labels).
    await invite(bob, ids[0], { expect: 'Call' });
    await waitForInvitation(alice);
    await accept(alice);
    for (const page of [carol, dave]) await page.click('#join-call', { timeout: 10_000 });
    const others = ids.slice(1);
    await pollUntil(async () => {
      const s = await callStats(alice);
      return others.every((id) => callIsUp(s[id]));
    }, { timeout: 60_000, message: 'Alice decodes all three through the router' });

    // A phone-sized window: one page cannot hold three people at a useful size.
    await alice.setViewportSize({ width: 360, height: 540 });
    await pollUntil(async () => !(await alice.locator('#pager').isHidden()), { timeout: 5_000, message: 'the pager shows' });
    const first = await pageTiles(alice);
    console.log(`paging: page 1 shows ${first.shown.length}, ${first.off.length} on other pages; pager "${await alice.locator('#page-of').textContent()}"`);
    assert.ok(first.shown.length >= 1 && first.off.length >= 1, JSON.stringify(first));
    assert.match(await alice.locator('#page-of').textContent() ?? '', /^第 1 \/ \d 页$/);
    await lab.screenshot(alice, 'paging-small-window-zh');

    // The router sends nothing for the people on another page; the page's people decode.
    await sleep(2500);
    const quiet = await decodedOver(alice, 3000);
    console.log(`paging: frames decoded in 3 s: ${JSON.stringify(quiet)}`);
    for (const id of first.off) assert.ok(quiet[id] <= 2, `${id} is on another page but decoded ${quiet[id]} frames`);
    for (const id of first.shown) assert.ok(quiet[id] > 10, `${id} is shown but decoded only ${quiet[id]} frames`);

    // The next page: the others' video comes back.
    await alice.click('#page-next');
    const second = await pageTiles(alice);
    assert.ok(first.off.every((id) => second.shown.includes(id) || second.off.includes(id)));
    const now = second.shown.filter((id) => first.off.includes(id));
    assert.ok(now.length >= 1, JSON.stringify(second));
    await pollUntil(async () => {
      const d = await decodedOver(alice, 1000);
      return now.every((id) => d[id] > 5);
    }, { timeout: 15_000, message: 'the next page\'s people decode again' });
    await lab.screenshot(alice, 'paging-next-page-zh');

    // A big window again: one page, no pager, everyone decoding.
    await alice.setViewportSize({ width: 1280, height: 800 });
    await pollUntil(async () => await alice.locator('#pager').isHidden(), { timeout: 5_000, message: 'the pager goes' });
    await pollUntil(async () => {
      const d = await decodedOver(alice, 1000);
      return others.every((id) => d[id] > 5);
    }, { timeout: 15_000, message: 'all three decode again' });
  });
