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
// Topologies are plain functions returning a `Lab`: `createLanLab` (one bridge, no NAT)
// and `createNatLab` (TESTING.md's NAT lab: each peer behind its own NAT box, the NATs'
// wan sides and the server on a `pub` bridge), both built from the same helpers
// (`lab.addNamespace`, `lab.vethBetween`, `lab.run`).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const NAME_RE = /^cf(\d+)n\d+[a-z0-9]*$/;
const CMD_TIMEOUT_MS = 10_000;

let labCounter = 0;

/** @typedef {'cone' | 'symmetric'} NatKind */
/** A client namespace of a LAN lab. @typedef {{ns: string, ip: string, role: string}} LanClient */
/**
 * A client namespace of a NAT lab, behind its NAT box `natNs`.
 * @typedef {LanClient & {natNs: string, wanIp: string, lanIp: string, nat: NatKind}} NatClient
 */
/**
 * What the fixtures (lab.js, static.js) need of a topology: a server namespace and address
 * and client namespaces.
 * @typedef {Lab & {serverNs: string, serverIp: string, clients: LanClient[]}} Net
 */
/** @typedef {Lab & {serverNs: string, serverIp: string, clients: LanClient[]}} LanLab */
/** @typedef {Lab & {serverNs: string, serverIp: string, kind: 'nat', clients: NatClient[]}} NatNet */

/**
 * Run a command synchronously; throw with its stderr on failure.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{timeout?: number, allowFail?: boolean, input?: string}} [o]
 */
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

/** @param {number} pid */
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

/**
 * Kill every process inside a namespace (only ever called on our own namespaces).
 * @param {string} ns
 */
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

/** @param {string} ns */
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

/** @type {Set<Lab>} */
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
  for (const [sig, num] of /** @type {[NodeJS.Signals, number][]} */ ([['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]])) {
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
  /** @param {string} prefix of every namespace name, `cf<pid>n<k>` */
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
   * @param {string} role
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

  /**
   * Run a command inside a namespace (synchronously).
   * @param {string} ns
   * @param {string} cmd
   * @param {string[]} args
   * @param {Parameters<typeof sh>[2]} [opts]
   */
  run(ns, cmd, args, opts) {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  /**
   * `ip -n ns ...`
   * @param {string} ns
   * @param {...string} args
   */
  ip(ns, ...args) {
    return sh('ip', ['-n', ns, ...args]);
  }

  /**
   * Create a veth pair with end `nameA` in `nsA` and `nameB` in `nsB`, both set up.
   * Created directly inside nsA, so nothing touches the root namespace.
   * @param {string} nsA
   * @param {string} nameA
   * @param {string} nsB
   * @param {string} nameB
   */
  vethBetween(nsA, nameA, nsB, nameB) {
    this.ip(nsA, 'link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', nsB);
    this.ip(nsA, 'link', 'set', nameA, 'up');
    this.ip(nsB, 'link', 'set', nameB, 'up');
  }

  /**
   * Track a child process so cleanup kills it.
   * @template {import('node:child_process').ChildProcess} C
   * @param {C} child
   * @returns {C}
   */
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
 * @param {{clients?: number}} [opts]
 * @returns {LanLab}
 */
export function createLanLab({ clients = 2 } = {}) {
  if (clients < 0 || clients > 20) throw new Error(`clients out of range: ${clients}`);
  cleanupStaleNamespaces();
  const lab = /** @type {LanLab} */ (new Lab(newPrefix())); // the LAN fields are set below
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

/**
 * `iptables -w 5 ...` inside a lab namespace. `-w`: the xtables lock is machine-wide, and
 * another lab (another test run) may be configuring its own namespaces at the same time.
 * @param {Lab} lab
 * @param {string} ns
 * @param {string[]} args
 */
function iptables(lab, ns, args) {
  lab.run(ns, 'iptables', ['-w', '5', ...args]);
}

export const NAT_PUB_IP = '198.51.100.1';

/**
 * NAT lab, exactly the topology of TESTING.md ("The NAT lab"):
 *
 *     <p>pa 10.0.1.2 -eth0/lan- <p>na (10.0.1.1 | wan 198.51.100.11) -wan/wa-+
 *     <p>pb 10.0.2.2 -eth0/lan- <p>nb (10.0.2.1 | wan 198.51.100.12) -wan/wb-+- <p>pub: br0 198.51.100.1
 *
 * Client i (0-based, role a, b, ...) lives in `<p>p<role>` with eth0 10.0.(i+1).2/24 and a
 * default route via its NAT box `<p>n<role>`, which has lan 10.0.(i+1).1/24 and wan
 * 198.51.100.(11+i)/24 (a port of br0 in `<p>pub`) and a default route via 198.51.100.1.
 * The server (confab, coturn) runs in `<p>pub` on 198.51.100.1.
 *
 * Each NAT box: ip_forward=1; `MASQUERADE` out of wan (`nat: 'cone'`) or
 * `MASQUERADE --random-fully` (`nat: 'symmetric'`: a new mapped port per destination);
 * FORWARD from wan only for ESTABLISHED,RELATED; and the REQUIRED
 * `INPUT -i wan -p udp -m conntrack --ctstate NEW -j DROP` (without it an unsolicited
 * connectivity check creates a conntrack entry that collides with the later outbound
 * mapping, and hole punching fails even through cone NATs).
 * `<p>pub` gets `default dev br0` (REQUIRED: else a relay sending to a private host
 * candidate gets ENETUNREACH). IPv6 is off everywhere (see `Lab.addNamespace`).
 *
 * @param {{clients?: number, nat?: NatKind | NatKind[]}} [opts]
 *   `nat`: one kind for every NAT box, or one per client.
 * @returns {NatNet}
 */
export function createNatLab({ clients = 2, nat = 'cone' } = {}) {
  if (clients < 1 || clients > 9) throw new Error(`clients out of range: ${clients}`);
  const kinds = Array.isArray(nat) ? nat : Array.from({ length: clients }, () => nat);
  if (kinds.length !== clients) throw new Error(`nat: ${kinds.length} kinds for ${clients} clients`);
  for (const k of kinds) {
    if (k !== 'cone' && k !== 'symmetric') throw new Error(`unknown nat kind ${k}`);
  }
  cleanupStaleNamespaces();
  const lab = /** @type {NatNet} */ (new Lab(newPrefix())); // the NAT fields are set below
  try {
    const pub = lab.addNamespace('pub');
    lab.ip(pub, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
    lab.ip(pub, 'addr', 'add', `${NAT_PUB_IP}/24`, 'dev', 'br0');
    lab.ip(pub, 'link', 'set', 'br0', 'up');
    lab.ip(pub, 'route', 'add', 'default', 'dev', 'br0');
    lab.kind = 'nat';
    lab.serverNs = pub;
    lab.serverIp = NAT_PUB_IP;
    lab.clients = [];
    for (let i = 0; i < clients; i++) {
      const role = String.fromCharCode(97 + i);
      const natNs = lab.addNamespace(`n${role}`);
      const ns = lab.addNamespace(`p${role}`);
      const wanIp = `198.51.100.${11 + i}`;
      const lanIp = `10.0.${i + 1}.1`;
      const ip = `10.0.${i + 1}.2`;
      // wan side: NAT box <-> pub bridge
      lab.vethBetween(pub, `w${role}`, natNs, 'wan');
      lab.ip(pub, 'link', 'set', `w${role}`, 'master', 'br0');
      lab.ip(natNs, 'addr', 'add', `${wanIp}/24`, 'dev', 'wan');
      // lan side: peer <-> NAT box
      lab.vethBetween(natNs, 'lan', ns, 'eth0');
      lab.ip(natNs, 'addr', 'add', `${lanIp}/24`, 'dev', 'lan');
      lab.ip(ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      lab.ip(ns, 'route', 'add', 'default', 'via', lanIp);
      lab.ip(natNs, 'route', 'add', 'default', 'via', NAT_PUB_IP, 'dev', 'wan');
      lab.run(natNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      const masq = ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE'];
      if (kinds[i] === 'symmetric') masq.push('--random-fully');
      iptables(lab, natNs, masq);
      iptables(lab, natNs, ['-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack',
        '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
      iptables(lab, natNs, ['-A', 'FORWARD', '-i', 'wan', '-j', 'DROP']);
      iptables(lab, natNs, ['-A', 'INPUT', '-i', 'wan', '-p', 'udp', '-m', 'conntrack',
        '--ctstate', 'NEW', '-j', 'DROP']);
      lab.clients.push({ ns, ip, role, natNs, wanIp, lanIp, nat: kinds[i] });
    }
    return lab;
  } catch (e) {
    lab.destroySync();
    throw e;
  }
}
