// One-line fixture for browser tests: a lab (by default the LAN lab), confab in its server
// namespace, N browsers each in its own client namespace.
//
//   const lab = await startLab({ t, browsers: 2 });   // t.after(lab.close) is registered
//   const [alice, bob] = lab.pages;
//   await alice.goto(lab.url('/r/room?name=Alice&join=1'));
//
// Another topology: pass `net` (e.g. `createNatLab(...)` from netns.js; any Lab with
// `serverNs`, `serverIp` and `clients[].ns`). `nat.js` does that for the NAT lab.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, screenshot, describeConfab } from './browser.js';
import { startConfab } from './confab.js';
import { createLanLab, labUnavailableReason } from './netns.js';
import { artifactsDirFor, slug } from './util.js';

export { waitFor, callStats, screenshot, describeConfab } from './browser.js';
export { pollUntil, sleep, median, slug } from './util.js';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('./browser.js').Browser} Browser */
/** @typedef {import('./confab.js').ConfabServer} ConfabServer */
/** @typedef {import('./netns.js').Net} Net */

/**
 * What `startLab` returns.
 * @typedef {object} TestLab
 * @property {string} name
 * @property {string} artifactsDir
 * @property {Net} net
 * @property {ConfabServer | null} confab null only while it is being (re)started
 * @property {Browser[]} browsers
 * @property {Page[]} pages the browsers' pages, in order
 * @property {string} serverIp
 * @property {(() => unknown)[]} closeHooks
 * @property {(fn: () => unknown) => void} onClose
 * @property {(path?: string) => string} url `https://call.test:8443<path>`
 * @property {(page: Page, shotName: string,
 *   opts?: import('playwright-core').PageScreenshotOptions) => Promise<string>} screenshot
 * @property {() => string} where text pointing at the evidence, for assertion messages
 * @property {() => Promise<void>} close
 * @property {(o?: {signal?: 'SIGTERM' | 'SIGKILL'}) => Promise<ConfabServer>} restartConfab
 */

const DEFAULT_NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi'];
export const PUBLIC_HOST = 'call.test';
export const PORT = 8443;

/** @type {string | false | undefined} */
let cachedSkip;
/**
 * false when labs can be built here, else the reason (printed loudly once). Use as
 * `test(name, { skip: skipReason() }, ...)` (node 20 treats `skip: null` as skipped).
 * @returns {string | false}
 */
export function skipReason() {
  if (cachedSkip === undefined) {
    cachedSkip = labUnavailableReason() || false;
    if (cachedSkip) {
      const bar = '!'.repeat(78);
      console.error(`\n${bar}\n!! E2E TESTS SKIPPED: ${cachedSkip}\n${bar}\n`);
    }
  }
  return cachedSkip;
}

/**
 * A room name valid for the protocol (A-Za-z0-9_-), unique per call.
 * @param {string} [tag]
 */
export function roomName(tag = 'e2e') {
  return `${slug(tag).slice(0, 20)}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * @typedef {{name?: string, media?: 'grant'|'deny', extraArgs?: string[],
 *            viewport?: {width: number, height: number}, initScripts?: string[],
 *            locale?: string}} BrowserSpec
 * @param {{t?: import('node:test').TestContext, name?: string,
 *          browsers?: number | BrowserSpec[], confabArgs?: string[],
 *          net?: Net, artifactsDir?: string, dataDir?: string, confab?: boolean}} [opts]
 * `confab: false`: start no server (the test starts its own, e.g. a cluster behind nginx,
 * in `lab.net.serverNs` at `lab.serverIp`:8443).
 * `net`: a lab built by the caller (default: `createLanLab` with one client per browser);
 * startLab owns it from then on (close destroys it, also when startLab fails).
 * `artifactsDir`: an already prepared directory (default: a fresh one for the test).
 * `dataDir`: confab's data dir, owned by the caller (default: a temp dir per server);
 * needed for `lab.restartConfab`, which starts confab again on the same dir and port.
 * The returned lab's `onClose(fn)` registers async cleanup run after the browsers are
 * closed and before confab is stopped and the namespaces are deleted.
 * @returns {Promise<TestLab>}
 */
export async function startLab({ t, name, browsers = 2, confabArgs = [], net: givenNet,
  artifactsDir: givenDir, dataDir, confab = true } = {}) {
  const testName = name || t?.name || 'lab';
  /** @type {(BrowserSpec & {name: string})[]} */
  const specs = (typeof browsers === 'number'
    ? Array.from({ length: browsers }, () => ({}))
    : browsers
  ).map((s, i) => ({ name: DEFAULT_NAMES[i] || `User${i + 1}`, media: 'grant', ...s }));
  const artifactsDir = givenDir || artifactsDirFor(testName);

  const net = givenNet || createLanLab({ clients: specs.length });
  if (net.clients.length < specs.length) {
    net.destroySync();
    throw new Error(`lab has ${net.clients.length} client namespaces for ${specs.length} browsers`);
  }
  const confabOpts = {
    lab: net, ns: net.serverNs, ip: net.serverIp, port: PORT,
    probeNs: net.clients[0]?.ns ?? net.serverNs, artifactsDir,
    publicHost: PUBLIC_HOST, extraArgs: confabArgs, dataDir,
  };
  /** @type {Promise<void> | null} */
  let closing = null;
  /** @type {TestLab} */
  const lab = {
    name: testName, artifactsDir, net, confab: null, browsers: [], pages: [],
    serverIp: net.serverIp, closeHooks: [],
    onClose: (fn) => { lab.closeHooks.push(fn); },
    /** `https://call.test:8443<path>` */
    url: (path = '/') => `https://${PUBLIC_HOST}:${PORT}${path.startsWith('/') ? '' : '/'}${path}`,
    screenshot: (page, shotName, opts) => screenshot(page, artifactsDir, shotName, opts),
    /** Text pointing at the evidence, for assertion messages. */
    where: () => `artifacts in ${artifactsDir}`,
    close: () => {
      if (!closing) closing = closeLab(lab);
      return closing;
    },
    /**
     * Stops confab (`signal` SIGTERM, or SIGKILL for a crash) and starts it again on the
     * same address and data dir; the browsers stay open.
     * @param {{signal?: 'SIGTERM'|'SIGKILL'}} [o]
     */
    restartConfab: async (o) => {
      if (!dataDir) throw new Error('restartConfab needs startLab({dataDir})');
      await /** @type {ConfabServer} */ (lab.confab).stop(o); // set once startLab returned
      lab.confab = null;
      lab.confab = await startConfab(confabOpts);
      return lab.confab;
    },
  };
  if (t) t.after(() => lab.close());

  try {
    if (confab) lab.confab = await startConfab(confabOpts);
    lab.browsers = await Promise.all(specs.map((s, i) => launchBrowser({
      ns: net.clients[i].ns, name: s.name, artifactsDir, serverIp: net.serverIp,
      publicHost: PUBLIC_HOST, media: s.media, extraArgs: s.extraArgs, viewport: s.viewport,
      initScripts: s.initScripts, locale: s.locale,
    })));
    lab.pages = lab.browsers.map((b) => b.page);
  } catch (e) {
    await lab.close();
    throw e;
  }
  return lab;
}

/**
 * Record each open page's state + screenshot, close browsers, stop confab, drop netns.
 * @param {TestLab} lab
 */
async function closeLab(lab) {
  /** @type {unknown[]} */
  const errors = [];
  /** @type {Record<string, string>} */
  const state = {};
  await Promise.all(lab.browsers.map(async (b) => {
    if (b.page.isClosed()) { state[b.name] = 'page closed'; return; }
    state[b.name] = await describeConfab(b.page);
    await screenshot(b.page, lab.artifactsDir, `at-close-${b.name}`);
  }));
  try {
    writeFileSync(join(lab.artifactsDir, 'state-at-close.json'), JSON.stringify(state, null, 2));
  } catch (e) { errors.push(e); }
  await Promise.all(lab.browsers.map((b) => b.close().catch((e) => errors.push(e))));
  for (const fn of lab.closeHooks) {
    try { await fn(); } catch (e) { errors.push(e); }
  }
  if (lab.confab) await lab.confab.stop().catch((e) => errors.push(e));
  lab.net.destroySync();
  if (errors.length) console.error(`[e2e] errors while closing lab ${lab.name}:`, errors);
}
