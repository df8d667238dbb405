#!/usr/bin/env node
// Reproduces, in plain Chromium (no confab code), the ICE stall seen in confab calls:
// a peer that is "making an offer" (setLocalDescription() still pending) receives the
// other side's offer, rolls back (explicitly or implicitly via setRemoteDescription), and
// answers. Now and then its ICE gathering goes gathering -> new -> gathering and never
// yields a candidate, so the call stays at iceConnectionState 'new' forever.
//
// Both RTCPeerConnections live in one page of a namespaced Chromium (LAN lab, so there
// are host candidates); candidates are exchanged directly. Earlier pairs are kept open
// (a busier page): that makes the stall show up in a few of 20 attempts on a 2-core
// machine; with --close each pair is closed first and it is much rarer (0/20 seen).
// Bounded: --iterations N (default 20, max 60), 3 s per attempt.
//
//   node e2e/tools/rollback-gathering-repro.mjs [--iterations 20] [--close]

import { launchBrowser } from '../lib/browser.js';
import { skipReason } from '../lib/lab.js';
import { createLanLab } from '../lib/netns.js';
import { startStaticHttps } from '../lib/static.js';
import { artifactsDirFor } from '../lib/util.js';

const args = process.argv.slice(2);
const itArg = args.indexOf('--iterations');
const N = Math.min(60, Math.max(1, itArg >= 0 ? Number(args[itArg + 1]) || 20 : 20));
const CLOSE = args.includes('--close');

const reason = skipReason();
if (reason) { console.error(`cannot run: ${reason}`); process.exit(2); }

const net = createLanLab({ clients: 1 });
let browser;
let server;
let stalls = 0;
try {
  server = await startStaticHttps(net);
  browser = await launchBrowser({ ns: net.clients[0].ns, name: 'repro',
    artifactsDir: artifactsDirFor('tool-rollback-gathering-repro'), serverIp: net.serverIp });
  const page = browser.page;
  await page.goto('https://call.test:8443/', { timeout: 10_000 });
  const attempt = async ([mode, close]) => {
    const s = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    const gather = [];
    let candsB = 0;
    b.onicegatheringstatechange = () => gather.push(b.iceGatheringState);
    a.onicecandidate = (e) => { if (e.candidate) b.addIceCandidate(e.candidate).catch(() => {}); };
    b.onicecandidate = (e) => { if (e.candidate) { candsB++; a.addIceCandidate(e.candidate).catch(() => {}); } };
    s.getTracks().forEach((tr) => { a.addTrack(tr, s); b.addTrack(tr, s); });
    await a.setLocalDescription();
    const pending = b.setLocalDescription(); // b is in the middle of making its own offer
    if (mode === 'explicit') await b.setLocalDescription({ type: 'rollback' });
    await b.setRemoteDescription(a.localDescription); // implicit rollback otherwise
    await b.setLocalDescription();
    await pending.catch(() => {});
    await a.setRemoteDescription(b.localDescription);
    await new Promise((r) => setTimeout(r, 3000));
    const out = { ice: b.iceConnectionState, gather: gather.join(','), candsB };
    if (close) { a.close(); b.close(); s.getTracks().forEach((tr) => tr.stop()); }
    else (window.__keep ??= []).push(a, b, s);
    return out;
  };
  for (let i = 1; i <= N; i++) {
    const mode = i % 2 ? 'explicit' : 'implicit';
    const r = await page.evaluate(attempt, [mode, CLOSE]);
    const stalled = r.candsB === 0;
    if (stalled) stalls++;
    console.log(`${String(i).padStart(3)} ${mode.padEnd(8)} ice=${r.ice.padEnd(9)} gathering=${r.gather} candidates=${r.candsB}${stalled ? '  <- STALLED' : ''}`);
  }
  console.log(`${stalls}/${N} attempts stalled (answerer gathered no candidate) in ${browser.context.browser()?.version() ?? 'Chromium'}`);
} finally {
  await browser?.close();
  server?.close();
  net.destroySync();
}
process.exit(stalls ? 1 : 0);
