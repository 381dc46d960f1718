#!/usr/bin/env python3
"""tools/bench/gossip.py: weft's gossip side by side with serf, real processes.

Run through tools/bench/gossip.sh (root: network namespaces, iptables);
`gossip.py --help` lists the options.

For every N and loss level, and every implementation (weft with the lan
profile, serf with its default LAN profile, and at loss > 0 weft with the
lossy profile), one cluster of N real agents, each in its own network
namespace (<prefix>-1..N, eth0 = 10.78.x.y/16 on a bridge in <prefix>-0;
the addresses exist only inside the namespaces). Clusters run one at a time,
never together. Per cluster:

  converge  all N started at once, each joining node 1; time until every
            node lists N alive (not at loss: loss is applied afterwards)
  window    loss on (iptables statistic match, or tc netem when the kernel
            has it, on every node's eth0 egress); for --window seconds every
            node is polled: false failures = (observer, member) pairs where
            a live member was listed failed; bytes and packets per node per
            second from eth0's counters (/proc/PID/net/dev); CPU ms per node
            per second (utime+stime); refutations (weft: GET /v1/gossip
            counters, serf: its WARN log); VmRSS per node at the end
  join      one more agent joins node 1: time from its spawn until every
            node (it included) lists it alive
  kill      kill -9 of node 2: time until every other node lists it failed
            (weft reaps failed members after GossipToTheDeadTime, 30 s: a
            member that was failed and is gone counts as seen failed)

Membership is read through the same APIs the CLIs use, without starting a
CLI per poll (100 `serf members` per round would dominate 2 cores): weft's
admin API (GET /v1/members over the unix socket: what `weft members --json`
prints) and serf's RPC (the msgpack `members` command over a TCP connection
opened inside the agent's namespace: what `serf members -format=json`
prints). After convergence one `weft members --json` / `serf members
-format=json` per cluster checks that the CLI agrees.

Prints markdown on stdout; --json FILE writes every number.
"""

import argparse
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)
ROOT_NS = os.open("/proc/self/ns/net", os.O_RDONLY)
PORT = 7946
SERF_RPC = 7373
LIVE = []  # Popen of every agent not yet reaped
NAMESPACES = []
STATE_FILE = None  # namespaces and pids, for gossip.sh's trap


def note(msg):
    print("gossip: " + msg, file=sys.stderr, flush=True)


def save_state():
    if STATE_FILE:
        with open(STATE_FILE + ".tmp", "w") as f:
            for ns in NAMESPACES:
                f.write("ns %s\n" % ns)
            for p in LIVE:
                f.write("pid %d\n" % p.pid)
        os.replace(STATE_FILE + ".tmp", STATE_FILE)


def setns(fd):
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def enter(ns):
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        setns(fd)
    finally:
        os.close(fd)


def run(*cmd, ns=None, check=True, quiet=False):
    full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
    r = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(full), r.stderr.strip()))
    return r


def no_ipv6(ns):
    """IPv6 off in NS before its interfaces exist: no router solicitations,
    DAD or MLD reports, whose multicast every bridge port would count."""
    enter(ns)
    try:
        for k in ("all", "default"):
            with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % k, "w") as f:
                f.write("1\n")
    finally:
        setns(ROOT_NS)


GC_THRESH = "/proc/sys/net/ipv4/neigh/default/gc_thresh%d"


def neigh_room(nodes):
    """The ARP table's limits are one for all namespaces (default 1024
    entries; N namespaces that all talk to each other need N^2): raise
    gc_thresh2/3 for the run (the kernel logs "neighbor table overflow" and
    drops packets otherwise). Returns the old values for neigh_restore."""
    old = {}
    want = {2: 2 * nodes * nodes + 1024, 3: 4 * nodes * nodes + 2048}
    for k, v in want.items():
        with open(GC_THRESH % k) as f:
            old[k] = int(f.read())
        if v > old[k]:
            with open(GC_THRESH % k, "w") as f:
                f.write("%d\n" % v)
    note("neighbour table: gc_thresh2/3 %s (were %s)" % ([max(want[k], old[k]) for k in (2, 3)],
                                                         [old[2], old[3]]))
    return old


def neigh_restore(old):
    for k in (2, 3):
        with open(GC_THRESH % k, "w") as f:
            f.write("%d\n" % old[k])


def batch(ns, lines):
    """`ip -n NS -batch -` with these lines."""
    r = subprocess.run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n", text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("ip -n %s -batch: %s" % (ns, r.stderr.strip()))


# ---------------------------------------------------------------- msgpack
# The subset serf's RPC needs: encode maps of str -> str/int; decode all.


def mp_enc(v):
    if isinstance(v, dict):
        out = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xde" + struct.pack(">H", len(v))
        for k, x in v.items():
            out += mp_enc(k) + mp_enc(x)
        return out
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int) and 0 <= v < 128:
        return bytes([v])
    if isinstance(v, int) and v >= 0:
        return b"\xcf" + struct.pack(">Q", v)
    raise ValueError("mp_enc: %r" % (v,))


class MpReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def take(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("serf rpc: connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def obj(self):
        t = self.take(1)[0]
        if t < 0x80:
            return t
        if t >= 0xE0:
            return t - 256
        if 0x80 <= t <= 0x8F:
            return self.map(t & 0x0F)
        if 0x90 <= t <= 0x9F:
            return [self.obj() for _ in range(t & 0x0F)]
        if 0xA0 <= t <= 0xBF:
            return self.take(t & 0x1F)
        fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
        if t in fixed:
            f = fixed[t]
            return struct.unpack(f, self.take(struct.calcsize(f)))[0]
        if t == 0xC0:
            return None
        if t in (0xC2, 0xC3):
            return t == 0xC3
        lens = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}
        if t in lens:
            f = lens[t]
            return self.take(struct.unpack(f, self.take(struct.calcsize(f)))[0])
        if t in (0xDC, 0xDD):
            n = struct.unpack(">H" if t == 0xDC else ">I", self.take(2 if t == 0xDC else 4))[0]
            return [self.obj() for _ in range(n)]
        if t in (0xDE, 0xDF):
            n = struct.unpack(">H" if t == 0xDE else ">I", self.take(2 if t == 0xDE else 4))[0]
            return self.map(n)
        raise ValueError("msgpack type 0x%02x" % t)

    def map(self, n):
        out = {}
        for _ in range(n):
            k = self.obj()
            out[k.decode() if isinstance(k, bytes) else k] = self.obj()
        return out


class SerfRPC:
    """One RPC connection to a serf agent, opened inside its namespace."""

    def __init__(self, ns, timeout):
        enter(ns)
        try:
            self.sock = socket.create_connection(("127.0.0.1", SERF_RPC), timeout=timeout)
        finally:
            setns(ROOT_NS)
        self.rd = MpReader(self.sock)
        self.seq = 0
        self.call("handshake", {"Version": 1}, body=False)

    def call(self, cmd, req=None, body=True):
        self.seq += 1
        msg = mp_enc({"Command": cmd, "Seq": self.seq})
        if req is not None:
            msg += mp_enc(req)
        self.sock.sendall(msg)
        hdr = self.rd.obj()
        err = hdr.get("Error")
        if err:
            raise RuntimeError("serf rpc %s: %s" % (cmd, err.decode() if isinstance(err, bytes) else err))
        return self.rd.obj() if body else None

    def members(self):
        out = {}
        for m in self.call("members")["Members"]:
            out[m["Name"].decode()] = m["Status"].decode()
        return out

    def close(self):
        self.sock.close()


def weft_get(sock_path, path, timeout):
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
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


def weft_members(sock_path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(b"GET /v1/members HTTP/1.1\r\nHost: weft\r\nConnection: close\r\n\r\n")
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        s.close()
    body = raw.split(b"\r\n\r\n", 1)[1]
    return {m["name"]: m["status"] for m in json.loads(body)["members"]}


# ---------------------------------------------------------------- network


class Net:
    """<prefix>-0 holds bridge br0; node i lives in <prefix>-i."""

    def __init__(self, prefix, nodes):
        self.prefix = prefix
        self.made = 0
        self.how = None
        self.loss_on = False
        self.bridge = prefix + "-0"
        run("ip", "netns", "add", self.bridge)
        NAMESPACES.append(self.bridge)
        save_state()
        no_ipv6(self.bridge)
        run("ip", "-n", self.bridge, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.bridge, "link", "set", "br0", "up")
        self.grow(nodes)

    def ns(self, i):
        return "%s-%d" % (self.prefix, i)

    @staticmethod
    def addr(i):
        return "10.78.%d.%d" % (i // 250, i % 250 + 1)

    def grow(self, nodes):
        new = range(self.made + 1, nodes + 1)
        bridge = []
        for i in new:
            ns = self.ns(i)
            run("ip", "netns", "add", ns)
            NAMESPACES.append(ns)
            save_state()
            no_ipv6(ns)
            bridge += ["link add p%d type veth peer name eth0 netns %s" % (i, ns),
                       "link set p%d master br0 up" % i]
        if bridge:
            batch(self.bridge, bridge)
        for i in new:
            ns = self.ns(i)
            batch(ns, ["addr add %s/16 dev eth0" % self.addr(i), "link set eth0 up", "link set lo up"])
            r = subprocess.run(["ip", "netns", "exec", ns, "iptables-restore", "--noflush"], text=True,
                               input="*filter\n:WEFTLOSS - [0:0]\n-A OUTPUT -o eth0 -j WEFTLOSS\nCOMMIT\n",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode != 0:
                raise RuntimeError("iptables-restore in %s: %s" % (ns, r.stderr.strip()))
        self.made = max(self.made, nodes)

    def loss(self, pct, nodes):
        """pct % loss on the egress of eth0 of nodes 1..nodes (0: none)."""
        for i in range(1, self.made + 1):
            ns = self.ns(i)
            if self.how == "netem":
                run("tc", "qdisc", "del", "dev", "eth0", "root", ns=ns, check=False)
            run("iptables", "-F", "WEFTLOSS", ns=ns)
        self.loss_on = False
        if pct <= 0:
            return
        if self.how is None:
            r = run("tc", "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "1%",
                    ns=self.ns(1), check=False)
            self.how = "netem" if r.returncode == 0 else "iptables"
            run("tc", "qdisc", "del", "dev", "eth0", "root", ns=self.ns(1), check=False)
            note("loss through " + self.how)
        for i in range(1, nodes + 1):
            ns = self.ns(i)
            if self.how == "netem":
                run("tc", "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "%g%%" % pct, ns=ns)
            else:
                run("iptables", "-A", "WEFTLOSS", "-m", "statistic", "--mode", "random",
                    "--probability", "%.4f" % (pct / 100.0), "-j", "DROP", ns=ns)
        self.loss_on = True

    def destroy(self):
        for ns in list(NAMESPACES):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
            NAMESPACES.remove(ns)
        save_state()


# ---------------------------------------------------------------- agents


def proc_stat(pid):
    """(utime+stime seconds, VmRSS kB, eth0 rx bytes, eth0 tx bytes, eth0 tx packets)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    rx = tx = txp = 0
    with open("/proc/%d/net/dev" % pid) as f:
        for line in f:
            if line.strip().startswith("eth0:"):
                v = line.split(":", 1)[1].split()
                rx, tx, txp = int(v[0]), int(v[8]), int(v[9])
    return cpu, rss, rx, tx, txp


class Cluster:
    def __init__(self, kind, profile, net, tmp, args):
        self.kind = kind  # "weft" or "serf"
        self.profile = profile
        self.net = net
        self.tmp = tmp
        self.args = args
        self.procs = {}  # i -> Popen
        self.rpc = {}  # i -> SerfRPC (serf)

    def name(self, i):
        return "%s%d" % ("w" if self.kind == "weft" else "s", i)

    def spawn(self, i):
        ns = self.net.ns(i)
        d = os.path.join(self.tmp, self.name(i))
        os.makedirs(d, exist_ok=True)
        join = self.net.addr(1) + ":%d" % PORT
        if self.kind == "weft":
            with open(os.path.join(d, "weft.ini"), "w") as f:
                f.write("[node]\nname = %s\ndata_dir = %s\n\n[admin]\nsocket = %s/admin.sock\n\n"
                        "[gossip]\nenabled = true\nbind = %s:%d\nprofile = %s\n%s"
                        % (self.name(i), d, d, self.net.addr(i), PORT, self.profile,
                           "" if i == 1 else "join = %s\n" % join))
            cmd = [self.args.weft, "agent", "-c", os.path.join(d, "weft.ini")]
        else:
            cmd = [self.args.serf, "agent", "-node=" + self.name(i),
                   "-bind=%s:%d" % (self.net.addr(i), PORT),
                   "-rpc-addr=127.0.0.1:%d" % SERF_RPC, "-profile=" + self.profile,
                   "-log-level=warn"]
            if i != 1:
                cmd.append("-join=" + join)
        fd = os.open("/run/netns/" + ns, os.O_RDONLY)
        log = open(os.path.join(d, "log"), "w")
        try:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 preexec_fn=lambda: setns(fd))
        finally:
            os.close(fd)
            log.close()
        self.procs[i] = p
        LIVE.append(p)
        save_state()
        return p

    def ready(self, i, deadline):
        """Until node i answers its API (bounded)."""
        while time.monotonic() < deadline:
            if self.procs[i].poll() is not None:
                raise RuntimeError("%s exited (%s); log in %s" % (self.name(i), self.procs[i].returncode,
                                                                  os.path.join(self.tmp, self.name(i))))
            try:
                self.members(i)
                return
            except (OSError, ConnectionError, ValueError, IndexError, RuntimeError):
                self.rpc.pop(i, None)
                time.sleep(0.05)
        raise RuntimeError("%s did not answer in time" % self.name(i))

    def members(self, i):
        t = self.args.timeout
        if self.kind == "weft":
            return weft_members(os.path.join(self.tmp, self.name(i), "admin.sock"), t)
        if i not in self.rpc:
            self.rpc[i] = SerfRPC(self.net.ns(i), t)
        try:
            return self.rpc[i].members()
        except (OSError, ConnectionError):
            self.rpc.pop(i).close()
            raise

    def snapshot(self, nodes):
        out = {}
        for i in nodes:
            try:
                out[i] = self.members(i)
            except (OSError, ConnectionError, ValueError, IndexError, RuntimeError):
                out[i] = None
        return out

    def counters(self, nodes):
        """Summed over nodes: weft's SWIM counters (GET /v1/gossip, when the
        agent has it), or for serf the refutations it logs at WARN."""
        tot = {}
        for i in nodes:
            d = os.path.join(self.tmp, self.name(i))
            if self.kind == "weft":
                try:
                    g = weft_get(os.path.join(d, "admin.sock"), "/v1/gossip", self.args.timeout)
                except (OSError, ValueError, IndexError):
                    continue
                for k in ("probes", "indirect_probes", "suspects", "refutes", "gossip_packets", "push_pulls"):
                    v = g.get("swim", {}).get(k)
                    if isinstance(v, int):
                        tot[k] = tot.get(k, 0) + v
            else:
                with open(os.path.join(d, "log"), errors="replace") as f:
                    n = sum(1 for line in f if "Refuting a suspect message" in line)
                tot["refutes"] = tot.get("refutes", 0) + n
        return tot

    def kill(self, i):
        p = self.procs.pop(i)
        p.send_signal(signal.SIGKILL)
        p.wait()
        LIVE.remove(p)
        if i in self.rpc:
            self.rpc.pop(i).close()
        save_state()

    def stop(self):
        for i in list(self.procs):
            self.kill(i)

    def cli_check(self, i, n):
        """One CLI call (`weft members --json` / `serf members -format=json`): n alive?"""
        if self.kind == "weft":
            cmd = [self.args.weft, "members", "--json", "--admin",
                   os.path.join(self.tmp, self.name(i), "admin.sock")]
            key, st = "name", "status"
        else:
            cmd = ["ip", "netns", "exec", self.net.ns(i), self.args.serf, "members",
                   "-format=json", "-rpc-addr=127.0.0.1:%d" % SERF_RPC]
            key, st = "name", "status"
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        if r.returncode != 0:
            return False
        ms = json.loads(r.stdout)["members"]
        return sum(1 for m in ms if m[st] == "alive") == n and len({m[key] for m in ms}) >= n


def wait_until(cluster, nodes, pred, budget, period=0.0):
    """Poll nodes until pred(snapshot) holds; seconds taken, or None at budget."""
    t0 = time.monotonic()
    while True:
        snap = cluster.snapshot(nodes)
        now = time.monotonic()
        if pred(snap):
            return now - t0
        if now - t0 > budget:
            return None
        if period:
            time.sleep(period)


def all_see(snap, name, statuses, absent_ok=False):
    for v in snap.values():
        if v is None:
            return False
        st = v.get(name)
        if st is None and absent_ok:
            continue
        if st not in statuses:
            return False
    return True


def run_cluster(kind, profile, n, loss, net, tmp, args):
    res = {"impl": "%s-%s" % (kind, profile), "n": n, "loss": loss}
    c = Cluster(kind, profile, net, tmp, args)
    nodes = list(range(1, n + 1))
    net.loss(0, 0)
    try:
        t0 = time.monotonic()
        c.spawn(1)
        c.ready(1, t0 + 30)
        for i in nodes[1:]:
            c.spawn(i)
        for i in nodes[1:]:
            c.ready(i, time.monotonic() + 30)
        full = lambda s: all(v is not None and sum(1 for x in v.values() if x == "alive") == n
                             for v in s.values())
        took = wait_until(c, nodes, full, args.budget + n, period=0.1)
        res["converge_s"] = None if took is None else time.monotonic() - t0
        if took is None:
            snap = c.snapshot(nodes)
            counts = sorted((sum(1 for x in v.values() if x == "alive") if v is not None else -1)
                            for v in snap.values())
            note("%s N=%d: no convergence in %d s (alive counts per node: %s); skipping the rest"
                 % (res["impl"], n, args.budget + n, counts))
            return res
        res["cli_agrees"] = c.cli_check(1, n)

        # --- the window: loss on, false failures, bytes, cpu, rss
        net.loss(loss, n)
        pids = {i: c.procs[i].pid for i in nodes}
        before = {i: proc_stat(pids[i]) for i in nodes}
        ctr0 = c.counters(nodes)
        t0 = time.monotonic()
        false_pairs, false_members, rounds = set(), set(), 0
        names = {c.name(i) for i in nodes}
        while time.monotonic() - t0 < args.window:
            snap = c.snapshot(nodes)
            rounds += 1
            for i, v in snap.items():
                for name, st in (v or {}).items():
                    if st == "failed" and name in names:
                        false_pairs.add((c.name(i), name))
                        false_members.add(name)
            time.sleep(args.period)
        dt = time.monotonic() - t0
        after = {i: proc_stat(pids[i]) for i in nodes}
        ctr1 = c.counters(nodes)
        res["counters_per_node_s"] = {k: (ctr1[k] - ctr0.get(k, 0)) / n / dt for k in ctr1}
        res["window_s"] = dt
        res["window_rounds"] = rounds
        res["false_pairs"] = len(false_pairs)
        res["false_members"] = len(false_members)
        res["tx_Bps"] = sum(after[i][3] - before[i][3] for i in nodes) / n / dt
        res["rx_Bps"] = sum(after[i][2] - before[i][2] for i in nodes) / n / dt
        res["tx_pps"] = sum(after[i][4] - before[i][4] for i in nodes) / n / dt
        res["cpu_ms_s"] = sum(after[i][0] - before[i][0] for i in nodes) / n / dt * 1000
        rss = [after[i][1] for i in nodes]
        res["rss_kb_mean"] = sum(rss) / n
        res["rss_kb_max"] = max(rss)
        if "refutes" in res["counters_per_node_s"]:
            res["refutes_min"] = res["counters_per_node_s"]["refutes"] * 60

        # --- join: one more node, under the same loss
        j = n + 1
        net.grow(j)
        net.loss(loss, j)
        t0 = time.monotonic()
        c.spawn(j)
        c.ready(j, t0 + 30)
        took = wait_until(c, nodes + [j], lambda s: all_see(s, c.name(j), ("alive",)), args.budget)
        res["join_s"] = None if took is None else time.monotonic() - t0

        # --- kill -9 of node 2
        victim = 2
        rest = [i for i in nodes + [j] if i != victim]
        t0 = time.monotonic()
        c.kill(victim)
        took = wait_until(c, rest, lambda s: all_see(s, c.name(victim), ("failed",), absent_ok=True),
                          args.budget)
        res["kill_s"] = None if took is None else time.monotonic() - t0
        return res
    finally:
        c.stop()
        for r in c.rpc.values():
            r.close()
        net.loss(0, 0)


# ---------------------------------------------------------------- report


def fmt(v, unit=""):
    if v is None:
        return "timeout"
    if isinstance(v, float):
        return ("%.2f" % v if v < 10 else "%.1f" % v if v < 100 else "%.0f" % v) + unit
    return "%s%s" % (v, unit)


def ratio(a, b):
    if a is None or b is None:
        return "n/a"
    if b == 0:
        return "n/a" if a else "="
    r = a / b
    return "%.3f" % r if r < 0.1 else "%.2f" % r


ROWS = [
    ("converge_s", "converge, all N start, no loss yet (s)", 1),
    ("join_s", "join seen by all (s)", 1),
    ("kill_s", "kill -9 seen failed by all (s)", 1),
    ("false_pairs", "false failures (observer, member) in window", 1),
    ("false_members", "live members ever listed failed", 1),
    ("tx_Bps", "sent B/s per node", 1),
    ("tx_pps", "sent packets/s per node", 1),
    ("rx_Bps", "received B/s per node (+ flooded ARP)", 1),
    ("cpu_ms_s", "CPU ms/s per node", 1),
    ("refutes_min", "refutations per node per minute", 1),
    ("rss_kb_mean", "VmRSS per node, mean (KiB)", 1),
    ("rss_kb_max", "VmRSS per node, max (KiB)", 1),
]


def report(results, args):
    print("| N | loss | metric | weft lan | weft lossy | serf lan | lan / serf | lossy / serf |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.n:
        for loss in args.loss:
            got = {r["impl"]: r for r in results if r["n"] == n and r["loss"] == loss}
            if not got:
                continue
            for key, label, _ in ROWS:
                vals = {k: got[k].get(key) if k in got else None for k in ("weft-lan", "weft-lossy", "serf-lan")}
                has = {k: k in got and key in got[k] for k in vals}
                cell = lambda k: fmt(vals[k]) if has[k] else "–"
                print("| %d | %g %% | %s | %s | %s | %s | %s | %s |" % (
                    n, loss, label, cell("weft-lan"), cell("weft-lossy"), cell("serf-lan"),
                    ratio(vals["weft-lan"], vals["serf-lan"]) if has["weft-lan"] and has["serf-lan"] else "–",
                    ratio(vals["weft-lossy"], vals["serf-lan"]) if has["weft-lossy"] and has["serf-lan"] else "–"))
    notes = sorted({"%s N=%d loss %g%%: CLI %s" % (r["impl"], r["n"], r["loss"],
                                                   "agrees" if r.get("cli_agrees") else "DISAGREES")
                    for r in results if "cli_agrees" in r and not r["cli_agrees"]})
    for s in notes:
        print("\n- " + s)


def main():
    global STATE_FILE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weft", required=True)
    ap.add_argument("--serf", default=shutil.which("serf") or "/usr/bin/serf")
    ap.add_argument("-n", default="10", help="comma list of cluster sizes (default 10)")
    ap.add_argument("--loss", default="0,10,25", help="comma list of loss %% (default 0,10,25)")
    ap.add_argument("--impl", default="weft-lan,weft-lossy,serf-lan",
                    help="comma list of weft-lan, weft-lossy, serf-lan (weft-lossy only at loss > 0)")
    ap.add_argument("--window", type=float, default=60, help="false-failure window, s (default 60)")
    ap.add_argument("--period", type=float, default=0.5, help="pause between window polls, s")
    ap.add_argument("--budget", type=float, default=90, help="bound of every wait, s (default 90)")
    ap.add_argument("--timeout", type=float, default=5, help="one API call, s")
    ap.add_argument("--prefix", default="gb%d" % os.getpid())
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--state", help="file listing namespaces and pids (for the caller's trap)")
    ap.add_argument("--json", help="also write every number here")
    args = ap.parse_args()
    args.n = [int(x) for x in args.n.split(",") if x]
    args.loss = [float(x) for x in args.loss.split(",") if x]
    impls = [x for x in args.impl.split(",") if x]
    STATE_FILE = args.state
    if os.geteuid() != 0:
        sys.exit("gossip: needs root (network namespaces, iptables)")

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    random.seed(1)
    results = []
    net = None
    gc_old = neigh_room(max(args.n) + 1)
    try:
        net = Net(args.prefix, max(args.n) + 1)
        for n in args.n:
            for loss in args.loss:
                for impl in impls:
                    kind, profile = impl.split("-", 1)
                    if profile == "lossy" and loss == 0:
                        continue
                    note("%s N=%d loss %g%% ..." % (impl, n, loss))
                    tmp = os.path.join(args.tmp, "%s-%d-%g" % (impl, n, loss))
                    r = run_cluster(kind, profile, n, loss, net, tmp, args)
                    r["load1"] = os.getloadavg()[0]
                    note("  " + json.dumps(r))
                    results.append(r)
                    if args.json:
                        with open(args.json, "w") as f:
                            json.dump({"loss_via": net.how, "results": results}, f, indent=1)
        print("Loss applied with: %s (on every node's eth0 egress)\n" % (net.how or "none"))
        report(results, args)
    finally:
        for p in list(LIVE):
            try:
                p.kill()
                p.wait()
            except OSError:
                pass
            LIVE.remove(p)
        if net:
            net.destroy()
        neigh_restore(gc_old)


if __name__ == "__main__":
    main()
