// Chat history survives a crash of the server: Alice and Bob (each browser in its own
// network namespace) chat both ways, confab is killed with SIGKILL and started again on
// the same data dir and port, then Carol joins late and Alice joins again: both see the
// messages from before the crash, each once, with the same ids, and new messages
// continue the ids.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { joinRoom } from '../lib/call.js';
import { describeConfab, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();

/**
 * What a page shows in #chat-list: [{id, name, text}] in DOM order.
 * @param {Page} page
 */
function shownMessages(page) {
  return page.evaluate(() => [...document.querySelectorAll('#chat-list li[data-msg-id]')].map((li) => ({
    id: Number(li.getAttribute('data-msg-id')),
    name: li.querySelector('.chat-name')?.textContent ?? null,
    text: li.querySelector('.chat-text')?.textContent ?? null,
  })));
}

/**
 * Waits until `page` shows at least `n` confirmed messages; returns them.
 * @param {Page} page
 * @param {number} n
 * @param {string} label
 */
async function waitForShown(page, n, label) {
  try {
    await waitFor(page, (k) => document.querySelectorAll('#chat-list li[data-msg-id]').length >= k,
      { arg: n, timeout: 5_000, message: `${label} shows ${n} messages` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${label} shows ${JSON.stringify(await shownMessages(page))}\n` +
      `window.confab: ${await describeConfab(page)}`);
  }
  return shownMessages(page);
}

/**
 * Types `text` into the composer and sends it with Enter.
 * @param {Page} page
 * @param {string} text
 */
async function send(page, text) {
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
}

test('chat: history survives a server crash (SIGKILL) and restart on the same data dir',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'confab-e2e-chat-restart-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const lab = await startLab({ t, browsers: 3, dataDir });
    const [alice, bob, carol] = lab.pages;
    const room = roomName('chat-restart');
    await joinRoom(lab, alice, room, 'Alice');
    await joinRoom(lab, bob, room, 'Bob');
    await alice.click('#chat-toggle');
    await bob.click('#chat-toggle');

    await send(alice, 'Before the crash: hello Bob');
    await waitForShown(bob, 1, 'Bob');
    await send(bob, 'Before the crash: hi Alice');
    const before = await waitForShown(alice, 2, 'Alice');
    assert.deepEqual(before.map((m) => [m.name, m.text]),
      [['You', 'Before the crash: hello Bob'], ['Bob', 'Before the crash: hi Alice']]);
    assert.deepEqual(await waitForShown(bob, 2, 'Bob').then((l) => l.map((m) => m.id)),
      before.map((m) => m.id), 'one server id per message on both sides');
    const chatBefore = await alice.evaluate(() => window.confab.chat);

    // A crash: no graceful shutdown, nothing flushed at exit.
    const oldPid = /** @type {import('../lib/confab.js').ConfabServer} */ (lab.confab).pid;
    const server = await lab.restartConfab({ signal: 'SIGKILL' });
    assert.notEqual(server.pid, oldPid, 'a new confab process');
    assert.equal(server.dataDir, dataDir);

    // Carol joins late, after the restart: the history from before it is there.
    await joinRoom(lab, carol, room, 'Carol');
    await carol.click('#chat-toggle');
    const atCarol = await waitForShown(carol, 2, 'Carol');
    assert.deepEqual(atCarol.map((m) => [m.id, m.name, m.text]),
      before.map((m) => [m.id, m.name === 'You' ? 'Alice' : m.name, m.text]),
      'Carol sees both messages, same ids, names and texts, in order');
    assert.deepEqual(await carol.evaluate(() => window.confab.chat), chatBefore,
      'same ids, senders and server timestamps as before the crash');

    // Alice joins again (her connection died with the server): each message once.
    await joinRoom(lab, alice, room, 'Alice');
    await alice.click('#chat-toggle');
    const again = await waitForShown(alice, 2, 'Alice');
    assert.deepEqual(again.map((m) => [m.id, m.text]), before.map((m) => [m.id, m.text]),
      'Alice sees the history once, no duplicates');

    // A new message continues the ids and reaches both.
    await send(carol, 'After the restart');
    const [atAlice] = await Promise.all([waitForShown(alice, 3, 'Alice'), waitForShown(carol, 3, 'Carol')]);
    const last = atAlice[2];
    assert.equal(last.text, 'After the restart');
    assert.equal(last.name, 'Carol');
    assert.ok(last.id > before[1].id, `ids continue after the restart (${last.id} > ${before[1].id})`);
    assert.equal(new Set(atAlice.map((m) => m.id)).size, 3, 'no id shown twice');
    await lab.screenshot(carol, 'chat-after-restart-carol');

    for (const b of lab.browsers) {
      assert.deepEqual(b.pageErrors, [], `${b.name}: no uncaught page errors`);
    }
  });
