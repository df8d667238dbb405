// A confab cluster inside a lab's server namespace: a real redis-server, several confab
// nodes on plain HTTP (127.0.0.1:8081, 8082, ...), and Debian's nginx in front with the
// site configuration from deploy/nginx/confab.conf, serving https://call.test:8443 at
// the lab's server address, as an operator would run it (docs/cluster.md).

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startConfab } from './confab.js';
import { sleep } from './util.js';

/** @typedef {import('./confab.js').ConfabServer} ConfabServer */

/**
 * A running cluster.
 * @typedef {object} Cluster
 * @property {ConfabServer[]} nodes in order: node-1 on 127.0.0.1:8081, ...
 * @property {(i: number) => Promise<number>} connections open WebSockets on node `i`
 *   (its `confab_connections` gauge)
 * @property {(i: number, name: string) => Promise<number>} metric node `i`'s metric `name`
 * @property {string} redisUrl
 * @property {(room: string) => Promise<number>} owner the index of the node holding
 *   `room`'s lease (-1: none)
 */

/**
 * Runs `cmd` inside namespace `ns` as a tracked child, its output in `logPath`.
 * @param {import('./netns.js').Lab} lab
 * @param {string} ns
 * @param {string} logPath
 * @param {string} cmd
 * @param {string[]} args
 */
function daemon(lab, ns, logPath, cmd, args) {
  const log = createWriteStream(logPath, { flags: 'a' });
  log.write(`# ip netns exec ${ns} ${cmd} ${args.join(' ')}\n`);
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (b) => log.write(b));
  child.stderr.on('data', (b) => log.write(b));
  child.once('exit', (code, signal) => log.end(`# exited code=${code} signal=${signal}\n`));
  return lab.track(child);
}

/**
 * Polls `probe` until it returns true, or throws `what` after `ms`.
 * @param {() => boolean} probe
 * @param {string} what
 * @param {number} [ms]
 */
async function until(probe, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what} after ${ms} ms`);
    await sleep(100);
  }
}

/**
 * The deploy site configuration, rewritten for the lab: its upstream servers become the
 * nodes, it listens on the lab address, and the certificate is the lab's. Everything
 * else (balancing, WebSocket headers, timeouts) is the file as shipped.
 * @param {{listen: string, nodes: string[], cert: string, key: string}} o
 */
export function labSiteConfig({ listen, nodes, cert, key }) {
  const shipped = readFileSync(join(REPO_ROOT, 'deploy/nginx/confab.conf'), 'utf8');
  const servers = nodes.map((n) => `    server ${n} max_fails=1 fail_timeout=5s;`).join('\n');
  let text = shipped.replace(/(?:^ {4}server \d+\.\d+\.\d+\.\d+:\d+[^\n]*\n)+/m, `${servers}\n`);
  text = text.replace(/listen 443 ssl http2;/, `listen ${listen} ssl http2;`);
  text = text.replace(/server_name [^;]+;/, 'server_name call.test;');
  text = text.replace(/ssl_certificate [^;]+;/, `ssl_certificate ${cert};`);
  text = text.replace(/ssl_certificate_key [^;]+;/, `ssl_certificate_key ${key};`);
  if (!text.includes(servers) || !text.includes(listen)) {
    throw new Error('deploy/nginx/confab.conf no longer has the shape the lab rewrites');
  }
  return text;
}

/**
 * Starts Redis, `nodes` confab nodes and nginx in `lab.net.serverNs`.
 * `media`: `mesh` (default: no SFU), or `sfu` (every call on the SFU of its room's owner;
 * node i's on UDP 789i, offered at the lab's server address).
 * @param {{lab: import('./lab.js').TestLab, nodes?: number, confabArgs?: string[],
 *          media?: 'mesh' | 'sfu'}} o
 * @returns {Promise<Cluster>}
 */
export async function startCluster({ lab, nodes: count = 2, confabArgs = [], media = 'mesh' }) {
  const net = lab.net;
  const ns = net.serverNs;
  const dir = join(lab.artifactsDir, 'cluster');
  mkdirSync(join(dir, 'nginx', 'logs'), { recursive: true });

  daemon(net, ns, join(lab.artifactsDir, 'redis.log'), 'redis-server',
    ['--port', '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const redisUp = () => spawnSync('ip', ['netns', 'exec', ns, 'redis-cli', '-p', '6379', 'ping'],
    { encoding: 'utf8' }).stdout?.trim() === 'PONG';
  await until(redisUp, 'redis-server does not answer');
  const redisUrl = 'redis://127.0.0.1:6379/0';

  /** @type {ConfabServer[]} */
  const nodes = [];
  for (let i = 1; i <= count; i++) {
    nodes.push(await startConfab({
      lab: net, ns, ip: '127.0.0.1', port: 8080 + i, artifactsDir: lab.artifactsDir,
      logName: `confab-node-${i}.log`, publicHost: 'call.test',
      extraArgs: ['--insecure-http', '--redis-url', redisUrl, '--node-id', `node-${i}`,
        '--no-turn', '--media', media,
        ...(media === 'sfu' ? ['--sfu-listen', `0.0.0.0:${7890 + i}`, '--sfu-ip', net.serverIp] : []),
        ...confabArgs],
    }));
  }
  lab.onClose(() => Promise.all(nodes.map((n) => n.stop())));

  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=call.test',
    '-addext', 'subjectAltName=DNS:call.test', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
  const site = join(dir, 'confab.conf');
  writeFileSync(site, labSiteConfig({
    listen: `${net.serverIp}:8443`, nodes: nodes.map((n) => `${n.ip}:${n.port}`), cert, key,
  }));
  const prefix = join(dir, 'nginx');
  const main = join(prefix, 'nginx.conf');
  writeFileSync(main, [
    'daemon off;', 'worker_processes 1;', `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'logs', 'error.log')} info;`, 'events { worker_connections 1024; }',
    'http {', `  access_log ${join(prefix, 'logs', 'access.log')};`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, t)};`),
    `  include ${site};`, '}', ''].join('\n'));
  daemon(net, ns, join(lab.artifactsDir, 'nginx.log'), 'nginx', ['-p', prefix, '-c', main]);
  const healthy = () => spawnSync('ip', ['netns', 'exec', net.clients[0].ns, 'curl', '-sk',
    '--max-time', '2', '-o', '/dev/null', '-w', '%{http_code}',
    '--resolve', `call.test:8443:${net.serverIp}`, 'https://call.test:8443/healthz'],
  { encoding: 'utf8' }).stdout?.trim() === '200';
  await until(healthy, 'nginx does not serve /healthz');

  const metric = async (/** @type {number} */ i, /** @type {string} */ name) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '--max-time', '2',
      `${nodes[i].url}/metrics`], { encoding: 'utf8' });
    const line = (r.stdout || '').split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  };
  const connections = (/** @type {number} */ i) => metric(i, 'confab_connections');
  const owner = async (/** @type {string} */ room) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'redis-cli', '-p', '6379', 'GET',
      `confab:lease:${room}`], { encoding: 'utf8' });
    const id = (r.stdout || '').trim();
    return nodes.findIndex((_, i) => id === `node-${i + 1}`);
  };
  return { nodes, connections, metric, redisUrl, owner };
}
