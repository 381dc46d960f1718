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
};

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
 * Register a handler for an exact path and method (at most 32 routes).
 * Returns 0, or -1 if the table is full.
 */
int admin_route(struct admin *a, enum admin_method m, const char *path, admin_handler_fn fn,
                void *ud);

/** Requests served, and refused (bad method, unknown path, too large), since start. */
uint64_t admin_requests(const struct admin *a);
uint64_t admin_errors(const struct admin *a);

/**
 * Value of `key` in a query string ("a=1&b=x%20y"), URL-decoded into buf.
 * Returns 1 if found, 0 if absent.
 */
int admin_query_get(const char *query, const char *key, char *buf, size_t cap);

#endif
