// The page's language: chosen from `navigator.languages` (zh* gives Simplified Chinese,
// then English), switchable in the lobby (`#language`) and in the room (the "more"
// menu's `#menu-language`, which names the next language in that language), remembered
// in localStorage;
// `<html lang>` follows. Static texts in index.html carry their catalog key:
// `data-i18n` (text), `data-i18n-placeholder`, `data-i18n-label` (aria-label),
// `data-i18n-title`, `data-i18n-content` (a meta tag). The catalog is web/js/i18n/.

import { LOCALES, LOCALE_NAMES, locale, pickLocale, setLocale, t } from '../i18n/i18n.js';
/** @import { Locale } from '../i18n/i18n.js' */

const LANG_KEY = 'confab.lang';

/** @type {(() => void)[]} */
const listeners = [];

/**
 * The language remembered from an earlier choice, if any.
 * @returns {Locale | null}
 */
function remembered() {
  try {
    const l = localStorage.getItem(LANG_KEY);
    return l && /** @type {readonly string[]} */ (LOCALES).includes(l) ? /** @type {Locale} */ (l) : null;
  } catch {
    return null;
  }
}

/**
 * Words every element of `root` that carries a catalog key, in the current language.
 * @param {ParentNode} [root]
 */
export function applyTexts(root = document) {
  // Templates too, so rows and tiles made from them later come out worded.
  for (const tpl of root.querySelectorAll('template')) applyTexts(tpl.content);
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(/** @type {string} */ (el.getAttribute('data-i18n')));
  }
  /** @type {[string, string][]} */
  const attrs = [
    ['data-i18n-placeholder', 'placeholder'],
    ['data-i18n-label', 'aria-label'],
    ['data-i18n-title', 'title'],
    ['data-i18n-content', 'content'],
  ];
  for (const [data, attr] of attrs) {
    for (const el of root.querySelectorAll(`[${data}]`)) {
      el.setAttribute(attr, t(/** @type {string} */ (el.getAttribute(data))));
    }
  }
}

/**
 * Switches the page to `l`: the catalog, `<html lang>`, the static texts, and whatever
 * registered with `onLanguageChange` (texts that were worded earlier, such as a note).
 * @param {Locale} l
 */
function use(l) {
  setLocale(l);
  document.documentElement.lang = locale();
  applyTexts();
  const select = /** @type {HTMLSelectElement | null} */ (document.getElementById('language'));
  if (select) select.value = locale();
  const item = document.getElementById('menu-language');
  const label = item?.querySelector('span');
  if (item && label) {
    // In the next language's own words and script: whoever cannot read this page can
    // still find their language.
    const next = nextLocale();
    label.textContent = LOCALE_NAMES[next];
    label.lang = next;
    item.title = t('lobby.language');
  }
  for (const f of listeners) f();
}

/** The language after the current one (with two: the other one). @returns {Locale} */
function nextLocale() {
  const i = LOCALES.indexOf(locale());
  return /** @type {Locale} */ (LOCALES[(i + 1) % LOCALES.length]);
}

/**
 * Switches to `l` and remembers the choice.
 * @param {Locale} l
 */
function choose(l) {
  try {
    localStorage.setItem(LANG_KEY, l);
  } catch {
    // No storage: the choice lasts until the page is closed.
  }
  use(l);
}

/**
 * Chooses the language (remembered, else from the browser's languages), words the page,
 * and wires the lobby's language select. Call once, before anything is shown.
 */
export function initLanguage() {
  const select = /** @type {HTMLSelectElement | null} */ (document.getElementById('language'));
  if (select) {
    for (const l of LOCALES) {
      const opt = document.createElement('option');
      opt.value = l;
      opt.lang = l;
      opt.textContent = LOCALE_NAMES[/** @type {Locale} */ (l)];
      select.append(opt);
    }
    select.addEventListener('change', () => choose(/** @type {Locale} */ (select.value)));
  }
  document.getElementById('menu-language')?.addEventListener('click', () => choose(nextLocale()));
  use(remembered() ?? pickLocale(navigator.languages ?? [navigator.language]));
}

/**
 * Calls `f` after every language switch (to word again what it showed).
 * @param {() => void} f
 */
export function onLanguageChange(f) {
  listeners.push(f);
}
