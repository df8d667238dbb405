// Text chat through confab's signaling server: Alice and Bob (each browser in its own
// network namespace) chat both ways during a call, Carol joins late and finds the
// history in order, and the composer explains rejected messages in words.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { establishCall, joinRoom } from '../lib/call.js';
import { describeConfab, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();

/**
 * What a page shows in #chat-list: [{id, name, text, mine}] in DOM order.
 * @param {Page} page
 */
function shownMessages(page) {
  return page.evaluate(() => [...document.querySelectorAll('#chat-list li[data-msg-id]')].map((li) => ({
    id: Number(li.getAttribute('data-msg-id')),
    name: li.querySelector('.chat-name')?.textContent ?? null,
    text: li.querySelector('.chat-text')?.textContent ?? null,
    mine: li.classList.contains('mine'),
  })));
}

/**
 * Waits until `page` shows a confirmed message with exactly `text`; returns it.
 * @param {Page} page
 * @param {string} text
 * @param {string} label
 */
async function waitForMessage(page, text, label) {
  try {
    return await waitFor(page, (t) => {
      const li = [...document.querySelectorAll('#chat-list li[data-msg-id]')]
        .find((el) => el.querySelector('.chat-text')?.textContent === t);
      return li ? { id: Number(li.getAttribute('data-msg-id')), name: li.querySelector('.chat-name')?.textContent } : null;
    }, { arg: text, timeout: 5_000, message: `${label} shows ${JSON.stringify(text)}` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${label} shows ${JSON.stringify(await shownMessages(page))}\n` +
      `window.confab: ${await describeConfab(page)}`);
  }
}

const badge = (/** @type {Page} */ page) => page.evaluate(() => document.querySelector('#chat-badge')?.textContent ?? '');

test('chat: both ways between namespaced browsers, history for a late joiner, errors in words',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 3 });
    const [alice, bob, carol] = lab.pages;
    const room = roomName('chat');
    // A real call first: people chat while they talk.
    const { ids: [aliceId, bobId] } = await establishCall(lab, [alice, bob], room, ['Alice', 'Bob'],
      { needFirstFrame: false });

    // Alice opens the chat and sends with Enter.
    await alice.click('#chat-toggle');
    assert.ok(await alice.locator('#chat-input').isVisible(), "Alice's composer is visible");
    const hello = 'Hi Bob! Can you see my slides? 👋';
    await alice.fill('#chat-input', hello);
    await alice.press('#chat-input', 'Enter');
    assert.equal(await alice.inputValue('#chat-input'), '', 'Enter sent and cleared the composer');
    const atBob = await waitForMessage(bob, hello, 'Bob');
    assert.equal(atBob.name, 'Alice', "Bob sees Alice's name on her message");
    const atAlice = await waitForMessage(alice, hello, 'Alice');
    assert.equal(atAlice.id, atBob.id, 'one server id on both sides');
    assert.equal(await badge(bob), '1', "Bob's closed chat shows 1 unread");

    // Bob opens it (badge clears), writes two lines with Shift+Enter, sends with the button.
    await bob.click('#chat-toggle');
    assert.equal(await badge(bob), '', 'opening the chat clears the badge');
    await bob.click('#chat-input');
    await bob.keyboard.type('Yes, loud and clear.');
    await bob.keyboard.press('Shift+Enter');
    await bob.keyboard.type('<b>not bold</b> & fine');
    assert.equal(await bob.inputValue('#chat-input'), 'Yes, loud and clear.\n<b>not bold</b> & fine',
      'Shift+Enter is a new line, not a send');
    await bob.click('#chat-send');
    const reply = 'Yes, loud and clear.\n<b>not bold</b> & fine';
    const atAlice2 = await waitForMessage(alice, reply, 'Alice');
    assert.equal(atAlice2.name, 'Bob', "Alice sees Bob's name on his message");
    assert.equal(await alice.locator('#chat-list b').count(), 0, 'text is rendered as text, not HTML');
    await waitForMessage(bob, reply, 'Bob');

    const mine = await shownMessages(alice);
    assert.deepEqual(mine.map((m) => m.mine), [true, false], 'own messages are marked .mine');
    const received = await alice.evaluate(() => window.confab.chat);
    assert.deepEqual(received.map((m) => [m.from, m.name, m.text]),
      [[aliceId, 'Alice', hello], [bobId, 'Bob', reply]], 'window.confab.chat');
    assert.ok(received.every((m) => Math.abs(m.ts - Date.now()) < 60_000), 'ts is the server clock, in ms');
    assert.ok(received[0].id < received[1].id, 'ids increase');
    assert.deepEqual(await bob.evaluate(() => window.confab.chat), received, 'both sides agree');

    await alice.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await lab.screenshot(alice, 'chat-1280x800');

    // Carol joins late: the history is there, oldest first, before anyone says more.
    await joinRoom(lab, carol, room, 'Carol');
    const carolChat = await waitFor(carol, () => window.confab.chat.length >= 2 && window.confab.chat,
      { timeout: 5_000, message: "Carol's history" });
    assert.deepEqual(carolChat, received, 'Carol gets the same messages, in order');
    await carol.click('#chat-toggle');
    const shown = await shownMessages(carol);
    assert.deepEqual(shown.map((m) => [m.name, m.text]), [['Alice', hello], ['Bob', reply]],
      'Carol sees both messages with names, in order');
    assert.equal(await badge(carol), '', 'history does not count as unread');

    // A new message reaches all three.
    await carol.fill('#chat-input', 'Sorry I am late!');
    await carol.press('#chat-input', 'Enter');
    for (const [page, who] of /** @type {[Page, string][]} */ ([[alice, 'Alice'], [bob, 'Bob'], [carol, 'Carol']])) {
      const m = await waitForMessage(page, 'Sorry I am late!', who);
      assert.equal(m.name, who === 'Carol' ? 'You' : 'Carol');
    }

    // Errors are explained next to the composer.
    await carol.fill('#chat-input', 'x'.repeat(2001));
    await carol.press('#chat-input', 'Enter');
    assert.match(await carol.textContent('#chat-error') ?? '', /at most 2,000 characters/);
    assert.equal((await carol.inputValue('#chat-input')).length, 2001, 'nothing typed is lost');
    // Sending fast: what goes beyond the server's rate (a burst of 10) waits, says so,
    // and goes out in turn; nothing is refused for good.
    await carol.evaluate(() => {
      const input = /** @type {HTMLTextAreaElement} */ (document.querySelector('#chat-input'));
      for (let i = 0; i < 12; i++) {
        input.value = `flood ${i}`;
        input.dispatchEvent(new Event('input'));
        /** @type {HTMLButtonElement} */ (document.querySelector('#chat-send')).click();
      }
    });
    await waitFor(carol, () => /Waiting to send/.test(document.querySelector('#chat-list li.waiting')?.textContent ?? ''),
      { timeout: 5_000, message: 'messages beyond the rate wait, in words' });
    await waitFor(carol, () => document.querySelectorAll('#chat-list li.pending').length === 0,
      { timeout: 10_000, message: 'every flood message goes out in turn' });
    assert.ok(await carol.locator('#chat-error').isHidden(), 'no error under the composer');
    await lab.screenshot(carol, 'chat-rate-limited-carol');

    // Phone size: the chat is a drawer over the call.
    await bob.setViewportSize({ width: 375, height: 740 });
    await bob.waitForTimeout(300);
    assert.ok(await bob.locator('#chat-input').isVisible(), "Bob's chat drawer is usable at 375x740");
    await lab.screenshot(bob, 'chat-375x740');

    for (const b of lab.browsers) {
      assert.deepEqual(b.pageErrors, [], `${b.name}: no uncaught page errors`);
    }
  });

test('chat: a message whose sending was cut off is sent again after the reconnect, and shown once',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    const lost = 'Sent just as the line went down';
    // Alice's connections go through a proxy in the page: the first time she sends
    // `lost`, the frame never reaches the server and both sides of the socket close
    // (4002, not clean: the server holds her place for a resume).
    let cut = false;
    await alice.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        if (!cut && typeof m === 'string' && m.includes(lost)) {
          cut = true;
          ws.close({ code: 4002, reason: 'test: cut' });
          server.close({ code: 4002, reason: 'test: cut' });
          return;
        }
        server.send(m);
      });
      server.onMessage((m) => ws.send(m));
    });
    const room = roomName('chat-once');
    await joinRoom(lab, alice, room, 'Alice');
    await joinRoom(lab, bob, room, 'Bob');
    await alice.click('#chat-toggle');
    await bob.click('#chat-toggle');
    await alice.fill('#chat-input', lost);
    await alice.press('#chat-input', 'Enter');
    // Back on a new connection, the client sends it again (same key): Bob gets it, once,
    // and Alice's "Sending…" settles into the message.
    const atBob = await waitForMessage(bob, lost, 'Bob');
    const atAlice = await waitForMessage(alice, lost, 'Alice');
    assert.equal(atAlice.id, atBob.id);
    assert.ok(await alice.evaluate(() => window.confab.signaling.reconnects >= 1), 'Alice reconnected');
    for (const [who, page] of [['Alice', alice], ['Bob', bob]]) {
      const texts = (await shownMessages(/** @type {Page} */ (page))).map((m) => m.text);
      assert.deepEqual(texts, [lost], `${who} shows it once`);
    }
    assert.equal(await alice.locator('#chat-list li.pending').count(), 0, 'nothing left sending');
    await lab.screenshot(alice, 'alice-resent-once');
  });
