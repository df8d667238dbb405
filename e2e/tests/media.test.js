// Screen share, device choice, peers' mute state and the call quality panel, between two
// namespaced Chromiums in a call. Headless Chromium shares its own (virtual) screen with
// getDisplayMedia under --use-fake-ui-for-media-stream, which the lab already passes:
// no picker. With --use-fake-device-for-media-stream as well, what it captures is a fake
// 1280x720 test pattern like the fake camera's (640x480), so the test tells screen from
// camera by the decoded size. Cameras: one by default; with
// --use-fake-device-for-media-stream=device-count=3 there are three, fake_device_0..2.
// fake_device_1 is no use for a call: its track plays in a <video> but an RTCRtpSender
// gets no frames from it (seemingly the fake factory's Y16 depth-format device), so the
// test switches from fake_device_0 to fake_device_2 (MJPEG). Microphones and speakers
// come as three each (a default and two more) either way.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfOverPicture } from '../lib/audit.js';
import { establishCall } from '../lib/call.js';
import { describeConfab, pollUntil, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {{width: number, height: number, green: number}} Picture */

const SKIP = skipReason();
const CONNECTED = ['connected', 'completed'];

/**
 * What `page` shows of `peerId`'s video: its decoded size, and how much of a downscaled
 * frame is the fake patterns' green (so a real picture, not a black frame, is shown).
 * @param {Page} page
 * @param {string} peerId
 * @returns {Promise<Picture>}
 */
function remotePicture(page, peerId) {
  return page.evaluate((id) => {
    const v = /** @type {HTMLVideoElement | null} */ (document.querySelector(`.remote[data-peer-id="${id}"] video`));
    if (!v || !v.videoWidth) return { width: 0, height: 0, green: 0 };
    const c = document.createElement('canvas');
    c.width = 80;
    c.height = 50;
    const g = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')); // a canvas always has one
    g.drawImage(v, 0, 0, c.width, c.height);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let green = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 1] > 90 && d[i + 1] > 1.6 * d[i] && d[i + 1] > 1.6 * d[i + 2]) green++;
    return { width: v.videoWidth, height: v.videoHeight, green: green / (d.length / 4) };
  }, peerId);
}

/** @param {Page} page */
async function offers(page) {
  const s = await page.evaluate(() => window.confab.stats());
  return Object.values(s).map((x) => x.offers);
}

/**
 * @param {Page} page
 * @param {string} peerId
 * @param {(p: Picture) => boolean} pred
 * @param {string} what
 * @param {number} [timeout]
 */
async function waitPicture(page, peerId, pred, what, timeout = 15_000) {
  /** @type {Picture | undefined} */
  let last;
  try {
    return await pollUntil(async () => {
      last = await remotePicture(page, peerId);
      return pred(last) ? last : null;
    }, { timeout, interval: 100, message: what });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}; last picture ${JSON.stringify(last)}\n${await describeConfab(page)}`);
  }
}

/**
 * @param {Page} page
 * @param {string} label
 */
async function assertCallUp(page, label) {
  const s = await page.evaluate(() => window.confab.stats());
  for (const [id, x] of Object.entries(s)) {
    assert.ok(CONNECTED.includes(x.iceConnectionState), `${label}: call with ${id} is ${x.iceConnectionState}`);
  }
  assert.equal(Object.keys(s).length, 1, `${label} still has its call`);
}

test('screen share: the peer sees the screen, then the camera again; the call never drops',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    const { ids: [aliceId] } = await establishCall(lab, [alice, bob], roomName('screen'), ['Alice', 'Bob']);
    const cam = await waitPicture(bob, aliceId, (p) => p.width > 0 && p.green > 0.9, "Bob sees Alice's camera");
    t.diagnostic(`camera at Bob: ${JSON.stringify(cam)}`);
    // The camera again is told from the screen by its shape (4:3 against 16:9), not its
    // size: a busy sender's encoder may scale the camera down (CI saw 480x360 for 640x480).
    /** @param {Picture} p */
    const isCamera = (p) => p.width > 0 && p.width < 1000 && Math.abs(p.width / p.height - cam.width / cam.height) < 0.02;
    const offersBefore = [await offers(alice), await offers(bob)];

    await alice.click('#screen-toggle');
    await waitFor(alice, () => /** @type {Element} */ (document.querySelector('#screen-toggle')).getAttribute('aria-pressed') === 'true',
      { message: 'Alice is presenting' });
    const screen = await waitPicture(bob, aliceId,
      (p) => p.width >= 1000, "Bob sees Alice's screen (1280 wide, where the camera is 640)");
    t.diagnostic(`screen at Bob: ${JSON.stringify(screen)}`);
    assert.ok(screen.green > 0.5, 'the shared picture is drawn, not black');
    await waitFor(bob, (id) => document.querySelector(`.remote[data-peer-id="${id}"]`)?.classList.contains('presenting'),
      { arg: aliceId, message: "Bob's tile says Alice is presenting" });
    await lab.screenshot(bob, 'screen-share-bob');
    await lab.screenshot(alice, 'screen-share-alice');
    // Bob's own picture sits beside the screen, not on its corner; on a phone, below it.
    assert.equal(await selfOverPicture(bob, aliceId), 0, "Bob's own tile covers none of Alice's screen");
    await bob.setViewportSize({ width: 375, height: 740 });
    await bob.waitForTimeout(300);
    assert.equal(await selfOverPicture(bob, aliceId), 0, 'nor on a phone');
    await lab.screenshot(bob, 'screen-share-bob-phone');
    await bob.setViewportSize({ width: 1280, height: 800 });

    // Stop with our button: the camera comes back.
    await alice.click('#screen-toggle');
    const back = await waitPicture(bob, aliceId, isCamera, "Bob sees Alice's camera again");
    t.diagnostic(`camera again at Bob: ${JSON.stringify(back)}`);
    await assertCallUp(alice, 'Alice');
    await assertCallUp(bob, 'Bob');

    // Again, and this time the browser ends the capture (its own "Stop sharing" button
    // ends the track; headless has no such bar, so the test fires the same `ended` event
    // on the shared track).
    await alice.click('#screen-toggle');
    await waitPicture(bob, aliceId, (p) => p.width >= 1000, 'screen again');
    await alice.evaluate(() => {
      const video = /** @type {HTMLVideoElement} */ (document.getElementById('local-video'));
      const track = /** @type {MediaStream} */ (video.srcObject).getVideoTracks()[0];
      if (!track.label.startsWith('screen')) throw new Error(`not the screen: ${track.label}`);
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    await waitPicture(bob, aliceId, isCamera, "camera after the browser's stop");
    assert.equal(await alice.getAttribute('#screen-toggle', 'aria-pressed'), 'false');
    await waitFor(bob, (id) => !document.querySelector(`.remote[data-peer-id="${id}"]`)?.classList.contains('presenting'),
      { arg: aliceId, message: "Bob's tile no longer says presenting" });
    await assertCallUp(alice, 'Alice');
    await assertCallUp(bob, 'Bob');
    assert.deepEqual([await offers(alice), await offers(bob)], offersBefore, 'no renegotiation (no new offer)');
  });

test('devices: switching camera and microphone mid-call keeps the call, no renegotiation; mute is seen',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [
      { extraArgs: ['--use-fake-device-for-media-stream=device-count=3'] }, {}] });
    const [alice, bob] = lab.pages;
    const { ids: [aliceId, bobId] } = await establishCall(lab, [alice, bob], roomName('devices'), ['Alice', 'Bob']);
    const offersBefore = [await offers(alice), await offers(bob)];
    const media0 = await alice.evaluate(() => window.confab.media);
    const mic0 = /** @type {NonNullable<typeof media0.microphone>} */ (media0.microphone);
    assert.equal(/** @type {NonNullable<typeof media0.camera>} */ (media0.camera).label, 'fake_device_0');
    for (const k of /** @type {const} */ (['echoCancellation', 'noiseSuppression', 'autoGainControl'])) {
      assert.equal(mic0[k], true, `${k} on by default`);
    }
    const sending = () => alice.evaluate(() => Object.values(window.confab.pcs())[0].getSenders()
      .filter((s) => s.track).map((s) => /** @type {MediaStreamTrack} */ (s.track).label).sort());

    await alice.click('#more-toggle');
    await alice.click('#devices-toggle');
    await waitFor(alice, () => document.querySelectorAll('#camera-select option').length === 3,
      { message: 'three cameras listed' });
    await lab.screenshot(alice, 'devices-alice');
    const cams = await alice.$$eval('#camera-select option', (o) => o.map((x) => x.textContent));
    assert.deepEqual(cams, ['fake_device_0', 'fake_device_1', 'fake_device_2']);

    // Mute first: the mute must survive the microphone switch, and Bob sees it.
    await alice.click('#mic-toggle');
    await waitFor(bob, (id) => window.confab.peerStates[id]?.micMuted === true
      && /** @type {Element} */ (document.querySelector(`.remote[data-peer-id="${id}"]`)).classList.contains('mic-off'),
    { arg: aliceId, message: "Bob sees Alice muted" });

    await alice.selectOption('#camera-select', { label: 'fake_device_2' });
    await waitFor(alice, () => window.confab.media.camera?.label === 'fake_device_2', { message: 'camera switched' });
    await alice.selectOption('#mic-select', { label: 'Fake Audio Input 1' });
    await waitFor(alice, () => window.confab.media.microphone?.label === 'Fake Audio Input 1', { message: 'mic switched' });
    assert.deepEqual(await sending(), ['Fake Audio Input 1', 'fake_device_2'], 'the call sends the new devices');
    const media1 = await alice.evaluate(() => window.confab.media);
    assert.equal(media1.switches, 2);
    assert.equal(/** @type {NonNullable<typeof media1.microphone>} */ (media1.microphone).echoCancellation, true, 'echo cancellation on for the new microphone');
    assert.equal(await alice.getAttribute('#mic-toggle', 'aria-pressed'), 'true', 'still muted after the switch');
    const bobSees = /** @type {import('../../web/js/room/room.js').PeerMedia} */ ((await bob.evaluate(() => window.confab.peerStates))[aliceId]);
    assert.equal(bobSees.micMuted, true);

    // Bob keeps decoding Alice's video from the new camera.
    const f0 = (await bob.evaluate(() => window.confab.stats()))[aliceId].framesDecoded;
    try {
      await waitFor(bob, ([id, f]) => window.confab.stats().then((s) => s[id].framesDecoded > f + 20),
        { arg: /** @type {[string, number]} */ ([aliceId, f0]), message: 'frames keep coming' });
    } catch (e) {
      const out = await alice.evaluate(async () => {
        /** @type {RTCStats[]} */
        const r = [];
        (await Object.values(window.confab.pcs())[0].getStats()).forEach((s) => { if (s.type === 'outbound-rtp' || s.type === 'media-source') r.push(s); });
        return r;
      });
      throw new Error(`${/** @type {Error} */ (e).message}\nf0=${f0} now=${JSON.stringify((await bob.evaluate(() => window.confab.stats()))[aliceId])}\nAlice out: ${JSON.stringify(out)}`);
    }

    // Unmute: Bob sees that too.
    await alice.click('#mic-toggle');
    await waitFor(bob, (id) => window.confab.peerStates[id]?.micMuted === false
      && !/** @type {Element} */ (document.querySelector(`.remote[data-peer-id="${id}"]`)).classList.contains('mic-off'),
    { arg: aliceId, message: 'Bob sees Alice unmuted' });

    // Bob picks a speaker: his remote <video> plays through it.
    await bob.click('#more-toggle');
    await bob.click('#devices-toggle');
    await bob.selectOption('#speaker-select', { label: 'Fake Audio Output 1' });
    await waitFor(bob, (id) => {
      const v = /** @type {HTMLVideoElement} */ (document.querySelector(`.remote[data-peer-id="${id}"] video`));
      const opt = [.../** @type {NodeListOf<HTMLOptionElement>} */ (document.querySelectorAll('#speaker-select option'))]
        .find((o) => o.textContent === 'Fake Audio Output 1');
      return v.sinkId && v.sinkId === /** @type {HTMLOptionElement} */ (opt).value;
    }, { arg: aliceId, message: "Bob's speaker switched (setSinkId)" });

    await assertCallUp(alice, 'Alice');
    await assertCallUp(bob, 'Bob');
    assert.deepEqual([await offers(alice), await offers(bob)], offersBefore, 'no renegotiation (no new offer)');
    t.diagnostic(`offers per side stayed ${JSON.stringify(offersBefore)}; bob id ${bobId}`);
  });

test('quality panel: per-peer figures on screen and through window.confab.quality()',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    const { ids: [, bobId] } = await establishCall(lab, [alice, bob], roomName('quality'), ['Alice', 'Bob']);
    await alice.click('#more-toggle');
    await alice.click('#quality-toggle');
    assert.ok(await alice.locator('#quality').isVisible(), 'the panel opens');
    const q = await pollUntil(async () => {
      const all = await alice.evaluate(() => window.confab.quality());
      const x = all[bobId];
      return x && x.bitrateInKbps > 0 && x.bitrateOutKbps > 0 && /** @type {number} */ (x.fps) > 0 && x.rttMs !== null ? x : null;
    }, { timeout: 15_000, interval: 500, message: 'quality figures' });
    t.diagnostic(`Alice's figures for Bob: ${JSON.stringify(q)}`);
    assert.equal(q.candidateType, 'host');
    assert.ok(/** @type {number} */ (q.setupMs) > 0 && /** @type {number} */ (q.setupMs) < 15_000, `setup ${q.setupMs} ms`);
    assert.ok(/** @type {number} */ (q.rttMs) >= 0 && /** @type {number} */ (q.rttMs) < 1000, `rtt ${q.rttMs} ms`);
    assert.ok(/** @type {number} */ (q.width) > 0 && /** @type {number} */ (q.height) > 0, 'resolution');
    assert.ok(q.lossPercent >= 0);

    // What the panel shows is the same.
    const shown = await waitFor(alice, (id) => {
      const card = document.querySelector(`.quality-peer[data-peer-id="${id}"]`);
      if (!card) return null;
      const get = (/** @type {string} */ m) => /** @type {Element} */ (card.querySelector(`[data-metric="${m}"]`)).textContent;
      const r = { path: get('path'), rtt: get('rtt'), in: get('in'), fps: get('fps'), res: get('res'), setup: get('setup') };
      return Object.values(r).every((v) => v !== '–') && parseFloat(r.fps) > 0 ? r : null;
    }, { arg: bobId, timeout: 5_000, message: 'panel shows figures' });
    t.diagnostic(`panel: ${JSON.stringify(shown)}`);
    assert.match(shown.path, /host/);
    assert.match(shown.rtt, /^\d+(\.\d)? ms$/);
    assert.match(shown.in, /(kbit|Mbit)\/s$/);
    assert.match(shown.res, /^\d+×\d+$/);
    await lab.screenshot(alice, 'quality-panel');

    // The phone layout: panel over the call, controls fit in 375 px.
    await alice.setViewportSize({ width: 375, height: 740 });
    await alice.waitForTimeout(1200);
    await lab.screenshot(alice, 'quality-panel-phone');
    const outside = await alice.evaluate(() => [.../** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.controls button, #stage, #quality'))]
      .filter((el) => el.offsetParent !== null)
      .map((el) => ({ id: el.id, right: el.getBoundingClientRect().right }))
      .filter((r) => r.right > window.innerWidth));
    assert.deepEqual(outside, [], 'controls, stage and panel fit in 375 px');
    await alice.click('#quality-close');
    await alice.click('#more-toggle');
    assert.ok(await alice.locator('#menu-screen').isVisible(), 'on a phone, screen sharing is in the menu');
    await lab.screenshot(alice, 'menu-phone');
  });
