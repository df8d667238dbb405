// Lobby helpers without DOM wiring: what the URL and storage say to fill in, remembering
// the name, and friendly random room names.

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
