// Peer-to-peer file transfer in a call (data channels, not the server): Alice sends Bob
// a 20 MiB random file; Bob accepts, both progress bars reach 100 %, Bob's SHA-256
// check passes, and the file Bob saves (a real download) has the SHA-256 Node computed
// from the file Alice picked. Then a bigger transfer is cancelled by the receiver in
// the middle and both sides show it as cancelled. In a call through the server's media
// router, a file still goes peer to peer, on a connection opened for it.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { callIsUp, establishCall, sfuCallOfTwo } from '../lib/call.js';
import { callStats, describeConfab, roomName, skipReason, startLab, waitFor } from '../lib/lab.js';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {import('../lib/browser.js').ConfabHandle['transfers'][number]} Transfer */

const SKIP = skipReason();
const MiB = 1024 * 1024;

/**
 * Writes `size` random bytes to `path` (in 1 MiB pieces) and returns their SHA-256.
 * @param {string} path
 * @param {number} size
 */
function randomFile(path, size) {
  const hash = createHash('sha256');
  const parts = [];
  for (let left = size; left > 0; left -= MiB) {
    const b = randomBytes(Math.min(MiB, left));
    hash.update(b);
    parts.push(b);
  }
  writeFileSync(path, Buffer.concat(parts));
  return hash.digest('hex');
}

/**
 * @param {string} path
 * @returns {Promise<string>} hex
 */
function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

/**
 * The page's transfers (window.confab.transfers) with the card's shown progress and text.
 * @param {Page} page
 */
function transfers(page) {
  return page.evaluate(() => window.confab.transfers.map((t) => {
    const card = document.querySelector(`.transfer[data-transfer-id="${t.id}"]`);
    return { ...t, shownProgress: card?.getAttribute('data-progress') ?? null,
      shownState: card?.getAttribute('data-state') ?? null,
      shownStatus: card?.querySelector('.transfer-status')?.textContent ?? null };
  }));
}

/**
 * Waits until one of the page's transfers satisfies `pred` (sent to the page as source
 * text, so it must not close over anything); returns it.
 * @param {Page} page
 * @param {string} label
 * @param {(x: Transfer) => boolean} pred
 * @param {string} what
 * @param {number} [timeout]
 * @returns {Promise<Transfer>}
 */
async function waitTransfer(page, label, pred, what, timeout = 30_000) {
  try {
    return await waitFor(page, ([src]) => {
      // eslint-disable-next-line no-new-func
      const p = new Function(`return (${src})`)();
      return window.confab.transfers.find(p) ?? null;
    }, { arg: [pred.toString()], timeout, interval: 50, message: `${label}: ${what}` });
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\n${label} transfers: ${JSON.stringify(await transfers(page))}\n` +
      `window.confab: ${await describeConfab(page)}`);
  }
}

test('files: a 20 MiB file goes peer to peer with progress, SHA-256 verified, saved intact',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    await establishCall(lab, [alice, bob], roomName('files'), ['Alice', 'Bob'], { needFirstFrame: false });

    const path = join(lab.artifactsDir, 'holiday-photos.bin');
    const size = 20 * MiB;
    const want = randomFile(path, size);

    // Alice picks the file (the "Send a file" menu item opens this input).
    await alice.click('#more-toggle');
    assert.ok(await alice.locator('#send-file').isVisible(), 'the menu shows "Send a file"');
    await alice.click('body', { position: { x: 5, y: 5 } }); // close the menu again
    await alice.setInputFiles('#file-input', path);

    // Bob sees the offer with name and size, and accepts it.
    const offer = await waitTransfer(bob, 'Bob', (x) => x.direction === 'receive' && x.state === 'offered', 'an offer');
    assert.equal(offer.name, 'holiday-photos.bin');
    assert.equal(offer.size, size);
    const card = bob.locator(`.transfer[data-transfer-id="${offer.id}"]`);
    assert.match(/** @type {string} */ (await card.locator('.transfer-status').textContent()), /20 MB · Wants to send you a file/);
    await lab.screenshot(bob, 'file-offer-bob');
    await card.locator('.accept').click();

    // In progress on both sides: a screenshot of each.
    let shot = false;
    try {
      await waitFor(bob, (id) => {
        const x = window.confab.transfers.find((tr) => tr.id === id);
        return x && x.state === 'receiving' && x.progress > 0.15 && x.progress < 0.9;
      }, { arg: offer.id, timeout: 20_000, interval: 20 });
      await Promise.all([lab.screenshot(bob, 'file-transfer-bob'), lab.screenshot(alice, 'file-transfer-alice')]);
      shot = true;
    } catch { /* it was faster than the poll: no in-progress shot */ }
    t.diagnostic(`in-progress screenshots taken: ${shot}`);

    const t0 = Date.now();
    const atBob = await waitTransfer(bob, 'Bob', (x) => x.state === 'done' || x.state === 'failed', 'transfer finished');
    const atAlice = await waitTransfer(alice, 'Alice', (x) => x.state === 'done' || x.state === 'failed', 'sender finished');
    t.diagnostic(`20 MiB done at Bob ${Date.now() - t0} ms after the first progress poll`);
    assert.equal(atBob.state, 'done', `Bob: ${atBob.reason}`);
    assert.equal(atAlice.state, 'done', `Alice: ${atAlice.reason}`);
    assert.equal(atAlice.localSha256, want, "Alice's incremental SHA-256 equals Node's hash of the file");
    assert.equal(atBob.localSha256, want, "Bob's SHA-256 of what arrived equals Node's hash of the file");
    assert.equal(atBob.sha256, want, 'the hash Alice announced');
    for (const [who, page] of /** @type {[string, Page][]} */ ([['Alice', alice], ['Bob', bob]])) {
      const [x] = await transfers(page);
      assert.equal(x.progress, 1, `${who} progress 100 %`);
      assert.equal(x.shownProgress, '100', `${who}'s bar shows 100 %`);
      assert.match(/** @type {string} */ (x.shownStatus), /[Vv]erified/, `${who} shows it verified: ${x.shownStatus}`);
    }
    await lab.screenshot(alice, 'file-done-alice');
    await lab.screenshot(bob, 'file-done-bob');

    // Bob saves it: a real download, hashed here from disk.
    const [download] = await Promise.all([bob.waitForEvent('download', { timeout: 15_000 }), card.locator('.save').click()]);
    assert.equal(download.suggestedFilename(), 'holiday-photos.bin');
    const saved = join(lab.artifactsDir, 'received.bin');
    await download.saveAs(saved);
    assert.equal(await sha256File(saved), want, 'the downloaded file has the sent file SHA-256');

    // The call is still up after it.
    const stats = await alice.evaluate(() => window.confab.stats());
    assert.ok(Object.values(stats).every((s) => ['connected', 'completed'].includes(s.iceConnectionState)));
  });

test('files: the receiver cancels a transfer midway; both sides show it cancelled',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2 });
    const [alice, bob] = lab.pages;
    await establishCall(lab, [alice, bob], roomName('filecancel'), ['Alice', 'Bob'], { needFirstFrame: false });

    const path = join(lab.artifactsDir, 'big-video.bin');
    randomFile(path, 48 * MiB);
    await alice.setInputFiles('#file-input', path);
    const offer = await waitTransfer(bob, 'Bob', (x) => x.state === 'offered', 'an offer');
    const card = bob.locator(`.transfer[data-transfer-id="${offer.id}"]`);
    await card.locator('.accept').click();
    await waitTransfer(bob, 'Bob', (x) => x.state === 'receiving' && x.bytes > 0, 'bytes arriving');
    await card.locator('.cancel').click();

    const atBob = await waitTransfer(bob, 'Bob', (x) => x.state !== 'receiving', 'transfer ended');
    const atAlice = await waitTransfer(alice, 'Alice', (x) => !['offered', 'sending', 'verifying'].includes(x.state), 'sender ended');
    assert.equal(atBob.state, 'cancelled');
    assert.ok(atBob.bytes < atBob.size, `Bob stopped before the end (${atBob.bytes} of ${atBob.size})`);
    assert.equal(atAlice.state, 'cancelled');
    const [shownBob] = await transfers(bob);
    const [shownAlice] = await transfers(alice);
    assert.equal(shownBob.shownStatus, 'Cancelled by you');
    assert.equal(shownAlice.shownStatus, 'Cancelled by Bob');
    await lab.screenshot(alice, 'file-cancelled-alice');
    await lab.screenshot(bob, 'file-cancelled-bob');

    // Nothing more arrives afterwards.
    const before = (await transfers(bob))[0].bytes;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await transfers(bob))[0].bytes, before, 'no bytes after the cancel');
  });

// Where the File System Access API exists and the file is big (64 MiB or more), the
// receiver picks where to save before accepting and the chunks go straight to that file.
// Headless Chromium's own picker rejects at once, so Bob's page gets a picker that
// returns a file in the origin-private file system (a real FileSystemFileHandle with a
// real createWritable stream: the same code path as a picked file on disk).
const OPFS_PICKER = `window.showSaveFilePicker = async (opts) => {
  const root = await navigator.storage.getDirectory();
  window.__picked = opts.suggestedName;
  return root.getFileHandle(opts.suggestedName, { create: true });
};`;

test('files: a 72 MiB file is streamed to a file the receiver picked, and is intact',
  { skip: SKIP, timeout: 180_000 }, async (t) => {
    const lab = await startLab({ t, browsers: [{}, { initScripts: [OPFS_PICKER] }] });
    const [alice, bob] = lab.pages;
    await establishCall(lab, [alice, bob], roomName('filedisk'), ['Alice', 'Bob'], { needFirstFrame: false });
    const path = join(lab.artifactsDir, 'disk-image.bin');
    const size = 72 * MiB;
    const want = randomFile(path, size);
    await alice.setInputFiles('#file-input', path);
    const offer = await waitTransfer(bob, 'Bob', (x) => x.state === 'offered', 'an offer');
    const t0 = Date.now();
    await bob.locator(`.transfer[data-transfer-id="${offer.id}"] .accept`).click();
    const atBob = await waitTransfer(bob, 'Bob', (x) => x.state === 'done' || x.state === 'failed', 'finished', 120_000);
    const ms = Date.now() - t0;
    t.diagnostic(`72 MiB to disk in ${ms} ms (${(72 / (ms / 1000)).toFixed(1)} MiB/s)`);
    assert.equal(atBob.state, 'done', `${atBob.reason}; Bob ${JSON.stringify(await transfers(bob))}; ` +
      `Alice ${JSON.stringify(await transfers(alice))}`);
    assert.equal(atBob.localSha256, want);
    assert.equal(atBob.reason, 'Verified · saved', 'saved straight to the picked file, nothing left to save');
    assert.equal(await bob.evaluate(() => /** @type {Window & {__picked?: string}} */ (window).__picked),
      'disk-image.bin', 'the picker was used');
    assert.equal(await bob.locator(`.transfer[data-transfer-id="${offer.id}"] .save`).isVisible(), false);
    // What is on "disk", hashed by WebCrypto, independently of the app's own SHA-256.
    const onDisk = await bob.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const f = await (await root.getFileHandle('disk-image.bin')).getFile();
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.arrayBuffer()));
      return { size: f.size, sha256: [...d].map((b) => b.toString(16).padStart(2, '0')).join('') };
    });
    assert.deepEqual(onDisk, { size, sha256: want });
    const atAlice = await waitTransfer(alice, 'Alice', (x) => x.state === 'done' || x.state === 'failed', 'sender finished');
    assert.equal(atAlice.state, 'done', /** @type {string | undefined} */ (atAlice.reason));
  });

test('files: in a call through the router, a file still goes peer to peer, on a connection made for it',
  { skip: SKIP, timeout: 150_000 }, async (t) => {
    const lab = await startLab({ t, browsers: 2, confabArgs: ['--media', 'sfu'] });
    const [alice, bob] = lab.pages;
    const { aliceId } = await sfuCallOfTwo(lab, roomName('sfufiles'));
    const connections = (/** @type {Page} */ page) => page.evaluate(() => new Set(Object.values(window.confab.pcs())).size);
    assert.equal(await connections(alice), 1, 'one connection: to the router');
    await waitFor(alice, () => !(/** @type {HTMLButtonElement} */ (document.getElementById('send-file'))).disabled,
      { timeout: 10_000, message: '"Send a file" is on offer in a call through the router' });

    const path = join(lab.artifactsDir, 'slides.bin');
    const size = 6 * MiB;
    const want = randomFile(path, size);
    await alice.setInputFiles('#file-input', path);
    const offer = await waitTransfer(bob, 'Bob', (x) => x.direction === 'receive' && x.state === 'offered', 'an offer');
    assert.equal(offer.size, size);
    await bob.locator(`.transfer[data-transfer-id="${offer.id}"] .accept`).click();
    const atBob = await waitTransfer(bob, 'Bob', (x) => x.state === 'done' || x.state === 'failed', 'transfer finished');
    const atAlice = await waitTransfer(alice, 'Alice', (x) => x.state === 'done' || x.state === 'failed', 'sender finished');
    assert.equal(atBob.state, 'done', `Bob: ${atBob.reason}`);
    assert.equal(atAlice.state, 'done', `Alice: ${atAlice.reason}`);
    assert.equal(atBob.localSha256, want, "Bob's SHA-256 of what arrived equals Node's hash of the file");
    await lab.screenshot(bob, 'file-done-sfu-bob');

    // The call's media stay on the router: one tile of Bob, decoding there.
    assert.equal(await alice.locator('#stage .tile.remote:not([hidden])').count(), 1, 'Alice still sees one tile of Bob');
    assert.ok(callIsUp((await callStats(bob))[aliceId]), 'Bob still decodes Alice through the router');
  });
