// Start and stop the `confab` binary inside a lab namespace.

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, withTimeout } from './util.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The binary under test: $CONFAB_BIN, else target/debug/confab in the repo. */
export function confabBin() {
  return process.env.CONFAB_BIN
    ? resolve(REPO_ROOT, process.env.CONFAB_BIN)
    : join(REPO_ROOT, 'target/debug/confab');
}

/**
 * A join token for `room` and `name`, minted by the binary's `confab token` with `key`
 * (no network: it only signs).
 * @param {string} room
 * @param {string} name
 * @param {{key: string, role?: 'host' | 'guest' | 'viewer'}} o
 */
export function mintToken(room, name, { key, role = 'guest' }) {
  const args = ['token', '--room', room, '--name', name, '--role', role, '--ttl', '10m', '--token-key', key];
  const r = spawnSync(confabBin(), args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`confab token failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** @type {{bin: string, text: string} | null} */
let helpCache = null;
/**
 * Whether `confab serve` of the binary under test knows `flag` (e.g. '--no-turn'), from
 * its --help; lets the harness work with binaries from before and after a flag existed.
 * @param {string} flag
 * @param {string} [bin]
 */
export function confabServeHasFlag(flag, bin = confabBin()) {
  if (!helpCache || helpCache.bin !== bin) {
    const r = spawnSync(bin, ['serve', '--help'], { encoding: 'utf8', timeout: 10_000 });
    helpCache = { bin, text: `${r.stdout || ''}${r.stderr || ''}` };
  }
  return new RegExp(`(^|\\s)${flag.replace(/[-]/g, '\\-')}(\\s|=|$)`, 'm').test(helpCache.text);
}

const TAIL_LINES = 40;
// Data dirs of servers not stopped yet; removed at process exit (crash, signal) too.
/** @type {Set<string>} */
const liveDataDirs = new Set();
process.on('exit', () => {
  for (const dir of liveDataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A running `confab serve`, as `startConfab` returns it.
 * @typedef {object} ConfabServer
 * @property {import('node:child_process').ChildProcessByStdio<null, import('node:stream').Readable, import('node:stream').Readable>} child
 * @property {number | undefined} pid
 * @property {string} url `https://<ip>:<port>` (`http:` for an `--insecure-http` server)
 * @property {string} ip
 * @property {number} port
 * @property {string} ns
 * @property {string} logPath
 * @property {string} dataDir
 * @property {boolean} ownsDataDir whether `stop` removes `dataDir`
 * @property {() => string} tail the last lines of its output
 * @property {{code: number | null, signal: NodeJS.Signals | null} | null} exited
 * @property {(o?: {signal?: 'SIGTERM' | 'SIGKILL'}) => Promise<void>} stop
 *   SIGKILL: no graceful shutdown at all. Idempotent.
 * @property {Promise<void>} [stopped] set by the first `stop`
 */

/**
 * Start `confab serve` in namespace `ns`, log to `<artifactsDir>/confab.log`, and wait
 * until `GET https://<ip>:<port>/healthz` answers 200 (probed with curl from `probeNs`,
 * default `ns`; probing from a client namespace also proves the lab's links work).
 *
 * `dataDir`: an existing data dir the caller owns (kept at stop, so a restarted server
 * finds its state); default a fresh temp dir, removed at stop.
 *
 * `logName`: the log's file name in `artifactsDir` (several servers in one test).
 * With `--insecure-http` among `extraArgs` the server speaks plain HTTP, and is probed so.
 *
 * @param {{lab: import('./netns.js').Lab, ns: string, ip: string, port?: number,
 *          probeNs?: string, artifactsDir: string, publicHost?: string,
 *          extraArgs?: string[], timeoutMs?: number, bin?: string, dataDir?: string,
 *          logName?: string}} o
 * @returns {Promise<ConfabServer>}
 */
export async function startConfab({
  lab, ns, ip, port = 8443, probeNs = ns, artifactsDir, publicHost = 'call.test',
  extraArgs = [], timeoutMs = 15_000, bin = confabBin(), dataDir: givenDataDir,
  logName = 'confab.log',
}) {
  if (!existsSync(bin)) {
    throw new Error(`confab binary not found at ${bin}: run \`cargo build -p confab-server\` ` +
      'or set CONFAB_BIN');
  }
  const ownsDataDir = !givenDataDir;
  const dataDir = givenDataDir || mkdtempSync(join(tmpdir(), 'confab-e2e-data-'));
  if (ownsDataDir) liveDataDirs.add(dataDir);
  const logPath = join(artifactsDir, logName);
  const log = createWriteStream(logPath, { flags: 'a' });
  /** @type {string[]} */
  const tail = [];
  const args = ['serve', '--listen', `${ip}:${port}`, '--data-dir', dataDir,
    '--public-host', publicHost, ...extraArgs];
  log.write(`# ip netns exec ${ns} ${bin} ${args.join(' ')}\n`);
  // `ip netns exec` execs the program, so child.pid is confab's own pid.
  const child = spawn('ip', ['netns', 'exec', ns, bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', RUST_BACKTRACE: '1' },
  });
  lab.track(child);
  const onData = (/** @type {Buffer} */ buf) => {
    log.write(buf);
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  /** @type {ConfabServer['exited']} */
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
    log.write(`# exited code=${code} signal=${signal}\n`);
  });

  const scheme = extraArgs.includes('--insecure-http') ? 'http' : 'https';
  const url = `${scheme}://${ip}:${port}`;
  /** @type {ConfabServer} */
  const server = {
    child, pid: child.pid, url, ip, port, ns, logPath, dataDir, ownsDataDir,
    tail: () => tail.join('\n'),
    get exited() { return exited; },
    /** @param {{signal?: 'SIGTERM'|'SIGKILL'}} [o] SIGKILL: no graceful shutdown at all */
    stop: (o) => stopConfab(server, log, o),
  };

  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (exited) {
      await server.stop();
      throw new Error(`confab exited during startup (${JSON.stringify(exited)}); log tail:\n` +
        server.tail());
    }
    const r = spawnSync('ip', ['netns', 'exec', probeNs, 'curl', '-sk', '--max-time', '2',
      '-o', '/dev/null', '-w', '%{http_code}', `${url}/healthz`], { encoding: 'utf8', timeout: 5000 });
    last = `${(r.stdout || '').trim()} ${(r.stderr || '').trim()}`.trim();
    if (r.stdout && r.stdout.trim() === '200') break;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`confab not healthy at ${url}/healthz after ${timeoutMs} ms ` +
        `(last probe: ${last || 'no answer'}); log tail:\n${server.tail()}`);
    }
    await sleep(150);
  }
  return server;
}

/**
 * `signal` (default SIGTERM) by pid, SIGKILL after 3 s; removes the data dir if it made
 * it. Idempotent.
 * @param {ConfabServer} server
 * @param {import('node:fs').WriteStream} log
 * @param {{signal?: 'SIGTERM' | 'SIGKILL'}} [o]
 */
async function stopConfab(server, log, { signal = 'SIGTERM' } = {}) {
  if (server.stopped) return server.stopped;
  server.stopped = (async () => {
    const { child } = server;
    // `pid` is undefined only if spawning failed; `process.kill` then throws, caught as gone.
    const pid = /** @type {number} */ (child.pid);
    if (child.exitCode === null && child.signalCode === null) {
      const exitedP = new Promise((r) => child.once('exit', r));
      log.write(`# stopping with ${signal}\n`);
      try { process.kill(pid, signal); } catch { /* gone */ }
      const timedOut = await withTimeout(exitedP.then(() => false), 3000, true);
      if (timedOut) {
        log.write('# did not exit 3 s after SIGTERM: SIGKILL\n');
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        await withTimeout(exitedP, 2000);
      }
    }
    await new Promise((r) => log.end(r));
    if (server.ownsDataDir) {
      rmSync(server.dataDir, { recursive: true, force: true });
      liveDataDirs.delete(server.dataDir);
    }
  })();
  return server.stopped;
}
