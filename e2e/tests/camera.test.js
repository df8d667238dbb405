// An IP camera over RTSP, in a browser. GStreamer's RTSP server
// (crates/server/tests/rtsp/server.py, Debian's gir1.2-gst-rtsp-server-1.0) runs in the
// lab's server namespace, on its loopback, serving H.264 with a 4 s group of pictures
// and G.711 audio behind a password; confab pulls it as a `[[camera]]`, so the camera is
// a member of its room that broadcasts. A viewer's Chromium joins the room, watches, and
// decodes the camera's H.264 and audio through the SFU; the time from joining the room to
// the first decoded frame is printed (the SFU sends the camera's last group of pictures at
// once, so it does not wait for the camera's next keyframe). The viewer holds a host
// token: it records the room for a few seconds, and on the replay page its Recordings
// list links, the camera's recorded H.264 (Matroska) decodes and plays.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setupTimeMs, waitForCall } from '../lib/call.js';
import { mintToken } from '../lib/confab.js';
import { createLanLab } from '../lib/netns.js';
import { pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */

const SERVER = fileURLToPath(new URL('../../crates/server/tests/rtsp/server.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const RTSP_PORT = 8554;
const TOKEN_KEY = 'e2e-camera-token-key-0123456789abcdef01';

/** Why the test cannot run without GStreamer's RTSP server, or false. */
function gstreamerMissing() {
  const probe = "import gi; gi.require_version('GstRtspServer', '1.0'); "
    + "from gi.repository import Gst, GstRtspServer; Gst.init(None); assert Gst.ElementFactory.find('x264enc')";
  const r = spawnSync(PYTHON, ['-c', probe], { stdio: 'ignore' });
  if (r.status === 0) return false;
  const why = "GStreamer's RTSP server or x264enc is not installed (scripts/install-test-deps.sh)";
  if (process.env.CONFAB_REQUIRE_INTEROP === '1') throw new Error(why);
  console.error(`!!! SKIPPED: ${why}`);
  return why;
}

const SKIP = skipReason() || gstreamerMissing();

/**
 * The peer id of the member called `name` in `page`'s room, or null.
 * @param {Page} page
 * @param {string} name
 */
const peerNamed = (page, name) => page.evaluate(
  (n) => window.confab.peers.find((/** @type {{name: string}} */ p) => p.name === n)?.id ?? null, name);

/**
 * The replay page's videos: the tile's name, frames decoded, width, and how far it played.
 * @param {Page} page
 */
const replayVideos = (page) => page.evaluate(() => [...document.querySelectorAll('#replay-tiles figure')].map((f) => {
  const v = /** @type {HTMLVideoElement | null} */ (f.querySelector('video'));
  return {
    name: f.querySelector('.replay-name')?.textContent ?? '',
    frames: v?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
    width: v?.videoWidth ?? 0,
    time: v?.currentTime ?? 0,
  };
}));

test('camera: an RTSP camera broadcasts into its room, a viewer decodes its H.264, and its recording replays',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const room = roomName('cam');
    const net = createLanLab({ clients: 1 });
    t.after(() => net.destroySync()); // startLab's close does it too (idempotent)
    // The camera: on the server namespace's loopback, where confab reaches it.
    const camera = spawn('ip', ['netns', 'exec', net.serverNs, PYTHON, SERVER,
      String(RTSP_PORT), 'viewer', 's3cret'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const dir = mkdtempSync(join(tmpdir(), 'confab-e2e-camera-'));
    t.after(() => {
      camera.kill('SIGKILL'); // `ip netns exec` execs python: this is its pid
      rmSync(dir, { recursive: true, force: true });
    });
    await new Promise((resolve, reject) => {
      camera.stdout?.once('data', (b) => (String(b).startsWith('ready') ? resolve(null) : reject(new Error(String(b)))));
      camera.once('exit', (code) => reject(new Error(`the RTSP server exited (${code})`)));
    });
    const config = join(dir, 'confab.toml');
    writeFileSync(config, `[[camera]]\nname = "Yard cam"\nurl = "rtsp://viewer:s3cret@127.0.0.1:${RTSP_PORT}/cam"\nroom = "${room}"\n`);
    const lab = await startLab({ t, net, browsers: 1,
      confabArgs: ['--media', 'auto', '--config', config, '--token-key', TOKEN_KEY] });
    const [viewer] = lab.pages;

    // A host by its token (the camera, a host, is in the room first).
    const token = mintToken(room, 'Viewer', { key: TOKEN_KEY, role: 'host' });
    await viewer.goto(lab.url(`/r/${room}?token=${token}`));
    await pollUntil(() => viewer.evaluate(() => window.confab?.state === 'in-room' || null),
      { timeout: 15_000, message: 'the viewer is in the room' });
    const cam = await pollUntil(() => peerNamed(viewer, 'Yard cam'),
      { timeout: 20_000, message: 'the camera is a member of the room' });
    // A broadcast by a host: a viewer who came after it watches at once; one who was
    // there first (and hosts the open room) joins it with the call's button.
    const watch = viewer.locator('#join-call');
    await viewer.waitForTimeout(300);
    if (await watch.isVisible()) await watch.click();
    const s = await waitForCall(viewer, cam, { timeout: 30_000, label: 'the viewer' });
    const sinceConnection = Math.round(/** @type {number} */ (s.firstFrameAt) - s.startedAt);
    console.log(`camera: the viewer's first decoded frame ${Math.round(setupTimeMs(s) ?? -1)} ms after `
      + `joining the room, ${sinceConnection} ms after its SFU connection started `
      + `(${s.videoWidth} wide, ${s.framesDecoded} frames decoded)`);
    assert.ok(s.videoWidth === 320, `the camera's picture: ${s.videoWidth} wide`);
    await lab.screenshot(viewer, 'camera-viewer');

    // Recorded for 3 s: the camera's tracks are files of the recording (Matroska).
    await viewer.click('#record-toggle');
    await viewer.locator('#recording-tag:not([hidden])').waitFor({ timeout: 10_000 });
    await sleep(3000);
    await viewer.click('#record-toggle');
    await viewer.locator('#recording-tag').waitFor({ state: 'hidden', timeout: 10_000 });
    await viewer.click('#more-toggle');
    await viewer.click('#menu-recordings');
    const item = viewer.locator('#recordings-list li').first();
    await item.locator('.rec-replay').waitFor({ timeout: 10_000 });
    const names = await item.locator('.rec-file-text').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    assert.ok(names.some((n) => n?.endsWith('-video.mkv')) && names.some((n) => n?.endsWith('-audio.mka')),
      `the camera's H.264 and G.711 files: ${names}`);

    // The replay page, as the host opens it from the list: the camera's tile (next to the
    // host's own, which it sent on stage) plays, its H.264 decoding frame after frame.
    const href = /** @type {string} */ (await item.locator('.rec-replay').getAttribute('href'));
    const replay = await lab.browsers[0].context.newPage();
    await replay.goto(lab.url(href));
    await replay.locator('#replay-controls:not([hidden])').waitFor({ timeout: 20_000 });
    await replay.click('#replay-play');
    const played = await pollUntil(async () => {
      const v = (await replayVideos(replay)).find((x) => x.name === 'Yard cam');
      return v && v.frames > 10 && v.width > 0 && v.time > 0.5 ? v : null;
    }, { timeout: 15_000, message: 'the camera\'s recorded video plays on the replay page' })
      .catch(async (e) => assert.fail(`${e.message}: ${JSON.stringify(await replayVideos(replay))}`));
    console.log(`camera replay: ${played.frames} frames decoded by ${played.time.toFixed(1)} s, ${played.width} wide`);
    assert.equal(played.width, 320, 'the camera\'s picture');
    await lab.screenshot(replay, 'camera-replay');
    assert.deepEqual(lab.browsers[0].pageErrors, [], 'no page errors');
  });
