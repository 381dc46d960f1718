/*
 * dial: get one stream ready — connect a socket (outbound), then run the
 * TLS handshake if the stream is mTLS; or, for a socket just accepted
 * (inbound), the server handshake alone. One timer bounds the whole of it.
 *
 *   px_dial_connect:  CONNECTING ──▶ HANDSHAKE (TLS only) ──▶ done(stream)
 *   px_dial_accept:                  HANDSHAKE ──────────────▶ done(stream)
 *   any failure or the deadline  ─────────────────────────▶ done(NULL, why)
 *
 * Owner: a dial owns its stream until it hands it to `done`; it frees
 * itself right after calling `done`, and px_dial_cancel frees it without
 * calling anything.
 */
#ifndef WEFT_PROXY_DIAL_H
#define WEFT_PROXY_DIAL_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "tls/tls_conf.h"

struct event_base;
struct px_stream;
struct px_tlsref;
struct px_dial;

/** Why a dial failed. */
enum px_dial_fail {
    PX_DIAL_OK,
    PX_DIAL_CONNECT, /* refused, unreachable, reset during connect */
    PX_DIAL_TIMEOUT, /* connect or handshake past the deadline */
    PX_DIAL_TLS,     /* the handshake failed: see tls_fail */
    PX_DIAL_LOCAL,   /* out of sockets or memory */
    PX_DIAL_MAX
};

/** "ok", "connect", "timeout", "tls", "local". */
const char *px_dial_fail_name(enum px_dial_fail f);

struct px_dial_result {
    enum px_dial_fail fail;
    enum tls_fail tls_fail; /* with PX_DIAL_TLS */
    char msg[256];          /* one line, for logs */
};

/** s: the open stream (the callee owns it), or NULL with res saying why. */
typedef void (*px_dial_fn)(void *arg, struct px_stream *s, const struct px_dial_result *res);

struct px_dial_req {
    const struct sockaddr *addr;
    socklen_t addrlen;
    struct px_tlsref *tls; /* NULL: plain TCP */
    const char *peer_key;  /* TLS resumption key, e.g. "10.0.0.2:15443/inventory"; may be NULL */
    const char *sni;       /* server_name to send; NULL: none */
    const char *expect_id; /* the only peer SPIFFE ID accepted; NULL: the conf's rules */
    int64_t timeout_ms;
};

/**
 * Connect to req->addr and, with TLS, complete the handshake. Returns the
 * dial (done is called later, never from inside this call), or NULL with a
 * message in e and errno saying why (nothing is called then).
 */
struct px_dial *px_dial_connect(struct event_base *base, const struct px_dial_req *req,
                                px_dial_fn done, void *arg, struct weft_err *e);

/**
 * Server handshake on accepted socket fd (owned from here on) with tls.
 * Returns the dial, or NULL with a message in e (fd closed).
 */
struct px_dial *px_dial_accept(struct event_base *base, int fd, struct px_tlsref *tls,
                               int64_t timeout_ms, px_dial_fn done, void *arg, struct weft_err *e);

/** Stop and free (its stream reset); `done` is not called. Accepts NULL. */
void px_dial_cancel(struct px_dial *d);

#endif
