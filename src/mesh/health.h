/*
 * health: the health checker of one local service, on the agent's libevent
 * loop (docs/mesh.md, "Health checks").
 *
 * Two kinds of check:
 *   tcp   connect within the timeout = pass
 *   http  connect, send `GET <path> HTTP/1.1` with Host and
 *         `Connection: close`, parse the answer's head with http/http_parse
 *         (strict): status 200-399 = pass; any other status, a refused
 *         response (folded header, bad framing, over 8 KiB of head ...), or
 *         a close before the head = fail. The body is not read.
 *
 * The first check runs at health_start(), then one every interval, each
 * moved by up to jitter_pct % either way so that services started together
 * drift apart. The timeout covers the whole check (connect + answer) and is
 * at most the interval, so checks never overlap.
 *
 * States: unknown -> passing | critical. Exactly healthy_threshold
 * consecutive passes make the state passing, exactly unhealthy_threshold
 * consecutive failures make it critical (from unknown too); the callback
 * sees each change with the reason of the check that made it
 * ("connect refused", "timeout after 2s", "HTTP 503", "bad response: ...").
 *
 * Ownership: health_new() allocates one struct health holding everything a
 * check needs (the parser, a fixed read buffer: bounded memory per check);
 * the caller frees it with health_free(), at any point: between checks,
 * during a connect, while an answer is read, or from inside its own change
 * callback (the free is then finished when the callback returns). No
 * globals; the agent wires params from a `[service NAME]` section.
 */
#ifndef WEFT_MESH_HEALTH_H
#define WEFT_MESH_HEALTH_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

struct event_base;
struct health;

enum health_kind { HEALTH_TCP, HEALTH_HTTP };

enum health_state { HEALTH_UNKNOWN, HEALTH_PASSING, HEALTH_CRITICAL, HEALTH_STATE_MAX };

/* The outcome of one check; names are what counters show. */
#define HEALTH_RESULTS(X)                                                                          \
    X(PASS, "pass")                 /* connected (tcp) / status 200-399 (http) */                  \
    X(REFUSED, "refused")           /* connect refused */                                          \
    X(TIMEOUT, "timeout")           /* no connect or no complete head in time */                   \
    X(CONNECT, "connect_error")     /* another connect error (unreachable ...) */                  \
    X(CLOSED, "closed")             /* the server closed without a byte of answer */               \
    X(HTTP_STATUS, "http_status")   /* an answer outside 200-399 */                                \
    X(BAD_RESPONSE, "bad_response") /* refused by the strict parser */

enum health_result {
#define HEALTH_RESULT_ENUM(id, name) HEALTH_RESULT_##id,
    HEALTH_RESULTS(HEALTH_RESULT_ENUM)
#undef HEALTH_RESULT_ENUM
        HEALTH_RESULT_MAX
};

#define HEALTH_NAME_MAX 64
#define HEALTH_PATH_MAX 256
#define HEALTH_HOST_MAX 256

/** What to check and how often; health_params_init() gives the defaults. */
struct health_params {
    char name[HEALTH_NAME_MAX]; /* the service, for logs */
    enum health_kind kind;
    struct sockaddr_storage addr; /* where the service listens */
    socklen_t addr_len;
    char path[HEALTH_PATH_MAX];   /* http: request-target, default "/" */
    char host[HEALTH_HOST_MAX];   /* http: Host header; "" = the address */
    int64_t interval_ms;          /* default 10s */
    int64_t timeout_ms;           /* default 2s, <= interval */
    unsigned healthy_threshold;   /* default 2 */
    unsigned unhealthy_threshold; /* default 3 */
    unsigned jitter_pct;          /* default 10, at most 50 */
    uint64_t seed;                /* jitter's random seed; 0 = from the clock */
};

struct health_counters {
    uint64_t checks;
    uint64_t passes;
    uint64_t failures;
    uint64_t by_result[HEALTH_RESULT_MAX];
    uint64_t changes;     /* state changes */
    unsigned consecutive; /* results in a row like the last one */
};

/** A state change: from -> to, because of `reason` (one line). */
typedef void (*health_change_fn)(void *arg, struct health *h, enum health_state from,
                                 enum health_state to, const char *reason);

/** Defaults (kind tcp, no address: set addr and addr_len). */
void health_params_init(struct health_params *p);
/** Check the params; returns 0, or -1 naming the first bad one in e. */
int health_params_validate(const struct health_params *p, struct weft_err *e);

/**
 * A checker on base (not started). params are copied. cb may be NULL.
 * Returns NULL with e filled if params are invalid or memory is short.
 */
struct health *health_new(struct event_base *base, const struct health_params *params,
                          health_change_fn cb, void *arg, struct weft_err *e);
/** Run the first check now, then every interval. Returns 0 or -1 (e). */
int health_start(struct health *h, struct weft_err *e);
/** Cancel the check in flight and every later one; the state stays. */
void health_stop(struct health *h);
/** Stop and free; NULL is fine; safe from inside the change callback. */
void health_free(struct health *h);

enum health_state health_state(const struct health *h);
const struct health_counters *health_counters(const struct health *h);
/** The last check's one-line outcome ("" before the first). */
const char *health_last_reason(const struct health *h);
const struct health_params *health_params(const struct health *h);

const char *health_state_name(enum health_state s);
const char *health_result_name(enum health_result r);

#endif
