// The connection check (`/check`, issue 14 item 3) in the NAT lab, against confab's own
// STUN/TURN (UDP, TCP and TLS). Two browsers behind NATs: Alice's network is open, Bob's
// NAT drops every UDP packet (iptables in his NAT box). Each runs the check: Alice's
// camera, microphone, public address and the three relays work and the verdict says
// calls will work; on Bob's page (in Chinese) STUN and relay over UDP fail, TCP and TLS
// work, and the verdict says UDP is blocked and calls go through the server.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNatLab, labUnavailableReason } from '../lib/netns.js';
import { startTurnServer } from '../lib/turn.js';
import { startLab } from '../lib/lab.js';
import { artifactsDirFor } from '../lib/util.js';
import { confabServeHasFlag } from '../lib/confab.js';
import { lowContrast, smallTargets } from '../lib/audit.js';

const SKIP = labUnavailableReason() ?? (confabServeHasFlag('--turn-listen') ? false : 'confab has no TURN');

/**
 * Runs the check on `page` and returns what each line says, by item.
 * @param {import('playwright-core').Page} page
 * @param {string} url
 */
async function runCheck(page, url) {
  await page.goto(url);
  await page.click('#check-start');
  await page.locator('#check-verdict:not([hidden])').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => !(/** @type {HTMLButtonElement} */ (document.getElementById('check-start'))).disabled,
    undefined, { timeout: 20_000 });
  return page.evaluate(() => Object.fromEntries(['camera', 'microphone', 'stun', 'udp', 'tcp', 'tls', 'verdict'].map((k) => {
    const li = /** @type {HTMLElement} */ (document.getElementById(`check-${k}`));
    return [k, { state: li.dataset.state, says: li.innerText.trim() }];
  })));
}

test('check: an open network passes; behind a NAT that drops UDP the check says so and names the way out',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const artifactsDir = artifactsDirFor(t.name);
    const net = createNatLab({ clients: 2, nat: 'cone' });
    let turn;
    try {
      turn = await startTurnServer('confab', net, { artifactsDir, tls: true });
    } catch (e) {
      net.destroySync();
      throw e;
    }
    const lab = await startLab({ t, name: t.name, net, artifactsDir,
      browsers: [{}, { locale: 'zh-CN', viewport: { width: 375, height: 740 } }],
      confabArgs: turn.confabArgs('stun+turn') });
    await turn.ready();
    const [alice, bob] = lab.pages;
    // Bob's NAT box forwards no UDP at all, either way.
    net.run(net.clients[1].natNs, 'iptables', ['-w', '5', '-I', 'FORWARD', '-p', 'udp', '-j', 'DROP']);

    const open = await runCheck(alice, lab.url('/check'));
    t.diagnostic(`open network: ${JSON.stringify(open)}; probed ${JSON.stringify(await alice.evaluate(() => /** @type {any} */ (window).confabCheck?.urls))}`);
    await lab.screenshot(alice, 'check-open');
    for (const item of ['camera', 'microphone', 'stun', 'udp', 'tcp', 'tls', 'verdict']) {
      assert.equal(open[item].state, 'ok', `${item}: ${open[item].says}`);
    }
    assert.ok(open.stun.says.includes(net.clients[0].wanIp), `STUN names Alice's public address ${net.clients[0].wanIp}`);
    assert.match(open.verdict.says, /Calls will work from here/);

    const blocked = await runCheck(bob, lab.url('/check'));
    t.diagnostic(`UDP blocked: ${JSON.stringify(blocked)}`);
    await lab.screenshot(bob, 'check-udp-blocked-zh');
    assert.equal(blocked.stun.state, 'failed', `STUN: ${blocked.stun.says}`);
    assert.equal(blocked.udp.state, 'failed', `relay over UDP: ${blocked.udp.says}`);
    assert.equal(blocked.tcp.state, 'ok', `relay over TCP: ${blocked.tcp.says}`);
    assert.equal(blocked.tls.state, 'ok', `relay over TLS: ${blocked.tls.says}`);
    assert.equal(blocked.verdict.state, 'warn');
    assert.match(blocked.verdict.says, /UDP 被阻止/, 'the verdict says UDP is blocked, in Chinese');
    assert.match(blocked.verdict.says, /TCP 或 TLS/, 'and the way calls will take');
    assert.deepEqual(await lowContrast(bob), [], 'the check page reads well');
    assert.deepEqual(await smallTargets(bob), [], 'and its controls take a finger');
  });
