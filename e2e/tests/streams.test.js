// Streams in and out with third-party clients. WHIP (RFC 9725): Eyevinn's WHIP web client
// publishes a browser's fake camera into a room with a host token. The stream is a
// participant of the room like a browser: it starts the room's broadcast, a viewer who was
// there (and hosts the room) joins it, one who comes later watches it by itself, each decoding its video and audio
// through the SFU. WHEP: Eyevinn's WebRTC player plays the room's broadcast into a plain
// <video> with a viewer token (it is counted in the audience), and plays the stream alone
// from its participant URL (/whep/<room>/participant/Camera%201). Ending the WHIP session
// (the client's DELETE) takes the stream out of the room.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callIsUp, joinRoom } from '../lib/call.js';
import { mintToken } from '../lib/confab.js';
import { callStats, pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';
import { playWhep, publishWhip, whepVideo, whipState } from '../lib/streams.js';

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

test('streams: a third-party WHIP client broadcasts into a room; viewers and a WHEP player decode it',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 3, confabArgs: ['--media', 'auto', '--token-key', TOKEN_KEY] });
    const [encoder, early, late] = lab.pages;
    const room = roomName('whip');

    // Someone is in the room first: it hosts the open room (a stream's token does not
    // take that away), so it joins the broadcast itself, with the call's button.
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
    assert.equal(await early.evaluate(() => window.confab.role), 'host', 'the stream demoted nobody');
    await early.click('#join-call', { timeout: 10_000 });
    await pollUntil(async () => callIsUp((await callStats(early))[camera]),
      { timeout: 30_000, interval: 250, message: 'the early viewer decodes the stream' });
    console.log(`whip: publish to the first viewer's decoded frame: ${Date.now() - started} ms`);

    await joinRoom(lab, late, room, 'Late');
    await pollUntil(async () => callIsUp((await callStats(late))[camera]),
      { timeout: 30_000, interval: 250, message: 'the late viewer decodes the stream' });
    assert.match(await late.locator('#status').textContent() ?? '', /Watching .*Camera 1/);
    await sleep(500);
    await lab.screenshot(late, 'whip-viewer');

    // A WHEP player (a page of its own in the encoder's browser) plays the broadcast.
    const player = await lab.browsers[0].context.newPage();
    await player.goto(lab.url('/healthz'));
    const viewerToken = mintToken(room, 'Lobby screen', { key: TOKEN_KEY, role: 'viewer' });
    const playing = Date.now();
    await playWhep(player, lab.url(`/whep/${room}`), viewerToken);
    const first = await pollUntil(async () => {
      const v = await whepVideo(player);
      return v.width > 0 && v.time > 0 ? v : null;
    }, { timeout: 20_000, interval: 100, message: 'the WHEP player shows the stream' });
    console.log(`whep: load to a moving picture: ${Date.now() - playing} ms (${first.width} wide)`);
    await sleep(1000);
    const later = await whepVideo(player);
    assert.ok(later.time > first.time, `the WHEP picture moves: ${first.time} -> ${later.time}`);
    await pollUntil(async () => (await late.locator('#viewer-count').textContent())?.includes('2 people watching'),
      { timeout: 10_000, message: 'the player is counted in the audience (Early hosts, so it is on stage)' });

    // The same player, of one participant: the stream by its name, percent-encoded.
    const one = await lab.browsers[0].context.newPage();
    await one.goto(lab.url('/healthz'));
    const oneToken = mintToken(room, 'Door screen', { key: TOKEN_KEY, role: 'viewer' });
    await playWhep(one, lab.url(`/whep/${room}/participant/${encodeURIComponent('Camera 1')}`), oneToken);
    const oneFirst = await pollUntil(async () => {
      const v = await whepVideo(one);
      return v.width > 0 && v.time > 0 ? v : null;
    }, { timeout: 20_000, interval: 100, message: 'the WHEP player of Camera 1 shows it' });
    await sleep(1000);
    assert.ok((await whepVideo(one)).time > oneFirst.time, 'the picture of Camera 1 moves');
    await one.close();

    // The client ends its session: the stream leaves the room.
    await encoder.evaluate(() => /** @type {any} */ (window).__whip.destroy());
    await pollUntil(async () => (await peerNamed(early, 'Camera 1')) === null,
      { timeout: 10_000, message: 'the stream leaves the room after DELETE' });
    for (const b of lab.browsers.slice(1)) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
