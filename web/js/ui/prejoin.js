// The check before joining, in the lobby: camera and microphone stay closed until the
// person presses "Check camera and microphone". Then they see themselves, a level meter
// for the microphone, the devices to choose from, a test sound on the chosen speaker,
// and can turn the camera or microphone off before they join. Joining hands the open
// stream and those choices to the room (`take`), so nobody is asked twice.

import { describeMediaError, openDevice, startLocalMedia, stopMedia } from '../media/local.js';
import { fillDevices, rememberSpeaker, rememberedSpeaker } from '../media/devices.js';
import { LevelMeter, playTestSound } from '../media/meter.js';
import { t } from '../i18n/i18n.js';
import { $ } from './dom.js';

/**
 * What the check hands to the room when the person joins.
 * @typedef {{stream: MediaStream | null, micOff: boolean, camOff: boolean}} PreJoinChoice
 */

export class PreJoin {
  constructor() {
    this.el = {
      start: $('prejoin-start', HTMLButtonElement),
      live: $('prejoin-live', HTMLElement),
      video: $('prejoin-video', HTMLVideoElement),
      camOffNote: $('prejoin-cam-off', HTMLElement),
      mic: $('prejoin-mic', HTMLButtonElement),
      cam: $('prejoin-cam', HTMLButtonElement),
      meter: $('prejoin-meter', HTMLElement),
      level: $('prejoin-level', HTMLElement),
      camera: $('prejoin-camera', HTMLSelectElement),
      microphone: $('prejoin-microphone', HTMLSelectElement),
      speaker: $('prejoin-speaker', HTMLSelectElement),
      speakerField: $('prejoin-speaker-field', HTMLElement),
      test: $('prejoin-test', HTMLButtonElement),
      note: $('prejoin-note', HTMLElement),
    };
    /** @type {MediaStream | null} */
    this.stream = null;
    this.micOff = false;
    this.camOff = false;
    /** @type {LevelMeter | null} */
    this.meter = null;
    /** Bumped by every start and reset, so a start overtaken by them lets go. @private */
    this.seq = 0;
    const el = this.el;
    el.speakerField.hidden = !('setSinkId' in HTMLMediaElement.prototype);
    el.start.addEventListener('click', () => this.start());
    el.mic.addEventListener('click', () => this.setMicOff(!this.micOff));
    el.cam.addEventListener('click', () => this.setCamOff(!this.camOff));
    el.camera.addEventListener('change', () => this.useDevice('video', el.camera.value));
    el.microphone.addEventListener('change', () => this.useDevice('audio', el.microphone.value));
    el.speaker.addEventListener('change', () => rememberSpeaker(el.speaker.value === 'default' ? '' : el.speaker.value));
    el.test.addEventListener('click', () => {
      playTestSound(rememberedSpeaker()).then(
        () => this.say(t('prejoin.test_playing')),
        (err) => this.say(t('media.speaker_failed', { detail: err instanceof Error ? err.message : String(err) })),
      );
    });
  }

  /** Opens the camera and microphone for the check (the person pressed the button). */
  async start() {
    const seq = ++this.seq;
    this.el.start.disabled = true;
    this.say(t('prejoin.asking'));
    const media = await startLocalMedia();
    if (seq !== this.seq) return stopMedia(media.stream);
    this.el.start.disabled = false;
    this.say(media.error ?? '');
    if (!media.stream) return;
    this.stream = media.stream;
    this.el.start.hidden = true;
    this.el.live.hidden = false;
    this.el.video.srcObject = this.stream;
    this.applyEnabled();
    this.watchMic();
    await this.refreshDevices();
  }

  /**
   * Joining: the stream (or null when the check was not used) and the choices; the
   * check lets go of the stream and shows its button again.
   * @returns {PreJoinChoice}
   */
  take() {
    const choice = { stream: this.stream, micOff: this.micOff, camOff: this.camOff };
    this.stream = null;
    this.reset();
    return choice;
  }

  /** Closes what the check opened (leaving the lobby without joining, or a new start). */
  reset() {
    this.seq++;
    this.meter?.stop();
    this.meter = null;
    stopMedia(this.stream);
    this.stream = null;
    this.micOff = false;
    this.camOff = false;
    this.el.video.srcObject = null;
    this.el.live.hidden = true;
    this.el.start.hidden = false;
    this.el.start.disabled = false;
    this.say('');
  }

  /** @private @param {boolean} off */
  setMicOff(off) {
    this.micOff = off;
    this.applyEnabled();
  }

  /** @private @param {boolean} off */
  setCamOff(off) {
    this.camOff = off;
    this.applyEnabled();
  }

  /** @private Tracks, buttons and the "camera off" note follow the choices. */
  applyEnabled() {
    for (const tr of this.stream?.getAudioTracks() ?? []) tr.enabled = !this.micOff;
    for (const tr of this.stream?.getVideoTracks() ?? []) tr.enabled = !this.camOff;
    const hasMic = (this.stream?.getAudioTracks().length ?? 0) > 0;
    const hasCam = (this.stream?.getVideoTracks().length ?? 0) > 0;
    const el = this.el;
    el.mic.disabled = !hasMic;
    el.cam.disabled = !hasCam;
    el.mic.setAttribute('aria-pressed', String(this.micOff || !hasMic));
    el.cam.setAttribute('aria-pressed', String(this.camOff || !hasCam));
    el.mic.setAttribute('aria-label', t(this.micOff ? 'prejoin.mic_on' : 'prejoin.mic_off'));
    el.cam.setAttribute('aria-label', t(this.camOff ? 'prejoin.cam_on' : 'prejoin.cam_off'));
    el.mic.querySelector('use')?.setAttribute('href', this.micOff || !hasMic ? '#i-mic-off' : '#i-mic');
    el.cam.querySelector('use')?.setAttribute('href', this.camOff || !hasCam ? '#i-cam-off' : '#i-cam');
    el.camOffNote.hidden = hasCam && !this.camOff;
  }

  /** @private The meter follows the microphone track in use. */
  watchMic() {
    this.meter?.stop();
    this.meter = null;
    const track = this.stream?.getAudioTracks()[0];
    if (!track) return;
    this.meter = new LevelMeter(track, (level) => {
      const shown = this.micOff ? 0 : level;
      this.el.level.style.transform = `scaleX(${shown.toFixed(3)})`;
      this.el.meter.setAttribute('aria-valuenow', String(Math.round(shown * 100)));
    });
  }

  /** @private */
  async refreshDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const id = (/** @type {MediaStreamTrack | undefined} */ tr) => tr?.getSettings().deviceId ?? '';
    fillDevices(this.el.camera, devices, 'videoinput', id(this.stream?.getVideoTracks()[0]));
    fillDevices(this.el.microphone, devices, 'audioinput', id(this.stream?.getAudioTracks()[0]));
    fillDevices(this.el.speaker, devices, 'audiooutput', rememberedSpeaker() || 'default');
  }

  /**
   * Swaps the preview's camera or microphone for `deviceId`.
   * @private
   * @param {'audio' | 'video'} kind
   * @param {string} deviceId
   */
  async useDevice(kind, deviceId) {
    const stream = this.stream;
    if (!stream) return;
    try {
      const track = await openDevice(kind, deviceId);
      const old = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      if (old) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(track);
      this.el.video.srcObject = stream;
      this.applyEnabled();
      if (kind === 'audio') this.watchMic();
    } catch (err) {
      this.say(describeMediaError(err, kind === 'audio' ? 'microphone' : 'camera'));
    }
  }

  /** @private @param {string} text */
  say(text) {
    this.el.note.textContent = text;
    this.el.note.hidden = text === '';
  }

  /** For the debug handle: whether the check is open, and the meter's last level. */
  snapshot() {
    return { open: this.stream !== null, level: this.meter?.level ?? 0, micOff: this.micOff, camOff: this.camOff };
  }
}
