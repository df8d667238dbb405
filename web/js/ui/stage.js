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

export class Stage {
  /**
   * @param {{stage: HTMLElement, selfTile: HTMLElement, tileTemplate: HTMLTemplateElement}} ui
   * @param {(peerId: string) => PeerMedia} media the peer's state, from the room model
   */
  constructor(ui, media) {
    this.ui = ui;
    this.media = media;
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
    /** @type {HTMLElement} */ (tile.querySelector('.conn-text')).textContent =
      CONNECTION_TEXT[s.connectionState] ? t(CONNECTION_TEXT[s.connectionState]) : s.connectionState;
    tile.classList.toggle('has-video', s.hasVideo);
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

  /** @param {HTMLElement} tile */
  remove(tile) {
    tile.remove();
  }

  /**
   * Lays the tiles out in the grid that makes them largest.
   * @param {number} remotes how many peers have tiles
   */
  layout(remotes) {
    const stage = this.ui.stage;
    stage.dataset.count = String(remotes);
    // Alone: our own preview fills the stage. One other: they fill it and we float
    // picture-in-picture. More: everyone, us included, shares a grid (a viewer of a
    // broadcast has no tile of its own).
    const self = this.ui.selfTile.checkVisibility ? this.ui.selfTile.checkVisibility() : true;
    const n = remotes <= 1 ? 1 : remotes + (self ? 1 : 0);
    const gap = 8;
    const width = stage.clientWidth || window.innerWidth;
    const height = stage.clientHeight || window.innerHeight;
    let best = { cols: 1, rows: 1, area: -1 };
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = (width - gap * (cols - 1)) / cols;
      const h = (height - gap * (rows - 1)) / rows;
      const tileW = Math.min(w, (h * 16) / 9);
      const area = tileW * ((tileW * 9) / 16);
      if (area > best.area + 1) best = { cols, rows, area };
    }
    stage.style.setProperty('--cols', String(best.cols));
    stage.style.setProperty('--rows', String(best.rows));
  }
}
