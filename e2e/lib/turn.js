// STUN/TURN servers for the NAT lab: coturn (the reference server) and, through one
// adapter, confab's own built-in TURN server. Also a `turnutils_stunclient` helper.
//
// Everything runs inside lab namespaces; every wait is bounded.

import { execFile, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confabServeHasFlag } from './confab.js';
import { VARIANTS } from './ice.js';
import { sleep, withTimeout } from './util.js';

export const TURN_PORT = 3478;
export const TURNS_PORT = 5349;
export const TURN_USER = 'alice';
export const TURN_PASSWORD = 'secret';
export const TURN_REALM = 'confab.test';
/** Relay port range given to the TURN server. */
export const RELAY_PORTS = [49160, 49999];

// Temp dirs of servers not stopped yet; removed at process exit (crash, signal) too.
/** @type {Set<string>} */
const liveDirs = new Set();
process.on('exit', () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Run `cmd args` inside namespace `ns` without blocking the event loop (browsers keep
 * being driven meanwhile). Resolves `{code, stdout, stderr}`; never rejects. Killed after
 * `timeoutMs`.
 * @param {string} ns
 * @param {string} cmd
 * @param {string[]} args
 * @param {{timeoutMs?: number}} [o]
 * @returns {Promise<{code: number, stdout: string, stderr: string}>}
 */
export function runIn(ns, cmd, args, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...args],
      { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => resolve({
        code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
        stdout: stdout || '', stderr: stderr || (err && !err.code ? err.message : '') || '',
      }));
  });
}

/**
 * `timeout 5 turnutils_stunclient -p PORT SERVER` inside namespace `ns` (it hangs forever
 * without an answer, hence `timeout`). Returns `{ip, port, output}` with the UDP reflexive
 * address it reports, or `{ip: null, port: null, output}` when there was none.
 * @param {string} ns
 * @param {string} server
 * @param {{port?: number, timeoutSec?: number}} [o]
 */
export async function stunClient(ns, server, { port = TURN_PORT, timeoutSec = 5 } = {}) {
  const r = await runIn(ns, 'timeout', [String(timeoutSec), 'turnutils_stunclient', '-p',
    String(port), server], { timeoutMs: (timeoutSec + 3) * 1000 });
  const output = `${r.stdout}${r.stderr}`.trim();
  const m = /UDP reflexive addr: (\d+\.\d+\.\d+\.\d+):(\d+)/.exec(output);
  return m ? { ip: m[1], port: Number(m[2]), output } : { ip: null, port: null, output };
}

/**
 * Whether a TCP connection to ip:port can be opened from `ns` (2 s).
 * @param {string} ns
 * @param {string} ip
 * @param {number} port
 */
async function tcpOpen(ns, ip, port) {
  const r = await runIn(ns, 'timeout', ['2', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}`],
    { timeoutMs: 4000 });
  return r.code === 0;
}

/**
 * Wait until STUN over UDP answers (and the TCP ports accept) at `ip`, from `probeNs`.
 * @param {{probeNs: string, ip: string, tcpPorts?: number[], timeoutMs?: number,
 *   what?: string, tail?: () => string}} o
 */
async function waitStunReady({ probeNs, ip, tcpPorts = [TURN_PORT], timeoutMs = 10_000,
  what = 'STUN server', tail = () => '' }) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const s = await stunClient(probeNs, ip, { timeoutSec: 2 });
    if (s.ip) {
      const tcp = await Promise.all(tcpPorts.map((p) => tcpOpen(probeNs, ip, p)));
      if (tcp.every(Boolean)) return s;
      last = `TCP ports ${tcpPorts.filter((_, i) => !tcp[i]).join(',')} closed`;
    } else {
      last = s.output.split('\n').slice(-2).join(' | ') || 'no STUN answer';
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not ready at ${ip} after ${timeoutMs} ms (probed from ${probeNs}:` +
        ` ${last}); log tail:\n${tail()}`);
    }
    await sleep(200);
  }
}

/**
 * Self-signed certificate for `host` (and IP `ip`) in `dir`; returns {cert, key}.
 * @param {string} dir
 * @param {{host?: string, ip?: string}} [o]
 */
export function selfSignedCert(dir, { host = 'call.test', ip } = {}) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const san = `subjectAltName=DNS:${host}${ip ? `,IP:${ip}` : ''}`;
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=${host}`, '-addext', san], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) throw new Error(`openssl req: ${r.error?.message || r.stderr}`);
  return { cert, key };
}

/**
 * coturn (`turnserver`) in namespace `ns` on `ip`: STUN + TURN on UDP/TCP 3478, relay on
 * `ip` ports 49160-49999, long-term credentials alice/secret in realm confab.test, and
 * with `tls` TURN over TLS on 5349 with a fresh self-signed certificate (CN/SAN call.test
 * and the IP). No config file (`-n`), its own pid file and user DB in a temp dir (the
 * defaults are machine-wide paths another run would share), log to
 * `<artifactsDir>/coturn.log`. Ready when a STUN Binding from `probeNs` is answered and the
 * TCP ports accept. `certFor` ({host, ip?}) names the certificate's subject (for
 * experiments with mismatching certificates). coturn's default peer policy denies nothing, so the lab's public
 * 198.51.100.x peers (and the relay's own address) need no --allowed-peer-ip.
 *
 * @param {{lab: import('./netns.js').Lab, ns: string, ip: string, artifactsDir: string,
 *   probeNs: string, tls?: boolean, certFor?: {host?: string, ip?: string}, timeoutMs?: number}} o
 * @returns {Promise<{pid: number | undefined, ip: string, logPath: string, tls: boolean,
 *   stop: () => Promise<void>, tail: () => string}>}
 */
export async function startCoturn({ lab, ns, ip, artifactsDir, probeNs, tls = false,
  certFor = { host: 'call.test', ip }, timeoutMs = 10_000 }) {
  const dir = mkdtempSync(join(tmpdir(), 'confab-e2e-coturn-'));
  liveDirs.add(dir);
  const args = ['-n', `--listening-ip=${ip}`, `--relay-ip=${ip}`,
    `--listening-port=${TURN_PORT}`,
    `--min-port=${RELAY_PORTS[0]}`, `--max-port=${RELAY_PORTS[1]}`,
    '--lt-cred-mech', `--user=${TURN_USER}:${TURN_PASSWORD}`, `--realm=${TURN_REALM}`,
    '--fingerprint', '--no-dtls', '--no-cli', '--log-file=stdout', '--simple-log', '-v',
    `--pidfile=${join(dir, 'turnserver.pid')}`, `--db=${join(dir, 'turndb')}`];
  if (tls) {
    const { cert, key } = selfSignedCert(dir, certFor);
    args.push(`--cert=${cert}`, `--pkey=${key}`, `--tls-listening-port=${TURNS_PORT}`);
  } else {
    args.push('--no-tls');
  }
  const logPath = join(artifactsDir, 'coturn.log');
  const log = createWriteStream(logPath, { flags: 'a' });
  log.write(`# ip netns exec ${ns} turnserver ${args.join(' ')}\n`);
  const child = spawn('ip', ['netns', 'exec', ns, 'turnserver', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.track(child);
  /** @type {string[]} */
  const tailLines = [];
  /** @param {Buffer} buf */
  const onData = (buf) => {
    log.write(buf);
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      tailLines.push(line);
      if (tailLines.length > 30) tailLines.shift();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  /** @type {{code: number | null, signal: NodeJS.Signals | null} | null} */
  let exited = null;
  /** @type {Promise<void>} */
  const exitedP = new Promise((r) => child.once('exit', (code, signal) => {
    exited = { code, signal };
    log.write(`# exited code=${code} signal=${signal}\n`);
    r();
  }));

  /** @type {Promise<void> | null} */
  let stopped = null;
  const server = {
    pid: child.pid, ip, logPath, tls,
    tail: () => tailLines.join('\n'),
    /** SIGTERM by pid, SIGKILL after 3 s. Idempotent. */
    stop() {
      if (!stopped) {
        stopped = (async () => {
          if (!exited) {
            try { process.kill(/** @type {number} */ (child.pid), 'SIGTERM'); } catch { /* gone */ }
            if (await withTimeout(exitedP.then(() => false), 3000, true)) {
              log.write('# no exit 3 s after SIGTERM: SIGKILL\n');
              try { process.kill(/** @type {number} */ (child.pid), 'SIGKILL'); } catch { /* gone */ }
              await withTimeout(exitedP, 2000);
            }
          }
          await new Promise((r) => log.end(r));
          rmSync(dir, { recursive: true, force: true });
          liveDirs.delete(dir);
        })();
      }
      return stopped;
    },
  };
  try {
    await Promise.race([
      waitStunReady({ probeNs, ip, tcpPorts: tls ? [TURN_PORT, TURNS_PORT] : [TURN_PORT],
        timeoutMs, what: 'coturn', tail: server.tail }),
      exitedP.then(() => { throw new Error(`coturn exited at startup (${JSON.stringify(exited)}):\n${server.tail()}`); }),
    ]);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/**
 * TOML for `confab serve --config`: `[[ice_servers]]` entries.
 * @param {{urls: string[], username?: string, credential?: string}[]} iceServers
 */
export function iceServersToml(iceServers) {
  const q = (/** @type {string} */ s) => JSON.stringify(s); // TOML basic strings accept JSON string escapes
  return iceServers.map((s) => [
    '[[ice_servers]]',
    `urls = [${s.urls.map(q).join(', ')}]`,
    ...(s.username ? [`username = ${q(s.username)}`] : []),
    ...(s.credential ? [`credential = ${q(s.credential)}`] : []),
  ].join('\n')).join('\n\n') + '\n';
}

/**
 * Every URL of a STUN/TURN server at `ip` (stun, turn udp, turn tcp, and turns if tls).
 * @param {string} ip
 * @param {{tls?: boolean}} [o]
 * @returns {{stun: string, turnUdp: string, turnTcp: string, turns?: string}}
 */
export function serverUrls(ip, { tls = false } = {}) {
  return {
    stun: `stun:${ip}:${TURN_PORT}`,
    turnUdp: `turn:${ip}:${TURN_PORT}?transport=udp`,
    turnTcp: `turn:${ip}:${TURN_PORT}?transport=tcp`,
    ...(tls ? { turns: `turns:${ip}:${TURNS_PORT}?transport=tcp` } : {}),
  };
}

// ==========================================================================================
// TURN SERVER ADAPTER: the one place that knows which TURN server the NAT tests use.
// `CONFAB_E2E_TURN=coturn` (default) | `confab`.
//
// Returns {
//   kind,
//   confabArgs(variant): extra `confab serve` flags for this server and ICE variant
//   iceServersFor(variant): the RTCIceServer list confab must hand out (null when confab
//                           builds it itself),
//   ready(): resolves once STUN answers (after confab started, for kind confab),
//   stop(),
// }
// `variant` is a key of ice.js VARIANTS ('stun', 'turn-udp', 'turn-tcp', 'turns',
// 'stun+turn'). The browsers additionally filter the URLs they receive down to that
// variant (ice.js `iceInitScript`), so a server that hands out every URL works too.
// ==========================================================================================

/** `CONFAB_E2E_TURN`, validated. */
export function turnKindFromEnv() {
  const kind = process.env.CONFAB_E2E_TURN || 'confab';
  if (kind !== 'coturn' && kind !== 'confab') {
    throw new Error(`CONFAB_E2E_TURN must be coturn or confab, not ${kind}`);
  }
  return kind;
}

/**
 * @param {'coturn'|'confab'} kind
 * @param {import('./netns.js').NatNet} lab a NAT lab (netns.js createNatLab): the server runs in `lab.serverNs` on
 *   `lab.serverIp`, probed from `lab.clients[0].ns` (through its NAT).
 * @param {{artifactsDir: string, tls?: boolean, allowPeers?: boolean}} o `allowPeers`
 *   (confab only, default true): pass `--turn-allow-peer 198.51.100.0/24`; false keeps
 *   confab's default peer policy, which denies the lab's range and the server's own address.
 */
export async function startTurnServer(kind, lab, { artifactsDir, tls = false, allowPeers = true }) {
  const ip = lab.serverIp;
  const probeNs = lab.clients[0].ns;
  const urls = serverUrls(ip, { tls });

  if (kind === 'coturn') {
    const coturn = await startCoturn({ lab, ns: lab.serverNs, ip, artifactsDir, probeNs, tls });
    const cred = { username: TURN_USER, credential: TURN_PASSWORD };
    /** @param {import('./ice.js').Variant} variant */
    const iceServersFor = (variant) => {
      const re = new RegExp(VARIANTS[variant]);
      const stun = [urls.stun].filter((u) => re.test(u));
      // A cast: the filter drops the absent `turns` (no type predicate is inferred for it).
      const turn = /** @type {string[]} */ ([urls.turnUdp, urls.turnTcp, urls.turns].filter((u) => u && re.test(u)));
      if (!stun.length && !turn.length) throw new Error(`no ${kind} URL for variant ${variant}`);
      return [
        ...(stun.length ? [{ urls: stun }] : []),
        ...(turn.length ? [{ urls: turn, ...cred }] : []),
      ];
    };
    return {
      kind, urls, coturn,
      iceServersFor,
      /** @param {import('./ice.js').Variant} variant */
      confabArgs(variant) {
        const file = join(artifactsDir, `confab-ice-${variant.replace(/\W+/g, '_')}.toml`);
        writeFileSync(file, iceServersToml(iceServersFor(variant)));
        // confab's built-in TURN (on by default where it exists) would take 3478 from
        // coturn and add its own URLs to `welcome`.
        return ['--config', file, ...(confabServeHasFlag('--no-turn') ? ['--no-turn'] : [])];
      },
      ready: () => Promise.resolve(),
      stop: () => coturn.stop(),
    };
  }

  if (kind === 'confab') {
    // confab's built-in STUN/TURN (issue 3, docs/turn.md), started by confab serve itself,
    // which puts stun:/turn:/turns: URLs for the TURN listen address (198.51.100.1) with
    // fresh REST credentials into `welcome`; the browsers' init script narrows them to
    // the variant.
    //  - `--turn-allow-peer 198.51.100.0/24`: the lab's public range. It must also lift
    //    the default refusal of the server's OWN address: with relay-only on both sides
    //    each browser's peer is the other's relay candidate, 198.51.100.1:<relay port>.
    //  - TURNS uses the HTTPS certificate (self-signed; the browsers ignore cert errors).
    if (!confabServeHasFlag('--turn-listen')) {
      throw new Error('CONFAB_E2E_TURN=confab but this confab binary has no --turn-listen');
    }
    const secret = `e2e-secret-${Math.random().toString(36).slice(2)}`;
    //  - With `allowPeers: false` nothing is allowed: relay-only on both sides must then
    //    work because confab hands relay-to-relay traffic over in-process (issue 12).
    const args = ['--turn-listen', `${ip}:${TURN_PORT}`, '--turn-relay-ip', ip,
      '--turn-relay-ports', `${RELAY_PORTS[0]}-${RELAY_PORTS[1]}`,
      ...(allowPeers ? ['--turn-allow-peer', '198.51.100.0/24'] : []), '--turn-secret', secret,
      '--turns-listen', tls ? `${ip}:${TURNS_PORT}` : 'off'];
    return {
      kind, urls, secret,
      iceServersFor: () => null,
      confabArgs: () => args,
      ready: () => waitStunReady({ probeNs, ip, tcpPorts: tls ? [TURN_PORT, TURNS_PORT] : [TURN_PORT],
        what: 'confab STUN/TURN' }),
      stop: () => Promise.resolve(), // stops with confab
    };
  }
  throw new Error(`unknown TURN server kind ${kind}`);
}
