// The connection check page (`/check`): camera, microphone and the network to this
// server, each with a verdict in words, and what a call will do here. Also linked from
// the lobby's camera and microphone check. The network probes need TURN credentials,
// which confab gives room members only (and takes back when they leave): the page joins
// a room of its own (`check-<random>`) for as long as the probes run, then leaves.

import { t } from '../i18n/i18n.js';
import { initLanguage, onLanguageChange } from '../ui/language.js';
import { Signaling } from '../net/signaling.js';
import { toRtcIceServers } from '../net/protocol.js';
import { describeMediaError, startLocalMedia, stopMedia } from '../media/local.js';
import { LevelMeter } from '../media/meter.js';
import { checkNetwork, networkVerdict } from './network.js';

initLanguage();

/** @param {string} id */
const el = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Each result line says `key` with `params` (worded again on a language switch).
 * @type {Map<string, {state: string, key: string, params?: Record<string, string | number>}>}
 */
const said = new Map();

/**
 * @param {string} item camera, microphone, stun, udp, tcp, tls, verdict
 * @param {'waiting' | 'running' | 'ok' | 'warn' | 'failed'} state
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
function say(item, state, key, params) {
  said.set(item, { state, key, params });
  const li = el(`check-${item}`);
  li.dataset.state = state;
  li.hidden = false;
  /** @type {HTMLElement} */ (li.querySelector('.check-says') ?? li).textContent = t(key, params);
}

onLanguageChange(() => {
  for (const [item, s] of said) say(item, /** @type {any} */ (s.state), s.key, s.params);
});

/**
 * Runs `probe` with the ICE servers a member gets (STUN from `welcome`, TURN with
 * credentials from `iceServers`), as a member of a room of our own, which we leave after.
 * @template T
 * @param {(servers: RTCIceServer[]) => Promise<T>} probe
 * @returns {Promise<T>}
 */
async function asMember(probe) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const sig = new Signaling(new WebSocket(`${scheme}//${location.host}/ws`));
  try {
    const welcome = await sig.ready;
    /** @type {Promise<import('../net/types.js').IceServer[]>} */
    const turn = new Promise((resolve) => sig.on('iceServers', (m) => resolve(m.iceServers)));
    const room = `check-${Math.random().toString(36).slice(2, 12)}`;
    let members = /** @type {import('../net/types.js').IceServer[]} */ ([]);
    try {
      await sig.join(room, t('check.who'));
      members = await Promise.race([turn, new Promise((r) => setTimeout(() => r([]), 2_000))]);
    } catch {
      // No room for us (a token is required, the server is full): STUN only.
    }
    return await probe(toRtcIceServers([...welcome.iceServers, ...members]));
  } finally {
    sig.close();
  }
}

/** Camera and microphone: opened, looked at, closed. */
async function checkDevices() {
  say('camera', 'running', 'check.running');
  say('microphone', 'running', 'check.running');
  const media = await startLocalMedia();
  const video = media.stream?.getVideoTracks()[0];
  const audio = media.stream?.getAudioTracks()[0];
  if (video) {
    const s = video.getSettings();
    say('camera', 'ok', 'check.camera_ok', { label: video.label || t('media.camera'), width: s.width ?? 0, height: s.height ?? 0 });
  } else {
    say('camera', 'failed', 'check.device_failed', { problem: media.error ?? describeMediaError(null, 'camera') });
  }
  if (audio) {
    // A second of listening: a working microphone hears the room's noise at least.
    let loudest = 0;
    const meter = new LevelMeter(audio, (level) => (loudest = Math.max(loudest, level)));
    await new Promise((r) => setTimeout(r, 1_500));
    meter.stop();
    say('microphone', loudest > 0.02 ? 'ok' : 'warn', loudest > 0.02 ? 'check.mic_ok' : 'check.mic_silent',
      { label: audio.label || t('media.microphone') });
  } else {
    say('microphone', 'failed', 'check.device_failed', { problem: media.error ?? describeMediaError(null, 'microphone') });
  }
  stopMedia(media.stream);
}

/** The network to this server, each way a call can take. */
async function checkTheNetwork() {
  for (const item of ['stun', 'udp', 'tcp', 'tls']) say(item, 'running', 'check.running');
  /** @type {RTCIceServer[]} */
  let servers = [];
  const result = await asMember((s) => checkNetwork((servers = s)));
  for (const item of /** @type {const} */ (['stun', 'udp', 'tcp', 'tls'])) {
    const p = result[item];
    if (p.state === 'ok') say(item, 'ok', `check.${item}_ok`, { address: p.address });
    else if (p.state === 'absent') say(item, 'warn', 'check.absent');
    else say(item, 'failed', `check.${item}_failed`);
  }
  const verdict = networkVerdict(result);
  say('verdict', verdict === 'check.verdict.good' ? 'ok' : verdict === 'check.verdict.blocked' ? 'failed' : 'warn', verdict);
  // For tests and the curious: what was probed (no credentials) and what came back.
  /** @type {any} */ (window).confabCheck = { result, verdict, urls: servers.flatMap((s) => s.urls) };
}

const start = /** @type {HTMLButtonElement} */ (document.getElementById('check-start'));
start.addEventListener('click', async () => {
  start.disabled = true;
  el('check-results').hidden = false;
  try {
    await Promise.all([checkDevices(), checkTheNetwork()]);
  } finally {
    start.disabled = false;
    start.textContent = t('check.again');
  }
});
