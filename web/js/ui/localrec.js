// Recording the call on this device: "Record on this device" in the "more" menu records
// what the call looks and sounds like here (every shown tile, ours included, drawn into a
// canvas; every voice mixed with ours) with the browser's MediaRecorder, and saves a
// WebM file when stopped, when the call ends or when we leave. Nothing goes to the
// server but the fact: `localRecording` makes the room see `recordingLocally` in our
// presence, said to everyone in words, so nobody is recorded without knowing.

import { localRecording } from '../net/protocol.js';
import { t } from '../i18n/i18n.js';
import { $ } from './dom.js';

/** The recording's picture size and rate: enough to see faces, light on the CPU. */
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 15;

/**
 * @typedef {object} LocalRecordingContext
 * @property {() => import('../net/signaling.js').Signaling | null} signaling
 * @property {import('../room/room.js').Room} room
 * @property {HTMLElement} stage the tiles
 * @property {(text: string) => void} notice a line in the call bar
 * @property {() => string} roomName for the file's name
 * @property {() => boolean} inCall we are in a call (recording needs one)
 */

export class LocalRecording {
  /** @param {LocalRecordingContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.menuItem = $('menu-local-record', HTMLButtonElement);
    this.tag = $('local-rec-tag', HTMLElement);
    /** @type {MediaRecorder | null} */
    this.recorder = null;
    /** @type {Blob[]} */
    this.chunks = [];
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    /** @type {AudioContext | null} */
    this.audio = null;
    /** Audio tracks already mixed in, by id. @type {Set<string>} */
    this.mixed = new Set();
    /** Files saved, for tests and the debug handle. */
    this.saved = 0;
    this.menuItem.addEventListener('click', () => (this.recorder ? this.stop() : this.start()));
    this.tag.addEventListener('click', () => this.stop());
  }

  /** Whether this browser can record at all. */
  static supported() {
    return typeof MediaRecorder === 'function' && typeof HTMLCanvasElement.prototype.captureStream === 'function';
  }

  /** Starts recording (the menu item). */
  start() {
    if (this.recorder || !LocalRecording.supported()) return;
    const canvas = document.createElement('canvas');
    canvas.width = WIDTH;
    canvas.height = HEIGHT;
    const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    this.audio = new AudioContext();
    const mix = this.audio.createMediaStreamDestination();
    this.mixed.clear();
    const draw = () => {
      this.drawTiles(g);
      this.mixVoices(mix);
    };
    draw();
    this.timer = setInterval(draw, 1000 / FPS);
    const stream = new MediaStream([...canvas.captureStream(FPS).getVideoTracks(), ...mix.stream.getAudioTracks()]);
    const type = ['video/webm;codecs=vp8,opus', 'video/webm'].find((m) => MediaRecorder.isTypeSupported(m)) ?? '';
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    this.chunks = [];
    recorder.addEventListener('dataavailable', (ev) => {
      if (ev.data.size > 0) this.chunks.push(ev.data);
    });
    recorder.addEventListener('stop', () => this.save(recorder.mimeType || 'video/webm'));
    recorder.start(1000);
    this.recorder = recorder;
    this.ctx.signaling()?.send(localRecording(true));
    this.ctx.notice(t('localrec.you_started'));
    this.render();
  }

  /** Stops and saves the file (the menu item, the tag, the call's end, leaving). */
  stop() {
    const recorder = this.recorder;
    if (!recorder) return;
    this.recorder = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    recorder.stop();
    this.ctx.signaling()?.send(localRecording(false));
    this.render();
  }

  /**
   * Others' recordings, said in words as they start and stop.
   * @param {import('../net/signaling.js').Signaling} sig
   * @param {() => boolean} live
   */
  wire(sig, live) {
    const room = this.ctx.room;
    sig.on('presence', ({ peerId, state }) => {
      if (!live() || peerId === room.myId) return;
      const before = room.peers.get(peerId)?.state;
      if (!before || Boolean(before.recordingLocally) === Boolean(state.recordingLocally)) return;
      const key = state.recordingLocally ? 'localrec.started' : 'localrec.stopped';
      this.ctx.notice(t(key, { name: room.nameOf(peerId) }));
    });
  }

  /**
   * The menu item's words, our tag, and a tag on each recording person's row; the end
   * of our call ends our recording (and saves it).
   */
  render() {
    if (this.recorder && !this.ctx.inCall()) this.stop();
    const on = this.recorder !== null;
    this.menuItem.hidden = !LocalRecording.supported() || !this.ctx.inCall();
    /** @type {HTMLElement} */ (this.menuItem.querySelector('span:last-child')).textContent =
      t(on ? 'localrec.stop' : 'localrec.start');
    this.menuItem.setAttribute('aria-pressed', String(on));
    this.tag.hidden = !on;
    for (const li of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#peer-list li[data-peer-id]'))) {
      const peer = this.ctx.room.peers.get(li.dataset.peerId ?? '');
      let tag = /** @type {HTMLElement | null} */ (li.querySelector('.local-rec-tag'));
      if (!tag) {
        tag = document.createElement('span');
        tag.className = 'local-rec-tag';
        li.querySelector('.peer-name')?.after(tag);
      }
      tag.hidden = peer?.state.recordingLocally !== true;
      tag.textContent = t('localrec.tag');
      tag.title = t('localrec.started', { name: peer?.name ?? '' });
    }
  }

  /**
   * Draws every shown tile's picture (letterboxed) in a grid, the way the call looks.
   * @private
   * @param {CanvasRenderingContext2D} g
   */
  drawTiles(g) {
    const videos = /** @type {HTMLVideoElement[]} */ ([...this.ctx.stage.querySelectorAll('.tile video')])
      .filter((v) => v.videoWidth > 0 && v.checkVisibility());
    g.fillStyle = '#0e1014';
    g.fillRect(0, 0, WIDTH, HEIGHT);
    const cols = Math.ceil(Math.sqrt(videos.length));
    const rows = Math.ceil(videos.length / Math.max(cols, 1));
    videos.forEach((v, i) => {
      const [cw, ch] = [WIDTH / cols, HEIGHT / rows];
      const scale = Math.min(cw / v.videoWidth, ch / v.videoHeight);
      const [w, h] = [v.videoWidth * scale, v.videoHeight * scale];
      g.drawImage(v, (i % cols) * cw + (cw - w) / 2, Math.floor(i / cols) * ch + (ch - h) / 2, w, h);
    });
  }

  /**
   * Mixes in every voice not mixed yet (people join mid-recording): the tiles' audio
   * and our microphone.
   * @private
   * @param {MediaStreamAudioDestinationNode} mix
   */
  mixVoices(mix) {
    const ctx = this.audio;
    if (!ctx) return;
    for (const v of /** @type {NodeListOf<HTMLVideoElement>} */ (this.ctx.stage.querySelectorAll('.tile video'))) {
      const stream = v.srcObject instanceof MediaStream ? v.srcObject : null;
      for (const track of stream?.getAudioTracks() ?? []) {
        if (this.mixed.has(track.id) || track.readyState !== 'live') continue;
        this.mixed.add(track.id);
        ctx.createMediaStreamSource(new MediaStream([track])).connect(mix);
      }
    }
  }

  /**
   * Saves what was recorded as a file download.
   * @private
   * @param {string} type
   */
  save(type) {
    this.audio?.close().catch(() => {});
    this.audio = null;
    if (this.chunks.length === 0) return;
    const blob = new Blob(this.chunks, { type });
    this.chunks = [];
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `confab-${this.ctx.roomName()}-${stamp}.webm`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    this.saved++;
    this.ctx.notice(t('localrec.saved'));
  }
}
