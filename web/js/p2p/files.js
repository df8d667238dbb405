// Peer-to-peer file transfer in a call. The control protocol rides on each call's
// control channel (see incall.js), the bytes on a data channel of their own per
// transfer, so a cancel or a mute message never waits behind megabytes of file:
//
//   sender                                     receiver
//   file-offer {id, name, size, mime}  ─────▶  shows Accept / Decline
//            ◀─────  file-accept {id}  |  file-decline {id}
//   opens channel "file:<id>", sends the bytes in CHUNK_SIZE messages, then on that
//   same ordered channel {"type":"done","sha256"}   (so it cannot overtake the data)
//            ◀─────  file-result {id, ok, sha256}  (the receiver's own hash)
//   file-cancel {id}  either way, at any time; the file channel is closed too.
//
// Memory, and why it is bounded whatever the file size:
// - Sender: reads READ_SIZE (1 MiB) at a time with File.slice, hashes it incrementally
//   (sha256.js) and queues it on the channel only while `bufferedAmount` is below
//   HIGH_WATER (4 MiB); `bufferedamountlow` (threshold LOW_WATER, 1 MiB) resumes it. At
//   most one read plus HIGH_WATER of queued data is in memory.
// - Receiver: hashes each message as it arrives and hands it on at once.
//   * With the File System Access API (Chromium) and a file of PICKER_MIN_SIZE or more,
//     the receiver picks where to save before accepting, and the chunks are written
//     straight to that file in batches of READ_SIZE, one write at a time; when more than
//     PAUSE_AT (16 MiB) waits for the disk the receiver asks the sender to pause
//     (file-flow) until half of it drained. The data channel API has no receive-side
//     flow control, so what the network delivers in the round trip of that pause message
//     comes on top (at the rates seen here, well under a few MiB).
//   * Otherwise chunks are gathered into Blobs of BLOB_PART_SIZE (8 MiB) and the final
//     Blob is a list of those. A Blob's bytes live in the browser's blob storage, not in
//     the page's heap; Chromium keeps that storage in memory only up to a limit (a share
//     of RAM) and pages the rest to disk. So the page holds at most one 8 MiB part plus
//     what the network delivers meanwhile. "Save" downloads the Blob.

import { Sha256 } from './sha256.js';
import { BlobSink, DiskSink } from './sinks.js';
import { CHUNK_SIZE, HIGH_WATER, LOW_WATER, MAX_FILE_SIZE, MAX_PENDING_OFFERS, PAUSE_AT, PICKER_MIN_SIZE, READ_SIZE } from './limits.js';
import { formatBytes, renderTransfer, renderTransferProgress } from '../ui/transfer-card.js';
import { t as tr } from '../i18n/i18n.js';

export { BLOB_PART_SIZE, CHUNK_SIZE, HIGH_WATER, LOW_WATER, PICKER_MIN_SIZE, READ_SIZE } from './limits.js';
export { formatBytes } from '../ui/transfer-card.js';

/** @typedef {import('./incall.js').InCall} InCall */

/**
 * One transfer, as the card shows it and `window.confab.transfers` reports it.
 * @typedef {'offered' | 'sending' | 'receiving' | 'verifying' | 'done' | 'failed' | 'cancelled' | 'declined'} TransferState
 * @typedef {object} Transfer
 * @property {string} id
 * @property {string} peerId
 * @property {'send' | 'receive'} direction
 * @property {string} name
 * @property {number} size
 * @property {string} mime
 * @property {TransferState} state
 * @property {number} bytes transferred so far (sender: delivered to the network)
 * @property {string | null} sha256 the sender's hash of the file (from `done`)
 * @property {string | null} localSha256 what this side computed
 * @property {string | null} reason why it ended, in words (cancelled by whom, hash mismatch)
 * @property {File} [file]
 * @property {RTCDataChannel | null} [channel]
 * @property {Sha256} [hash]
 * @property {boolean} [paused]
 * @property {(() => void) | null} [wake]
 * @property {BlobSink | DiskSink | null} [sink]
 * @property {Blob | null} [blob]
 * @property {HTMLElement} [card]
 * @property {boolean} [connecting] the offer waits for a connection to the peer
 */

/**
 * How files reach members of a call whose media goes through the server's router (they
 * have no connection with us until one is opened for the files).
 * @typedef {object} FileReach
 * @property {() => string[]} members everyone else in our call
 * @property {(peerId: string) => boolean} open opens a data connection to a member
 *   (false: it cannot be done)
 */

/** How long an offer waits for a connection opened for it. */
const CONNECT_MS = 15_000;

/** @returns {string} a random transfer id */
function newId() {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * A file name from the network, made safe to show and to save: no path, no control
 * characters, at most 200 characters.
 * @param {unknown} raw
 */
export function cleanFileName(raw) {
  const s = typeof raw === 'string' ? raw : '';
  // eslint-disable-next-line no-control-regex
  const base = (s.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return [...(base || 'file')].slice(0, 200).join('');
}

/** File transfers in the call, with their cards in `#transfers`. */
export class FileTransfers {
  /**
   * @param {InCall} incall
   * @param {{tray: HTMLElement, template: HTMLTemplateElement, input: HTMLInputElement,
   *   dropZone: HTMLElement}} ui
   * @param {FileReach} [reach]
   */
  constructor(incall, ui, reach) {
    this.incall = incall;
    this.ui = ui;
    this.reach = reach;
    /** @type {Map<string, Transfer>} */
    this.transfers = new Map();
    /** Where the next picked file goes: one peer, or everyone (null). @type {string | null} */
    this.target = null;

    incall.on('file-offer', (from, m) => this.onOffer(from, m));
    incall.on('file-accept', (from, m) => this.onAccept(from, m));
    incall.on('file-decline', (from, m) => this.end(this.get(from, m, 'send'), 'declined', `${incall.nameOf(from)} declined`));
    incall.on('file-cancel', (from, m) => this.end(this.get(from, m), 'cancelled', tr('files.cancelled_by', { name: incall.nameOf(from) })));
    incall.on('file-result', (from, m) => this.onResult(from, m));
    incall.on('file-flow', (from, m) => this.onFlow(from, m));
    incall.onChannel((from, ch) => this.onChannel(from, ch));
    incall.onChange(() => this.peersChanged());

    ui.input.addEventListener('change', () => {
      const files = [...(ui.input.files ?? [])];
      ui.input.value = '';
      for (const f of files) this.sendFile(f, this.target);
    });
    this.wireDrop(ui.dropZone);
  }

  /**
   * Opens the file picker; the files go to `peerId`, or to everyone in the call.
   * @param {string | null} [peerId]
   */
  pick(peerId = null) {
    this.target = peerId;
    this.ui.input.click();
  }

  /** @param {HTMLElement} zone */
  wireDrop(zone) {
    let depth = 0;
    const hasFiles = (/** @type {DragEvent} */ ev) => [...(ev.dataTransfer?.types ?? [])].includes('Files');
    zone.addEventListener('dragenter', (ev) => {
      if (!hasFiles(ev) || this.recipients().length === 0) return;
      ev.preventDefault();
      depth++;
      zone.classList.add('dropping');
    });
    zone.addEventListener('dragover', (ev) => {
      if (!hasFiles(ev) || this.recipients().length === 0) return;
      ev.preventDefault();
      if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'copy';
    });
    zone.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove('dropping');
    });
    zone.addEventListener('drop', (ev) => {
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      depth = 0;
      zone.classList.remove('dropping');
      // Dropped on someone's tile: to them; elsewhere: to everyone in the call.
      const tile = ev.target instanceof Element ? ev.target.closest('.remote[data-peer-id]') : null;
      const to = tile instanceof HTMLElement ? (tile.dataset.peerId ?? null) : null;
      for (const f of [...(ev.dataTransfer?.files ?? [])]) this.sendFile(f, to);
    });
  }

  /**
   * Offers a file to one peer, or to everyone in the call (one transfer each).
   * @param {File} file
   * @param {string | null} to
   */
  sendFile(file, to) {
    const peers = to ? [to] : this.recipients();
    for (const peerId of peers) {
      /** @type {Transfer} */
      const t = {
        id: newId(), peerId, direction: 'send', name: cleanFileName(file.name), size: file.size,
        mime: file.type || 'application/octet-stream', state: 'offered', bytes: 0, sha256: null,
        localSha256: null, reason: null, file, channel: null, connecting: true,
      };
      this.transfers.set(t.id, t);
      this.render(t);
      this.reachable(peerId).then((ok) => {
        t.connecting = false;
        if (t.state !== 'offered') return; // cancelled meanwhile
        const sent = ok && this.incall.send(peerId, { type: 'file-offer', id: t.id, name: t.name, size: t.size, mime: t.mime });
        if (!sent) this.end(t, 'failed', tr('files.not_connected'));
      });
    }
  }

  /** Who a file for everyone goes to: the calls we have, and the call's other members. */
  recipients() {
    const ids = new Set(this.incall.calls().filter((c) => !c.dataOnly).map((c) => c.peerId));
    for (const id of this.reach?.members() ?? []) ids.add(id);
    return [...ids];
  }

  /**
   * Resolves once `peerId`'s control channel is open, opening a connection for it if the
   * call has none (through the router): false if none opens within `CONNECT_MS`.
   * @private
   * @param {string} peerId
   */
  async reachable(peerId) {
    if (this.incall.controlOpen(peerId)) return true;
    if (!this.reach?.open(peerId)) return false;
    const until = performance.now() + CONNECT_MS;
    while (performance.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      if (this.incall.controlOpen(peerId)) return true;
    }
    return false;
  }

  /**
   * The transfer a message names, if it belongs to that peer (and direction).
   * @param {string} from
   * @param {any} m
   * @param {'send' | 'receive'} [direction]
   */
  get(from, m, direction) {
    const t = typeof m.id === 'string' ? this.transfers.get(m.id) : undefined;
    if (!t || t.peerId !== from || (direction && t.direction !== direction)) return null;
    return t;
  }

  /** @param {string} from @param {any} m */
  onOffer(from, m) {
    const ok =
      typeof m.id === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(m.id) && !this.transfers.has(m.id) &&
      Number.isSafeInteger(m.size) && m.size >= 0 && m.size <= MAX_FILE_SIZE;
    const pending = [...this.transfers.values()].filter((t) => t.peerId === from && t.direction === 'receive' && t.state === 'offered');
    if (!ok || pending.length >= MAX_PENDING_OFFERS) {
      console.warn(`confab: ignored a file offer from ${from}`, m);
      return;
    }
    /** @type {Transfer} */
    const t = {
      id: m.id, peerId: from, direction: 'receive', name: cleanFileName(m.name), size: m.size,
      mime: typeof m.mime === 'string' && m.mime.length < 200 ? m.mime : 'application/octet-stream',
      state: 'offered', bytes: 0, sha256: null, localSha256: null, reason: null, channel: null, sink: null, blob: null,
    };
    this.transfers.set(t.id, t);
    this.render(t);
  }

  /**
   * The receiver accepts: where the browser can and the file is big, first ask where to
   * save it (this runs in the click, as the picker requires).
   * @param {Transfer} t
   */
  async accept(t) {
    if (t.state !== 'offered' || t.direction !== 'receive') return;
    const w = /** @type {any} */ (window);
    if (t.size >= PICKER_MIN_SIZE && typeof w.showSaveFilePicker === 'function') {
      try {
        const handle = await w.showSaveFilePicker({ suggestedName: t.name });
        t.sink = new DiskSink(await handle.createWritable());
      } catch (err) {
        if (err instanceof DOMException && err.name === 'AbortError') return; // picker closed: still offered
        console.warn('confab: cannot save to disk directly, collecting in the browser', err);
      }
    }
    if (t.state !== 'offered') return; // cancelled while the picker was open
    t.sink = t.sink ?? new BlobSink(t.mime);
    t.hash = new Sha256();
    t.state = 'receiving';
    this.incall.send(t.peerId, { type: 'file-accept', id: t.id });
    this.render(t);
  }

  /** @param {Transfer} t */
  decline(t) {
    if (t.state !== 'offered') return;
    this.incall.send(t.peerId, { type: 'file-decline', id: t.id });
    this.end(t, 'declined', tr('files.you_declined'));
  }

  /** @param {Transfer} t */
  cancel(t) {
    if (!['offered', 'sending', 'receiving', 'verifying'].includes(t.state)) return;
    this.incall.send(t.peerId, { type: 'file-cancel', id: t.id });
    this.end(t, 'cancelled', tr('files.cancelled_by_you'));
  }

  /** @param {string} from @param {any} m */
  onAccept(from, m) {
    const t = this.get(from, m, 'send');
    if (!t || t.state !== 'offered') return;
    const ch = this.incall.openChannel(from, `file:${t.id}`);
    if (!ch) return this.end(t, 'failed', tr('files.call_ended'));
    ch.binaryType = 'arraybuffer';
    ch.bufferedAmountLowThreshold = LOW_WATER;
    t.channel = ch;
    t.state = 'sending';
    t.paused = false;
    ch.onopen = () => this.pump(t);
    ch.onclose = () => {
      if (t.state === 'sending') this.end(t, 'failed', tr('files.connection_closed'));
    };
    this.render(t);
  }

  /**
   * Sends the file: reads, hashes and queues it, keeping the channel's buffer under
   * HIGH_WATER (see the header).
   * @param {Transfer} t
   */
  async pump(t) {
    const ch = /** @type {RTCDataChannel} */ (t.channel);
    const file = /** @type {File} */ (t.file);
    const hash = new Sha256();
    const live = () => t.state === 'sending' && ch.readyState === 'open';
    /** Resolves when the channel drained, the receiver resumed, or the transfer ended. */
    const wait = () =>
      new Promise((resolve) => {
        t.wake = () => {
          t.wake = null;
          resolve(undefined);
        };
        ch.onbufferedamountlow = () => t.wake?.();
      });
    let queued = 0;
    try {
      while (queued < t.size || t.size === 0) {
        const end = Math.min(t.size, queued + READ_SIZE);
        const buf = new Uint8Array(await file.slice(queued, end).arrayBuffer());
        if (!live()) return;
        hash.update(buf);
        for (let p = 0; p < buf.length; p += CHUNK_SIZE) {
          while (live() && (ch.bufferedAmount > HIGH_WATER || t.paused)) await wait();
          if (!live()) return;
          ch.send(buf.subarray(p, p + CHUNK_SIZE));
          t.bytes = queued + p + Math.min(CHUNK_SIZE, buf.length - p) - ch.bufferedAmount;
          this.renderProgress(t);
        }
        queued = end;
        if (t.size === 0) break;
      }
      t.localSha256 = hash.hex();
      t.sha256 = t.localSha256;
      ch.send(JSON.stringify({ type: 'done', sha256: t.localSha256 }));
      // Progress follows the buffer down to empty; then the receiver's verdict comes.
      while (live() && ch.bufferedAmount > 0) {
        t.bytes = t.size - ch.bufferedAmount;
        this.renderProgress(t);
        await new Promise((r) => setTimeout(r, 100));
      }
      if (t.state === 'sending') {
        t.bytes = t.size;
        t.state = 'verifying';
        this.render(t);
      }
    } catch (err) {
      console.error('confab: sending a file failed', err);
      if (t.state === 'sending') {
        this.incall.send(t.peerId, { type: 'file-cancel', id: t.id });
        this.end(t, 'failed', tr('files.read_failed', { detail: err instanceof Error ? err.message : String(err) }));
      }
    }
  }

  /** @param {string} from @param {any} m */
  onFlow(from, m) {
    const t = this.get(from, m, 'send');
    if (!t) return;
    t.paused = m.pause === true;
    if (!t.paused) t.wake?.();
  }

  /** @param {string} from @param {RTCDataChannel} ch */
  onChannel(from, ch) {
    const id = ch.label.startsWith('file:') ? ch.label.slice(5) : '';
    const t = this.transfers.get(id);
    if (!t || t.peerId !== from || t.direction !== 'receive' || t.state !== 'receiving' || t.channel) {
      ch.close();
      return;
    }
    t.channel = ch;
    ch.binaryType = 'arraybuffer';
    const sink = /** @type {BlobSink | DiskSink} */ (t.sink);
    if (sink instanceof DiskSink) {
      sink.onDrain = () => {
        if (t.paused) {
          t.paused = false;
          this.incall.send(from, { type: 'file-flow', id: t.id, pause: false });
        }
      };
    }
    ch.onmessage = (ev) => {
      if (t.state !== 'receiving') return;
      if (typeof ev.data === 'string') {
        /** @type {any} */
        let m = null;
        try {
          m = JSON.parse(ev.data);
        } catch {
          // handled below
        }
        if (m && m.type === 'done' && typeof m.sha256 === 'string') this.finish(t, m.sha256.toLowerCase());
        else this.fail(t, tr('files.unexpected'));
        return;
      }
      const chunk = new Uint8Array(ev.data);
      if (t.bytes + chunk.byteLength > t.size) return this.fail(t, tr('files.too_much'));
      /** @type {Sha256} */ (t.hash).update(chunk);
      sink.write(chunk);
      t.bytes += chunk.byteLength;
      if (sink.backlog > PAUSE_AT && !t.paused) {
        t.paused = true;
        this.incall.send(from, { type: 'file-flow', id: t.id, pause: true });
      }
      this.renderProgress(t);
    };
    ch.onclose = () => {
      if (t.state === 'receiving') this.fail(t, tr('files.connection_closed'));
    };
  }

  /**
   * All bytes are in: compare the hashes, store the file, tell the sender.
   * @param {Transfer} t
   * @param {string} sha256
   */
  async finish(t, sha256) {
    t.sha256 = sha256;
    t.localSha256 = /** @type {Sha256} */ (t.hash).hex();
    if (t.bytes !== t.size) return this.fail(t, tr('files.short', { done: formatBytes(t.bytes), size: formatBytes(t.size) }));
    if (t.localSha256 !== sha256) {
      this.incall.send(t.peerId, { type: 'file-result', id: t.id, ok: false, sha256: t.localSha256 });
      return this.fail(t, tr('files.damaged'), false);
    }
    // Out of 'receiving' before anything is awaited: the sender may close the channel
    // from now on.
    t.state = 'verifying';
    this.render(t);
    try {
      t.blob = await /** @type {BlobSink | DiskSink} */ (t.sink).close();
    } catch (err) {
      return this.fail(t, tr('files.save_failed', { detail: err instanceof Error ? err.message : String(err) }));
    }
    if (t.state !== 'verifying') return; // cancelled meanwhile
    // The verdict goes only once the file is stored; the sender closes the channel when
    // it has it (closing it here could reach the sender before the verdict does).
    this.incall.send(t.peerId, { type: 'file-result', id: t.id, ok: true, sha256: t.localSha256 });
    t.state = 'done';
    t.reason = tr(t.blob ? 'files.verified_ready' : 'files.verified_saved');
    this.render(t);
  }

  /**
   * @param {Transfer} t
   * @param {string} reason
   * @param {boolean} [tell] whether to tell the peer (as a cancel)
   */
  fail(t, reason, tell = true) {
    if (tell) this.incall.send(t.peerId, { type: 'file-cancel', id: t.id });
    this.end(t, 'failed', reason);
  }

  /** @param {string} from @param {any} m */
  onResult(from, m) {
    const t = this.get(from, m, 'send');
    if (!t || (t.state !== 'verifying' && t.state !== 'sending')) return;
    t.bytes = t.size;
    if (m.ok === true && m.sha256 === t.localSha256) {
      t.state = 'done';
      t.reason = tr('files.delivered', { name: this.incall.nameOf(from) });
      t.channel?.close();
      this.render(t);
    } else {
      this.end(t, 'failed', tr('files.damaged_copy', { name: this.incall.nameOf(from) }));
    }
  }

  /**
   * Ends a transfer for good: closes its channel, drops what was received.
   * @param {Transfer | null} t
   * @param {TransferState} state
   * @param {string} reason
   */
  end(t, state, reason) {
    if (!t || ['done', 'failed', 'cancelled', 'declined'].includes(t.state)) return;
    t.state = state;
    t.reason = reason;
    t.channel?.close();
    t.sink?.abort().catch(() => {});
    t.sink = null;
    t.wake?.();
    this.render(t);
  }

  /** A peer's call ended: its transfers cannot go on. */
  peersChanged() {
    const live = new Set(this.incall.calls().map((c) => c.peerId));
    for (const t of this.transfers.values()) {
      if (!live.has(t.peerId) && !t.connecting) this.end(t, 'failed', tr('files.call_ended'));
    }
  }

  /** Saves a received file (Blob path) as a download. @param {Transfer} t */
  save(t) {
    if (!t.blob) return;
    const url = URL.createObjectURL(t.blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = t.name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  /** Removes a finished transfer's card (and its received data). @param {Transfer} t */
  dismiss(t) {
    this.cancel(t);
    t.card?.remove();
    t.blob = null;
    this.transfers.delete(t.id);
    this.ui.tray.hidden = this.transfers.size === 0;
  }

  /** Everything ends (we left the room). */
  clear() {
    for (const t of [...this.transfers.values()]) {
      this.end(t, 'cancelled', tr('files.you_left'));
      this.dismiss(t);
    }
  }

  // -------------------------------------------------------------------- view (ui/transfer-card.js)

  /** @param {Transfer} t */
  render(t) {
    renderTransfer(t, {
      tray: this.ui.tray,
      template: this.ui.template,
      nameOf: (id) => this.incall.nameOf(id),
      accept: (x) => this.accept(x),
      decline: (x) => this.decline(x),
      cancel: (x) => this.cancel(x),
      save: (x) => this.save(x),
      dismiss: (x) => this.dismiss(x),
    });
  }

  /** @param {Transfer} t */
  renderProgress(t) {
    renderTransferProgress(t, (id) => this.incall.nameOf(id));
  }

  /** For `window.confab.transfers`. */
  snapshot() {
    return [...this.transfers.values()].map((t) => ({
      id: t.id, peerId: t.peerId, direction: t.direction, name: t.name, size: t.size, state: t.state,
      bytes: Math.max(0, t.bytes), progress: t.size === 0 ? (t.state === 'done' ? 1 : 0) : Math.max(0, t.bytes) / t.size,
      sha256: t.sha256, localSha256: t.localSha256, reason: t.reason,
    }));
  }
}
