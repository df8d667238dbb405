// How the call's tiles are laid out: a grid of equals (the default), or the speaker view,
// where one tile fills the stage and the others run in a strip below it. The big tile is
// the one pinned, else whoever the router says is loudest (`activeSpeakers`, see
// speakers.js), else the last one shown big (nobody talking does not reshuffle the
// stage), else the first. Every remote tile has a pin button; pinning a tile switches to
// the speaker view with it big, pinning it again unpins. Applies with two or more remote
// tiles; with one the stage is already that person.

import { t } from '../i18n/i18n.js';

/** @typedef {import('./speakers.js').Speakers} Speakers */

/** @typedef {'grid' | 'speaker'} LayoutMode */

export class Layout {
  /**
   * @param {HTMLElement} stage the element holding the tiles
   * @param {Speakers} speakers who talks, loudest first
   * @param {HTMLButtonElement} toggle the "Speaker view" / "Grid view" menu item
   */
  constructor(stage, speakers, toggle) {
    this.stage = stage;
    this.speakers = speakers;
    this.toggle = toggle;
    /** @type {LayoutMode} */
    this.mode = 'grid';
    /** The pinned peer, or null. @type {string | null} */
    this.pinned = null;
    /** The peer shown big last. @type {string | null} */
    this.last = null;
    toggle.addEventListener('click', () => this.setMode(this.mode === 'grid' ? 'speaker' : 'grid'));
    stage.addEventListener('click', (ev) => {
      const pin = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (ev.target).closest?.('.pin-tile'));
      const id = pin?.closest('.tile')?.getAttribute('data-peer-id');
      if (id) this.pin(id);
    });
    if (typeof MutationObserver === 'function') {
      new MutationObserver(() => this.apply()).observe(stage, { childList: true });
    }
  }

  /** @param {LayoutMode} mode */
  setMode(mode) {
    this.mode = mode;
    if (mode === 'grid') this.pinned = null;
    this.apply();
  }

  /** Pins `peerId` (big, in the speaker view), or unpins it. @param {string} peerId */
  pin(peerId) {
    if (this.pinned === peerId) {
      this.pinned = null;
    } else {
      this.pinned = peerId;
      this.mode = 'speaker';
    }
    this.apply();
  }

  /** A new call (or none): back to the grid, nothing pinned. */
  reset() {
    this.pinned = null;
    this.last = null;
    this.setMode('grid');
  }

  /** @returns {HTMLElement[]} the remote tiles on show */
  tiles() {
    return [.../** @type {NodeListOf<HTMLElement>} */ (this.stage.querySelectorAll('.tile.remote'))]
      .filter((tile) => !tile.hidden);
  }

  /** The peer shown big in the speaker view (see the header), or null. */
  featured() {
    const ids = this.tiles().map((tile) => tile.dataset.peerId ?? '');
    const pick = [this.pinned, ...this.speakers.list, this.last, ids[0]];
    return pick.find((id) => id && ids.includes(id)) ?? null;
  }

  /** What the debug handle shows. */
  snapshot() {
    return { mode: this.mode, pinned: this.pinned, featured: this.mode === 'speaker' ? this.featured() : null };
  }

  /** Marks the stage and the big tile; words the toggle and the pins. */
  apply() {
    const tiles = this.tiles();
    const speaker = this.mode === 'speaker' && tiles.length >= 2;
    const featured = speaker ? this.featured() : null;
    if (featured) this.last = featured;
    this.stage.classList.toggle('speaker-view', speaker);
    for (const tile of /** @type {NodeListOf<HTMLElement>} */ (this.stage.querySelectorAll('.tile'))) {
      const id = tile.dataset.peerId ?? null;
      tile.classList.toggle('featured', id !== null && id === featured);
      const pin = tile.querySelector('.pin-tile');
      if (pin) {
        const pinned = id !== null && id === this.pinned;
        pin.setAttribute('aria-pressed', String(pinned));
        const name = tile.querySelector('.peer-name')?.textContent ?? '';
        pin.setAttribute('aria-label', t(pinned ? 'layout.unpin' : 'layout.pin', { name }));
        pin.setAttribute('title', t(pinned ? 'layout.unpin' : 'layout.pin', { name }));
      }
    }
    const label = /** @type {HTMLElement | null} */ (this.toggle.querySelector('span'));
    if (label) label.textContent = t(this.mode === 'grid' ? 'layout.speaker' : 'layout.grid');
  }
}
