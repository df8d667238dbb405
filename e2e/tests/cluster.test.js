// Two confab nodes sharing rooms over Redis, behind nginx with the shipped site
// configuration (deploy/nginx/confab.conf): Alice's WebSocket lands on one node and
// Bob's on the other, yet they see each other in one room, call with video both ways,
// and chat.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, callIsUp, establishCall, invite, joinRoom, waitForInvitation } from '../lib/call.js';
import { startCluster } from '../lib/cluster.js';
import { callStats, describeConfab, pollUntil, roomName, skipReason, sleep, startLab, waitFor }
  from '../lib/lab.js';

const SKIP = skipReason();

/** @typedef {import('playwright-core').Page} Page */

/**
 * Video frames `page` has decoded from `peerId`.
 * @param {Page} page
 * @param {string} peerId
 */
async function frames(page, peerId) {
  const s = await callStats(page);
  return s?.[peerId]?.framesDecoded ?? 0;
}

/**
 * The chat texts `page` shows, in order.
 * @param {Page} page
 */
function chatTexts(page) {
  return page.evaluate(() => [...document.querySelectorAll('#chat-list li[data-msg-id] .chat-text')]
    .map((el) => el.textContent));
}

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

test('cluster: the node holding the room is killed; the call goes on, the people resume on the other node, chat intact',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2, confab: false });
    const cluster = await startCluster({ lab, nodes: 2 });
    const [alice, bob] = lab.pages;
    const names = ['Alice', 'Bob'];
    const room = roomName('failover');
    const { ids } = await establishCall(lab, [alice, bob], room, names);
    await chatReaches(bob, alice, 'before the crash');

    /** @param {Page} page */
    const joinLines = (page) => page.evaluate(() => window.confab.roomNotices.filter((l) => l.endsWith(' joined')));
    const joinedBefore = await Promise.all([joinLines(alice), joinLines(bob)]);

    // Kill (SIGKILL) the node that owns the room: the one Alice joined through.
    const owner = await cluster.owner(room);
    t.diagnostic(`room ${room} is owned by node ${owner + 1}`);
    await cluster.nodes[owner].stop({ signal: 'SIGKILL' });
    const downAt = Date.now();

    // Media is peer to peer: it keeps flowing while the cluster heals.
    const before = await Promise.all([frames(alice, ids[1]), frames(bob, ids[0])]);
    await sleep(3000);
    const during = await Promise.all([frames(alice, ids[1]), frames(bob, ids[0])]);
    for (const i of [0, 1]) {
      assert.ok(during[i] > before[i] + 10,
        `${names[i]} keeps decoding while the owner is dead (${before[i]} -> ${during[i]})`);
    }

    // Both are back in the room, owned by the live node, under the same ids, in the call.
    /**
     * @param {Page} page
     * @param {string} me
     * @param {string} other
     */
    const settled = (page, me, other) => page.evaluate(([mine, theirs]) => {
      const c = window.confab;
      const peers = c.peers;
      return c.signaling.connected && c.state === 'in-room' && c.peerId === mine
        && peers.length === 1 && peers[0].id === theirs && !peers[0].state.reconnecting
        && c.callState === 'in-call' && Object.keys(c.pcs()).length === 1 ? true : null;
    }, [me, other]);
    for (const [i, page] of [alice, bob].entries()) {
      try {
        await pollUntil(() => settled(page, ids[i], ids[1 - i]),
          { timeout: 40_000, interval: 250, message: `${names[i]} back in the room and the call` });
      } catch (e) {
        assert.fail(`${/** @type {Error} */ (e).message}\n${names[i]}: ${await describeConfab(page)}\n${lab.where()}`);
      }
    }
    t.diagnostic(`back ${Date.now() - downAt} ms after the kill`);
    assert.equal(await cluster.owner(room), 1 - owner, 'the live node owns the room now');
    const x0 = await Promise.all([frames(alice, ids[1]), frames(bob, ids[0])]);
    await sleep(1500);
    const x1 = await Promise.all([frames(alice, ids[1]), frames(bob, ids[0])]);
    for (const i of [0, 1]) {
      assert.ok(x1[i] > x0[i], `${names[i]} decodes on (${x0[i]} -> ${x1[i]})`);
    }

    // Nobody is said to have joined: they were in the room all along.
    assert.deepEqual([await joinLines(alice), await joinLines(bob)], joinedBefore,
      'no "joined" notices for people who never left');

    // The chat is intact (once, not doubled) and goes on.
    await chatReaches(alice, bob, 'after the crash');
    for (const [i, page] of [alice, bob].entries()) {
      // The sender's own copy may land a moment after the other's.
      const texts = await pollUntil(async () => {
        const shown = await chatTexts(page);
        return shown.length >= 2 ? shown : null;
      }, { timeout: 5_000, message: `${names[i]} shows both messages` });
      assert.deepEqual(texts, ['before the crash', 'after the crash'], `${names[i]}'s chat`);
    }
    await lab.screenshot(alice, 'alice-after-failover');
    await lab.screenshot(bob, 'bob-after-failover');
  });

test('cluster: an SFU call whose node is killed is made again on the live node; frames again',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2, confab: false });
    const cluster = await startCluster({ lab, nodes: 2, media: 'sfu' });
    const [alice, bob] = lab.pages;
    const names = ['Alice', 'Bob'];
    const room = roomName('sfu-failover');
    const ids = [await joinRoom(lab, alice, room, 'Alice'), await joinRoom(lab, bob, room, 'Bob')];
    await invite(alice, ids[1]);
    await waitForInvitation(bob);
    await accept(bob);
    /**
     * Frames `page` decodes from the other, through the router, once the call is up.
     * @param {Page} page
     * @param {string} other
     */
    const routed = async (page, other) => {
      const s = await callStats(page);
      return callIsUp(s[other]) ? s[other].framesDecoded : null;
    };
    for (const [i, page] of [alice, bob].entries()) {
      await pollUntil(() => routed(page, ids[1 - i]),
        { timeout: 30_000, interval: 250, message: `${names[i]} decodes through the SFU` });
    }
    const owner = await cluster.owner(room);
    t.diagnostic(`room ${room} and its SFU call are on node ${owner + 1}`);
    assert.equal(await cluster.metric(owner, 'confab_sfu_endpoints'), 2, 'both through its SFU');
    await cluster.nodes[owner].stop({ signal: 'SIGKILL' });
    const downAt = Date.now();

    // The call is made again on the live node's SFU, by the browsers themselves: frames
    // flow again (fresh counters on the new connection).
    for (const [i, page] of [alice, bob].entries()) {
      try {
        await pollUntil(async () => {
          const f = await routed(page, ids[1 - i]);
          const same = await page.evaluate((me) => window.confab.peerId === me, ids[i]);
          return f !== null && f > 10 && same ? f : null;
        }, { timeout: 45_000, interval: 250, message: `${names[i]} decodes again through the live node's SFU` });
      } catch (e) {
        assert.fail(`${/** @type {Error} */ (e).message}\n${names[i]}: ${await describeConfab(page)}\n${lab.where()}`);
      }
    }
    t.diagnostic(`frames again ${Date.now() - downAt} ms after the kill`);
    assert.equal(await cluster.owner(room), 1 - owner, 'the live node owns the room');
    assert.equal(await cluster.metric(1 - owner, 'confab_sfu_endpoints'), 2, 'both through its SFU now');
    await lab.screenshot(alice, 'alice-sfu-after-failover');
  });
