// What is wrong with the lobby's fields, said under the field it concerns (not in a
// toast at the top of the page): checked when the person presses Join, again as they
// correct it, and at once while a name grows past the limit (the field does not cut
// what is typed or pasted; it says so). Server refusals of a name or room land here too.

import { nameError, roomError } from '../net/protocol.js';
import { t } from '../i18n/i18n.js';
import { onLanguageChange } from './language.js';

/** @typedef {import('../i18n/i18n.js').Text} Text */

/**
 * @typedef {object} LobbyFields
 * @property {HTMLInputElement} name
 * @property {HTMLInputElement} room
 * @property {HTMLElement} nameError  #name-error, under the name
 * @property {HTMLElement} roomError  #room-error, under the room
 */

export class LobbyErrors {
  /** @param {LobbyFields} el */
  constructor(el) {
    this.el = el;
    /**
     * What each field's note says: a catalog text (worded again on a language switch)
     * or a sentence already worded. @type {{name: Text | string | null, room: Text | string | null}}
     */
    this.shown = { name: null, room: null };
    el.name.addEventListener('input', () => {
      const problem = nameError(el.name.value);
      // Said while typing only when the name is too long (empty is fine mid-edit).
      if (this.shown.name || problem?.key === 'name.too_long') this.set('name', problem);
    });
    el.room.addEventListener('input', () => {
      if (this.shown.room) this.set('room', roomError(el.room.value));
    });
    onLanguageChange(() => {
      this.set('name', this.shown.name);
      this.set('room', this.shown.room);
    });
  }

  /**
   * Checks both fields before joining: each problem is said under its field and the
   * first bad field takes the focus.
   * @param {string} rawName
   * @param {string} roomId
   * @returns {string | null} the first problem in words (for the record), or null
   */
  check(rawName, roomId) {
    const name = nameError(rawName);
    const room = roomError(roomId);
    this.set('name', name);
    this.set('room', room);
    if (name) this.el.name.focus();
    else if (room) this.el.room.focus();
    const first = name ?? room;
    return first ? t(first.key, first.params) : null;
  }

  /**
   * The server refused the join for one of the fields (`bad_name`, `bad_room`): says
   * `text` under it. Returns false for other codes, which the caller says elsewhere.
   * @param {string} code
   * @param {string} text
   * @returns {boolean}
   */
  refused(code, text) {
    const field = code === 'bad_name' ? 'name' : code === 'bad_room' ? 'room' : null;
    if (!field) return false;
    this.set(field, text);
    this.el[field].focus();
    return true;
  }

  /**
   * @private
   * @param {'name' | 'room'} field
   * @param {Text | string | null} problem
   */
  set(field, problem) {
    this.shown[field] = problem;
    const note = field === 'name' ? this.el.nameError : this.el.roomError;
    note.textContent = problem === null ? '' : typeof problem === 'string' ? problem : t(problem.key, problem.params);
    note.hidden = !problem;
    this.el[field].setAttribute('aria-invalid', String(problem !== null));
    this.el[field].closest('.field')?.classList.toggle('invalid', problem !== null);
  }
}
