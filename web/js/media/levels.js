// Who talks in a mesh call, from the audio each page receives (the energy the browser
// counts in what it plays, `ReceivedLevels`): in calls through the router the
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
 * Audio energy received so far on one connection (its inbound-rtp reports' totals).
 * @typedef {{energy: number, seconds: number}} EnergyTotals
 */

/**
 * The mean level between two readings of a stream's totals: the root of the energy
 * received over the time it covers (the same linear scale as RFC 6464's `audioLevel`);
 * `null` if no audio was played between them.
 * @param {EnergyTotals | undefined} before
 * @param {EnergyTotals} now
 * @returns {number | null}
 */
export function meanLevel(before, now) {
  if (!before) return null;
  const seconds = now.seconds - before.seconds;
  if (!(seconds > 0)) return null;
  return Math.sqrt(Math.max(0, now.energy - before.energy) / seconds);
}

/**
 * Reads each peer's level over the time since the last reading, from the energy the
 * browser counts in every audio sample it plays (`totalAudioEnergy`). The level of the
 * newest packet alone (`getSynchronizationSources`) was sampled every 250 ms: a talker
 * whose sound came in bursts between the samples (Chromium's fake microphone beeps) was
 * missed by one page and heard by another.
 */
export class ReceivedLevels {
  constructor() {
    /** The last totals per peer and connection. @type {Map<string, {pc: RTCPeerConnection, totals: EnergyTotals}>} */
    this.last = new Map();
  }

  /**
   * @param {Record<string, RTCPeerConnection>} pcs
   * @returns {Promise<Map<string, number>>}
   */
  async read(pcs) {
    const out = new Map();
    for (const id of [...this.last.keys()]) if (!(id in pcs)) this.last.delete(id);
    await Promise.all(Object.entries(pcs).map(async ([id, pc]) => {
      const totals = await audioTotals(pc);
      if (!totals) {
        out.set(id, newestLevel(pc));
        return;
      }
      const prev = this.last.get(id);
      const level = meanLevel(prev?.pc === pc ? prev.totals : undefined, totals);
      this.last.set(id, { pc, totals });
      out.set(id, level ?? newestLevel(pc));
    }));
    return out;
  }
}

/**
 * The summed totals of a connection's inbound audio, or `null` if the browser does not
 * count them.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<EnergyTotals | null>}
 */
async function audioTotals(pc) {
  let energy = 0;
  let seconds = 0;
  let counted = false;
  try {
    const report = await pc.getStats();
    report.forEach((/** @type {any} */ s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'audio' || typeof s.totalAudioEnergy !== 'number') return;
      energy += s.totalAudioEnergy;
      seconds += s.totalSamplesDuration ?? 0;
      counted = true;
    });
  } catch {
    return null; // closed meanwhile
  }
  return counted ? { energy, seconds } : null;
}

/**
 * The level of the newest audio packet from a connection (RFC 6464), 0 if none.
 * @param {RTCPeerConnection} pc
 */
function newestLevel(pc) {
  let level = 0;
  for (const r of pc.getReceivers()) {
    if (r.track.kind !== 'audio' || typeof r.getSynchronizationSources !== 'function') continue;
    for (const s of r.getSynchronizationSources()) level = Math.max(level, s.audioLevel ?? 0);
  }
  return level;
}
