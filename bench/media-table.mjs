#!/usr/bin/env node
// Prints bench/media.sh's markdown table from the JSON reports confab-media wrote:
// <dir>/<server>-<shape>-<size>.json for server in {confab, janus}, the meeting of
// <meeting> members and the broadcast steps. Missing runs show as "-".
//
//   node bench/media-table.mjs <dir> <meeting> "<steps>" <max-loss-pct> [<rec-meeting> <rec-kbps>]
//
// With the recording runs (<server>-meeting-<n>-norec.json and -rec.json), a second
// table: what recording every room costs the server, per recorded person.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, meetingArg, stepsArg, lossArg, recMeetingArg, recKbpsArg] = process.argv.slice(2);
const MEETING = Number(meetingArg || 5);
const STEPS = (stepsArg || '10 25 50 100 200 400').split(/\s+/).filter(Boolean).map(Number);
const MAX_LOSS = Number(lossArg || 0.5);
const SERVERS = ['confab', 'janus'];
const US_TARGET = 9;
const RATIO_TARGET = 1.5;

/** @param {string} server @param {string} shape @param {number} size @returns {any} */
function run(server, shape, size, tag = '') {
  const f = join(dir, `${server}-${shape}-${size}${tag}.json`);
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

// ------------------------------------------------------------------ recording
const REC_MEETING = Number(recMeetingArg || 4);
const REC_KBPS = Number(recKbpsArg || 2000);
const REC_TARGET = 5; // % of one core per recorded 2 Mbit/s video track
const recRows = SERVERS.map((s) => {
  const [off, on] = ['-norec', '-rec'].map((tag) => run(s, 'meeting', REC_MEETING, tag));
  const read = (f) => (existsSync(join(dir, f)) ? Number(readFileSync(join(dir, f), 'utf8').trim()) : null);
  if (!off || !on) return null;
  const people = on.videoTracks != null ? (on.rooms ?? 1) * REC_MEETING : null;
  const extra = on.serverCores != null && off.serverCores != null ? on.serverCores - off.serverCores : null;
  const perPerson = extra != null && people ? (extra / people) * 100 : null;
  const bytes = read(`${s}-rec-bytes.txt`);
  return { server: s, off, on, people, perPerson, bytes, files: read(`${s}-rec-files.txt`) };
});
if (recRows.some(Boolean)) {
  console.log('');
  console.log(`Recording every room: ${REC_MEETING}-person meetings, VP8 at ${REC_KBPS} kbit/s + Opus per person.`);
  console.log('');
  console.log('| server | rooms × people recorded | server cores without / with recording | extra % of one core per recorded person (target < 5 per 2 Mbit/s) | loss % with recording | files, MB on disk |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of recRows) {
    if (!r) continue;
    console.log(`| ${r.server} | ${r.on.rooms ?? 1} × ${REC_MEETING} | ${cell(r.off, 'serverCores', 3)} / ${cell(r.on, 'serverCores', 3)} | ${fmt(r.perPerson, 2)} | ${fmt(r.on.lossPct, 2)} | ${r.files ?? '-'}, ${r.bytes == null ? '-' : fmt(r.bytes / 1e6, 1)} |`);
  }
  const [c, j] = recRows;
  if (c?.perPerson != null) {
    const scaled = c.perPerson * (2000 / REC_KBPS);
    console.log(`confab < ${REC_TARGET} % of one core per recorded 2 Mbit/s video track: ${verdict(scaled < REC_TARGET)} (${fmt(scaled, 2)} %, scaled to 2 Mbit/s)`);
  }
  // Two runs of the same load differ by a few hundredths of a core: a difference that
  // small says only that recording costs less than that.
  const NOISE = 0.25; // % of a core per person
  if (c?.perPerson != null && j?.perPerson != null) {
    if (Math.abs(c.perPerson) < NOISE && Math.abs(j.perPerson) < NOISE) {
      console.log(`recording's extra CPU: under this measurement's noise for both (|difference| < ${NOISE} % of a core per person), so no ratio`);
    } else if (j.perPerson > 0) {
      console.log(`recording's extra CPU, confab / Janus: ${fmt(c.perPerson / j.perPerson, 2)}× (Janus writes RTP as it comes, no muxing)`);
    }
  }
}
