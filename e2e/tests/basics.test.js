// Meeting basics on the page: the call timer counts while someone else is in the call;
// keyboard shortcuts press the buttons (M microphone, V camera, ? the list of keys,
// Ctrl+Shift+H ends the call) but not while typing; a tile goes full screen and back, and
// picture-in-picture; each person has a volume; Bob renames himself. Bob's page speaks
// Chinese (the shortcuts sheet is looked at in both languages).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, invite, joinRoom, showPeople, waitForCall, waitForIdle, waitForInvitation } from '../lib/call.js';
import { pollUntil, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

const SKIP = skipReason();

test('basics: call timer, keyboard shortcuts and their sheet, full screen and volume per person',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [{}, { locale: 'zh-CN' }] });
    const [alice, bob] = lab.pages;
    const room = roomName('basics');
    const aliceId = await joinRoom(lab, alice, room, 'Alice');
    const bobId = await joinRoom(lab, bob, room, 'Bob');
    assert.ok(await alice.locator('#call-timer').isHidden(), 'no timer before a call');
    await invite(alice, bobId, { expect: 'Call' });
    await waitForInvitation(bob);
    await accept(bob);
    await waitForCall(alice, bobId, { label: 'Alice' });
    await waitForCall(bob, aliceId, { label: 'Bob' });

    // The timer shows and counts.
    const timer = alice.locator('#call-timer');
    await timer.waitFor({ state: 'visible', timeout: 5_000 });
    const first = await timer.textContent() ?? '';
    assert.match(first, /^\d+:\d\d$/);
    const secs = (/** @type {string} */ s) => s.split(':').reduce((a, b) => a * 60 + Number(b), 0);
    await pollUntil(async () => secs(await timer.textContent() ?? '') >= secs(first) + 2,
      { timeout: 6_000, message: `the timer counts on from ${first}` });

    // M and V press the buttons; typing an m in the chat does not.
    const pressed = (/** @type {string} */ id) => alice.locator(`#${id}`).getAttribute('aria-pressed');
    await alice.locator('body').click({ position: { x: 5, y: 5 } });
    await alice.keyboard.press('m');
    assert.equal(await pressed('mic-toggle'), 'true', 'M mutes');
    await alice.keyboard.press('m');
    assert.equal(await pressed('mic-toggle'), 'false', 'M again unmutes');
    await alice.keyboard.press('v');
    assert.equal(await pressed('cam-toggle'), 'true', 'V turns the camera off');
    await alice.keyboard.press('v');
    assert.equal(await pressed('cam-toggle'), 'false');
    await alice.click('#chat-toggle');
    await alice.locator('#chat-input').click();
    await alice.keyboard.type('mmm');
    assert.equal(await pressed('mic-toggle'), 'false', 'typing is not a shortcut');
    await alice.locator('#chat-input').fill('');
    await alice.click('#chat-toggle');

    // ? opens the list of keys, in each page's language; Escape closes it.
    await alice.locator('body').click({ position: { x: 5, y: 5 } });
    await alice.keyboard.press('?');
    await alice.locator('#shortcuts').waitFor({ state: 'visible', timeout: 3_000 });
    assert.match(await alice.locator('#shortcuts').innerText(), /Mute or unmute your microphone/);
    await lab.screenshot(alice, 'shortcuts');
    await alice.keyboard.press('Escape');
    await alice.locator('#shortcuts').waitFor({ state: 'hidden', timeout: 3_000 });
    await bob.locator('body').click({ position: { x: 5, y: 5 } });
    await bob.keyboard.press('?');
    await bob.locator('#shortcuts').waitFor({ state: 'visible', timeout: 3_000 });
    assert.match(await bob.locator('#shortcuts').innerText(), /静音或取消静音麦克风/);
    await lab.screenshot(bob, 'shortcuts-zh');
    await bob.keyboard.press('Escape');

    // Bob's volume on Alice's page.
    const bobTile = alice.locator(`#stage .tile.remote[data-peer-id="${bobId}"]`);
    await bobTile.hover();
    await bobTile.locator('.tile-volume').fill('30');
    assert.equal(await bobTile.locator('video').evaluate((v) => /** @type {HTMLVideoElement} */ (v).volume), 0.3);
    assert.equal(await bobTile.locator('.tile-volume').getAttribute('aria-label'), 'Volume of Bob');

    // Bob's tile full screen, and back.
    await bobTile.hover();
    await bobTile.locator('.fullscreen-tile').click();
    await alice.waitForFunction((id) => document.fullscreenElement?.getAttribute('data-peer-id') === id, bobId,
      { timeout: 5_000 });
    await lab.screenshot(alice, 'tile-fullscreen');
    await alice.evaluate(() => document.exitFullscreen());
    await alice.waitForFunction(() => document.fullscreenElement === null, null, { timeout: 5_000 });

    // Bob's picture floats picture-in-picture (where this Chromium has it), and back.
    if (await alice.evaluate(() => document.pictureInPictureEnabled)) {
      await bobTile.hover();
      const pip = bobTile.locator('.pip-tile');
      assert.equal(await pip.getAttribute('aria-label'), 'Show Bob in a floating window');
      await pip.click();
      await alice.waitForFunction((id) => document.pictureInPictureElement?.closest('.tile')?.getAttribute('data-peer-id') === id,
        bobId, { timeout: 5_000 });
      assert.equal(await pip.getAttribute('aria-pressed'), 'true');
      await bobTile.hover();
      await pip.click();
      await alice.waitForFunction(() => document.pictureInPictureElement === null, null, { timeout: 5_000 });
      assert.equal(await pip.getAttribute('aria-pressed'), 'false');
    } else {
      t.diagnostic('this Chromium has no picture-in-picture: the button stays hidden');
      assert.ok(await bobTile.locator('.pip-tile').isHidden());
    }

    // Bob renames himself (his page is in Chinese): Alice sees the new name in her list
    // and on his tile; an empty name is refused under the field.
    await showPeople(bob);
    await bob.click('#rename-me');
    await bob.locator('#rename').waitFor({ state: 'visible', timeout: 3_000 });
    assert.equal(await bob.inputValue('#rename-input'), 'Bob');
    await bob.fill('#rename-input', '  ');
    await bob.click('#rename-save');
    await bob.locator('#rename-error').waitFor({ state: 'visible', timeout: 3_000 });
    await bob.fill('#rename-input', '罗伯特 Bob');
    await lab.screenshot(bob, 'rename-zh');
    await bob.click('#rename-save');
    await bob.locator('#rename').waitFor({ state: 'hidden', timeout: 5_000 });
    assert.equal(await bob.locator('#me-name').textContent(), '罗伯特 Bob');
    await waitFor(alice, (id) => document.querySelector(`#peer-list li[data-peer-id="${id}"] .peer-name`)?.textContent === '罗伯特 Bob',
      { arg: bobId, timeout: 5_000, message: "Alice's list shows Bob's new name" });
    await waitFor(alice, (id) => document.querySelector(`.tile.remote[data-peer-id="${id}"] .peer-name`)?.textContent === '罗伯特 Bob',
      { arg: bobId, timeout: 5_000, message: "and his tile" });

    // Ctrl+Shift+H ends the call; the timer goes.
    await alice.locator('body').click({ position: { x: 5, y: 5 } });
    await alice.keyboard.press('Control+Shift+H');
    await waitForIdle(alice, { label: 'Alice', timeout: 10_000 });
    await timer.waitFor({ state: 'hidden', timeout: 5_000 });
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
