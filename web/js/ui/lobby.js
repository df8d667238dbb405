// Lobby helpers: what the URL and storage say to fill in, remembering the name, friendly
// random room names, and copying a room's link.

import { t } from '../i18n/i18n.js';

const NAME_KEY = 'confab.name';

const ADJECTIVES = ['bright', 'calm', 'clever', 'cosy', 'eager', 'gentle', 'happy', 'jolly', 'lucky', 'quiet', 'sunny', 'swift', 'wise', 'brave', 'merry'];
const NOUNS = ['otter', 'falcon', 'maple', 'harbor', 'comet', 'meadow', 'panda', 'river', 'cedar', 'lynx', 'orchid', 'pebble', 'heron', 'willow', 'badger'];

/** A room name like "sunny-otter-482". @returns {string} */
export function randomRoom() {
  /** @param {string[]} a */
  const pick = (a) => a[Math.floor(Math.random() * a.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(100 + Math.random() * 900)}`;
}

/**
 * The lobby's starting values: the room from `/r/<room>` (or `?room=`), the name from
 * `?name=` or the last one used, and whether `&join=1` asks to join at once.
 * @returns {{name: string, room: string, join: boolean}}
 */
export function launchParams() {
  const params = new URLSearchParams(location.search);
  const match = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
  let room = params.get('room') ?? '';
  if (match) {
    try {
      room = decodeURIComponent(match[1]);
    } catch {
      room = match[1];
    }
  }
  /** @type {string | null} */
  let stored = null;
  try {
    stored = localStorage.getItem(NAME_KEY);
  } catch {
    // ignore: no storage
  }
  return { name: params.get('name') ?? stored ?? '', room, join: params.get('join') === '1' };
}

/** Remembers the name for next time. @param {string} name */
export function rememberName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Storage may be disabled; remembering the name is only a convenience.
  }
}

/**
 * Copies the shareable link of `room` (`/r/<room>`), saying so on `button` for 2 s; where
 * the clipboard is refused, shows the link in a prompt to copy by hand.
 * @param {HTMLElement} button a chip with a `.chip-text` label
 * @param {string} room
 */
export async function copyRoomLink(button, room) {
  const url = `${location.origin}/r/${encodeURIComponent(room)}`;
  const label = /** @type {HTMLElement} */ (button.querySelector('.chip-text'));
  try {
    await navigator.clipboard.writeText(url);
    label.textContent = t('room.copied');
  } catch {
    window.prompt(t('room.copy_prompt'), url);
  }
  setTimeout(() => (label.textContent = t('room.copy_link')), 2000);
}
