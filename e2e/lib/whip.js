// A third-party WHIP client in the browser: Eyevinn's @eyevinn/whip-web-client (npm),
// bundled for the page by esbuild (it imports the `events` and `sdp-transform` packages),
// publishing a page's fake camera and microphone to a WHIP endpoint.

import { build } from 'esbuild';
import { REPO_ROOT } from './confab.js';

/** @typedef {import('playwright-core').Page} Page */

/** @type {Promise<string> | null} */
let bundle = null;

/** The client as one script defining `window.WHIP.WHIPClient`. */
export function whipClientScript() {
  bundle ??= build({
    stdin: { contents: 'export { WHIPClient } from "@eyevinn/whip-web-client";', resolveDir: REPO_ROOT },
    bundle: true, format: 'iife', globalName: 'WHIP', write: false, platform: 'browser', logLevel: 'silent',
  }).then((r) => r.outputFiles[0].text);
  return bundle;
}

/**
 * In `page` (already on an https origin), publishes its camera and microphone to
 * `endpoint` with `token` as the Bearer token; resolves once the client has sent its
 * offer and got the answer. `window.__whip` is the client (for `destroy()`).
 * @param {Page} page
 * @param {string} endpoint
 * @param {string} token
 */
export async function publishWhip(page, endpoint, token) {
  await page.addScriptTag({ content: await whipClientScript() });
  await page.evaluate(async ([url, key]) => {
    const w = /** @type {any} */ (window);
    // No STUN of its own (the default is Google's): the SFU is reached on its host candidate.
    const client = new w.WHIP.WHIPClient({ endpoint: url, opts: { debug: true, iceServers: [], authkey: key } });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    await client.ingest(stream);
    w.__whip = client;
  }, [endpoint, token]);
}

/**
 * The state of the page's WHIP client's connection, and its resource URL.
 * @param {Page} page
 * @returns {Promise<{state: string, resource: string | null}>}
 */
export function whipState(page) {
  return page.evaluate(() => {
    const c = /** @type {any} */ (window).__whip;
    return { state: c?.peer?.connectionState ?? 'none', resource: c?.resource ?? null };
  });
}
