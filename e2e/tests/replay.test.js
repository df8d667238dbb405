// Replaying a server recording: Alice (host) and Bob record a call through the router;
// the manifest names each track's person and start. Alice's Recordings list links the
// recording's replay page, which plays both people's videos side by side, labelled with
// their names: both decode frames, their clocks stay within 150 ms of each other while
// playing, and a seek moves both. A tampered link shows an error in words. Screenshots:
// desktop 1280x800 and phone 375x740, in English and Chinese.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sfuCallOfTwo } from '../lib/call.js';
import { pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';

const SKIP = skipReason();
/** How far apart (s) the two videos' clocks may be while playing. */
const IN_SYNC_S = 0.15;

/** @typedef {import('playwright-core').Page} Page */

/**
 * The replay page's videos: their time, whether they play, frames decoded, and the tile's
 * name. @param {Page} page
 */
function videos(page) {
  return page.evaluate(() => [...document.querySelectorAll('#replay-tiles figure')].map((f) => {
    const v = /** @type {HTMLVideoElement | null} */ (f.querySelector('video'));
    return {
      name: f.querySelector('.replay-name')?.textContent ?? '',
      // On the recording's clock (a player that starts files at zero shifts them).
      time: (v?.currentTime ?? -1) + Number(v?.dataset.shift ?? 0),
      paused: v?.paused ?? true,
      frames: v?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
      width: v?.videoWidth ?? 0,
      placed: `start ${v?.dataset.start} shift ${v?.dataset.shift}`,
    };
  }));
}

/** Sets the seek bar to `s` as a user would (an input event). @param {Page} page @param {number} s */
async function seekTo(page, s) {
  await page.evaluate((to) => {
    const seek = /** @type {HTMLInputElement} */ (document.getElementById('replay-seek'));
    seek.value = String(to);
    seek.dispatchEvent(new Event('input', { bubbles: true }));
  }, s);
}

test('replay: a recording\'s tracks play side by side, in sync, from the host\'s signed link',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'confab-e2e-replay-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const lab = await startLab({ t, browsers: 2, dataDir, confabArgs: ['--media', 'sfu'] });
    const [alice] = lab.pages;
    const room = roomName('replay');
    await sfuCallOfTwo(lab, room);
    await alice.click('#record-toggle');
    await alice.locator('#recording-tag:not([hidden])').waitFor({ timeout: 10_000 });
    await sleep(6000);
    await alice.click('#record-toggle');
    await alice.locator('#recording-tag').waitFor({ state: 'hidden', timeout: 10_000 });

    // The manifest names each track's person and where it starts.
    const base = join(dataDir, 'recordings', room);
    const folder = await pollUntil(() => {
      const dirs = readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory());
      return dirs.map((d) => join(base, d.name)).find((d) => readdirSync(d).includes('recording.json')) ?? null;
    }, { timeout: 10_000, message: 'the recording is finished' });
    const manifest = JSON.parse(readFileSync(join(folder, 'recording.json'), 'utf8'));
    t.diagnostic(`manifest files: ${JSON.stringify(manifest.files)}`);
    assert.deepEqual(manifest.files.map((/** @type {{name: string}} */ f) => f.name).sort(), ['Alice', 'Alice', 'Bob', 'Bob']);
    assert.ok(manifest.files.every((/** @type {{startMs: unknown}} */ f) => Number.isSafeInteger(f.startMs)), 'each file has its start');

    // The host's list links the replay page.
    await alice.click('#more-toggle');
    await alice.click('#menu-recordings');
    const replayLink = alice.locator(`#recordings-list li[data-recording-id="${folder.split('/').pop()}"] .rec-replay`);
    await replayLink.waitFor({ timeout: 10_000 });
    assert.equal(await replayLink.textContent(), 'Replay');
    const href = /** @type {string} */ (await replayLink.getAttribute('href'));
    assert.match(href, /^\/replay\/[^/]+\/\d+-\d+\?exp=\d+&sig=[0-9a-f]+$/);
    await lab.screenshot(alice, 'replay-recordings-list');

    const page = await lab.browsers[0].context.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(lab.url(href));
    await page.locator('#replay-controls:not([hidden])').waitFor({ timeout: 20_000 });
    const before = await videos(page);
    t.diagnostic(`placed: ${before.map((v) => `${v.name}: ${v.placed}`).join('; ')}`);
    assert.deepEqual(before.map((v) => v.name).sort(), ['Alice', 'Bob'], 'a tile per person, with their name');

    // Play: both decode frames and keep within IN_SYNC_S of each other.
    await page.click('#replay-play');
    await pollUntil(async () => (await videos(page)).every((v) => !v.paused && v.frames > 0 && v.width > 0),
      { timeout: 10_000, message: 'both videos play and decode frames' });
    let worst = 0;
    for (let i = 0; i < 15; i++) {
      const vs = await videos(page);
      if (vs.every((v) => !v.paused)) worst = Math.max(worst, Math.abs(vs[0].time - vs[1].time));
      await sleep(200);
    }
    t.diagnostic(`the videos' clocks were at most ${(worst * 1000).toFixed(0)} ms apart while playing`);
    assert.ok(worst <= IN_SYNC_S, `videos ${worst} s apart`);
    await lab.screenshot(page, 'replay-desktop-en');

    // A seek moves both (paused: exactly there; playing: from there on).
    await page.click('#replay-play');
    await seekTo(page, 1.0);
    await pollUntil(async () => (await videos(page)).every((v) => Math.abs(v.time - 1.0) <= 0.1),
      { timeout: 5_000, message: 'a seek while paused moves both videos to 1 s' })
      .catch(async (e) => assert.fail(`${e.message}: ${JSON.stringify(await videos(page))}`));
    assert.match(await page.locator('#replay-time').textContent() ?? '', /^0:01 \/ 0:0[5-9]$/);
    await page.click('#replay-play');
    await seekTo(page, 3.0);
    await sleep(600);
    const moved = await videos(page);
    assert.ok(moved.every((v) => v.time >= 3.0 && v.time <= 4.2 && !v.paused), `after a seek to 3 s while playing: ${JSON.stringify(moved)}`);
    assert.ok(Math.abs(moved[0].time - moved[1].time) <= IN_SYNC_S, `in sync after the seek: ${JSON.stringify(moved)}`);
    await page.click('#replay-play');

    // Chinese, then a phone.
    await page.selectOption('#language', 'zh-CN');
    assert.equal(await page.locator('#replay-play').textContent(), '播放');
    await lab.screenshot(page, 'replay-desktop-zh');
    await page.setViewportSize({ width: 375, height: 740 });
    await sleep(300);
    await lab.screenshot(page, 'replay-phone-zh', { fullPage: true });
    await page.selectOption('#language', 'en');
    await lab.screenshot(page, 'replay-phone-en', { fullPage: true });

    // A tampered link: an error in words, and no tracks.
    const bad = await lab.browsers[0].context.newPage();
    await bad.goto(lab.url(href.replace(/sig=../, 'sig=00')));
    const status = bad.locator('#replay-status[role="alert"]');
    await status.waitFor({ timeout: 10_000 });
    assert.match(await status.textContent() ?? '', /wrong or has expired/);
    assert.equal(await bad.locator('#replay-tiles figure').count(), 0);
    await lab.screenshot(bad, 'replay-bad-link');
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
