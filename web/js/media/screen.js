// Screen sharing: getDisplayMedia's track replaces the camera in the outgoing stream and
// in every call (RTCRtpSender.replaceTrack: no renegotiation, the call never drops).
// Stopping, from our button or from the browser's own "Stop sharing" (the track's
// `ended`), puts the camera back the same way. The camera keeps running meanwhile, so
// coming back is instant; peers learn we present through the control channel's state
// message and show the picture uncropped.

import { t } from '../i18n/i18n.js';

/** @typedef {import('../p2p/incall.js').InCall} InCall */

/** Asks for about 15 fps: text stays sharp, the mesh can afford it. */
const DISPLAY_CONSTRAINTS = Object.freeze({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });

export class ScreenShare {
  /**
   * @param {InCall} incall
   * @param {{button: HTMLButtonElement, menuItem: HTMLButtonElement, selfTile: HTMLElement,
   *   onError: (message: string) => void, onChange?: () => void}} opts
   *   `menuItem` does the same as `button` where the bar is too narrow for it
   */
  constructor(incall, opts) {
    this.incall = incall;
    this.opts = opts;
    /** @type {MediaStreamTrack | null} */
    this.track = null;
    /** The camera track the screen replaced (null when we had none). @type {MediaStreamTrack | null} */
    this.camera = null;
    this.busy = false;
    for (const b of [opts.button, opts.menuItem]) {
      b.hidden = !ScreenShare.supported();
      b.addEventListener('click', () => (this.track ? this.stop() : this.start()));
    }
    this.render();
  }

  static supported() {
    return typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  }

  get active() {
    return this.track !== null;
  }

  async start() {
    if (this.track || this.busy || !this.incall.stream) return;
    this.busy = true;
    try {
      /** @type {MediaStream} */
      let display;
      try {
        display = await navigator.mediaDevices.getDisplayMedia(DISPLAY_CONSTRAINTS);
      } catch (err) {
        const name = err instanceof DOMException ? err.name : '';
        if (name !== 'NotAllowedError' && name !== 'AbortError') {
          this.opts.onError(t('media.screen_failed', { detail: err instanceof Error ? err.message : String(err) }));
        }
        return; // the person closed the picker: nothing to say
      }
      const track = display.getVideoTracks()[0];
      if (!track) return;
      if ('contentHint' in track) track.contentHint = 'detail';
      const oldEnabled = this.incall.stream.getVideoTracks()[0]?.enabled;
      this.track = track;
      this.incall.sharingScreen = true;
      track.addEventListener('ended', () => this.stop()); // the browser's own stop button
      this.camera = await this.incall.replaceOutgoing('video', track);
      track.enabled = true; // show the screen even if the camera was off
      if (this.camera) this.camera.enabled = oldEnabled ?? true;
      this.incall.sendState();
    } finally {
      this.busy = false;
      this.render();
    }
  }

  async stop() {
    const track = this.track;
    if (!track) return;
    this.track = null;
    this.incall.sharingScreen = false;
    track.stop();
    const camera = this.camera;
    this.camera = null;
    if (camera && camera.readyState === 'live') {
      const enabled = camera.enabled;
      await this.incall.replaceOutgoing('video', camera);
      camera.enabled = enabled;
    } else if (this.incall.stream) {
      // We had no camera: stop sending video (the transceiver stays, nothing renegotiates).
      this.incall.stream.removeTrack(track);
      await Promise.all(this.incall.senders().map((c) => c.replaceTrack('video', null).catch(() => {})));
    }
    this.incall.sendState();
    this.render();
  }

  /**
   * The camera to go back to changed while sharing (device switch).
   * @param {MediaStreamTrack} camera
   * @returns {MediaStreamTrack | null} the camera it replaces
   */
  swapCamera(camera) {
    const old = this.camera;
    if (old) camera.enabled = old.enabled;
    this.camera = camera;
    return old;
  }

  /** Stops sharing without touching the calls (we left). */
  reset() {
    this.track?.stop();
    this.track = null;
    this.camera = null;
    this.render();
  }

  render() {
    const b = this.opts.button;
    const on = this.track !== null;
    b.setAttribute('aria-pressed', String(on));
    b.setAttribute('aria-label', t(on ? 'controls.stop_share' : 'controls.share'));
    b.title = t(on ? 'controls.stop_present' : 'controls.present');
    const label = /** @type {HTMLElement} */ (this.opts.menuItem.querySelector('span'));
    label.textContent = t(on ? 'controls.stop_present' : 'controls.present');
    this.opts.selfTile.classList.toggle('presenting', on);
    this.opts.onChange?.();
  }
}
