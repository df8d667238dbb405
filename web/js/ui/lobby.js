// Lobby helpers: what the URL and storage say to fill in, remembering the name, friendly
// random room names, and copying a room's link.

import { t } from '../i18n/i18n.js';

const NAME_KEY = 'confab.name';

/** Words for suggested room names, per language, and how they join. */
const WORDS = {
  en: {
    adjectives: ['bright', 'calm', 'clever', 'cosy', 'eager', 'gentle', 'happy', 'jolly', 'lucky', 'quiet', 'sunny', 'swift', 'wise', 'brave', 'merry'],
    nouns: ['otter', 'falcon', 'maple', 'harbor', 'comet', 'meadow', 'panda', 'river', 'cedar', 'lynx', 'orchid', 'pebble', 'heron', 'willow', 'badger'],
    join: (/** @type {string} */ a, /** @type {string} */ n, /** @type {number} */ d) => `${a}-${n}-${d}`,
  },
  'zh-CN': {
    adjectives: ['晴朗', '安静', '聪明', '温暖', '勇敢', '快乐', '幸运', '温柔', '明亮', '自在', '欢喜', '从容', '清新', '灵巧', '悠然'],
    nouns: ['熊猫', '海豚', '松树', '星星', '河流', '竹林', '白鹭', '枫叶', '云朵', '山峰', '灯塔', '茶园', '锦鲤', '月光', '麋鹿'],
    join: (/** @type {string} */ a, /** @type {string} */ n, /** @type {number} */ d) => `${a}的${n}-${d}`,
  },
};

/**
 * A room name in the page's language, like "sunny-otter-482" or "晴朗的熊猫-482".
 * @param {string} [lang] a locale of the catalog (default English)
 * @returns {string}
 */
export function randomRoom(lang = 'en') {
  const words = lang in WORDS ? WORDS[/** @type {keyof typeof WORDS} */ (lang)] : WORDS.en;
  /** @param {string[]} a */
  const pick = (a) => a[Math.floor(Math.random() * a.length)];
  return words.join(pick(words.adjectives), pick(words.nouns), Math.floor(100 + Math.random() * 900));
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
