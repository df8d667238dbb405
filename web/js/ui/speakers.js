// Active speakers: in calls through the media router the server's `activeSpeakers` list
// (loudest first, at most three; docs/protocol.md), in mesh calls our own reading of the
// audio levels each peer's packets carry (media/levels.js, every 250 ms while the page is
// shown), marks the tiles of those talking with the `speaking` class, the loudest also
// with `data-loudest`, and clears every other remote tile. Tiles made after the message
// (the router's tile replacing a mesh tile, a late video) are marked as they appear. A list of a call we are not in any more is
// dropped, and leaving the call clears the marks (`follow`).
//
// The server measures who talks through the router (crates/sfu/src/speakers.rs); peer to
// peer, levels.js does the same on the page.

import { LevelSpeakers, ReceivedLevels } from '../media/levels.js';

/** @typedef {import('../net/protocol.js').ActiveSpeakersMsg} ActiveSpeakersMsg */

export class Speakers {
  /**
   * @param {HTMLElement} stage the element holding the tiles (`.tile.remote[data-peer-id]`)
   * @param {{meshPcs: () => Record<string, RTCPeerConnection> | null, myCall: () => number | null}} [mesh]
   *   our mesh call's connections by peer (null when the call goes through the router)
   *   and the call we are in
   */
  constructor(stage, mesh) {
    this.stage = stage;
    /** Reads the mesh's levels (made by `watchMesh`). @type {LevelSpeakers | null} */
    this.detector = null;
    if (mesh) this.watchMesh(mesh);
    /** The call the list belongs to, or null. @type {number | null} */
    this.call = null;
    /** Peer ids talking now, loudest first. @type {string[]} */
    this.list = [];
    /** Called after the list changed. @type {Array<() => void>} */
    this.listeners = [];
    // Only the stage's own children: marking tiles changes attributes, not children, so
    // this never feeds itself.
    if (typeof MutationObserver === 'function') {
      new MutationObserver(() => this.apply()).observe(stage, { childList: true });
    }
  }

  /**
   * The server's new list, if it is for the call we are in.
   * @param {ActiveSpeakersMsg} msg
   * @param {number | null} myCall
   */
  handle(msg, myCall) {
    if (msg.call !== myCall) return;
    this.call = msg.call;
    this.list = [...msg.speakers];
    this.apply();
    for (const fn of this.listeners) fn();
  }

  /**
   * Reads the mesh call's audio levels every 250 ms and shows who talks.
   * @private
   * @param {{meshPcs: () => Record<string, RTCPeerConnection> | null, myCall: () => number | null}} mesh
   */
  watchMesh(mesh) {
    const detector = new LevelSpeakers();
    const levels = new ReceivedLevels();
    this.detector = detector;
    let reading = false;
    setInterval(async () => {
      const pcs = mesh.meshPcs();
      const call = mesh.myCall();
      if (!pcs || call === null || document.hidden || reading) return;
      reading = true;
      try {
        const list = detector.update(await levels.read(pcs));
        // The call may have ended while the stats were read.
        if (mesh.myCall() !== call) return;
        if (list.join() !== this.list.join() || this.call !== call) {
          this.handle({ type: 'activeSpeakers', call, speakers: list }, call);
        }
      } finally {
        reading = false;
      }
    }, 250);
  }

  /** Calls `fn` after every change of the list. @param {() => void} fn */
  onChange(fn) {
    this.listeners.push(fn);
  }

  /**
   * Our call changed (or ended, `null`): a list for another call is dropped.
   * @param {number | null} myCall
   */
  follow(myCall) {
    if (this.call === null || this.call === myCall) return;
    this.call = null;
    this.list = [];
    this.apply();
    for (const fn of this.listeners) fn();
  }

  /**
   * What the debug handle shows: the call and who talks in it, loudest first, and in a
   * mesh call each peer's smoothed level as read here.
   */
  snapshot() {
    const levels = Object.fromEntries([...(this.detector?.smoothed ?? [])].map(([id, v]) => [id, Math.round(v * 1000) / 1000]));
    return { call: this.call, speakers: [...this.list], levels };
  }

  /** Marks the tiles of the speakers and clears the others. */
  apply() {
    for (const tile of /** @type {NodeListOf<HTMLElement>} */ (this.stage.querySelectorAll('.tile.remote'))) {
      const id = tile.dataset.peerId ?? '';
      const speaking = this.list.includes(id);
      tile.classList.toggle('speaking', speaking);
      if (speaking && this.list[0] === id) tile.dataset.loudest = '';
      else delete tile.dataset.loudest;
    }
  }
}
