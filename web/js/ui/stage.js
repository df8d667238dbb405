// The stage: one tile per peer we have media with (`.remote[data-peer-id]`, see
// docs/web-test-contract.md), next to our own, laid out as the grid that makes them
// largest. A transport (media/mesh.js) asks for a tile when media with a peer starts and
// reports its connection state; what a tile says about the peer's microphone, camera and
// screen comes from the room model only (`Room.media`), through `renderMedia`.

import { trimName } from '../net/rules.js';
import { t } from '../i18n/i18n.js';

/** @typedef {import('../room/room.js').PeerMedia} PeerMedia */

/** The catalog key for what a tile says about its connection. @type {Record<RTCPeerConnectionState, string>} */
const CONNECTION_TEXT = {
  new: 'tile.connecting',
  connecting: 'tile.connecting',
  connected: 'tile.connected',
  disconnected: 'tile.reconnecting',
  failed: 'tile.failed',
  closed: 'tile.ended',
};

/** @param {string} name */
export function initialOf(name) {
  const first = [...trimName(name)][0];
  return first ? first.toUpperCase() : '?';
}

/**
 * A new tile and what plays in it.
 * @typedef {object} Tile
 * @property {HTMLElement} tile
 * @property {HTMLVideoElement} video where the peer's media plays
 * @property {() => void} autoplayBlocked shows "Click to hear"
 */

/**
 * What a tile shows about its connection.
 * @typedef {object} TileState
 * @property {string} peerId
 * @property {RTCPeerConnectionState} connectionState
 * @property {boolean} hasVideo a first frame was decoded
 * @property {string} name
 */

/**
 * A shown tile whose camera is on and that has had a picture but no new frame for this
 * long says its connection is interrupted, at once, instead of "Connected" over a frozen
 * picture (ICE itself takes seconds to notice).
 */
export const STALL_MS = 1_500;

/** Gap between tiles, in CSS pixels (the stage's `--gap`). */
const GAP = 8;

/** The narrowest a tile may be before the grid pages instead (a face still shows). */
export const MIN_TILE_WIDTH = 200;

/**
 * The grid that makes `n` 16:9 tiles largest in `width` x `height`.
 * @param {number} n
 * @param {number} width
 * @param {number} height
 */
export function bestGrid(n, width, height) {
  let best = { cols: 1, rows: 1, area: -1, tileW: 0 };
  for (let cols = 1; cols <= Math.max(n, 1); cols++) {
    const rows = Math.ceil(n / cols);
    const w = (width - GAP * (cols - 1)) / cols;
    const h = (height - GAP * (rows - 1)) / rows;
    const tileW = Math.min(w, (h * 16) / 9);
    const area = tileW * ((tileW * 9) / 16);
    if (area > best.area + 1) best = { cols, rows, area, tileW };
  }
  return best;
}

/**
 * How many remote tiles one page holds: the most that, with our own `self` tiles, still
 * get `MIN_TILE_WIDTH` (at least one).
 * @param {number} width
 * @param {number} height
 * @param {number} self
 */
export function pageSize(width, height, self) {
  let n = 1;
  while (n < 100 && bestGrid(n + 1 + self, width, height).tileW >= MIN_TILE_WIDTH) n++;
  return n;
}

/**
 * Page `page` of `count` tiles, `perPage` a page (kept in range as tiles come and go).
 * @param {number} count
 * @param {number} perPage
 * @param {number} page
 */
export function paging(count, perPage, page) {
  const pages = Math.max(1, Math.ceil(count / Math.max(perPage, 1)));
  const p = Math.min(Math.max(page, 0), pages - 1);
  return { pages, page: p, start: p * perPage, end: Math.min(count, (p + 1) * perPage) };
}

export class Stage {
  /**
   * @param {{stage: HTMLElement, selfTile: HTMLElement, tileTemplate: HTMLTemplateElement}} ui
   * @param {(peerId: string) => PeerMedia} media the peer's state, from the room model
   * @param {(peerId: string) => boolean} [away] the server says the peer's connection
   *   dropped (it holds their place for a resume)
   */
  constructor(ui, media, away = () => false) {
    this.ui = ui;
    this.media = media;
    this.away = away;
    /** When each video last showed a new frame (performance.now()). @type {WeakMap<HTMLVideoElement, number>} */
    this.lastFrame = new WeakMap();
    /** @type {ReturnType<typeof setInterval> | null} */
    this.stallTimer = null;
    /** The grid page shown (0-based). */
    this.page = 0;
    /** Pages at the last layout. */
    this.pages = 1;
    /** Remote tiles at the last layout. */
    this.remotes = 0;
    const q = (/** @type {string} */ id) => /** @type {HTMLElement | null} */ (ui.stage.querySelector(`#${id}`));
    /** The pager (absent in tests' fake stages). */
    this.pager = { nav: q('pager'), prev: q('page-prev'), next: q('page-next'), of: q('page-of') };
    this.pager.prev?.addEventListener('click', () => this.turn(-1));
    this.pager.next?.addEventListener('click', () => this.turn(1));
  }

  /** Shows the grid page `by` away. @param {number} by */
  turn(by) {
    this.page = Math.min(Math.max(this.page + by, 0), this.pages - 1);
    this.layout(this.remotes);
  }

  /**
   * Adds a tile for `peerId`, before our own.
   * @param {string} peerId
   * @param {string} name
   * @returns {Tile}
   */
  create(peerId, name) {
    const frag = /** @type {DocumentFragment} */ (this.ui.tileTemplate.content.cloneNode(true));
    const tile = /** @type {HTMLElement} */ (frag.querySelector('.tile'));
    tile.dataset.peerId = peerId;
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    const unmute = /** @type {HTMLButtonElement} */ (tile.querySelector('button.unmute'));
    unmute.setAttribute('aria-label', t('tile.play_sound', { name }));
    unmute.addEventListener('click', () => {
      video.muted = false;
      video.play().catch(() => {});
      unmute.hidden = true;
    });
    this.ui.stage.insertBefore(tile, this.ui.selfTile);
    this.countFrames(video);
    this.stallTimer ??= setInterval(() => this.checkStalls(), 500);
    return {
      tile,
      video,
      autoplayBlocked: () => {
        unmute.hidden = false;
      },
    };
  }

  /**
   * Shows a tile's connection state, name, and the peer's media state.
   * @param {HTMLElement} tile
   * @param {TileState} s
   */
  render(tile, s) {
    tile.dataset.peerId = s.peerId;
    tile.dataset.state = s.connectionState;
    tile.classList.toggle('has-video', s.hasVideo);
    this.sayConnection(tile);
    this.renderMedia(tile, s.peerId);
    /** @type {HTMLElement} */ (tile.querySelector('.peer-name')).textContent = s.name;
    /** @type {HTMLElement} */ (tile.querySelector('.initial')).textContent = initialOf(s.name);
  }

  /**
   * The one place a tile shows a peer's microphone, camera and screen.
   * @param {HTMLElement} tile
   * @param {string} peerId
   */
  renderMedia(tile, peerId) {
    const m = this.media(peerId);
    tile.classList.toggle('mic-off', m.micMuted);
    tile.classList.toggle('cam-off', m.camOff);
    tile.classList.toggle('presenting', m.screen);
    tile.dataset.micMuted = String(m.micMuted);
    tile.dataset.screen = String(m.screen);
  }

  /**
   * A peer's new name on its tile (it renamed itself).
   * @param {string} peerId
   * @param {string} name
   */
  rename(peerId, name) {
    for (const tile of /** @type {NodeListOf<HTMLElement>} */ (this.ui.stage.querySelectorAll('.tile.remote'))) {
      if (tile.dataset.peerId !== peerId) continue;
      /** @type {HTMLElement} */ (tile.querySelector('.peer-name')).textContent = name;
      /** @type {HTMLElement} */ (tile.querySelector('.initial')).textContent = initialOf(name);
    }
  }

  /** @param {HTMLElement} tile */
  remove(tile) {
    tile.remove();
  }

  /**
   * What the tile's corner says: interrupted while stalled, else the connection state.
   * @private
   * @param {HTMLElement} tile
   */
  sayConnection(tile) {
    const state = /** @type {RTCPeerConnectionState} */ (tile.dataset.state ?? 'new');
    const key = tile.classList.contains('stalled') ? 'tile.stalled' : CONNECTION_TEXT[state];
    /** @type {HTMLElement} */ (tile.querySelector('.conn-text')).textContent = key ? t(key) : state;
  }

  /**
   * Notes each new frame `video` shows (requestVideoFrameCallback, where the browser has
   * it; without it tiles never stall).
   * @private
   * @param {HTMLVideoElement} video
   */
  countFrames(video) {
    if (typeof video.requestVideoFrameCallback !== 'function') return;
    const onFrame = () => {
      this.lastFrame.set(video, performance.now());
      if (video.isConnected) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  /**
   * Marks tiles `stalled` (class and words) while the server says the peer dropped, or
   * while a tile that should move (shown, on this page, camera on or a screen, a picture
   * seen before) has shown no new frame for `STALL_MS`; unmarks them when frames come.
   * @private
   */
  checkStalls() {
    const now = performance.now();
    for (const tile of /** @type {NodeListOf<HTMLElement>} */ (this.ui.stage.querySelectorAll('.tile.remote'))) {
      const peerId = tile.dataset.peerId ?? '';
      const video = /** @type {HTMLVideoElement | null} */ (tile.querySelector('video'));
      const last = video ? this.lastFrame.get(video) : undefined;
      const m = this.media(peerId);
      const shouldMove = last !== undefined && (!m.camOff || m.screen) && !tile.hidden &&
        !tile.classList.contains('off-page') && tile.dataset.state === 'connected' && document.visibilityState === 'visible';
      const stalled = this.away(peerId) || (shouldMove && now - last > STALL_MS);
      if (stalled === tile.classList.contains('stalled')) continue;
      tile.classList.toggle('stalled', stalled);
      this.sayConnection(tile);
    }
  }

  /**
   * Lays the tiles out in the grid that makes them largest.
   * @param {number} remotes how many peers have tiles
   */
  layout(remotes) {
    const stage = this.ui.stage;
    this.remotes = remotes;
    stage.dataset.count = String(remotes);
    // Alone: our own preview fills the stage. One other: they fill it and we float
    // picture-in-picture. More: everyone, us included, shares a grid (a viewer of a
    // broadcast has no tile of its own), in pages of what fits at a useful size.
    const self = this.ui.selfTile.checkVisibility ? this.ui.selfTile.checkVisibility() : true;
    const width = stage.clientWidth || window.innerWidth;
    const height = stage.clientHeight || window.innerHeight;
    const tiles = /** @type {HTMLElement[]} */ ([...stage.querySelectorAll('.tile.remote')]).filter((x) => !x.hidden);
    const speaker = stage.classList.contains('speaker-view');
    const perPage = speaker ? tiles.length : pageSize(width, height, self ? 1 : 0);
    const p = paging(tiles.length, perPage, this.page);
    Object.assign(this, { page: p.page, pages: p.pages });
    tiles.forEach((tile, i) => tile.classList.toggle('off-page', i < p.start || i >= p.end));
    const { nav, prev, next, of } = this.pager;
    if (nav) nav.hidden = p.pages <= 1;
    if (of) of.textContent = t('pager.of', { page: p.page + 1, pages: p.pages });
    if (prev) /** @type {HTMLButtonElement} */ (prev).disabled = p.page === 0;
    if (next) /** @type {HTMLButtonElement} */ (next).disabled = p.page === p.pages - 1;
    // Paged, every page is a grid with us in it (never the one-other layout).
    const shown = p.pages > 1 ? p.end - p.start : remotes;
    const n = p.pages === 1 && shown <= 1 ? 1 : shown + (self ? 1 : 0);
    const best = bestGrid(n, width, height);
    stage.style.setProperty('--cols', String(best.cols));
    stage.style.setProperty('--rows', String(best.rows));
  }
}
