// Who comes and goes, in words: "Bob joined", "Bob left", "Bob's connection dropped,
// reconnecting…", "Bob is back". A short line in the call bar (#room-notice), apart from
// the call outcomes (#call-notice), so nobody misses a departure. In a big room (a
// broadcast's audience) only people who may send media are announced: a class of 500
// arriving is not 500 lines.

import { t } from '../i18n/i18n.js';
import { showIsolated } from './bidi.js';

/** @typedef {import('../room/room.js').Room} Room */
/** @typedef {import('../net/signaling.js').Signaling} Signaling */

/** How long a line stays. */
const SHOW_MS = 5000;
/** Above this many people, only those who may send media are announced. */
const QUIET_ABOVE = 12;

export class RoomNotices {
  /**
   * @param {HTMLElement} el the line
   * @param {Room} room
   */
  constructor(el, room) {
    this.el = el;
    this.room = room;
    /** Every line shown, oldest first (for tests). @type {string[]} */
    this.shown = [];
    /** @private @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    /**
     * Who was in the room before a fresh `joined` of the same room (it was made again on
     * another server node): coming back into it is not joining. @private @type {Set<string>}
     */
    this.before = new Set();
  }

  /**
   * Listens to `sig`; call before the app's own listeners (presence is compared with
   * what the room model had).
   * @param {Signaling} sig
   * @param {() => boolean} live whether `sig` is still the app's connection
   */
  wire(sig, live) {
    const room = this.room;
    sig.on('joined', (j) => {
      if (!live()) return;
      const back = new Set(j.peers.map((p) => p.id));
      const had = room.room === j.room ? [...room.peers.keys()] : [];
      this.before = new Set(had.filter((id) => !back.has(id)));
    });
    sig.on('peerJoined', ({ peer }) => {
      if (!live() || this.before.delete(peer.id)) return;
      if (this.announces(peer.id, true)) this.show(t('notice.joined', { name: peer.name }));
    });
    sig.on('peerLeft', ({ peerId, reason }) => {
      // A removal is said by moderation ("Alice removed Bob").
      if (!live() || reason === 'kicked' || !this.announces(peerId, false)) return;
      this.show(t(reason === 'left' ? 'notice.left' : 'notice.lost', { name: room.nameOf(peerId) }));
    });
    sig.on('presence', ({ peerId, state }) => {
      const before = room.peers.get(peerId)?.state;
      if (!live() || !before || before.reconnecting === state.reconnecting || !this.announces(peerId, false)) return;
      this.show(t(state.reconnecting ? 'notice.reconnecting' : 'notice.back', { name: room.nameOf(peerId) }));
    });
  }

  /**
   * Whether a change of `peerId` is worth a line: always in a small room; in a big one
   * only for someone who may send media.
   * @private
   * @param {string} peerId
   * @param {boolean} arriving it is not in the room model yet
   */
  announces(peerId, arriving) {
    const size = this.room.peers.size + (arriving ? 2 : 1);
    return size <= QUIET_ABOVE || (!arriving && this.room.mayPublish(peerId));
  }

  /** @param {string} text */
  show(text) {
    this.shown.push(text);
    showIsolated(this.el, text, this.room.names.values());
    this.el.hidden = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.el.hidden = true;
      this.timer = null;
    }, SHOW_MS);
  }

  /** Back to the lobby. */
  reset() {
    this.before.clear();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.el.hidden = true;
  }
}
