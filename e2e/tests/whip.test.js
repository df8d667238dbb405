// WHIP ingest (RFC 9725) with a third-party client: Eyevinn's WHIP web client publishes a
// browser's fake camera into a room with a host token. The stream is a participant of the
// room like a browser: it starts the room's broadcast, a viewer who was there watches it
// by itself, one who comes later too, each decoding its video and audio through the SFU.
// Ending the session (the client's DELETE) takes the participant out of the room.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callIsUp, joinRoom } from '../lib/call.js';
import { mintToken } from '../lib/confab.js';
import { callStats, pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';
import { publishWhip, whipState } from '../lib/whip.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();
const TOKEN_KEY = 'e2e-whip-token-key-0123456789abcdef0123';

/**
 * The peer id of the member called `name` in `page`'s room, or null.
 * @param {Page} page
 * @param {string} name
 */
const peerNamed = (page, name) => page.evaluate(
  (n) => window.confab.peers.find((/** @type {{name: string}} */ p) => p.name === n)?.id ?? null, name);

test('whip: a third-party WHIP client broadcasts into a room; viewers before and after decode it',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 3, confabArgs: ['--media', 'auto', '--token-key', TOKEN_KEY] });
    const [encoder, early, late] = lab.pages;
    const room = roomName('whip');

    // A viewer is in the room first (and hosts it, until the stream's host token comes).
    await joinRoom(lab, early, room, 'Early');

    // The encoder: a page of confab's own origin (no CSP on /healthz) running the client.
    await encoder.goto(lab.url('/healthz'));
    const token = mintToken(room, 'Camera 1', { key: TOKEN_KEY, role: 'host' });
    const started = Date.now();
    await publishWhip(encoder, lab.url(`/whip/${room}`), token);
    const { resource } = await whipState(encoder);
    assert.match(resource ?? '', new RegExp(`/whip/${room}/[0-9a-f]{32}$`), 'the session URL');
    await pollUntil(async () => (await whipState(encoder)).state === 'connected',
      { timeout: 20_000, message: 'the WHIP client connects to the SFU' });

    const camera = await pollUntil(() => peerNamed(early, 'Camera 1'),
      { timeout: 10_000, message: 'the stream is a member of the room' });
    await pollUntil(async () => callIsUp((await callStats(early))[camera]),
      { timeout: 30_000, interval: 250, message: 'the early viewer decodes the stream' });
    console.log(`whip: publish to the first viewer's decoded frame: ${Date.now() - started} ms`);

    await joinRoom(lab, late, room, 'Late');
    await pollUntil(async () => callIsUp((await callStats(late))[camera]),
      { timeout: 30_000, interval: 250, message: 'the late viewer decodes the stream' });
    assert.match(await late.locator('#status').textContent() ?? '', /Watching Camera 1/);
    await sleep(500);
    await lab.screenshot(late, 'whip-viewer');

    // The client ends its session: the stream leaves the room.
    await encoder.evaluate(() => /** @type {any} */ (window).__whip.destroy());
    await pollUntil(async () => (await peerNamed(early, 'Camera 1')) === null,
      { timeout: 10_000, message: 'the stream leaves the room after DELETE' });
    for (const b of lab.browsers.slice(1)) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
