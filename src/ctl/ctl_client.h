/*
 * ctl_client: one control RPC call (docs/identity.md, "The control RPC").
 *
 * Connects to "host:port", runs the TLS handshake with the client conf given
 * (which decides what the server must prove), sends one request frame and
 * waits for its reply, then closes. Each phase has its own deadline
 * (connect, handshake, request); whatever happens the callback runs exactly
 * once, from the event loop, unless the call is cancelled first.
 *
 * Ownership: the caller owns the call until the callback has run (the call
 * frees itself right after it) or until ctl_client_cancel(). The conf is
 * borrowed and must outlive the call.
 */
#ifndef WEFT_CTL_CTL_CLIENT_H
#define WEFT_CTL_CTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct tls_conf;
struct jsonv;
struct ctl_client_call;

struct ctl_client_opts {
    int64_t connect_ms;   /* 0: 5 s */
    int64_t handshake_ms; /* 0: 10 s */
    int64_t request_ms;   /* 0: 30 s */
    size_t frame_max;     /* 0: CTL_FRAME_MAX_DEFAULT */
};

/**
 * The outcome: ok with the reply's body (an object, or NULL when the reply
 * had none; borrowed for the call), or not ok with a one-line message (the
 * server's error, a TLS refusal, a timeout, a protocol error).
 */
typedef void (*ctl_client_done_fn)(void *ud, bool ok, const struct jsonv *body, const char *err);

/**
 * Start a call of method with body_json (a JSON object's text, NULL: {}).
 * Returns the call, or NULL with a message in e (nothing will be called back).
 */
struct ctl_client_call *ctl_client_call(struct event_base *base, struct tls_conf *conf,
                                        const char *addr, const char *method, const char *body_json,
                                        const struct ctl_client_opts *o, ctl_client_done_fn fn,
                                        void *ud, struct weft_err *e);

/** Abandon a call before its callback ran (no callback); accepts NULL. */
void ctl_client_cancel(struct ctl_client_call *c);

#endif
