// Active speakers in a call through the media router (SFU), and in a mesh call (the last
// test: each page reads the levels itself, web/js/media/levels.js): three browsers in one call,
// Bob and Carol mute their microphones, and within a few seconds Bob's and Carol's pages
// highlight Alice's tile as the one speaking, and not each other's. When Alice mutes too,
// the highlight goes.
//
// The audio. Chromium's fake microphone (`--use-fake-device-for-media-stream`) beeps twice
// a second: measured here through the router, a packet at -13 and -8 dBov, then levels
// falling to about -100 over 0.3 s, then 0.2 s of digital silence (127). The router
// averages how far levels are above -50 dBov over about 0.4 s (crates/sfu/src/speakers.rs);
// the beep's average swings around the threshold to enter the list and below the one to
// stay, so it would flicker on and off, as no voice does. So Alice's browser captures a
// speech-like file instead (`--use-file-for-fake-audio-capture`, made below: a voice-range
// tone in syllables, -11 to -42 dBov through Chromium's audio processing). Bob and Carol
// keep the fake device and mute it (track.enabled = false: Chromium sends digital
// silence, level 127). The test logs the levels each page receives, from the RTP header
// extension the router forwards (`getSynchronizationSources`), before it checks tiles.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { accept, callIsUp, invite, joinRoom, waitForInvitation } from '../lib/call.js';
import { callStats, pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';
import { artifactsDirFor } from '../lib/util.js';

/** @typedef {import('playwright-core').Page} Page */

const SKIP = skipReason();
const RATE = 48_000;

/**
 * Writes a 16-bit mono WAV of something like speech: a voice-range tone (gliding between
 * 140 and 220 Hz, with harmonics) in syllables of about 200 ms at 4 per second, with a
 * short pause between words, at about -20 dBFS (RMS) while voiced.
 * @param {string} path
 * @param {number} seconds
 */
function writeSpeechWav(path, seconds) {
  const n = RATE * seconds;
  const data = Buffer.alloc(n * 2);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const time = i / RATE;
    const f0 = 180 + 40 * Math.sin(2 * Math.PI * 0.7 * time);
    phase += (2 * Math.PI * f0) / RATE;
    const voiced = Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.3 * Math.sin(3 * phase) + 0.2 * Math.sin(5 * phase);
    const syllable = 0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * time); // 4 syllables a second
    const word = (time % 1.5) < 1.35 ? 1 : 0.05; // 150 ms between words
    const sample = 0.12 * voiced * syllable * word;
    data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, sample)) * 32767), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

/**
 * Samples, in `page`, the audio level of every forwarded audio track for `ms`: the level
 * of the last packet (RFC 6464 header extension, as a linear 0..1), every 50 ms. By the
 * publisher's peer id (the stream id the router gives its tracks).
 * @param {Page} page
 * @param {number} ms
 * @returns {Promise<Record<string, {samples: number, min: number, max: number, mean: number, silent: number, dbov: string}>>}
 */
function sampleLevels(page, ms) {
  return page.evaluate(async (ms) => {
    const pc = Object.values(window.confab.pcs())[0];
    /** Whose tile plays `track`. @param {MediaStreamTrack} track */
    const owner = (track) => [...document.querySelectorAll('#stage .tile.remote')].find((tile) => {
      const stream = /** @type {HTMLVideoElement | null} */ (tile.querySelector('video'))?.srcObject;
      return stream instanceof MediaStream && stream.getTracks().includes(track);
    });
    /** @type {Record<string, number[]>} */
    const seen = {};
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (const r of pc.getReceivers()) {
        const tile = r.track.kind === 'audio' ? owner(r.track) : undefined;
        const who = /** @type {HTMLElement | undefined} */ (tile)?.dataset.peerId;
        if (!who) continue;
        for (const s of r.getSynchronizationSources()) (seen[who] ??= []).push(s.audioLevel ?? -1);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return Object.fromEntries(Object.entries(seen).map(([who, xs]) => [who, {
      samples: xs.length,
      min: Math.min(...xs),
      max: Math.max(...xs),
      mean: Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1e4) / 1e4,
      silent: xs.filter((x) => x < 0.001).length,
      dbov: xs.slice(0, 30).map((x) => (x > 0 ? Math.round(-20 * Math.log10(x)) : 127)).join(' '),
    }]));
  }, ms);
}

/**
 * The page's speakers: the debug handle's list and the tiles marked speaking / loudest.
 * @param {Page} page
 */
function shownSpeakers(page) {
  return page.evaluate(() => ({
    list: window.confab.speakers.speakers,
    speaking: [...document.querySelectorAll('#stage .tile.remote.speaking')]
      .map((t) => /** @type {HTMLElement} */ (t).dataset.peerId),
    loudest: [...document.querySelectorAll('#stage .tile.remote[data-loudest]')]
      .map((t) => /** @type {HTMLElement} */ (t).dataset.peerId),
  }));
}

/**
 * Three browsers in one call (Alice calls Bob, Carol joins), Alice talking from a
 * speech-like file: `media` is confab's `--media`. Waits until every page decodes both
 * others.
 * @param {import('node:test').TestContext} t
 * @param {'sfu' | 'mesh'} media
 */
async function callOfThree(t, media) {
  const artifactsDir = artifactsDirFor(t.name);
  const wav = join(artifactsDir, 'speech.wav');
  writeSpeechWav(wav, 12);
  const lab = await startLab({
    t,
    artifactsDir,
    browsers: [{ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`] }, {}, {}],
    confabArgs: ['--media', media],
  });
  const [alice, bob, carol] = lab.pages;
  const names = ['Alice', 'Bob', 'Carol'];
  const room = roomName(`speakers-${media}`);
  /** @type {string[]} */
  const ids = [];
  for (const [i, page] of lab.pages.entries()) ids.push(await joinRoom(lab, page, room, names[i]));
  await invite(alice, ids[1], { expect: 'Call' });
  await waitForInvitation(bob);
  await accept(bob);
  await carol.click('#join-call', { timeout: 10_000 });
  const others = (/** @type {number} */ i) => ids.filter((_, j) => j !== i);
  await Promise.all(lab.pages.map((page, i) => pollUntil(async () => {
    const s = await callStats(page);
    return others(i).every((id) => callIsUp(s[id])) ? s : null;
  }, { timeout: 60_000, interval: 500, message: `${names[i]} decodes both others (${media})` })));
  return { lab, names, ids };
}

test('speakers: in a call through the router, the one talking is highlighted on the others\' pages',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const { lab, names, ids } = await callOfThree(t, 'sfu');
    const [alice, bob, carol] = lab.pages;
    const [ida, idb, idc] = ids;

    // Bob and Carol mute: within a few seconds both highlight Alice, and only her.
    await bob.click('#mic-toggle');
    await carol.click('#mic-toggle');
    const muted = performance.now();
    const highlighted = (/** @type {Page} */ page, /** @type {string} */ who) => pollUntil(async () => {
      const s = await shownSpeakers(page);
      return s.list.length === 1 && s.list[0] === ida && s.speaking.length === 1 ? s : null;
    }, { timeout: 5_000, interval: 100, message: `${who} highlights Alice alone` });
    const shown = await Promise.all([highlighted(bob, 'Bob'), highlighted(carol, 'Carol')]);
    console.log(`speakers: Bob and Carol highlight Alice alone ${Math.round(performance.now() - muted)} ms after muting`);
    for (const s of shown) assert.deepEqual(s, { list: [ida], speaking: [ida], loudest: [ida] });

    // What their pages receive: Alice's speech, and silence from the other muted one (from
    // half a second after muting: a packet in flight at the click still carries a beep,
    // and the highlight may come at once when Alice was already the only one talking).
    await sleep(Math.max(0, 600 - (performance.now() - muted)));
    for (const [page, who] of /** @type {const} */ ([[bob, 'Bob'], [carol, 'Carol']])) {
      const levels = await sampleLevels(page, 2000);
      const named = Object.fromEntries(Object.entries(levels).map(([id, l]) => [names[ids.indexOf(id)] ?? id, l]));
      console.log(`speakers: audio levels ${who} receives over 2 s (linear, from the RTP header): ${JSON.stringify(named)}`);
      const fromAlice = levels[ida];
      const fromOther = levels[who === 'Bob' ? idc : idb];
      assert.ok(fromAlice && fromOther, `${who} gets levels from both others`);
      assert.ok(fromAlice.max > 0.05, `Alice's level reaches ${who}: ${JSON.stringify(fromAlice)}`);
      // -60 dBov (0.001) or quieter: the tail of the last word can still be in the first sample.
      assert.ok(fromOther.max <= 0.001, `the muted one is silent at ${who}: ${JSON.stringify(fromOther)}`);
    }

    // Alice keeps talking (with pauses between words): the highlight stays put.
    const steady = await carol.evaluate(async () => {
      /** @type {string[]} */
      const seen = [];
      for (let i = 0; i < 30; i++) {
        seen.push(window.confab.speakers.speakers.join(','));
        await new Promise((r) => setTimeout(r, 100));
      }
      return [...new Set(seen)];
    });
    assert.deepEqual(steady, [ida], 'Carol\'s list over 3 s of Alice talking');
    // Alice's own page shows neither muted one speaking.
    assert.deepEqual((await shownSpeakers(alice)).speaking, [], 'Alice sees nobody else speaking');
    await sleep(300);
    await lab.screenshot(bob, 'speakers-bob');

    // Bob's speaker view: Alice, who talks, fills the stage; pinning Carol makes her big
    // although Alice talks; unpinning gives Alice back; the grid makes them equal again.
    const layoutOf = (/** @type {Page} */ page) => page.evaluate(() => {
      const tiles = [...document.querySelectorAll('#stage .tile.remote')].map((el) => {
        const r = el.getBoundingClientRect();
        return { id: /** @type {HTMLElement} */ (el).dataset.peerId, area: r.width * r.height };
      }).sort((x, y) => y.area - x.area);
      return { biggest: tiles[0]?.id, ratio: tiles[1]?.area ? tiles[0].area / tiles[1].area : 0, ...window.confab.layout };
    });
    const shows = (/** @type {string} */ id, /** @type {boolean} */ big, /** @type {string} */ what) => pollUntil(async () => {
      const l = await layoutOf(bob);
      return (big ? l.biggest === id && l.ratio > 4 : l.ratio < 1.5) ? l : null;
    }, { timeout: 5_000, interval: 100, message: what });
    await bob.click('#more-toggle');
    await bob.click('#menu-layout');
    await shows(ida, true, 'the speaker view shows Alice, who talks, big');
    await sleep(300);
    await lab.screenshot(bob, 'speaker-view');
    const carolTile = `#stage .tile.remote[data-peer-id="${idc}"]`;
    await bob.hover(carolTile);
    await bob.click(`${carolTile} .pin-tile`);
    const pinned = await shows(idc, true, 'pinned Carol is big while Alice talks');
    assert.equal(pinned.pinned, idc);
    await bob.click(`${carolTile} .pin-tile`);
    await shows(ida, true, 'unpinned, the speaker is big again');
    await bob.click('#more-toggle');
    await bob.click('#menu-layout');
    await shows(ida, false, 'the grid shows both alike');

    // Alice mutes as well: within a few seconds nobody is highlighted.
    await alice.click('#mic-toggle');
    const stopped = performance.now();
    await Promise.all(/** @type {const} */ ([[bob, 'Bob'], [carol, 'Carol']]).map(([page, who]) => pollUntil(async () => {
      const s = await shownSpeakers(page);
      return s.list.length === 0 && s.speaking.length === 0 ? s : null;
    }, { timeout: 5_000, interval: 100, message: `${who}'s highlight goes when Alice mutes` })));
    console.log(`speakers: the highlight went ${Math.round(performance.now() - stopped)} ms after Alice muted`);
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });

test('speakers: in a mesh call, each page works out who talks from the audio levels it receives',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const { lab, ids: [ida] } = await callOfThree(t, 'mesh');
    const [alice, bob, carol] = lab.pages;
    await bob.click('#mic-toggle');
    await carol.click('#mic-toggle');
    const muted = performance.now();
    /** @type {Record<string, unknown>} */
    const last = {};
    const highlighted = (/** @type {Page} */ page, /** @type {string} */ who) => pollUntil(async () => {
      const s = await shownSpeakers(page);
      last[who] = { ...s, levels: await page.evaluate(() => window.confab.speakers) };
      return s.list.length === 1 && s.list[0] === ida && s.speaking.length === 1 ? s : null;
    }, { timeout: 8_000, interval: 100, message: `${who} highlights Alice alone (mesh)` })
      .catch((e) => assert.fail(`${e.message}; last seen: ${JSON.stringify(last)}`));
    const shown = await Promise.all([highlighted(bob, 'Bob'), highlighted(carol, 'Carol')]);
    console.log(`speakers (mesh): Bob and Carol highlight Alice alone ${Math.round(performance.now() - muted)} ms after muting;` +
      ` smoothed levels at Bob: ${JSON.stringify((await bob.evaluate(() => window.confab.speakers)).levels)}`);
    for (const s of shown) assert.deepEqual(s, { list: [ida], speaking: [ida], loudest: [ida] });
    await lab.screenshot(bob, 'speakers-mesh-bob');

    // Alice mutes too: nobody is highlighted.
    await alice.click('#mic-toggle');
    await pollUntil(async () => (await shownSpeakers(bob)).speaking.length === 0,
      { timeout: 5_000, interval: 100, message: 'the highlight goes when Alice mutes' });
  });
