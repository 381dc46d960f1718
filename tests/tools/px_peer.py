#!/usr/bin/env python3
"""px_peer: the far ends of proxied TCP connections, for the proxy tests.

  serve PORT [--slow BYTES_PER_S]   echo server: every byte back; on the
                                    client's FIN (half-close) it finishes
                                    echoing, sends "\\nEOF <sha256 of what it
                                    got>\\n" and closes its side. --slow reads
                                    at most that rate (a slow consumer).
  serve PORT --close-first          the other half-close: sends "bye\\n" and
                                    shuts its sending side at once, then reads
                                    to EOF and prints "got BYTES SHA256" (one
                                    line per connection, on stdout)
  send HOST PORT BYTES [GATE]       send BYTES of seeded random data while
                                    reading the echo, half-close, read to EOF;
                                    print JSON {sent, got, sha_sent, sha_got,
                                    server_sha, ok}. With GATE (a path): after
                                    half the bytes, create GATE.half and send
                                    no more until GATE exists (at most 300 s)
  many HOST PORT N                  N connections at once, each one message
                                    echoed; print JSON {ok, failed}
  push HOST PORT BYTES [SECONDS]    write BYTES as fast as possible (a fast
                                    writer to a slow reader), stopping after
                                    SECONDS if given; print JSON {ok, sent,
                                    done}
  hold HOST PORT N STOPFILE [UPTO]  open N connections, each echoing one
                                    message; print {held} and keep them open
                                    until STOPFILE exists (at most 300 s).
                                    With UPTO (s): stop at the first not
                                    echoed within UPTO and hold the rest
  probe HOST PORT                   one connection, one message: print
                                    {result: echo | eof | reset | timeout}
                                    (exit 0 only for echo)
  idle HOST PORT MAX_S              one message echoed, then silence: print
                                    how the connection ended {end: eof |
                                    reset | timeout}, waiting at most MAX_S

Every socket operation has a timeout: nothing here can hang a test.
"""
import hashlib
import json
import os
import selectors
import socket
import sys
import threading
import time

TIMEOUT = 60.0
CHUNK = 256 * 1024


def serve_close_first(c):
    c.settimeout(TIMEOUT * 5)
    h = hashlib.sha256()
    n = 0
    try:
        c.sendall(b"bye\n")
        c.shutdown(socket.SHUT_WR)
        while True:
            b = c.recv(CHUNK)
            if not b:
                break
            h.update(b)
            n += len(b)
        print("got %d %s" % (n, h.hexdigest()), flush=True)
    except OSError as e:
        print("error %s" % e, flush=True)
    finally:
        c.close()


def serve(port, slow, close_first=False):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1024)

    def one(c):
        c.settimeout(TIMEOUT * 5)
        h = hashlib.sha256()
        try:
            while True:
                if slow:
                    time.sleep(0.1)
                    want = max(1, int(slow / 10))
                else:
                    want = CHUNK
                b = c.recv(want)
                if not b:
                    break
                h.update(b)
                if not slow:
                    c.sendall(b)
            c.sendall(b"\nEOF " + h.hexdigest().encode() + b"\n")
            c.shutdown(socket.SHUT_WR)
            # drain until the client closes
            while c.recv(CHUNK):
                pass
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve_close_first if close_first else one, args=(c,),
                         daemon=True).start()


def data(n, seed=b"weft"):
    """Deterministic pseudo-random bytes, generated in blocks."""
    block = hashlib.sha256(seed).digest() * 2048  # 64 KiB
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(block[:32] + i.to_bytes(8, "big")).digest() * 2048
        i += 1
    return bytes(out[:n])


def send(host, port, n, gate=None):
    payload = data(n)
    paused = False
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    sent = 0
    got = bytearray()
    hs = hashlib.sha256(payload).hexdigest()
    deadline = time.time() + TIMEOUT * 5
    shut = False
    eof = False
    while not eof:
        if time.time() > deadline:
            break
        for key, ev in sel.select(timeout=1.0):
            if gate and not paused and sent >= n // 2:
                paused = True
                open(gate + ".half", "w").close()
            if paused and gate:
                if os.path.exists(gate):
                    gate = None
                    paused = False
                elif ev & selectors.EVENT_WRITE and not ev & selectors.EVENT_READ:
                    time.sleep(0.02)  # only writable: do not spin
            if ev & selectors.EVENT_WRITE and not shut and not paused:
                try:
                    sent += s.send(payload[sent:sent + CHUNK])
                except BlockingIOError:
                    pass
                if sent == len(payload):
                    s.shutdown(socket.SHUT_WR)
                    shut = True
                    sel.modify(s, selectors.EVENT_READ)
            if ev & selectors.EVENT_READ:
                try:
                    b = s.recv(CHUNK)
                except BlockingIOError:
                    continue
                except OSError as e:
                    print(json.dumps({"ok": False, "error": str(e), "sent": sent, "got": len(got)}))
                    return 1
                if not b:
                    eof = True
                    break
                got += b
    s.close()
    server_sha = None
    body = bytes(got)
    tail = body.rfind(b"\nEOF ")
    if tail >= 0:
        server_sha = body[tail + 5:].strip().decode()
        body = body[:tail]
    hg = hashlib.sha256(body).hexdigest()
    ok = eof and sent == n and hg == hs and server_sha == hs
    print(json.dumps({"ok": ok, "sent": sent, "got": len(body), "sha_sent": hs, "sha_got": hg,
                      "server_sha": server_sha, "eof": eof}))
    return 0 if ok else 1


def many(host, port, n):
    socks = []
    failed = 0
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=TIMEOUT)
            socks.append((i, s))
        except OSError:
            failed += 1
    for i, s in socks:
        try:
            s.sendall(b"conn %d\n" % i)
        except OSError:
            failed += 1
    ok = 0
    for i, s in socks:
        try:
            want = b"conn %d\n" % i
            got = b""
            while len(got) < len(want):
                b = s.recv(64)
                if not b:
                    break
                got += b
            if got == want:
                ok += 1
            else:
                failed += 1
        except OSError:
            failed += 1
        finally:
            s.close()
    print(json.dumps({"ok": ok, "failed": failed}))
    return 0 if failed == 0 else 1


def push(host, port, n, seconds=None):
    s = socket.create_connection((host, port), timeout=TIMEOUT * 10)
    buf = os.urandom(CHUNK)
    sent = 0
    t0 = time.time()
    stop = t0 + seconds if seconds else None
    try:
        while sent < n:
            if stop and time.time() > stop:
                break
            sent += s.send(buf[: min(CHUNK, n - sent)])
    except OSError as e:
        print(json.dumps({"ok": False, "sent": sent, "error": str(e)}))
        return 1
    s.close()
    print(json.dumps({"ok": True, "sent": sent, "done": sent == n,
                      "seconds": round(time.time() - t0, 3)}))
    return 0


def echo_one(s, msg):
    """Send msg, read it back; True if it came back whole."""
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(len(msg) - len(got))
        if not b:
            return False
        got += b
    return got == msg


def hold(host, port, n, stopfile, upto=None):
    """Open n connections, each echoing one message, and keep them open.
    With upto (seconds): stop opening at the first connection not echoed
    within that time (a proxy out of descriptors) and hold what echoed."""
    socks = []
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=upto or TIMEOUT)
            ok = echo_one(s, b"hold %d\n" % i)
        except OSError:
            ok = False
        if not ok:
            if upto is None:
                print(json.dumps({"held": len(socks), "error": "connection %d not echoed" % i}),
                      flush=True)
                return 1
            break
        socks.append(s)
    print(json.dumps({"held": len(socks)}), flush=True)
    deadline = time.time() + TIMEOUT * 5
    while not os.path.exists(stopfile) and time.time() < deadline:
        time.sleep(0.05)
    for s in socks:
        s.close()
    return 0


def ending(s, wait):
    """How the connection ends within wait seconds: eof, reset or timeout."""
    s.settimeout(wait)
    try:
        while True:
            b = s.recv(CHUNK)
            if not b:
                return "eof", b""
            return "data", b
    except socket.timeout:
        return "timeout", b""
    except OSError:  # ECONNRESET, or another error from a reset
        return "reset", b""


def probe(host, port):
    try:
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(b"probe\n")
    except ConnectionRefusedError:
        print(json.dumps({"result": "refused", "got": 0}))
        return 1
    except OSError as e:  # the reset came before or during the send
        print(json.dumps({"result": "reset", "got": 0, "at": "send", "error": str(e)}))
        return 1
    got = b""
    res = "echo"
    while len(got) < 6:
        r, b = ending(s, 10)
        if r != "data":
            res = r
            break
        got += b
    s.close()
    if res == "echo" and got != b"probe\n":
        res = "garbled"
    print(json.dumps({"result": res, "got": len(got)}))
    return 0 if res == "echo" else 1


def idle(host, port, wait):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    if not echo_one(s, b"hello\n"):
        print(json.dumps({"end": "not echoed"}))
        return 1
    t0 = time.time()
    r, _ = ending(s, wait)
    s.close()
    print(json.dumps({"end": r, "after": round(time.time() - t0, 1)}))
    return 0 if r in ("eof", "reset") else 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "serve":
        slow = 0
        if len(argv) >= 4 and argv[2] == "--slow":
            slow = int(argv[3])
        serve(int(argv[1]), slow, len(argv) == 3 and argv[2] == "--close-first")
        return 0
    if len(argv) in (4, 5) and argv[0] == "send":
        return send(argv[1], int(argv[2]), int(argv[3]), argv[4] if len(argv) == 5 else None)
    if len(argv) == 4 and argv[0] == "many":
        return many(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) in (4, 5) and argv[0] == "push":
        return push(argv[1], int(argv[2]), int(argv[3]), float(argv[4]) if len(argv) == 5 else None)
    if len(argv) in (5, 6) and argv[0] == "hold":
        return hold(argv[1], int(argv[2]), int(argv[3]), argv[4],
                    float(argv[5]) if len(argv) == 6 else None)
    if len(argv) == 3 and argv[0] == "probe":
        return probe(argv[1], int(argv[2]))
    if len(argv) == 4 and argv[0] == "idle":
        return idle(argv[1], int(argv[2]), float(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
