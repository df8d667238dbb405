// Reconnection, as a person in a call would live it: the server dies mid-call (the video
// keeps playing, the page says "Reconnecting…", and when the server is back everyone is in
// the room and the call again, with no ghosts), and a network link drops for a few
// seconds (an ICE restart brings the video back).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { establishCall } from '../lib/call.js';
import { startConfab } from '../lib/confab.js';
import { callStats, describeConfab, PORT, PUBLIC_HOST, pollUntil, roomName, skipReason, sleep, startLab }
  from '../lib/lab.js';

const SKIP = skipReason();

/** framesDecoded of the page's connection with `peerId` (old or new id), or 0. */
async function frames(page, peerId) {
  const s = await callStats(page);
  return s?.[peerId]?.framesDecoded ?? 0;
}

/** Sum of framesDecoded over all of the page's connections (orphans included). */
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
    const old = lab.confab;
    const exited = new Promise((r) => old.child.once('exit', r));
    process.kill(old.pid, 'SIGKILL');
    await exited;
    const downAt = Date.now();

    // Both pages notice and say so, and media keeps flowing peer to peer.
    for (const [i, page] of pages.entries()) {
      await pollUntil(async () => (await page.locator('#status').textContent()).includes('Reconnecting'),
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

    // Back on the same address and port (a fresh process: it knows nobody).
    lab.confab = await startConfab({
      lab: lab.net, ns: lab.net.serverNs, ip: lab.net.serverIp, port: PORT,
      probeNs: lab.net.clients[0].ns, artifactsDir: lab.artifactsDir, publicHost: PUBLIC_HOST,
    });
    t.diagnostic(`confab was down for ${Date.now() - downAt} ms`);

    // Both rejoin by themselves: new ids, each sees exactly the other (no ghost of the old
    // ids), and they are in one call together again on the connection that never stopped.
    const settled = async (page, otherName) => page.evaluate((other) => {
      const c = window.confab;
      const peers = c.peers;
      const rows = [...document.querySelectorAll('#peer-list li')];
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
        assert.fail(`${e.message}\n${names[i]}'s window.confab: ${await describeConfab(page)}\n${lab.where()}`);
      }
    }
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
    assert.ok(statuses[0].includes('In a call with Bob'), `Alice's status: ${statuses[0]}`);
    assert.ok(statuses[1].includes('In a call with Alice'), `Bob's status: ${statuses[1]}`);
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
    lab.net.ip(lab.net.serverNs, 'link', 'set', port, 'down');
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
    const cutFrames = await allFrames(bob);

    // Video comes back, and it took an ICE restart.
    let last = {};
    try {
      await pollUntil(async () => {
        last = { bob: await allFrames(bob), restarts: await restarts(),
          ice: (await callStats(bob))?.[ids[0]]?.iceConnectionState };
        return last.restarts > 0 && last.bob > cutFrames + 30 && ['connected', 'completed'].includes(last.ice);
      }, { timeout: 45_000, interval: 250, message: 'frames decode again after an ICE restart' });
    } catch (e) {
      assert.fail(`${e.message}\nlast: ${JSON.stringify(last)}\nBob: ${await describeConfab(bob)}\n` +
        `Alice: ${await describeConfab(alice)}\n${lab.where()}`);
    }
    t.diagnostic(`ICE restarts: ${last.restarts}; Bob's frames ${cutFrames} -> ${last.bob}`);
    // Still the same people in the same call.
    assert.deepEqual(await bob.evaluate(() => window.confab.call.members), [ids[0]]);
  });
