/*
 * client: how a `weft` subcommand reaches its agent's admin API.
 *
 * The target is found in this order: --admin ADDR, else $WEFT_ADMIN, else the
 * [admin] socket of -c FILE, else the default (./weft-data/admin.sock). ADDR is
 * a unix socket path, or host:port for the optional loopback TCP listener.
 * Requests are blocking HTTP/1.1 with Connection: close and a time limit
 * (CLIENT_TIMEOUT_MS, or the caller's for requests that take longer on
 * purpose, such as a query that answers at its deadline).
 */
#ifndef WEFT_CLI_CLIENT_H
#define WEFT_CLI_CLIENT_H

#include "core/err.h"
#include "core/sbuf.h"

#include <stdint.h>

/* How long a request waits for its reply unless the caller says otherwise. */
#define CLIENT_TIMEOUT_MS 10000

/**
 * Resolve the admin address from the flags (either may be NULL) into buf.
 * Returns 0, or -1 with a message (e.g. the config file is invalid).
 */
int client_target(const char *admin_flag, const char *config_flag, char *buf, size_t cap,
                  struct weft_err *e);

/**
 * One request, waiting at most timeout_ms (> 0) for the whole reply. Fills
 * *status and the response body. Returns 0 when an HTTP response arrived
 * (whatever its status), -1 if the agent could not be reached, answered
 * garbage or not in time (message in e).
 */
int client_request(const char *target, const char *method, const char *path, const char *body,
                   int64_t timeout_ms, int *status, struct sbuf *resp, struct weft_err *e);

struct jsonv;

/**
 * What every client subcommand does: find the agent (client_target), send
 * one request, read a JSON reply. On success returns 0 (WEFT_EXIT_OK) with
 * the parsed reply in *out (caller frees with jsonv_free) and the raw body
 * in resp. Otherwise prints why to stderr and returns the exit code:
 * WEFT_EXIT_FAIL (bad config, an error status, an unreadable reply) or
 * WEFT_EXIT_UNREACHABLE (no agent answered).
 */
int client_call(const char *admin_flag, const char *config_flag, const char *method,
                const char *path, const char *body, struct sbuf *resp, struct jsonv **out);
/** client_call with its own reply wait (timeout_ms > 0) instead of CLIENT_TIMEOUT_MS. */
int client_call_timeout(const char *admin_flag, const char *config_flag, const char *method,
                        const char *path, const char *body, int64_t timeout_ms, struct sbuf *resp,
                        struct jsonv **out);

#endif
