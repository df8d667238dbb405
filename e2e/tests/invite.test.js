// Invitations between two namespaced browsers, as a person sees them: the callee's
// incoming-call dialog names the caller; decline, cancel and an unanswered ring (the
// server's --ring-timeout, 3 s here instead of 30 s) each reach the other side in words;
// then an accepted invitation becomes a call with video both ways. Bob uses a phone-sized
// viewport (375 px) throughout, Alice a desktop one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accept, decline, invite, joinRoom, waitForCall, waitForIdle, waitForInvitation, waitForNotice,
} from '../lib/call.js';
import { describeConfab, pollUntil, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

const SKIP = skipReason();
const RING_S = 3;

/** The page's call snapshot (window.confab.call). */
const callOf = (/** @type {import('playwright-core').Page} */ page) => page.evaluate(() => window.confab.call);

test('invite: decline, cancel and timeout are told in words; accept starts the call',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const lab = await startLab({
      t,
      browsers: [{}, { viewport: { width: 375, height: 740 } }],
      confabArgs: ['--ring-timeout', String(RING_S)],
    });
    const [alice, bob] = lab.pages;
    const room = roomName('invite');
    const aliceId = await joinRoom(lab, alice, room, 'Alice');
    // Bob comes by the room's link and presses Join in the lobby, as a person does: the
    // page asks then whether it may notify him of calls while its tab is hidden.
    await bob.goto(lab.url(`/r/${encodeURIComponent(room)}`));
    await bob.fill('#name', 'Bob');
    await bob.press('#name', 'Enter');
    const bobId = await waitFor(bob, () => window.confab.state === 'in-room' && window.confab.peerId,
      { message: 'Bob in the room' });
    assert.equal((await callOf(bob)).notifyAsked, true, 'Join asked for the notification permission');

    // 1. Decline. Bob has touched his page (as a person who typed a name and pressed Join
    // has), so the browser lets it play the ring tone.
    await bob.mouse.click(180, 300);
    await invite(alice, bobId, { expect: 'Call' });
    assert.equal(await waitForInvitation(bob), 'Alice is calling you');
    await waitFor(alice, () => document.querySelector('#outgoing li')?.textContent.includes('Calling Bob…'),
      { message: 'Alice sees "Calling Bob…"' });
    await waitFor(alice, (id) => window.confab.peers.find((p) => p.id === id)?.state.status === 'ringing',
      { arg: bobId, message: "Alice's people list shows Bob ringing" });
    assert.equal((await bob.evaluate(() => window.confab.callState)), 'ringing');
    // It rings: the tone plays (Web Audio running) and the title says who calls.
    const ringing = await bob.evaluate(() => ({ ...window.confab.call, title: document.title }));
    assert.equal(ringing.ringing, true);
    assert.equal(ringing.tone, 'running', 'the ring tone plays');
    assert.equal(ringing.title, '📞 Alice is calling…');
    await lab.screenshot(bob, 'incoming-invitation-phone');
    await lab.screenshot(alice, 'calling-bob');
    await decline(bob);
    await waitForNotice(alice, 'Bob declined');
    assert.ok(await bob.locator('#incoming').isHidden(), "Bob's dialog closed");
    const quiet = await bob.evaluate(() => ({ ...window.confab.call, title: document.title }));
    assert.deepEqual([quiet.ringing, quiet.tone], [false, 'none'], 'the ringing stops');
    assert.match(quiet.title, /^invite-.* · confab$/, 'the title is the room again');
    await waitForIdle(alice, { label: 'Alice' });
    await waitForIdle(bob, { label: 'Bob' });

    // 2. Cancel by the caller, while Bob's tab is hidden (he allowed notifications): a
    // desktop notification says who calls, and goes with the call.
    await bob.context().grantPermissions(['notifications']);
    await bob.evaluate(() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }));
    await invite(alice, bobId, { expect: 'Call' });
    await waitForInvitation(bob);
    assert.equal((await callOf(bob)).notification, '📞 Alice is calling…', 'a notification while the tab is hidden');
    await alice.click('#outgoing li .cancel-invite');
    await waitForNotice(bob, 'Alice cancelled the call');
    await bob.locator('#incoming').waitFor({ state: 'hidden', timeout: 5_000 });
    // Bob may hear the cancel before Alice's page has her own `inviteEnded`: wait for it.
    await pollUntil(async () => (await callOf(alice)).outgoing.length === 0,
      { timeout: 5_000, message: 'Alice no longer calling' });
    assert.equal((await callOf(bob)).ringing, false, 'a cancelled call stops ringing');
    assert.equal((await callOf(bob)).notification, null, 'and its notification goes');
    await bob.evaluate(() => delete (/** @type {any} */ (document)).hidden);

    // 3. Nobody answers: both sides are told after the ring timeout, not before.
    await invite(alice, bobId, { expect: 'Call' });
    await waitForInvitation(bob);
    const t0 = Date.now();
    await waitForNotice(alice, "Bob didn't answer", { timeout: (RING_S + 5) * 1000 });
    const rang = Date.now() - t0;
    await waitForNotice(bob, 'You missed a call from Alice');
    t.diagnostic(`unanswered invitation ended after ${rang} ms (ring timeout ${RING_S} s)`);
    assert.ok(rang > (RING_S - 1) * 1000 && rang < (RING_S + 3) * 1000, `ended after ${rang} ms`);
    await bob.locator('#incoming').waitFor({ state: 'hidden', timeout: 5_000 });
    await waitForIdle(alice, { label: 'Alice' });

    // 4. Accept: a call with video both ways.
    await invite(alice, bobId, { expect: 'Call' });
    await waitForInvitation(bob);
    await accept(bob);
    await Promise.all([
      waitForCall(alice, bobId, { label: 'Alice' }),
      waitForCall(bob, aliceId, { label: 'Bob' }),
    ]);
    const [ca, cb] = [await callOf(alice), await callOf(bob)];
    assert.equal(ca.call, cb.call, 'one call on the server');
    assert.deepEqual(ca.members, [bobId]);
    assert.deepEqual(cb.members, [aliceId]);
    assert.match(/** @type {string} */ (await alice.locator('#status').textContent()), /In a call with Bob/);
    await lab.screenshot(alice, 'call-1to1');
    await lab.screenshot(bob, 'call-1to1-phone');
    const notices = await alice.evaluate(() => window.confab.notices);
    assert.deepEqual(notices, ['Bob declined', "Bob didn't answer"], 'outcomes Alice saw, in order');
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
    t.diagnostic(`Bob: ${await describeConfab(bob)}`);
  });
