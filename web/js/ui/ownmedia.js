// Our own camera and microphone in a room. They start once the room says we may send
// media (after `joined`, so a viewer of a broadcast is never asked for them), start when
// a host brings us on stage, and stop when we go back to the audience. Calls wait for
// them (`ready`): an accepted call is negotiated with whatever we got.

import { startLocalMedia, stopMedia } from '../media/local.js';

/**
 * @typedef {object} OwnMediaContext
 * @property {import('./app.js').AppState} app holds `localStream` and the room state
 * @property {import('../room/room.js').Room} room who may send media
 * @property {HTMLVideoElement} localVideo our self tile's video
 * @property {import('../media/callmedia.js').CallMedia} transport sends our tracks in a call
 * @property {(stream: MediaStream | null) => void} streamChanged the call features' stream
 * @property {(message: string) => void} showError
 * @property {() => void} reportMedia tells the room our microphone and camera state
 * @property {() => void} renderAll
 */

export class OwnMedia {
  /** @param {OwnMediaContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    /** The camera and microphone being asked for. @type {Promise<void> | null} */
    this.starting = null;
    /** Counts starts and stops, so a start that was overtaken can tell. @private */
    this.seq = 0;
    /** Asked once since we may send: a refusal is not asked again until that changes. @private */
    this.tried = false;
  }

  /** Resolves once the media we may send is there (or was refused). */
  ready() {
    return this.starting ?? Promise.resolve();
  }

  /** Starts or stops our media to match whether we may send now; call after any change. */
  sync() {
    const { app, room } = this.ctx;
    if (this.starting) return;
    const want = app.state === 'in-room' && room.mayPublish(room.myId);
    if (!want) {
      this.tried = false;
      if (app.localStream && room.broadcast) this.stop();
    } else if (!app.localStream && !this.tried) {
      this.start();
    }
  }

  /** @private */
  start() {
    const seq = ++this.seq;
    this.tried = true;
    const { app } = this.ctx;
    this.starting = (async () => {
      const media = await startLocalMedia();
      if (seq !== this.seq || app.state !== 'in-room') {
        stopMedia(media.stream); // left, or went back to the audience, while asked
        return;
      }
      this.show(media.stream);
      if (media.error) this.ctx.showError(media.error);
      if (media.stream) this.ctx.transport.publish(media.stream);
      this.ctx.reportMedia();
    })().finally(() => {
      if (seq !== this.seq) return;
      this.starting = null;
      this.ctx.renderAll();
    });
  }

  /** Back in the audience: our tracks leave the call and the devices close. @private */
  stop() {
    this.seq++;
    this.ctx.transport.unpublish();
    this.release();
    this.ctx.reportMedia();
    this.ctx.renderAll();
  }

  /** Leaving the room: the devices close. */
  reset() {
    this.seq++;
    this.starting = null;
    this.tried = false;
    this.release();
  }

  /** @private */
  release() {
    stopMedia(this.ctx.app.localStream);
    this.show(null);
  }

  /** @private @param {MediaStream | null} stream */
  show(stream) {
    this.ctx.app.localStream = stream;
    this.ctx.localVideo.muted = true; // never play our own microphone back
    this.ctx.localVideo.srcObject = stream;
    this.ctx.streamChanged(stream);
  }
}
