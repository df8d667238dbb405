// Broadcast mode, a teacher and a class: the teacher starts a broadcast and eight viewers
// (cheap receive-only pages, in two browsers, one of them in Chinese) open the room link:
// each starts watching by itself, decodes the teacher's video and hears the audio, and
// is never asked for a camera or microphone. A viewer raises a hand, the teacher brings
// it on stage, and everyone sees and hears it; sent back to the audience, it stops.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callIsUp, joinRoom, showPeople } from '../lib/call.js';
import { callStats, pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();

/** Counts getUserMedia calls in the page: a viewer must never be asked. */
const COUNT_GUM = `(() => {
  const md = navigator.mediaDevices;
  if (!md) return;
  const real = md.getUserMedia.bind(md);
  window.__gumCalls = 0;
  md.getUserMedia = (c) => { window.__gumCalls++; return real(c); };
})();`;

/** @param {Page} page */
const gumCalls = (page) => page.evaluate(() => /** @type {any} */ (window).__gumCalls ?? 0);

/**
 * Whether `page` decodes `peerId`'s video and receives its audio through the router.
 * @param {Page} page
 * @param {string} peerId
 */
async function decodes(page, peerId) {
  const s = await callStats(page);
  return callIsUp(s[peerId]) ? s[peerId] : null;
}

test('broadcast: a teacher and eight viewers; a raised hand comes on stage and goes back',
  { skip: SKIP, timeout: 240_000 }, async (t) => {
    const small = { width: 640, height: 480 };
    const lab = await startLab({ t, browsers: [
      { initScripts: [COUNT_GUM] },
      { initScripts: [COUNT_GUM], viewport: small },
      { initScripts: [COUNT_GUM], viewport: small, locale: 'zh-CN' },
    ], confabArgs: ['--media', 'auto'] });
    const room = roomName('class');
    const [teacher] = lab.pages;
    const teacherId = await joinRoom(lab, teacher, room, 'Teacher');
    await teacher.click('#broadcast-toggle');
    await pollUntil(() => teacher.evaluate(() => window.confab.call.status === 'inCall'),
      { timeout: 10_000, message: 'the teacher is in the broadcast call' });

    // Eight viewers: four pages in each of the two other browsers.
    /** @type {Page[]} */
    const viewers = [];
    /** @type {string[]} */
    const ids = [];
    for (const [b, browser] of lab.browsers.slice(1).entries()) {
      for (let i = 0; i < 4; i++) {
        const page = i === 0 ? browser.page : await browser.context.newPage();
        ids.push(await joinRoom(lab, page, room, `Student ${b * 4 + i + 1}`));
        viewers.push(page);
      }
    }
    await Promise.all(viewers.map((page, i) => pollUntil(() => decodes(page, teacherId),
      { timeout: 60_000, interval: 500, message: `viewer ${i + 1} decodes the teacher` })));
    for (const [i, page] of viewers.entries()) {
      assert.equal(await gumCalls(page), 0, `viewer ${i + 1} was never asked for camera or microphone`);
      assert.ok(await page.locator('#self-tile').isHidden(), `viewer ${i + 1} has no self tile`);
      assert.equal(await page.locator('#stage .tile.remote:not([hidden])').count(), 1, `viewer ${i + 1} sees one tile`);
    }
    // The teacher's people panel counts the audience instead of listing it.
    await showPeople(teacher);
    await pollUntil(async () => (await teacher.locator('#viewer-count').textContent())?.includes('8 people watching'),
      { timeout: 10_000, message: 'the teacher sees "8 people watching"' });
    assert.equal(await teacher.locator('#peer-list li:not([hidden])').count(), 0, 'no rows for a quiet audience');
    await lab.screenshot(teacher, 'broadcast-teacher');
    await lab.screenshot(viewers[0], 'broadcast-viewer');
    const zh = viewers[4];
    await lab.screenshot(zh, 'broadcast-viewer-zh');
    await zh.setViewportSize({ width: 375, height: 740 });
    await sleep(300);
    await lab.screenshot(zh, 'broadcast-viewer-zh-phone');
    await zh.setViewportSize(small);
    assert.match(await zh.locator('#status').textContent() ?? '', /正在观看/, 'the Chinese viewer is told it watches');

    // Student 1 raises a hand; the teacher sees it and brings them on stage.
    const [s1] = viewers;
    await s1.click('#hand-toggle');
    const row = teacher.locator(`#peer-list li[data-peer-id="${ids[0]}"]`);
    await row.locator('.hand-tag:not([hidden])').waitFor({ timeout: 10_000 });
    await row.locator('.stage-peer').click();
    await pollUntil(async () => (await gumCalls(s1)) === 1, { timeout: 10_000, message: 'student 1 is asked for media on stage' });
    const watchers = [teacher, ...viewers.slice(1)];
    await Promise.all(watchers.map((page, i) => pollUntil(() => decodes(page, ids[0]),
      { timeout: 60_000, interval: 500, message: `page ${i} decodes student 1 on stage` })));
    assert.ok(await row.locator('.hand-tag').isHidden(), 'coming on stage lowered the hand');
    await sleep(500);
    await lab.screenshot(viewers[1], 'broadcast-on-stage');

    // Back to the audience: its tile goes from every page, its camera closes.
    await row.locator('.stage-peer').click();
    await Promise.all(watchers.map((page, i) => pollUntil(async () =>
      (await page.locator(`#stage .tile.remote[data-peer-id="${ids[0]}"]:not([hidden])`).count()) === 0,
    { timeout: 20_000, interval: 250, message: `page ${i} no longer shows student 1` })));
    await pollUntil(() => s1.evaluate(() => !document.querySelector('#self-tile')?.checkVisibility()),
      { timeout: 10_000, message: "student 1's self tile goes" });
    assert.ok(await decodes(s1, teacherId), 'student 1 still watches the teacher');
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
