// Can calls get through this network? Asks confab's own STUN server for our public
// address and confab's TURN server for a relay over each transport it offers (UDP, TCP,
// TLS), each in a peer connection of its own that gathers candidates and sends nothing
// to anyone else. The verdict says in words what a call will do here.

/** How long each probe waits for its candidate. */
export const PROBE_MS = 6_000;

/**
 * What one probe found: `ok` with the address seen, `failed` (nothing within the time),
 * or `absent` (this server offers no such URL).
 * @typedef {{state: 'ok', address: string} | {state: 'failed'} | {state: 'absent'}} Probe
 */

/**
 * The four probes.
 * @typedef {{stun: Probe, udp: Probe, tcp: Probe, tls: Probe}} NetworkResult
 */

/**
 * Which probe an ICE server URL serves.
 * @param {string} url
 * @returns {'stun' | 'udp' | 'tcp' | 'tls' | null}
 */
export function probeOf(url) {
  if (/^stuns?:/i.test(url)) return 'stun';
  if (/^turns:/i.test(url)) return 'tls';
  if (/^turn:/i.test(url)) return /\?transport=tcp$/i.test(url) ? 'tcp' : 'udp';
  return null;
}

/**
 * The ICE servers for one probe: the entries' URLs of that kind only, credentials kept.
 * @param {RTCIceServer[]} servers
 * @param {'stun' | 'udp' | 'tcp' | 'tls'} kind
 * @returns {RTCIceServer[]}
 */
export function serversFor(servers, kind) {
  /** @type {RTCIceServer[]} */
  const out = [];
  for (const s of servers) {
    const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => probeOf(u) === kind);
    if (urls.length > 0) out.push({ ...s, urls });
  }
  return out;
}

/**
 * Gathers candidates with `servers` and resolves with the first address of `type`
 * ('srflx' or 'relay'), or null after `ms`.
 * @param {RTCIceServer[]} servers
 * @param {'srflx' | 'relay'} type
 * @param {number} ms
 * @returns {Promise<string | null>}
 */
async function firstCandidate(servers, type, ms) {
  const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: type === 'relay' ? 'relay' : 'all' });
  try {
    pc.createDataChannel('check');
    /** @type {Promise<string | null>} */
    const found = new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      pc.addEventListener('icecandidate', (ev) => {
        const c = ev.candidate;
        if (c && c.type === type) {
          clearTimeout(timer);
          resolve(`${c.address}:${c.port}`);
        }
      });
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') setTimeout(() => resolve(null), 0);
      });
    });
    await pc.setLocalDescription(await pc.createOffer());
    return await found;
  } finally {
    pc.close();
  }
}

/**
 * Runs the four probes at once against `servers` (confab's, with TURN credentials).
 * @param {RTCIceServer[]} servers
 * @param {number} [ms]
 * @returns {Promise<NetworkResult>}
 */
export async function checkNetwork(servers, ms = PROBE_MS) {
  /** @param {'stun' | 'udp' | 'tcp' | 'tls'} kind @returns {Promise<Probe>} */
  const probe = async (kind) => {
    const list = serversFor(servers, kind);
    if (list.length === 0) return { state: 'absent' };
    const address = await firstCandidate(list, kind === 'stun' ? 'srflx' : 'relay', ms);
    return address ? { state: 'ok', address } : { state: 'failed' };
  };
  const [stun, udp, tcp, tls] = await Promise.all([probe('stun'), probe('udp'), probe('tcp'), probe('tls')]);
  return { stun, udp, tcp, tls };
}

/**
 * The verdict, as a catalog key (`check.verdict.*`): what a call will do here.
 * @param {NetworkResult} r
 * @returns {string}
 */
export function networkVerdict(r) {
  const ok = (/** @type {Probe} */ p) => p.state === 'ok';
  const udpWorks = ok(r.stun) || ok(r.udp);
  const relay = ok(r.udp) || ok(r.tcp) || ok(r.tls);
  if (udpWorks && relay) return 'check.verdict.good';
  if (udpWorks) return 'check.verdict.no_relay';
  if (ok(r.tcp) && ok(r.tls)) return 'check.verdict.udp_blocked_tcp_tls';
  if (ok(r.tls)) return 'check.verdict.udp_blocked_tls';
  if (ok(r.tcp)) return 'check.verdict.udp_blocked_tcp';
  return 'check.verdict.blocked';
}
