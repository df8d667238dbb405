// Simulcast through the router: Alice's page sends her camera in layers (a quarter, half
// and the whole picture); Bob's page gets the layer its tile needs. His tile big: the
// whole picture; his tile made thumbnail-sized: a smaller layer, still decoding; big
// again: the whole picture back. What the router forwards follows the `sfuView` his page
// sends, so this is what a person sees in speaker view's strip versus the stage. Then his
// link is capped with `tc tbf` between the rates Alice's two layers have then: a smaller
// layer, still decoding; the cap lifted: the whole picture again within 10 s (the
// router's bandwidth estimate of his link). Bob's quality panel says which layer the
// router sends him, as the server reports it (`layers`): the lower one under the cap
// (in English and Chinese), the top one after.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sfuCallOfTwo } from '../lib/call.js';
import { pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';

const SKIP = skipReason();

/**
 * What Alice sends in each layer now, kbit/s, over a second (by rid: `m`, `h`).
 * @param {Page} page
 */
async function layerRates(page) {
  const bytes = () => page.evaluate(async () => {
    const pc = Object.values(window.confab.pcs())[0];
    /** @type {Record<string, number>} */
    const out = {};
    (await pc.getStats()).forEach((/** @type {any} */ s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) out[s.rid] = s.bytesSent ?? 0;
    });
    return out;
  });
  const before = await bytes();
  const t0 = Date.now();
  await sleep(1000);
  const after = await bytes();
  const secs = (Date.now() - t0) / 1000;
  const rate = (/** @type {string} */ rid) => Math.round(((after[rid] ?? 0) - (before[rid] ?? 0)) * 8 / secs / 1000);
  return { m: rate('m'), h: rate('h') };
}

/** @typedef {import('playwright-core').Page} Page */

/**
 * The video Bob's page receives from the router: the frame height and frames decoded
 * (one inbound video stream in a two-person call).
 * @param {Page} page
 */
function inboundVideo(page) {
  return page.evaluate(async () => {
    const pc = Object.values(window.confab.pcs())[0];
    /** @type {{frameHeight: number, framesDecoded: number}} */
    const got = { frameHeight: 0, framesDecoded: 0 };
    (await pc.getStats()).forEach((/** @type {any} */ s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        got.frameHeight = s.frameHeight ?? 0;
        got.framesDecoded = s.framesDecoded ?? 0;
      }
    });
    return got;
  });
}

/**
 * Alice's outbound layers: rid, frame height, and why the encoder limits itself.
 * @param {Page} page
 */
function outboundLayers(page) {
  return page.evaluate(async () => {
    const pc = Object.values(window.confab.pcs())[0];
    /** @type {{rid: string, frameHeight: number, limitation: string}[]} */
    const layers = [];
    (await pc.getStats()).forEach((/** @type {any} */ s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        layers.push({ rid: s.rid ?? '', frameHeight: s.frameHeight ?? 0, limitation: s.qualityLimitationReason ?? '' });
      }
    });
    return layers.sort((a, b) => a.rid.localeCompare(b.rid));
  });
}

/**
 * What the open quality panel shows of `peerId`'s video track (one, in a call of two):
 * its layer's key (`data-layer`), the layer's words and the figures, or null before the
 * line exists.
 * @param {Page} page
 * @param {string} peerId
 */
function panelTrack(page, peerId) {
  return page.evaluate((id) => {
    const line = /** @type {HTMLElement | null} */ (
      document.querySelector(`.quality-peer[data-peer-id="${id}"] .quality-track`));
    if (!line || line.offsetParent === null) return null;
    const text = (/** @type {string} */ part) => line.querySelector(`.${part}`)?.textContent ?? '';
    return { layer: line.dataset.layer ?? '', words: text('track-layer'), figures: text('track-figures') };
  }, peerId);
}

/**
 * Waits until the panel shows `peerId`'s track on a layer `ok` accepts; returns it.
 * @param {Page} page
 * @param {string} peerId
 * @param {(layer: string) => boolean} ok
 * @param {string} message
 */
function panelSays(page, peerId, ok, message) {
  return pollUntil(async () => {
    const shown = await panelTrack(page, peerId);
    return shown && ok(shown.layer) ? shown : null;
  }, { timeout: 15_000, interval: 250, message });
}

/**
 * Sets the size Bob's page shows Alice's video at, in CSS pixels (null: as the layout
 * has it).
 * @param {Page} page
 * @param {string} peerId
 * @param {[number, number] | null} size
 */
function sizeTile(page, peerId, size) {
  return page.evaluate(([id, wh]) => {
    const video = /** @type {HTMLVideoElement} */ (document.querySelector(`#stage .tile[data-peer-id="${id}"] video`));
    video.style.width = wh ? `${wh[0]}px` : '';
    video.style.height = wh ? `${wh[1]}px` : '';
  }, /** @type {const} */ ([peerId, size]));
}

test('simulcast: a thumbnail or a capped link gets a smaller layer from the router, a big tile the whole picture',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2, confabArgs: ['--media', 'sfu'] });
    {
      const [alice, bob] = lab.pages;
      const { aliceId } = await sfuCallOfTwo(lab, roomName('simulcast'));

      // Alice sends more than one layer (how many the browser allows for the camera's size).
      const layers = await pollUntil(async () => {
        const l = await outboundLayers(alice);
        return l.filter((x) => x.frameHeight > 0).length >= 2 ? l : null;
      }, { timeout: 20_000, message: 'Alice sends at least two layers' });
      console.log('alice sends', JSON.stringify(layers));
      const top = Math.max(...layers.map((l) => l.frameHeight));

      // Bob's tile is big: he gets the whole picture (the router's estimate of his link
      // grows to carry it within seconds).
      await pollUntil(async () => (await inboundVideo(bob)).frameHeight === top,
        { timeout: 20_000, message: `Bob gets Alice's top layer (${top} px tall)` });

      // A thumbnail: a smaller layer, and it keeps decoding.
      await sizeTile(bob, aliceId, [96, 54]);
      const small = await pollUntil(async () => {
        const v = await inboundVideo(bob);
        return v.frameHeight > 0 && v.frameHeight <= top / 2 ? v : null;
      }, { timeout: 15_000, message: 'Bob gets a smaller layer for a thumbnail' });
      await pollUntil(async () => (await inboundVideo(bob)).framesDecoded > small.framesDecoded + 10,
        { timeout: 10_000, message: 'the small layer decodes' });
      await lab.screenshot(bob, 'simulcast-thumbnail');
      console.log(`bob: ${top} px tall with a big tile, ${small.frameHeight} px as a thumbnail`);

      // Big again: the whole picture back.
      await sizeTile(bob, aliceId, null);
      await pollUntil(async () => (await inboundVideo(bob)).frameHeight === top,
        { timeout: 20_000, message: 'Bob gets the top layer back' });
      assert.ok((await outboundLayers(alice)).length >= 2);

      // Bob opens his quality panel: Alice's camera comes on the router's top layer.
      await bob.click('#more-toggle');
      await bob.click('#quality-toggle');
      const high = await panelSays(bob, aliceId, (l) => l === 'high', "Bob's panel says the top layer");
      assert.equal(high.words, 'Layer: high');

      // Bob's link capped (`tc tbf` on the server's side of his cable: what reaches him)
      // between what Alice's two layers need as she sends them now (a CPU-starved encoder
      // sends less than its maximum): the top layer no longer fits, the smaller one does
      // (the router budgets 85 % of its estimate, less 48 kbit/s of audio). A quarter of
      // the way from the smaller to the top layer, so a top layer that dips for a while
      // (the encoder starved of CPU: load 12 once held it at the midpoint) still does not
      // fit ...
      const rates = await layerRates(alice);
      const cap = Math.round(((3 * rates.m + rates.h) / 4 + 48) / 0.85);
      console.log(`alice's layers: ${JSON.stringify(rates)} kbit/s; cap ${cap} kbit/s`);
      const run = (/** @type {string[]} */ args) => lab.net.run(lab.net.serverNs, 'tc', args);
      const dev = `v${lab.net.clients[1].role}`;
      run(['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${cap}kbit`, 'burst', '20kb', 'latency', '100ms']);
      const capped = await pollUntil(async () => {
        const v = await inboundVideo(bob);
        return v.frameHeight > 0 && v.frameHeight < top ? v : null;
      }, { timeout: 30_000, message: `Bob gets a smaller layer under a ${cap} kbit/s cap` });
      await pollUntil(async () => (await inboundVideo(bob)).framesDecoded > capped.framesDecoded + 10,
        { timeout: 10_000, message: 'the smaller layer decodes under the cap' });
      // His panel says so: a lower layer (of Alice's two, the low one), in words; and
      // window.confab.quality() the same.
      const lower = await panelSays(bob, aliceId, (l) => l === 'low' || l === 'medium',
        "Bob's panel says a lower layer under the cap");
      assert.equal(lower.words, `Layer: ${lower.layer}`);
      const figures = (await bob.evaluate(() => window.confab.quality()))[aliceId];
      console.log(`bob's panel under the cap: ${JSON.stringify(lower)}; quality(): ${JSON.stringify(figures?.tracks)}`);
      assert.equal(figures?.tracks?.[0]?.layer, lower.layer);
      await lab.screenshot(bob, 'simulcast-quality-capped');
      // The same in Chinese.
      const language = (/** @type {string} */ lang) => bob.evaluate((l) => {
        const select = /** @type {HTMLSelectElement} */ (document.querySelector('#language'));
        select.value = l;
        select.dispatchEvent(new Event('change'));
      }, lang);
      await language('zh-CN');
      await pollUntil(async () => (await panelTrack(bob, aliceId))?.words.startsWith('画质层：') || null,
        { timeout: 5_000, message: "Bob's panel in Chinese" });
      await lab.screenshot(bob, 'simulcast-quality-capped-zh');
      await language('en');
      // ... and the top one within 10 s of the cap lifting.
      run(['qdisc', 'del', 'dev', dev, 'root']);
      const lifted = Date.now();
      await pollUntil(async () => (await inboundVideo(bob)).frameHeight === top,
        { timeout: 10_000, interval: 100, message: 'Bob gets the top layer back within 10 s of the cap lifting' });
      console.log(`bob: ${capped.frameHeight} px tall under the cap, ${top} px again ${Date.now() - lifted} ms after it lifted`);
      // His panel says the top layer again.
      const again = await panelSays(bob, aliceId, (l) => l === 'high', "Bob's panel says the top layer after the cap");
      assert.equal(again.words, 'Layer: high');
      console.log(`bob's panel ${Date.now() - lifted} ms after the cap lifted: ${JSON.stringify(again)}`);
      await lab.screenshot(bob, 'simulcast-quality-lifted');
    }
  });
