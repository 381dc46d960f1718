#!/usr/bin/env python3
"""mesh.py: the replicated control plane of N real weft agents on loopback.

Driven by tools/bench/mesh.sh (which copies the binary, records the machine
and removes everything on exit); README.md explains the numbers.

For each N: a CA, N agents each with its own CA-issued bundle, gossip
(profile local) on 127.0.0.1 joining node 1, a control listener; all joined.
Then:
  converge  CHANGES times: one small new object (`[policy bench-K]`, 4 keys)
            applied with `weft apply --wait` at node 1 while this process
            polls every node's GET /v1/mesh digest; convergence is the
            first poll round in which all N digests are equal and differ
            from the one before the change, timed from just before the
            apply was started. Then the counters are let settle (no sync
            session anywhere for SETTLE seconds) and read: sync body bytes
            (the initiator's request and reply bodies, summed over all
            nodes), sessions, gossip bytes sent (GET /v1/gossip), CPU.
  catch-up  the last node stopped (TERM), MISSED objects applied at node 1
            (files of at most 256 objects), the others converge and
            settle; the node restarted on its data dir: time from spawn
            (and from ready) until its digest equals node 1's, and what it
            exchanged (its own counters: it starts from zero).
Every wait is bounded (--budget); a wait that runs out reports `timeout`.
Markdown on stdout, progress on stderr.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from free_port import free_ports  # noqa: E402  (tools/free_port.py)

LIVE = {}  # pid -> Popen
STATE_FILE = None
TICK = os.sysconf("SC_CLK_TCK")


def note(msg):
    print("mesh: " + msg, file=sys.stderr, flush=True)


def save_state():
    if STATE_FILE:
        with open(STATE_FILE, "w") as f:
            for pid in LIVE:
                f.write("pid %d\n" % pid)


def api(sock_path, path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: weft\r\nConnection: close\r\n\r\n")
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        s.close()
    head, body = raw.split(b"\r\n\r\n", 1)
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise OSError("GET %s: %s" % (path, head.split(b"\r\n", 1)[0].decode(errors="replace")))
    return json.loads(body)


def cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            f2 = f.read().rsplit(")", 1)[1].split()
        return (int(f2[11]) + int(f2[12])) / TICK
    except OSError:
        return 0.0


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Cluster:
    def __init__(self, weft, n, tmp, args):
        self.weft, self.n, self.tmp, self.args = weft, n, tmp, args
        os.makedirs(tmp)
        ports = free_ports(2 * n)
        self.gp, self.cp = ports[:n], ports[n:]
        self.procs = [None] * n
        self.starts = [0] * n
        self.run(weft, "ca", "init", "--trust-domain", "bench.example", "--out", self.p("ca"))
        for i in range(n):
            self.run(weft, "ca", "issue", "--ca", self.p("ca"), "--node", self.name(i),
                     "--out", self.p("b-%d" % i))
            with open(self.p("n%d.ini" % i), "w") as f:
                f.write("[node]\nname = %s\ndata_dir = %s\ntrust_domain = bench.example\n"
                        "[admin]\nsocket = %s\n"
                        "[gossip]\nenabled = true\nbind = 127.0.0.1:%d\njoin = 127.0.0.1:%d\n"
                        "profile = local\n"
                        "[identity]\nbundle = %s\n[control]\nlisten = 127.0.0.1:%d\n"
                        % (self.name(i), self.p("d-%d" % i), self.sock(i), self.gp[i],
                           self.gp[0], self.p("b-%d" % i), self.cp[i]))

    def p(self, *parts):
        return os.path.join(self.tmp, *parts)

    @staticmethod
    def name(i):
        return "n%d" % (i + 1)

    def sock(self, i):
        return self.p("d-%d" % i, "admin.sock")

    @staticmethod
    def run(*cmd):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=60)

    def spawn(self, i):
        log = open(self.p("n%d.log" % i), "a")
        self.starts[i] = time.monotonic()
        pr = subprocess.Popen([self.weft, "agent", "-c", self.p("n%d.ini" % i)], stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
        log.close()
        self.procs[i] = pr
        LIVE[pr.pid] = pr
        save_state()

    def ready(self, i, deadline):
        while time.monotonic() < deadline:
            if self.procs[i].poll() is not None:
                raise SystemExit("mesh: %s exited: %s" % (self.name(i), self.tail(i)))
            try:
                api(self.sock(i), "/v1/status", 1.0)
                return time.monotonic()
            except (OSError, ValueError):
                time.sleep(0.01)
        raise SystemExit("mesh: %s not ready: %s" % (self.name(i), self.tail(i)))

    def tail(self, i):
        try:
            with open(self.p("n%d.log" % i)) as f:
                return " | ".join(f.read().splitlines()[-3:])
        except OSError:
            return "(no log)"

    def stop(self, i, sig=signal.SIGTERM, budget=15):
        pr = self.procs[i]
        if pr is None:
            return
        pr.send_signal(sig)
        try:
            pr.wait(budget)
        except subprocess.TimeoutExpired:
            note("%s did not stop in %d s: killed" % (self.name(i), budget))
            pr.kill()
            pr.wait()
        LIVE.pop(pr.pid, None)
        save_state()
        self.procs[i] = None

    def stop_all(self):
        for i in range(self.n):
            if self.procs[i] is not None:
                self.procs[i].send_signal(signal.SIGTERM)
        for i in range(self.n):
            if self.procs[i] is not None:
                self.stop(i, signal.SIGTERM, 10)

    def alive_seen(self, i):
        ms = api(self.sock(i), "/v1/members")["members"]
        return sum(1 for m in ms if m["status"] == "alive")

    def digest(self, i):
        return api(self.sock(i), "/v1/mesh")["digest"]

    def counters(self, nodes):
        """Per node: the sync counters, gossip bytes and CPU seconds."""
        out = {}
        for i in nodes:
            s = api(self.sock(i), "/v1/mesh")["sync"]
            g = api(self.sock(i), "/v1/gossip")["net"]
            out[i] = {
                "sessions": s["sessions_ok"] + s["sessions_failed"],
                "sessions_ok": s["sessions_ok"],
                "requests": s["requests_sent"],
                "sync_bytes": s["bytes_sent"] + s["bytes_received"],
                "served_bytes": s["served_bytes_in"] + s["served_bytes_out"],
                "requests_served": s["requests_served"],
                "records_stored": s["records_stored"],
                "in_flight": s["in_flight"],
                "gossip_out": g["bytes_out"],
                "gossip_in": g["bytes_in"],
                "cpu": cpu_s(self.procs[i].pid),
            }
        return out


def diff(a, b, key):
    return sum(b[i][key] - a[i][key] for i in b)


def wait_until(pred, budget, period=0.02):
    """Run pred() until it returns a true value, at most budget s. (value, elapsed)."""
    t0 = time.monotonic()
    while True:
        try:
            v = pred()
        except (OSError, ValueError, KeyError):
            v = None
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 > budget:
            return None, None
        time.sleep(period)


def settle(c, nodes, quiet, budget):
    """Until no sync session started or ran anywhere for `quiet` s (bounded).
    Polls GET /v1/mesh once a second (the sync tick), not to load the agents.
    Returns (counters, monotonic time at which the last activity was seen)."""
    t0 = time.monotonic()
    last, since = None, time.monotonic()
    while time.monotonic() - t0 < budget:
        ss = [api(c.sock(i), "/v1/mesh")["sync"] for i in nodes]
        key = tuple((s["sessions_ok"], s["sessions_failed"], s["requests_served"]) for s in ss)
        if key != last or any(s["in_flight"] for s in ss):
            last, since = key, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return c.counters(nodes), since
        time.sleep(1.0)
    note("counters did not settle in %d s" % budget)
    return c.counters(nodes), since


def all_same(c, nodes, other_than=None):
    ds = [c.digest(i) for i in nodes]
    if len(set(ds)) == 1 and ds[0] != other_than:
        return ds[0]
    return None


def policy(name):
    return "[policy %s]\naction = allow\nfrom = sensor-%s\nto = telemetry\n\n" % (name, name)


def bench(weft, n, args):
    r = {"n": n}
    c = Cluster(weft, n, os.path.join(args.tmp, "n%d" % n), args)
    try:
        # Node 1 first: a join to a port not yet bound is not retried at once.
        t0 = time.monotonic()
        c.spawn(0)
        c.ready(0, time.monotonic() + args.budget)
        for i in range(1, n):
            c.spawn(i)
        for i in range(1, n):
            c.ready(i, time.monotonic() + args.budget)
        ok, el = wait_until(lambda: all(c.alive_seen(i) >= n for i in range(n)),
                            args.budget + n, 0.2)
        if not ok:
            raise SystemExit("mesh: N=%d did not form in %d s" % (n, args.budget + n))
        r["form_s"] = time.monotonic() - t0
        d0, _ = wait_until(lambda: all_same(c, range(n)), args.budget, 0.1)
        if not d0:
            raise SystemExit("mesh: N=%d: the empty tables' digests differ" % n)
        note("N=%d formed in %.1f s; idle window %d s" % (n, r["form_s"], args.idle))
        nodes = list(range(n))
        k0, _ = settle(c, nodes, args.settle, args.budget)
        ta = time.monotonic()
        time.sleep(args.idle)  # a measurement window, not a synchronisation
        k1 = c.counters(nodes)
        idle_s = time.monotonic() - ta
        r["idle_gossip_Bps"] = diff(k0, k1, "gossip_out") / idle_s
        r["idle_sync_bytes"] = diff(k0, k1, "sync_bytes")
        r["idle_cpu_per_s"] = diff(k0, k1, "cpu") / idle_s
        # ---- converge, CHANGES times
        conv, waits, rows = [], [], []
        prev = d0
        for k in range(args.changes):
            f = c.p("change-%d.ini" % k)
            with open(f, "w") as fh:
                fh.write(policy("bench-%d" % k))
            ka = c.counters(nodes)
            t0 = time.monotonic()
            ap = subprocess.Popen([weft, "apply", "--wait", "--timeout", "%ds" % args.budget,
                                   "--admin", c.sock(0), f], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
            t_apply = None
            d, el = None, None
            while time.monotonic() - t0 < args.budget:
                if t_apply is None and ap.poll() is not None:
                    t_apply = time.monotonic() - t0
                try:
                    d = all_same(c, nodes, prev)
                except (OSError, ValueError):
                    d = None
                if d:
                    el = time.monotonic() - t0
                    break
                time.sleep(0.005)
            try:
                out, _ = ap.communicate(timeout=args.budget)
            except subprocess.TimeoutExpired:
                ap.kill()
                out, _ = ap.communicate()
            if t_apply is None:
                t_apply = time.monotonic() - t0
            if ap.returncode != 0:
                note("apply --wait exit %d: %s" % (ap.returncode, out.decode(errors="replace")))
                t_apply = None
            kb, t_quiet = settle(c, nodes, args.settle, args.budget)
            win = time.monotonic() - t0
            row = {
                "converge_s": el, "apply_wait_s": t_apply, "window_s": win,
                "sync_active_s": t_quiet - t0,
                "sync_bytes": diff(ka, kb, "sync_bytes"),
                "served_bytes": diff(ka, kb, "served_bytes"),
                "sessions": diff(ka, kb, "sessions"),
                "sessions_ok": diff(ka, kb, "sessions_ok"),
                "requests": diff(ka, kb, "requests"),
                "records_stored": diff(ka, kb, "records_stored"),
                "gossip_out": diff(ka, kb, "gossip_out"),
                "gossip_net": diff(ka, kb, "gossip_out") - r["idle_gossip_Bps"] * win,
                "cpu": diff(ka, kb, "cpu") - r["idle_cpu_per_s"] * win,
            }
            rows.append(row)
            note("  change %d: converged %s s, apply --wait %s s, %d sessions, %d sync B, "
                 "%d gossip B (%.0f over idle)" % (
                     k, "%.3f" % el if el else "timeout",
                     "%.3f" % t_apply if t_apply else "failed", row["sessions"],
                     row["sync_bytes"], row["gossip_out"], row["gossip_net"]))
            if d:
                prev = d
                conv.append(el)
            if t_apply:
                waits.append(t_apply)
            if not d:
                prev, _ = wait_until(lambda: all_same(c, nodes), args.budget, 0.1)
                if not prev:
                    raise SystemExit("mesh: N=%d: no convergence after change %d" % (n, k))
        r["changes"] = rows
        r["conv"] = conv
        r["apply_wait"] = waits
        r["policy_bytes"] = len(policy("bench-0"))
        # ---- catch-up
        if args.missed > 0:
            v = n - 1
            others = [i for i in range(n) if i != v]
            note("N=%d: %s stopped; %d objects applied at %s" % (n, c.name(v), args.missed,
                                                                 c.name(0)))
            c.stop(v)
            tw = time.monotonic()
            for b0 in range(0, args.missed, 256):
                f = c.p("missed-%d.ini" % b0)
                with open(f, "w") as fh:
                    for j in range(b0, min(b0 + 256, args.missed)):
                        fh.write(policy("missed-%d" % j))
                subprocess.run([weft, "apply", "--admin", c.sock(0), f], check=True,
                               stdout=subprocess.DEVNULL, timeout=args.budget)
            r["missed_apply_s"] = time.monotonic() - tw
            target, el = wait_until(lambda: all_same(c, others), args.budget * 3, 0.05)
            if not target:
                raise SystemExit("mesh: N=%d: the %d others did not converge" % (n, n - 1))
            r["others_converge_s"] = time.monotonic() - tw
            ko, _ = settle(c, others, args.settle, args.budget)
            r["records"] = api(c.sock(0), "/v1/mesh")["records"]
            c.spawn(v)
            t_ready = c.ready(v, time.monotonic() + args.budget) - c.starts[v]
            got, _ = wait_until(lambda: c.digest(v) == target, args.budget * 3, 0.005)
            t_caught = time.monotonic() - c.starts[v]
            r["catchup_ready_s"] = t_ready
            r["catchup_s"] = t_caught if got else None
            kv, _ = settle(c, nodes, args.settle, args.budget)
            ko2 = {i: kv[i] for i in others}
            me = kv[v]
            r["catchup"] = {
                "sessions": me["sessions"], "sessions_ok": me["sessions_ok"],
                "requests": me["requests"], "sync_bytes": me["sync_bytes"],
                "requests_served": me["requests_served"], "served_bytes": me["served_bytes"],
                "records_stored": me["records_stored"],
                "others_sync_bytes": diff(ko, ko2, "sync_bytes"),
                "others_served_bytes": diff(ko, ko2, "served_bytes"),
            }
            note("  caught up in %s s from spawn (ready after %.3f s): %s" % (
                "%.3f" % t_caught if got else "timeout", t_ready, json.dumps(r["catchup"])))
        r["rss_kib"] = [rss_kib(c.procs[i].pid) for i in range(n) if c.procs[i]]
    finally:
        c.stop_all()
    return r


def ms(v):
    return "timeout" if v is None else "%.0f" % (v * 1000)


def report(results, args):
    print("One small change = one new object, `[policy bench-K]` with `action`, `from`, `to`"
          " (%d bytes of INI), applied at node 1 with `weft apply --wait`; %d changes per N,"
          " one after the other, each once the counters of the one before had settled."
          % (results[0]["policy_bytes"], args.changes))
    print()
    print("| N | converge: all N digests equal, p50 (ms) | max (ms) | `apply --wait` returns, p50 (ms) | max (ms) | sync sessions per change | last sync activity after, p50 (s) | sync body bytes per change (all nodes) | per node | gossip bytes sent per change, over idle (all nodes) | idle gossip (B/s, all nodes) | agent CPU per change, all nodes, over idle, poller included (ms) | VmRSS per agent at the end, mean (KiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        rows = r["changes"]
        nch = len(rows)
        conv, waits = r["conv"], r["apply_wait"]
        sb = sum(x["sync_bytes"] for x in rows) / nch
        print("| %d | %s | %s | %s | %s | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            r["n"],
            ms(statistics.median(conv)) if conv else "timeout", ms(max(conv)) if conv else "-",
            ms(statistics.median(waits)) if waits else "failed", ms(max(waits)) if waits else "-",
            sum(x["sessions"] for x in rows) / nch,
            statistics.median(x["sync_active_s"] for x in rows), sb, sb / r["n"],
            sum(x["gossip_net"] for x in rows) / nch, r["idle_gossip_Bps"],
            sum(x["cpu"] for x in rows) / nch * 1000,
            statistics.mean(r["rss_kib"]) if r["rss_kib"] else 0))
    print()
    print("Convergence timeouts: %s. Responder-side body bytes (cross-check, should equal"
          " the initiators'): %s." % (
              ", ".join("N=%d: %d of %d" % (r["n"], args.changes - len(r["conv"]), args.changes)
                        for r in results),
              ", ".join("N=%d: %.0f" % (r["n"], sum(x["served_bytes"] for x in r["changes"]) /
                                        len(r["changes"])) for r in results)))
    if args.missed <= 0:
        return
    print()
    print("Catch-up: node N stopped (TERM), %d objects applied at node 1 in files of at most"
          " 256, the N - 1 others converged; node N restarted on its data dir." % args.missed)
    print()
    print("| N | records in the table | apply of the %d (s) | others converged after (s) | restarted node: ready (ms) | holds everything (ms from spawn) | its sync sessions | requests it sent | body bytes it sent + received | requests it served | body bytes served (in + out) | records it stored |" % args.missed)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        cu = r.get("catchup")
        if not cu:
            continue
        print("| %d | %d | %.2f | %.2f | %s | %s | %d | %d | %d | %d | %d | %d |" % (
            r["n"], r["records"], r["missed_apply_s"], r["others_converge_s"],
            ms(r["catchup_ready_s"]), ms(r["catchup_s"]), cu["sessions"], cu["requests"],
            cu["sync_bytes"], cu["requests_served"], cu["served_bytes"], cu["records_stored"]))


def main():
    global STATE_FILE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weft", required=True)
    ap.add_argument("-n", default="10,50", help="comma list of cluster sizes (default 10,50)")
    ap.add_argument("--changes", type=int, default=10, help="changes per N (default 10)")
    ap.add_argument("--missed", type=int, default=1000,
                    help="objects a stopped node misses (default 1000; 0: no catch-up)")
    ap.add_argument("--idle", type=float, default=10, help="idle window, s (default 10)")
    ap.add_argument("--settle", type=float, default=3,
                    help="counters unchanged this long = settled, s (default 3)")
    ap.add_argument("--budget", type=float, default=60, help="bound of every wait, s")
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--state", help="file listing agent pids (for the caller's trap)")
    ap.add_argument("--json", help="also write every number here")
    args = ap.parse_args()
    sizes = [int(x) for x in args.n.split(",") if x]
    STATE_FILE = args.state

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    results = []
    try:
        for n in sizes:
            note("N=%d: starting %d agents" % (n, n))
            r = bench(args.weft, n, args)
            r["load1"] = os.getloadavg()[0]
            results.append(r)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(results, f, indent=1)
        report(results, args)
    finally:
        for pr in list(LIVE.values()):
            try:
                pr.kill()
                pr.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        LIVE.clear()
        save_state()


if __name__ == "__main__":
    main()
