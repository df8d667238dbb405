#!/usr/bin/env node
// Prints bench/load.sh's markdown table from the JSON reports confab-load wrote:
// <dir>/<server>-<test>-<n>.json for server in {confab, node}, test in {scale,
// throughput, latency}, n in 1..REPEAT. Each cell shows the better and the worse run.
//
//   node bench/load-table.mjs <dir> <repeat> <conns> <latency-rate>
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, repeatArg, connsArg, rateArg] = process.argv.slice(2);
const REPEAT = Number(repeatArg || 2);
const CONNS = Number(connsArg || 10000);
const RATE = Number(rateArg || 20000);

/** @param {string} server @param {string} test @returns {any[]} */
function runs(server, test) {
  const out = [];
  for (let n = 1; n <= REPEAT; n++) {
    const f = join(dir, `${server}-${test}-${n}.json`);
    out.push(existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null);
  }
  return out;
}

const fmt = (v, digits) =>
  v == null || Number.isNaN(v) ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

// metric: [label, test, field, higher is better, digits, target check (value => bool) or null, target text]
const metrics = [
  ['connections joined and held', 'scale', 'connected', true, 0, (v) => v >= CONNS, `${CONNS.toLocaleString('en-US')}`],
  ['server RSS per connection (KiB)', 'scale', 'rssPerConnKib', false, 1, (v) => v < 40, '< 40'],
  ['connect rate (hello + join, conn/s)', 'scale', 'connectRate', true, 0, null, ''],
  ['delivered msgs/s, max rate', 'throughput', 'deliveredPerS', true, 0, (v) => v >= 100000, '>= 100,000'],
  [`delivered msgs/s, paced at ${RATE.toLocaleString('en-US')}`, 'latency', 'deliveredPerS', true, 0, null, ''],
  [`p50 latency at ${RATE.toLocaleString('en-US')} msg/s (ms)`, 'latency', 'p50Ms', false, 2, null, ''],
  [`p99 latency at ${RATE.toLocaleString('en-US')} msg/s (ms)`, 'latency', 'p99Ms', false, 2, (v) => v < 5, '< 5'],
  [`p99.9 latency at ${RATE.toLocaleString('en-US')} msg/s (ms)`, 'latency', 'p999Ms', false, 2, null, ''],
];

/** Best and worst of a field over runs; failed runs count as missing. */
function bestWorst(rs, field, higher) {
  const vals = rs.filter((r) => r && r.ok).map((r) => r[field]).filter((v) => typeof v === 'number');
  if (vals.length === 0) return { best: null, worst: null, n: 0 };
  const sorted = [...vals].sort((a, b) => (higher ? b - a : a - b));
  return { best: sorted[0], worst: sorted[sorted.length - 1], n: vals.length, vals };
}

const lines = [];
lines.push('| metric | target | confab (better / worse) | node ws (better / worse) | confab / node (better runs) | confab vs target |');
lines.push('| --- | --- | --- | --- | --- | --- |');
for (const [label, test, field, higher, digits, check, targetText] of metrics) {
  const c = bestWorst(runs('confab', test), field, higher);
  const n = bestWorst(runs('node', test), field, higher);
  const ratio = c.best != null && n.best ? c.best / n.best : null;
  let verdict = '';
  if (check) {
    if (c.n === 0) verdict = 'missed (no successful run)';
    else {
      const met = c.vals.filter(check).length;
      verdict = met === REPEAT ? `met (${met}/${REPEAT} runs)` : met > 0 ? `met in ${met}/${REPEAT} runs` : `missed (0/${REPEAT} runs)`;
    }
  }
  const cell = (x) => `${fmt(x.best, digits)} / ${fmt(x.worst, digits)}${x.n < REPEAT ? ` (${REPEAT - x.n} failed)` : ''}`;
  const better = higher ? 'higher is better' : 'lower is better';
  lines.push(`| ${label} | ${targetText} | ${cell(c)} | ${cell(n)} | ${ratio == null ? '-' : fmt(ratio, 2) + ` (${better})`} | ${verdict} |`);
}
const all = (server) => ['scale', 'throughput', 'latency'].flatMap((t) => runs(server, t));
const okCount = (server) => all(server).filter((r) => r && r.ok).length;
const total = 3 * REPEAT;
lines.push(`| runs with every message exactly once, in order per sender | all | ${okCount('confab')}/${total} | ${okCount('node')}/${total} | | ${okCount('confab') === total ? 'met' : 'missed'} |`);
console.log(lines.join('\n'));
