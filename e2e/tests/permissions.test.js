// Camera/microphone permission denied: the client must say so in #error.
//
// Alice's Chromium runs without --use-fake-ui-for-media-stream and with
// --deny-permission-prompts, so getUserMedia rejects with NotAllowedError (proven in
// harness.test.js). Nothing asks for the camera on entering a room; Alice's call to Bob
// does.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, invite, joinRoom, waitForCall } from '../lib/call.js';
import { describeConfab, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

const SKIP = skipReason();
const MENTIONS_PERMISSION = /permission|allow|blocked|denied/i;

test('permissions: camera denied shows a readable #error and records it in confab.errors',
  { skip: SKIP, timeout: 90_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [{ name: 'Bob' }, { name: 'Alice', media: 'deny' }] });
    const [bob, alice] = lab.pages;
    const room = roomName('perm');
    const bobId = await joinRoom(lab, bob, room, 'Bob');
    await joinRoom(lab, alice, room, 'Alice');
    await invite(alice, bobId);

    const errorBox = alice.locator('#error');
    try {
      await errorBox.waitFor({ state: 'visible', timeout: 10_000 });
    } catch (e) {
      await lab.screenshot(alice, 'permission-denied-missing-error');
      assert.fail(`#error never became visible: ${/** @type {Error} */ (e).message.split('\n')[0]}\n` +
        `Alice's window.confab: ${await describeConfab(alice)}\n${lab.where()}`);
    }
    assert.equal(await errorBox.getAttribute('role'), 'alert', '#error has role="alert"');
    const text = (await errorBox.innerText()).trim();
    t.diagnostic(`#error text: ${JSON.stringify(text)}`);
    assert.match(text, MENTIONS_PERMISSION, '#error mentions the permission');

    const errors = await waitFor(alice, () => window.confab.errors.length > 0 && window.confab.errors,
      { timeout: 2_000, message: 'window.confab.errors non-empty' });
    assert.ok(errors.some((m) => MENTIONS_PERMISSION.test(m)),
      `window.confab.errors mentions the permission: ${JSON.stringify(errors)}`);
    await lab.screenshot(alice, 'permission-denied');
  });

// The #error text promises "You can still join to watch and listen": the denied peer
// must still receive the other side. (It signals no host candidates of its own: Chromium
// hides them without media permission, so its pair is prflx -> host.)
test('permissions: a peer without camera permission still receives video and audio',
  { skip: SKIP, timeout: 90_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [{ name: 'Bob' }, { name: 'Alice', media: 'deny' }] });
    const [bob, alice] = lab.pages;
    const room = roomName('recvonly');
    const bobId = await joinRoom(lab, bob, room, 'Bob');
    await joinRoom(lab, alice, room, 'Alice');
    // Alice, who has no camera, calls Bob; Bob accepts.
    await call(alice, bob, bobId);
    const s = await waitForCall(alice, bobId, { label: 'Alice (no camera)' });
    t.diagnostic(`Alice (no camera) receives Bob: ${s.framesDecoded} frames, pair ` +
      `${s.localCandidateType} -> ${s.remoteCandidateType}`);
    await lab.screenshot(alice, 'receive-only-alice');
  });
