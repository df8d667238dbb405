// Server errors and close codes in English words for the user. No DOM.

import { CloseCode } from './types.js';

// Human-readable errors

/** @type {Record<string, string>} */
const ERROR_TEXT = {
  bad_name: 'The server did not accept that name.',
  bad_room: 'The server did not accept that room name.',
  room_full: 'This room is full. Try again later or pick another room.',
  server_full: 'The server has reached its limit of rooms. Try again later.',
  unsupported_version: 'This page is out of date for the server. Reload the page.',
  unknown_peer: 'That person is no longer in the room.',
  not_joined: 'You are not in a room any more.',
  already_joined: 'You are already in a room.',
  too_large: 'A message was too large for the server.',
  bad_text: 'The server did not accept that chat message.',
  rate_limited: 'You are sending messages too fast. Wait a moment and try again.',
  busy: 'They are busy in another call.',
  call_full: 'The call is full.',
  already_in_call: 'They are already in your call.',
  already_invited: 'They are already being called.',
  in_another_call: 'You are in another call. Hang up first.',
  no_invitation: 'That call invitation is no longer open.',
  unknown_call: 'That call has ended.',
  not_in_call: 'You are not in a call.',
  not_host: 'Only a host of the room can do that.',
  room_locked: 'This room is locked: the host is not letting anyone else in right now.',
  password_required: 'This room needs a password.',
  bad_password: 'Wrong password.',
  token_required: 'This server only lets people in with an invitation link.',
  bad_token: 'This invitation link is not valid any more.',
};

/**
 * Turns a server `error` message into an English sentence for the user.
 * @param {{code: string, message: string}} err
 * @returns {string}
 */
export function describeServerError(err) {
  const known = ERROR_TEXT[err.code];
  if (known && err.message) return `${known} (${err.message})`;
  return known ?? `The server reported an error: ${err.message || err.code}`;
}

/**
 * Explains why the signaling connection closed, or null for a normal close.
 * @param {number} code
 * @returns {string | null}
 */
export function describeClose(code) {
  switch (code) {
    case CloseCode.NORMAL:
      return null;
    case CloseCode.GOING_AWAY:
      return 'The server is restarting.';
    case CloseCode.UNSUPPORTED_VERSION:
      return 'This page is out of date for the server. Reload the page.';
    case CloseCode.IDLE_TIMEOUT:
      return 'The connection to the server timed out.';
    case CloseCode.SLOW_CONSUMER:
      return 'The connection to the server was too slow and was dropped.';
    case CloseCode.TOO_BIG:
      return 'The server closed the connection: a message was too large.';
    case CloseCode.FLOOD:
      return 'The server closed the connection: this page sent too many messages too fast.';
    case CloseCode.HELLO_TIMEOUT:
      return 'The connection to the server timed out while connecting.';
    case CloseCode.REPLACED:
      return 'This room was opened again in another connection.';
    default:
      return 'Lost the connection to the server.';
  }
}

