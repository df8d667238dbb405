// Finds web links in chat text, so they can be made clickable safely: only http and
// https, whatever the text says, and the link's text is the address as typed (shown
// with textContent). Pure: no DOM, tested in web/test/links.test.js.

/** A candidate: from a scheme (any case) or "www." to the next space or angle bracket. */
const CANDIDATE = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
/** Punctuation that ends a sentence rather than the link when it comes last. */
const TRAILING = /[.,;:!?'"’”。，；：！？、]+$/u;

/**
 * Splits `text` into plain runs and links.
 * @param {string} text
 * @returns {{text: string, href?: string}[]} in order; joined, the texts give `text` back
 */
export function splitLinks(text) {
  /** @type {{text: string, href?: string}[]} */
  const out = [];
  let at = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    let link = trimLink(m[0]);
    const start = m.index ?? 0;
    const href = safeHref(link);
    if (!href) continue;
    if (start > at) out.push({ text: text.slice(at, start) });
    out.push({ text: link, href });
    at = start + link.length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/**
 * Drops trailing sentence punctuation and a closing bracket the link did not open
 * ("(see https://x.org/a)" links https://x.org/a; "https://en.wikipedia.org/wiki/A_(b)"
 * keeps its bracket).
 * @param {string} link
 * @returns {string}
 */
function trimLink(link) {
  for (;;) {
    const before = link;
    link = link.replace(TRAILING, '');
    for (const [open, close] of [['(', ')'], ['[', ']'], ['（', '）']]) {
      if (link.endsWith(close) && count(link, close) > count(link, open)) link = link.slice(0, -1);
    }
    if (link === before) return link;
  }
}

/** @param {string} s @param {string} c */
function count(s, c) {
  return s.split(c).length - 1;
}

/**
 * The address to open, or null when it is not a plain http(s) link with a host.
 * @param {string} link
 * @returns {string | null}
 */
function safeHref(link) {
  const withScheme = /^www\./i.test(link) ? `https://${link}` : link;
  try {
    const url = new URL(withScheme);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return null;
    return url.href;
  } catch {
    return null;
  }
}
