// Roles and moderation in the room: who hosts (a "Host" tag in the people panel), the
// host's per-person "Mute" and "Remove" actions and the room's "Lock" toggle, and what
// happened said in words on every side ("Alice muted you", "Alice removed you from the
// room", "Alice locked the room"). The server enforces the rules (see docs/protocol.md,
// "Roles"); this module only offers the actions to hosts and explains the outcomes.

import { kick, lock, mute } from '../net/protocol.js';
import { confirmAction } from './confirm.js';
import { WaitingRoomUi } from './waiting.js';
import { t } from '../i18n/i18n.js';

/** @typedef {import('../net/protocol.js').PeerInfo} PeerInfo */
/** @typedef {import('../net/protocol.js').Role} Role */
/** @typedef {import('../net/signaling.js').Signaling} Signaling */
/** @typedef {import('../room/room.js').Room} Room */

/**
 * @typedef {object} ModerationUi
 * @property {HTMLUListElement} list the people list (rows `li[data-peer-id]`)
 * @property {HTMLButtonElement} lock the host's lock toggle
 * @property {HTMLElement} locked the "Locked" tag everyone sees
 * @property {HTMLElement} meRole the "Host" tag on our own row
 */

/**
 * @typedef {object} ModerationContext
 * @property {() => Signaling | null} signaling
 * @property {Room} room roles and the lock live here (the app feeds it first)
 * @property {(id: string) => string} nameOf
 * @property {(text: string) => void} notice shows a short status line (#call-notice)
 * @property {() => void} muteMic mutes our microphone, as its button would
 * @property {(sentence: string) => void} removed we were removed from the room
 * @property {() => void} cancelWaiting we give up waiting to be let in
 * @property {() => void} onChange
 */

/**
 * The sentence for a room being locked or unlocked, by us or by `name`.
 * @param {boolean} locked
 * @param {string | null} name null when we did it
 */
export function lockSentence(locked, name) {
  if (name === null) return t(locked ? 'mod.you_locked' : 'mod.you_unlocked');
  return t(locked ? 'mod.locked' : 'mod.unlocked', { name });
}

export class Moderation {
  /**
   * @param {ModerationUi} ui
   * @param {ModerationContext} ctx
   */
  constructor(ui, ctx) {
    this.ui = ui;
    this.ctx = ctx;
    /** The waiting room: the host's side and the joiner's. */
    this.waiting = new WaitingRoomUi(ctx);
    ui.lock.addEventListener('click', () => {
      this.ctx.signaling()?.send(lock(!this.locked));
    });
  }

  /** Our role in the room. @returns {Role} */
  get role() {
    return this.ctx.room.role;
  }

  /** Whether our room is locked. */
  get locked() {
    return this.ctx.room.locked;
  }

  /** Back to the lobby (the room model was reset): no role, no lock. */
  reset() {
    this.waiting.reset();
    this.render();
  }

  /**
   * Listens to `sig`. Call before the app's own listeners, so a departing peer's name is
   * still known when its `peerLeft` arrives.
   * @param {Signaling} sig
   * @param {() => boolean} live whether `sig` is still the app's connection
   */
  wire(sig, live) {
    this.waiting.wire(sig, live);
    sig.on('peerLeft', ({ peerId, reason }) => {
      if (live() && reason === 'kicked') this.ctx.notice(t('mod.removed_other', { name: this.ctx.nameOf(peerId) }));
    });
    sig.on('roleChanged', ({ peerId, role }) => {
      if (!live()) return;
      if (peerId === this.ctx.room.myId) {
        if (role === 'host') this.ctx.notice(t('mod.you_host'));
      } else {
        if (role === 'host') this.ctx.notice(t('mod.host', { name: this.ctx.nameOf(peerId) }));
      }
      this.ctx.onChange();
    });
    sig.on('roomLocked', ({ locked, by }) => {
      if (!live()) return;
      this.ctx.notice(lockSentence(locked, by === this.ctx.room.myId ? null : this.ctx.nameOf(by)));
      this.ctx.onChange();
    });
    sig.on('muteRequest', ({ by }) => {
      if (!live()) return;
      this.ctx.muteMic();
      this.ctx.notice(t('mod.muted_you', { name: this.ctx.nameOf(by) }));
    });
    sig.on('kicked', ({ by }) => {
      if (live()) this.ctx.removed(t('mod.removed_you', { name: this.ctx.nameOf(by) }));
    });
  }

  /** Shows roles, the lock state and (for hosts) the actions. Call after the people list renders. */
  render() {
    this.waiting.render();
    const host = this.role === 'host';
    this.ui.meRole.hidden = !host;
    this.ui.lock.hidden = !host;
    this.ui.lock.setAttribute('aria-pressed', String(this.locked));
    this.ui.lock.title = t(this.locked ? 'mod.unlock_title' : 'mod.lock_title');
    const text = /** @type {HTMLElement | null} */ (this.ui.lock.querySelector('.chip-text'));
    if (text) text.textContent = t(this.locked ? 'mod.unlock' : 'mod.lock');
    this.ui.lock.setAttribute('aria-label', t(this.locked ? 'mod.unlock_aria' : 'mod.lock_aria'));
    this.ui.locked.hidden = !this.locked || host;
    const peers = this.ctx.room.peers;
    for (const li of this.ui.list.querySelectorAll('li[data-peer-id]')) {
      const row = /** @type {HTMLLIElement} */ (li);
      const peer = peers.get(row.dataset.peerId ?? '');
      if (!peer) continue;
      this.decorate(row, peer, host);
    }
  }

  /**
   * Adds (once) and updates a row's host tag and host actions.
   * @private
   * @param {HTMLLIElement} li
   * @param {PeerInfo} peer
   * @param {boolean} host whether we host
   */
  decorate(li, peer, host) {
    let tag = /** @type {HTMLElement | null} */ (li.querySelector('.role-tag'));
    if (!tag) {
      tag = document.createElement('span');
      tag.className = 'role-tag';
      li.querySelector('.peer-name')?.after(tag);
    }
    // Every time: the language may have changed since the tag was made.
    tag.textContent = t('people.host');
    tag.hidden = peer.role !== 'host';
    let actions = /** @type {HTMLElement | null} */ (li.querySelector('.host-actions'));
    if (!actions) {
      actions = document.createElement('span');
      actions.className = 'host-actions';
      const muteButton = document.createElement('button');
      muteButton.type = 'button';
      muteButton.className = 'chip mute-peer';
      muteButton.addEventListener('click', () => this.ctx.signaling()?.send(mute(peer.id)));
      const removeButton = document.createElement('button');
      removeButton.type = 'button';
      removeButton.className = 'chip remove-peer';
      removeButton.textContent = t('people.remove');
      removeButton.addEventListener('click', async () => {
        // Removing cannot be undone from here: ask, in words naming the person.
        const name = this.ctx.nameOf(peer.id);
        const sure = await confirmAction({
          title: t('people.remove_title', { name }),
          detail: t('people.remove_detail'),
          action: t('people.remove'),
        });
        if (sure) this.ctx.signaling()?.send(kick(peer.id));
      });
      actions.append(muteButton, removeButton);
      li.append(actions);
    }
    actions.hidden = !host;
    li.classList.toggle('hostable', host);
    const muteButton = /** @type {HTMLButtonElement} */ (actions.querySelector('.mute-peer'));
    const muted = this.ctx.room.media(peer.id).micMuted;
    muteButton.textContent = t(muted ? 'people.muted' : 'people.mute');
    muteButton.disabled = muted;
    muteButton.setAttribute('aria-label', t(muted ? 'people.muted_aria' : 'people.mute_aria', { name: peer.name }));
    const removeButton = /** @type {HTMLButtonElement} */ (actions.querySelector('.remove-peer'));
    removeButton.textContent = t('people.remove');
    removeButton.setAttribute('aria-label', t('people.remove_aria', { name: peer.name }));
  }
}
