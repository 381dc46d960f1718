/*
 * proxy_priv: the layout shared by proxy.c, outbound.c and inbound.c only.
 *
 * Every connection, inbound or outbound, is a struct px_conn on the proxy's
 * list from accept to its end, in one of three phases: dialing (p->dial
 * set: connect + handshake in flight), relaying (p->relay set), or neither
 * for the instant between. The proxy frees a connection when its relay ends
 * or its setup fails; px_abort_all ends them all.
 */
#ifndef WEFT_PROXY_PROXY_PRIV_H
#define WEFT_PROXY_PROXY_PRIV_H

#include "core/log.h"
#include "proxy/proxy.h"

#include <stdbool.h>
#include <stdint.h>

struct px_lis;

/* Attempts remembered per connection so a retry goes elsewhere (retries <= 10). */
#define PX_TRIED_MAX 11

struct px_upstream {
    struct px *p;
    struct px_upstream_conf c;
    struct px_lis *lis; /* NULL once removed or stopped */
    struct px_stats st;
    struct px_lb lb;
    /* Endpoints (a mesh service): parallel arrays of neps, capacity PX_TARGETS_MAX. */
    struct px_endpoint *ep;
    char (*ep_addr)[PX_ADDR_MAX];
    size_t neps;
    struct px_target *scratch; /* refresh buffer */
    uint64_t cat_ver;
    bool have_ver;
    struct px_tlsref *client_tls;   /* the `from` identity's conf, cached */
    struct px_tlsref *egress_tls;   /* tls_ca: the origination conf (egress) */
    struct sockaddr_storage egress; /* address = ... */
    socklen_t egress_len;
    bool removed;   /* px_upstream_remove: freed when its last connection ends */
    unsigned conns; /* connections referring to it */
    struct px_upstream *next;
};

/* Per inbound service counters (the SNI's name; "-" for refusals before one is known). */
struct px_insvc {
    char name[PX_NAME_MAX];
    struct px_stats st;
    struct log_ratelim rl;         /* its refusals: one noisy caller hides no other service's */
    char last_refused[PX_WHY_MAX]; /* "CALLER: VERDICT: why" of the latest refusal */
};

enum px_conn_kind { PX_CONN_OUT, PX_CONN_IN };

struct px_conn {
    struct px *p;
    enum px_conn_kind kind;
    struct px_upstream *u;  /* outbound */
    struct px_insvc *svc;   /* inbound, once the SNI is known */
    struct px_stats *st;    /* the counters it adds to */
    struct px_stream *down; /* the caller's side until the relay takes it */
    struct px_dial *dial;
    struct px_relay *relay;
    char ep_key[160]; /* outbound: the endpoint dialed / relayed to */
    uint64_t tried[PX_TRIED_MAX];
    unsigned attempts;
    bool pending;                  /* counted in st->pending (accepted, not relaying yet) */
    uint64_t bytes_up, bytes_down; /* counted so far */
    struct px_conn *prev, *next;
};

struct px {
    struct event_base *base;
    struct px_conf c;
    struct px_hooks h;
    struct px_upstream *ups;
    struct px_conn *conns;
    size_t nconns;
    /* inbound */
    struct px_lis *in_lis;
    unsigned in_port;
    struct px_tlsref *in_tls;
    struct px_stats in_total;
    struct px_insvc in_svcs[PX_INBOUND_SVCS];
    size_t n_in_svcs;
    uint32_t in_active; /* inbound connections open (any phase) */
    uint64_t rng;
    struct px_pipe_pool pipes; /* empty pipes for splicing relays */
    struct log_ratelim rl;
};

/* proxy.c */
struct px_conn *px_conn_new(struct px *p, enum px_conn_kind kind);
/** Unlink and free c (no relay left), its dial and stream (reset). */
void px_conn_free(struct px_conn *c);
/*
 * A listener on addr ("IP:PORT") calling cb(arg, fd) per accepted socket;
 * NULL with e. *port gets the port bound. When accept() fails for want of
 * descriptors or memory, the listener pauses (core/accept_guard.h) instead
 * of spinning on a readable socket it cannot serve.
 */
typedef void (*px_accept_fn)(void *arg, int fd);
struct px_lis *px_lis_new(struct px *p, const char *addr, px_accept_fn cb, void *arg,
                          unsigned *port, struct weft_err *e);
/** Close and free; accepts NULL. */
void px_lis_free(struct px_lis *l);
/*
 * A connection l took could not get a socket for its other side (err, an
 * errno): out of descriptors or memory, l pauses accepting
 * (core/accept_guard.h), as taking more would only take connections to
 * drop. Other errors change nothing. Accepts NULL.
 */
void px_lis_dial_failed(struct px_lis *l, int err);
/** The relay's callbacks for any connection: count bytes and the end, free. */
void px_conn_relay_bytes(void *arg, uint64_t up, uint64_t down);
/** Start relaying c->down <-> up. */
void px_conn_relay(struct px_conn *c, struct px_stream *up, int64_t idle_ms);
/** 64-bit FNV-1a of a string (tried endpoints). */
uint64_t px_hash(const char *s);

/* outbound.c */
void px_upstream_free(struct px_upstream *u);
void px_outbound_accept(void *arg, int fd);
/** The relay of an outbound connection ended (endpoint bookkeeping). */
void px_outbound_ended(struct px_conn *c);

/* inbound.c */
void px_inbound_accept(void *arg, int fd);

#endif
