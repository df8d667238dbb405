// Two confab nodes sharing rooms over Redis, behind nginx with the shipped site
// configuration (deploy/nginx/confab.conf): Alice's WebSocket lands on one node and
// Bob's on the other, yet they see each other in one room, call with video both ways,
// and chat.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { establishCall } from '../lib/call.js';
import { startCluster } from '../lib/cluster.js';
import { describeConfab, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

const SKIP = skipReason();

/**
 * Sends `text` from `from`'s chat and waits until `to` shows it; returns its id there.
 * @param {import('playwright-core').Page} from
 * @param {import('playwright-core').Page} to
 * @param {string} text
 */
async function chatReaches(from, to, text) {
  if (!(await from.locator('#chat-input').isVisible())) await from.click('#chat-toggle');
  await from.fill('#chat-input', text);
  await from.press('#chat-input', 'Enter');
  try {
    return await waitFor(to, (t) => {
      const li = [...document.querySelectorAll('#chat-list li[data-msg-id]')]
        .find((el) => el.querySelector('.chat-text')?.textContent === t);
      return li ? Number(li.getAttribute('data-msg-id')) : null;
    }, { arg: text, timeout: 5_000, message: `chat ${JSON.stringify(text)} arrives` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${await describeConfab(to)}`);
  }
}

test('cluster: two browsers on two nodes behind nginx share a room, call and chat',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2, confab: false });
    const cluster = await startCluster({ lab, nodes: 2 });
    const [alice, bob] = lab.pages;
    const room = roomName('cluster');

    const { stats } = await establishCall(lab, [alice, bob], room, ['Alice', 'Bob']);
    // nginx sent each WebSocket to the node with fewer: one each.
    assert.deepEqual([await cluster.connections(0), await cluster.connections(1)], [1, 1],
      `one WebSocket per node (${lab.where()})`);
    for (const [i, who] of ['Alice', 'Bob'].entries()) {
      const s = stats[i];
      assert.ok(s && s.framesDecoded > 0, `${who} decodes video frames: ${JSON.stringify(s)}`);
    }
    await lab.screenshot(alice, 'alice-in-call-across-nodes');

    const id1 = await chatReaches(alice, bob, 'Hello across nodes 👋');
    const id2 = await chatReaches(bob, alice, '你好，收到了');
    assert.ok(id2 > id1, 'one room, one sequence of chat ids');
    await lab.screenshot(bob, 'bob-chat-across-nodes');
  });
