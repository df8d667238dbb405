// Broadcast mode on screen (a teacher and a class): the host's "Broadcast" toggle, the
// "Broadcast" tag everyone else sees, the raised-hand button and marks, the host's
// "Bring on stage" / "Back to audience" actions, and the audience shown as a count
// instead of a row each. A viewer who arrives while a broadcast runs starts watching at
// once (joins its call, receive-only). The server enforces who may send media (see
// docs/protocol.md, "Broadcast"); this module offers the actions and says what happened.

import { broadcast, hand, stage } from '../net/protocol.js';
import { setupReactions } from './reactions.js';
import { t } from '../i18n/i18n.js';

/** @typedef {import('../net/protocol.js').PeerInfo} PeerInfo */
/** @typedef {import('../net/protocol.js').PeerState} PeerState */
/** @typedef {import('../net/signaling.js').Signaling} Signaling */
/** @typedef {import('../room/room.js').Room} Room */

/**
 * @typedef {object} BroadcastUi
 * @property {HTMLButtonElement} toggle the host's broadcast toggle
 * @property {HTMLButtonElement} menuToggle the same, in the "more" menu (narrow screens)
 * @property {HTMLElement} tag "Broadcast", for everyone else
 * @property {HTMLButtonElement} hand our raise-hand button
 * @property {HTMLButtonElement} menuHand the same, in the "more" menu (narrow screens)
 * @property {HTMLUListElement} list the people list (rows `li[data-peer-id]`)
 * @property {HTMLElement} viewers the audience count under the list
 * @property {HTMLElement} meName our own row's name, for our hand mark
 */

/**
 * @typedef {object} BroadcastContext
 * @property {() => Signaling | null} signaling
 * @property {Room} room
 * @property {import('./calls.js').Calls} calls
 * @property {(text: string) => void} notice
 * @property {() => void} onChange
 */

export class Broadcast {
  /**
   * @param {BroadcastUi} ui
   * @param {BroadcastContext} ctx
   */
  constructor(ui, ctx) {
    this.ui = ui;
    this.ctx = ctx;
    /** Broadcast calls we started watching by ourselves (each at most once). @type {Set<number>} */
    this.watched = new Set();
    for (const b of [ui.toggle, ui.menuToggle]) {
      b.addEventListener('click', () => this.ctx.signaling()?.send(broadcast(!this.ctx.room.broadcast)));
    }
    for (const b of [ui.hand, ui.menuHand]) {
      b.addEventListener('click', () => this.ctx.signaling()?.send(hand(!this.ctx.room.me.hand)));
    }
    // Reactions sit with the hand: the audience's ways to speak up without a microphone.
    setupReactions(() => this.ctx.signaling());
  }

  /** Back to the lobby. */
  reset() {
    this.watched.clear();
    this.render();
  }

  /**
   * Listens to `sig`; call before the app's own listeners, so presence is compared with
   * what the room model had before it.
   * @param {Signaling} sig
   * @param {() => boolean} live whether `sig` is still the app's connection
   */
  wire(sig, live) {
    const room = this.ctx.room;
    sig.on('broadcast', (m) => {
      if (!live()) return;
      room.handle(m);
      const key = m.by === room.myId ? (m.on ? 'bc.you_started' : 'bc.you_stopped') : m.on ? 'bc.started' : 'bc.stopped';
      this.ctx.notice(t(key, { name: room.nameOf(m.by) }));
      this.ctx.onChange();
    });
    sig.on('presence', ({ peerId, state }) => {
      if (!live()) return;
      const mine = peerId === room.myId;
      const before = mine ? room.me : room.peers.get(peerId)?.state;
      if (!before) return;
      if (mine && !before.onStage && state.onStage) this.ctx.notice(t('bc.you_on_stage'));
      else if (mine && before.onStage && !state.onStage && room.broadcast) this.ctx.notice(t('bc.you_off_stage'));
      else if (!mine && !before.hand && state.hand && room.role === 'host') {
        this.ctx.notice(t('bc.raised', { name: room.nameOf(peerId) }));
      }
    });
  }

  /**
   * The audience: those who may not send media now (in a broadcast), we included.
   * @returns {number}
   */
  audience() {
    const room = this.ctx.room;
    if (!room.broadcast) return 0;
    let n = room.mayPublish(room.myId) ? 0 : 1;
    for (const id of room.peers.keys()) if (!room.mayPublish(id)) n++;
    return n;
  }

  /** Shows the toggle, the tag, hands, stage actions and the audience. Call after the people list and moderation render. */
  render() {
    const { room } = this.ctx;
    const host = room.role === 'host';
    const on = room.broadcast;
    const ui = this.ui;
    ui.toggle.hidden = !host;
    ui.menuToggle.hidden = !host;
    /** @type {HTMLElement} */ (ui.menuToggle.querySelector('span')).textContent = t(on ? 'bc.stop' : 'bc.start');
    ui.toggle.setAttribute('aria-pressed', String(on));
    const text = /** @type {HTMLElement} */ (ui.toggle.querySelector('.chip-text'));
    text.textContent = t(on ? 'bc.stop' : 'bc.start');
    ui.toggle.title = t(on ? 'bc.stop_title' : 'bc.start_title');
    ui.tag.hidden = !on || host;
    const up = room.me.hand === true;
    ui.hand.setAttribute('aria-pressed', String(up));
    ui.hand.setAttribute('aria-label', t(up ? 'bc.lower' : 'bc.raise'));
    ui.hand.title = t(up ? 'bc.lower' : 'bc.raise');
    /** @type {HTMLElement} */ (ui.menuHand.querySelector('span')).textContent = t(up ? 'bc.lower' : 'bc.raise');
    this.mark(/** @type {HTMLElement} */ (ui.meName.closest('.peer-name')), up);
    for (const li of ui.list.querySelectorAll('li[data-peer-id]')) {
      const row = /** @type {HTMLLIElement} */ (li);
      const peer = room.peers.get(row.dataset.peerId ?? '');
      if (peer) this.decorate(row, peer, host);
    }
    const audience = this.audience();
    ui.viewers.hidden = !on;
    ui.viewers.textContent = t('bc.audience', { count: audience });
    this.watch();
  }

  /**
   * A person's row: the hand mark, the host's stage action, and in a broadcast no row
   * for a quiet member of the audience (they are counted instead).
   * @private
   * @param {HTMLLIElement} li
   * @param {PeerInfo} peer
   * @param {boolean} host
   */
  decorate(li, peer, host) {
    const room = this.ctx.room;
    const speaks = room.mayPublish(peer.id);
    const up = peer.state.hand === true;
    li.hidden = room.broadcast && !speaks && !up && peer.role !== 'host';
    this.mark(/** @type {HTMLElement} */ (li.querySelector('.peer-name')), up);
    const actions = li.querySelector('.host-actions');
    if (!actions) return;
    let button = /** @type {HTMLButtonElement | null} */ (actions.querySelector('.stage-peer'));
    if (!button) {
      button = document.createElement('button');
      button.type = 'button';
      button.className = 'chip stage-peer';
      const b = button;
      b.addEventListener('click', () => this.ctx.signaling()?.send(stage(peer.id, b.dataset.on !== 'true')));
      actions.prepend(button);
    }
    const onStage = peer.state.onStage === true;
    button.hidden = !host || !room.broadcast || peer.role === 'host';
    button.dataset.on = String(onStage);
    button.textContent = t(onStage ? 'bc.off_stage' : 'bc.on_stage');
    button.setAttribute('aria-label', t(onStage ? 'bc.off_stage_aria' : 'bc.on_stage_aria', { name: peer.name }));
  }

  /** @private @param {HTMLElement | null} where @param {boolean} up */
  mark(where, up) {
    if (!where) return;
    let tag = /** @type {HTMLElement | null} */ (where.parentElement?.querySelector(':scope > .hand-tag') ?? null);
    if (!tag) {
      tag = document.createElement('span');
      tag.className = 'hand-tag';
      tag.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#i-hand"/></svg><span></span>';
      where.after(tag);
    }
    tag.hidden = !up;
    /** @type {HTMLElement} */ (tag.querySelector('span')).textContent = t('bc.hand_up');
  }

  /** A viewer in a broadcast room who is in no call starts watching the running one, once per call. @private */
  watch() {
    const { room, calls } = this.ctx;
    if (!room.broadcast || room.me.status !== 'idle' || room.mayPublish(room.myId)) return;
    const running = room.runningCall();
    if (!running || this.watched.has(running.call)) return;
    this.watched.add(running.call);
    calls.join(running.call);
  }
}
