// The replay page (`/replay/<room>/<id>?exp=..&sig=..`, replay.html): a server
// recording's tracks side by side, in sync, with one play button and one seek bar. The
// link is the one a host's Recordings list gives (signed for an hour); the page trades
// its query at `/recordings/<room>/<id>` for the tracks (each person's video and audio
// file, with their name, start and own signed link; docs/protocol.md, "recordings").
// Anything refused is said in words. Timing is replay/sync.js's: one master clock, each
// element kept within DRIFT_S of it.

import { locale, t } from '../i18n/i18n.js';
import { initLanguage, onLanguageChange } from '../ui/language.js';
import { Clock, MAX_HOLD_MS, clockText, length, place, plan } from './sync.js';
import { checkReplay } from './tracks.js';

/** @typedef {import('./tracks.js').Replay} Replay */
/** @typedef {import('./tracks.js').Person} Person */
/** @typedef {import('./sync.js').Placement} Placement */

/** How often (ms) elements are checked against the clock. */
const TICK_MS = 100;
/** How long (ms) the page waits for every track's metadata before showing what it has. */
const LOAD_TIMEOUT_MS = 15_000;

initLanguage();

/** @param {string} id */
const el = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  status: el('replay-status'),
  when: el('replay-when'),
  tiles: el('replay-tiles'),
  controls: el('replay-controls'),
  play: /** @type {HTMLButtonElement} */ (el('replay-play')),
  seek: /** @type {HTMLInputElement} */ (el('replay-seek')),
  time: el('replay-time'),
};

/**
 * One track's element and where it sits.
 * @typedef {object} Player
 * @property {HTMLMediaElement} media
 * @property {Placement | null} placed null until its metadata is in
 * @property {boolean} failed it cannot be played (said on its tile)
 * @property {HTMLElement | null} tile its person's tile (video tracks)
 */

/** @type {Player[]} */
const players = [];
/** What the status line says (worded again on a language switch). */
let said = /** @type {{key: string, params?: Record<string, string | number>, error: boolean} | null} */ (null);
/** @type {Replay | null} */
let replay = null;
let clock = new Clock(0);
/** Since when (ms) the clock has been held for a buffering element. */
let holding = /** @type {number | null} */ (null);

/**
 * The status line: progress, or an error in words (`role="alert"` then).
 * @param {string | null} key
 * @param {Record<string, string | number>} [params]
 * @param {boolean} [error]
 */
function say(key, params, error = false) {
  said = key === null ? null : { key, params, error };
  ui.status.hidden = key === null;
  ui.status.classList.toggle('replay-error', error);
  ui.status.setAttribute('role', error ? 'alert' : 'status');
  if (key !== null) ui.status.textContent = t(key, params);
}

onLanguageChange(() => {
  if (said) say(said.key, said.params, said.error);
  wordHeader();
  render();
});

function wordHeader() {
  if (!replay) return;
  const when = new Date(replay.startedMs).toLocaleString(locale());
  ui.when.textContent = t('replay.when', { room: replay.room, when });
  document.title = t('replay.page_title', { room: replay.room });
}

/** Loads the recording the page's link names. */
async function load() {
  say('replay.loading');
  const api = location.pathname.replace(/^\/replay\//, '/recordings/') + location.search;
  let res;
  try {
    res = await fetch(api, { cache: 'no-store' });
  } catch {
    return say('replay.offline', {}, true);
  }
  if (res.status === 404) return say('replay.bad_link', {}, true);
  if (!res.ok) return say('replay.failed', { status: res.status }, true);
  const body = await res.json().catch(() => null);
  replay = checkReplay(body);
  if (!replay) return say('replay.failed', { status: res.status }, true);
  if (replay.people.length === 0) return say('replay.empty', {}, true);
  wordHeader();
  for (const person of replay.people) addPerson(person);
  await loaded();
}

/** A tile for `person` (with their video, if any) and their audio elements. @param {Person} person */
function addPerson(person) {
  const tile = document.createElement('figure');
  tile.className = 'replay-tile';
  tile.dataset.peer = person.peer;
  const note = document.createElement('p');
  note.className = 'replay-note';
  const name = document.createElement('figcaption');
  name.className = 'replay-name';
  name.dataset.name = person.name;
  tile.append(note, name);
  for (const track of person.tracks) {
    const media = document.createElement(track.kind);
    media.preload = 'auto';
    media.src = track.url;
    if (media instanceof HTMLVideoElement) {
      media.muted = true; // its sound is the audio file's
      media.playsInline = true;
      tile.prepend(media);
    } else {
      media.hidden = true;
      tile.append(media);
    }
    /** @type {Player} */
    const player = { media, placed: null, failed: false, tile: track.kind === 'video' ? tile : null };
    media.addEventListener('loadedmetadata', () => {
      player.placed = place(track.startMs, track.endMs, media.duration);
      // Where it sits, for a look in the inspector (and the browser tests).
      media.dataset.start = String(player.placed.start);
      media.dataset.shift = String(player.placed.shift);
    }, { once: true });
    media.addEventListener('error', () => {
      player.failed = true;
      render();
    });
    players.push(player);
  }
  tile.dataset.video = String(person.tracks.some((x) => x.kind === 'video'));
  ui.tiles.append(tile);
}

/** Waits for every track's metadata (or its failure), then shows the controls. */
async function loaded() {
  const started = performance.now();
  while (players.some((p) => !p.placed && !p.failed) && performance.now() - started < LOAD_TIMEOUT_MS) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const placed = players.flatMap((p) => (p.placed ? [p.placed] : []));
  if (placed.length === 0) return say('replay.unplayable', {}, true);
  clock = new Clock(length(/** @type {Replay} */ (replay).startedMs, replay?.stoppedMs, placed));
  ui.seek.max = String(clock.duration);
  ui.controls.hidden = false;
  ui.tiles.dataset.count = String(ui.tiles.children.length);
  say(null);
  // Each element shows its first frame (or waits for its start).
  tick();
  setInterval(tick, TICK_MS);
}

/** Puts every element where the clock says, and the controls with it. */
function tick() {
  const now = performance.now();
  // A playing element that is buffering holds the clock where the last tick left it (at
  // most MAX_HOLD_MS), so the others wait for it rather than leave it behind.
  const was = clock.last;
  const buffering = clock.playing && players.some((p) => p.placed && !p.failed
    && was >= p.placed.start && was < p.placed.end && (p.media.seeking || p.media.readyState < 3));
  if (buffering) {
    holding ??= now;
    if (now - holding < MAX_HOLD_MS) clock.hold(now);
  } else {
    holding = null;
  }
  const pos = clock.position(now);
  for (const p of players) {
    if (!p.placed || p.failed) continue;
    const todo = plan(pos, clock.playing, p.placed, { time: p.media.currentTime, paused: p.media.paused });
    if (todo.seekTo !== null && !p.media.seeking) p.media.currentTime = todo.seekTo;
    if (todo.play && p.media.paused) p.media.play().catch(() => {});
    if (!todo.play && !p.media.paused) p.media.pause();
    if (p.tile) p.tile.dataset.phase = todo.phase;
  }
  render(pos);
}

/** The controls, and each tile's note, at clock position `pos`. @param {number} [pos] */
function render(pos = clock.position(performance.now())) {
  ui.play.textContent = t(clock.playing ? 'replay.pause' : 'replay.play');
  ui.play.setAttribute('aria-pressed', String(clock.playing));
  if (document.activeElement !== ui.seek) ui.seek.value = String(pos);
  const text = `${clockText(pos)} / ${clockText(clock.duration)}`;
  ui.time.textContent = text;
  ui.seek.setAttribute('aria-valuetext', text);
  for (const tile of ui.tiles.querySelectorAll('figure')) {
    const f = /** @type {HTMLElement} */ (tile);
    const mine = players.filter((p) => p.tile === f || p.media.parentElement === f);
    const video = mine.find((p) => p.media instanceof HTMLVideoElement);
    const name = /** @type {HTMLElement} */ (f.querySelector('.replay-name'));
    name.textContent = name.dataset.name || t('replay.unnamed');
    const note = /** @type {HTMLElement} */ (f.querySelector('.replay-note'));
    let key = null;
    /** @type {Record<string, string>} */
    let params = {};
    if (mine.length > 0 && mine.every((p) => p.failed)) key = 'replay.track_failed';
    else if (!video) key = 'replay.audio_only';
    else if (f.dataset.phase === 'before' && video.placed) {
      key = 'replay.starts_at';
      params = { time: clockText(video.placed.start) };
    } else if (f.dataset.phase === 'after') key = 'replay.ended';
    note.hidden = key === null;
    if (key) note.textContent = t(key, params);
  }
}

ui.play.addEventListener('click', () => {
  const now = performance.now();
  if (clock.playing) clock.pause(now);
  else clock.play(now);
  tick();
});
ui.seek.addEventListener('input', () => {
  clock.seek(Number(ui.seek.value), performance.now());
  tick();
});

load().catch((e) => say('replay.failed', { status: String(e) }, true));
