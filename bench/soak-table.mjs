#!/usr/bin/env node
// Prints bench/soak.sh's table from what it wrote in <dir>: first-joins.json, quiet.json
// and attack.json
// (confab-load), abuse.json (confab-abuse), samples.txt (one line a second: phase, the
// server's RSS in KiB, its open descriptors).
//
//   node bench/soak-table.mjs <dir>
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
/** @param {string} name @returns {any} */
const load = (name) => {
  const f = join(dir, name);
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
};
const first = load('first-joins.json');
const quiet = load('quiet.json');
const attack = load('attack.json');
const abuse = load('abuse.json');

/** @type {Record<string, {rss: number[], fds: number[]}>} */
const samples = { quiet: { rss: [], fds: [] }, attack: { rss: [], fds: [] }, after: { rss: [], fds: [] } };
for (const line of readFileSync(join(dir, 'samples.txt'), 'utf8').split('\n')) {
  const [phase, rss, fds] = line.trim().split(/\s+/);
  if (samples[phase] && Number(rss) > 0) {
    samples[phase].rss.push(Number(rss));
    samples[phase].fds.push(Number(fds));
  }
}
/** @param {number[]} a */
const max = (a) => (a.length ? Math.max(...a) : NaN);
/** @param {number[]} a */
const last = (a) => (a.length ? a[a.length - 1] : NaN);
/** @param {number | null | undefined} v @param {number} d */
const fmt = (v, d) => (v == null || Number.isNaN(v) ? '-' : v.toFixed(d));
/** @param {number | null | undefined} a @param {number | null | undefined} b */
const ratio = (a, b) => (a == null || b == null || !a ? '-' : `${(b / a).toFixed(2)}x`);
/** @param {any} r */
const lost = (r) => (r ? (r.expected - r.delivered) + r.lost + r.badStreams : NaN);
/** @param {any} r */
const errors = (r) => (r ? Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none' : '-');

const rows = [
  ['first joins after the start (argon2 once a room), p99 ms', fmt(first?.setupP99Ms, 1), '-', '-', '', ''],
  ['legitimate p99 join latency, ms', fmt(quiet?.setupP99Ms, 1), fmt(attack?.setupP99Ms, 1), '-', ratio(quiet?.setupP99Ms, attack?.setupP99Ms), 'within 2x'],
  ['legitimate p99 chat latency, ms', fmt(quiet?.p99Ms, 1), fmt(attack?.p99Ms, 1), '-', ratio(quiet?.p99Ms, attack?.p99Ms), 'within 2x'],
  ['legitimate p50 chat latency, ms', fmt(quiet?.p50Ms, 1), fmt(attack?.p50Ms, 1), '-', ratio(quiet?.p50Ms, attack?.p50Ms), ''],
  ['legitimate deliveries (chats + offers)', `${quiet?.delivered ?? '-'}/${quiet?.expected ?? '-'}`, `${attack?.delivered ?? '-'}/${attack?.expected ?? '-'}`, '-', '', 'all'],
  ['messages lost (missing, lost, bad streams)', fmt(lost(quiet), 0), fmt(lost(attack), 0), '-', '', '0'],
  ['errors seen by legitimate clients', errors(quiet), errors(attack), '-', '', 'none'],
  ['legitimate clients joined', `${quiet?.connected ?? '-'}/${quiet?.clients ?? '-'}`, `${attack?.connected ?? '-'}/${attack?.clients ?? '-'}`, '-', '', 'all'],
  ['server RSS, MiB (peak; after: last)', fmt(max(samples.quiet.rss) / 1024, 1), fmt(max(samples.attack.rss) / 1024, 1), fmt(last(samples.after.rss) / 1024, 1), ratio(max(samples.quiet.rss), max(samples.attack.rss)), 'bounded'],
  ['server open descriptors (peak; after: last)', fmt(max(samples.quiet.fds), 0), fmt(max(samples.attack.fds), 0), fmt(last(samples.after.fds), 0), '', 'bounded'],
];
console.log('| | quiet | under attack | after | attack/quiet | target |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

if (abuse) {
  console.log(`\nAttacks during ${fmt(abuse.secs, 0)} s (outcome counts):\n`);
  console.log('| attack | outcomes |');
  console.log('| --- | --- |');
  for (const [attack, outcomes] of Object.entries(abuse.attacks)) {
    const text = Object.entries(/** @type {Record<string, number>} */ (outcomes))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`| ${attack} | ${text} |`);
  }
}
