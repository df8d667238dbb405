// Does Chromium accept a TURN-over-TLS (`turns:`) server whose certificate it cannot
// verify? Not a test: prints one line per case (run as root, ~30 s).
//
//   node e2e/tools/turns-cert-probe.mjs
//
// For each case: a NAT lab (one peer behind a symmetric NAT), coturn in `<p>pub` with TLS
// on 198.51.100.1:5349 and a fresh self-signed certificate, and Chromium in the peer's
// namespace on about:blank, with or without --ignore-certificate-errors. A bare
// RTCPeerConnection (iceTransportPolicy 'relay', only the turns: URL) gathers; a relay
// candidate means the TLS connection to the TURN server was accepted, icecandidateerror
// 701 means it was not. coturn's log (-v) shows whether an allocation was made.
//
// Result on Chromium 156 (e2e/README.md): Chromium verifies the TURN server's certificate
// like an HTTPS one. Self-signed -> 701 whatever the name; with --ignore-certificate-errors
// (as the E2E browsers run) any certificate is accepted, even one for another name.

import { readFileSync } from 'node:fs';
import { launchBrowser } from '../lib/browser.js';
import { createNatLab } from '../lib/netns.js';
import { startCoturn, TURN_PASSWORD, TURN_USER } from '../lib/turn.js';
import { artifactsDirFor } from '../lib/util.js';

const IP = '198.51.100.1';
const CASES = [
  // [label, certificate subject, URL host, --ignore-certificate-errors]
  ['cert for call.test+IP, URL by IP, flag', { host: 'call.test', ip: IP }, IP, true],
  ['cert for call.test+IP, URL by IP, no flag', { host: 'call.test', ip: IP }, IP, false],
  ['cert for call.test+IP, URL call.test, no flag', { host: 'call.test', ip: IP }, 'call.test', false],
  ['cert for wrong.test, URL by IP, no flag', { host: 'wrong.test' }, IP, false],
  ['cert for wrong.test, URL by IP, flag', { host: 'wrong.test' }, IP, true],
];

async function probe([label, certFor, host, flag], i) {
  const artifactsDir = artifactsDirFor(`tool-turns-cert-probe-${i}`);
  const net = createNatLab({ clients: 1, nat: 'symmetric' });
  let browser;
  try {
    const coturn = await startCoturn({ lab: net, ns: net.serverNs, ip: IP, artifactsDir,
      probeNs: net.clients[0].ns, tls: true, certFor });
    browser = await launchBrowser({ ns: net.clients[0].ns, name: 'probe', artifactsDir,
      serverIp: IP, ignoreCertificateErrors: flag });
    const url = `turns:${host}:5349?transport=tcp`;
    const events = await browser.page.evaluate(async ({ url, username, credential }) => {
      const pc = new RTCPeerConnection({ iceServers: [{ urls: [url], username, credential }],
        iceTransportPolicy: 'relay' });
      const out = [];
      pc.onicecandidate = (e) => out.push(e.candidate
        ? `candidate ${e.candidate.type} ${e.candidate.address}:${e.candidate.port}`
        : 'end-of-candidates');
      pc.onicecandidateerror = (e) => out.push(`icecandidateerror ${e.errorCode} ${e.errorText}`);
      pc.createDataChannel('probe');
      await pc.setLocalDescription();
      await new Promise((r) => {
        const t = setTimeout(r, 8000);
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') { clearTimeout(t); r(); }
        });
      });
      pc.close();
      return out;
    }, { url, username: TURN_USER, credential: TURN_PASSWORD });
    await coturn.stop();
    const log = readFileSync(coturn.logPath, 'utf8');
    const allocs = (log.match(/ALLOCATE processed, success/g) || []).length;
    const ok = events.some((e) => e.startsWith('candidate relay'));
    console.log(`${ok ? 'RELAY ' : 'FAILED'} | ${label} | ${url} | ${[...new Set(events)].join('; ')}` +
      ` | coturn: ${allocs} allocation(s) (${artifactsDir}/coturn.log)`);
  } finally {
    await browser?.close();
    net.destroySync();
  }
}

for (const [i, c] of CASES.entries()) await probe(c, i);
