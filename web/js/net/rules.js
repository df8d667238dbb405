// The protocol's rules for names, room ids and chat texts (mirroring crates/proto), and
// merging chat history by id. No DOM, no words: a problem is a `Text` (a catalog key with
// parameters) that the page words in the person's language.

import { MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_ROOM_LEN } from './types.js';
/** @import { ChatMessage, Text } from './types.js' */

// Validators (mirroring crates/proto)

/** Room ids: `_`, `-`, letters and digits of any script (the server's `RoomId`). */
const ROOM_RE = /^[\p{Alphabetic}\p{N}_-]+$/u;
// Rust's `str::trim` strips Unicode White_Space, which differs slightly from JS `trim()`
// (JS also strips U+FEFF, Rust also strips U+0085), so spell the set out.
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g');
// Rust's `char::is_control`: general category Cc.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
// Format characters (general category Cf: bidi overrides, zero-width characters), refused
// in names by the server (crates/proto `is_format_char`).
const FORMAT_RE = /\p{Cf}/u;
// The same, minus tab and newline (allowed in chat).
const CHAT_CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * Whether `name` holds a format character it may not (the server's rule, crates/proto
 * `normalize_name`): any but a zero-width (non-)joiner between two non-ASCII characters,
 * which Persian, Arabic and Indic names and emoji sequences need.
 * @param {string} name
 * @returns {boolean}
 */
function hasForbiddenFormatChar(name) {
  const chars = [...name];
  /** @param {string | undefined} c */
  const visible = (c) => c !== undefined && (c.codePointAt(0) ?? 0) > 0x7f && !FORMAT_RE.test(c);
  return chars.some((c, i) => {
    if (!FORMAT_RE.test(c)) return false;
    const joiner = c === '\u200c' || c === '\u200d';
    return !(joiner && i > 0 && visible(chars[i - 1]) && visible(chars[i + 1]));
  });
}

/**
 * Whether `room` is a valid room id: 1-64 letters or digits of any script, `_` or `-`.
 * @param {unknown} room
 * @returns {room is string}
 */
export function isValidRoom(room) {
  return typeof room === 'string' && roomError(room) === null;
}

/**
 * Trims a display name the way the server does.
 * @param {string} name
 * @returns {string}
 */
export function trimName(name) {
  return name.replace(TRIM_RE, '');
}

/**
 * Checks a display name. Returns null when it is valid, else the problem (`name.*` keys).
 * @param {unknown} name
 * @returns {Text | null}
 */
export function nameError(name) {
  if (typeof name !== 'string') return { key: 'name.empty' };
  const trimmed = trimName(name);
  const chars = [...trimmed].length;
  if (chars === 0) return { key: 'name.empty' };
  if (chars > MAX_NAME_CHARS) return { key: 'name.too_long', params: { max: MAX_NAME_CHARS, over: chars - MAX_NAME_CHARS } };
  if (CONTROL_RE.test(trimmed)) return { key: 'name.control' };
  if (hasForbiddenFormatChar(trimmed)) return { key: 'name.format' };
  return null;
}

/**
 * Whether `name` is a valid display name (after trimming).
 * @param {unknown} name
 * @returns {name is string}
 */
export function isValidName(name) {
  return nameError(name) === null;
}

/**
 * Checks a room id. Returns null when it is valid, else the problem (`room.*` keys).
 * @param {unknown} room
 * @returns {Text | null}
 */
export function roomError(room) {
  if (typeof room !== 'string' || room.length === 0) return { key: 'room.empty' };
  if ([...room].length > MAX_ROOM_LEN) return { key: 'room.too_long', params: { max: MAX_ROOM_LEN } };
  if (!ROOM_RE.test(room)) return { key: 'room.chars' };
  return null;
}

/**
 * Trims a chat text the way the server does (Rust's `str::trim`).
 * @param {string} text
 * @returns {string}
 */
export function trimChat(text) {
  return text.replace(TRIM_RE, '');
}

/**
 * Checks a chat text. Returns null when the server will accept it, else the problem
 * (`chat.*` keys; the server's rule for `bad_text`: 1-2000 characters after trimming, no
 * control characters other than newline and tab).
 * @param {unknown} text
 * @returns {Text | null}
 */
export function chatTextError(text) {
  if (typeof text !== 'string') return { key: 'chat.empty' };
  const trimmed = trimChat(text);
  const chars = [...trimmed].length;
  if (chars === 0) return { key: 'chat.empty' };
  if (chars > MAX_CHAT_CHARS) {
    return { key: 'chat.too_long', params: { max: MAX_CHAT_CHARS, over: chars - MAX_CHAT_CHARS } };
  }
  if (CHAT_CONTROL_RE.test(trimmed)) return { key: 'chat.control' };
  return null;
}

/**
 * Adds `msg` to `list` (kept in id order) unless a message with its id is there already.
 * Returns whether it was added. History and live messages can overlap (and will across
 * reconnects), so every insert goes through here.
 * @param {ChatMessage[]} list
 * @param {ChatMessage} msg
 * @returns {boolean}
 */
export function addChatMessage(list, msg) {
  let i = list.length;
  while (i > 0 && list[i - 1].id > msg.id) i--;
  if (i > 0 && list[i - 1].id === msg.id) return false;
  list.splice(i, 0, msg);
  return true;
}

/**
 * Whether a room's `joined.history`, received on rejoining after a reconnect, continues
 * the messages already shown (`shown`, in id order), so both can be merged by id with
 * `addChatMessage` and every message shows exactly once. False when the server has
 * forgotten the room's ids (it restarted without a chat store, or the room emptied on a
 * server with `--chat-retention-days 0`): a shown id then comes back with other content,
 * or the history ends below the last shown id. The caller must then start over from
 * `history` alone, or new messages reusing old ids would be dropped as duplicates.
 * @param {ChatMessage[]} shown
 * @param {ChatMessage[]} history
 * @returns {boolean}
 */
export function chatHistoryContinues(shown, history) {
  if (shown.length === 0) return true;
  const last = history.length ? history[history.length - 1].id : 0;
  if (last < shown[shown.length - 1].id) return false;
  const byId = new Map(shown.map((m) => [m.id, m]));
  return history.every((m) => {
    const old = byId.get(m.id);
    return !old || (old.from === m.from && old.ts === m.ts && old.text === m.text);
  });
}

