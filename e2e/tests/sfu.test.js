// Calls through the server's media router (SFU), five namespaced browsers: a mesh call of
// four grows to five and moves to the router without any tile going black for a second;
// then every page decodes every other page's video and receives its audio over its one
// connection to the server, a shared screen reaches all four others, and a hang-up
// leaves the other four decoding each other.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, callIsUp, invite, joinRoom, waitForCall, waitForIdle, waitForInvitation } from '../lib/call.js';
import { callStats, pollUntil, roomName, skipReason, sleep, startLab, waitFor } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();

/** A 100 ms timer that comes this late means the page itself could not run. */
const STARVED_AFTER_MS = 400;

/**
 * Starts watching, inside `page`, the remote tiles of `ids`: every 100 ms it notes, per
 * peer, whether a visible tile shows its video moving (a picture, and `currentTime`
 * advancing); `stopGapWatch` returns the longest time each went without. Measured in the
 * page so that the test's own latency under load does not count; nor does time in which
 * the page's own timer could not run (a starved renderer: every tile and the page stop
 * together, whatever the call does), which is logged.
 * @param {Page} page
 * @param {string[]} ids
 */
function startGapWatch(page, ids) {
  return page.evaluate(([watched, STARVED_AFTER_MS]) => {
    /** @type {Record<string, {last: number, time: number, worst: number, at: number, from: string, to: string, via: string}>} */
    const seen = {};
    const start = performance.now();
    for (const id of watched) seen[id] = { last: start, time: -1, worst: 0, at: 0, from: '', to: '', via: '' };
    const page = { tick: start, worstTick: 0, at: 0, starved: 0 };
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - page.tick > page.worstTick) Object.assign(page, { worstTick: now - page.tick, at: page.tick - start });
      // Time in which this page could not run at all (its renderer starved of CPU, the
      // whole page frozen) says nothing about the move: it is not counted as a tile's.
      const starved = Math.max(0, now - page.tick - STARVED_AFTER_MS);
      page.starved += starved;
      for (const s of Object.values(seen)) s.last = Math.min(now, s.last + starved);
      page.tick = now;
      for (const tile of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#stage .tile.remote'))) {
        const id = tile.dataset.peerId ?? '';
        const video = tile.querySelector('video');
        const s = seen[id];
        if (!s || tile.hidden || !tile.checkVisibility() || !video || video.videoWidth === 0) continue;
        const via = tile.dataset.transport ?? 'mesh';
        if (video.currentTime !== s.time) {
          if (now - s.last > s.worst) Object.assign(s, { worst: now - s.last, at: s.last - start, to: via });
          s.time = video.currentTime;
          s.last = now;
          s.from = via;
        }
        s.via = via;
      }
      for (const s of Object.values(seen)) {
        if (now - s.last > s.worst) Object.assign(s, { worst: now - s.last, at: s.last - start, to: `(${s.via}, still frozen)` });
      }
    }, 100);
    /** @type {any} */ (window).__gapWatch = { timer, seen, page };
  }, /** @type {[string[], number]} */ ([ids, STARVED_AFTER_MS]));
}

/**
 * @param {Page} page
 * @returns {Promise<{gaps: Record<string, number>, starved: number}>} the worst gap in ms per
 *   peer, and the time the page could not run at all
 */
function stopGapWatch(page) {
  return page.evaluate(() => {
    const w = /** @type {any} */ (window).__gapWatch;
    clearInterval(w.timer);
    const seen = /** @type {Record<string, any>} */ (w.seen);
    console.info(`gap watch: the page's own 100 ms timer came after ${Math.round(w.page.worstTick)} ms at most (from ${Math.round(w.page.at)} ms); ${Math.round(w.page.starved)} ms starved in all, not counted`);
    for (const [id, s] of Object.entries(seen)) {
      if (s.worst > 500) console.info(`gap watch: ${id} froze ${Math.round(s.worst)} ms from ${Math.round(s.at)} ms, showing ${s.from} then ${s.to}`);
    }
    return {
      gaps: Object.fromEntries(Object.entries(seen).map(([id, s]) => [id, Math.round(s.worst)])),
      starved: Math.round(w.page.starved),
    };
  });
}

/**
 * Whether every other member's media reaches `page` through the router: one shared
 * connection, video decoding and audio arriving from each.
 * @param {Page} page
 * @param {string[]} others
 */
async function throughRouter(page, others) {
  const s = await callStats(page);
  const pcs = await page.evaluate(() => {
    const all = Object.values(window.confab.pcs());
    return { count: all.length, distinct: new Set(all).size };
  });
  return pcs.distinct === 1 && others.every((id) => callIsUp(s[id])) ? s : null;
}

test('sfu: a call of four moves to the router when the fifth joins; everyone decodes everyone',
  { skip: SKIP, timeout: 240_000 }, async (t) => {
    // Eve's browser speaks Chinese: the SFU call is looked at in both languages. Five
    // browsers encode and decode on two cores: their fake cameras run at 15 frames a
    // second, or a page starved of CPU stops its own receiving long enough for the
    // router's estimate of its link to collapse (seen: one page got 1 packet of video in
    // 13 s while the others got hundreds).
    const slow = { extraArgs: ['--use-fake-device-for-media-stream=fps=15'] };
    const lab = await startLab({ t, browsers: [slow, slow, slow, slow, { ...slow, locale: 'zh-CN' }],
      confabArgs: ['--media', 'auto', '--mesh-max', '4'] });
    const pages = lab.pages;
    const names = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve'];
    const room = roomName('sfu');
    /** @type {string[]} */
    const ids = [];
    for (const [i, page] of pages.entries()) ids.push(await joinRoom(lab, page, room, names[i]));
    const [alice, bob, carol, dave, eve] = pages;

    // A mesh of four: Alice calls Bob, Carol and Dave join the running call.
    await invite(alice, ids[1], { expect: 'Call' });
    await waitForInvitation(bob);
    await accept(bob);
    for (const page of [carol, dave]) {
      await page.click('#join-call', { timeout: 10_000 });
      await sleep(300);
    }
    const four = [alice, bob, carol, dave];
    await Promise.all(four.map((page, i) => Promise.all(ids.slice(0, 4).filter((_, j) => j !== i)
      .map((id) => waitForCall(page, id, { label: names[i], needFirstFrame: false, timeout: 60_000 })))));
    for (const page of four) {
      const pcs = await page.evaluate(() => new Set(Object.values(window.confab.pcs())).size);
      assert.equal(pcs, 3, 'a mesh of four: three connections each');
    }

    // Eve turns her camera on first (nothing opens it on entering a room; a camera that
    // starts during the move itself would add its encoder's start to two loaded cores).
    await eve.click('#cam-toggle');
    await waitFor(eve, () => {
      const v = /** @type {HTMLVideoElement | null} */ (document.getElementById('local-video'));
      return v !== null && v.videoWidth > 0 && v.currentTime > 0;
    }, { timeout: 10_000, message: "Eve's camera is on" });

    // Eve joins: the call moves to the router. Alice's three tiles keep showing moving
    // video all along: none missing or frozen for a second.
    await startGapWatch(alice, ids.slice(1, 4));
    await eve.click('#join-call', { timeout: 10_000 });
    const others = (/** @type {number} */ i) => ids.filter((_, j) => j !== i);
    await Promise.all(pages.map((page, i) => pollUntil(() => throughRouter(page, others(i)),
      { timeout: 90_000, interval: 500, message: `${names[i]} decodes all four others through the router` })));
    await sleep(1000);
    const { gaps, starved } = await stopGapWatch(alice);
    console.log(`sfu: longest time each of Alice's tiles went without moving video during the move: ${JSON.stringify(gaps)}` +
      ` (not counted: ${starved} ms in which Alice's page could not run)`);
    for (const [id, gap] of Object.entries(gaps)) {
      assert.ok(gap <= 1000, `Alice's tile of ${id} went black or froze for ${gap} ms (over a second)`);
    }
    for (const [i, page] of pages.entries()) {
      assert.equal(await page.locator('#stage .tile.remote:not([hidden])').count(), 4, `${names[i]} sees four tiles`);
      const tiles = await page.locator('#stage .tile.remote:not([hidden]) .peer-name').allTextContents();
      assert.deepEqual(tiles.sort(), names.filter((_, j) => j !== i).sort(), `${names[i]}'s tiles carry names`);
    }
    // The quality panel shows each member's share of the SFU connection.
    const figures = await pollUntil(async () => {
      const q = await alice.evaluate(() => window.confab.quality());
      return others(0).every((id) => q[id]?.bitrateInKbps > 0 && q[id]?.fps !== null) ? q : null;
    }, { timeout: 15_000, interval: 500, message: "Alice's quality panel has figures for all four" });
    console.log(`sfu: Alice's quality figures: ${JSON.stringify(Object.values(figures).map((q) =>
      ({ in: q.bitrateInKbps, fps: q.fps, w: q.width, path: q.candidateType })))}`);
    await sleep(500);
    await lab.screenshot(alice, 'sfu-call-5');
    await lab.screenshot(eve, 'sfu-call-5-zh');
    await alice.setViewportSize({ width: 375, height: 740 });
    await sleep(300);
    await lab.screenshot(alice, 'sfu-call-5-phone');
    await alice.setViewportSize({ width: 1280, height: 800 });

    // Alice shares her screen: everyone sees it in her tile (1280 wide; the camera is
    // 640), through the router, without renegotiating; then her camera comes back.
    const aliceWidth = (/** @type {Page} */ page) => page.evaluate((id) => {
      const tile = /** @type {HTMLElement | null} */ (document.querySelector(`#stage .tile.remote[data-peer-id="${id}"]:not([hidden])`));
      return tile?.querySelector('video')?.videoWidth ?? 0;
    }, ids[0]);
    const viewers = [bob, carol, dave, eve];
    // Her tile says she presents and shows the screen whole: the server's presence is
    // the only way to know it through the router.
    const presenting = (/** @type {Page} */ page) => page.evaluate((id) => document
      .querySelector(`#stage .tile.remote[data-peer-id="${id}"]:not([hidden])`)?.classList.contains('presenting') ?? false, ids[0]);
    await alice.click('#screen-toggle');
    await Promise.all(viewers.map((page, i) => pollUntil(async () => (await aliceWidth(page)) >= 1000 && (await presenting(page)),
      { timeout: 30_000, interval: 250, message: `${names[i + 1]} sees Alice's screen, marked as presented` })));
    await lab.screenshot(carol, 'sfu-screen-share');
    // Carol's quality panel names Alice's track by what it carries.
    await carol.click('#more-toggle');
    await carol.click('#quality-toggle');
    const trackName = () => carol.evaluate((id) => document
      .querySelector(`.quality-peer[data-peer-id="${id}"] .quality-track .track-name`)?.textContent ?? '', ids[0]);
    await pollUntil(async () => (await trackName()) === 'Screen', { timeout: 10_000, message: "Carol's panel: Alice's screen" });
    await alice.click('#screen-toggle');
    await Promise.all(viewers.map((page, i) => pollUntil(async () => {
      const w = await aliceWidth(page);
      return w > 0 && w < 1000 && !(await presenting(page));
    }, { timeout: 30_000, interval: 250, message: `${names[i + 1]} sees Alice's camera again` })));
    await pollUntil(async () => (await trackName()) === 'Video', { timeout: 10_000, message: "Carol's panel: Alice's video again" });
    await carol.click('#quality-close');

    // Bob hangs up: the other four keep decoding each other through the router.
    await bob.click('#hangup');
    await waitForIdle(bob, { label: 'Bob' });
    const rest = [0, 2, 3, 4];
    await Promise.all(rest.map((i) => pollUntil(async () => {
      const s = await throughRouter(pages[i], others(i).filter((id) => id !== ids[1]));
      return s && !(ids[1] in s) ? s : null;
    }, { timeout: 30_000, interval: 500, message: `${names[i]} keeps the others, not Bob` })));
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
