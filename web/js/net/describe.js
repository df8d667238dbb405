// Server errors and close codes as texts for the person (catalog keys, worded by the page
// in its language; web/js/i18n/). No DOM, no words.

import { CloseCode } from './types.js';
/** @import { Text } from './types.js' */

/** The server error codes the catalog has words for (`error.<code>`). */
const KNOWN_ERRORS = new Set([
  'bad_name', 'bad_room', 'room_full', 'server_full', 'unsupported_version', 'unknown_peer',
  'not_joined', 'already_joined', 'too_large', 'bad_text', 'rate_limited', 'busy', 'call_full',
  'already_in_call', 'already_invited', 'in_another_call', 'no_invitation', 'unknown_call',
  'not_in_call', 'not_host', 'room_locked', 'password_required', 'bad_password',
  'token_required', 'bad_token', 'not_sfu_call', 'media_failed', 'no_media_server', 'name_fixed', 'not_admitted',
]);

/**
 * A server `error` message as a text for the person: the code's words, with the server's
 * message after them in brackets; an unknown code shows the server's message.
 * @param {{code: string, message: string}} err
 * @returns {Text}
 */
export function describeServerError(err) {
  if (!KNOWN_ERRORS.has(err.code)) return { key: 'error.unknown', params: { detail: err.message || err.code } };
  /** @type {Text} */
  const known = { key: `error.${err.code}` };
  return err.message ? { key: 'error.detailed', params: { text: known, detail: err.message } } : known;
}

/**
 * Why the signaling connection closed, or null for a normal close.
 * @param {number} code
 * @returns {Text | null}
 */
export function describeClose(code) {
  switch (code) {
    case CloseCode.NORMAL:
      return null;
    case CloseCode.GOING_AWAY:
      return { key: 'close.going_away' };
    case CloseCode.UNSUPPORTED_VERSION:
      return { key: 'close.unsupported_version' };
    case CloseCode.IDLE_TIMEOUT:
      return { key: 'close.idle_timeout' };
    case CloseCode.SLOW_CONSUMER:
      return { key: 'close.slow_consumer' };
    case CloseCode.TOO_BIG:
      return { key: 'close.too_big' };
    case CloseCode.FLOOD:
      return { key: 'close.flood' };
    case CloseCode.HELLO_TIMEOUT:
      return { key: 'close.hello_timeout' };
    case CloseCode.REPLACED:
      return { key: 'close.replaced' };
    default:
      return { key: 'close.lost' };
  }
}
