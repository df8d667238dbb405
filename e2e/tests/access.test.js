// Access control as a person meets it, in real Chromium (each browser in its own network
// namespace): a room with a password asks for it in the lobby, a wrong one is refused in
// words and changes nothing, the right one joins; a join-token link joins at once under
// the token's name and leaves no token in the address bar; a bad link says so in words.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { joinRoom, showPeople } from '../lib/call.js';
import { confabBin, mintToken as mint } from '../lib/confab.js';
import { describeConfab, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();
const TOKEN_KEY = 'e2e-access-token-key-0123456789abcdef';
const PASSWORD = 'open sesame';

/**
 * Runs `confab <args>` (no network: it only hashes or signs) and returns its stdout.
 * @param {string[]} args
 * @param {string} [input] its stdin
 */
function confab(args, input) {
  const r = spawnSync(confabBin(), args, { input, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `confab ${args[0]} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * A join token for `room` and `name`, minted by `confab token` with `key`.
 * @param {string} room
 * @param {string} name
 * @param {{key?: string, role?: 'host' | 'guest'}} [o]
 */
function mintToken(room, name, { key = TOKEN_KEY, role = 'guest' } = {}) {
  return mint(room, name, { key, role });
}

/**
 * Text of an element, or null when it is missing or hidden.
 * @param {Page} page
 * @param {string} selector
 */
function visibleText(page, selector) {
  return page.evaluate((sel) => {
    const el = /** @type {HTMLElement | null} */ (document.querySelector(sel));
    if (!el || el.closest('[hidden]') || el.hidden) return null;
    return el.textContent.trim();
  }, selector);
}

/**
 * @param {Page} page
 * @param {string} who
 */
async function waitInRoom(page, who) {
  try {
    return await waitFor(page, () => window.confab.state === 'in-room' && window.confab.peerId,
      { timeout: 15_000, message: `${who} in the room` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${who}: ${await describeConfab(page)}`);
  }
}

/**
 * @param {Page} page
 * @param {string} selector
 * @param {string} want
 * @param {string} who
 */
async function waitForText(page, selector, want, who) {
  try {
    return await waitFor(page, ([sel, w]) => {
      const el = document.querySelector(sel);
      return el && !el.closest('[hidden]') && el.textContent.includes(w) ? el.textContent.trim() : null;
    }, { arg: [selector, want], timeout: 15_000, message: `${who}: ${selector} says ${JSON.stringify(want)}` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${who}: ${await describeConfab(page)}`);
  }
}

const peerNames = (/** @type {Page} */ page) => page.evaluate(() => window.confab.peers.map((p) => p.name).sort());

test('access: password prompt, wrong password in words, right one joins; token links join at once',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const room = roomName('access');
    const hash = confab(['hash-password'], `${PASSWORD}\n`);
    assert.match(hash, /^\$argon2/, 'confab hash-password prints an argon2 hash');
    const lab = await startLab({
      t,
      browsers: [{ name: 'Alice' }, { name: 'Bob' }, { name: 'Carol' }],
      confabArgs: ['--room-password', `${room}=${hash}`, '--token-key', TOKEN_KEY],
    });
    const [alice, bob, carol] = lab.pages;

    // Alice follows a plain link: the lobby asks for the password, in words.
    await alice.goto(lab.url(`/r/${room}?name=Alice&join=1`));
    const asked = await waitForText(alice, '#password-note', 'This room needs a password', 'Alice');
    assert.equal(asked, 'This room needs a password.');
    assert.equal(await alice.evaluate(() => window.confab.state), 'lobby', 'Alice stays in the lobby');
    assert.ok(await alice.locator('#password').isVisible(), 'the password field is shown');
    assert.equal(await alice.evaluate(() => document.activeElement?.id), 'password', 'and focused');
    assert.equal(await alice.evaluate(() => document.getElementById('error')?.textContent), '',
      'no toast: the sentence is by the field');

    // A wrong password: refused in words, the form keeps what she typed, no reload.
    await alice.fill('#password', 'open sesame?');
    await alice.click('#join');
    await waitForText(alice, '#password-note', 'Wrong password', 'Alice');
    assert.equal(await alice.evaluate(() => window.confab.state), 'lobby', 'still in the lobby');
    assert.equal(await alice.inputValue('#name'), 'Alice', 'her name is kept');
    assert.equal(await alice.inputValue('#room'), room, 'the room is kept');
    assert.equal(await alice.getAttribute('#password', 'aria-invalid'), 'true', 'the field is marked invalid');
    assert.ok((await alice.evaluate(() => window.confab.errors)).some((e) => e.startsWith('Wrong password')),
      'window.confab.errors records the refusal');
    for (const size of [{ width: 1280, height: 800 }, { width: 375, height: 740 }]) {
      await alice.setViewportSize(size);
      await lab.screenshot(alice, `password-wrong-${size.width}`);
    }
    await alice.setViewportSize({ width: 1280, height: 800 });

    // Bob types the right one: he is in, and finds nobody (Alice's tries left no trace).
    await bob.goto(lab.url(`/r/${room}?name=Bob&join=1`));
    await waitForText(bob, '#password-note', 'This room needs a password', 'Bob');
    await bob.fill('#password', PASSWORD);
    await bob.press('#password', 'Enter');
    await waitInRoom(bob, 'Bob');
    assert.deepEqual(await peerNames(bob), [], 'the refused attempts put nobody in the room');

    // Alice corrects hers and joins without reloading; Bob sees her.
    await alice.fill('#password', PASSWORD);
    await alice.click('#join');
    await waitInRoom(alice, 'Alice');
    assert.deepEqual(await peerNames(alice), ['Bob']);
    await waitFor(bob, () => window.confab.peers.some((p) => p.name === 'Alice'),
      { timeout: 10_000, message: 'Bob sees Alice' });

    // A bad token link (signed with another key) is refused in words; nothing joins.
    const forged = mintToken(room, 'Mallory', { key: 'another-key-that-is-not-the-servers-0000' });
    await carol.goto(lab.url(`/r/${room}?token=${forged}`));
    await waitForText(carol, '#access-note', 'invitation link is not valid', 'Carol');
    assert.equal(await carol.evaluate(() => window.confab.state), 'lobby');
    assert.ok(!carol.url().includes('token='), `the token left the address bar (${carol.url()})`);

    // A valid token link: in at once, no prompt, under the token's name, even though the
    // room has a password; the token is not in the address bar or the shared link.
    const token = mintToken(room, 'Dana Token');
    await carol.goto(lab.url(`/r/${room}?token=${token}`));
    await waitInRoom(carol, 'Carol');
    assert.equal(await carol.evaluate(() => document.getElementById('me-name')?.textContent), 'Dana Token',
      'the page shows the name from the token');
    assert.equal(await carol.evaluate(() => window.confab.errors.length), 0, 'no refusal on the way');
    assert.ok(!carol.url().includes('token='), `the token left the address bar (${carol.url()})`);
    await waitFor(alice, () => window.confab.peers.some((p) => p.name === 'Dana Token'),
      { timeout: 10_000, message: 'Alice sees Dana Token' });
    await lab.screenshot(carol, 'token-joined');
    for (const [page, who] of /** @type {[Page, string][]} */ ([[alice, 'Alice'], [bob, 'Bob'], [carol, 'Carol']])) {
      assert.deepEqual(/** @type {import('../lib/browser.js').Browser} */ (lab.browsers.find((b) => b.page === page)).pageErrors, [], `${who}: no page errors`);
    }
  });

test('roles: the first person hosts, mutes and removes a guest, locks the room against a newcomer',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const room = roomName('host');
    const lab = await startLab({ t, browsers: [{ name: 'Alice' }, { name: 'Bob' }, { name: 'Carol' }] });
    const [alice, bob, carol] = lab.pages;
    const aliceId = await joinRoom(lab, alice, room, 'Alice');
    const bobId = await joinRoom(lab, bob, room, 'Bob');
    assert.equal(await alice.evaluate(() => window.confab.role), 'host', 'the first person hosts');
    assert.equal(await bob.evaluate(() => window.confab.role), 'guest');
    await showPeople(alice);
    await showPeople(bob);

    // Everyone sees who hosts; only the host gets the actions.
    const bobRowAtAlice = `#peer-list li[data-peer-id="${bobId}"]`;
    await alice.locator(`${bobRowAtAlice} .host-actions`).waitFor({ state: 'visible', timeout: 10_000 });
    assert.ok(await alice.locator('#me-role').isVisible(), 'Alice sees "Host" on her own row');
    assert.equal(await visibleText(bob, `#peer-list li[data-peer-id="${aliceId}"] .role-tag`), 'Host',
      'Bob sees that Alice hosts');
    assert.equal(await bob.locator('.host-actions:visible').count(), 0, 'a guest has no host actions');
    assert.ok(!(await bob.locator('#lock-room').isVisible()), 'a guest has no lock toggle');

    // Mute: Bob turns his microphone on (nothing opens it on entering a room); the host
    // mutes it, he is told who did it, and Alice sees it in presence.
    await bob.click('#mic-toggle');
    await waitFor(bob, () => document.querySelector('#mic-toggle')?.getAttribute('aria-pressed') === 'false',
      { timeout: 10_000, message: "Bob's microphone is on" });
    await alice.click(`${bobRowAtAlice} .mute-peer`);
    await waitForText(bob, '#call-notice', 'Alice muted you', 'Bob');
    assert.equal(await bob.getAttribute('#mic-toggle', 'aria-pressed'), 'true', "Bob's mic button shows muted");
    await waitFor(alice, (id) => document.querySelector(`#peer-list li[data-peer-id="${id}"]`)?.classList.contains('mic-off'),
      { arg: bobId, timeout: 10_000, message: "Alice sees Bob's microphone off" });
    assert.equal(await visibleText(alice, `${bobRowAtAlice} .mute-peer`), 'Muted');
    for (const size of [{ width: 1280, height: 800 }, { width: 375, height: 740 }]) {
      await alice.setViewportSize(size);
      await showPeople(alice);
      await lab.screenshot(alice, `host-people-${size.width}`);
    }
    await alice.setViewportSize({ width: 1280, height: 800 });
    await showPeople(alice);

    // Lock: both are told; a newcomer is refused in words and stays in the lobby.
    await alice.click('#lock-room');
    await waitForText(alice, '#call-notice', 'You locked the room', 'Alice');
    await waitForText(bob, '#call-notice', 'Alice locked the room', 'Bob');
    assert.ok(await bob.locator('#room-locked').isVisible(), 'Bob sees the room is locked');
    assert.equal(await alice.getAttribute('#lock-room', 'aria-pressed'), 'true');
    await carol.goto(lab.url(`/r/${room}?name=Carol&join=1`));
    const refusal = await waitForText(carol, '#access-note', 'This room is locked', 'Carol');
    assert.match(refusal, /host is not letting anyone else in/);
    assert.equal(await carol.evaluate(() => window.confab.state), 'lobby');
    await lab.screenshot(carol, 'room-locked-refusal');
    assert.deepEqual((await alice.evaluate(() => window.confab.peers)).map((p) => p.name), ['Bob'],
      'Carol did not get in');

    // Remove: Bob is back in the lobby with the reason; Alice is told.
    await alice.click(`${bobRowAtAlice} .remove-peer`);
    await alice.click('#confirm-ok'); // Remove asks first (defects.test.js)
    const why = await waitForText(bob, '#access-note', 'removed you', 'Bob');
    assert.equal(why, 'Alice removed you from the room.');
    assert.equal(await bob.evaluate(() => window.confab.state), 'lobby', 'Bob is back in the lobby');
    await waitForText(alice, '#call-notice', 'Bob was removed from the room', 'Alice');
    await waitFor(alice, () => window.confab.peers.length === 0, { timeout: 10_000, message: 'Bob gone at Alice' });
    await lab.screenshot(bob, 'removed');

    // Unlock: Carol can now join.
    await alice.click('#lock-room');
    await waitForText(alice, '#call-notice', 'You unlocked the room', 'Alice');
    await carol.click('#join');
    await waitInRoom(carol, 'Carol');
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
