// An incoming call rings: a tone made with Web Audio (a telephone's two tones, one second
// on, two off), the page title changes ("Alice is calling…"), a phone vibrates, and a
// desktop notification shows when the tab is hidden (if notifications were allowed for
// this site: `askToNotify` asks when the person presses Join in the lobby; clicking the
// notification brings the tab forward). All of it stops the moment the call is answered, declined, cancelled or
// missed. The browser may keep the tone silent until the page has had a click (its
// autoplay rule); the title and the dialog still show.

import { t } from '../i18n/i18n.js';

/** One ring: on for RING_MS, then quiet until the next, every CYCLE_MS. */
const RING_MS = 1000;
const CYCLE_MS = 3000;
/** Loud enough to hear, soft enough not to startle. */
const VOLUME = 0.12;

/** Whether this page asked for the notification permission (for the debug handle). */
let asked = false;

/**
 * Asks whether this site may show notifications, so that a call reaches a person whose
 * tab is hidden. Called on the lobby's Join, a click (browsers show the question only
 * after one); once the person answered, the browser keeps the answer and nothing is asked.
 */
export function askToNotify() {
  if (typeof Notification !== 'function' || Notification.permission !== 'default') return;
  asked = true;
  Notification.requestPermission().catch(() => {});
}

export class Ringer {
  constructor() {
    /** Who calls, while it rings. @type {string | null} */
    this.caller = null;
    /** @private @type {AudioContext | null} */
    this.audio = null;
    /** @private @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    /** @private @type {Notification | null} */
    this.notification = null;
  }

  /**
   * Rings for `caller` (a name), or stops (`null`). Call on every render, after the view
   * set the page title: it only acts on a change, and puts its title over the view's
   * while it rings (so stopping needs no title of its own).
   * @param {string | null} caller
   */
  update(caller) {
    if (caller === this.caller) {
      if (caller !== null) document.title = t('ring.title', { name: caller });
      return;
    }
    if (this.caller !== null) this.stop();
    if (caller !== null) this.start(caller);
  }

  /** @private @param {string} caller */
  start(caller) {
    this.caller = caller;
    document.title = t('ring.title', { name: caller });
    navigator.vibrate?.([400, 200, 400, 2000, 400, 200, 400]);
    if (typeof Notification === 'function' && Notification.permission === 'granted' && document.hidden) {
      try {
        const note = new Notification(t('ring.title', { name: caller }), { tag: 'confab-call', requireInteraction: true });
        note.onclick = () => {
          window.focus();
          note.close();
        };
        this.notification = note;
      } catch {
        this.notification = null;
      }
    }
    try {
      this.audio = new AudioContext();
      this.ring();
      this.timer = setInterval(() => this.ring(), CYCLE_MS);
    } catch {
      this.audio = null; // no Web Audio: the dialog and the title still say it
    }
  }

  /** One ring of two tones (440 and 480 Hz together, as telephones ring). @private */
  ring() {
    const ctx = this.audio;
    if (!ctx) return;
    const gain = ctx.createGain();
    const at = ctx.currentTime;
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(VOLUME, at + 0.02);
    gain.gain.setValueAtTime(VOLUME, at + RING_MS / 1000 - 0.05);
    gain.gain.linearRampToValueAtTime(0, at + RING_MS / 1000);
    gain.connect(ctx.destination);
    for (const hz of [440, 480]) {
      const osc = ctx.createOscillator();
      osc.frequency.value = hz;
      osc.connect(gain);
      osc.start(at);
      osc.stop(at + RING_MS / 1000);
    }
  }

  /** @private */
  stop() {
    this.caller = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.audio?.close().catch(() => {});
    this.audio = null;
    this.notification?.close();
    this.notification = null;
    navigator.vibrate?.(0);
  }

  /**
   * What the debug handle shows: whether it rings, the tone's state, the notification
   * on show (its title), and whether the page asked to notify.
   */
  snapshot() {
    return {
      ringing: this.caller !== null,
      tone: this.audio?.state ?? 'none',
      notification: this.notification?.title ?? null,
      notifyAsked: asked,
    };
  }
}
