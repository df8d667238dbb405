// The text catalog (web/js/i18n/): both tables complete and alike, t() and its plural
// forms, the language choice, and no moved English left hard-coded in converted modules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TABLES, formatDateTime, listNames, locale, pickLocale, say, setLocale, t } from '../js/i18n/i18n.js';
import { chatTextError, describeClose, describeServerError, nameError, roomError } from '../js/net/protocol.js';

/** @typedef {import('../js/i18n/i18n.js').Message} Message */

/** The `{param}` names of a message (all its plural forms), sorted. @param {Message} m */
function paramsOf(m) {
  const texts = typeof m === 'string' ? [m] : Object.values(m);
  const names = new Set();
  for (const s of texts) for (const [, n] of (s ?? '').matchAll(/\{(\w+)\}/g)) names.add(n);
  return [...names].sort();
}

// Parameters a translation may leave out: the server's own words after an error code's
// (English only, so Chinese says just the code's words).
/** @type {Record<string, string[]>} */
const OPTIONAL = { 'error.detailed': ['detail'] };

test('en and zh-CN have the same keys and the same {params} per key', () => {
  const en = TABLES.en;
  const zh = TABLES['zh-CN'];
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) {
    const optional = OPTIONAL[key] ?? [];
    assert.deepEqual(paramsOf(zh[key]).filter((p) => !optional.includes(p)),
      paramsOf(en[key]).filter((p) => !optional.includes(p)), key);
    const zhTexts = typeof zh[key] === 'string' ? [zh[key]] : Object.values(zh[key]);
    for (const s of zhTexts) assert.ok(s && s.trim() !== '', `${key}: empty`);
  }
});

test('zh-CN is Chinese: every text with words has Chinese characters', () => {
  const zh = TABLES['zh-CN'];
  for (const [key, m] of Object.entries(zh)) {
    const s = typeof m === 'string' ? m : Object.values(m).join(' ');
    if (!/\p{L}/u.test(s.replace(/\{\w+\}/g, ''))) continue; // only parameters and punctuation
    assert.match(s, /\p{Script=Han}/u, key);
  }
});

test('t fills named parameters, nested texts and plural forms; unknown keys fall back', () => {
  setLocale('en');
  assert.equal(t('name.too_long', { max: 64, over: 2 }), 'Your name can be at most 64 characters long; this one is 2 over.');
  assert.equal(t('chat.too_long', { max: 2000, over: 1 }), 'A message can be at most 2,000 characters long; this one is 1 over.');
  assert.equal(say({ key: 'close.rejoin', params: { why: { key: 'close.going_away' } } }),
    'The server is restarting. Leave and join again to reconnect.');
  assert.equal(t('no.such.key'), 'no.such.key');
  TABLES.en['test.plural'] = { one: '{count} person', other: '{count} people' };
  TABLES['zh-CN']['test.plural'] = { other: '{count} 人' };
  try {
    assert.equal(t('test.plural', { count: 1 }), '1 person');
    assert.equal(t('test.plural', { count: 3 }), '3 people');
    setLocale('zh-CN');
    assert.equal(t('test.plural', { count: 1 }), '1 人');
  } finally {
    delete TABLES.en['test.plural'];
    delete TABLES['zh-CN']['test.plural'];
    setLocale('en');
  }
});

test('lists of names read naturally in both languages', () => {
  setLocale('en');
  assert.equal(listNames(['Ada']), 'Ada');
  assert.equal(listNames(['Ada', 'Bob']), 'Ada and Bob');
  assert.equal(listNames(['Ada', 'Bob', 'Cy']), 'Ada, Bob and Cy');
  assert.equal(listNames(['Ada', 'Bob', 'Cy', 'Di', 'Ed']), 'Ada, Bob and 3 others');
  setLocale('zh-CN');
  assert.equal(listNames(['张三', '李四', '王五']), '张三、李四和王五');
  assert.equal(listNames(['张三', '李四', '王五', '赵六']), '张三、李四和另外 2 人');
  assert.equal(t('people.in_call_with', { names: listNames(['张三', '李四']) }), '正在与张三和李四通话');
  setLocale('en');
});

test('net/ problems are keys worded in either language', () => {
  for (const l of /** @type {const} */ (['en', 'zh-CN'])) {
    setLocale(l);
    for (const text of [nameError(''), nameError('x'.repeat(65)), roomError('a b'), chatTextError('x'.repeat(2001)),
      describeServerError({ code: 'room_full', message: '' }), describeClose(4001)]) {
      assert.ok(text);
      const words = say(text);
      assert.ok(!words.includes('{') && words !== text.key, `${l}: ${words}`);
      if (l === 'zh-CN') assert.match(words, /\p{Script=Han}/u);
    }
  }
  setLocale('zh-CN');
  assert.equal(say(/** @type {import('../js/net/protocol.js').Text} */ (nameError(''))), '请输入你的名字。');
  assert.equal(say(describeServerError({ code: 'room_full', message: 'room standup is full' })),
    '这个房间已满。请稍后再试，或换一个房间。', "the server's English detail is not shown in Chinese");
  setLocale('en');
  assert.equal(say(describeServerError({ code: 'room_full', message: 'room standup is full' })),
    'This room is full. Try again later or pick another room. (room standup is full)');
  setLocale('en');
});

test('the language comes from the browser: zh* is Chinese, then English', () => {
  assert.equal(pickLocale(['zh-CN', 'en']), 'zh-CN');
  assert.equal(pickLocale(['zh-TW']), 'zh-CN');
  assert.equal(pickLocale(['zh']), 'zh-CN');
  assert.equal(pickLocale(['de-DE', 'zh-Hans-CN']), 'zh-CN');
  assert.equal(pickLocale(['en-GB', 'zh-CN']), 'en');
  assert.equal(pickLocale(['fr']), 'en');
  assert.equal(pickLocale([]), 'en');
  setLocale(/** @type {any} */ ('xx'));
  assert.equal(locale(), 'en', 'an unknown locale falls back to English');
});

test('dates and times follow the chosen locale', () => {
  const when = Date.UTC(2026, 0, 3, 14, 5);
  setLocale('zh-CN');
  assert.match(formatDateTime(when, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }), /2026年1月3日/);
  setLocale('en');
  assert.match(formatDateTime(when, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }), /January 3, 2026/);
});

// The modules whose texts moved into the catalog, and which keys each may not spell out.
const WEB = new URL('../', import.meta.url);
const CONVERTED = {
  'js/net/rules.js': ['name.', 'room.', 'chat.empty', 'chat.too_long', 'chat.control'],
  'js/net/describe.js': ['error.', 'close.'],
  'js/net/signaling.js': ['close.'],
  'js/ui/app.js': ['join.', 'name.', 'room.', 'error.', 'status.', 'controls.', 'people.'],
  'js/ui/stage.js': ['tile.'],
  'js/ui/calls.js': ['status.', 'call.', 'list.'],
  'js/ui/wire.js': ['close.', 'join.', 'error.'],
  'js/ui/access.js': ['access.'],
  'js/ui/chat.js': ['chat.'],
  'js/ui/people.js': ['people.', 'list.'],
  'js/ui/moderation.js': ['people.', 'mod.'],
  'js/media/local.js': ['media.'],
  'js/media/devices.js': ['media.', 'devices.'],
  'js/media/screen.js': ['media.', 'controls.'],
  'js/media/quality.js': ['quality.'],
  'js/p2p/files.js': ['files.'],
  'js/ui/transfer-card.js': ['files.'],
  'example/example.js': ['name.', 'room.', 'error.'],
};

/** The literal pieces of a message between its parameters, long enough to be telling. @param {Message} m */
function pieces(m) {
  const texts = typeof m === 'string' ? [m] : Object.values(m);
  return texts.flatMap((s) => (s ?? '').split(/\{\w+\}/)).map((p) => p.trim()).filter((p) => p.length >= 16);
}

test('no moved English text is left hard-coded in the converted modules', () => {
  for (const [file, prefixes] of Object.entries(CONVERTED)) {
    // Code only: comments may name what a text is about.
    const src = readFileSync(new URL(file, WEB), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const [key, m] of Object.entries(TABLES.en)) {
      if (!prefixes.some((p) => key.startsWith(p))) continue;
      for (const piece of pieces(m)) assert.ok(!src.includes(piece), `${file} still spells out ${key}: "${piece}"`);
    }
  }
});

test("index.html keeps the catalog's English word for word (the page before scripts run); the lobby is all keyed", () => {
  const html = readFileSync(new URL('index.html', WEB), 'utf8');
  const keyed = [...html.matchAll(/<[^>]*data-i18n="([\w.]+)"[^>]*>([^<]*)</g)];
  assert.ok(keyed.length >= 8);
  /** @param {string} s */
  const unescape = (s) => s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"');
  for (const [, key, text] of keyed) assert.equal(unescape(text.trim()), TABLES.en[key], key);
  for (const [, value, key] of html.matchAll(/placeholder="([^"]*)" data-i18n-placeholder="([\w.]+)"/g)) {
    assert.equal(value, TABLES.en[key], key);
  }
  for (const [, value, key] of html.matchAll(/aria-label="([^"]*)"[^>]*data-i18n-label="([\w.]+)"/g)) {
    assert.equal(value, TABLES.en[key], key);
  }
  // Every lobby text is keyed: nothing in the lobby section is left without a key.
  const lobby = html.slice(html.indexOf('<main id="lobby"'), html.indexOf('</main>'));
  const bare = [...lobby.matchAll(/>([^<>]*[A-Za-z]{3}[^<>]*)</g)]
    .map((m) => m[1].trim())
    .filter((s) => s && s !== 'confab' && !/^\/r\/$/.test(s));
  const worded = new Set(keyed.map((k) => k[2].trim()));
  for (const s of bare) assert.ok(worded.has(s), `lobby text without a catalog key: "${s}"`);
});
