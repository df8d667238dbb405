// Who talks in a mesh call, from the audio levels each packet carries (RFC 6464, read
// through RTCRtpReceiver.getSynchronizationSources): in calls through the router the
// server says it (`activeSpeakers`); peer to peer, each page works it out the same way.
// Levels are smoothed so the gaps between words do not make the highlight flicker, and a
// talker enters above one threshold and leaves below a lower one.

/** Linear audio levels (1 = 0 dBov): enter at about -24 dBov, leave under -32. */
export const ENTER_LEVEL = 0.06;
export const LEAVE_LEVEL = 0.025;
/** Weight of each new sample (taken every 250 ms): about a second of memory. */
const ALPHA = 0.35;
/** The most highlighted at once, as the server's list. */
const MAX_SPEAKERS = 3;

export class LevelSpeakers {
  constructor() {
    /** Smoothed level per peer. @type {Map<string, number>} */
    this.smoothed = new Map();
    /** Who talks now. @type {Set<string>} */
    this.talking = new Set();
  }

  /**
   * One sample of every peer's level (0..1); returns who talks, loudest first.
   * @param {Map<string, number>} levels
   * @returns {string[]}
   */
  update(levels) {
    for (const id of [...this.smoothed.keys()]) {
      if (!levels.has(id)) {
        this.smoothed.delete(id);
        this.talking.delete(id);
      }
    }
    for (const [id, level] of levels) {
      const s = (this.smoothed.get(id) ?? 0) * (1 - ALPHA) + level * ALPHA;
      this.smoothed.set(id, s);
      if (s >= ENTER_LEVEL) this.talking.add(id);
      else if (s < LEAVE_LEVEL) this.talking.delete(id);
    }
    return [...this.talking]
      .sort((a, b) => (this.smoothed.get(b) ?? 0) - (this.smoothed.get(a) ?? 0))
      .slice(0, MAX_SPEAKERS);
  }
}

/**
 * The level of the newest audio packet from each peer, by peer id.
 * @param {Record<string, RTCPeerConnection>} pcs
 * @returns {Map<string, number>}
 */
export function receiverLevels(pcs) {
  const out = new Map();
  for (const [id, pc] of Object.entries(pcs)) {
    let level = 0;
    for (const r of pc.getReceivers()) {
      if (r.track.kind !== 'audio' || typeof r.getSynchronizationSources !== 'function') continue;
      for (const s of r.getSynchronizationSources()) level = Math.max(level, s.audioLevel ?? 0);
    }
    out.set(id, level);
  }
  return out;
}
