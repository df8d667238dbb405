// Debian's Chromium, driven by playwright-core, running inside a lab namespace.
//
// Playwright talks to Chromium over a pipe (fds 3/4), so one Node process can drive
// browsers in different namespaces: executablePath is a wrapper script that does
// `exec ip netns exec "$CHROME_NETNS" /usr/lib/chromium/chromium "$@"`.

import { chmodSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { pollUntil, safeJson, slug, withTimeout } from './util.js';

/** @typedef {import('playwright-core').BrowserContext} BrowserContext */
/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('playwright-core').PageScreenshotOptions} PageScreenshotOptions */

/** @typedef {import('../../web/js/media/call.js').CallStats} CallStats */
/** @typedef {import('../../web/js/media/quality.js').Quality} Quality */
/** @typedef {import('../../web/js/net/protocol.js').PeerInfo} PeerInfo */
/** @typedef {import('../../web/js/net/protocol.js').PeerState} PeerState */
/** @typedef {import('../../web/js/net/protocol.js').ChatMessage} ChatMessage */
/** @typedef {import('../../web/js/room/room.js').PeerMedia} PeerMedia */

/**
 * `window.confab`, the web client's read-only test handle (docs/web-test-contract.md;
 * built by web/js/ui/debug.js). Tests read it inside `page.evaluate` (see window.d.ts).
 * @typedef {object} ConfabHandle
 * @property {'lobby' | 'connecting' | 'in-room'} state
 * @property {string | null} peerId own peer id
 * @property {Required<PeerInfo>[]} peers everyone else in the room (`role` always set)
 * @property {PeerState} me our own presence, as the server last told us
 * @property {'host' | 'guest' | 'viewer'} role
 * @property {boolean} locked
 * @property {'idle' | 'ringing' | 'in-call'} callState
 * @property {ReturnType<import('../../web/js/ui/calls.js').Calls['snapshot']>} call
 * @property {string[]} notices every call outcome shown in #call-notice, oldest first
 * @property {string[]} errors every message shown in #error, oldest first
 * @property {ChatMessage[]} chat
 * @property {() => Record<string, RTCPeerConnection>} pcs
 * @property {() => Promise<Record<string, CallStats>>} stats
 * @property {ReturnType<import('../../web/js/p2p/files.js').FileTransfers['snapshot']>} transfers
 * @property {ReturnType<import('../../web/js/media/devices.js').Devices['snapshot']>} media
 * @property {Record<string, PeerMedia | null>} peerStates
 * @property {() => Promise<Record<string, Quality>>} quality
 * @property {ReturnType<import('../../web/js/ui/speakers.js').Speakers['snapshot']>} speakers
 * @property {ReturnType<import('../../web/js/ui/layout.js').Layout['snapshot']>} layout
 * @property {string[]} roomNotices every "joined" / "left" line shown, oldest first
 * @property {{open: boolean, level: number, micOff: boolean, camOff: boolean} | null} prejoin the lobby's camera and microphone check
 * @property {{connected: boolean, reconnects: number, rebound: number}} signaling
 */

/**
 * What `launchBrowser` returns.
 * @typedef {object} Browser
 * @property {string} name
 * @property {string} ns
 * @property {BrowserContext} context
 * @property {Page} page
 * @property {string} userDataDir
 * @property {(s: string) => void} log writes a line to the browser's log
 * @property {string[]} pageErrors uncaught page errors' messages
 * @property {string[]} consoleErrors console.error texts
 * @property {() => Promise<void>} close closes the browser and removes its profile; idempotent
 */

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/lib/chromium/chromium';

/** @type {string | null} */
let wrapperDir = null;
// Profiles of browsers not closed yet; removed at process exit (crash, signal) too.
const liveProfiles = new Set();
process.on('exit', () => {
  for (const dir of liveProfiles) rmSync(dir, { recursive: true, force: true });
});

function wrapperPath() {
  if (wrapperDir) return join(wrapperDir, 'chromium-in-netns');
  wrapperDir = mkdtempSync(join(tmpdir(), 'confab-e2e-wrap-'));
  const p = join(wrapperDir, 'chromium-in-netns');
  writeFileSync(p, '#!/bin/sh\n' +
    ': "${CHROME_NETNS:?CHROME_NETNS not set}"\n' +
    `exec ip netns exec "$CHROME_NETNS" ${CHROMIUM} "$@"\n`);
  chmodSync(p, 0o755);
  process.on('exit', () => rmSync(/** @type {string} */ (wrapperDir), { recursive: true, force: true }));
  return p;
}

/**
 * Flags from TESTING.md. `media`:
 *  - 'grant': fake camera/mic, permission prompts auto-accepted;
 *  - 'deny':  fake devices, but every permission prompt is denied, so getUserMedia
 *             rejects with NotAllowedError (see browser.js header / e2e/README.md).
 * @param {{serverIp: string, publicHost?: string, media?: 'grant' | 'deny',
 *          extraArgs?: string[], ignoreCertificateErrors?: boolean}} o
 */
export function chromiumArgs({ serverIp, publicHost = 'call.test', media = 'grant', extraArgs = [],
  ignoreCertificateErrors = true }) {
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream',
    ...(ignoreCertificateErrors ? ['--ignore-certificate-errors'] : []),
    // Only the test host resolves; everything else fails fast (no DNS stalls). `MAP *`
    // also matches IP literals, and Chromium sends some IP-literal connections through its
    // host resolver: TURN over TCP/TLS to `turn:<ip>:3478?transport=tcp` failed with
    // icecandidateerror 701 before the EXCLUDE (UDP TURN/STUN never asks the resolver).
    // So the server's own IP is excluded from the mapping and passes through as itself.
    `--host-resolver-rules=MAP ${publicHost} ${serverIp}, EXCLUDE ${serverIp}, MAP * ~NOTFOUND`,
  ];
  if (media === 'grant') args.push('--use-fake-ui-for-media-stream');
  else if (media === 'deny') args.push('--deny-permission-prompts');
  else throw new Error(`unknown media mode ${media}`);
  return [...args, ...extraArgs];
}

/**
 * Launch a persistent-context Chromium in namespace `ns`; returns {context, page, ...}.
 * Console messages, page errors, failed requests and WebSocket frames of every page go to
 * `<artifactsDir>/browser-<name>.log`.
 *
 * @param {{ns: string, name: string, artifactsDir: string, serverIp: string,
 *          publicHost?: string, media?: 'grant'|'deny', extraArgs?: string[],
 *          viewport?: {width: number, height: number}, launchTimeoutMs?: number,
 *          traceRtc?: boolean, initScripts?: string[], ignoreCertificateErrors?: boolean,
 *          locale?: string}} o
 * `locale` (e.g. 'zh-CN'): the browser's language, as a person's browser set to it has
 * (Chromium's `--lang` and Playwright's `locale`, which sets `navigator.languages` and
 * Accept-Language); default the system's (English).
 * `traceRtc` (default: env CONFAB_E2E_TRACE_RTC set) logs every RTCPeerConnection call and
 * event to the page console, hence to the browser log.
 * `ignoreCertificateErrors` (default true): `--ignore-certificate-errors` and Playwright's
 * `ignoreHTTPSErrors`; false only for experiments about certificate checks (tools/).
 * `initScripts`: script sources run in every page before its own scripts (Playwright
 * `addInitScript`), after the RTC trace script; e.g. `ice.js`'s ICE policy override.
 * @returns {Promise<Browser>}
 */
export async function launchBrowser({
  ns, name, artifactsDir, serverIp, publicHost = 'call.test', media = 'grant',
  extraArgs = [], viewport = { width: 1280, height: 800 }, launchTimeoutMs = 20_000,
  traceRtc = !!process.env.CONFAB_E2E_TRACE_RTC, initScripts = [], ignoreCertificateErrors = true,
  locale,
}) {
  const userDataDir = mkdtempSync(join(tmpdir(), `confab-e2e-chrome-${slug(name)}-`));
  liveProfiles.add(userDataDir);
  const log = createWriteStream(join(artifactsDir, `browser-${slug(name)}.log`), { flags: 'a' });
  const logLine = (/** @type {string} */ s) => log.write(`${new Date().toISOString()} ${s}\n`);
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: wrapperPath(),
      env: { ...process.env, CHROME_NETNS: ns },
      headless: true,
      args: chromiumArgs({ serverIp, publicHost, media, extraArgs: locale ? [...extraArgs, `--lang=${locale}`] : extraArgs,
        ignoreCertificateErrors }),
      ignoreHTTPSErrors: ignoreCertificateErrors,
      viewport,
      ...(locale ? { locale } : {}),
      timeout: launchTimeoutMs,
    });
  } catch (e) {
    log.end();
    rmSync(userDataDir, { recursive: true, force: true });
    liveProfiles.delete(userDataDir);
    throw e;
  }
  /** Uncaught page errors and console.error texts, for assertions. @type {string[]} */
  const pageErrors = [];
  /** @type {string[]} */
  const consoleErrors = [];
  if (traceRtc) await context.addInitScript(RTC_TRACE_SCRIPT);
  for (const script of initScripts) await context.addInitScript(script);
  const attach = (/** @type {Page} */ page) => {
    attachLogging(page, logLine);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  };
  context.pages().forEach(attach);
  context.on('page', attach);
  const page = context.pages()[0] || await context.newPage();

  /** @type {Promise<void> | null} */
  let closed = null;
  /** @type {Browser} */
  const browser = {
    name, ns, context, page, userDataDir, log: logLine, pageErrors, consoleErrors,
    /** Close the browser and remove its profile. Idempotent. */
    close() {
      if (!closed) {
        closed = (async () => {
          try {
            await withTimeout(context.close(), 10_000);
          } catch { /* already gone */ }
          rmSync(userDataDir, { recursive: true, force: true });
          liveProfiles.delete(userDataDir);
          await new Promise((r) => log.end(r));
        })();
      }
      return closed;
    },
  };
  return browser;
}

// Observes RTCPeerConnection without changing its behaviour: wraps the negotiation
// methods to log calls and outcomes, and listens (addEventListener) to its events.
const RTC_TRACE_SCRIPT = `(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig || Orig.__traced) return;
  let n = 0;
  const t0 = performance.now();
  const log = (id, what) => console.debug('[rtc#' + id + ' +' + (performance.now() - t0).toFixed(1) + 'ms] ' + what);
  const short = (d) => d ? (d.type || '?') + (d.sdp ? ' ' + (d.sdp.match(/a=candidate/g) || []).length + ' cands' : '') : 'implicit';
  const P = Orig.prototype;
  for (const m of ['setLocalDescription', 'setRemoteDescription', 'addIceCandidate', 'createOffer', 'createAnswer', 'restartIce', 'close']) {
    const f = P[m];
    P[m] = function (...args) {
      const id = this.__id;
      const arg = m === 'addIceCandidate' ? (args[0] ? (args[0].candidate || '').slice(0, 60) : 'end') : m.endsWith('Description') ? short(args[0]) : '';
      log(id, m + '(' + arg + ') called in ' + this.signalingState);
      const r = f.apply(this, args);
      if (r && typeof r.then === 'function') {
        r.then(() => log(id, m + ' ok -> ' + this.signalingState + (m === 'setLocalDescription' ? ' ' + short(this.localDescription) : '')),
          (e) => log(id, m + ' FAILED ' + e.name + ': ' + e.message));
      }
      return r;
    };
  }
  function Traced(...args) {
    const pc = new Orig(...args);
    pc.__id = ++n;
    log(pc.__id, 'new RTCPeerConnection ' + JSON.stringify(args[0] || {}));
    pc.addEventListener('negotiationneeded', () => log(pc.__id, 'negotiationneeded in ' + pc.signalingState));
    pc.addEventListener('signalingstatechange', () => log(pc.__id, 'signalingState ' + pc.signalingState));
    pc.addEventListener('icegatheringstatechange', () => log(pc.__id, 'iceGatheringState ' + pc.iceGatheringState));
    pc.addEventListener('iceconnectionstatechange', () => log(pc.__id, 'iceConnectionState ' + pc.iceConnectionState));
    pc.addEventListener('icecandidate', (e) => log(pc.__id, 'icecandidate ' + (e.candidate ? e.candidate.candidate.slice(0, 60) : 'null')));
    pc.addEventListener('icecandidateerror', (e) => log(pc.__id, 'icecandidateerror ' + e.errorCode + ' ' + e.errorText));
    pc.addEventListener('track', (e) => log(pc.__id, 'track ' + e.track.kind));
    return pc;
  }
  Traced.prototype = P;
  Object.setPrototypeOf(Traced, Orig);
  Traced.__traced = true;
  window.RTCPeerConnection = Traced;
})();`;

/**
 * @param {Page} page
 * @param {(s: string) => void} logLine
 */
function attachLogging(page, logLine) {
  page.on('console', (m) => {
    const loc = m.location();
    const where = loc && loc.url ? ` (${loc.url.replace(/^https?:\/\/[^/]+/, '')}:${loc.lineNumber})` : '';
    logLine(`[console.${m.type()}] ${m.text()}${where}`);
  });
  page.on('pageerror', (e) => logLine(`[pageerror] ${e.stack || e.message}`));
  page.on('crash', () => logLine('[crash] page crashed'));
  page.on('requestfailed', (r) => logLine(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) logLine(`[http ${r.status()}] ${r.url()}`); });
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) logLine(`[navigated] ${f.url()}`); });
  page.on('websocket', (ws) => {
    logLine(`[ws open] ${ws.url()}`);
    const trunc = (/** @type {string | Buffer} */ p) => { const s = typeof p === 'string' ? p : `<binary ${p.length}B>`; return s.length > 20000 ? `${s.slice(0, 20000)}…` : s; };
    ws.on('framesent', (f) => logLine(`[ws >] ${trunc(f.payload)}`));
    ws.on('framereceived', (f) => logLine(`[ws <] ${trunc(f.payload)}`));
    ws.on('socketerror', (e) => logLine(`[ws error] ${e}`));
    ws.on('close', () => logLine('[ws close]'));
  });
}

/**
 * Poll `page.evaluate(fnOrExpr, arg)` until truthy; return the value. Throws on timeout
 * with the last value or evaluation error.
 * @template R
 * @template A
 * @param {Page} page
 * @param {string | ((arg: A) => R | Promise<R>)} fnOrExpr
 * @param {{timeout?: number, interval?: number, arg?: A, message?: string}} [o]
 * @returns {Promise<import('./util.js').Truthy<R>>}
 */
export function waitFor(page, fnOrExpr, { timeout = 10_000, interval = 100, arg, message } = {}) {
  // Playwright types the page function's argument as `Unboxed<A>` (handles unwrapped),
  // which it cannot relate to a generic `A`; the tests pass plain data.
  const fn = /** @type {string | ((arg: unknown) => R | Promise<R>)} */ (fnOrExpr);
  return pollUntil(() => page.evaluate(fn, arg), {
    timeout, interval, message: message || String(fnOrExpr).slice(0, 200),
  });
}

/**
 * `window.confab.stats()`: {peerId: CallStats}.
 * @param {Page} page
 */
export function callStats(page) {
  return page.evaluate(() => window.confab.stats());
}

/**
 * Save `<artifactsDir>/<name>.png`; returns the path. Never throws (logs instead).
 * @param {Page} page
 * @param {string} artifactsDir
 * @param {string} name
 * @param {PageScreenshotOptions} [opts]
 */
export async function screenshot(page, artifactsDir, name, opts = {}) {
  const path = join(artifactsDir, `${slug(name)}.png`);
  try {
    await page.screenshot({ path, timeout: 10_000, ...opts });
  } catch (e) {
    console.error(`[e2e] screenshot ${name} failed: ${/** @type {Error} */ (e).message}`);
  }
  return path;
}

/**
 * Compact one-line description of a window.confab state, for assertion messages.
 * @param {Page} page
 */
export async function describeConfab(page) {
  try {
    return safeJson(await page.evaluate(() => {
      const c = window.confab;
      if (!c) return 'window.confab missing';
      return { state: c.state, peerId: c.peerId, peers: c.peers, callState: c.callState,
        errors: c.errors, pcs: Object.keys(c.pcs ? c.pcs() : {}) };
    }));
  } catch (e) {
    return `unavailable: ${/** @type {Error} */ (e).message}`;
  }
}
