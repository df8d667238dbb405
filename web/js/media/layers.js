// Simulcast on the browser's side (docs/sfu.md, "Simulcast and layers"): the layers our
// camera goes out in, the screen's single layer, and the sizes our tiles show the
// router's video at (`sfuView`), from which the router picks each track's layer.

/**
 * Video goes to the router in up to three sizes (simulcast, RFC 8853): a quarter, half
 * and the whole of the picture, smallest first; the router sends each receiver the one
 * its tile needs and its link carries (docs/sfu.md). Rates as LiveKit and Meet use them.
 */
export const SIMULCAST = [
  { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'h', maxBitrate: 1_500_000 },
];

/**
 * The layers for a picture `height` pixels tall: three from 540 up, the two larger from
 * 360 (a quarter would be too small to be worth its encoding), none below. Browsers
 * allow as many for those sizes (libwebrtc's simulcast table), and would otherwise
 * drop the largest, the one a big tile needs.
 * @param {number} height
 */
export function layersFor(height) {
  if (height >= 540) return SIMULCAST;
  if (height >= 360) return SIMULCAST.slice(1);
  return [];
}

/** How often the tiles' sizes are looked at (and sent to the router when changed). */
export const VIEW_EVERY_MS = 1000;

/**
 * A shared screen goes out in its top layer only: text must be read at full size, so
 * every receiver gets it whatever its tile (the router finds the smaller layers gone
 * and moves everyone up). The camera again: all layers.
 * @param {RTCRtpSender} sender
 * @param {MediaStreamTrack | null} track
 */
export async function screenLayers(sender, track) {
  const params = sender.getParameters();
  const encodings = params.encodings ?? [];
  if (encodings.length < 2) return;
  const screen = track !== null && 'displaySurface' in (track.getSettings?.() ?? {});
  encodings.forEach((e, i) => { e.active = !screen || i === encodings.length - 1; });
  await sender.setParameters(params).catch((/** @type {unknown} */ err) => {
    console.error('confab: could not change the layers sent', err);
  });
}

/**
 * How a track is sent to the router: video in simulcast layers.
 * @param {MediaStreamTrack} track
 * @param {MediaStream[]} streams
 * @returns {RTCRtpTransceiverInit}
 */
export function sendInit(track, streams) {
  /** @type {RTCRtpTransceiverInit} */
  const init = { direction: 'sendonly', streams };
  const layers = track.kind === 'video' ? layersFor(track.getSettings?.().height ?? 0) : [];
  if (layers.length > 1) init.sendEncodings = layers.map((e) => ({ ...e }));
  return init;
}

/**
 * The size each received video shows at, in device pixels, by m-line: 0 by 0 for one not
 * seen (the page hidden, the tile hidden or scrolled away). `tileOf` finds a track's
 * tile, or null to leave the track out (unknown, or waiting hidden for its first frames:
 * it must get them).
 * @param {RTCPeerConnection} pc
 * @param {(track: MediaStreamTrack) => {tile: HTMLElement, video: HTMLVideoElement} | null} tileOf
 * @returns {import('../net/types.js').TrackView[]}
 */
export function tileViews(pc, tileOf) {
  /** @type {import('../net/types.js').TrackView[]} */
  const tracks = [];
  const dpr = globalThis.devicePixelRatio || 1;
  for (const t of pc.getTransceivers()) {
    const track = t.receiver.track;
    if (!t.mid || track.kind !== 'video' || t.currentDirection !== 'recvonly') continue;
    const entry = tileOf(track);
    if (!entry) continue;
    const r = entry.video.getBoundingClientRect();
    const onScreen = r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
    const seen = !document.hidden && !entry.tile.hidden && onScreen;
    const [width, height] = seen ? [Math.round(r.width * dpr), Math.round(r.height * dpr)] : [0, 0];
    tracks.push({ mid: t.mid, width, height });
  }
  return tracks;
}
