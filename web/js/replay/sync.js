// Keeping a recording's tracks together (the replay page, replay/page.js): one master
// clock on the recording's timeline, and for each track's media element what it should be
// doing at the clock's position. Pure and DOM-free, so it is unit-tested
// (web/test/replay.test.js); the page applies the plans to <video> and <audio> elements.
//
// Why a clock of its own rather than one of the elements: tracks start and end at
// different times (someone joins late, a camera stops early), so no one element covers
// the whole recording. Elements play at their own pace and drift; one that is off the
// clock by more than DRIFT_S is put back by a seek (a seek costs a decode from the last
// keyframe, so small drift is left alone).

/** Drift (s) past which a playing element is seeked back onto the clock. */
export const DRIFT_S = 0.1;
/** Paused, elements are put exactly where the clock is (a seek by the user). */
export const PAUSED_DRIFT_S = 0.04;
/** The clock waits at most this long (ms) for a buffering element before going on. */
export const MAX_HOLD_MS = 3000;

/**
 * Where a track sits on the recording's timeline, in seconds: it has frames from `start`
 * to `end`, and its element's time is the recording's time minus `shift`.
 * @typedef {object} Placement
 * @property {number} start
 * @property {number} end Infinity when the file does not say (cut off by a crash)
 * @property {number} shift
 */

/**
 * Places a track once its element knows its duration. confab's files carry the
 * recording's clock in their timestamps (a track's first frame is at its start), and a
 * player that follows the HTML spec's media timeline shows that time (Chromium does: its
 * `duration` is then the track's end); a player that starts every file at zero instead
 * (its `duration` is the end minus the start) needs the track shifted by its start.
 * (`currentTime` right after loading would tell too, but Chromium says 0 there until it
 * has read the first frame, so it cannot be trusted.)
 * @param {number} startMs the track's start as the recording says (0 if not known)
 * @param {number} endMs its end (0 if not known: its own clock is assumed)
 * @param {number} durationS the element's `duration` (NaN or Infinity if unknown)
 * @returns {Placement}
 */
export function place(startMs, endMs, durationS) {
  const known = Number.isFinite(durationS) && durationS > 0;
  const start = Math.max(0, startMs) / 1000;
  const fromZero = known && endMs > startMs
    && Math.abs(durationS - (endMs - startMs) / 1000) + 0.02 < Math.abs(durationS - endMs / 1000);
  const shift = fromZero ? start : 0;
  return { start, end: known ? shift + durationS : Infinity, shift };
}

/**
 * The master clock: a position on the recording's timeline (s) that runs with the
 * monotonic time it is given (ms, e.g. `performance.now()`), stops at `duration`, and
 * can be held while an element buffers.
 */
export class Clock {
  /** @param {number} duration */
  constructor(duration) {
    this.duration = Math.max(0, duration);
    this.playing = false;
    /** @private */ this.base = 0;
    /** @private */ this.at = 0;
    /** The position last read. */
    this.last = 0;
  }

  /** The position at `now`. @param {number} now */
  position(now) {
    const p = this.playing ? this.base + Math.max(0, now - this.at) / 1000 : this.base;
    this.last = Math.min(this.duration, p);
    if (this.playing && p >= this.duration) {
      this.playing = false;
      this.base = this.duration;
    }
    return this.last;
  }

  /** Runs from where it is (from the start again if it had ended). @param {number} now */
  play(now) {
    const p = this.position(now);
    this.base = p >= this.duration ? 0 : p;
    this.at = now;
    this.playing = this.duration > 0;
  }

  /** @param {number} now */
  pause(now) {
    this.base = this.position(now);
    this.playing = false;
  }

  /** Goes to `to` (clamped to the recording), playing on if it was. @param {number} to @param {number} now */
  seek(to, now) {
    this.base = Math.min(this.duration, Math.max(0, to));
    this.last = this.base;
    this.at = now;
  }

  /** Holds the clock at its last read position (an element is buffering). @param {number} now */
  hold(now) {
    this.base = this.last;
    this.at = now;
  }
}

/**
 * What one element should do.
 * @typedef {object} Plan
 * @property {'before' | 'on' | 'after'} phase before its start, playing its frames, or past its end
 * @property {number | null} seekTo its own time to seek to, if it is off
 * @property {boolean} play whether it should be playing
 */

/**
 * The plan for an element placed at `p`, at clock position `pos`. An element about to
 * start (paused while the clock runs: it just reached its start, or the user pressed
 * play) is put exactly on the clock first, as a paused one is.
 * @param {number} pos
 * @param {boolean} playing the clock runs
 * @param {Placement} p
 * @param {{time: number, paused: boolean}} el its `currentTime` and `paused`
 * @returns {Plan}
 */
export function plan(pos, playing, p, el) {
  if (pos < p.start) {
    const park = p.start - p.shift;
    return { phase: 'before', seekTo: Math.abs(el.time - park) > PAUSED_DRIFT_S ? park : null, play: false };
  }
  if (pos >= p.end) return { phase: 'after', seekTo: null, play: false };
  const want = pos - p.shift;
  const off = Math.abs(el.time - want);
  const tolerance = playing && !el.paused ? DRIFT_S : PAUSED_DRIFT_S;
  return { phase: 'on', seekTo: off > tolerance ? want : null, play: playing };
}

/**
 * The recording's length (s): the manifest's span, or the latest track end if longer.
 * @param {number} startedMs
 * @param {number | undefined} stoppedMs
 * @param {Placement[]} placed
 */
export function length(startedMs, stoppedMs, placed) {
  const span = stoppedMs === undefined ? 0 : Math.max(0, stoppedMs - startedMs) / 1000;
  const ends = placed.map((p) => p.end).filter(Number.isFinite);
  return Math.max(span, ...ends);
}

/** "4:05" for 245.3 s. @param {number} s */
export function clockText(s) {
  const whole = Math.max(0, Math.floor(s));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}
