// ICE configuration the tests impose on the web client, and ICE facts read back from it.
//
// The web client takes its ICE servers from the signaling `welcome` message and has no
// "relay only" switch (web/js/call.js builds `new RTCPeerConnection({iceServers,
// bundlePolicy})`). So the tests impose the ICE policy from outside: `iceInitScript`
// returns a script, given to Playwright's `addInitScript` (BrowserSpec.initScripts), that
// runs before the page's own scripts and replaces `window.RTCPeerConnection` with a
// wrapper that
//   - forces `iceTransportPolicy` ('relay' = relay candidates only), and
//   - keeps only the ICE server URLs matching a pattern (so the same server-side list can
//     be narrowed to "STUN only", "TURN over TCP only", ...; this is how the variants are
//     selected when confab itself hands out every URL of its built-in TURN server),
// on construction and on `setConfiguration`. Everything else is the real
// RTCPeerConnection (same prototype; `instanceof` holds). The effective configuration is
// readable with `pc.getConfiguration()` (see `effectiveIceConfigs`), and the tests check it.

/**
 * ICE server URL variants. Each is a pattern over one URL, used by the browser-side filter
 * and by the TURN adapters to build server lists.
 */
export const VARIANTS = {
  /** STUN only (srflx, no relay). */
  stun: '^stuns?:',
  /** TURN over UDP (`turn:` without `?transport=` or with `transport=udp`). */
  'turn-udp': '^turn:[^?]*(\\?transport=udp)?$',
  /** TURN over TCP. */
  'turn-tcp': '^turn:[^?]*\\?transport=tcp$',
  /** TURN over TLS. */
  turns: '^turns:',
  /** STUN and TURN (UDP and TCP), no TLS. */
  'stun+turn': '^(stun|turn):',
};

/** @typedef {keyof typeof VARIANTS} Variant */
/** @typedef {'all' | 'relay'} IcePolicy */

/**
 * `window.__e2eIce`, set by the init script: the imposed policy and URL pattern.
 * @typedef {{policy: IcePolicy, keep: string | null}} IceMarker
 */

/**
 * The getStats fields `selectedPair` reads, of `transport`, `candidate-pair` and
 * `local-candidate`/`remote-candidate` entries (lib.dom types the report's values as any).
 * @typedef {object} StatsEntry
 * @property {string} id
 * @property {string} type
 * @property {string} [selectedCandidatePairId] transport
 * @property {string} [localCandidateId] candidate-pair
 * @property {string} [remoteCandidateId] candidate-pair
 * @property {RTCStatsIceCandidatePairState} [state] candidate-pair
 * @property {boolean} [nominated] candidate-pair
 * @property {number} [bytesSent] candidate-pair
 * @property {number} [bytesReceived] candidate-pair
 * @property {number} [currentRoundTripTime] candidate-pair
 * @property {RTCIceCandidateType} [candidateType] candidate
 * @property {string} [protocol] candidate
 * @property {string} [address] candidate
 * @property {number} [port] candidate
 * @property {string} [relayProtocol] local candidate, when relayed
 * @property {string} [url] local candidate: the STUN/TURN URL it came from
 */

/**
 * Source of an init script forcing `policy` ('all' | 'relay') and keeping only ICE server
 * URLs that match `VARIANTS[variant]` (no filtering when `variant` is null).
 * @param {{policy?: IcePolicy, variant?: Variant | null}} o
 */
export function iceInitScript({ policy = 'all', variant = null } = {}) {
  if (policy !== 'all' && policy !== 'relay') throw new Error(`unknown ICE policy ${policy}`);
  if (variant !== null && !(variant in VARIANTS)) throw new Error(`unknown ICE variant ${variant}`);
  const keep = variant === null ? null : VARIANTS[variant];
  return `(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig || Orig.__e2eIce) return;
  const policy = ${JSON.stringify(policy)};
  const keep = ${keep === null ? 'null' : `new RegExp(${JSON.stringify(keep)})`};
  const fix = (config) => {
    const c = Object.assign({}, config || {});
    c.iceTransportPolicy = policy;
    if (keep && Array.isArray(c.iceServers)) {
      c.iceServers = c.iceServers.map((s) => {
        const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => keep.test(u));
        return Object.assign({}, s, { urls });
      }).filter((s) => s.urls.length > 0);
    }
    return c;
  };
  const P = Orig.prototype;
  const setConfiguration = P.setConfiguration;
  P.setConfiguration = function (config) { return setConfiguration.call(this, fix(config)); };
  function WithPolicy(config, ...rest) { return new Orig(fix(config), ...rest); }
  WithPolicy.prototype = P;
  Object.setPrototypeOf(WithPolicy, Orig);
  WithPolicy.__e2eIce = true;
  window.RTCPeerConnection = WithPolicy;
  window.__e2eIce = { policy, keep: keep && keep.source };
})();`;
}

/**
 * `{peerId: {iceTransportPolicy, urls}}` from `pc.getConfiguration()` of every live
 * connection (`window.confab.pcs()`).
 * @param {import('playwright-core').Page} page
 */
export function effectiveIceConfigs(page) {
  return page.evaluate(() => {
    /** @type {Record<string, {iceTransportPolicy: RTCIceTransportPolicy | undefined, urls: string[]}>} */
    const out = {};
    for (const [id, pc] of Object.entries(window.confab.pcs())) {
      const c = pc.getConfiguration();
      out[id] = {
        iceTransportPolicy: c.iceTransportPolicy,
        urls: (c.iceServers || []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])),
      };
    }
    return out;
  });
}

/**
 * Details of the selected candidate pair towards `peerId`, from the connection's own
 * getStats (through `window.confab.pcs()`): candidate types, local `relayProtocol`
 * (udp|tcp|tls: how the browser reaches its TURN server), the local candidate's `url`
 * (the STUN/TURN URL it came from), addresses, and every local candidate gathered.
 * `null` when no pair is selected.
 * @param {import('playwright-core').Page} page
 * @param {string} peerId
 */
export function selectedPair(page, peerId) {
  return page.evaluate(async (id) => {
    const pc = window.confab.pcs()[id];
    if (!pc) return null;
    // Keyed by stats id; looking up an absent id (undefined) finds nothing.
    /** @type {Map<string | undefined, StatsEntry>} */
    const byId = new Map();
    let pairId = /** @type {string | null} */ (null); // a cast: assigned in a callback

    (await pc.getStats()).forEach((s) => {
      byId.set(s.id, s);
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const cand = (/** @type {StatsEntry | undefined} */ c) => c && {
      type: c.candidateType, protocol: c.protocol, address: c.address, port: c.port,
      relayProtocol: c.relayProtocol ?? null, url: c.url ?? null,
    };
    const locals = [...byId.values()].filter((s) => s.type === 'local-candidate').map(cand);
    const pair = pairId && byId.get(pairId);
    if (!pair) return { local: null, remote: null, locals };
    return {
      local: cand(byId.get(pair.localCandidateId)),
      remote: cand(byId.get(pair.remoteCandidateId)),
      state: pair.state, nominated: pair.nominated,
      bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
      currentRoundTripTime: pair.currentRoundTripTime ?? null,
      locals,
    };
  }, peerId);
}

/**
 * One-line summary of a pair from `selectedPair`, for diagnostics.
 * @param {Awaited<ReturnType<typeof selectedPair>>} p
 */
export function describePair(p) {
  if (!p || !p.local || !p.remote) return 'no selected pair';
  const c = (/** @type {NonNullable<typeof p.local>} */ x) => `${x.type}${x.relayProtocol ? `/${x.relayProtocol}` : ''} ${x.protocol} ` +
    `${x.address}:${x.port}`;
  return `${c(p.local)} <-> ${c(p.remote)}`;
}
