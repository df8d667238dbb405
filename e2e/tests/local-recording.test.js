// Recording a call on one's own device (issue 13 item 4): Alice records the call from
// the "more" menu; Bob is told in words and sees a tag on her row; when she stops, her
// browser saves a WebM file of the call as it looked and sounded on her page, which
// ffprobe reads: VP8 video with frames all along, and Opus audio.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { establishCall, showPeople, waitForNotice } from '../lib/call.js';
import { roomName, skipReason, startLab, sleep } from '../lib/lab.js';

const SKIP = skipReason();

test('local recording: Alice records the call on her device; Bob is told; the file plays',
  { skip: SKIP, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'confab-e2e-localrec-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const lab = await startLab({ t, browsers: [{}, { locale: 'zh-CN' }] });
    const [alice, bob] = lab.pages;
    const { ids: [aliceId] } = await establishCall(lab, [alice, bob], roomName('localrec'), ['Alice', 'Bob']);
    await showPeople(bob);

    await alice.click('#more-toggle');
    await alice.click('#menu-local-record');
    await alice.locator('#local-rec-tag').waitFor({ state: 'visible', timeout: 5_000 });
    await waitForNotice(bob, 'Alice正在自己的设备上录制这次通话');
    const tag = bob.locator(`#peer-list li[data-peer-id="${aliceId}"] .local-rec-tag`);
    await tag.waitFor({ state: 'visible', timeout: 5_000 });
    await lab.screenshot(bob, 'local-recording-told-zh');
    await lab.screenshot(alice, 'local-recording-alice');
    const seconds = 4;
    await sleep(seconds * 1000);

    const download = alice.waitForEvent('download', { timeout: 15_000 });
    await alice.click('#local-rec-tag');
    const file = join(dir, (await download).suggestedFilename());
    await (await download).saveAs(file);
    t.diagnostic(`saved ${file}: ${statSync(file).size} bytes`);
    assert.match(file, /confab-localrec-.*\.webm$/);
    await waitForNotice(bob, 'Alice停止了录制');
    await tag.waitFor({ state: 'hidden', timeout: 5_000 });

    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries',
      'stream=codec_type,codec_name,nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `ffprobe: ${probe.stderr}`);
    t.diagnostic(`ffprobe: ${probe.stdout.trim().replace(/\n/g, '; ')}`);
    const streams = probe.stdout.trim().split('\n').map((l) => l.split(','));
    const video = streams.find((s) => s[1] === 'video');
    const audio = streams.find((s) => s[1] === 'audio');
    assert.equal(video?.[0], 'vp8', 'a VP8 picture');
    assert.equal(audio?.[0], 'opus', 'Opus sound');
    assert.ok(Number(video?.[2]) >= seconds * 15 * 0.5, `frames all along (${video?.[2]})`);
  });
