// Local camera and microphone: getUserMedia with sensible constraints, graceful
// degradation to audio-only or video-only, and error messages a person can act on.

import { t } from '../i18n/i18n.js';

/** Constraints for the microphone: let the browser clean the signal up. */
export const AUDIO_CONSTRAINTS = Object.freeze({
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
});

/** Constraints for the camera: about VGA, which a mesh call can afford. */
export const VIDEO_CONSTRAINTS = Object.freeze({
  width: { ideal: 640 },
  height: { ideal: 480 },
  frameRate: { ideal: 30, max: 30 },
});

/**
 * What `startLocalMedia` got.
 * @typedef {object} LocalMedia
 * @property {MediaStream | null} stream null when neither camera nor microphone works
 * @property {boolean} audio whether a microphone track is in `stream`
 * @property {boolean} video whether a camera track is in `stream`
 * @property {string | null} error a readable explanation when something is missing
 */

/** The catalog key (`media.*`) for each getUserMedia error name. */
/** @type {Record<string, string>} */
const MEDIA_ERROR_KEYS = {
  NotAllowedError: 'media.denied',
  PermissionDeniedError: 'media.denied',
  NotFoundError: 'media.not_found',
  DevicesNotFoundError: 'media.not_found',
  NotReadableError: 'media.not_readable',
  TrackStartError: 'media.not_readable',
  OverconstrainedError: 'media.overconstrained',
  ConstraintNotSatisfiedError: 'media.overconstrained',
  SecurityError: 'media.security',
  AbortError: 'media.aborted',
  TypeError: 'media.refused',
};

/**
 * Explains a getUserMedia failure in words (the page's language).
 * @param {unknown} err the rejection from getUserMedia
 * @param {'both' | 'camera' | 'microphone'} [what] which devices were asked for
 * @returns {string}
 */
export function describeMediaError(err, what = 'both') {
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  const device = t(`media.${what}`);
  const key = MEDIA_ERROR_KEYS[name];
  if (key) return t(key, { what: device });
  return err instanceof Error && err.message
    ? t('media.failed_detail', { what: device, detail: err.message })
    : t('media.failed', { what: device });
}

/**
 * The explanation for a page that cannot capture media at all, or null if it can.
 * @param {{isSecureContext?: boolean, navigator?: {mediaDevices?: unknown}}} [env]
 * @returns {string | null}
 */
export function insecureContextError(env = globalThis) {
  const nav = env.navigator;
  if (env.isSecureContext === false || !nav || !nav.mediaDevices) {
    return t('media.insecure');
  }
  return null;
}

/**
 * @param {MediaStreamConstraints} constraints
 * @returns {Promise<MediaStream>}
 */
function gum(constraints) {
  return navigator.mediaDevices.getUserMedia(constraints);
}

/**
 * Starts the camera and microphone. Never rejects: when only one of them works the stream
 * holds that one and `error` says what is missing; when neither works `stream` is null.
 * @returns {Promise<LocalMedia>}
 */
export async function startLocalMedia() {
  const insecure = insecureContextError();
  if (insecure) return { stream: null, audio: false, video: false, error: insecure };

  try {
    const stream = await gum({ audio: { ...AUDIO_CONSTRAINTS }, video: { ...VIDEO_CONSTRAINTS } });
    return { stream, audio: stream.getAudioTracks().length > 0, video: stream.getVideoTracks().length > 0, error: null };
  } catch (bothErr) {
    // Try each device alone: one may be denied, missing or busy while the other works.
    // (A permission already refused is refused again at once, without a new prompt.)
    /** @type {MediaStream | null} */
    let audioStream = null;
    /** @type {unknown} */
    let audioErr = null;
    try {
      audioStream = await gum({ audio: { ...AUDIO_CONSTRAINTS } });
    } catch (e) {
      audioErr = e;
    }
    /** @type {MediaStream | null} */
    let videoStream = null;
    /** @type {unknown} */
    let videoErr = null;
    try {
      videoStream = await gum({ video: { ...VIDEO_CONSTRAINTS } });
    } catch (e) {
      videoErr = e;
      if (e && typeof e === 'object' && 'name' in e && e.name === 'OverconstrainedError') {
        try {
          videoStream = await gum({ video: true });
          videoErr = null;
        } catch (e2) {
          videoErr = e2;
        }
      }
    }
    if (!audioStream && !videoStream) {
      return {
        stream: null,
        audio: false,
        video: false,
        error: t('media.none', { problem: describeMediaError(bothErr) }),
      };
    }
    const stream = new MediaStream([
      ...(audioStream ? audioStream.getAudioTracks() : []),
      ...(videoStream ? videoStream.getVideoTracks() : []),
    ]);
    const error = !videoStream
      ? t('media.audio_only', { problem: describeMediaError(videoErr, 'camera') })
      : !audioStream
        ? t('media.video_only', { problem: describeMediaError(audioErr, 'microphone') })
        : null;
    return { stream, audio: Boolean(audioStream), video: Boolean(videoStream), error };
  }
}

/**
 * Opens one camera ('video') or microphone ('audio'), `deviceId` or ('') the default,
 * with the same constraints as `startLocalMedia`. Rejects as getUserMedia does.
 * @param {'audio' | 'video'} kind
 * @param {string} deviceId
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openDevice(kind, deviceId) {
  const base = kind === 'audio' ? { ...AUDIO_CONSTRAINTS } : { ...VIDEO_CONSTRAINTS };
  /** @type {MediaTrackConstraints} */
  const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
  const s = await gum(kind === 'audio' ? { audio: constraints } : { video: constraints });
  return kind === 'audio' ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
}

/**
 * Stops every track of a stream.
 * @param {MediaStream | null | undefined} stream
 */
export function stopMedia(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}
