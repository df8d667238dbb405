// Languages as a person meets them, in real Chromium: a browser set to Chinese (zh-CN)
// gets the lobby in Chinese with no English left, and its error states (an invalid
// name, a room that needs a password, a wrong password) in Chinese too; the language
// select switches to English at once, the choice survives a reload, and `<html lang>`
// follows; in the room, the status line, people and chat panels and controls read in
// Chinese too, and the "more" menu switches the room to English and back. Screenshots at
// desktop and phone sizes in the artifacts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { confabBin } from '../lib/confab.js';
import { describeConfab, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';
import en from '../../web/js/i18n/en.js';
import zh from '../../web/js/i18n/zh-CN.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();
const PASSWORD = '芝麻开门 open';
const HAN = /\p{Script=Han}/u;
const SIZES = [{ width: 1280, height: 800 }, { width: 375, height: 740 }];

/** The catalog's English for the lobby: none of it may show in a Chinese lobby. */
const ENGLISH_LOBBY = Object.entries(en)
  .filter(([k]) => k.startsWith('lobby.') || k === 'toast.dismiss')
  .map(([, v]) => /** @type {string} */ (v));

/**
 * Everything a person sees or hears read out in the lobby: its visible text, the
 * placeholders, accessible names and titles of what is shown; but the language select's
 * options, each of which names its language in that language.
 * @param {Page} page
 */
function lobbyWords(page) {
  return page.evaluate(() => {
    const lobby = /** @type {HTMLElement} */ (document.getElementById('lobby'));
    const names = [...document.querySelectorAll('#language option')].map((o) => o.textContent ?? '');
    let text = lobby.innerText;
    for (const n of names) text = text.split(n).join('');
    const parts = [text];
    for (const el of lobby.querySelectorAll('[placeholder], [aria-label], [title]')) {
      if (/** @type {HTMLElement} */ (el).closest('[hidden]')) continue;
      for (const a of ['placeholder', 'aria-label', 'title']) {
        const v = el.getAttribute(a);
        if (v) parts.push(v);
      }
    }
    return parts.join('\n');
  });
}

/**
 * Waits until `selector` shows exactly `want`.
 * @param {Page} page
 * @param {string} selector
 * @param {string} want
 */
async function waitForText(page, selector, want) {
  try {
    return await waitFor(page, ([sel, w]) => {
      const el = document.querySelector(sel);
      return el && !el.closest('[hidden]') && el.textContent?.trim() === w ? w : null;
    }, { arg: [selector, want], timeout: 15_000, message: `${selector} says ${JSON.stringify(want)}` });
  } catch (e) {
    const now = await page.evaluate((sel) => document.querySelector(sel)?.textContent, selector);
    throw new Error(`${/** @type {Error} */ (e).message} (it says ${JSON.stringify(now)})\n${await describeConfab(page)}`);
  }
}

/**
 * What the room view shows or reads out (text, accessible names, titles, placeholders of
 * what is not hidden), without `strip` (what people typed: a name, a message, the room).
 * @param {Page} page
 * @param {string[]} strip
 */
function roomViewWords(page, strip) {
  return page.evaluate((cut) => {
    const view = /** @type {HTMLElement} */ (document.getElementById('room-view'));
    const parts = [view.innerText];
    for (const el of view.querySelectorAll('[aria-label], [title], [placeholder]')) {
      if (/** @type {HTMLElement} */ (el).closest('[hidden]')) continue;
      for (const a of ['aria-label', 'title', 'placeholder']) parts.push(el.getAttribute(a) ?? '');
    }
    let text = parts.join('\n');
    for (const c of cut) text = text.split(c).join('');
    return text;
  }, strip);
}

test('i18n: a zh-CN browser gets the lobby and its errors in Chinese; the choice switches and is remembered',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const room = roomName('i18n');
    const r = spawnSync(confabBin(), ['hash-password'], { input: `${PASSWORD}\n`, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `confab hash-password failed: ${r.stderr}`);
    const lab = await startLab({
      t,
      browsers: [{ name: 'Li', locale: 'zh-CN' }],
      confabArgs: ['--room-password', `${room}=${r.stdout.trim()}`],
    });
    const [li] = lab.pages;

    // The lobby, in Chinese, with no English lobby text left (visible or read out).
    await li.goto(lab.url('/'));
    await waitFor(li, () => document.documentElement.lang === 'zh-CN' || null,
      { timeout: 10_000, message: '<html lang="zh-CN">' });
    assert.deepEqual(await li.evaluate(() => [...navigator.languages]).then((l) => l[0]), 'zh-CN',
      'the browser is set to Chinese');
    const words = await lobbyWords(li);
    assert.match(words, HAN, 'the lobby reads in Chinese');
    for (const english of ENGLISH_LOBBY) assert.ok(!words.includes(english), `English left in the lobby: "${english}"`);
    assert.ok(words.includes(/** @type {string} */ (zh['lobby.join'])), `the join button says ${zh['lobby.join']}`);
    assert.equal(await li.inputValue('#language'), 'zh-CN', 'the language select shows the choice');
    for (const size of SIZES) {
      await li.setViewportSize(size);
      await lab.screenshot(li, `lobby-zh-${size.width}`);
    }
    await li.setViewportSize(SIZES[0]);

    // An invalid name: said in Chinese.
    await li.fill('#name', '   ');
    await li.fill('#room', room);
    await li.click('#join');
    await waitForText(li, '#name-error', /** @type {string} */ (zh['name.empty']));
    assert.equal(await li.evaluate(() => window.confab.state), 'lobby');
    assert.equal(await li.getAttribute('#error-close', 'aria-label'), zh['toast.dismiss']);
    for (const size of SIZES) {
      await li.setViewportSize(size);
      await lab.screenshot(li, `invalid-name-zh-${size.width}`);
    }
    await li.setViewportSize(SIZES[0]);

    // A room with a password asks for it, and a wrong one is refused, in Chinese.
    await li.goto(lab.url(`/r/${room}?name=${encodeURIComponent('李雷')}&join=1`));
    await waitForText(li, '#password-note', /** @type {string} */ (zh['access.password_required']));
    await li.fill('#password', 'wrong');
    await li.click('#join');
    await waitForText(li, '#password-note', /** @type {string} */ (zh['access.bad_password']));
    assert.equal(await li.getAttribute('#password', 'aria-invalid'), 'true');
    const refused = await lobbyWords(li);
    for (const english of [...ENGLISH_LOBBY, en['access.bad_password']]) {
      assert.ok(!refused.includes(/** @type {string} */ (english)), `English in the refused lobby: "${english}"`);
    }
    for (const size of SIZES) {
      await li.setViewportSize(size);
      await lab.screenshot(li, `password-wrong-zh-${size.width}`);
    }
    await li.setViewportSize(SIZES[0]);

    // Switching to English words the page again at once, the note included.
    await li.selectOption('#language', 'en');
    assert.equal(await li.evaluate(() => document.documentElement.lang), 'en');
    await waitForText(li, '#join', /** @type {string} */ (en['lobby.join']));
    await waitForText(li, '#password-note', /** @type {string} */ (en['access.bad_password']));
    await lab.screenshot(li, 'password-wrong-en-1280');

    // The choice is remembered: a reload stays English though the browser says Chinese.
    await li.goto(lab.url('/'));
    await waitForText(li, '#join', /** @type {string} */ (en['lobby.join']));
    assert.equal(await li.evaluate(() => document.documentElement.lang), 'en');
    assert.doesNotMatch(await lobbyWords(li), /[\u4e00-\u9fff]{2}/, 'no Chinese left after switching');

    // And back to Chinese, which a reload keeps too.
    await li.selectOption('#language', 'zh-CN');
    await li.reload();
    await waitForText(li, '#join', /** @type {string} */ (zh['lobby.join']));
    assert.equal(await li.evaluate(() => document.documentElement.lang), 'zh-CN');

    // In the room: the status line, people and chat panels, controls, in Chinese.
    await li.goto(lab.url(`/r/${room}?name=${encodeURIComponent('李雷')}&join=1`));
    await waitForText(li, '#password-note', /** @type {string} */ (zh['access.password_required']));
    await li.fill('#password', PASSWORD);
    await li.click('#join');
    await waitFor(li, () => window.confab.state === 'in-room' || null, { timeout: 15_000, message: 'in the room' });
    await waitForText(li, '#status', /** @type {string} */ (zh['status.waiting']));
    await li.click('#chat-toggle');
    await li.fill('#chat-input', '大家好 👋');
    await li.press('#chat-input', 'Enter');
    await waitFor(li, () => window.confab.chat.length === 1 || null, { timeout: 10_000, message: 'the message is confirmed' });
    const roomWords = await roomViewWords(li, [room]);
    assert.match(roomWords, HAN);
    const english = roomWords.match(/[A-Za-z]{3,}/g) ?? [];
    assert.deepEqual(english.filter((w) => w !== 'fps'), [], `English words in the room view: ${english.join(' ')}`);
    for (const size of SIZES) {
      await li.setViewportSize(size);
      await lab.screenshot(li, `room-chat-zh-${size.width}`);
    }
    await li.setViewportSize(SIZES[0]);

    // In the room the "more" menu switches the language; its item names English in English.
    await li.click('#more-toggle');
    assert.equal(await li.textContent('#menu-language span'), 'English');
    assert.equal(await li.getAttribute('#menu-language span', 'lang'), 'en');
    await li.setViewportSize(SIZES[1]);
    await lab.screenshot(li, 'room-menu-language-zh-375');
    await li.setViewportSize(SIZES[0]);
    await li.click('#menu-language');
    assert.equal(await li.evaluate(() => document.documentElement.lang), 'en');
    await waitForText(li, '#status', /** @type {string} */ (en['status.waiting']));
    assert.equal(await li.getAttribute('#chat-input', 'placeholder'), en['chat.placeholder']);
    // Nothing Chinese left but what people wrote: the name (and its initial), the message.
    const switched = await roomViewWords(li, [room, '李雷', '李', '大家好']);
    assert.doesNotMatch(switched, HAN, `Chinese left in the room view after switching: ${switched.match(/\p{Script=Han}+/gu)}`);
    for (const size of SIZES) {
      await li.setViewportSize(size);
      await lab.screenshot(li, `room-chat-switched-en-${size.width}`);
    }
    await li.setViewportSize(SIZES[0]);
    await li.click('#more-toggle');
    assert.equal(await li.textContent('#menu-language span'), '简体中文', 'and it offers Chinese back');
    await li.click('#menu-language');
    await waitForText(li, '#status', /** @type {string} */ (zh['status.waiting']));
    assert.deepEqual(/** @type {import('../lib/browser.js').Browser} */ (lab.browsers[0]).pageErrors, [], 'no page errors');
  });
