// The waiting room on the page (the rules are the server's: room/waiting.rs). A host
// turns it on or off from the "more" menu and sees who knocks at the top of the people
// list, with "Admit" and "Deny"; a joiner who has to wait sees so over the stage, with
// "Cancel". Owned by moderation.js, which renders and wires it.

import { admit, waitingRoom } from '../net/protocol.js';
import { t } from '../i18n/i18n.js';
import { $ } from './dom.js';

/**
 * @typedef {object} WaitingRoomContext
 * @property {() => import('../net/signaling.js').Signaling | null} signaling
 * @property {import('../room/room.js').Room} room the waiting room and the knocks live here
 * @property {(text: string) => void} notice
 * @property {() => void} cancelWaiting we give up waiting (back to the lobby)
 * @property {() => void} onChange
 */

export class WaitingRoomUi {
  /** @param {WaitingRoomContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.toggle = $('menu-waiting-room', HTMLButtonElement);
    this.list = $('knocks', HTMLUListElement);
    this.note = $('waiting-note', HTMLElement);
    /** Our own join waits for a host. */
    this.waiting = false;
    this.toggle.addEventListener('click', () => this.ctx.signaling()?.send(waitingRoom(!this.ctx.room.waitingRoom)));
    $('waiting-cancel', HTMLButtonElement).addEventListener('click', () => this.ctx.cancelWaiting());
    this.list.addEventListener('click', (ev) => {
      const button = /** @type {HTMLElement} */ (ev.target).closest?.('button[data-allow]');
      const peer = button?.closest('li')?.getAttribute('data-peer-id');
      if (!button || !peer) return;
      this.ctx.signaling()?.send(admit(peer, button.getAttribute('data-allow') === 'true'));
    });
  }

  /**
   * @param {import('../net/signaling.js').Signaling} sig
   * @param {() => boolean} live
   */
  wire(sig, live) {
    const room = this.ctx.room;
    sig.on('waiting', () => {
      if (!live()) return;
      this.waiting = true;
      this.ctx.onChange();
    });
    sig.on('joined', () => {
      this.waiting = false;
    });
    sig.on('waitingRoom', (m) => {
      if (!live()) return;
      room.handle(m);
      const key = m.by === room.myId ? (m.on ? 'wait.you_on' : 'wait.you_off') : m.on ? 'wait.on' : 'wait.off';
      this.ctx.notice(t(key, { name: room.nameOf(m.by) }));
      this.ctx.onChange();
    });
    sig.on('knocking', (m) => {
      if (!live()) return;
      room.handle(m);
      this.ctx.notice(t('wait.knocking', { name: m.name }));
      this.ctx.onChange();
    });
    sig.on('knockEnded', (m) => {
      if (!live()) return;
      room.handle(m);
      this.ctx.onChange();
    });
  }

  /** Back to the lobby. */
  reset() {
    this.waiting = false;
  }

  /** The host's toggle and list of knocks; the joiner's note. */
  render() {
    const room = this.ctx.room;
    const host = room.role === 'host';
    this.toggle.hidden = !host;
    this.toggle.setAttribute('aria-pressed', String(room.waitingRoom));
    /** @type {HTMLElement} */ (this.toggle.querySelector('span:last-child')).textContent =
      t(room.waitingRoom ? 'wait.turn_off' : 'wait.turn_on');
    this.note.hidden = !this.waiting;
    // The status line (rendered before us) would say "Connecting…": we are connected, waiting.
    if (this.waiting) $('status', HTMLElement).textContent = t('wait.status');
    const knocks = host ? [...room.knocks] : [];
    this.list.hidden = knocks.length === 0;
    const rows = knocks.map(([peer, name]) => {
      const li = document.createElement('li');
      li.className = 'knock';
      li.dataset.peerId = peer;
      const who = document.createElement('span');
      who.className = 'knock-name';
      who.textContent = t('wait.wants_in', { name });
      /** @param {boolean} allow */
      const answer = (allow) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = allow ? 'chip primary admit-peer' : 'chip deny-peer';
        b.dataset.allow = String(allow);
        b.textContent = t(allow ? 'wait.admit' : 'wait.deny');
        b.setAttribute('aria-label', t(allow ? 'wait.admit_aria' : 'wait.deny_aria', { name }));
        return b;
      };
      li.append(who, answer(true), answer(false));
      return li;
    });
    this.list.replaceChildren(...rows);
  }
}
