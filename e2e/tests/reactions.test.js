// Reactions: in a call, Alice picks 👏 from the reactions button; both pages show it
// floating with her name (Bob's page in Chinese, where the picker's words are Chinese
// too); a second reaction by Bob shows on both. A reaction reaches the room, not a call:
// Carol, in the room but not in the call, sees them too, and on a phone-sized page sends
// one from the "more" menu.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, invite, joinRoom, waitForCall, waitForInvitation } from '../lib/call.js';
import { roomName, skipReason, startLab } from '../lib/lab.js';

const SKIP = skipReason();

/** @typedef {import('playwright-core').Page} Page */

/**
 * Waits for a floating reaction `emoji` by `who` on `page`.
 * @param {Page} page
 * @param {string} emoji
 * @param {string} who
 */
function seen(page, emoji, who) {
  return page.locator('#reactions .reaction-bubble', { hasText: emoji }).filter({ hasText: who })
    .first().waitFor({ state: 'attached', timeout: 5_000 });
}

test('reactions: picked from the call controls, seen by everyone in the room with who sent them',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [{}, { locale: 'zh-CN' }, {}] });
    const [alice, bob, carol] = lab.pages;
    const room = roomName('react');
    const aliceId = await joinRoom(lab, alice, room, 'Alice');
    const bobId = await joinRoom(lab, bob, room, 'Bob');
    await joinRoom(lab, carol, room, 'Carol');
    await invite(alice, bobId, { expect: 'Call' });
    await waitForInvitation(bob);
    await accept(bob);
    await waitForCall(alice, bobId, { label: 'Alice' });
    await waitForCall(bob, aliceId, { label: 'Bob' });

    await alice.click('#react-toggle');
    const clap = alice.locator('#react-menu .reaction-choice[data-reaction="clap"]');
    assert.equal(await clap.getAttribute('aria-label'), 'Clap');
    assert.equal(await bob.locator('#react-menu .reaction-choice[data-reaction="clap"]').getAttribute('aria-label'), '鼓掌');
    await clap.click();
    assert.ok(await alice.locator('#react-menu').isHidden(), 'the picker closes');
    await seen(alice, '👏', 'You');
    await seen(bob, '👏', 'Alice');
    await seen(carol, '👏', 'Alice');
    await lab.screenshot(bob, 'reaction-zh');

    await bob.click('#react-toggle');
    await bob.locator('#react-menu .reaction-choice[data-reaction="heart"]').click();
    await seen(alice, '❤️', 'Bob');
    await seen(bob, '❤️', '你');
    await lab.screenshot(alice, 'reaction');

    // On a phone the bar has no room for the button: the "more" menu opens the picker.
    await carol.setViewportSize({ width: 375, height: 740 });
    assert.ok(await carol.locator('#react-toggle').isHidden(), 'no reactions button on a phone');
    await carol.click('#more-toggle');
    await carol.click('#menu-react');
    await carol.locator('#react-menu .reaction-choice[data-reaction="party"]').click();
    await seen(alice, '🎉', 'Carol');
    await seen(carol, '🎉', 'You');
    await lab.screenshot(carol, 'reaction-phone');
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
