/*
 * admin: the agent's HTTP/1.1 JSON API, served by libevent's evhttp on a unix
 * socket (mode from [admin] socket_mode, 0660 by default) and, if configured,
 * on one loopback TCP address. The `weft` CLI talks only to this API; it never
 * opens the database behind the agent's back.
 *
 * admin/ owns the server, the route table and the reply conventions (JSON
 * bodies, errors as {"error": "..."}); the handlers live with the subsystem
 * whose state they show and register themselves with admin_route().
 */
#ifndef WEFT_ADMIN_H
#define WEFT_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/err.h"
#include "core/sbuf.h"

struct event_base;
struct admin;

enum admin_method { ADMIN_GET, ADMIN_POST, ADMIN_PUT, ADMIN_DELETE };

/* What a handler sees of a request. */
struct admin_req {
    enum admin_method method;
    const char *path;  /* decoded path, without the query */
    const char *query; /* raw query string or NULL */
    const char *body;  /* request body, NUL-terminated (may be "") */
    size_t body_len;
    void *priv; /* admin's own (admin_defer) */
};

/*
 * Deferred replies. A handler that cannot answer at once (it waits for the
 * network: a gossip query, a keyring operation) takes the request with
 * admin_defer() and returns ADMIN_DEFERRED; later it calls
 * admin_pending_reply() (or _error) exactly once, which frees the pending
 * request. If the client closed the connection meanwhile, the reply is
 * dropped silently; admin_pending_gone() tells, and an optional callback
 * set with admin_pending_on_gone() is called at the moment it goes away (so
 * the holder may stop the work early; it must still call _reply once).
 * A client that hangs up is noticed at once where the event backend
 * reports early close (epoll), else when the reply is written. Pending
 * requests still open at admin_free() are marked gone and their
 * connections closed (the holders still own the handles).
 */
#define ADMIN_DEFERRED 0
struct admin_pending;

/*
 * A handler writes its JSON reply into `out` and returns the HTTP status.
 * On an error status it may leave `out` empty and set `e`: the server then
 * replies {"error": e.msg}.
 */
typedef int (*admin_handler_fn)(void *ud, const struct admin_req *req, struct sbuf *out,
                                struct weft_err *e);

/**
 * Start serving on the unix socket (and the TCP address, if any) from cfg.
 * A stale socket file left by a dead agent is replaced; a live one is refused.
 * Returns the server (caller owns: admin_free), or NULL with a message in e.
 */
struct admin *admin_new(struct event_base *base, const struct config_admin *cfg,
                        struct weft_err *e);
/** Stop listening, close connections, remove the socket file. Accepts NULL. */
void admin_free(struct admin *a);

/**
 * Register a handler for an exact path and method (at most 64 routes).
 * Returns 0, or -1 if the table is full.
 */
int admin_route(struct admin *a, enum admin_method m, const char *path, admin_handler_fn fn,
                void *ud);

/**
 * Reply to this request (not deferred) with Content-Type ctype instead of
 * JSON, the body as the handler wrote it (no newline added); ctype must
 * outlive the handler call (a string constant). Error replies stay JSON.
 */
void admin_reply_content_type(const struct admin_req *req, const char *ctype);

/** Take the request for a later reply (NULL: out of memory, reply at once). */
struct admin_pending *admin_defer(const struct admin_req *req);
/** Finish a deferred request: status and JSON body; frees p. */
void admin_pending_reply(struct admin_pending *p, int status, const char *body, size_t len);
/** Finish with {"error": msg}; frees p. */
void admin_pending_error(struct admin_pending *p, int status, const char *msg);
/** True once the client went away (the reply will be dropped). */
bool admin_pending_gone(const struct admin_pending *p);
/** Call fn(arg) once if the client goes away before the reply. */
void admin_pending_on_gone(struct admin_pending *p, void (*fn)(void *arg), void *arg);
/** Deferred requests waiting for their reply. */
size_t admin_pending_count(const struct admin *a);

/** Requests served, and refused (bad method, unknown path, too large), since start. */
uint64_t admin_requests(const struct admin *a);
uint64_t admin_errors(const struct admin *a);

/**
 * Value of `key` in a query string ("a=1&b=x%20y"), URL-decoded into buf.
 * Returns 1 if found, 0 if absent.
 */
int admin_query_get(const char *query, const char *key, char *buf, size_t cap);

#endif
