// A trivial HTTPS server (static-server.js) inside a lab namespace, for tests and tools
// that need a secure-context page but not confab itself.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollUntil } from './util.js';

const STATIC_SERVER = fileURLToPath(new URL('./static-server.js', import.meta.url));

/**
 * Start the server on `<net.serverIp>:<port>` in `net.serverNs` with a fresh self-signed
 * certificate (openssl), and wait until /healthz answers from `probeNs` (default: the
 * first client namespace). Returns {close()}; the process is also tracked by the lab.
 * @param {import('./netns.js').Net} net
 * @param {{port?: number, probeNs?: string}} [o]
 */
export async function startStaticHttps(net, { port = 8443, probeNs = net.clients[0]?.ns ?? net.serverNs } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'confab-e2e-cert-'));
  const key = join(tmp, 'key.pem');
  const cert = join(tmp, 'cert.pem');
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
      'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=call.test'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr || r.error?.message}`);
    const child = net.track(spawn('ip', ['netns', 'exec', net.serverNs, process.execPath,
      STATIC_SERVER, net.serverIp, String(port), key, cert], { stdio: 'ignore' }));
    await pollUntil(() => spawnSync('ip', ['netns', 'exec', probeNs, 'curl', '-sk', '--max-time', '2',
      `https://${net.serverIp}:${port}/healthz`], { encoding: 'utf8', timeout: 5000 }).stdout === 'ok',
    { timeout: 10_000, message: 'static server /healthz' });
    return {
      close() {
        // `pid` is undefined only if spawning failed; `process.kill` then throws: gone.
        try { process.kill(/** @type {number} */ (child.pid), 'SIGKILL'); } catch { /* gone */ }
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
