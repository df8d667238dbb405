#!/usr/bin/env python3
"""TURN benchmark: confab's built-in TURN against coturn 4.6, under the same
turnutils_uclient loads, on loopback. Not a test: it prints a table.

    python3 bench/turn_bench.py            # builds confab --release first
    python3 bench/turn_bench.py --quick    # shorter steps

For each server it measures:
  - load 1: 100 clients x 1000 messages (120 bytes, every 20 ms): loss, msgs/s, CPU s
  - a rate ramp: 100 clients, interval stepping down until loss > 0.5 %; the highest
    relayed rate (messages/s through the relay, both directions) with loss <= 0.5 %.
    1 ms is uclient's shortest interval, so the top step may be the load generator's
    ceiling (adding clients only slows uclient down on 2 cores)
  - allocations/s: 200 clients that each allocate, bind a channel and send 1 message
  - CPU seconds (user+sys of the server) for load 1, and peak RSS (VmHWM) over the run
Everything runs on 127.0.0.1; every step has a time limit.

    python3 bench/turn_bench.py --mmsg-ab  # confab with and without recvmmsg/sendmmsg

The A/B mode runs confab twice per load (CONFAB_TURN_MMSG=1, then =0), alternating for
--rounds rounds, driven by our own load generator (crates/turn/examples/turn_blast.rs,
which unlike uclient can offer more than the server relays) at fixed offered rates and
flat out. It prints server CPU microseconds per relayed frame, relayed frames/s and loss.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "bench-secret-0123456789abcdef"
HOST = "127.0.0.1"
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def wait_udp_stun(port, limit=10.0):
    """Waits until a STUN binding on `port` is answered."""
    deadline = time.time() + limit
    while time.time() < deadline:
        r = subprocess.run(["timeout", "2", "turnutils_stunclient", "-p", str(port), HOST],
                           capture_output=True, text=True)
        if "reflexive" in r.stdout + r.stderr:
            return
        time.sleep(0.2)
    raise RuntimeError(f"no STUN answer on port {port}")


class Server:
    def __init__(self, kind, port, workdir, env=None):
        self.kind, self.port = kind, port
        log = open(os.path.join(workdir, f"{kind}.log"), "w")
        if kind == "confab":
            cmd = [os.path.join(ROOT, "target/release/confab"), "serve", "--insecure-http",
                   "--listen", f"{HOST}:0", "--data-dir", os.path.join(workdir, "confab-data"),
                   "--turn-listen", f"{HOST}:{port}", "--turns-listen", "off",
                   "--turn-relay-ports", "50000-59999", "--turn-allow-peer", f"{HOST}/32",
                   "--turn-secret", SECRET, "--turn-user-quota", "100000",
                   "--turn-ip-quota", "100000", "--media", "mesh", "--log", "warn"]
        else:
            cmd = ["turnserver", "-n", f"--listening-ip={HOST}", f"--listening-port={port}",
                   f"--relay-ip={HOST}", "--min-port=60000", "--max-port=65000",
                   "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=confab",
                   "--fingerprint", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
                   "--log-file=stdout", "--simple-log", "--no-software-attribute"]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        wait_udp_stun(port)
        self.cpu0 = cpu_seconds(self.proc.pid)

    def cpu(self):
        return cpu_seconds(self.proc.pid) - self.cpu0

    def rss(self):
        return peak_rss_kib(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def uclient(port, peer_port, clients, msgs, interval_ms, extra=(), limit=120):
    cmd = ["turnutils_uclient", "-m", str(clients), "-n", str(msgs), "-l", "120",
           "-z", str(interval_ms), "-c", "-W", SECRET, "-u", "bench", "-e", HOST,
           "-r", str(peer_port), "-p", str(port), *extra, HOST]
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        out = r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() + (e.stderr or b"").decode()
    wall = time.time() - t0

    def last(pattern):
        m = re.findall(pattern, out)
        return int(m[-1]) if m else None

    sent = last(r"tot_send_msgs=(\d+)")
    recv = last(r"tot_recv_msgs=(\d+)")
    lost = last(r"Total lost packets (\d+)")
    if sent is None or recv is None:
        return {"ok": False, "wall": wall, "out": out[-600:]}
    loss = 100.0 * (sent - recv) / sent if sent else 100.0
    return {"ok": True, "sent": sent, "recv": recv, "lost": lost, "loss": loss, "wall": wall}


def bench(kind, port, peer_port, workdir, quick):
    s = Server(kind, port, workdir)
    res = {"kind": kind}
    try:
        # Load 1: 100 clients x 1000 messages.
        n = 300 if quick else 1000
        r = uclient(port, peer_port, 100, n, 20)
        res["load1"] = r
        res["cpu"] = s.cpu()  # the same fixed work for both servers
        # Rate ramp: 100 clients; shorter intervals until loss > 0.5 %.
        best = None
        for z in [20, 10, 5, 3, 2, 1]:
            msgs = max(50, int((2000 if quick else 5000) / z))  # ~2-5 s per step
            r = uclient(port, peer_port, 100, msgs, z)
            rate = 2 * r["recv"] / r["wall"] if r["ok"] and r["wall"] > 0 else 0
            print(f"  {kind}: 100 clients every {z} ms: "
                  + (f"loss {r['loss']:.2f} %, {rate:,.0f} relayed msgs/s" if r["ok"] else "failed"),
                  flush=True)
            if not r["ok"]:
                print("    uclient output (tail):\n    " + r["out"].replace("\n", "\n    "))
            if not r["ok"] or r["loss"] > 0.5:
                break
            best = max(best or 0, rate)
        res["rate"] = best or 0
        # Allocations per second: 200 clients, 1 message each.
        r = uclient(port, peer_port, 200, 1, 20)
        res["allocs"] = 200 / r["wall"] if r["ok"] else 0
        # The same without uclient's pacing: 200 allocations (challenge, Allocate,
        # ChannelBind) back to back from turn_blast.
        res["allocs_blast"] = blast(port, 100, 0.5, allocations=200)["allocs_per_s"]
        res["rss"] = s.rss()
    finally:
        s.stop()
    return res


def blast(port, rate, seconds, allocations=8):
    """Runs the turn_blast example (`allocations` allocations, ChannelData to one peer) at
    `rate` frames/s (0 = flat out); returns its key=value figures."""
    exe = os.path.join(ROOT, "target/release/examples/turn_blast")
    r = subprocess.run([exe, "--server", f"{HOST}:{port}", "--secret", SECRET, "--rate", str(rate),
                        "--seconds", str(seconds), "--allocations", str(allocations)],
                       capture_output=True, text=True,
                       timeout=seconds + 30)
    figures = dict(kv.split("=") for kv in r.stdout.split() if "=" in kv)
    if r.returncode != 0 or "received" not in figures:
        raise RuntimeError(f"turn_blast failed: {r.stdout}{r.stderr}")
    return {k: float(v) for k, v in figures.items()}


def mmsg_ab(port, workdir, rounds, seconds, rates):
    """Server CPU per relayed frame and loss, recvmmsg/sendmmsg on vs off, alternating."""
    rows = {}
    for rnd in range(rounds):
        for rate in rates:
            for mode in ("1", "0"):
                s = Server("confab", port, workdir, env={"CONFAB_TURN_MMSG": mode})
                try:
                    cpu0 = s.cpu()
                    f = blast(port, rate, seconds)
                    cpu = s.cpu() - cpu0
                finally:
                    s.stop()
                us = 1e6 * cpu / f["received"] if f["received"] else float("inf")
                got = f["received"] / f["seconds"]
                rows.setdefault((rate, mode), []).append((us, got, f["loss_pct"]))
                print(f"  round {rnd + 1} offered {rate or 'max':>7}/s mmsg={'on ' if mode == '1' else 'off'}: "
                      f"{us:5.2f} CPU us/frame, {got:9,.0f} frames/s relayed, loss {f['loss_pct']:.2f} %",
                      flush=True)
    print()
    print(f"confab TURN relay with recvmmsg/sendmmsg on vs off: bench turn_blast (8 UDP allocations, "
          f"ChannelData of 120 bytes to one peer), {seconds} s per run, median of {rounds} alternating rounds")
    print(f"{'offered frames/s':>17} | {'CPU us/frame on':>15} {'off':>6} | {'relayed/s on':>12} {'off':>9} | "
          f"{'loss % on':>9} {'off':>6}")

    def med(rate, mode, i):
        v = sorted(x[i] for x in rows.get((rate, mode), []))
        return v[len(v) // 2] if v else float("nan")

    for rate in rates:
        print(f"{rate or 'max':>17} | {med(rate, '1', 0):>15.2f} {med(rate, '0', 0):>6.2f} | "
              f"{med(rate, '1', 1):>12,.0f} {med(rate, '0', 1):>9,.0f} | "
              f"{med(rate, '1', 2):>9.2f} {med(rate, '0', 2):>6.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--mmsg-ab", action="store_true", help="confab with vs without recvmmsg/sendmmsg")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4, help="seconds per run in --mmsg-ab")
    ap.add_argument("--rates", default="20000,50000,100000,0",
                    help="offered frames/s in --mmsg-ab, comma-separated (0 = as fast as possible)")
    args = ap.parse_args()
    for tool in ["turnserver", "turnutils_uclient", "turnutils_peer", "turnutils_stunclient"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install coturn")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "confab-server"], cwd=ROOT, check=True)
        if True:  # turn_blast serves both the A/B mode and the allocation rate row
            subprocess.run(["cargo", "build", "--release", "-q", "-p", "confab-turn", "--example",
                            "turn_blast"], cwd=ROOT, check=True)
    workdir = tempfile.mkdtemp(prefix="turn-bench-")
    peer_port = 23480
    peer = subprocess.Popen(["turnutils_peer", "-L", HOST, "-p", str(peer_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if args.mmsg_ab:
        peer.terminate()
        mmsg_ab(23478, workdir, args.rounds, args.seconds,
                [int(r) for r in args.rates.split(",")])
        return
    try:
        results = [bench("confab", 23478, peer_port, workdir, args.quick),
                   bench("coturn", 23578, peer_port, workdir, args.quick)]
    finally:
        peer.terminate()
    c, t = results
    print()
    print(f"TURN benchmark on {os.cpu_count()} cores, loopback, turnutils_uclient (coturn 4.6 clients); logs in {workdir}")
    print(f"{'':44}{'confab':>14}{'coturn':>14}{'confab/coturn':>15}")

    def row(label, a, b, fmt, higher_better=True):
        if a == b:
            print(f"{label:44}{fmt.format(a):>14}{fmt.format(b):>14}{'equal':>15}")
            return
        ratio = (a / b) if b else float("inf")
        mark = "" if (ratio >= 1) == higher_better else "  (worse)"
        print(f"{label:44}{fmt.format(a):>14}{fmt.format(b):>14}{ratio:>14.2f}x{mark}")

    for name, r in (("confab", c["load1"]), ("coturn", t["load1"])):
        if not r["ok"]:
            print(f"load 1 failed for {name}: {r['out']}")
    if c["load1"]["ok"] and t["load1"]["ok"]:
        row("load 1 (100x1000 msgs): loss %", c["load1"]["loss"], t["load1"]["loss"], "{:.3f}", False)
    row("relayed msgs/s at <= 0.5 % loss", c["rate"], t["rate"], "{:,.0f}")
    row("allocations/s (200 clients, 1 msg each)", c["allocs"], t["allocs"], "{:,.1f}")
    row("allocations/s, back to back (turn_blast)", c["allocs_blast"], t["allocs_blast"], "{:,.0f}")
    row("server CPU seconds for load 1", c["cpu"], t["cpu"], "{:.2f}", False)
    row("server peak RSS, MiB", c["rss"] / 1024, t["rss"] / 1024, "{:.1f}", False)


if __name__ == "__main__":
    main()
