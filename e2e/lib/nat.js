// One-call fixture for browser tests in the NAT lab (TESTING.md): each browser behind its
// own NAT box, confab and the STUN/TURN server (coturn, or confab's own: CONFAB_E2E_TURN)
// in `<p>pub` on 198.51.100.1, an ICE variant and policy imposed on the browsers.
//
//   const lab = await startNatLab({ t, nat: 'symmetric', variant: 'turn-udp', policy: 'relay' });
//   const { stats } = await establishCall(lab, lab.pages, roomName('x'));

import { iceInitScript } from './ice.js';
import { startLab } from './lab.js';
import { createNatLab } from './netns.js';
import { startTurnServer, turnKindFromEnv } from './turn.js';
import { artifactsDirFor } from './util.js';

/**
 * What `startNatLab` adds to the `startLab` lab.
 * @typedef {{turn: Awaited<ReturnType<typeof startTurnServer>>,
 *   variant: import('./ice.js').Variant, policy: 'all'|'relay'}} NatFields
 */
/**
 * What `startNatLab` returns: the lab on a NAT lab network, plus `NatFields`.
 * @typedef {import('./lab.js').TestLab & {net: import('./netns.js').NatNet} & NatFields} NatLab
 */

/**
 * @param {{t?: import('node:test').TestContext, name?: string,
 *   nat?: 'cone'|'symmetric'|('cone'|'symmetric')[], browsers?: number, clients?: number,
 *   variant: import('./ice.js').Variant,
 *   policy?: 'all'|'relay', tls?: boolean, turn?: 'coturn'|'confab', allowPeers?: boolean,
 *   confabArgs?: string[]}} o
 *   `clients`: NAT'd client namespaces (default one per browser; browsers take the first).
 *   `variant`: which ICE server URLs the browsers use (ice.js VARIANTS); `policy`: their
 *   iceTransportPolicy; `tls`: also serve TURN over TLS on 5349; `turn`: default
 *   $CONFAB_E2E_TURN or coturn; `allowPeers`: see turn.js startTurnServer; `confabArgs`:
 *   more `confab serve` flags.
 * @returns {Promise<NatLab>} the `startLab` lab plus `turn` (the adapter object), `variant`, `policy`.
 */
export async function startNatLab({ t, name, nat = 'cone', browsers = 2, clients = browsers,
  variant, policy = 'all', tls = false, turn: kind = turnKindFromEnv(), allowPeers = true,
  confabArgs = [] }) {
  const testName = name || t?.name || 'nat-lab';
  const artifactsDir = artifactsDirFor(testName);
  const net = createNatLab({ clients: Math.max(clients, browsers, 1), nat });
  let turn;
  try {
    turn = await startTurnServer(kind, net, { artifactsDir, tls, allowPeers });
  } catch (e) {
    net.destroySync();
    throw e;
  }
  const initScripts = [iceInitScript({ policy, variant })];
  /** @type {import('./lab.js').TestLab & Partial<NatFields>} */
  let lab;
  try {
    lab = await startLab({
      t, name: testName, net, artifactsDir,
      browsers: Array.from({ length: browsers }, () => ({ initScripts })),
      confabArgs: [...turn.confabArgs(variant), ...confabArgs],
    });
  } catch (e) {
    await turn.stop(); // startLab has destroyed the lab already
    throw e;
  }
  lab.onClose(() => turn.stop());
  lab.turn = turn;
  lab.variant = variant;
  lab.policy = policy;
  try {
    await turn.ready();
  } catch (e) {
    await lab.close();
    throw e;
  }
  return /** @type {NatLab} */ (lab); // `net` is the NAT lab given to startLab; NatFields are set
}
