// Calls through real NATs (TESTING.md "The NAT lab"): each browser in `<p>pX` behind its
// own NAT box `<p>nX` (cone = MASQUERADE, symmetric = MASQUERADE --random-fully), confab
// and the STUN/TURN server in `<p>pub` on 198.51.100.1. Host candidates (10.0.N.2) are
// unreachable across the NATs, so every call here needs STUN or TURN.
//
// TURN server: $CONFAB_E2E_TURN = confab (default: its built-in TURN) | coturn (the reference
// TURN); see lib/turn.js startTurnServer. The browsers' ICE policy and URL subset are
// imposed by an init script (lib/ice.js), and each test checks the effective config.
//
// Each test proves the call on both sides (ICE connected, remote video decoded, audio
// received) and asserts the selected candidate pair's types, as TESTING.md observed them:
//   cone + STUN -> srflx/prflx;  symmetric + STUN only -> no connection;
//   symmetric + TURN (UDP, TCP, TLS), relay-only -> relay;  symmetric + STUN + TURN -> relay
//   involved.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { call, callIsUp, establishCall, joinRoom, setupTimeMs } from '../lib/call.js';
import { describePair, effectiveIceConfigs, selectedPair, VARIANTS } from '../lib/ice.js';
import { callStats, pollUntil, roomName, skipReason, sleep } from '../lib/lab.js';
import { startNatLab } from '../lib/nat.js';
import { stunClient, turnKindFromEnv } from '../lib/turn.js';

const NAMES = ['Alice', 'Bob'];
const TURN = turnKindFromEnv();

function toolsMissing() {
  const missing = ['turnserver', 'turnutils_stunclient', 'iptables', 'openssl']
    .filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (!missing.length) return false;
  const why = `NAT tests need ${missing.join(', ')} (apt-get install coturn iptables openssl)`;
  console.error(`\n${'!'.repeat(78)}\n!! NAT E2E TESTS SKIPPED: ${why}\n${'!'.repeat(78)}\n`);
  return why;
}
const SKIP = skipReason() || toolsMissing();
const OPTS = { skip: SKIP, timeout: 90_000 };

/** Every live connection on both pages uses exactly the imposed policy and URL subset. */
async function assertIceConfig(lab) {
  const re = new RegExp(VARIANTS[lab.variant]);
  for (const [i, page] of lab.pages.entries()) {
    const configs = Object.values(await effectiveIceConfigs(page));
    assert.ok(configs.length > 0, `${NAMES[i]} has a peer connection`);
    for (const c of configs) {
      assert.equal(c.iceTransportPolicy, lab.policy, `${NAMES[i]} iceTransportPolicy`);
      assert.ok(c.urls.length > 0, `${NAMES[i]} has ICE server URLs (${lab.turn.kind})`);
      for (const u of c.urls) assert.match(u, re, `${NAMES[i]} ICE URL in variant ${lab.variant}`);
    }
  }
}

/**
 * Alice then Bob join one room; the call is proven on both sides (call.js callIsUp with
 * framesDecoded > 0). Returns per side {stats, pair, setupMs}, writes nat-result.json and
 * reports the pair types and timings as test diagnostics.
 */
async function provenNatCall(t, lab, tag) {
  const t0 = Date.now();
  const { ids, stats } = await establishCall(lab, lab.pages, roomName(tag), NAMES,
    { timeout: 30_000 });
  const wallMs = Date.now() - t0;
  await assertIceConfig(lab);
  const pairs = await Promise.all([selectedPair(lab.pages[0], ids[1]),
    selectedPair(lab.pages[1], ids[0])]);
  const sides = stats.map((s, i) => ({ who: NAMES[i], stats: s, pair: pairs[i], setupMs: setupTimeMs(s) }));
  for (const s of sides) {
    assert.ok(s.stats.framesDecoded > 0, `${s.who} framesDecoded ${s.stats.framesDecoded}`);
    t.diagnostic(`${s.who}: ${s.stats.localCandidateType} -> ${s.stats.remoteCandidateType} ` +
      `(${describePair(s.pair)}), join -> first frame ${s.setupMs?.toFixed(0)} ms`);
  }
  t.diagnostic(`turn=${lab.turn.kind} variant=${lab.variant} policy=${lab.policy}: both joined and ` +
    `decoding after ${wallMs} ms`);
  writeFileSync(join(lab.artifactsDir, 'nat-result.json'),
    JSON.stringify({ turn: lab.turn.kind, variant: lab.variant, policy: lab.policy, wallMs, sides },
      null, 2));
  for (const [i, p] of lab.pages.entries()) await lab.screenshot(p, `call-${NAMES[i]}`);
  return sides;
}

const types = (s) => [s.stats.localCandidateType, s.stats.remoteCandidateType];

test(`nat: turnutils_stunclient behind cone and symmetric NATs reports each NAT's wan address (${TURN})`,
  OPTS, async (t) => {
    const lab = await startNatLab({ t, nat: ['cone', 'symmetric'], browsers: 0, clients: 2,
      variant: 'stun' });
    for (const c of lab.net.clients) {
      const r = await stunClient(c.ns, lab.serverIp);
      assert.equal(r.ip, c.wanIp, `${c.nat} NAT ${c.natNs}: reflexive address ${r.ip}:${r.port}` +
        ` (expected the NAT's wan ${c.wanIp}); output:\n${r.output}`);
      assert.ok(r.port > 0 && r.port < 65536, `reflexive port ${r.port}`);
      t.diagnostic(`${c.nat}: ${c.ip} -> reflexive ${r.ip}:${r.port}`);
    }
  });

test(`nat (a): cone NAT both sides, STUN only: srflx/prflx pair (${TURN})`, OPTS, async (t) => {
  const lab = await startNatLab({ t, nat: 'cone', variant: 'stun', policy: 'all' });
  const sides = await provenNatCall(t, lab, 'nat-a');
  for (const s of sides) {
    const [l, r] = types(s);
    assert.ok([l, r].some((x) => x === 'srflx' || x === 'prflx'),
      `${s.who}: pair ${l} -> ${r} has no server/peer-reflexive candidate`);
    assert.ok(l !== 'relay' && r !== 'relay', `${s.who}: relay pair without TURN (${l} -> ${r})`);
    assert.ok(!(l === 'host' && r === 'host'), `${s.who}: host -> host across NATs`);
    assert.ok(s.pair.locals.some((c) => c.type === 'srflx' && c.address === (s.who === 'Alice'
      ? lab.net.clients[0].wanIp : lab.net.clients[1].wanIp)),
    `${s.who} gathered a srflx candidate on its NAT's wan address: ${JSON.stringify(s.pair.locals)}`);
  }
});

// (d) TURN over TLS: the server has a self-signed certificate. Chromium checks a TURN
// server's certificate like an HTTPS one (tools/turns-cert-probe.mjs: without
// --ignore-certificate-errors a self-signed one fails with icecandidateerror 701); the
// lab's browsers run with that flag, so this proves the TLS transport, not the PKI.
// (b) also runs against coturn when the suite tests confab's TURN: coturn is the reference
// that tells client (or lab) problems from server problems.
const RELAY_CASES = [['b', 'turn-udp', 'udp', TURN], ['c', 'turn-tcp', 'tcp', TURN],
  ['d', 'turns', 'tls', TURN], ...(TURN === 'coturn' ? [] : [['b', 'turn-udp', 'udp', 'coturn']])];
for (const [id, variant, proto, turn] of RELAY_CASES) {
  test(`nat (${id}): symmetric NAT, relay only, TURN over ${proto.toUpperCase()}: relay pair (${turn})`,
    OPTS, async (t) => {
      const lab = await startNatLab({ t, nat: 'symmetric', variant, policy: 'relay',
        tls: proto === 'tls', turn });
      const sides = await provenNatCall(t, lab, `nat-${id}`);
      for (const s of sides) {
        assert.equal(s.stats.localCandidateType, 'relay', `${s.who} localCandidateType`);
        assert.equal(s.pair.local.relayProtocol, proto, `${s.who}: local relay candidate reached ` +
          `the TURN server over ${s.pair.local.relayProtocol} (${describePair(s.pair)})`);
        assert.ok(['relay', 'prflx'].includes(s.stats.remoteCandidateType),
          `${s.who} remoteCandidateType ${s.stats.remoteCandidateType}`);
      }
    });
}

// (f) Issue 12 item 1: both browsers relay-only and confab's DEFAULT peer policy (no
// --turn-allow-peer): each browser's only peer is the other's relayed address on the
// server's own IP, which confab denies as a destination. The call works because confab
// hands relay-to-relay traffic from one allocation to the other in-process; /metrics
// proves it (in_process bytes grow, nothing went out of a relay socket to a peer).
/** confab's /metrics from inside a page (same origin), as {name{labels}: value}. */
async function confabMetrics(page) {
  const text = await page.evaluate(async () => (await fetch('/metrics')).text());
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(confab_turn_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+]+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
for (const [variant, proto] of [['turn-udp', 'udp'], ['turn-tcp', 'tcp'], ['turns', 'tls']]) {
  test(`nat (f): relay only on both sides over ${proto.toUpperCase()}, default peer policy: ` +
    'relayed in-process (confab)', { ...OPTS, skip: OPTS.skip || (TURN !== 'confab' &&
    'confab TURN only') }, async (t) => {
    const lab = await startNatLab({ t, nat: 'symmetric', variant, policy: 'relay',
      tls: proto === 'tls', turn: 'confab', allowPeers: false });
    const sides = await provenNatCall(t, lab, `nat-f-${proto}`);
    for (const s of sides) {
      assert.equal(s.stats.localCandidateType, 'relay', `${s.who} localCandidateType`);
      assert.equal(s.pair.local.relayProtocol, proto, `${s.who} relayProtocol`);
      assert.equal(s.pair.remote.address, lab.serverIp, `${s.who}: the remote candidate is ` +
        `the other's relayed address on the server (${describePair(s.pair)})`);
    }
    const m = await confabMetrics(lab.pages[0]);
    t.diagnostic(`metrics: ${JSON.stringify(m)}`);
    const key = (dir) => `confab_turn_relayed_bytes_total{direction="${dir}"}`;
    assert.ok(m[key('in_process')] > 10_000, `in-process bytes ${m[key('in_process')]}`);
    assert.equal(m[key('to_peer')], 0, 'nothing left through a relay socket');
  });
}

// (g) Issue 10 item 7: an SFU call of two relay-only browsers behind symmetric NATs,
// confab's default peer policy. Each browser's only way to the SFU (on the server's own
// address) is confab's TURN, which hands the datagrams to the SFU in-process: nothing
// leaves a relay socket, and both decode each other through the SFU.
test('nat (g): relay-only browsers reach the SFU through confab TURN, in-process (confab)',
  { ...OPTS, skip: OPTS.skip || (TURN !== 'confab' && 'confab TURN only') }, async (t) => {
    const lab = await startNatLab({ t, nat: 'symmetric', variant: 'turn-udp', policy: 'relay',
      turn: 'confab', allowPeers: false, confabArgs: ['--media', 'sfu'] });
    const sides = await provenNatCall(t, lab, 'nat-g');
    for (const s of sides) {
      assert.equal(s.stats.localCandidateType, 'relay', `${s.who} localCandidateType`);
      assert.equal(s.pair.remote.address, lab.serverIp, `${s.who}: the remote candidate is the SFU ` +
        `on the server (${describePair(s.pair)})`);
      assert.equal(s.pair.remote.port, 7882, `${s.who}: the SFU's port (${describePair(s.pair)})`);
    }
    const m = await confabMetrics(lab.pages[0]);
    t.diagnostic(`metrics: ${JSON.stringify(m)}`);
    const key = (dir) => `confab_turn_relayed_bytes_total{direction="${dir}"}`;
    assert.ok(m[key('in_process')] > 10_000, `in-process bytes ${m[key('in_process')]}`);
    assert.equal(m[key('to_peer')], 0, 'nothing left through a relay socket');
  });

test(`nat (e): symmetric NAT, STUN + TURN, policy all: connects through a relay (${TURN})`,
  OPTS, async (t) => {
    const lab = await startNatLab({ t, nat: 'symmetric', variant: 'stun+turn', policy: 'all' });
    const sides = await provenNatCall(t, lab, 'nat-e');
    for (const s of sides) {
      // Two symmetric NATs: no direct path exists, so one end of the pair is a relay.
      assert.ok(types(s).includes('relay'), `${s.who}: pair ${types(s).join(' -> ')} has no relay`);
    }
  });

test(`nat (negative): symmetric NAT both sides, STUN only: no connection within 10 s (${TURN})`,
  OPTS, async (t) => {
    const lab = await startNatLab({ t, nat: 'symmetric', variant: 'stun', policy: 'all' });
    const [alice, bob] = lab.pages;
    const room = roomName('nat-neg');
    const idA = await joinRoom(lab, alice, room, 'Alice');
    const idB = await joinRoom(lab, bob, room, 'Bob');
    await call(alice, bob, idB);
    // Both sides must have set up a connection and gathered srflx candidates (STUN works),
    // so a failure below is the NAT's mapping behaviour and nothing else.
    for (const [page, peer, who, c] of [[alice, idB, 'Alice', lab.net.clients[0]],
      [bob, idA, 'Bob', lab.net.clients[1]]]) {
      await pollUntil(async () => {
        const p = await selectedPair(page, peer);
        return p && p.locals.some((x) => x.type === 'srflx' && x.address === c.wanIp);
      }, { timeout: 10_000, message: `${who} gathered a srflx candidate on ${c.wanIp}` });
    }
    await assertIceConfig(lab);
    const t0 = Date.now();
    const seen = new Set();
    while (Date.now() - t0 < 10_000) {
      for (const [page, peer, who] of [[alice, idB, 'Alice'], [bob, idA, 'Bob']]) {
        const s = (await callStats(page))[peer];
        if (s) seen.add(`${who}:${s.iceConnectionState}`);
        assert.ok(!callIsUp(s) && !['connected', 'completed'].includes(s?.iceConnectionState),
          `${who} connected through two symmetric NATs with STUN only (${JSON.stringify(s)}):` +
          ' the lab is not symmetric');
      }
      await sleep(250);
    }
    const end = await Promise.all([callStats(alice), callStats(bob)]);
    t.diagnostic(`ICE states seen in 10 s: ${[...seen].join(', ')}`);
    writeFileSync(join(lab.artifactsDir, 'nat-result.json'),
      JSON.stringify({ turn: TURN, seen: [...seen], end }, null, 2));
    assert.equal(end[0][idB].framesDecoded, 0, 'Alice decoded no frames');
    assert.equal(end[1][idA].framesDecoded, 0, 'Bob decoded no frames');
  });
