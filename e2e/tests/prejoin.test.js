// No camera without intent, and a check before joining (issue 14, item 3). Every page
// counts its getUserMedia calls. Alice opens a room link and joins: nothing is asked,
// her self tile is off. Bob (Chinese) checks his camera and microphone in the lobby: he
// sees himself, the level meter moves with the fake microphone's tone, the device lists
// are filled, a test sound plays; he turns his camera off and joins: the room has his
// stream without asking again, camera off, microphone on. Alice calls Bob: only now is
// she asked, and each sees what the other chose.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, invite, joinRoom, waitForCall, waitForInvitation } from '../lib/call.js';
import { pollUntil, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

const SKIP = skipReason();

/** Counts getUserMedia calls in the page. */
const COUNT_GUM = `(() => {
  window.__gumCalls = 0;
  const md = navigator.mediaDevices;
  const real = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => { window.__gumCalls++; return real(c); };
})();`;

/** @param {import('playwright-core').Page} page */
const gumCalls = (page) => page.evaluate(() => /** @type {any} */ (window).__gumCalls);

test('prejoin: nothing opens the camera until asked; the lobby check shows, measures and hands over',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [{ initScripts: [COUNT_GUM] },
      { initScripts: [COUNT_GUM], locale: 'zh-CN', viewport: { width: 375, height: 740 } }] });
    const [alice, bob] = lab.pages;
    // A room named in Chinese (issue 14 item 1): its link carries the name percent-encoded.
    const room = `周一例会-${roomName('p').split('-').pop()}`;

    // Alice joins from a link: no prompt, self tile off, the buttons ask when pressed.
    await joinRoom(lab, alice, room, 'Alice');
    await alice.waitForTimeout(1_500);
    assert.equal(await gumCalls(alice), 0, 'entering a room opens no camera or microphone');
    assert.ok(await alice.locator('#self-tile.video-off').count() === 1, 'her own tile says the camera is off');
    assert.equal(await alice.getAttribute('#cam-toggle', 'aria-pressed'), 'true');
    assert.equal(await alice.locator('#cam-toggle').isDisabled(), false, 'the camera button can ask');
    assert.equal(await alice.evaluate(() => decodeURIComponent(location.pathname)), `/r/${room}`);
    assert.equal(await alice.locator('#room-name').textContent(), room);

    // Bob checks in the lobby before joining.
    await bob.goto(lab.url(`/r/${room}?name=${encodeURIComponent('Bob')}`));
    await bob.locator('#prejoin-start').waitFor();
    assert.equal(await bob.inputValue('#room'), room, 'the link fills in the Chinese room name');
    assert.equal(await gumCalls(bob), 0, 'the lobby asks for nothing by itself');
    assert.match(await bob.locator('#prejoin').innerText(), /摄像头和麦克风/);
    await bob.click('#prejoin-start');
    await waitFor(bob, () => {
      const v = /** @type {HTMLVideoElement | null} */ (document.getElementById('prejoin-video'));
      return v !== null && v.videoWidth > 0 && v.currentTime > 0;
    }, { timeout: 10_000, message: 'Bob sees himself in the lobby' });
    const level = await pollUntil(async () => {
      const l = await bob.evaluate(() => window.confab.prejoin?.level ?? 0);
      return l > 0.1 ? l : null;
    }, { timeout: 10_000, message: 'the level meter moves with the microphone' });
    t.diagnostic(`microphone level in the lobby: ${level}`);
    assert.ok(await bob.locator('#prejoin-camera option').count() >= 1, 'cameras listed');
    assert.ok(await bob.locator('#prejoin-microphone option').count() >= 1, 'microphones listed');
    if (await bob.locator('#prejoin-test').isVisible()) {
      await bob.click('#prejoin-test');
      await bob.locator('#prejoin-note').waitFor({ state: 'visible', timeout: 5_000 });
      assert.match(await bob.locator('#prejoin-note').textContent() ?? '', /测试声音/);
    }
    await bob.click('#prejoin-cam');
    assert.equal(await bob.getAttribute('#prejoin-cam', 'aria-pressed'), 'true');
    await bob.locator('#prejoin-cam-off').waitFor({ state: 'visible', timeout: 3_000 });
    await lab.screenshot(bob, 'prejoin-check-zh');
    await bob.setViewportSize({ width: 1280, height: 800 });
    await lab.screenshot(bob, 'prejoin-check-zh-desktop');
    await bob.setViewportSize({ width: 375, height: 740 });
    const asked = await gumCalls(bob);

    await bob.click('#join');
    const bobId = await waitFor(bob, () => window.confab.state === 'in-room' && window.confab.peerId,
      { timeout: 15_000, message: 'Bob in the room' });
    assert.equal(await gumCalls(bob), asked, 'joining does not ask again');
    assert.equal(await bob.getAttribute('#cam-toggle', 'aria-pressed'), 'true', 'his camera stays off');
    assert.equal(await bob.getAttribute('#mic-toggle', 'aria-pressed'), 'false', 'his microphone is on');
    assert.equal(await bob.evaluate(() => window.confab.prejoin?.open), false, 'the lobby let go of the stream');

    // Alice calls: now she is asked, and the call carries both choices.
    await invite(alice, /** @type {string} */ (bobId));
    await waitForInvitation(bob);
    await accept(bob);
    await waitForCall(bob, await alice.evaluate(() => /** @type {string} */ (window.confab.peerId)), { label: 'Bob' });
    assert.equal(await gumCalls(alice), 1, 'calling asked for Alice\'s camera and microphone, once');
    assert.equal(await gumCalls(bob), asked, 'accepting did not ask Bob again');
    await waitFor(alice, (id) => document.querySelector(`.tile.remote[data-peer-id="${id}"]`)?.classList.contains('cam-off'),
      { arg: bobId, timeout: 10_000, message: "Alice's tile of Bob says his camera is off" });
    await lab.screenshot(alice, 'prejoin-call-alice');
  });
