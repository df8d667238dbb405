// Recording on the server: in a call through the router, the host presses Record; both
// pages show the red "Recording" tag (the guest's says who records); after a few seconds
// the host stops it. The server wrote one WebM file per track, which ffprobe and mkvinfo
// (third-party tools) read: VP8 and Opus, each lasting the recorded wall time within 2 %.
// The host's list of recordings downloads each file through its signed link. Composed
// into one MP4 (`confab recording compose`, with ffmpeg), the recording's list item
// offers that file too, in English and Chinese, and its link downloads exactly it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sfuCallOfTwo } from '../lib/call.js';
import { confabBin } from '../lib/confab.js';
import { pollUntil, roomName, skipReason, sleep, startLab } from '../lib/lab.js';

const SKIP = skipReason();

/**
 * ffprobe's view of a file: codec, its first frame's time and the duration, in seconds.
 * @param {string} path
 */
function probe(path) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries',
    'format=duration:stream=codec_name,start_time', '-of', 'default=noprint_wrappers=1', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ffprobe ${path}: ${r.stderr}`);
  const get = (/** @type {string} */ k) => r.stdout.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1] ?? '';
  return { codec: get('codec_name'), start: Number(get('start_time')), duration: Number(get('duration')) };
}

test('recording: the host records a call through the router; ffprobe and mkvinfo read every track',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'confab-e2e-recording-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const lab = await startLab({ t, browsers: 2, dataDir, confabArgs: ['--media', 'sfu'] });
    const [alice, bob] = lab.pages;
    const room = roomName('rec');
    await sfuCallOfTwo(lab, room);

    await alice.click('#record-toggle');
    for (const page of [alice, bob]) {
      await page.locator('#recording-tag:not([hidden])').waitFor({ timeout: 10_000 });
    }
    assert.equal(await bob.locator('#recording-tag').getAttribute('title'), 'Alice is recording this room');
    assert.ok(await bob.locator('#record-toggle').isHidden(), 'a guest has no record button');
    await sleep(500);
    await lab.screenshot(bob, 'recording-guest');
    await sleep(4500);
    await alice.click('#record-toggle');
    for (const page of [alice, bob]) {
      await page.locator('#recording-tag').waitFor({ state: 'hidden', timeout: 10_000 });
    }

    // The files: recordings/<room>/<start>-<call>/, with a manifest once stopped.
    const base = join(dataDir, 'recordings', room);
    const folder = await pollUntil(() => {
      const dirs = readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory());
      const done = dirs.map((d) => join(base, d.name)).find((d) => readdirSync(d).includes('recording.json'));
      return done ?? null;
    }, { timeout: 10_000, message: 'the recording is finished' });
    const manifest = JSON.parse(readFileSync(join(folder, 'recording.json'), 'utf8'));
    const wall = (manifest.stoppedMs - manifest.startedMs) / 1000;
    console.log(`recording: ${wall} s recorded, files ${JSON.stringify(manifest.files)}`);
    assert.equal(manifest.files.length, 4, 'audio and video of both');
    /** Each person's files' first frame times (s into the recording). @type {Map<string, Record<string, number>>} */
    const starts = new Map();
    for (const f of manifest.files) {
      const path = join(folder, f.file);
      const p = probe(path);
      starts.set(f.peer, { ...starts.get(f.peer), [f.kind]: p.start });
      assert.equal(p.codec, f.kind === 'audio' ? 'opus' : 'vp8', f.file);
      assert.ok(Math.abs(p.duration - wall) / wall <= 0.02, `${f.file} lasts ${p.duration} s of ${wall} s`);
      const info = spawnSync('mkvinfo', [path], { encoding: 'utf8' });
      assert.equal(info.status, 0, `mkvinfo ${f.file}: ${info.stdout}`);
      assert.match(info.stdout, f.kind === 'audio' ? /A_OPUS/ : /V_VP8/);
    }

    // Each person's audio and video start within 40 ms of each other (audio waits for
    // the video's first keyframe).
    for (const [peer, s] of starts) {
      t.diagnostic(`${peer}: audio starts at ${s.audio} s, video at ${s.video} s`);
      assert.ok(Math.abs(s.audio - s.video) <= 0.040, `${peer}: audio at ${s.audio} s, video at ${s.video} s`);
    }

    // The host's list: the recording with its four files, each link downloading the file;
    // a tampered link is refused; the guest has no list.
    assert.ok(await bob.locator('#menu-recordings').isHidden(), 'a guest has no recordings list');
    await alice.click('#more-toggle');
    await alice.click('#menu-recordings');
    const item = alice.locator(`#recordings-list li[data-recording-id="${folder.split('/').pop()}"]`);
    await item.waitFor({ timeout: 10_000 });
    assert.equal(await item.locator('.rec-file').count(), 4);
    const fetched = await alice.evaluate(async () => {
      const links = [...document.querySelectorAll('#recordings-list .rec-download')]
        .map((a) => /** @type {HTMLAnchorElement} */ (a).href);
      const got = [];
      for (const href of links) {
        const r = await fetch(href);
        got.push({ status: r.status, type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength });
      }
      const bad = await fetch(links[0].replace(/sig=../, 'sig=00'));
      return { got, bad: bad.status };
    });
    const sizes = manifest.files.map((/** @type {{file: string}} */ f) => statSync(join(folder, f.file)).size).sort();
    assert.deepEqual(fetched.got.map((g) => g.bytes).sort(), sizes, 'each link downloads its whole file');
    assert.ok(fetched.got.every((g) => g.status === 200 && /^(audio|video)\/webm$/.test(g.type ?? '')), JSON.stringify(fetched.got));
    assert.equal(fetched.bad, 404, 'a tampered link is refused');
    assert.equal(await item.locator('.rec-composed').count(), 0, 'nothing composed yet');
    await lab.screenshot(alice, 'recordings-list');

    // Composed into one MP4: listed again (the server reads the folder), first in the
    // item, with a link that downloads exactly the file.
    const id = /** @type {string} */ (folder.split('/').pop());
    const composed = spawnSync(confabBin(), ['recording', 'compose', room, id, '--data-dir', dataDir],
      { encoding: 'utf8', timeout: 120_000 });
    assert.equal(composed.status, 0, `confab recording compose: ${composed.stderr}`);
    const mp4 = join(folder, 'composed.mp4');
    assert.equal(composed.stdout.trim(), mp4);
    const reopen = async () => {
      await alice.click('#recordings-close');
      await alice.click('#more-toggle');
      await alice.click('#menu-recordings');
    };
    await reopen();
    const row = item.locator('.rec-file:first-of-type.rec-composed');
    await row.waitFor({ timeout: 10_000 });
    const size = `${Math.max(0.1, Math.round(statSync(mp4).size / 100_000) / 10)} MB`;
    assert.equal(await row.locator('.rec-file-text').textContent(), `Everyone in one video (MP4) · ${size}`);
    assert.equal(await row.locator('.rec-download').getAttribute('download'), 'composed.mp4');
    const got = await row.locator('.rec-download').evaluate(async (a) => {
      const r = await fetch(/** @type {HTMLAnchorElement} */ (a).href);
      const digest = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
      const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
      return { status: r.status, type: r.headers.get('content-type'), sha256: hex };
    });
    const want = createHash('sha256').update(readFileSync(mp4)).digest('hex');
    assert.deepEqual(got, { status: 200, type: 'video/mp4', sha256: want }, 'the link downloads the composed file');
    await lab.screenshot(alice, 'recordings-composed-en');
    // In Chinese (the lobby's language select, switched as its change handler takes it;
    // the list is worded when it arrives, so it is asked for again).
    await alice.evaluate(() => {
      const select = /** @type {HTMLSelectElement} */ (document.getElementById('language'));
      select.value = 'zh-CN';
      select.dispatchEvent(new Event('change'));
    });
    await reopen();
    await pollUntil(async () => (await row.locator('.rec-file-text').textContent())?.startsWith('所有人合成一个视频（MP4）'),
      { timeout: 10_000, message: 'the composed file in Chinese' });
    assert.equal(await row.locator('.rec-download').textContent(), '下载');
    await lab.screenshot(alice, 'recordings-composed-zh');
    for (const b of lab.browsers) assert.deepEqual(b.pageErrors, [], `${b.name}: no page errors`);
  });
