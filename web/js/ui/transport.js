// The call's transport, put together: the mesh (media/mesh.js) and the connection to the
// server's SFU (media/sfu.js) behind `CallMedia` (media/callmedia.js), both playing in
// the stage's tiles. app.js hands in what they read from the app, as functions, so the
// state they see is always the current one.

import { CallMedia, MOVED } from '../media/callmedia.js';
import { Mesh } from '../media/mesh.js';
import { SfuLink } from '../media/sfu.js';

/**
 * @typedef {object} TransportDeps
 * @property {() => import('../net/signaling.js').Signaling | null} signaling
 * @property {() => string | null} myId
 * @property {() => RTCIceServer[]} iceServers
 * @property {() => MediaStream | null} localStream
 * @property {() => number | null} joinedAt
 * @property {(peerId: string) => string} nameOf
 * @property {(peerId: string) => boolean} isInRoom
 * @property {() => void} onChange
 * @property {() => ReturnType<typeof import('./features.js').createCallFeatures>} features
 *   the in-call features (made after the transport: read when a call starts)
 * @property {(peerId: string) => void} onRebound see Mesh's `onRebound`
 */

/**
 * @param {import('./stage.js').Stage} stage
 * @param {TransportDeps} d
 */
export function createTransport(stage, d) {
  const mesh = new Mesh(stage, {
    signaling: d.signaling,
    myId: d.myId,
    iceServers: d.iceServers,
    localStream: d.localStream,
    joinedAt: d.joinedAt,
    nameOf: d.nameOf,
    onChange: d.onChange,
    callOptions: () => d.features().callOptions,
    onAdded: (call, tile) => d.features().added(call, tile),
    onRemoved: (peerId) => d.features().removed(peerId),
    isInRoom: d.isInRoom,
    onRebound: d.onRebound,
  });
  const sfu = new SfuLink(stage, {
    signaling: d.signaling,
    iceServers: d.iceServers,
    localStream: d.localStream,
    joinedAt: d.joinedAt,
    nameOf: d.nameOf,
    onChange: () => {
      d.features().transportChanged();
      d.onChange();
    },
    onFirstFrame: (peerId) => transport.onFirstFrame(peerId),
  });
  const transport = new CallMedia(mesh, sfu, stage, {
    tell: (peerId) => d.features().control.send(peerId, { type: MOVED }),
    listen: (fn) => d.features().control.on(MOVED, fn),
  });
  return { transport, sfu };
}
