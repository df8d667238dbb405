// Small shared helpers: sleeping, bounded polling, artifact directories.

import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ARTIFACTS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../artifacts');

/** @type {(ms: number) => Promise<void>} */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolve to `promise`'s value, or to `onTimeout` after `ms`; the timer is cleared either
 * way so it never keeps the process alive.
 * @template T
 * @template [U=undefined]
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {U} [onTimeout]
 * @returns {Promise<T | U>}
 */
export function withTimeout(promise, ms, onTimeout = undefined) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r(onTimeout), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/**
 * A filesystem-safe slug of a test name.
 * @param {unknown} name
 */
export function slug(name) {
  return String(name).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
    .slice(0, 80) || 'unnamed';
}

/**
 * Fresh (emptied) `e2e/artifacts/<slug>/`.
 * @param {string} name
 */
export function artifactsDirFor(name) {
  const dir = join(ARTIFACTS_ROOT, slug(name));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * `T` without its falsy values (what `pollUntil` can return).
 * @template T
 * @typedef {Exclude<T, false | 0 | '' | null | undefined>} Truthy
 */

/**
 * Poll `fn` (sync or async) until it returns a truthy value; return that value.
 * Throws after `timeout` ms with `message` and the last value or error seen.
 * @template T
 * @param {() => T | Promise<T>} fn
 * @param {{timeout?: number, interval?: number, message?: string}} [o]
 * @returns {Promise<Truthy<T>>}
 */
export async function pollUntil(fn, { timeout = 10_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return /** @type {Truthy<T>} */ (last);
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${/** @type {Error} */ (lastErr).message}` : `last value: ${safeJson(last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${message}; ${detail}`);
    }
    await sleep(interval);
  }
}

/** @param {unknown} v */
export function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** @param {Iterable<number>} xs */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
