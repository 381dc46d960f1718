/*
 * transport: one mTLS connection per stream (see transport.h).
 */
#include "proxy/transport.h"

#include "core/addr.h"

#include <errno.h>
#include <stdio.h>

struct px_dial *px_transport_open(struct event_base *base, const struct px_transport_req *req,
                                  px_dial_fn done, void *arg, struct weft_err *e)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (addr_parse(req->node_addr, &ss, &len, e) != 0) {
        errno = EINVAL;
        return NULL;
    }
    char key[192], id[512];
    /* Tickets are kept per node and service: a resumed session then keeps
     * the identity it was verified as, which is the service's. */
    snprintf(key, sizeof(key), "%s/%s", req->node_addr, req->service);
    snprintf(id, sizeof(id), "spiffe://%s/svc/%s", req->trust_domain, req->service);
    struct px_dial_req dr = {.addr = (struct sockaddr *)&ss,
                             .addrlen = len,
                             .tls = req->tls,
                             .peer_key = key,
                             .sni = req->service,
                             .expect_id = id,
                             .timeout_ms = req->timeout_ms};
    return px_dial_connect(base, &dr, done, arg, e);
}
