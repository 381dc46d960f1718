/*
 * ctl_server: the control RPC listener (docs/identity.md, "The control RPC").
 *
 * One TCP listener; every connection is mTLS (tls_sess over a bufferevent)
 * with the server conf given, then carries request frames (ctl_frame.h),
 * answered in order by the registered methods. The handler sees the
 * caller's verified SPIFFE ID and decides itself whether to serve it.
 *
 * Limits: at most max_conns connections (more are closed at once), a
 * handshake must finish within handshake_ms, a whole request must arrive
 * within idle_ms of the handshake or of the previous reply, frames are at
 * most frame_max bytes. Every refusal is counted by reason (struct
 * ctl_stats) and logged at warn, rate-limited (a peer can trigger it).
 *
 * Ownership: the caller owns the server (ctl_server_free). The server owns
 * the tls_conf handed to it (ctl_server_new / ctl_server_set_conf) and frees
 * a replaced conf once its last connection is gone. Not thread-safe.
 */
#ifndef WEFT_CTL_CTL_SERVER_H
#define WEFT_CTL_CTL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"
#include "ctl/ctl_frame.h"

struct event_base;
struct tls_conf;
struct jsonv;
struct ctl_server;

struct ctl_server_opts {
    const char *listen;   /* "host:port" (port 0: any free one) */
    unsigned max_conns;   /* 0: 64 */
    int64_t handshake_ms; /* 0: 10 s */
    int64_t idle_ms;      /* 0: 30 s */
    size_t frame_max;     /* 0: CTL_FRAME_MAX_DEFAULT */
};

/** What a method handler sees. Borrowed for the call. */
struct ctl_call {
    const char *peer_id; /* the caller's verified SPIFFE ID ("" only for anonymous methods) */
    const char *method;
    const struct jsonv *body; /* an object, or NULL when the request had none */
};

/**
 * A method: write the reply body (a JSON object's text) into out and return
 * 0, or return -1 with a one-line message in e (sent to the caller as an
 * error reply and counted as CTL_R_DENIED).
 */
typedef int (*ctl_method_fn)(void *ud, const struct ctl_call *call, struct sbuf *out,
                             struct weft_err *e);

struct ctl_stats {
    uint64_t accepted; /* connections past the handshake */
    uint64_t requests; /* answered with ok */
    uint64_t refused[CTL_R_MAX];
};

/**
 * Listen on o->listen with conf (a TLS_ROLE_SERVER conf with its trust domain
 * and accept rules set; the server takes ownership, also on failure).
 * Returns the server, or NULL with a message in e.
 */
struct ctl_server *ctl_server_new(struct event_base *base, const struct ctl_server_opts *o,
                                  struct tls_conf *conf, struct weft_err *e);
/** Close the listener and every connection; accepts NULL. */
void ctl_server_free(struct ctl_server *s);

/** Register a method (at most 16). Returns 0, or -1 if full or the name is invalid. */
int ctl_server_method(struct ctl_server *s, const char *name, ctl_method_fn fn, void *ud);

/**
 * Register a method callers without a client certificate may call (peer_id
 * ""): only meaningful with a conf that lets them through
 * (tls_conf_allow_anonymous). Every other method refuses such callers
 * (CTL_R_UNAUTHENTICATED). Returns 0 or -1.
 */
int ctl_server_method_anonymous(struct ctl_server *s, const char *name, ctl_method_fn fn, void *ud);

/** New handshakes use conf from now on (taken over); the old one is freed when unused. */
void ctl_server_set_conf(struct ctl_server *s, struct tls_conf *conf);

/** The port actually bound. */
unsigned ctl_server_port(const struct ctl_server *s);
/** Counters (owned by the server). */
const struct ctl_stats *ctl_server_stats(const struct ctl_server *s);
/** The current TLS conf (for its tls_stats). */
const struct tls_conf *ctl_server_conf(const struct ctl_server *s);
/** Open connections now. */
unsigned ctl_server_conns(const struct ctl_server *s);

#endif
