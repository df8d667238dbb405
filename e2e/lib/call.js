// Call-level helpers built on the web-test contract (docs/web-test-contract.md): join a
// room through the URL, wait for a proven call, read setup times.

import { callStats, describeConfab, waitFor } from './browser.js';
import { pollUntil, safeJson } from './util.js';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('./browser.js').CallStats} CallStats */
/** @typedef {import('./lab.js').TestLab} TestLab */

/**
 * Open `/r/<room>?name=<name>&join=1` and wait until the client is in the room.
 * Returns the page's own peer id.
 * @param {TestLab} lab
 * @param {Page} page
 * @param {string} room
 * @param {string} name
 * @param {{timeout?: number}} [o]
 */
export async function joinRoom(lab, page, room, name, { timeout = 15_000 } = {}) {
  const path = `/r/${encodeURIComponent(room)}?name=${encodeURIComponent(name)}&join=1`;
  await page.goto(lab.url(path), { timeout });
  try {
    return await waitFor(page, () => window.confab && window.confab.state === 'in-room'
      && window.confab.peerId, { timeout, message: `${name} in room ${room}` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${name}'s window.confab: ${await describeConfab(page)}`);
  }
}

/**
 * Makes sure the people panel (with the per-person call buttons) is on screen.
 * @param {Page} page
 */
export async function showPeople(page) {
  if (!(await page.locator('#peer-list').isVisible())) await page.click('#people-toggle');
}

/**
 * In `page`, press the call button of `peerId` in the people list (Call, or Invite when
 * already in a call; the button must say `expect` when given).
 * @param {Page} page
 * @param {string} peerId
 * @param {{timeout?: number, expect?: string}} [o]
 */
export async function invite(page, peerId, { timeout = 10_000, expect } = {}) {
  await showPeople(page);
  const button = page.locator(`#peer-list li[data-peer-id="${peerId}"] button.call`);
  if (expect) {
    await waitFor(page, ([id, want]) => document.querySelector(
      `#peer-list li[data-peer-id="${id}"] button.call`)?.textContent.trim() === want,
    { timeout, message: `button for ${peerId} says ${expect}`, arg: [peerId, expect] });
  }
  await button.click({ timeout });
}

/**
 * Wait for the incoming-call dialog in `page`; returns its title text.
 * @param {Page} page
 * @param {{timeout?: number}} [o]
 */
export async function waitForInvitation(page, { timeout = 10_000 } = {}) {
  await page.locator('#incoming').waitFor({ state: 'visible', timeout });
  // textContent() is null only for documents and doctypes, never for an element.
  return /** @type {string} */ (await page.locator('#incoming-title').textContent()).trim();
}

/**
 * Accept the invitation ringing in `page`.
 * @param {Page} page
 * @param {{timeout?: number}} [o]
 */
export async function accept(page, { timeout = 10_000 } = {}) {
  await page.click('#accept-call', { timeout });
}

/**
 * Decline the invitation ringing in `page`.
 * @param {Page} page
 * @param {{timeout?: number}} [o]
 */
export async function decline(page, { timeout = 10_000 } = {}) {
  await page.click('#decline-call', { timeout });
}

/**
 * Wait until `page` shows `text` (a substring) as a call notice; returns the notices.
 * @param {Page} page
 * @param {string} text
 * @param {{timeout?: number}} [o]
 */
export async function waitForNotice(page, text, { timeout = 10_000 } = {}) {
  try {
    await waitFor(page, (t) => window.confab.notices.some((n) => n.includes(t))
      && document.querySelector('#call-notice')?.textContent.includes(t), { timeout, message: `notice "${text}"`, arg: text });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\nwindow.confab: ${await describeConfab(page)}`);
  }
  return page.evaluate(() => window.confab.notices);
}

/**
 * `caller` calls `calleeId` through the people list and `callee` accepts.
 * @param {Page} caller
 * @param {Page} callee
 * @param {string} calleeId
 */
export async function call(caller, callee, calleeId) {
  await invite(caller, calleeId);
  await waitForInvitation(callee);
  await accept(callee);
}

const CONNECTED = new Set(['connected', 'completed']);

/**
 * Whether one CallStats entry proves a working call (media both kinds flowing).
 * @param {CallStats | null | undefined} s
 */
export function callIsUp(s) {
  return !!s && CONNECTED.has(s.iceConnectionState) && s.videoWidth > 0
    && s.framesDecoded > 0 && s.audioPacketsReceived > 0;
}

/**
 * Poll `window.confab.stats()` until the entry for `peerId` proves a working call and
 * (unless `needFirstFrame` is false) carries `firstFrameAt`. Returns that CallStats.
 * On timeout the error shows the last stats and the page's window.confab state.
 * @param {Page} page
 * @param {string} peerId
 * @param {{timeout?: number, label?: string, needFirstFrame?: boolean}} [o]
 * @returns {Promise<CallStats>}
 */
export async function waitForCall(page, peerId, { timeout = 20_000, label = 'page', needFirstFrame = true } = {}) {
  /** @type {Record<string, CallStats> | undefined} */
  let last;
  try {
    return await pollUntil(async () => {
      last = await callStats(page);
      const s = last && last[peerId];
      return callIsUp(s) && (!needFirstFrame || typeof s.firstFrameAt === 'number') ? s : null;
    }, { timeout, interval: 100, message: `${label}: call with ${peerId} up` });
  } catch (e) {
    const s = last && last[peerId];
    const brief = s ? `ice=${s.iceConnectionState} videoWidth=${s.videoWidth} ` +
      `framesDecoded=${s.framesDecoded} audioPackets=${s.audioPacketsReceived}` : 'no stats entry';
    throw new Error(`${label}: no working call with ${peerId} within ${timeout} ms (${brief})\n` +
      `${/** @type {Error} */ (e).message}\nlast stats: ${safeJson(last)}\nwindow.confab: ${await describeConfab(page)}`);
  }
}

/**
 * ms from joining the room to the first decoded remote video frame, or null.
 * @param {CallStats | null | undefined} s
 */
export function setupTimeMs(s) {
  return s && typeof s.firstFrameAt === 'number' && typeof s.joinedAt === 'number'
    ? s.firstFrameAt - s.joinedAt : null;
}

/**
 * Wait until the page has no call: callState 'idle' and no RTCPeerConnection left.
 * @param {Page} page
 * @param {{timeout?: number, label?: string}} [o]
 */
export async function waitForIdle(page, { timeout = 5_000, label = 'page' } = {}) {
  try {
    return await waitFor(page, () => window.confab.callState === 'idle'
      && Object.keys(window.confab.pcs()).length === 0, { timeout, message: `${label} idle` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${label}'s window.confab: ${await describeConfab(page)}`);
  }
}

/**
 * Two pages join one room (first, then second), the first calls the second, who
 * accepts, and a call is proven on both.
 * Returns {ids: [idA, idB], stats: [statsAtA, statsAtB]}; statsAtA describes A's view of B.
 * @param {TestLab} lab
 * @param {Page[]} pages the first two are A and B
 * @param {string} room
 * @param {string[]} [names]
 * @param {{timeout?: number, needFirstFrame?: boolean}} [opts] for `waitForCall`
 */
export async function establishCall(lab, [pageA, pageB], room, [nameA, nameB] = ['Alice', 'Bob'], opts = {}) {
  const idA = await joinRoom(lab, pageA, room, nameA);
  const idB = await joinRoom(lab, pageB, room, nameB);
  await call(pageA, pageB, idB);
  const [sA, sB] = await Promise.all([
    waitForCall(pageA, idB, { label: nameA, ...opts }),
    waitForCall(pageB, idA, { label: nameB, ...opts }),
  ]);
  return { ids: [idA, idB], stats: [sA, sB] };
}

/**
 * Alice (`lab.pages[0]`) and Bob (`lab.pages[1]`) in a call through the router (a server
 * run with `--media sfu`): they join `room`, Alice calls, Bob accepts, Bob decodes Alice.
 * @param {TestLab} lab
 * @param {string} room
 * @returns {Promise<{aliceId: string, bobId: string}>}
 */
export async function sfuCallOfTwo(lab, room) {
  const [alice, bob] = lab.pages;
  const aliceId = await joinRoom(lab, alice, room, 'Alice');
  const bobId = await joinRoom(lab, bob, room, 'Bob');
  await invite(alice, bobId, { expect: 'Call' });
  await waitForInvitation(bob);
  await accept(bob);
  await pollUntil(async () => callIsUp((await callStats(bob))[aliceId]),
    { timeout: 30_000, message: 'Bob decodes Alice through the router' });
  return { aliceId, bobId };
}
