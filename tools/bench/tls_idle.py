#!/usr/bin/env python3
"""tls_idle.py HOST PORT CERT KEY CAFILE K [TLS12]: open K mutual-TLS
connections (python3's ssl module, i.e. OpenSSL), complete every handshake,
print "held N VERSION SUITE" on stdout and keep them all open, idle, until
stdin closes (the caller bounds that wait). Driven by tls.sh."""
import socket
import ssl
import sys


def main():
    host, port, cert, key, ca, k = sys.argv[1:7]
    tls12 = len(sys.argv) > 7 and sys.argv[7] == "1"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    held = []
    for _ in range(int(k)):
        s = socket.create_connection((host, int(port)), timeout=10)
        t = ctx.wrap_socket(s)  # handshake completes here (or raises)
        held.append(t)
    v, c = held[0].version(), held[0].cipher()[0]
    print("held %d %s %s" % (len(held), v, c), flush=True)
    sys.stdin.read()  # until the caller closes our stdin
    for t in held:
        t.close()


if __name__ == "__main__":
    main()
