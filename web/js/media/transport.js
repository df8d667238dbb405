// What carries a call's media, as the rest of the client sees it. The server decides who
// is in our call (presence, see room/room.js); a transport only keeps media flowing with
// exactly those peers. `CallMedia` (media/callmedia.js) implements it over two ways of
// carrying media: the mesh (media/mesh.js: one RTCPeerConnection per member, SDP and ICE
// relayed by the server) for small calls, and the server's router (media/sfu.js: one
// connection to the SFU, which forwards the others' tracks) once the server says the
// call uses it; the UI and the call logic (ui/calls.js, ui/app.js) see one shape.
//
// What goes in and out:
// - local tracks: the transport reads the local stream (context `localStream`) when it
//   opens media with a peer, and `replaceTrack(kind, track)` swaps a track everywhere
//   without renegotiation (device switch, screen share).
// - remote media: per peer, in the tile the UI gives it (`Stage.create`, ui/stage.js);
//   the transport reports each peer's connection with `onAdded`/`onRemoved`/`onChange`.
// - mute state out: our microphone and camera state goes to the room through the
//   signaling server (`media`, echoed as presence), whatever the transport. The mesh also
//   sends it on each call's control channel (p2p/incall.js), which is faster but exists
//   only peer to peer; the room model merges whichever report arrives (Room.media).
// - stats: `stats()` and `pcs()` for the debug handle and the quality panel.
// - close: `close(peerId)`, `closeAll()` (we left the call), `reset()` (a new room).

/** @typedef {import('./call.js').CallStats} CallStats */

/**
 * A relayed media-signaling message from the server, for the transport that uses them.
 * @typedef {import('../net/types.js').RemoteOfferMsg | import('../net/types.js').RemoteAnswerMsg |
 *   import('../net/types.js').RemoteCandidateMsg | import('../net/types.js').RemoteHangupMsg} MediaSignal
 */

/**
 * @typedef {object} Transport
 * @property {number} size how many peers we have media with
 * @property {(members: string[]) => void} joinCall we just joined a call with these
 *   members: start media with each (in the mesh, the joiner offers)
 * @property {(members: Set<string>) => void} sync keep media with exactly these members
 *   of our call (empty: none); newcomers start it themselves
 * @property {(peerId: string) => void} close stop media with one peer
 * @property {() => void} closeAll we left the call
 * @property {() => void} reset a new room (or none): forget everything
 * @property {(msg: MediaSignal, isMember: boolean) => void} handleSignal SDP, ICE or a
 *   hangup relayed from `msg.from`; `isMember`: whether that peer is in our call
 * @property {() => void} resumeSignaling the signaling connection is back (resumed):
 *   resend what may have been lost
 * @property {(kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<unknown>} replaceTrack
 *   sends `track` instead of the current one of its kind, to every peer
 * @property {() => void} renderTiles re-render every tile (names or media state changed)
 * @property {() => Record<string, RTCPeerConnection>} pcs the live connections, by peer
 * @property {() => Promise<Record<string, CallStats>>} stats per peer
 */

export {};
