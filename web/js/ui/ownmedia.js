// Our own camera and microphone in a room. Nothing opens them until the person asks:
// the lobby's check hands its stream over (`adopt`), starting, accepting or joining a
// call asks (`ready`, which calls wait for: a call is negotiated with whatever we got),
// and so do the microphone and camera buttons. In a broadcast, being brought on stage is
// the ask; going back to the audience stops them. Never before the room says we may send
// media (after `joined`), so a viewer of a broadcast is never asked for them.

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
 * @property {() => void} localStateChanged tells the call's peers our mute state
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
    /** The person asked for their media in this room (a call, a button, the check). */
    this.asked = false;
  }

  /**
   * A call is about to start, be accepted or joined: that asks for our media. Resolves
   * once the media we may send is there (or was refused).
   */
  ready() {
    this.asked = true;
    this.sync();
    return this.starting ?? Promise.resolve();
  }

  /**
   * Joining with the stream the lobby's check opened: it is ours at once, no new prompt.
   * @param {MediaStream} stream
   */
  adopt(stream) {
    this.asked = true;
    this.tried = true;
    this.show(stream);
    this.ctx.transport.publish(stream);
  }

  /**
   * The microphone button: mute or unmute; with no media yet, asks for it (the
   * microphone on, the camera off: the person asked to talk, not to be seen).
   */
  toggleMic() {
    const { app } = this.ctx;
    if (!app.localStream) {
      app.camOff = true;
      return this.request();
    }
    this.setMicMuted(!app.micMuted);
  }

  /**
   * Mutes or unmutes our microphone (the button, or a host's mute) and tells the room.
   * @param {boolean} muted
   */
  setMicMuted(muted) {
    const { app } = this.ctx;
    app.micMuted = muted;
    for (const tr of app.localStream?.getAudioTracks() ?? []) tr.enabled = !muted;
    this.changed();
  }

  /** The camera button: off or on; with no media yet, asks for it (camera on). */
  toggleCam() {
    const { app } = this.ctx;
    if (!app.localStream) {
      app.camOff = false;
      return this.request();
    }
    app.camOff = !app.camOff;
    for (const tr of app.localStream.getVideoTracks()) tr.enabled = !app.camOff;
    this.changed();
  }

  /** @private The person pressed for media: ask (again, even after a refusal). */
  request() {
    this.ctx.app.micMuted = false;
    this.asked = true;
    this.tried = false;
    this.sync();
  }

  /** @private */
  changed() {
    this.ctx.localStateChanged();
    this.ctx.reportMedia();
    this.ctx.renderAll();
  }

  /** Starts or stops our media to match whether we may send now; call after any change. */
  sync() {
    const { app, room } = this.ctx;
    if (this.starting) return;
    // In a broadcast, the stage is the ask; elsewhere the person asks (see above).
    const want = app.state === 'in-room' && room.mayPublish(room.myId) && (this.asked || room.broadcast);
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
      for (const tr of media.stream?.getAudioTracks() ?? []) tr.enabled = !app.micMuted;
      for (const tr of media.stream?.getVideoTracks() ?? []) tr.enabled = !app.camOff;
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
    this.asked = false;
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
