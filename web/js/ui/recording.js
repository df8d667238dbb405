// Recording on the server, on screen: the host's "Record" toggle, the red "Recording"
// tag everyone sees while it runs (its title says who started it), what happened in
// words, and for hosts the list of the room's recordings with a replay link per recording
// (replay.html: every track in sync), a download and a play link per file, and the same
// for the recording's one mixed MP4 once `confab recording compose` made it
// (`recordings`; the links are signed by the server for an hour). The server records the
// room's calls through its media router (see docs/protocol.md, "record"); this module
// offers the action and says what it does.

import { record, recordings } from '../net/protocol.js';
import { locale, t } from '../i18n/i18n.js';
import { $ } from './dom.js';

/** @typedef {import('../net/protocol.js').RecordingInfo} RecordingInfo */

/** @typedef {import('../net/signaling.js').Signaling} Signaling */
/** @typedef {import('../room/room.js').Room} Room */

/**
 * @typedef {object} RecordingUiParts
 * @property {HTMLButtonElement} toggle the host's record toggle
 * @property {HTMLButtonElement} menuToggle the same, in the "more" menu (narrow screens)
 * @property {HTMLElement} tag "Recording", for everyone
 * @property {HTMLButtonElement} menuItem "Recordings" in the "more" menu (hosts)
 * @property {HTMLElement} panel the list's panel
 * @property {HTMLButtonElement} close its close button
 * @property {HTMLOListElement} list one item per recording
 * @property {HTMLElement} empty "No recordings of this room yet."
 */

/**
 * @typedef {object} RecordingContext
 * @property {() => Signaling | null} signaling
 * @property {Room} room
 * @property {(text: string) => void} notice
 * @property {() => void} onChange
 */

/** This module's elements in the page. @returns {RecordingUiParts} */
export function recordingParts() {
  return {
    toggle: $('record-toggle', HTMLButtonElement),
    menuToggle: $('menu-record', HTMLButtonElement),
    tag: $('recording-tag', HTMLElement),
    menuItem: $('menu-recordings', HTMLButtonElement),
    panel: $('recordings', HTMLElement),
    close: $('recordings-close', HTMLButtonElement),
    list: $('recordings-list', HTMLOListElement),
    empty: $('recordings-empty', HTMLElement),
  };
}

export class RecordingUi {
  /**
   * @param {RecordingUiParts} ui
   * @param {RecordingContext} ctx
   */
  constructor(ui, ctx) {
    this.ui = ui;
    this.ctx = ctx;
    for (const b of [ui.toggle, ui.menuToggle]) {
      b.addEventListener('click', () => this.ctx.signaling()?.send(record(this.ctx.room.recordedBy === null)));
    }
    ui.menuItem.addEventListener('click', () => {
      ui.panel.hidden = false;
      this.ctx.signaling()?.send(recordings());
    });
    ui.close.addEventListener('click', () => {
      ui.panel.hidden = true;
    });
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
    sig.on('recordings', (m) => {
      if (live()) this.showList(m.list);
    });
  }

  /** @private @param {RecordingInfo[]} list */
  showList(list) {
    const { room } = this.ctx;
    const ui = this.ui;
    ui.empty.hidden = list.length > 0;
    ui.list.replaceChildren(...list.map((r) => {
      const li = document.createElement('li');
      li.dataset.recordingId = r.id;
      const when = new Date(r.startedMs).toLocaleString(locale());
      const head = document.createElement('h3');
      head.textContent = r.stoppedMs === undefined
        ? t('rec.list_running', { when })
        : t('rec.list_item', { when, duration: clock(r.stoppedMs - r.startedMs) });
      li.append(head);
      if (r.replay) {
        // All its tracks side by side, in sync, on a page of their own.
        const replay = chipLink('rec-replay', r.replay, t('rec.replay'), true);
        replay.title = t('rec.replay_title');
        head.append(replay);
      }
      if (r.composed) {
        // Everyone in one file, first: the one most people want to hand on.
        const c = r.composed;
        const row = fileRow(t('rec.composed', { size: megabytes(c.bytes) }), t('rec.composed_title'), c);
        row.classList.add('rec-composed');
        row.dataset.kind = 'composed';
        li.append(row);
      }
      for (const f of r.files) {
        const name = f.peer === room.myId ? t('tile.you') : room.nameOf(f.peer);
        const text = t('rec.file', { name, kind: t(`rec.${f.kind}`), size: megabytes(f.bytes) });
        const row = fileRow(text, f.name, f);
        row.dataset.kind = f.kind;
        li.append(row);
      }
      return li;
    }));
  }

  /** Shows the toggle (hosts) and the tag (everyone, while recording). */
  render() {
    const { room } = this.ctx;
    const on = room.recordedBy !== null;
    const ui = this.ui;
    ui.toggle.hidden = room.role !== 'host';
    ui.menuToggle.hidden = room.role !== 'host';
    /** @type {HTMLElement} */ (ui.menuToggle.querySelector('span:last-child')).textContent = t(on ? 'rec.stop' : 'rec.start');
    ui.menuItem.hidden = room.role !== 'host';
    if (room.role !== 'host') ui.panel.hidden = true;
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

/**
 * One file's row: what it is, and its Play and Download links.
 * @param {string} text
 * @param {string} title the text's tooltip
 * @param {{name: string, url: string}} file its name (the download's) and signed link
 */
function fileRow(text, title, file) {
  const row = document.createElement('div');
  row.className = 'rec-file';
  const label = document.createElement('span');
  label.className = 'rec-file-text';
  label.textContent = text;
  label.title = title;
  const play = chipLink('rec-play', file.url, t('rec.play'), true);
  const download = chipLink('rec-download', file.url, t('rec.download'), false);
  download.download = file.name;
  row.append(label, play, download);
  return row;
}

/**
 * A link shaped as a chip; `newTab`: it opens a page of its own (a player), leaving the
 * call where it is.
 * @param {string} kind its class besides `chip`
 * @param {string} href
 * @param {string} text
 * @param {boolean} newTab
 */
function chipLink(kind, href, text, newTab) {
  const a = document.createElement('a');
  a.className = `chip ${kind}`;
  a.href = href;
  a.textContent = text;
  if (newTab) {
    a.target = '_blank';
    a.rel = 'noopener';
  }
  return a;
}

/** "4:05" for 245,000 ms. @param {number} ms */
function clock(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "1.2 MB" (or "0.1 MB" for a small file). @param {number} bytes */
function megabytes(bytes) {
  return `${Math.max(0.1, Math.round(bytes / 100_000) / 10)} MB`;
}
