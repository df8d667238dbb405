// Access control in the lobby: the join token a link carries (`/r/<room>?token=...`), the
// room password field, and refusals (`password_required`, `bad_password`,
// `token_required`, `bad_token`, `room_locked`) shown in words next to the join form.
//
// The token is a secret of its holder: it is taken out of the address bar at once (kept
// in this tab's sessionStorage so a reload still works) and never put in a shared link.
// Its claims are read here only to prefill the name; the server verifies the signature.

import { t } from '../i18n/i18n.js';
import { onLanguageChange } from './language.js';

/** @typedef {import('../i18n/i18n.js').Text} Text */

const TOKEN_KEY = 'confab.token';

/** Error codes that refuse a `join` for access reasons; shown in the lobby, not as a toast. */
export const ACCESS_CODES = Object.freeze([
  'password_required',
  'bad_password',
  'token_required',
  'bad_token',
  'room_locked',
]);

/**
 * The sentence a person sees for an access refusal (in the page's language), or null for
 * other codes.
 * @param {string} code
 * @returns {string | null}
 */
export function describeRefusal(code) {
  return ACCESS_CODES.includes(code) ? t(`access.${code}`) : null;
}

/**
 * The unverified claims of a JWT (its middle part), or null when it is not one. Used
 * only to prefill the lobby; the server decides.
 * @param {string} token
 * @returns {{room?: string, name?: string, role?: string, exp?: number} | null}
 */
export function tokenClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return null;
    return {
      room: typeof claims.room === 'string' ? claims.room : undefined,
      name: typeof claims.name === 'string' ? claims.name : undefined,
      role: typeof claims.role === 'string' ? claims.role : undefined,
      exp: typeof claims.exp === 'number' ? claims.exp : undefined,
    };
  } catch {
    return null;
  }
}

/**
 * @typedef {object} AccessUi
 * @property {HTMLInputElement} name
 * @property {HTMLInputElement} room
 * @property {HTMLElement} passwordField
 * @property {HTMLInputElement} password
 * @property {HTMLElement} passwordNote
 * @property {HTMLElement} note
 */

/** The lobby's access state: the token of this tab, the password field, the notes. */
export class Access {
  /** @param {AccessUi} ui */
  constructor(ui) {
    this.ui = ui;
    /** @type {string | null} */
    this.token = null;
    /** @type {string | null} the room the token is for (from its claims) */
    this.tokenRoom = null;
    /** @type {Text | null} what the lobby note says, worded again on a language switch */
    this.noteText = null;
    /** @type {string | null} the refusal the password note explains */
    this.passwordCode = null;
    // A different room may have no password (or another): start over when it changes.
    ui.room.addEventListener('input', () => this.hidePassword());
    onLanguageChange(() => this.reword());
  }

  /**
   * Takes a token from `?token=` (or this tab's storage), removes it from the address
   * bar, and says what the lobby should start with. A token link joins at once, under
   * the token's name, in the token's room (a token kept from earlier only prefills).
   * @param {{name: string, room: string, join: boolean}} launch from lobby.js
   * @returns {{name: string, room: string, join: boolean}}
   */
  launch(launch) {
    const params = new URLSearchParams(location.search);
    let token = params.get('token');
    const fromUrl = token !== null;
    if (token !== null) {
      params.delete('token');
      const rest = params.toString();
      history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch {
        // No storage: the token lives until this page is closed.
      }
    } else {
      try {
        token = sessionStorage.getItem(TOKEN_KEY);
      } catch {
        token = null;
      }
    }
    if (!token) return launch;
    const claims = tokenClaims(token);
    // A token kept from an earlier link in this tab applies only to its own room.
    if (!fromUrl && launch.room && claims?.room !== launch.room) return launch;
    this.token = token;
    this.tokenRoom = claims?.room ?? null;
    const name = claims?.name ?? launch.name;
    const room = launch.room || claims?.room || '';
    if (claims?.name) {
      // The server names the holder after the token; editing it here would change nothing.
      this.ui.name.value = claims.name;
      this.ui.name.readOnly = true;
      this.say({ key: 'access.invited', params: { name: claims.name } }, false);
    }
    return { name, room, join: fromUrl || launch.join };
  }

  /**
   * What to send in `join` to `room`: the token if it is for this room, the password if
   * the field is shown and filled.
   * @param {string} room
   * @returns {{password?: string, token?: string}}
   */
  credentials(room) {
    /** @type {{password?: string, token?: string}} */
    const out = {};
    if (this.token && (this.tokenRoom === null || this.tokenRoom === room)) out.token = this.token;
    if (!this.ui.passwordField.hidden && this.ui.password.value) out.password = this.ui.password.value;
    return out;
  }

  /**
   * A `join` was refused with `code`. For access codes: shows why next to the form
   * (the password field for password codes) and returns the sentence; else null.
   * @param {string} code
   * @returns {string | null}
   */
  refused(code) {
    const sentence = describeRefusal(code);
    if (sentence === null) return null;
    if (code === 'password_required' || code === 'bad_password') {
      this.ui.passwordField.hidden = false;
      this.ui.passwordField.classList.toggle('invalid', code === 'bad_password');
      this.ui.password.setAttribute('aria-invalid', String(code === 'bad_password'));
      this.ui.passwordNote.textContent = sentence;
      this.passwordCode = code;
      this.say(null, true);
      if (code === 'bad_password') this.ui.password.select();
      this.ui.password.focus();
    } else {
      if (code === 'bad_token') this.forgetToken();
      this.say({ key: `access.${code}` }, true);
    }
    return sentence;
  }

  /** The join went through: nothing left to explain. */
  joined() {
    this.ui.note.hidden = true;
    this.noteText = null;
    this.ui.passwordField.classList.remove('invalid');
    this.ui.password.removeAttribute('aria-invalid');
  }

  /**
   * Shows `text` in the lobby note (an alert when `alert`), or hides it when null. A
   * string is shown as it is (already worded by the caller).
   * @param {Text | string | null} text
   * @param {boolean} alert
   */
  say(text, alert) {
    this.noteText = typeof text === 'string' ? null : text;
    this.ui.note.textContent = text === null ? '' : typeof text === 'string' ? text : t(text.key, text.params);
    this.ui.note.hidden = text === null;
    this.ui.note.classList.toggle('alert', alert);
    if (alert) this.ui.note.setAttribute('role', 'alert');
    else this.ui.note.setAttribute('role', 'status');
  }

  /** @private The language changed: word the notes again. */
  reword() {
    if (this.noteText) this.ui.note.textContent = t(this.noteText.key, this.noteText.params);
    if (this.passwordCode) this.ui.passwordNote.textContent = describeRefusal(this.passwordCode) ?? '';
  }

  /** @private */
  hidePassword() {
    if (this.ui.passwordField.hidden) return;
    this.ui.passwordField.hidden = true;
    this.passwordCode = null;
    this.ui.password.value = '';
    this.ui.passwordField.classList.remove('invalid');
  }

  /** @private A refused token is not offered again (the name can be edited again). */
  forgetToken() {
    this.token = null;
    this.tokenRoom = null;
    this.ui.name.readOnly = false;
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // nothing stored
    }
  }
}
