// What the media router forwards us (docs/protocol.md, `layers`): per video track we
// receive from it, by our m-line's mid, which of its publisher's layers it sends now or
// that it is paused, as the server last said; and each track's line in the quality
// panel, that report put together with what getStats says arrives. No DOM.

/** @typedef {import('../net/types.js').LayerTrack} LayerTrack */
/** @typedef {import('../net/types.js').LayersMsg} LayersMsg */

/**
 * A forwarded layer in words' keys: `high` the publisher's top layer, `low` its
 * smallest, `medium` one between; `single` a track sent in one stream (forwarded as it
 * comes, so it is the whole picture); `paused` nothing is sent (we do not show it).
 * @typedef {'high' | 'medium' | 'low' | 'single' | 'paused'} LayerName
 */

/**
 * What the router's report says of one track, in words' keys; null when it said nothing
 * of it (yet).
 * @param {LayerTrack | undefined} t
 * @returns {LayerName | null}
 */
export function layerName(t) {
  if (!t) return null;
  if (t.layer === undefined) return 'paused';
  if (t.layers <= 1) return 'single';
  if (t.layer >= t.layers - 1) return 'high';
  return t.layer === 0 ? 'low' : 'medium';
}

/** The router's last report for our call, by mid. */
export class ForwardedLayers {
  constructor() {
    /** @type {Map<string, LayerTrack>} */
    this.byMid = new Map();
  }

  /**
   * The server's report: the whole list, so it replaces what we knew. One about another
   * call than ours (a late one of a call we left) is ignored.
   * @param {LayersMsg} msg
   * @param {number | null} myCall
   * @returns {boolean} whether it was taken
   */
  handle(msg, myCall) {
    if (myCall === null || msg.call !== myCall) return false;
    this.byMid = new Map(msg.tracks.map((t) => [t.mid, { ...t }]));
    return true;
  }

  /** Our connection to the router is gone: its mids mean nothing any more. */
  clear() {
    this.byMid.clear();
  }

  /** @param {string} mid @returns {LayerTrack | undefined} */
  get(mid) {
    return this.byMid.get(mid);
  }
}

/**
 * One inbound video stream as getStats reports it, reduced to what the panel shows.
 * @typedef {{mid: string | null, width: number | null, height: number | null,
 *   fps: number | null, framesDecoded: number}} VideoIn
 */

/**
 * One received video track in the quality panel and `window.confab.quality()`.
 * @typedef {object} TrackQuality
 * @property {string} mid our m-line's (null-free: streams without one are left out)
 * @property {number | null} width the picture that arrives (decoded)
 * @property {number | null} height
 * @property {number | null} fps frames decoded per second
 * @property {LayerName | null} layer what the router says it forwards (null: not said yet)
 * @property {number | null} index the forwarded layer's place, 0 the smallest (null: paused
 *   or not said)
 * @property {number | null} layers how many layers the publisher sends
 * @property {string | null} rid the forwarded layer's rid, as the publisher named it
 */

/**
 * A stream's line: its figures now (fps from the decoder, else from frames decoded since
 * `prev`, `dt` seconds before), with what the router last said of its mid.
 * @param {VideoIn & {mid: string}} now
 * @param {VideoIn | undefined} prev
 * @param {number} dt
 * @param {LayerTrack | undefined} told
 * @returns {TrackQuality}
 */
export function trackQuality(now, prev, dt, told) {
  let fps = now.fps;
  if (fps === null && prev && dt > 0) fps = Math.max(0, (now.framesDecoded - prev.framesDecoded) / dt);
  return {
    mid: now.mid,
    width: now.width,
    height: now.height,
    fps: fps !== null ? Math.round(fps) : null,
    layer: layerName(told),
    index: told?.layer ?? null,
    layers: told?.layers ?? null,
    rid: told?.rid ?? null,
  };
}
