#!/usr/bin/env node
// Call setup time, measured in real browsers: N times, a fresh LAN lab (confab + two
// namespaced Chromiums, see e2e/lib/), Alice joins a room, then Bob joins, and we wait
// until both see the other's video. Prints, per run, each side's join -> first remote
// video frame time (window.confab.stats(): firstFrameAt - joinedAt) and the medians.
//
// Bob's number is the one that matters: he joins a room where Alice already is, so it is
// the time a newcomer waits for a picture. Alice's includes the time before Bob joined.
//
// Usage (root; build first: cargo build -p confab-server):
//   node bench/call-setup.mjs [--runs 5]
// Exit status 1 if any run failed (the table says why).

import { establishCall, setupTimeMs } from '../e2e/lib/call.js';
import { median, roomName, skipReason, startLab } from '../e2e/lib/lab.js';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = Math.min(50, Math.max(1, runsArg >= 0 ? Number(args[runsArg + 1]) || 5 : 5));

const reason = skipReason();
if (reason) {
  console.error(`cannot run: ${reason}`);
  process.exit(2);
}

const rows = [];
for (let i = 1; i <= RUNS; i++) {
  let lab;
  const row = { run: i, bob: null, alice: null, wall: null, error: null };
  try {
    lab = await startLab({ name: `bench-call-setup-${i}` });
    const t0 = Date.now();
    const { stats } = await establishCall(lab, lab.pages, roomName('bench'), ['Alice', 'Bob']);
    row.wall = Date.now() - t0;
    row.alice = setupTimeMs(stats[0]);
    row.bob = setupTimeMs(stats[1]);
  } catch (e) {
    row.error = e.message.split('\n')[0];
  } finally {
    if (lab) await lab.close();
  }
  rows.push(row);
  process.stderr.write(`run ${i}/${RUNS} ${row.error ? 'FAILED' : 'ok'}\n`);
}

const fmt = (v) => (typeof v === 'number' ? `${v.toFixed(0)}` : '-');
const pad = (s, n) => String(s).padStart(n);
console.log(`${pad('run', 4)}  ${pad('Bob ms', 8)}  ${pad('Alice ms', 9)}  ${pad('wall ms', 8)}  note`);
for (const r of rows) {
  console.log(`${pad(r.run, 4)}  ${pad(fmt(r.bob), 8)}  ${pad(fmt(r.alice), 9)}  ${pad(fmt(r.wall), 8)}  ${r.error ? `FAILED: ${r.error}` : ''}`);
}
const ok = rows.filter((r) => !r.error);
console.log(`${pad('med', 4)}  ${pad(fmt(median(ok.map((r) => r.bob))), 8)}  ${pad(fmt(median(ok.map((r) => r.alice))), 9)}  ${pad(fmt(median(ok.map((r) => r.wall))), 8)}  ${ok.length}/${rows.length} runs ok`);
console.log('Bob = newcomer: join -> first remote video frame; Alice = already in the room (includes waiting for Bob);');
console.log('wall = from Alice opening the room link until both pages have a proven call.');
process.exit(ok.length === rows.length ? 0 : 1);
