/*
 * proxy: the data plane of one node (docs/proxy.md).
 *
 *   app ─plain─▶ upstream listener ═══ mTLS, SNI = service ═══▶ inbound ─plain─▶ app
 *                (outbound.c)          (transport.c, dial.c)     (inbound.c)
 *
 * The proxy knows nothing of the config file, the catalog's storage or the
 * policy objects: the agent passes plain settings (px_conf,
 * px_upstream_conf) and answers through hooks (px_hooks) — which instances
 * a service has, which certificate an identity presents, whether a caller
 * may reach a local service. So everything here can run against fakes.
 *
 * Owner: the caller of px_new() owns the proxy; the proxy owns its
 * listeners, upstreams, connections and their streams.
 */
#ifndef WEFT_PROXY_PROXY_H
#define WEFT_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "proxy/dial.h"
#include "proxy/lb_types.h"
#include "proxy/relay.h"
#include "tls/tls_conf.h"

struct event_base;
struct px;
struct px_tlsref;

#define PX_NAME_MAX 64     /* service and upstream names (the config name rule) */
#define PX_ADDR_MAX 64     /* "IP:PORT", IPv6 bracketed */
#define PX_TARGETS_MAX 256 /* instances of one service considered per pick */
#define PX_INBOUND_SVCS 64 /* inbound services with their own counters */
#define PX_WHY_MAX 256     /* the latest refusal per inbound service, for the status */
#define PX_PATH_MAX 1024   /* a CA file's path (egress TLS origination) */

/** One instance of a service, as the catalog has it. */
struct px_target {
    char key[160];               /* "SERVICE@NODE": stable across refreshes */
    char node_addr[PX_ADDR_MAX]; /* the node's inbound, "IP:PORT" */
    bool healthy;
};

/** What the inbound side decided about a caller. */
enum px_in_verdict {
    PX_IN_ALLOW,
    PX_IN_NO_SERVICE, /* the SNI names no local service */
    PX_IN_DENIED,     /* policy says no */
    PX_IN_REVOKED,    /* the caller's node is revoked */
    PX_IN_MAX
};

struct px_hooks {
    void *arg;
    /** Instances of service into out[0..cap); returns how many. */
    size_t (*targets)(void *arg, const char *service, struct px_target *out, size_t cap);
    /** Changes whenever targets() may answer differently. */
    uint64_t (*catalog_version)(void *arg);
    /**
     * The client conf presenting identity (a local service name; "" = the
     * node's identity): a new reference (px_tlsref_put), or NULL with e.
     */
    struct px_tlsref *(*client_tls)(void *arg, const char *identity, struct weft_err *e);
    /**
     * Inbound: may caller_id (a verified SPIFFE ID) reach local service?
     * On PX_IN_ALLOW fill addr and len with the service's local address. why
     * gets a short reason for logs otherwise (e.g. the deciding policy).
     */
    enum px_in_verdict (*inbound)(void *arg, const char *service, const char *caller_id,
                                  struct sockaddr_storage *addr, socklen_t *len, char *why,
                                  size_t cap);
};

/** Node-wide settings ([proxy]). */
struct px_conf {
    char trust_domain[256];
    size_t buffer;        /* per connection, per direction */
    int64_t handshake_ms; /* inbound handshakes */
    int64_t connect_ms;   /* inbound -> local service */
    int64_t idle_ms;      /* inbound connections */
    uint32_t max_conns;   /* inbound connections at once */
};

/** One [upstream NAME]. */
struct px_upstream_conf {
    char name[PX_NAME_MAX];
    char listen[PX_ADDR_MAX];
    char service[PX_NAME_MAX]; /* a mesh service, or "" with address */
    char address[PX_ADDR_MAX]; /* egress "IP:PORT", or "" */
    char from[PX_NAME_MAX];    /* identity presented; "" = the node's */
    enum px_lb_policy lb;
    int64_t connect_ms;
    uint32_t retries;
    int64_t idle_ms;
    uint32_t max_conns;
    uint32_t max_pending;
    struct px_outlier_conf outlier;
    /* Egress TLS origination (docs/proxy.md, "Egress"): px_upstream_add
     * reads the CA file into a conf of its own (tls_conf_new_origin). The
     * file's identity is part of the settings, so that a reload comparing
     * them sees a CA file replaced in place. */
    char tls_ca[PX_PATH_MAX];      /* verify the server with this CA file; "" = plain TCP */
    char tls_sni[TLS_SNI_MAX + 1]; /* with tls_ca: the name sent and checked; required */
    int64_t tls_ca_mtime_ns;       /* the CA file's stat() when the settings were made */
    int64_t tls_ca_size;
    uint64_t tls_ca_ino;
};

/** Counters of one upstream (outbound) or one inbound service. */
struct px_stats {
    uint64_t opened; /* accepted and relaying (outbound: connected) */
    uint64_t closed; /* relays ended, by how: end[] */
    uint64_t end[PX_END_MAX];
    uint32_t active;       /* relaying now */
    uint32_t pending;      /* accepted, not yet relaying */
    uint64_t bytes_in;     /* from the caller towards the service */
    uint64_t bytes_out;    /* from the service back to the caller */
    uint64_t connect_fail; /* dials that failed (each attempt) */
    uint64_t tls_fail[TLS_FAIL_MAX];
    uint64_t timeouts;    /* dials past their deadline */
    uint64_t retries;     /* attempts after the first */
    uint64_t no_endpoint; /* no healthy instance left to try */
    uint64_t overflow;    /* refused at once: max connections / pending */
    uint64_t ejections;   /* instances ejected */
    uint64_t panics;      /* picks among ejected instances: none other was healthy */
    uint64_t denied;      /* inbound: policy said no */
    uint64_t revoked;     /* inbound: the caller's node is revoked */
};

/** A new proxy on base (nothing listens yet), or NULL with a message in e. */
struct px *px_new(struct event_base *base, const struct px_conf *c, const struct px_hooks *h,
                  struct weft_err *e);
/** Close everything (connections reset); accepts NULL. */
void px_free(struct px *p);

/**
 * Listen on inbound ("IP:PORT") with tls (a server conf choosing the
 * certificate by SNI; the proxy takes a reference). Returns 0 or -1.
 */
int px_inbound_start(struct px *p, const char *inbound, struct px_tlsref *tls, struct weft_err *e);
/** New inbound handshakes use tls from now on (renewal); open ones keep theirs. */
void px_inbound_set_tls(struct px *p, struct px_tlsref *tls);
/** The inbound port actually bound (0 if none). */
unsigned px_inbound_port(const struct px *p);

/** Add [upstream NAME] and open its listener. Returns 0, or -1 with e. */
int px_upstream_add(struct px *p, const struct px_upstream_conf *c, struct weft_err *e);
/** Close its listener; its open connections run on to their end. Returns 0 or -1 (unknown). */
int px_upstream_remove(struct px *p, const char *name);
/** The upstream's settings, or NULL. */
const struct px_upstream_conf *px_upstream_conf(const struct px *p, const char *name);
/** Client confs changed (identity renewed): new dials use new ones. */
void px_identity_changed(struct px *p);

/** Stop accepting everywhere (listeners closed); open connections continue. */
void px_stop_accepting(struct px *p);
/** Connections open or being set up, inbound and outbound. */
size_t px_open_count(const struct px *p);
/** Reset every connection now (the drain deadline). */
void px_abort_all(struct px *p);

/** Visit each upstream's counters, and each inbound service's. */
typedef void (*px_stats_fn)(void *arg, const char *name, const struct px_stats *st);
void px_upstreams_each(const struct px *p, px_stats_fn fn, void *arg);
void px_inbound_each(const struct px *p, px_stats_fn fn, void *arg);
/** The latest refusal at inbound service name ("CALLER: VERDICT: why"), or "" if none. */
const char *px_inbound_last_refused(const struct px *p, const char *name);
/** The inbound listener's own counters: handshakes refused by reason, overflow. */
const struct px_stats *px_inbound_total(const struct px *p);
/** The inbound server conf's TLS counters (NULL without inbound). */
const struct tls_stats *px_inbound_tls_stats(const struct px *p);

/** An upstream's endpoints as last refreshed: visit each (for /v1/proxy). */
typedef void (*px_endpoint_fn)(void *arg, const struct px_endpoint *ep, const char *node_addr,
                               bool ejected);
void px_upstream_endpoints(struct px *p, const char *name, int64_t now_ms, px_endpoint_fn fn,
                           void *arg);

#endif
