#!/usr/bin/env python3
"""free_port.py: ports for tests and benchmarks to listen on.

Usage: free_port.py [HOST [COUNT]]   (defaults 127.0.0.1 and 1; one per line)

Each port is free on HOST for both TCP and UDP when picked, distinct from the
others printed, and below the kernel's ephemeral range (ip_local_port_range):
a port taken from inside it can meanwhile become the local end of some
outgoing connection (the proxy tests and benchmarks open thousands), and
listening on it then fails with EADDRINUSE. Random, so tests running in
parallel rarely meet. Also importable: free_ports(count, host).
"""
import random
import socket
import sys


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_both(fam, host, port):
    """Whether port is free for TCP and UDP on host (checked, then released)."""
    t = socket.socket(fam, socket.SOCK_STREAM)
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        t.bind((host, port))
        u.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        t.close()
        u.close()


def free_ports(count=1, host="127.0.0.1", exclude=()):
    """count distinct ports (see the module's text); OSError if none found."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    lo, hi = 10000, _ephemeral_low() - 1
    out = []
    for _ in range(1000 * count):
        if len(out) == count:
            return out
        if hi - lo >= 1000:
            p = random.randint(lo, hi)
        else:  # a machine whose ephemeral range starts low: the kernel's pick
            s = socket.socket(fam)
            s.bind((host, 0))
            p = s.getsockname()[1]
            s.close()
        if p in out or p in exclude or not _free_both(fam, host, p):
            continue
        out.append(p)
    if len(out) == count:
        return out
    raise OSError("free_port: %d of %d ports found free for TCP and UDP" % (len(out), count))


def main(argv):
    host = argv[1] if len(argv) > 1 else "127.0.0.1"
    count = int(argv[2]) if len(argv) > 2 else 1
    try:
        print("\n".join(str(p) for p in free_ports(count, host)))
    except OSError as e:
        sys.exit(str(e))


if __name__ == "__main__":
    main(sys.argv)
