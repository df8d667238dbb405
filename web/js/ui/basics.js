// Meeting basics people expect from Meet and Jitsi, all on this page (no protocol): a
// call timer, keyboard shortcuts with a help sheet, a tile to fullscreen or float
// picture-in-picture (over other windows, while you work elsewhere), and a volume per
// person. Wired once by features.js; everything here reads the stage as it is.
//
// Shortcuts (not while typing in a field, and with no Ctrl, Alt or Meta except where
// named): M microphone, V camera, H raise or lower your hand, ? this list, Ctrl+Shift+H
// end the call (Teams' keys: hard to press by accident). The buttons do the work, so a
// shortcut does exactly what the button does, disabled buttons included.

import { t } from '../i18n/i18n.js';

/** Shortcut keys and the button each presses. */
const KEYS = { m: 'mic-toggle', v: 'cam-toggle', h: 'hand-toggle' };

/**
 * "m:ss" or "h:mm:ss".
 * @param {number} ms
 */
export function formatDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

/**
 * @param {{stage: HTMLElement, timer: HTMLElement, sheet: HTMLDialogElement,
 *   sheetButton: HTMLElement}} ui
 */
export function setupMeetingBasics(ui) {
  callTimer(ui.stage, ui.timer);
  shortcuts(ui.sheet, ui.sheetButton);
  tileTools(ui.stage);
}

/**
 * The time since the call first had someone else in it, while it does (the stage's
 * count of remote tiles), each second.
 * @param {HTMLElement} stage
 * @param {HTMLElement} timer
 */
function callTimer(stage, timer) {
  /** @type {number | null} */
  let since = null;
  const tick = () => {
    const inCall = Number(stage.dataset.count ?? '0') > 0;
    if (inCall && since === null) since = Date.now();
    if (!inCall) since = null;
    timer.hidden = since === null;
    if (since !== null) {
      timer.textContent = formatDuration(Date.now() - since);
      timer.setAttribute('aria-label', t('basics.timer', { time: timer.textContent }));
    }
  };
  new MutationObserver(tick).observe(stage, { attributes: true, attributeFilter: ['data-count'] });
  setInterval(tick, 1000);
  tick();
}

/**
 * Keyboard shortcuts, and the sheet listing them (opened by `?` or its menu item).
 * @param {HTMLDialogElement} sheet
 * @param {HTMLElement} sheetButton
 */
function shortcuts(sheet, sheetButton) {
  const open = () => {
    if (!sheet.open) sheet.showModal();
  };
  sheetButton.addEventListener('click', open);
  sheet.querySelector('.sheet-close')?.addEventListener('click', () => sheet.close());
  document.addEventListener('keydown', (ev) => {
    const target = /** @type {HTMLElement | null} */ (ev.target instanceof HTMLElement ? ev.target : null);
    const typing = target?.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
    if (typing || ev.repeat || ev.isComposing) return;
    const inRoom = !document.getElementById('room-view')?.hidden;
    if (!inRoom) return;
    if (ev.ctrlKey && ev.shiftKey && !ev.altKey && !ev.metaKey && ev.key.toLowerCase() === 'h') {
      ev.preventDefault();
      press('hangup');
      return;
    }
    if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
    if (ev.key === '?') {
      ev.preventDefault();
      open();
      return;
    }
    const id = KEYS[/** @type {keyof typeof KEYS} */ (ev.key.toLowerCase())];
    if (id && !ev.shiftKey) {
      ev.preventDefault();
      press(id);
    }
  });
}

/** Clicks button `id` if it is there, shown and enabled. @param {string} id */
function press(id) {
  const b = /** @type {HTMLButtonElement | null} */ (document.getElementById(id));
  if (b && !b.disabled && !b.hidden && b.checkVisibility?.() !== false) b.click();
}

/**
 * Each remote tile's fullscreen button and volume slider; a person's volume is kept
 * while we stay on the page, so their tile made again (a reconnect, the move to the
 * router) plays at the volume chosen.
 * @param {HTMLElement} stage
 */
function tileTools(stage) {
  /** @type {Map<string, number>} */
  const volumes = new Map();
  stage.addEventListener('click', (ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    const full = target.closest?.('.fullscreen-tile');
    const tile = /** @type {HTMLElement | null} */ (full?.closest('.tile') ?? null);
    if (tile) {
      if (document.fullscreenElement === tile) document.exitFullscreen().catch(() => {});
      else tile.requestFullscreen?.().catch(() => {});
    }
    const pip = target.closest?.('.pip-tile');
    const video = /** @type {HTMLVideoElement | null} */ (pip?.closest('.tile')?.querySelector('video') ?? null);
    if (video) {
      if (document.pictureInPictureElement === video) document.exitPictureInPicture().catch(() => {});
      else video.requestPictureInPicture().catch(() => {});
    }
  });
  const pipPressed = () => {
    for (const b of stage.querySelectorAll('.pip-tile')) {
      b.setAttribute('aria-pressed', String(b.closest('.tile')?.querySelector('video') === document.pictureInPictureElement));
    }
  };
  stage.addEventListener('enterpictureinpicture', pipPressed, true);
  stage.addEventListener('leavepictureinpicture', pipPressed, true);
  stage.addEventListener('input', (ev) => {
    const slider = /** @type {HTMLInputElement} */ (ev.target);
    if (!slider.classList?.contains('tile-volume')) return;
    const tile = /** @type {HTMLElement | null} */ (slider.closest('.tile'));
    const video = tile?.querySelector('video');
    const peer = tile?.dataset.peerId;
    if (!video || !peer) return;
    const volume = Number(slider.value) / 100;
    video.volume = volume;
    volumes.set(peer, volume);
    tile.classList.toggle('quiet-volume', volume === 0);
  });
  const label = () => {
    for (const tile of /** @type {NodeListOf<HTMLElement>} */ (stage.querySelectorAll('.tile.remote'))) {
      const name = tile.querySelector('.peer-name')?.textContent ?? '';
      const peer = tile.dataset.peerId ?? '';
      const slider = /** @type {HTMLInputElement | null} */ (tile.querySelector('.tile-volume'));
      slider?.setAttribute('aria-label', t('basics.volume', { name }));
      tile.querySelector('.fullscreen-tile')?.setAttribute('aria-label', t('basics.fullscreen', { name }));
      const pip = /** @type {HTMLElement | null} */ (tile.querySelector('.pip-tile'));
      if (pip) {
        pip.hidden = !document.pictureInPictureEnabled;
        pip.setAttribute('aria-label', t('basics.pip', { name }));
      }
      const kept = volumes.get(peer);
      const video = tile.querySelector('video');
      if (kept !== undefined && slider && video && Number(slider.value) !== Math.round(kept * 100)) {
        slider.value = String(Math.round(kept * 100));
        video.volume = kept;
      }
    }
  };
  new MutationObserver(label).observe(stage, { childList: true, subtree: true, characterData: true });
  document.addEventListener('fullscreenchange', () => {
    for (const b of stage.querySelectorAll('.fullscreen-tile')) {
      b.setAttribute('aria-pressed', String(b.closest('.tile') === document.fullscreenElement));
    }
  });
}
