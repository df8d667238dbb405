// What the server says of a recording for the replay page (`GET /recordings/<room>/<id>`,
// docs/protocol.md "recordings"), checked and grouped by person. DOM-free.

/**
 * One track: a file of one person's audio or video.
 * @typedef {object} Track
 * @property {'audio' | 'video'} kind
 * @property {string} peer
 * @property {string} name their display name ('' if the recording does not say)
 * @property {number} startMs where its first frame sits in the recording
 * @property {number} endMs where it ends (0 if the recording does not say)
 * @property {string} url its file's signed link (a path on this server)
 */

/**
 * One person's tracks, in the order their tile shows them.
 * @typedef {object} Person
 * @property {string} peer
 * @property {string} name
 * @property {Track[]} tracks
 */

/**
 * @typedef {object} Replay
 * @property {string} room
 * @property {string} id
 * @property {number} startedMs
 * @property {number} [stoppedMs]
 * @property {Person[]} people in order of their first track's start
 */

/** Most tracks the page plays (the server lists at most 256). */
export const MAX_TRACKS = 256;

/** @param {unknown} v @returns {v is Record<string, unknown>} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** @param {unknown} v @returns {v is number} */
const isUint = (v) => Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0;

/**
 * A track of the server's answer, if it is one (its link must be a recording's on this
 * server: the page fetches nothing else).
 * @param {unknown} v
 * @returns {Track | null}
 */
function checkTrack(v) {
  if (!isObject(v)) return null;
  const { kind, peer, name, startMs, url } = v;
  const endMs = v.endMs ?? 0;
  if ((kind !== 'audio' && kind !== 'video') || typeof peer !== 'string' || typeof name !== 'string'
    || !isUint(startMs) || !isUint(endMs) || typeof url !== 'string' || !url.startsWith('/recordings/')) return null;
  return { kind, peer, name, startMs, endMs, url };
}

/**
 * The server's answer as a replay, or null if it is not one.
 * @param {unknown} v
 * @returns {Replay | null}
 */
export function checkReplay(v) {
  if (!isObject(v) || typeof v.room !== 'string' || typeof v.id !== 'string' || !isUint(v.startedMs)
    || (v.stoppedMs !== undefined && !isUint(v.stoppedMs)) || !Array.isArray(v.tracks)) return null;
  const tracks = v.tracks.slice(0, MAX_TRACKS).map(checkTrack);
  if (tracks.some((x) => x === null)) return null;
  return {
    room: v.room,
    id: v.id,
    startedMs: v.startedMs,
    ...(v.stoppedMs === undefined ? {} : { stoppedMs: /** @type {number} */ (v.stoppedMs) }),
    people: byPerson(/** @type {Track[]} */ (tracks)),
  };
}

/**
 * Tracks grouped by person: video before audio, people by their earliest start (then by
 * name), so the tiles read in the order people appeared.
 * @param {Track[]} tracks
 * @returns {Person[]}
 */
export function byPerson(tracks) {
  /** @type {Map<string, Person>} */
  const people = new Map();
  for (const track of tracks) {
    const p = people.get(track.peer) ?? { peer: track.peer, name: '', tracks: [] };
    if (!p.name && track.name) p.name = track.name;
    p.tracks.push(track);
    people.set(track.peer, p);
  }
  const first = (/** @type {Person} */ p) => Math.min(...p.tracks.map((x) => x.startMs));
  for (const p of people.values()) p.tracks.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1));
  return [...people.values()].sort((a, b) => first(a) - first(b) || a.name.localeCompare(b.name));
}
