#!/usr/bin/env node
// Prints bench/cluster.sh's markdown table from the JSON reports confab-load wrote
// (<dir>/n<nodes>-<test>-<run>.json, nodes 1 and 3) and the Redis counters beside them
// (<dir>/n3-latency-<run>.redis: cpu and commands before, then after).
//
//   node bench/cluster-table.mjs <dir> <repeat> <latency-rate>
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, repeatArg, rateArg] = process.argv.slice(2);
const REPEAT = Number(repeatArg || 2);
const RATE = Number(rateArg || 20000).toLocaleString('en-US');

/** @param {number} nodes @param {string} test @returns {any[]} */
function runs(nodes, test) {
  const out = [];
  for (let n = 1; n <= REPEAT; n++) {
    const f = join(dir, `n${nodes}-${test}-${n}.json`);
    const r = existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
    const rf = join(dir, `n${nodes}-${test}-${n}.redis`);
    if (r && existsSync(rf)) {
      const [cpu0, cmd0, cpu1, cmd1] = readFileSync(rf, 'utf8').trim().split(/\s+/).map(Number);
      const delivered = r.delivered || 0;
      r.redisCpuUsPerMsg = delivered ? ((cpu1 - cpu0) * 1e6) / delivered : null;
      r.redisCmdsPerMsg = delivered ? (cmd1 - cmd0) / delivered : null;
    }
    out.push(r);
  }
  return out;
}

/** @param {number | null | undefined} v @param {number} digits */
const fmt = (v, digits) => (v == null || Number.isNaN(v) ? '-'
  : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

// [label, test, field, higher is better, digits]
const metrics = [
  ['connect rate (hello + join, conn/s)', 'scale', 'connectRate', true, 0],
  ['RSS per connection, all nodes (KiB)', 'scale', 'rssPerConnKib', false, 1],
  [`delivered msgs/s, paced at ${RATE}`, 'latency', 'deliveredPerS', true, 0],
  [`p50 latency at ${RATE} msg/s (ms)`, 'latency', 'p50Ms', false, 2],
  [`p99 latency at ${RATE} msg/s (ms)`, 'latency', 'p99Ms', false, 2],
  [`p99.9 latency at ${RATE} msg/s (ms)`, 'latency', 'p999Ms', false, 2],
  ['Redis CPU per delivered message (µs)', 'latency', 'redisCpuUsPerMsg', false, 2],
  ['Redis commands per delivered message', 'latency', 'redisCmdsPerMsg', false, 3],
];

/** @param {any[]} rs @param {string} field @param {boolean} higher */
function bestWorst(rs, field, higher) {
  const vals = rs.filter((r) => r && r.ok).map((r) => r[field]).filter((v) => typeof v === 'number');
  if (vals.length === 0) return { best: null, worst: null, n: 0 };
  const sorted = [...vals].sort((a, b) => (higher ? b - a : a - b));
  return { best: sorted[0], worst: sorted[sorted.length - 1], n: vals.length };
}

const lines = [
  '| metric | 1 node, no Redis (better / worse) | 3 nodes + Redis (better / worse) | 3 nodes / 1 node (better runs) |',
  '| --- | --- | --- | --- |',
];
for (const [label, test, field, higher, digits] of metrics) {
  const one = bestWorst(runs(1, test), field, higher);
  const three = bestWorst(runs(3, test), field, higher);
  const ratio = one.best && three.best != null ? three.best / one.best : null;
  /** @param {{best: number | null, worst: number | null, n: number}} x */
  const cell = (x) => `${fmt(x.best, digits)} / ${fmt(x.worst, digits)}${x.n < REPEAT ? ` (${REPEAT - x.n} failed)` : ''}`;
  const alone = field.startsWith('redis') ? 'no Redis' : cell(one);
  lines.push(`| ${label} | ${alone} | ${cell(three)} | ${ratio == null ? '-' : fmt(ratio, 2)} |`);
}
const ok = (/** @type {number} */ nodes) => ['scale', 'latency'].flatMap((t) => runs(nodes, t))
  .filter((r) => r && r.ok).length;
lines.push(`| runs with every message exactly once, in order per sender | ${ok(1)}/${2 * REPEAT} | ${ok(3)}/${2 * REPEAT} | |`);
const p99 = (/** @type {number} */ nodes) => bestWorst(runs(nodes, 'latency'), 'p99Ms', false).best;
const added = p99(3) != null && p99(1) != null ? /** @type {number} */ (p99(3)) - /** @type {number} */ (p99(1)) : null;
lines.push(`| added p99 of crossing nodes (ms; target at most 5) | | ${fmt(added, 2)} | |`);
console.log(lines.join('\n'));
