// Making an SFU call again after its router went away: the server node that ran the
// call died and the room was made again on another one (or the server restarted). A
// mesh call's peer connections survive that and are rebound (media/mesh.js); an SFU
// call's one connection goes with the router, so the call is made again with the people
// who were in it, as they come back: the one with the smallest peer id among those here
// invites the others, who accept without asking (they were in the call already).

/** @typedef {import('../room/room.js').Room} Room */
/** @typedef {import('./calls.js').Calls} Calls */

/** How long after the room came back people who were in the call are waited for. */
const RECALL_MS = 30_000;

/** One per room model: it outlives each signaling connection. @type {WeakMap<Room, Recall>} */
const byRoom = new WeakMap();

export class Recall {
  /**
   * The recall of `room`'s calls (made once, kept with the room model).
   * @param {Room} room
   * @param {Calls} calls
   */
  static of(room, calls) {
    let r = byRoom.get(room);
    if (!r) {
      r = new Recall(room, calls);
      byRoom.set(room, r);
    }
    return r;
  }

  /**
   * @param {Room} room
   * @param {Calls} calls
   */
  constructor(room, calls) {
    this.room = room;
    this.calls = calls;
    /** Who was in the call with us. @type {Set<string>} */
    this.peers = new Set();
    /** Those invited so far. @type {Set<string>} */
    this.invited = new Set();
    this.until = 0;
  }

  /**
   * The room came back without our SFU call, whose other members were `peers`.
   * @param {string[]} peers
   */
  start(peers) {
    this.peers = new Set(peers);
    this.invited.clear();
    this.until = peers.length ? Date.now() + RECALL_MS : 0;
    this.tryInvite();
  }

  /**
   * Whether an invitation from `peerId` re-creates the call (accept it without asking).
   * @param {string} peerId
   */
  expects(peerId) {
    return Date.now() < this.until && this.peers.has(peerId);
  }

  /** `peerId` is (back) in the room. @param {string} peerId */
  arrived(peerId) {
    if (this.expects(peerId)) this.tryInvite();
  }

  /** The smallest id among us and those back calls them; the others wait. @private */
  tryInvite() {
    const me = this.room.myId;
    if (!me || Date.now() >= this.until) return;
    const back = [...this.peers].filter((id) => this.room.peers.has(id));
    if (back.length === 0 || back.some((id) => id < me)) return;
    for (const id of back) {
      if (this.invited.has(id)) continue;
      this.invited.add(id);
      this.calls.invite(id);
    }
  }
}
