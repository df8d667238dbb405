// Pure helpers of the file transfer (web/js/files.js): names from the network made safe,
// sizes in words, and the flow-control constants that bound memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOB_PART_SIZE, CHUNK_SIZE, HIGH_WATER, LOW_WATER, READ_SIZE, cleanFileName, formatBytes } from '../js/p2p/files.js';

test('cleanFileName keeps the base name only, without control characters, at most 200 characters', () => {
  assert.equal(cleanFileName('report.pdf'), 'report.pdf');
  assert.equal(cleanFileName('../../etc/passwd'), 'passwd');
  assert.equal(cleanFileName('C:\\Users\\me\\cv.docx'), 'cv.docx');
  assert.equal(cleanFileName('a\u0000b\u001fc\u007f.txt'), 'abc.txt');
  assert.equal(cleanFileName(''), 'file');
  assert.equal(cleanFileName('dir/'), 'file');
  assert.equal(cleanFileName(42), 'file');
  assert.equal([...cleanFileName('é'.repeat(300))].length, 200);
  assert.equal(cleanFileName('👋'.repeat(250)), '👋'.repeat(200), 'cut by characters, not UTF-16 units');
});

test('formatBytes', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(20 * 1024 * 1024), '20 MB');
  assert.equal(formatBytes(3.3 * 1024 * 1024), '3.3 MB');
  assert.equal(formatBytes(1024 ** 3), '1.0 GB');
});

test('flow control constants keep memory bounded and messages portable', () => {
  assert.ok(CHUNK_SIZE <= 64 * 1024, 'a chunk fits every browser SCTP message limit');
  assert.equal(READ_SIZE % CHUNK_SIZE, 0);
  assert.ok(LOW_WATER < HIGH_WATER);
  assert.ok(HIGH_WATER + READ_SIZE + BLOB_PART_SIZE <= 16 * 1024 * 1024, 'at most ~16 MiB per transfer in the page');
});
