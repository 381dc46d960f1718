#!/usr/bin/env python3
"""tools/bench/startup.py: start-to-ready time and idle memory, weft and peers.

Run through tools/bench/startup.sh (which installs the peers, makes the temp
dir and cleans up); `startup.py --help` lists the options.

One process (this one) takes a monotonic timestamp, forks and execs the
program under test, and takes a second timestamp when the program is ready:

  notify  the program sends a datagram holding the line READY=1 to the unix
          datagram socket named by $NOTIFY_SOCKET, which this process has
          bound (sd_notify(3) protocol: weft, haproxy -Ws, the floor program);
  tcp     a TCP connect() to the program's port on 127.0.0.1 succeeds,
          retried every 0.5 ms (serf: its RPC port, which serf opens last).

Then it lets the program idle for --idle seconds and reads /proc: VmRSS and
VmHWM of the started process, and Pss/Rss summed over it and its descendants
(haproxy's master plus worker), on-CPU time of all their threads
(/proc/PID/task/TID/schedstat) and thread count. Then an untimed check that
the program answers (weft status, serf members, an HTTP request to haproxy),
then SIGTERM, a wait, and SIGKILL to the process group of anything left.

Rounds are interleaved (every target once per round, same order) so drift
in the machine hits all targets alike; the first --warmup rounds are thrown
away. Prints markdown; --json writes every sample.
"""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from free_port import free_ports  # noqa: E402  (tools/free_port.py)

LIVE_PGIDS = set()  # process groups (one per started program) not yet reaped
PGID_FILE = None  # mirrored here so startup.sh's trap can kill them if we die
USED_PORTS = set()


def note(msg):
    print("startup: " + msg, file=sys.stderr, flush=True)


def save_pgids():
    if PGID_FILE:
        with open(PGID_FILE + ".tmp", "w") as f:
            f.write("".join("%d\n" % p for p in sorted(LIVE_PGIDS)))
        os.replace(PGID_FILE + ".tmp", PGID_FILE)


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def free_port(udp_too=False):
    """A port free on 127.0.0.1 (TCP and UDP), not used before in this run."""
    (port,) = free_ports(1, "127.0.0.1", USED_PORTS)
    USED_PORTS.add(port)
    return port


# ---------------------------------------------------------------- /proc


def read_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def cpu_pressure_us():
    """'some' CPU stall total from PSI (/proc/pressure/cpu), us; None without PSI."""
    try:
        with open("/proc/pressure/cpu") as f:
            for line in f:
                if line.startswith("some "):
                    return int(line.split("total=")[1])
    except (OSError, IndexError, ValueError):
        pass
    return None


def kib(field):
    # "1234 kB" -> 1234
    try:
        return int(field.split()[0])
    except (AttributeError, IndexError, ValueError):
        return None


def descendants(pid):
    """pid and all its live descendants (scan of /proc/*/stat)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def smaps_rollup(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    out[k] = kib(v)
    except OSError:
        pass
    return out


def cpu_ns(pid):
    """On-CPU time of all live threads of pid, ns (schedstat; falls back to ticks)."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    s = f.read()
                fields = s[s.rfind(")") + 2 :].split()
                hz = os.sysconf("SC_CLK_TCK")
                total += (int(fields[11]) + int(fields[12])) * 1_000_000_000 // hz
            except (OSError, ValueError, IndexError):
                pass
    return total


def sample(pid):
    st = read_status(pid)
    procs = descendants(pid)
    pss = rss = anon = cpu = threads = 0
    for p in procs:
        r = smaps_rollup(p)
        pss += r.get("Pss", 0) or 0
        rss += r.get("Rss", 0) or 0
        anon += r.get("Anonymous", 0) or 0
        cpu += cpu_ns(p)
        try:
            threads += int(read_status(p).get("Threads", "0"))
        except ValueError:
            pass
    return {
        "vmrss_kib": kib(st.get("VmRSS")),
        "vmhwm_kib": kib(st.get("VmHWM")),
        "tree_pss_kib": pss,
        "tree_rss_kib": rss,
        "tree_anon_kib": anon,
        "tree_file_kib": rss - anon,
        "procs": len(procs),
        "threads": threads,
        "cpu_ms": cpu / 1e6,
    }


# ---------------------------------------------------------------- targets


class Target:
    """One program under test. prepare() returns (argv, env, ready) for a run dir."""

    name = "?"
    label = "?"
    ready_how = "?"

    def prime(self, rundir):
        return False  # True: start and stop once untimed before the timed start

    def check(self, rundir):
        return True  # untimed: does it answer?


class Weft(Target):
    ready_how = "READY=1 on $NOTIFY_SOCKET"

    def __init__(self, binary, existing):
        self.binary = binary
        self.existing = existing
        self.name = "weft-existing" if existing else "weft-fresh"
        self.label = "weft agent, existing data dir (second start)" if existing else "weft agent, fresh data dir"

    def config(self, rundir):
        cfg = os.path.join(rundir, "weft.ini")
        if not os.path.exists(cfg):
            with open(cfg, "w") as f:
                f.write(
                    "[node]\nname = bench\ndata_dir = %s\n\n[admin]\nsocket = %s\n"
                    % (os.path.join(rundir, "data"), os.path.join(rundir, "admin.sock"))
                )
        return cfg

    def prepare(self, rundir):
        return [self.binary, "agent", "-c", self.config(rundir)], {}, ("notify", None)

    def prime(self, rundir):
        return self.existing

    def check(self, rundir):
        r = subprocess.run(
            [self.binary, "status", "--admin", os.path.join(rundir, "admin.sock")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
        )
        return r.returncode == 0


class Haproxy(Target):
    name = "haproxy"
    ready_how = "READY=1 on $NOTIFY_SOCKET (-Ws: sent by the master once it has forked the worker and re-executed itself)"

    def __init__(self, binary, lean=False):
        self.binary = binary
        self.lean = lean
        if lean:
            self.name = "haproxy-lean"
            self.label = "haproxy -Ws, 1 frontend, nbthread 1, httpclient.ssl.verify none"
        else:
            self.label = "haproxy -Ws (master-worker), 1 frontend"

    def prepare(self, rundir):
        self.port = free_port()
        cfg = os.path.join(rundir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(
                "global\n"
                "    maxconn 1024\n"
                "%s"
                "defaults\n"
                "    mode http\n"
                "    timeout connect 1s\n"
                "    timeout client 5s\n"
                "    timeout server 5s\n"
                "frontend bench\n"
                "    bind 127.0.0.1:%d\n"
                "    http-request return status 200\n"
                % (LEAN_GLOBAL if self.lean else "", self.port)
            )
        return [self.binary, "-Ws", "-f", cfg], {}, ("notify", None)

    def check(self, rundir):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.")
        except OSError:
            return False


# haproxy 2.6 loads the whole system CA store (/usr/lib/ssl/certs, ~150 files)
# at start for its internal HTTP client unless told not to verify; that is
# most of its start-up CPU. nbthread 1: one thread, like weft.
LEAN_GLOBAL = "    nbthread 1\n    httpclient.ssl.verify none\n"


class Serf(Target):
    ready_how = "TCP connect to its RPC port succeeds (serf opens it last)"

    def __init__(self, binary, snapshot=False):
        self.binary = binary
        self.snapshot = snapshot
        if snapshot:
            self.name = "serf-snapshot"
            self.label = "serf agent, loopback, second start with -snapshot"
        else:
            self.name = "serf"
            self.label = "serf agent, loopback bind + RPC"
        self.ports = {}

    def prepare(self, rundir):
        # A second start (snapshot) reuses the node name and ports of the first.
        if rundir not in self.ports:
            self.ports = {rundir: (free_port(udp_too=True), free_port())}
        self.bind, self.rpc = self.ports[rundir]
        argv = [
            self.binary,
            "agent",
            "-node=bench-%s" % os.path.basename(rundir),
            "-bind=127.0.0.1:%d" % self.bind,
            "-rpc-addr=127.0.0.1:%d" % self.rpc,
        ]
        if self.snapshot:
            argv.append("-snapshot=%s" % os.path.join(rundir, "serf.snapshot"))
        return argv, {}, ("tcp", self.rpc)

    def prime(self, rundir):
        return self.snapshot

    def check(self, rundir):
        r = subprocess.run(
            [self.binary, "members", "-rpc-addr=127.0.0.1:%d" % self.rpc],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=10,
        )
        return r.returncode == 0 and b"alive" in r.stdout


class Floor(Target):
    """A static C program that sends READY=1 first thing: the harness's own floor."""

    name = "floor"
    label = "floor: static C, sends READY=1 at once"
    ready_how = "READY=1 on $NOTIFY_SOCKET"

    def __init__(self, binary):
        self.binary = binary

    def prepare(self, rundir):
        return [self.binary], {}, ("notify", None)


FLOOR_C = r"""
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static void on_term(int s) { (void)s; _exit(0); }
int main(void) {
    const char *p = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    int fd;
    signal(SIGTERM, on_term);
    if (!p || strlen(p) >= sizeof(sa.sun_path)) return 1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, p);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p)));
    close(fd);
    for (;;) pause();
}
"""


def build_floor(tmp):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    src, out = os.path.join(tmp, "floor.c"), os.path.join(tmp, "floor")
    with open(src, "w") as f:
        f.write(FLOOR_C)
    r = subprocess.run([cc, "-O2", "-static", "-s", "-o", out, src], capture_output=True, timeout=120)
    if r.returncode != 0:
        note("floor program not built (%s): no floor row" % r.stderr.decode(errors="replace").strip()[:200])
        return None
    return out


# ---------------------------------------------------------------- one run


def wait_ready(proc, how, sock, port, deadline, early):
    """Monotonic ns when ready, or raise RuntimeError. Datagrams before READY=1 go to early."""
    if how == "notify":
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no READY=1 within the timeout")
            r, _, _ = select.select([sock], [], [], min(left, 0.05))
            if r:
                data = sock.recv(4096)
                now = time.monotonic_ns()
                if b"READY=1" in data.split(b"\n"):
                    return now
                early.append((now, data.decode(errors="replace").split("\n")[0]))
                continue
            if proc.poll() is not None:
                raise RuntimeError("exited with %s before READY=1" % proc.returncode)
    else:
        while True:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.connect(("127.0.0.1", port))
                now = time.monotonic_ns()
                return now
            except OSError:
                pass
            finally:
                s.close()
            if proc.poll() is not None:
                raise RuntimeError("exited with %s before its port accepted" % proc.returncode)
            if time.monotonic() > deadline:
                raise RuntimeError("port %d not accepting within the timeout" % port)
            time.sleep(0.0005)


def stop(proc, timeout):
    """SIGTERM, wait; SIGKILL the group on timeout or leftovers. Returns exit code or 'killed'."""
    pgid = proc.pid  # start_new_session: pgid == pid
    rc = None
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = "killed"
    else:
        rc = proc.returncode
    kill_group(pgid)  # workers or stragglers left in the group
    if proc.poll() is None:
        proc.wait(timeout=timeout)
    LIVE_PGIDS.discard(pgid)
    save_pgids()
    return rc


def start(target, rundir, timeout, idle, measure=True):
    argv, extra_env, (how, port) = target.prepare(rundir)
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    env.update(extra_env)
    sock = None
    if how == "notify":
        path = os.path.join(rundir, "notify.sock")
        if os.path.exists(path):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        env["NOTIFY_SOCKET"] = path
    log = open(os.path.join(rundir, "%s.log" % target.name), "ab")
    res = {"target": target.name}
    proc = None
    try:
        t0 = time.monotonic_ns()
        proc = subprocess.Popen(
            argv, env=env, cwd=rundir, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        LIVE_PGIDS.add(proc.pid)
        save_pgids()
        early = []
        t1 = wait_ready(proc, how, sock, port, time.monotonic() + timeout, early)
        res["ready_ms"] = (t1 - t0) / 1e6
        if early:
            res["first_notify_ms"] = (early[0][0] - t0) / 1e6
            res["first_notify"] = early[0][1]
        if measure:
            time.sleep(idle)
            if proc.poll() is not None:
                raise RuntimeError("exited with %s while idle" % proc.returncode)
            res.update(sample(proc.pid))
            res["answers"] = target.check(rundir)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        res["error"] = str(e)
    finally:
        if proc is not None:
            res["exit"] = stop(proc, timeout)
        if sock:
            sock.close()
        log.close()
    return res


# ---------------------------------------------------------------- report


def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def fmt(st, digits=1):
    if not st:
        return "n/a"
    f = "%%.%df" % digits
    return (f + " (" + f + "-" + f + ")") % (st["median"], st["min"], st["max"])


def ratio(a, b):
    if not a or not b or not b["median"]:
        return "n/a"
    r = a["median"] / b["median"]
    return "%.3f" % r if r < 0.1 else "%.2f" % r


def main():
    global PGID_FILE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tmp", required=True, help="scratch dir (removed by the caller)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--idle", type=float, default=1.0, help="seconds idle before reading memory")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds for each wait")
    ap.add_argument("--weft", help="weft binary (none: weft is skipped)")
    ap.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")
    ap.add_argument("--serf", default=shutil.which("serf") or "/usr/bin/serf")
    ap.add_argument("--targets", default="floor,weft-fresh,weft-existing,haproxy,haproxy-lean,serf,serf-snapshot")
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("--command", default="tools/bench/startup.sh", help="shown in the report")
    a = ap.parse_args()

    PGID_FILE = os.path.join(a.tmp, "pgids")
    save_pgids()

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    want = [t.strip() for t in a.targets.split(",") if t.strip()]
    targets = []
    for t in want:
        if t == "floor":
            fb = build_floor(a.tmp)
            if fb:
                targets.append(Floor(fb))
        elif t in ("weft-fresh", "weft-existing"):
            if a.weft and os.access(a.weft, os.X_OK):
                targets.append(Weft(a.weft, t == "weft-existing"))
            else:
                note("%s skipped: no weft binary (%s)" % (t, a.weft or "WEFT unset"))
        elif t in ("haproxy", "haproxy-lean"):
            if os.access(a.haproxy, os.X_OK):
                targets.append(Haproxy(a.haproxy, lean=t == "haproxy-lean"))
            else:
                note("haproxy skipped: %s not found" % a.haproxy)
        elif t in ("serf", "serf-snapshot"):
            if os.access(a.serf, os.X_OK):
                targets.append(Serf(a.serf, snapshot=t == "serf-snapshot"))
            else:
                note("serf skipped: %s not found" % a.serf)
        else:
            ap.error("unknown target %r" % t)
    if not targets:
        note("nothing to measure")
        return 1

    samples = {t.name: [] for t in targets}
    errors = {t.name: [] for t in targets}
    rounds = a.warmup + a.runs
    started = time.time()
    psi0 = cpu_pressure_us()
    try:
        for i in range(rounds):
            for t in targets:
                rundir = os.path.join(a.tmp, "%s-%03d" % (t.name, i))
                os.makedirs(rundir)
                if t.prime(rundir):
                    p = start(t, rundir, a.timeout, 0, measure=False)
                    if "error" in p or p.get("exit") == "killed":
                        errors[t.name].append("prime run: %s, exit %s" % (p.get("error", "ok"), p.get("exit")))
                        shutil.rmtree(rundir, ignore_errors=True)
                        continue
                r = start(t, rundir, a.timeout, a.idle)
                r["round"] = i
                r["warmup"] = i < a.warmup
                if "error" in r:
                    errors[t.name].append("round %d: %s (log: %s)" % (i, r["error"], tail_log(rundir, t.name)))
                elif not r["warmup"]:
                    samples[t.name].append(r)
                shutil.rmtree(rundir, ignore_errors=True)
            note("round %d/%d done (%s)" % (i + 1, rounds, "warm-up" if i < a.warmup else "measured"))
    finally:
        for pg in list(LIVE_PGIDS):
            kill_group(pg)

    elapsed = time.time() - started
    psi1 = cpu_pressure_us()
    stall = None if psi0 is None or psi1 is None else 100.0 * (psi1 - psi0) / 1e6 / elapsed
    report(a, targets, samples, errors, elapsed, stall)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"samples": samples, "errors": errors}, f, indent=1)
    return 0


def tail_log(rundir, name):
    try:
        with open(os.path.join(rundir, "%s.log" % name), "rb") as f:
            return f.read()[-300:].decode(errors="replace").strip().replace("\n", " | ") or "empty"
    except OSError:
        return "none"


def report(a, targets, samples, errors, elapsed, stall):
    S = {}
    for t in targets:
        rs = samples[t.name]
        S[t.name] = {k: stats([r.get(k) for r in rs]) for k in
                     ("ready_ms", "vmrss_kib", "vmhwm_kib", "tree_pss_kib", "tree_rss_kib", "tree_anon_kib",
                  "tree_file_kib", "cpu_ms", "procs", "threads")}
    print("## Start to ready, idle memory")
    print()
    print("Command: `%s`" % a.command)
    print()
    print("%d measured runs per row after %d warm-up round(s), interleaved; idle %.1f s before the memory sample; "
          "%.0f s in all. Cells: median (min-max)." % (a.runs, a.warmup, a.idle, elapsed))
    if stall is not None:
        print()
        print("CPU contention during the run (PSI, /proc/pressure/cpu \"some\"): a runnable task waited for a "
              "CPU %.1f%% of the time%s." % (stall, "" if stall < 5 else
                                             ": the machine was busy, the times are inflated and noisy"))
    print()
    print("| program | ready when | ready ms | VmRSS KiB | VmHWM KiB | PSS KiB, all procs | RSS KiB, all procs | procs / threads | CPU ms to idle | ok |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in targets:
        s, rs = S[t.name], samples[t.name]
        ok = "%d/%d" % (len(rs), a.runs)
        answers = sum(1 for r in rs if r.get("answers"))
        if t.name != "floor":
            ok += ", answered %d" % answers
        exits = sorted({str(r.get("exit")) for r in rs})
        ok += ", exit %s" % "/".join(exits) if exits else ""
        pt = "%s / %s" % (fmt(s["procs"], 0).split(" ")[0], fmt(s["threads"], 0).split(" ")[0]) if s["procs"] else "n/a"
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            t.label, t.ready_how, fmt(s["ready_ms"], 2), fmt(s["vmrss_kib"], 0), fmt(s["vmhwm_kib"], 0),
            fmt(s["tree_pss_kib"], 0), fmt(s["tree_rss_kib"], 0), pt, fmt(s["cpu_ms"], 1), ok))
    print()
    print("Resident memory by kind, all processes of the program, medians in KiB: anonymous (heap, stacks, "
          "data written) and file-backed (pages of the executable and of shared libraries, shared with any "
          "other process mapping the same files).")
    print()
    print("| program | RSS | anonymous | file-backed | PSS |")
    print("|---|---|---|---|---|")
    for t in targets:
        s = S[t.name]
        m = lambda k: "%.0f" % s[k]["median"] if s[k] else "n/a"  # noqa: E731
        print("| %s | %s | %s | %s | %s |" % (t.name, m("tree_rss_kib"), m("tree_anon_kib"), m("tree_file_kib"),
                                              m("tree_pss_kib")))
    print()
    for t in targets:
        early = [r for r in samples[t.name] if "first_notify_ms" in r]
        if early:
            msgs = sorted({r["first_notify"] for r in early})
            print("%s sent %s before READY=1 in %d of %d runs, at %s ms (median (min-max)); READY=1 came %s ms "
                  "later." % (t.name, " / ".join(msgs), len(early), len(samples[t.name]),
                              fmt(stats([r["first_notify_ms"] for r in early]), 2),
                              fmt(stats([r["ready_ms"] - r["first_notify_ms"] for r in early]), 2)))
            print()
    wefts = [t for t in targets if t.name.startswith("weft")]
    peers = [t for t in targets if not t.name.startswith("weft") and t.name != "floor"]
    if wefts and peers:
        print("Ratios of medians, weft / peer (below 1: weft is faster or smaller):")
        print()
        print("| weft | peer | ready time | VmRSS | PSS, all procs | anonymous, all procs | CPU to idle |")
        print("|---|---|---|---|---|---|---|")
        for w in wefts:
            for p in peers:
                sw, sp = S[w.name], S[p.name]
                print("| %s | %s | %s | %s | %s | %s | %s |" % (
                    w.name, p.name, ratio(sw["ready_ms"], sp["ready_ms"]), ratio(sw["vmrss_kib"], sp["vmrss_kib"]),
                    ratio(sw["tree_pss_kib"], sp["tree_pss_kib"]), ratio(sw["tree_anon_kib"], sp["tree_anon_kib"]),
                    ratio(sw["cpu_ms"], sp["cpu_ms"])))
        print()
        for w in wefts:
            s = S[w.name]
            if s["ready_ms"] and s["vmrss_kib"]:
                print("Budget (informational, not asserted): %s ready %.2f ms (budget: 20 ms%s), "
                      "idle VmRSS %.0f KiB (budget: 4096 KiB)." % (
                          w.name, s["ready_ms"]["median"],
                          " with an existing identity" if w.existing else ", which is for a second start",
                          s["vmrss_kib"]["median"]))
        print()
    elif not wefts:
        print("weft: not measured in this run (no binary).")
        print()
    for name, errs in errors.items():
        for e in errs:
            print("- %s failed: %s" % (name, e))
    if any(errors.values()):
        print()


if __name__ == "__main__":
    sys.exit(main())
