// Choosing the camera, microphone and speaker, in a call or before one. A new camera or
// microphone is opened with the same constraints as at the start (media.js: echo
// cancellation, noise suppression and gain control on) and swapped in with replaceTrack
// (incall.js), so nothing is renegotiated and mute stays as it was. The speaker is each
// remote <video>'s `setSinkId`, where the browser has it. `devicechange` refreshes the
// lists, and when the device in use disappears (its track ends) we fall back to the
// system default.

import { describeMediaError, openDevice } from './local.js';
import { t } from '../i18n/i18n.js';

/** @typedef {import('../p2p/incall.js').InCall} InCall */
/** @typedef {import('./screen.js').ScreenShare} ScreenShare */

/**
 * @typedef {object} DevicesUi
 * @property {HTMLSelectElement} camera
 * @property {HTMLSelectElement} mic
 * @property {HTMLSelectElement} speaker
 * @property {HTMLElement} speakerField hidden where setSinkId is missing
 * @property {HTMLElement} stage where the remote <video>s are
 */

const SPEAKER_KEY = 'confab.speaker';

/** The speaker last chosen on this browser ('' = the system's). @returns {string} */
export function rememberedSpeaker() {
  try {
    return localStorage.getItem(SPEAKER_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Remembers the chosen speaker ('' = the system's). @param {string} id */
export function rememberSpeaker(id) {
  try {
    localStorage.setItem(SPEAKER_KEY, id);
  } catch {
    // No storage: the choice lasts as long as the page.
  }
}

/**
 * Fills a select with the devices of one kind, `current` selected; one disabled
 * "none" entry when there are none.
 * @param {HTMLSelectElement} sel
 * @param {MediaDeviceInfo[]} devices
 * @param {'videoinput' | 'audioinput' | 'audiooutput'} kind
 * @param {string} current a deviceId
 */
export function fillDevices(sel, devices, kind, current) {
  const list = devices.filter((d) => d.kind === kind && d.deviceId);
  const none = { videoinput: 'devices.no_camera', audioinput: 'devices.no_microphone', audiooutput: 'devices.default_speaker' };
  const nth = { videoinput: 'devices.camera_n', audioinput: 'devices.microphone_n', audiooutput: 'devices.speaker_n' };
  sel.replaceChildren();
  if (list.length === 0) sel.append(new Option(t(none[kind]), ''));
  list.forEach((d, i) => sel.append(new Option(d.label || t(nth[kind], { n: i + 1 }), d.deviceId, false, d.deviceId === current)));
  sel.disabled = list.length === 0;
}

export class Devices {
  /**
   * @param {InCall} incall
   * @param {ScreenShare} screen
   * @param {DevicesUi} ui
   * @param {{onError: (message: string) => void, onChange: () => void}} opts
   */
  constructor(incall, screen, ui, opts) {
    this.incall = incall;
    this.screen = screen;
    this.ui = ui;
    this.opts = opts;
    /** The chosen audio output ('' = system default), as last chosen on this browser. */
    this.sinkId = rememberedSpeaker();
    /** Device switches done, for tests and the debug handle. */
    this.switches = 0;
    /** @type {MediaDeviceInfo[]} */
    this.devices = [];
    this.canSetSink = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
    ui.speakerField.hidden = !this.canSetSink;

    ui.camera.addEventListener('change', () => this.useDevice('video', ui.camera.value));
    ui.mic.addEventListener('change', () => this.useDevice('audio', ui.mic.value));
    ui.speaker.addEventListener('change', () => this.useSpeaker(ui.speaker.value));
    navigator.mediaDevices?.addEventListener?.('devicechange', () => this.deviceChange());
    incall.onChange(() => this.applySink());
  }

  /** The outgoing stream got new tracks (joined): watch them, fill the lists. */
  attach() {
    for (const t of this.incall.stream?.getTracks() ?? []) this.watch(t);
    return this.refresh();
  }

  /**
   * A camera or microphone that ends on its own (unplugged) is replaced by the default.
   * @param {MediaStreamTrack} track
   */
  watch(track) {
    track.addEventListener('ended', () => {
      const kind = /** @type {'audio' | 'video'} */ (track.kind);
      const stillOurs = kind === 'video' && this.screen.active ? this.screen.camera === track : this.current(kind) === track;
      if (stillOurs) this.useDevice(kind, '', true).catch(() => {});
    });
  }

  /**
   * The camera or microphone track in use (the camera even while the screen is shown).
   * @param {'audio' | 'video'} kind
   */
  current(kind) {
    if (kind === 'video' && this.screen.active) return this.screen.camera;
    const s = this.incall.stream;
    return (kind === 'audio' ? s?.getAudioTracks() : s?.getVideoTracks())?.[0] ?? null;
  }

  /** Re-reads the device lists into the selects. */
  async refresh() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    this.devices = await navigator.mediaDevices.enumerateDevices();
    const camId = this.current('video')?.getSettings().deviceId ?? '';
    const micId = this.current('audio')?.getSettings().deviceId ?? '';
    fillDevices(this.ui.camera, this.devices, 'videoinput', camId);
    fillDevices(this.ui.mic, this.devices, 'audioinput', micId);
    fillDevices(this.ui.speaker, this.devices, 'audiooutput', this.sinkId || 'default');
  }

  /** @private */
  async deviceChange() {
    await this.refresh();
    // A device in use that vanished ends its track; `watch` handles it. One that came
    // back is simply listed again.
  }

  /**
   * Switches the camera ('video') or microphone ('audio') to `deviceId` ('' = default).
   * @param {'audio' | 'video'} kind
   * @param {string} deviceId
   * @param {boolean} [fallback] the device in use went away
   */
  async useDevice(kind, deviceId, fallback = false) {
    const old = this.current(kind);
    if (old && deviceId && old.getSettings().deviceId === deviceId && old.readyState === 'live') return;
    /** @type {MediaStreamTrack} */
    let track;
    try {
      // A camera that cannot be opened twice must be released first; most can, and
      // keeping the old one until the new one works means a failed switch changes nothing.
      track = await openDevice(kind, deviceId);
    } catch (err) {
      const what = kind === 'audio' ? 'microphone' : 'camera';
      const problem = describeMediaError(err, what);
      this.opts.onError(fallback ? t('media.disconnected', { what: t(`media.${what}`), problem }) : problem);
      await this.refresh();
      return;
    }
    if (old) track.enabled = old.enabled;
    this.watch(track);
    if (kind === 'video' && this.screen.active) {
      this.screen.swapCamera(track);
    } else {
      await this.incall.replaceOutgoing(kind, track);
    }
    old?.stop();
    this.switches++;
    this.incall.sendState();
    this.opts.onChange();
    await this.refresh();
  }

  /**
   * Plays every remote peer through `sinkId`.
   * @param {string} sinkId
   */
  async useSpeaker(sinkId) {
    this.sinkId = sinkId === 'default' ? '' : sinkId;
    rememberSpeaker(this.sinkId);
    await this.applySink();
  }

  /** @private */
  async applySink() {
    if (!this.canSetSink) return;
    for (const v of this.ui.stage.querySelectorAll('.remote video')) {
      const video = /** @type {HTMLVideoElement & {sinkId?: string, setSinkId?: (id: string) => Promise<void>}} */ (v);
      if (video.sinkId === this.sinkId || !video.setSinkId) continue;
      try {
        await video.setSinkId(this.sinkId);
      } catch (err) {
        this.opts.onError(t('media.speaker_failed', { detail: err instanceof Error ? err.message : String(err) }));
        return;
      }
    }
  }

  /** For `window.confab.media`. */
  snapshot() {
    const cam = this.current('video');
    const mic = this.current('audio');
    return {
      camera: cam ? { deviceId: cam.getSettings().deviceId ?? null, label: cam.label } : null,
      microphone: mic
        ? {
            deviceId: mic.getSettings().deviceId ?? null,
            label: mic.label,
            echoCancellation: mic.getSettings().echoCancellation ?? null,
            noiseSuppression: mic.getSettings().noiseSuppression ?? null,
            autoGainControl: mic.getSettings().autoGainControl ?? null,
          }
        : null,
      speaker: this.sinkId || 'default',
      switches: this.switches,
      sharingScreen: this.screen.active,
    };
  }
}
