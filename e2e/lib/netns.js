// Network-namespace labs for the browser E2E tests.
//
// Every address a test talks to lives inside a namespace created here; nothing is ever
// added to, or read from, the root namespace's interfaces, routes or iptables. Veth pairs
// are created with `ip -n <ns> link add ... peer ... netns <other>`, so even their
// short-lived ends never appear in the root namespace.
//
// Naming: every namespace of one lab starts with `cf<pid>n<k>` (pid of the Node process
// that made it, k a per-process counter), followed by a role: `srv`, `a`, `b`, ... The
// pattern /^cf(\d+)n\d+/ lets a later run find namespaces left behind by a crashed run
// (its pid is no longer a live node process) and delete them.
//
// Topologies are plain functions returning a `Lab`; `createLanLab` is the first. A NAT
// lab (TESTING.md: peers behind natA/natB, a `pub` bridge, MASQUERADE) is another such
// function built from the same helpers (`lab.addNamespace`, `lab.vethBetween`, `lab.run`).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const NAME_RE = /^cf(\d+)n\d+[a-z0-9]*$/;
const CMD_TIMEOUT_MS = 10_000;

let labCounter = 0;

/** Run a command synchronously; throw with its stderr on failure. */
export function sh(cmd, args, { timeout = CMD_TIMEOUT_MS, allowFail = false, input } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, input });
  if (r.error && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').trim()}`);
  }
  return r;
}

/**
 * Whether this process can build labs. Returns null if it can, else a reason string.
 * Checks root and a real `ip netns add`/`del` round trip (a container may lack the right).
 */
export function labUnavailableReason() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'E2E lab needs root (network namespaces); run `sudo npm run test:e2e`';
  }
  const probe = `cf${process.pid}n999p`;
  const add = sh('ip', ['netns', 'add', probe], { allowFail: true });
  if (add.error || add.status !== 0) {
    return `\`ip netns add\` failed: ${(add.stderr || add.error?.message || '').trim()}`;
  }
  sh('ip', ['netns', 'del', probe], { allowFail: true });
  return null;
}

function pidAliveAsNode(pid) {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node/.test(cmdline);
  } catch {
    return false;
  }
}

function listNamespaces() {
  const r = sh('ip', ['netns', 'list'], { allowFail: true });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
}

/** Kill every process inside a namespace (only ever called on our own namespaces). */
function killNamespacePids(ns) {
  const r = sh('ip', ['netns', 'pids', ns], { allowFail: true });
  if (r.status !== 0) return;
  for (const p of r.stdout.split(/\s+/).filter(Boolean)) {
    const pid = Number(p);
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}

function deleteNamespace(ns) {
  killNamespacePids(ns);
  sh('ip', ['netns', 'del', ns], { allowFail: true });
}

/**
 * Delete namespaces matching our naming pattern whose creating process is gone.
 * Returns the names deleted.
 */
export function cleanupStaleNamespaces() {
  const removed = [];
  for (const ns of listNamespaces()) {
    const m = NAME_RE.exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAliveAsNode(pid)) continue;
    deleteNamespace(ns);
    removed.push(ns);
  }
  if (removed.length) console.error(`[e2e] removed stale namespaces: ${removed.join(' ')}`);
  return removed;
}

// ---- process-wide cleanup registry --------------------------------------------------------
// Synchronous so it can run from 'exit' and signal handlers.

const liveLabs = new Set();
let handlersInstalled = false;

function cleanupAllSync() {
  for (const lab of [...liveLabs]) lab.destroySync();
}

function installProcessHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' also fires after an uncaught exception or unhandled rejection ends the process.
  process.on('exit', cleanupAllSync);
  for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.once(sig, () => {
      console.error(`[e2e] ${sig}: cleaning up ${liveLabs.size} lab(s)`);
      cleanupAllSync();
      process.exit(128 + num);
    });
  }
}

/**
 * One lab: a set of namespaces plus processes started in them.
 * `destroySync()` kills tracked processes, then anything else left in the lab's
 * namespaces, then deletes the namespaces. Idempotent.
 */
export class Lab {
  constructor(prefix) {
    this.prefix = prefix;
    /** @type {string[]} */
    this.namespaces = [];
    /** @type {Set<import('node:child_process').ChildProcess>} */
    this.processes = new Set();
    this.destroyed = false;
    installProcessHandlers();
    liveLabs.add(this);
  }

  /**
   * Create namespace `<prefix><role>` with `lo` up; returns its name.
   *
   * IPv6 is disabled in the namespace before any link exists: otherwise each new link
   * gets a link-local address whose duplicate address detection finishes a second or
   * two later, Chromium's network change notifier sees that as a network change, and
   * navigations fail with net::ERR_NETWORK_CHANGED and ICE candidates gathered so far
   * are dropped (observed here). The labs are IPv4-only.
   */
  addNamespace(role) {
    const ns = `${this.prefix}${role}`;
    if (ns.length > 15) throw new Error(`namespace name too long: ${ns}`);
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.run(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1']);
    this.run(ns, 'ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Run a command inside a namespace (synchronously). */
  run(ns, cmd, args, opts) {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  /** `ip -n ns ...` */
  ip(ns, ...args) {
    return sh('ip', ['-n', ns, ...args]);
  }

  /**
   * Create a veth pair with end `nameA` in `nsA` and `nameB` in `nsB`, both set up.
   * Created directly inside nsA, so nothing touches the root namespace.
   */
  vethBetween(nsA, nameA, nsB, nameB) {
    this.ip(nsA, 'link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', nsB);
    this.ip(nsA, 'link', 'set', nameA, 'up');
    this.ip(nsB, 'link', 'set', nameB, 'up');
  }

  /** Track a child process so cleanup kills it. */
  track(child) {
    this.processes.add(child);
    child.once('exit', () => this.processes.delete(child));
    return child;
  }

  destroySync() {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const child of this.processes) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    this.processes.clear();
    for (const ns of [...this.namespaces].reverse()) deleteNamespace(ns);
    this.namespaces = [];
    liveLabs.delete(this);
  }
}

function newPrefix() {
  labCounter += 1;
  return `cf${process.pid}n${labCounter}`;
}

/**
 * LAN lab: `<p>srv` holds bridge br0 with 10.77.0.1/24 (the server side); each client
 * namespace `<p>a`, `<p>b`, ... has `eth0` = 10.77.0.(2+i)/24, its veth peer `v<role>`
 * enslaved to br0 inside `<p>srv`. No default routes: everything is on one subnet.
 *
 * @param {{clients?: number}} opts
 * @returns {Lab & {serverNs: string, serverIp: string, clients: {ns: string, ip: string}[]}}
 */
export function createLanLab({ clients = 2 } = {}) {
  if (clients < 0 || clients > 20) throw new Error(`clients out of range: ${clients}`);
  cleanupStaleNamespaces();
  const lab = new Lab(newPrefix());
  try {
    const srv = lab.addNamespace('srv');
    lab.ip(srv, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
    lab.ip(srv, 'addr', 'add', '10.77.0.1/24', 'dev', 'br0');
    lab.ip(srv, 'link', 'set', 'br0', 'up');
    lab.serverNs = srv;
    lab.serverIp = '10.77.0.1';
    lab.clients = [];
    for (let i = 0; i < clients; i++) {
      const role = String.fromCharCode(97 + i); // a, b, c, ...
      const ns = lab.addNamespace(role);
      const ip = `10.77.0.${2 + i}`;
      lab.vethBetween(srv, `v${role}`, ns, 'eth0');
      lab.ip(srv, 'link', 'set', `v${role}`, 'master', 'br0');
      lab.ip(ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      lab.clients.push({ ns, ip, role });
    }
    return lab;
  } catch (e) {
    lab.destroySync();
    throw e;
  }
}
