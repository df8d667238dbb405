// `window.confab`: a read-only view of the app's state for the browser tests (see
// docs/web-test-contract.md). Every getter returns a copy, so tests cannot change state.

/** @typedef {import('../net/protocol.js').PeerInfo} PeerInfo */
/** @typedef {import('../net/protocol.js').ChatMessage} ChatMessage */

/**
 * @param {object} src
 * @param {() => string} src.state
 * @param {import('../room/room.js').Room} src.room who is here, our presence, role and lock
 * @param {() => string[]} src.errors
 * @param {() => ChatMessage[]} src.chat
 * @param {import('./calls.js').Calls} src.calls
 * @param {import('../media/callmedia.js').CallMedia} src.transport
 * @param {ReturnType<typeof import('./features.js').createCallFeatures>['debug']} src.features in-call features
 * @param {import('./speakers.js').Speakers} src.speakers who talks in our call through the router
 * @param {import('./layout.js').Layout} src.layout the grid or the speaker view, and the pin
 * @param {() => string[]} src.roomNotices every "joined" / "left" line shown, oldest first
 * @param {() => {connected: boolean, reconnects: number}} [src.signaling] the signaling
 *   connection: up or not, and how many replacement connections were opened
 * @param {() => {open: boolean, level: number, micOff: boolean, camOff: boolean}} [src.prejoin]
 *   the lobby's camera and microphone check
 */
export function installDebugHandle(src) {
  const { calls, transport, room } = src;
  const handle = Object.freeze(
    Object.defineProperties(
      {},
      {
        state: { enumerable: true, get: () => src.state() },
        peerId: { enumerable: true, get: () => room.myId },
        peers: {
          enumerable: true,
          get: () => [...room.peers.values()].map((p) => ({
            id: p.id, name: p.name, state: { ...p.state }, role: p.role ?? 'guest',
          })),
        },
        me: { enumerable: true, get: () => ({ ...room.me }) },
        role: { enumerable: true, get: () => room.role },
        locked: { enumerable: true, get: () => room.locked },
        callState: {
          enumerable: true,
          get: () => ({ idle: 'idle', ringing: 'ringing', inCall: 'in-call' })[room.me.status],
        },
        call: { enumerable: true, get: () => calls.snapshot() },
        notices: { enumerable: true, get: () => [...calls.notices] },
        errors: { enumerable: true, get: () => [...src.errors()] },
        chat: { enumerable: true, get: () => src.chat().map((m) => ({ ...m })) },
        pcs: { enumerable: true, value: () => transport.pcs() },
        stats: { enumerable: true, value: () => transport.stats() },
        transfers: { enumerable: true, get: () => src.features.transfers() },
        media: { enumerable: true, get: () => src.features.media() },
        peerStates: { enumerable: true, get: () => src.features.peerStates() },
        quality: { enumerable: true, value: () => src.features.quality() },
        speakers: { enumerable: true, get: () => src.speakers.snapshot() },
        layout: { enumerable: true, get: () => src.layout.snapshot() },
        roomNotices: { enumerable: true, get: () => [...src.roomNotices()] },
        prejoin: { enumerable: true, get: () => src.prejoin?.() ?? null },
        signaling: {
          enumerable: true,
          get: () => ({ ...(src.signaling?.() ?? { connected: true, reconnects: 0 }), rebound: transport.rebound }),
        },
      },
    ),
  );
  /** @type {any} */ (window).confab = handle;
}
