// Where a received file's bytes go: Blob parts in memory (BlobSink) or a file the user
// picked, written in batches (DiskSink). See files.js for the memory bounds.

import { BLOB_PART_SIZE, PAUSE_AT, READ_SIZE } from './limits.js';

/** Collects received chunks in Blob parts (see files.js). */
export class BlobSink {
  /** @param {string} mime */
  constructor(mime) {
    this.mime = mime;
    /** @type {Uint8Array[]} */
    this.pending = [];
    this.pendingBytes = 0;
    /** @type {Blob[]} */
    this.parts = [];
  }
  /** @param {Uint8Array} chunk */
  write(chunk) {
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= BLOB_PART_SIZE) this.fold();
  }
  /** @private */
  fold() {
    if (this.pending.length) this.parts.push(new Blob(/** @type {BlobPart[]} */ (this.pending)));
    this.pending = [];
    this.pendingBytes = 0;
  }
  /** @returns {Promise<Blob>} */
  async close() {
    this.fold();
    return new Blob(this.parts, { type: this.mime });
  }
  async abort() {
    this.pending = [];
    this.parts = [];
  }
  /** Bytes waiting to be stored; blob parts are stored synchronously. */
  get backlog() {
    return 0;
  }
}

/** Writes received chunks straight into a file the user picked (see files.js). */
export class DiskSink {
  /** @param {any} writable a FileSystemWritableFileStream */
  constructor(writable) {
    this.writable = writable;
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    this.backlog = 0;
    /** @type {unknown} */
    this.error = null;
    /** @type {(() => void) | null} */
    this.onDrain = null;
    /** @type {Uint8Array[]} */
    this.batch = [];
    this.batchBytes = 0;
  }
  /**
   * Queues a chunk; chunks are written in batches of about READ_SIZE (one small write
   * per data channel message is several times slower).
   * @param {Uint8Array} chunk
   */
  write(chunk) {
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
    if (this.batchBytes >= READ_SIZE) this.flush();
  }
  /** @private */
  flush() {
    if (this.batchBytes === 0) return;
    const chunk = new Uint8Array(this.batchBytes);
    let at = 0;
    for (const c of this.batch) {
      chunk.set(c, at);
      at += c.byteLength;
    }
    this.batch = [];
    this.batchBytes = 0;
    this.backlog += chunk.byteLength;
    this.chain = this.chain.then(async () => {
      if (this.error) return;
      try {
        await this.writable.write(chunk);
      } catch (err) {
        this.error = err;
      }
      this.backlog -= chunk.byteLength;
      if (this.backlog < PAUSE_AT / 2 && this.onDrain) this.onDrain();
    });
  }
  /** @returns {Promise<null>} */
  async close() {
    this.flush();
    await this.chain;
    if (this.error) throw this.error;
    await this.writable.close();
    return null;
  }
  async abort() {
    this.error = this.error ?? new Error('aborted');
    this.batch = [];
    await this.chain;
    await this.writable.abort().catch(() => {});
  }
}
