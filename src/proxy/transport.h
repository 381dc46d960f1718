/*
 * transport: the one seam between the proxy and the node-to-node hop
 * (docs/proxy.md, "Transport"): "open a stream to service S on node N as
 * identity I".
 *
 * Today each stream is its own mTLS connection: TCP to the node's inbound
 * port, TLS with SNI = S, our certificate = I's (the conf passed in), the
 * peer accepted only as spiffe://TD/svc/S; sessions resume from tickets
 * kept per node and service, so steady traffic pays no full handshake.
 * A later transport can multiplex many streams over one pooled mTLS
 * connection per peer (HTTP/2 CONNECT) behind this same call, without
 * touching listeners, policy or load balancing.
 */
#ifndef WEFT_PROXY_TRANSPORT_H
#define WEFT_PROXY_TRANSPORT_H

#include <stdint.h>

#include "core/err.h"
#include "proxy/dial.h"

struct event_base;
struct px_tlsref;

struct px_transport_req {
    const char *node_addr;    /* the node's inbound, "IP:PORT" */
    const char *service;      /* the target service (SNI, expected identity) */
    const char *trust_domain; /* the mesh's */
    struct px_tlsref *tls;    /* client conf of the identity presented */
    int64_t timeout_ms;       /* connect + handshake */
};

/**
 * Open a stream as described above; `done` gets it (or why not) from the
 * loop. Returns the dial (cancel with px_dial_cancel), or NULL with e and
 * errno (EINVAL for a bad node address).
 */
struct px_dial *px_transport_open(struct event_base *base, const struct px_transport_req *req,
                                  px_dial_fn done, void *arg, struct weft_err *e);

#endif
