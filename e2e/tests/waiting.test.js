// The waiting room (issue 14 item 4): Alice, the host, turns it on; Bob (in Chinese)
// opens the room link and waits, told so over the stage; Alice sees him knock and lets
// him in; Carol knocks and is not let in, and says so in her lobby.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinRoom, showPeople } from '../lib/call.js';
import { roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

const SKIP = skipReason();

test('waiting room: a host lets one joiner in and not another', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const lab = await startLab({ t, browsers: [{}, { locale: 'zh-CN' }, {}] });
  const [alice, bob, carol] = lab.pages;
  const room = roomName('wait');
  await joinRoom(lab, alice, room, 'Alice');
  await showPeople(alice);
  await alice.click('#more-toggle');
  await alice.click('#menu-waiting-room');
  await waitFor(alice, () => window.confab.notices.some((n) => n.includes('waiting room is on')),
    { timeout: 5_000, message: 'Alice is told the waiting room is on' });

  // Bob waits, and says so.
  await bob.goto(lab.url(`/r/${room}?name=Bob&join=1`));
  await bob.locator('#waiting-note').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await bob.locator('#waiting-note').innerText(), /主持人很快会让你进入/);
  assert.equal(await bob.locator('#status').textContent(), '正在等待主持人让你加入…', 'his status line says he waits');
  await bob.waitForTimeout(1_000);
  assert.notEqual(await bob.evaluate(() => window.confab.state), 'in-room', 'Bob is not in yet');
  await lab.screenshot(bob, 'waiting-zh');
  // Alice sees him knock, and lets him in.
  const knock = alice.locator('#knocks li.knock');
  await knock.waitFor({ timeout: 5_000 });
  assert.match(await knock.innerText(), /Bob wants to join/);
  await lab.screenshot(alice, 'knocking');
  await knock.locator('.admit-peer').click();
  await waitFor(bob, () => window.confab.state === 'in-room', { timeout: 10_000, message: 'Bob is let in' });
  await bob.locator('#waiting-note').waitFor({ state: 'hidden', timeout: 5_000 });
  await waitFor(alice, () => window.confab.peers.some((p) => p.name === 'Bob'), { timeout: 5_000, message: 'Alice sees Bob' });
  await knock.waitFor({ state: 'detached', timeout: 5_000 });

  // Carol knocks and is not let in: back in her lobby, told why.
  await carol.goto(lab.url(`/r/${room}?name=Carol&join=1`));
  await carol.locator('#waiting-note').waitFor({ state: 'visible', timeout: 10_000 });
  await alice.locator('#knocks li.knock .deny-peer').click();
  await waitFor(carol, () => window.confab.state === 'lobby', { timeout: 10_000, message: 'Carol is back in the lobby' });
  await carol.locator('#access-note').waitFor({ state: 'visible', timeout: 5_000 });
  assert.match(await carol.locator('#access-note').textContent() ?? '', /^A host of the room did not let you in\./);
  assert.ok(!(await bob.evaluate(() => window.confab.peers.some((p) => p.name === 'Carol'))), 'Carol never entered');
  await lab.screenshot(carol, 'not-admitted');
});
