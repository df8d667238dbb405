// File transfer limits: message and read sizes, buffering thresholds (see files.js for
// why memory stays bounded). `files.js` re-exports them.

/** Bytes per data channel message: well under every browser's SCTP message limit. */
export const CHUNK_SIZE = 64 * 1024;
/** Bytes read from the file at a time. */
export const READ_SIZE = 1024 * 1024;
/** Stop queueing above this much buffered data... */
export const HIGH_WATER = 4 * 1024 * 1024;
/** ...and resume when it drains below this (`bufferedAmountLowThreshold`). */
export const LOW_WATER = 1024 * 1024;
/** Receiver: size of the Blob parts in-memory chunks are folded into. */
export const BLOB_PART_SIZE = 8 * 1024 * 1024;
/** Receiver: from this size on, ask where to save first (where the browser can). */
export const PICKER_MIN_SIZE = 64 * 1024 * 1024;
/** Receiver: bytes waiting for the disk before it asks the sender to pause. */
export const PAUSE_AT = 16 * 1024 * 1024;
/** Offers from one peer still waiting for an answer, at most. */
export const MAX_PENDING_OFFERS = 20;
/** Largest size we accept an offer for (Number.MAX_SAFE_INTEGER bytes would do, but no). */
export const MAX_FILE_SIZE = 2 ** 50;
