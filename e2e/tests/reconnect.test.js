// Reconnection, as a person in a call would live it: the server dies mid-call (the video
// keeps playing, the page says "Reconnecting…", and when the server is back everyone is in
// the room and the call again, with no ghosts), a network link drops for a few
// seconds (an ICE restart brings the video back), and a join over a network that
// swallows everything is told in words within seconds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { establishCall, sfuCallOfTwo } from '../lib/call.js';
import { startConfab } from '../lib/confab.js';
import { callStats, describeConfab, PORT, PUBLIC_HOST, pollUntil, roomName, skipReason, sleep, startLab }
  from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();

/**
 * framesDecoded of the page's connection with `peerId` (old or new id), or 0.
 * @param {Page} page
 * @param {string} peerId
 */
async function frames(page, peerId) {
  const s = await callStats(page);
  return s?.[peerId]?.framesDecoded ?? 0;
}

/**
 * Sum of framesDecoded over all of the page's connections (orphans included).
 * @param {Page} page
 */
async function allFrames(page) {
  const s = (await callStats(page)) ?? {};
  return Object.values(s).reduce((n, x) => n + (x.framesDecoded ?? 0), 0);
}

test('reconnect: confab killed and restarted mid-call: frames keep decoding through the outage, then the clients rejoin',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    const pages = [alice, bob];
    const names = ['Alice', 'Bob'];
    const { ids } = await establishCall(lab, pages, roomName('restart'), names);

    // SIGKILL: no goodbye to anyone, like a crash.
    const old = /** @type {import('../lib/confab.js').ConfabServer} */ (lab.confab);
    const exited = new Promise((r) => old.child.once('exit', r));
    process.kill(/** @type {number} */ (old.pid), 'SIGKILL');
    await exited;
    const downAt = Date.now();

    // Both pages notice and say so, and media keeps flowing peer to peer.
    for (const [i, page] of pages.entries()) {
      await pollUntil(async () => /** @type {string} */ (await page.locator('#status').textContent()).includes('Reconnecting'),
        { timeout: 15_000, message: `${names[i]} shows Reconnecting…` });
    }
    const before = await Promise.all([frames(alice, ids[1]), frames(bob, ids[0])]);
    await sleep(3000);
    const during = await Promise.all([frames(alice, ids[1]), frames(bob, ids[0])]);
    for (const i of [0, 1]) {
      t.diagnostic(`${names[i]} framesDecoded while confab is down: ${before[i]} -> ${during[i]}`);
      assert.ok(during[i] > before[i] + 10,
        `${names[i]} keeps decoding while confab is down (${before[i]} -> ${during[i]})`);
    }
    await lab.screenshot(alice, 'alice-server-down');
    // Said plainly across the stage, and on our own row in the people list.
    assert.match(await alice.locator('#server-lost').innerText(), /Lost the connection to the server/);
    assert.equal(await alice.locator('#me-status').textContent(), 'Reconnecting to the server…');

    // Back on the same address and port (a fresh process: it knows nobody).
    lab.confab = await startConfab({
      lab: lab.net, ns: lab.net.serverNs, ip: lab.net.serverIp, port: PORT,
      probeNs: lab.net.clients[0].ns, artifactsDir: lab.artifactsDir, publicHost: PUBLIC_HOST,
    });
    t.diagnostic(`confab was down for ${Date.now() - downAt} ms`);

    // Both rejoin by themselves: new ids, each sees exactly the other (no ghost of the old
    // ids), and they are in one call together again on the connection that never stopped.
    /**
     * @param {Page} page
     * @param {string} otherName
     */
    const settled = async (page, otherName) => page.evaluate((other) => {
      const c = window.confab;
      const peers = c.peers;
      const rows = [.../** @type {NodeListOf<HTMLLIElement>} */ (document.querySelectorAll('#peer-list li'))];
      const pcs = Object.keys(c.pcs());
      return c.signaling.connected && peers.length === 1 && peers[0].name === other
        && rows.length === 1 && rows[0].dataset.peerId === peers[0].id
        && c.callState === 'in-call' && c.call.members.length === 1 && c.call.members[0] === peers[0].id
        && pcs.length === 1 && pcs[0] === peers[0].id
        ? { me: c.peerId, other: peers[0].id, rebound: c.signaling.rebound } : null;
    }, otherName);
    const after = [];
    for (const [i, page] of pages.entries()) {
      try {
        after[i] = await pollUntil(() => settled(page, names[1 - i]),
          { timeout: 30_000, interval: 200, message: `${names[i]} back in the room and the call` });
      } catch (e) {
        assert.fail(`${/** @type {Error} */ (e).message}\n${names[i]}'s window.confab: ${await describeConfab(page)}\n${lab.where()}`);
      }
    }
    assert.ok(await alice.locator('#server-lost').isHidden(), 'the server is back: nothing said of it');
    assert.equal(after[0].other, after[1].me, "Alice's Bob is Bob's new id");
    assert.equal(after[1].other, after[0].me, "Bob's Alice is Alice's new id");
    assert.notEqual(after[0].me, ids[0], 'a fresh identity after the restart');
    for (const i of [0, 1]) {
      assert.equal(after[i].rebound, 1, `${names[i]} carried its connection over`);
    }
    // The carried-over connection is still the one decoding.
    const x0 = await Promise.all([frames(alice, after[0].other), frames(bob, after[1].other)]);
    await sleep(1500);
    const x1 = await Promise.all([frames(alice, after[0].other), frames(bob, after[1].other)]);
    for (const i of [0, 1]) {
      assert.ok(x1[i] > x0[i] && x0[i] >= during[i],
        `${names[i]} decodes on after the rejoin (${during[i]} -> ${x0[i]} -> ${x1[i]})`);
    }
    const statuses = await Promise.all(pages.map((p) => p.locator('#status').textContent()));
    assert.ok(/** @type {string} */ (statuses[0]).includes('In a call with Bob'), `Alice's status: ${statuses[0]}`);
    assert.ok(/** @type {string} */ (statuses[1]).includes('In a call with Alice'), `Bob's status: ${statuses[1]}`);
    await lab.screenshot(alice, 'alice-after-restart');
    await lab.screenshot(bob, 'bob-after-restart');
  });

test('reconnect: a namespace link cut for a few seconds: an ICE restart recovers',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    const { ids } = await establishCall(lab, [alice, bob], roomName('linkcut'), ['Alice', 'Bob']);
    const restarts = async () => {
      const [a, b] = await Promise.all([callStats(alice), callStats(bob)]);
      return (a?.[ids[1]]?.iceRestarts ?? 0) + (b?.[ids[0]]?.iceRestarts ?? 0);
    };
    assert.equal(await restarts(), 0, 'no ICE restart before the cut');

    // Alice's cable out: her bridge port in the server namespace goes down.
    const port = `v${lab.net.clients[0].role}`;
    const aliceTile = `.tile.remote[data-peer-id="${ids[0]}"]`;
    const cut = Date.now();
    lab.net.ip(lab.net.serverNs, 'link', 'set', port, 'down');
    // Bob's tile of Alice says so at once, not "Connected" over a frozen picture.
    await bob.locator(`${aliceTile}.stalled`).waitFor({ timeout: 5_000 });
    const saidAfter = Date.now() - cut;
    assert.equal(await bob.locator(`${aliceTile} .conn-text`).textContent(), 'Connection interrupted…');
    t.diagnostic(`Bob's tile said "Connection interrupted" ${saidAfter} ms after the cut`);
    assert.ok(saidAfter < 3_000, `within 3 s (${saidAfter} ms)`);
    await lab.screenshot(bob, 'link-cut-stalled');
    let state = '';
    try {
      await pollUntil(async () => {
        state = (await callStats(bob))?.[ids[0]]?.iceConnectionState ?? '';
        return state === 'disconnected' || state === 'failed';
      }, { timeout: 15_000, interval: 100, message: "Bob's connection to Alice goes disconnected" });
    } finally {
      await sleep(5000);
      lab.net.ip(lab.net.serverNs, 'link', 'set', port, 'up');
    }
    const linkBack = Date.now();
    const cutFrames = await allFrames(bob);

    // Video comes back, and it took an ICE restart.
    /** @type {{bob?: number, restarts?: number, ice?: RTCIceConnectionState}} */
    let last = {};
    try {
      await pollUntil(async () => {
        const sample = { bob: await allFrames(bob), restarts: await restarts(),
          ice: (await callStats(bob))?.[ids[0]]?.iceConnectionState };
        last = sample;
        return sample.restarts > 0 && sample.bob > cutFrames + 30
          && /** @type {(string | undefined)[]} */ (['connected', 'completed']).includes(sample.ice);
      }, { timeout: 45_000, interval: 250, message: 'frames decode again after an ICE restart' });
    } catch (e) {
      assert.fail(`${/** @type {Error} */ (e).message}\nlast: ${JSON.stringify(last)}\nBob: ${await describeConfab(bob)}\n` +
        `Alice: ${await describeConfab(alice)}\n${lab.where()}`);
    }
    t.diagnostic(`ICE restarts: ${last.restarts}; Bob's frames ${cutFrames} -> ${last.bob}, ${Date.now() - linkBack} ms after the link`);
    await bob.locator(`${aliceTile}:not(.stalled)`).waitFor({ timeout: 5_000 });
    assert.equal(await bob.locator(`${aliceTile} .conn-text`).textContent(), 'Connected', 'and back to normal');
    // Still the same people in the same call.
    assert.deepEqual(await bob.evaluate(() => window.confab.call.members), [ids[0]]);
  });

test('reconnect: in a call through the router, a link cut for longer than the router waits: the call comes back',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2, confabArgs: ['--media', 'sfu'] });
    const [alice, bob] = lab.pages;
    const { aliceId, bobId } = await sfuCallOfTwo(lab, roomName('sfucut'));
    await pollUntil(async () => (await frames(alice, bobId)) > 0,
      { timeout: 30_000, message: 'Alice decodes Bob through the router' });

    // Alice's cable out for 20 s: the router gives her connection up (its consent checks
    // go unanswered), and so may her browser.
    const port = `v${lab.net.clients[0].role}`;
    lab.net.ip(lab.net.serverNs, 'link', 'set', port, 'down');
    try {
      await sleep(20_000);
    } finally {
      lab.net.ip(lab.net.serverNs, 'link', 'set', port, 'up');
    }
    const back = Date.now();
    const [aliceBefore, bobBefore] = [await allFrames(alice), await allFrames(bob)];
    /** @type {Record<string, unknown>} */
    let last = {};
    try {
      await pollUntil(async () => {
        const [a, b] = [await allFrames(alice), await allFrames(bob)];
        last = { a, b };
        return a > aliceBefore + 30 && b > bobBefore + 30 ? last : null;
      }, { timeout: 60_000, interval: 500, message: 'both decode each other through the router again' });
    } catch (e) {
      assert.fail(`${/** @type {Error} */ (e).message}; last ${JSON.stringify(last)}\nAlice: ${await describeConfab(alice)}\n` +
        `Bob: ${await describeConfab(bob)}\n${lab.where()}`);
    }
    t.diagnostic(`the call's video came back ${Date.now() - back} ms after the link`);
    // Alice's page gave up its silent WebSocket and opened another (liveness.js), rather
    // than wait for the old one's TCP retries, 10 s or more apart by then.
    const signaling = await alice.evaluate(() => window.confab.signaling);
    t.diagnostic(`Alice's signaling: ${JSON.stringify(signaling)}`);
    assert.ok(signaling.reconnects >= 1, 'a new signaling connection');
    // Still the same two in the same call, on one connection each.
    assert.deepEqual(await bob.evaluate(() => window.confab.call.members), [aliceId]);
    assert.deepEqual(await alice.evaluate(() => window.confab.call.members), [bobId]);
    for (const page of [alice, bob]) {
      assert.equal(await page.evaluate(() => new Set(Object.values(window.confab.pcs())).size), 1, 'one router connection');
    }
  });

/**
 * The page's confirmed chat messages as shown: [{id, text}] in DOM order.
 * @param {Page} page
 */
function shownChat(page) {
  return page.evaluate(() => [...document.querySelectorAll('#chat-list li[data-msg-id]')].map((li) => ({
    id: Number(li.getAttribute('data-msg-id')),
    text: li.querySelector('.chat-text')?.textContent ?? null,
  })));
}

/**
 * Sends `text` from `page`'s composer (the chat panel must be open).
 * @param {Page} page
 * @param {string} text
 */
async function say(page, text) {
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
}

test('reconnect: a dropped WebSocket resumes the same identity; no chat message lost or duplicated',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    const { ids } = await establishCall(lab, [alice, bob], roomName('resume'), ['Alice', 'Bob']);
    for (const p of [alice, bob]) await p.click('#chat-toggle');
    await say(bob, 'one');
    await pollUntil(async () => (await shownChat(alice)).some((m) => m.text === 'one'),
      { timeout: 5_000, message: 'Alice sees "one"' });

    // Kill Alice's signaling connection (RST from the server side) and refuse her new
    // ones for a while, so messages are sent while she is away.
    const srv = lab.net.serverNs;
    const aliceIp = lab.net.clients[0].ip;
    const rule = ['INPUT', '-p', 'tcp', '-s', aliceIp, '--dport', String(PORT), '--syn',
      '-j', 'REJECT', '--reject-with', 'tcp-reset'];
    lab.net.run(srv, 'iptables', ['-w', '5', '-I', ...rule]);
    let ruleIn = true;
    try {
      lab.net.run(srv, 'ss', ['-K', 'dst', aliceIp, 'sport', `= :${PORT}`]);
      await pollUntil(async () => /** @type {string} */ (await alice.locator('#status').textContent()).includes('Reconnecting'),
        { timeout: 10_000, message: 'Alice shows Reconnecting…' });
      // Bob sees her reconnecting, not gone.
      await pollUntil(async () => /** @type {string} */ (await bob.locator(`#peer-list li[data-peer-id="${ids[0]}"] .peer-status`)
        .textContent().catch(() => '')).includes('Reconnecting'),
      { timeout: 10_000, message: 'Bob sees Alice reconnecting' });
      const dropped = 'Alice’s connection dropped, reconnecting…';
      assert.ok((await bob.evaluate(() => window.confab.roomNotices)).includes(dropped), 'and is told so in words');
      await say(bob, 'two');
      await say(bob, 'three');
      await pollUntil(async () => (await shownChat(bob)).some((m) => m.text === 'three'),
        { timeout: 5_000, message: 'Bob sees "three"' });
      assert.ok(!(await shownChat(alice)).some((m) => m.text === 'two'), 'Alice is really away');
      lab.net.run(srv, 'iptables', ['-w', '5', '-D', ...rule]);
      ruleIn = false;
    } finally {
      if (ruleIn) lab.net.run(srv, 'iptables', ['-w', '5', '-D', ...rule], { allowFail: true });
    }

    // She comes back as herself, and her chat holds every message exactly once, in order.
    try {
      await pollUntil(() => alice.evaluate(() => window.confab.signaling.connected),
        { timeout: 20_000, interval: 200, message: 'Alice reconnected' });
    } catch (e) {
      assert.fail(`${/** @type {Error} */ (e).message}\nAlice: ${await describeConfab(alice)}\n${lab.where()}`);
    }
    assert.equal(await alice.evaluate(() => window.confab.peerId), ids[0], 'same peer id');
    await pollUntil(async () => (await bob.evaluate(() => window.confab.roomNotices)).includes('Alice is back'),
      { timeout: 5_000, message: 'Bob is told Alice is back' });
    assert.ok(await alice.evaluate(() => window.confab.signaling.reconnects >= 1));
    await say(alice, 'four');
    const want = ['one', 'two', 'three', 'four'];
    for (const [name, page] of /** @type {[string, Page][]} */ ([['Alice', alice], ['Bob', bob]])) {
      /** @type {Awaited<ReturnType<typeof shownChat>>} */
      let shown = [];
      try {
        await pollUntil(async () => {
          shown = await shownChat(page);
          return shown.length === want.length;
        }, { timeout: 5_000, message: `${name} shows 4 messages` });
      } catch (e) {
        assert.fail(`${/** @type {Error} */ (e).message}: ${JSON.stringify(shown)}`);
      }
      assert.deepEqual(shown.map((m) => m.text), want, `${name}'s chat`);
      const msgIds = shown.map((m) => m.id);
      assert.ok(msgIds.every((id, i) => i === 0 || id > msgIds[i - 1]), `${name}: ids increase`);
    }
    // Bob never lost her: same id, back to normal, still in the call with her.
    const bobView = await bob.evaluate(() => ({ peers: window.confab.peers, members: window.confab.call.members }));
    assert.deepEqual(bobView.peers.map((p) => p.id), [ids[0]]);
    assert.ok(!bobView.peers[0].state.reconnecting, 'not reconnecting any more');
    assert.deepEqual(bobView.members, [ids[0]]);
    const f0 = await frames(alice, ids[1]);
    await sleep(1000);
    assert.ok((await frames(alice, ids[1])) > f0, 'the call goes on');
  });

test('reconnect: joining over a network that swallows everything says so in words within seconds, and works once it is back',
  { skip: SKIP, timeout: 90_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 1 });
    const [ada] = lab.pages;
    await ada.goto(lab.url(`/r/${roomName('blackhole')}`));
    await ada.fill('#name', 'Ada');
    // After the page loaded, a firewall starts dropping everything to the server's port:
    // the WebSocket's SYNs go nowhere and nothing comes back to say so (no refusal, no
    // reset, no unreachable host), so the browser's own connect would wait minutes.
    const drop = (/** @type {string} */ op) => lab.net.run(lab.net.serverNs, 'iptables',
      ['-w', '5', op, 'INPUT', '-p', 'tcp', '--dport', String(PORT), '-j', 'DROP']);
    drop('-I');
    let said = 0;
    try {
      const clicked = Date.now();
      await ada.click('#join');
      await ada.locator('#access-note', { hasText: 'Could not connect to the server' }).waitFor({ timeout: 20_000 });
      said = Date.now() - clicked;
      t.diagnostic(`"Could not connect" ${said} ms after Join: ${await ada.textContent('#access-note')}`);
      assert.equal(await ada.evaluate(() => window.confab.state), 'lobby', 'back in the lobby, the form as it was');
      assert.equal(await ada.inputValue('#name'), 'Ada');
      await lab.screenshot(ada, 'join-blackholed');
    } finally {
      drop('-D');
    }
    // The page gives up on a connection without `welcome` after 8 s (liveness.js).
    assert.ok(said < 15_000, `said within 15 s (${said} ms)`);
    await ada.click('#join');
    await pollUntil(async () => (await ada.evaluate(() => window.confab.state)) === 'in-room',
      { timeout: 20_000, message: 'Ada joins once the network is back' });
  });
