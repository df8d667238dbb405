// The text catalog: every string the converted parts of the page show comes from here,
// in English (`en`) or Simplified Chinese (`zh-CN`). No DOM: the page's side (choosing
// from `navigator.languages`, remembering, `<html lang>`) is ui/language.js.
//
// A message is a string with named parameters, `{name}`, or, where a number decides the
// wording, an object of Intl.PluralRules categories (`one`, `other`, ...) chosen by the
// parameter `count`. Keys are the same in every table (web/test/i18n.test.js checks it).

import en from './en.js';
import zhCN from './zh-CN.js';

/** @typedef {string | Partial<Record<Intl.LDMLPluralRule, string>>} Message */
/** @typedef {Record<string, Message>} Table */
/**
 * A text to be worded later: a catalog key and its parameters (what net/ returns). A
 * parameter may itself be such a text (a reason inside a sentence).
 * @typedef {{key: string, params?: Params}} Text
 * @typedef {Record<string, string | number | Text>} Params
 */

/** The languages there are tables for, in the order the language select lists them. */
export const LOCALES = Object.freeze(['en', 'zh-CN']);
/** @typedef {'en' | 'zh-CN'} Locale */

/** Each language's own name, for the language select. */
export const LOCALE_NAMES = Object.freeze({ en: 'English', 'zh-CN': '简体中文' });

/** @type {Record<Locale, Table>} */
export const TABLES = { en, 'zh-CN': zhCN };

/** @type {Locale} */
let current = 'en';

/** The language texts are in now. @returns {Locale} */
export function locale() {
  return current;
}

/** @param {Locale} l */
export function setLocale(l) {
  current = TABLES[l] ? l : 'en';
}

/**
 * The best table for a list of browser languages (`navigator.languages`): any `zh*`
 * first seen wins Chinese, any `en*` English; otherwise English.
 * @param {readonly string[]} languages
 * @returns {Locale}
 */
export function pickLocale(languages) {
  for (const lang of languages) {
    const l = lang.toLowerCase();
    if (l === 'zh' || l.startsWith('zh-')) return 'zh-CN';
    if (l === 'en' || l.startsWith('en-')) return 'en';
  }
  return 'en';
}

/**
 * The text for `key` in the current language, with `{param}`s filled in. An unknown key
 * falls back to English, then to the key itself (never throws: a missing text is a bug,
 * not a reason to break the page).
 * @param {string} key
 * @param {Params} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  const msg = TABLES[current][key] ?? TABLES.en[key];
  if (msg === undefined) return key;
  let s;
  if (typeof msg === 'string') {
    s = msg;
  } else {
    const n = Number(params.count ?? 0);
    const cat = new Intl.PluralRules(current).select(n);
    s = msg[cat] ?? msg.other ?? '';
  }
  return s.replace(/\{(\w+)\}/g, (m, name) => {
    const v = params[name];
    if (v === undefined) return m;
    if (typeof v === 'number') return v.toLocaleString(current);
    return typeof v === 'string' ? v : t(v.key, v.params);
  });
}

/**
 * Words for a `Text` (a key with parameters) from net/ or media/.
 * @param {Text} text
 * @returns {string}
 */
export function say(text) {
  return t(text.key, text.params);
}

/**
 * Names as a list in words: "Ada", "Ada and Bob", "Ada, Bob and Cy", "Ada, Bob and 3
 * others" (at most three names, then a count).
 * @param {string[]} names
 * @returns {string}
 */
export function listNames(names) {
  if (names.length <= 1) return names[0] ?? '';
  const sep = t('list.sep');
  if (names.length <= 3) return t('list.and', { rest: names.slice(0, -1).join(sep), last: names[names.length - 1] });
  return t('list.others', { rest: names.slice(0, 2).join(sep), count: names.length - 2 });
}

/**
 * A date and time in the current language (Intl.DateTimeFormat).
 * @param {Date | number} when
 * @param {Intl.DateTimeFormatOptions} [options] default: date and time, short
 * @returns {string}
 */
export function formatDateTime(when, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  return new Intl.DateTimeFormat(current, options).format(when);
}

/**
 * A time of day in the current language.
 * @param {Date | number} when
 * @returns {string}
 */
export function formatTime(when) {
  return new Intl.DateTimeFormat(current, { hour: 'numeric', minute: '2-digit' }).format(when);
}
