// Recording on the server, on screen: the host's "Record" toggle, the red "Recording"
// tag everyone sees while it runs (its title says who started it), and what happened in
// words. The server records the room's calls through its media router (see
// docs/protocol.md, "record"); this module offers the action and says what it does.

import { record } from '../net/protocol.js';
import { t } from '../i18n/i18n.js';

/** @typedef {import('../net/signaling.js').Signaling} Signaling */
/** @typedef {import('../room/room.js').Room} Room */

/**
 * @typedef {object} RecordingUiParts
 * @property {HTMLButtonElement} toggle the host's record toggle
 * @property {HTMLElement} tag "Recording", for everyone
 */

/**
 * @typedef {object} RecordingContext
 * @property {() => Signaling | null} signaling
 * @property {Room} room
 * @property {(text: string) => void} notice
 * @property {() => void} onChange
 */

export class RecordingUi {
  /**
   * @param {RecordingUiParts} ui
   * @param {RecordingContext} ctx
   */
  constructor(ui, ctx) {
    this.ui = ui;
    this.ctx = ctx;
    ui.toggle.addEventListener('click', () => this.ctx.signaling()?.send(record(this.ctx.room.recordedBy === null)));
  }

  /**
   * Listens to `sig` for `recording`.
   * @param {Signaling} sig
   * @param {() => boolean} live whether `sig` is still the app's connection
   */
  wire(sig, live) {
    const room = this.ctx.room;
    sig.on('recording', (m) => {
      if (!live()) return;
      room.handle(m);
      const mine = m.by === room.myId;
      const key = m.on ? (mine ? 'rec.you_started' : 'rec.started') : mine ? 'rec.you_stopped' : 'rec.stopped';
      this.ctx.notice(t(key, { name: room.nameOf(m.by) }));
      this.ctx.onChange();
    });
  }

  /** Shows the toggle (hosts) and the tag (everyone, while recording). */
  render() {
    const { room } = this.ctx;
    const on = room.recordedBy !== null;
    const ui = this.ui;
    ui.toggle.hidden = room.role !== 'host';
    ui.toggle.setAttribute('aria-pressed', String(on));
    /** @type {HTMLElement} */ (ui.toggle.querySelector('.chip-text')).textContent = t(on ? 'rec.stop' : 'rec.start');
    ui.toggle.title = t(on ? 'rec.stop_title' : 'rec.start_title');
    ui.tag.hidden = !on;
    if (room.recordedBy !== null) {
      const by = room.recordedBy === room.myId ? t('rec.by_you') : t('rec.by', { name: room.nameOf(room.recordedBy) });
      ui.tag.title = by;
      ui.tag.setAttribute('aria-label', by);
    }
  }
}
