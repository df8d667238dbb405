// Third-party WHIP and WHEP clients in the browser: Eyevinn's @eyevinn/whip-web-client
// (publishing a page's fake camera and microphone) and @eyevinn/webrtc-player (playing a
// WHEP stream into a <video>), from npm, bundled for the page by esbuild (they import
// npm packages such as `events` and `sdp-transform`).

import { build } from 'esbuild';
import { REPO_ROOT } from './confab.js';

/** @typedef {import('playwright-core').Page} Page */

/** @type {Promise<string> | null} */
let bundle = null;

/** Both clients as one script defining `window.STREAMS.WHIPClient` and `.WebRTCPlayer`. */
export function clientsScript() {
  const contents = 'export { WHIPClient } from "@eyevinn/whip-web-client";\n'
    + 'export { WebRTCPlayer } from "@eyevinn/webrtc-player";';
  bundle ??= build({
    stdin: { contents, resolveDir: REPO_ROOT },
    bundle: true, format: 'iife', globalName: 'STREAMS', write: false, platform: 'browser', logLevel: 'silent',
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
  await page.addScriptTag({ content: await clientsScript() });
  await page.evaluate(async ([url, key]) => {
    const w = /** @type {any} */ (window);
    // No STUN of its own (the default is Google's): the SFU is reached on its host candidate.
    const client = new w.STREAMS.WHIPClient({ endpoint: url, opts: { debug: true, iceServers: [], authkey: key } });
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

/**
 * In `page` (already on an https origin), plays the WHEP stream at `endpoint` into a new
 * <video id="whep"> with Eyevinn's player, authorized by `token`. `window.__whep` is the
 * player.
 * @param {Page} page
 * @param {string} endpoint
 * @param {string} token
 */
export async function playWhep(page, endpoint, token) {
  await page.addScriptTag({ content: await clientsScript() });
  await page.evaluate(async ([url, key]) => {
    const w = /** @type {any} */ (window);
    const video = document.createElement('video');
    video.id = 'whep';
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    const player = new w.STREAMS.WebRTCPlayer({ video, type: 'whep', iceServers: [] });
    await player.load(new URL(url), `Bearer ${key}`);
    w.__whep = player;
  }, [endpoint, token]);
}

/**
 * What the page's WHEP <video> shows: its picture size and how far it has played.
 * @param {Page} page
 */
export function whepVideo(page) {
  return page.evaluate(() => {
    const v = /** @type {HTMLVideoElement | null} */ (document.getElementById('whep'));
    return { width: v?.videoWidth ?? 0, time: v?.currentTime ?? 0 };
  });
}
