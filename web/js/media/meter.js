// A microphone level meter: how loud a track is now, 0 to 1, ten times a second, from
// Web Audio's analyser (the signal's RMS, scaled so speech fills most of the bar). Used
// by the pre-join check so a person sees their microphone works before a call.

/** Updates per second: enough for the eye, cheap for the page. */
const RATE_HZ = 10;

export class LevelMeter {
  /**
   * @param {MediaStreamTrack} track an audio track
   * @param {(level: number) => void} onLevel called with 0..1
   */
  constructor(track, onLevel) {
    this.ctx = new AudioContext();
    const source = this.ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = this.ctx.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    /** The last level reported, for tests and the debug handle. */
    this.level = 0;
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      // About -50 dBFS reads as empty, -10 dBFS as full.
      const db = 20 * Math.log10(Math.max(rms, 1e-6));
      this.level = Math.min(1, Math.max(0, (db + 50) / 40));
      onLevel(this.level);
    }, 1000 / RATE_HZ);
  }

  /** Stops measuring and frees the audio context (the track itself stays open). */
  stop() {
    clearInterval(this.timer);
    this.ctx.close().catch(() => {});
  }
}

/**
 * Plays a short two-tone chime on the speaker `sinkId` ('' = the system's), so a person
 * hears which output the call will use.
 * @param {string} sinkId
 * @returns {Promise<void>} when the chime has been started
 */
export async function playTestSound(sinkId) {
  const ctx = new AudioContext();
  const out = ctx.createMediaStreamDestination();
  const gain = ctx.createGain();
  gain.connect(out);
  const now = ctx.currentTime;
  for (const [i, freq] of [660, 880].entries()) {
    const osc = ctx.createOscillator();
    osc.frequency.value = freq;
    osc.connect(gain);
    osc.start(now + i * 0.35);
    osc.stop(now + i * 0.35 + 0.3);
  }
  gain.gain.setValueAtTime(0.25, now);
  const audio = new Audio();
  audio.srcObject = out.stream;
  const el = /** @type {HTMLAudioElement & {setSinkId?: (id: string) => Promise<void>}} */ (audio);
  if (sinkId && el.setSinkId) await el.setSinkId(sinkId);
  await audio.play();
  setTimeout(() => {
    audio.pause();
    ctx.close().catch(() => {});
  }, 1_000);
}
