#!/usr/bin/env node
// Prints bench/media.sh's markdown table from the JSON reports confab-media wrote:
// <dir>/<server>-<shape>-<size>.json for server in {confab, janus}, the meeting of
// <meeting> members and the broadcast steps. Missing runs show as "-".
//
//   node bench/media-table.mjs <dir> <meeting> "<steps>" <max-loss-pct>
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, meetingArg, stepsArg, lossArg] = process.argv.slice(2);
const MEETING = Number(meetingArg || 5);
const STEPS = (stepsArg || '10 25 50 100 200 400').split(/\s+/).filter(Boolean).map(Number);
const MAX_LOSS = Number(lossArg || 0.5);
const SERVERS = ['confab', 'janus'];
const US_TARGET = 9;
const RATIO_TARGET = 1.5;

/** @param {string} server @param {string} shape @param {number} size @returns {any} */
function run(server, shape, size) {
  const f = join(dir, `${server}-${shape}-${size}.json`);
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
}

const fmt = (v, digits) =>
  v == null || Number.isNaN(v)
    ? '-'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A cell, marked when the run did not hold its receivers. */
const cell = (r, field, digits) => (r ? `${fmt(r[field], digits)}${r.held ? '' : ' ✗'}` : '-');

const loads = [['meeting', MEETING], ...STEPS.map((n) => ['broadcast', n])];
const lines = [];
lines.push(
  '| load | forwarded pkt/s confab / janus | server µs per packet confab / janus (target ≤ 9) | loss % end to end, RTP: confab / janus | server cores confab / janus (kernel share) | packets per CPU s confab / janus | ratio (target ≥ 1.5) | machine busy % confab / janus |',
);
lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
const lossCell = (r) => (r ? `${fmt(r.lossPct, 2)}, ${fmt(r.rtpLossPct, 2)}${r.held ? '' : ' ✗'}` : '-');
const cores = (r) => (r ? `${fmt(r.serverCores, 2)} (${fmt(r.serverSysPct, 0)} %)` : '-');
const ratios = [];
const usFigures = [];
for (const [shape, size] of loads) {
  const [c, j] = SERVERS.map((s) => run(s, shape, size));
  if (!c && !j) continue;
  const rooms = (c || j).rooms > 1 ? ` × ${(c || j).rooms} rooms` : '';
  const label = shape === 'meeting' ? `meeting of ${size}${rooms}` : `broadcast 1→${size}${rooms}`;
  const ratio = c && j && c.held && j.held && c.packetsPerCpuSec && j.packetsPerCpuSec ? c.packetsPerCpuSec / j.packetsPerCpuSec : null;
  if (ratio != null) ratios.push([label, ratio]);
  if (c && c.held && c.cpuUsPerPacket != null) usFigures.push([label, c.cpuUsPerPacket]);
  lines.push(
    `| ${label} | ${cell(c, 'forwardedPerS', 0)} / ${cell(j, 'forwardedPerS', 0)} | ${cell(c, 'cpuUsPerPacket', 2)} / ${cell(j, 'cpuUsPerPacket', 2)} | ${lossCell(c)} / ${lossCell(j)} | ${cores(c)} / ${cores(j)} | ${cell(c, 'packetsPerCpuSec', 0)} / ${cell(j, 'packetsPerCpuSec', 0)} | ${ratio == null ? '-' : fmt(ratio, 2) + '×'} | ${fmt(c?.machineBusyPct, 0)} / ${fmt(j?.machineBusyPct, 0)} |`,
  );
}
/** The biggest broadcast step held, and whether the steps ran out before a failure. */
function mostHeld(server) {
  let best = null;
  let capped = false;
  for (const n of STEPS) {
    const r = run(server, 'broadcast', n);
    if (!r) break;
    if (!r.held) return { best, capped: false };
    best = n;
    capped = n === STEPS[STEPS.length - 1];
  }
  return { best, capped };
}
const held = SERVERS.map(mostHeld);
const heldText = (h) => (h.best == null ? 'none' : `${h.best}${h.capped ? ' (the last step: more may hold)' : ''}`);
lines.push(
  `| most receivers held at < ${MAX_LOSS} % loss (broadcast) | ${heldText(held[0])} / ${heldText(held[1])} | | | | | | |`,
);
console.log(lines.join('\n'));
console.log('');
console.log(`✗: the run did not hold its receivers (loss or RTP loss ≥ ${MAX_LOSS} %, a receiver missing a source, or a stall: under 98 % of the frames sent delivered).`);
const verdict = (ok) => (ok ? 'met' : 'missed');
if (usFigures.length) {
  const worst = usFigures.reduce((a, b) => (b[1] > a[1] ? b : a));
  console.log(
    `confab ≤ ${US_TARGET} µs per forwarded packet: ${verdict(usFigures.every(([, v]) => v <= US_TARGET))} (worst held run: ${worst[0]}, ${fmt(worst[1], 2)} µs)`,
  );
}
if (ratios.length) {
  const worst = ratios.reduce((a, b) => (b[1] < a[1] ? b : a));
  console.log(
    `confab ≥ ${RATIO_TARGET}× Janus's packets per CPU second: ${verdict(ratios.every(([, v]) => v >= RATIO_TARGET))} (lowest: ${worst[0]}, ${fmt(worst[1], 2)}×)`,
  );
}
