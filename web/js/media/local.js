// Local camera and microphone: getUserMedia with sensible constraints, graceful
// degradation to audio-only or video-only, and error messages a person can act on.

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

/**
 * Explains a getUserMedia failure in plain English.
 * @param {unknown} err the rejection from getUserMedia
 * @param {'camera and microphone' | 'camera' | 'microphone'} [what] which devices were asked for
 * @returns {string}
 */
export function describeMediaError(err, what = 'camera and microphone') {
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return (
        `Permission to use your ${what} was denied. To fix this, click the camera icon or ` +
        `the lock next to the address bar, allow access to the ${what}, then reload the page.`
      );
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return `No ${what} was found. Plug one in (or enable it in your system settings) and try again.`;
    case 'NotReadableError':
    case 'TrackStartError':
      return (
        `Your ${what} could not be started: it is probably in use by another application. ` +
        `Close other apps that use it and try again.`
      );
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
      return `Your ${what} does not support the requested settings (resolution or frame rate).`;
    case 'SecurityError':
      return `Using the ${what} is blocked by this browser's security settings.`;
    case 'AbortError':
      return `Starting your ${what} was interrupted. Try again.`;
    case 'TypeError':
      return `Your browser refused the request for the ${what}.`;
    default: {
      const msg = err instanceof Error && err.message ? `: ${err.message}` : '.';
      return `Could not start your ${what}${msg}`;
    }
  }
}

/**
 * The explanation for a page that cannot capture media at all, or null if it can.
 * @param {{isSecureContext?: boolean, navigator?: {mediaDevices?: unknown}}} [env]
 * @returns {string | null}
 */
export function insecureContextError(env = globalThis) {
  const nav = env.navigator;
  if (env.isSecureContext === false || !nav || !nav.mediaDevices) {
    return (
      'Camera and microphone need a secure connection: open this page over HTTPS ' +
      '(or on localhost). Until then others cannot see or hear you, but you can watch and listen.'
    );
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
        error: `${describeMediaError(bothErr)} Until then others cannot see or hear you, but you can watch and listen.`,
      };
    }
    const stream = new MediaStream([
      ...(audioStream ? audioStream.getAudioTracks() : []),
      ...(videoStream ? videoStream.getVideoTracks() : []),
    ]);
    const error = !videoStream
      ? `${describeMediaError(videoErr, 'camera')} Joining with audio only.`
      : !audioStream
        ? `${describeMediaError(audioErr, 'microphone')} Joining with video only; others will not hear you.`
        : null;
    return { stream, audio: Boolean(audioStream), video: Boolean(videoStream), error };
  }
}

/**
 * Stops every track of a stream.
 * @param {MediaStream | null | undefined} stream
 */
export function stopMedia(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}
