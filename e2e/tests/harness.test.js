// Self-test of the E2E harness, independent of confab: a LAN lab, a trivial HTTPS server
// in `<p>srv`, Chromium in two client namespaces. Proves that name mapping, TLS with
// --ignore-certificate-errors (secure context), fake media, permission denial and a
// direct WebRTC call over host candidates all work, and that cleanup leaves no namespace.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { launchBrowser, screenshot } from '../lib/browser.js';
import { skipReason } from '../lib/lab.js';
import { createLanLab } from '../lib/netns.js';
import { startStaticHttps } from '../lib/static.js';
import { artifactsDirFor, pollUntil } from '../lib/util.js';

/**
 * What the direct-call test keeps on the page's window.
 * @typedef {Window & typeof globalThis & {__pc: RTCPeerConnection, __got: string[]}} CallWindow
 */

const SKIP = skipReason();
const URL_ROOT = 'https://call.test:8443';

/**
 * LAN lab + static HTTPS server + one browser per spec; runs `body`, always cleans up.
 * @param {import('node:test').TestContext} t
 * @param {{name: string, media?: 'grant' | 'deny'}[]} specs
 * @param {(o: {net: import('../lib/netns.js').LanLab, browsers: import('../lib/browser.js').Browser[],
 *   artifactsDir: string}) => Promise<void>} body
 */
async function withStaticLab(t, specs, body) {
  const artifactsDir = artifactsDirFor(t.name);
  const net = createLanLab({ clients: specs.length });
  /** @type {import('../lib/browser.js').Browser[]} */
  const browsers = [];
  /** @type {{close(): void} | undefined} */
  let server;
  try {
    server = await startStaticHttps(net);
    for (const [i, s] of specs.entries()) {
      browsers.push(await launchBrowser({ ns: net.clients[i].ns, name: s.name, artifactsDir,
        serverIp: net.serverIp, media: s.media || 'grant' }));
    }
    await body({ net, browsers, artifactsDir });
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
    server?.close();
    const names = [...net.namespaces];
    net.destroySync();
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
      .split('\n').map((l) => l.split(' ')[0]).filter((n) => names.includes(n));
    assert.deepEqual(left, [], 'lab namespaces left after cleanup');
  }
}

/**
 * Runs in a page (passed as source text): getUserMedia's outcome.
 * @type {() => Promise<{ok: boolean, tracks?: string[], name?: string, message?: string}>}
 */
const getUserMedia = () => navigator.mediaDevices.getUserMedia({ video: true, audio: true })
  .then((s) => ({ ok: true, tracks: s.getTracks().map((tr) => tr.kind).sort() }))
  .catch((e) => ({ ok: false, name: e.name, message: e.message }));

test('harness: namespaced Chromium loads https://call.test, has fake media, calls over host candidates',
  { skip: SKIP, timeout: 90_000 }, async (t) => {
    await withStaticLab(t, [{ name: 'A' }, { name: 'B' }], async ({ browsers, artifactsDir }) => {
      const [a, b] = browsers.map((x) => x.page);
      for (const p of [a, b]) {
        await p.goto(`${URL_ROOT}/`, { timeout: 10_000 });
        assert.equal(await p.textContent('#hello'), 'hello from 10.77.0.1');
        assert.equal(await p.evaluate(() => isSecureContext), true, 'secure context');
        const gum = await p.evaluate(`(${getUserMedia})()`);
        assert.deepEqual(gum, { ok: true, tracks: ['audio', 'video'] });
      }

      // Direct WebRTC call, SDP passed through Node, non-trickle.
      /** @param {RTCSessionDescriptionInit | null} offer */
      const setup = async (offer) => {
        const pc = new RTCPeerConnection({ iceServers: [] });
        /** @type {CallWindow} */ (window).__pc = pc;
        const s = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        s.getTracks().forEach((tr) => pc.addTrack(tr, s));
        const dc = pc.createDataChannel('t', { negotiated: true, id: 0 });
        /** @type {CallWindow} */ (window).__got = [];
        dc.onmessage = (e) => /** @type {CallWindow} */ (window).__got.push(e.data);
        dc.onopen = () => dc.send(`hi from ${offer ? 'B' : 'A'}`);
        if (offer) await pc.setRemoteDescription(offer);
        await pc.setLocalDescription();
        await /** @type {Promise<void>} */ (new Promise((res) => {
          if (pc.iceGatheringState === 'complete') res();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && res();
          setTimeout(res, 5000);
        }));
        // Set by setLocalDescription above.
        return /** @type {RTCSessionDescription} */ (pc.localDescription).toJSON();
      };
      const offer = await a.evaluate(setup, null);
      const answer = await b.evaluate(setup, offer);
      await a.evaluate((ans) => /** @type {CallWindow} */ (window).__pc.setRemoteDescription(ans), answer);

      const probe = async () => {
        const pc = /** @type {CallWindow} */ (window).__pc;
        const st = await pc.getStats();
        let frames = 0;
        /** @type {RTCIceCandidatePairStats | undefined} */
        let pair;
        st.forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded || 0;
          if (r.type === 'transport' && r.selectedCandidatePairId) pair = st.get(r.selectedCandidatePairId);
        });
        const local = pair && st.get(pair.localCandidateId);
        return { ice: pc.iceConnectionState, frames, localType: local?.candidateType,
          got: /** @type {CallWindow} */ (window).__got };
      };
      for (const p of [a, b]) {
        const s = await pollUntil(async () => {
          const v = await p.evaluate(probe);
          return (v.ice === 'connected' || v.ice === 'completed') && v.frames > 0 && v.got.length ? v : null;
        }, { timeout: 15_000, message: 'direct call connected with frames and data' });
        assert.equal(s.localType, 'host');
      }
      await screenshot(a, artifactsDir, 'harness-a');

      // Other names must not resolve (no DNS stalls, nothing leaves the lab).
      const extra = await browsers[1].context.newPage();
      const other = await extra.goto('https://example.com/', { timeout: 10_000 })
        .then(() => 'loaded', (/** @type {Error} */ e) => e.message);
      assert.match(other, /ERR_NAME_NOT_RESOLVED/);
    });
  });

test('harness: media "deny" mode makes getUserMedia reject with NotAllowedError',
  { skip: SKIP, timeout: 60_000 }, async (t) => {
    await withStaticLab(t, [{ name: 'denied', media: 'deny' }], async ({ browsers }) => {
      const p = browsers[0].page;
      await p.goto(`${URL_ROOT}/`, { timeout: 10_000 });
      /** @type {Awaited<ReturnType<typeof getUserMedia>>} */
      const gum = await p.evaluate(`(${getUserMedia})()`);
      assert.equal(gum.ok, false);
      assert.equal(gum.name, 'NotAllowedError');
      assert.equal(await p.evaluate(() => navigator.permissions.query({ name: 'camera' }).then((s) => s.state)), 'denied');
    });
  });
