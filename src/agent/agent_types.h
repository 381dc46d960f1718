/* The root object's layout, shared by agent.c and api.c only. */
#ifndef WEFT_AGENT_TYPES_H
#define WEFT_AGENT_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct event;
struct weft_config;
struct store;
struct admin;
struct gossip_net;
struct pki_identity;
struct json_w;

struct weft {
    struct event_base *base;
    char *config_path; /* NULL: embedded default */
    struct weft_config *cfg;
    struct store *store;
    struct admin *admin;
    struct gossip_net *gossip; /* NULL unless [gossip] enabled */

    struct event *ev_term;
    struct event *ev_int;
    struct event *ev_hup;
    struct event *ev_watchdog;
    int64_t watchdog_ms; /* 0: no watchdog */

    char node_id[40]; /* random, kept in the store across restarts */
    int64_t boot_count;
    int64_t started_mono_ms;
    int64_t started_wall_ms;
    int64_t ready_us; /* start to READY, microseconds */

    uint64_t reloads;
    uint64_t reload_failures;
    char last_reload_error[WEFT_ERR_MAX];
    bool stopping;

    struct pki_identity *ident; /* NULL: no [identity] (agent_identity.c) */
    const char *ident_source;   /* "bundle" or "store" */
    struct event *ev_ident;     /* the daily expiry check */
};

/** Register the admin API's endpoints for this agent. */
int agent_api_register(struct weft *w);
/** Start gossip ([gossip] enabled; agent_gossip.c). Returns 0 or -1 (message in e). */
int agent_gossip_start(struct weft *w, struct weft_err *e);
/** Register /v1/members, /v1/join, /v1/leave (409 "gossip is off" without gossip). */
int agent_gossip_register(struct weft *w);
/** The graceful leave is done: stop the agent (exit 0). */
void agent_left(struct weft *w);

/**
 * Take the node's identity from [identity] bundle and the store (nothing
 * when unset). Returns 0, or -1 with one message in e (e.g. an expired node
 * certificate, with how to re-enroll).
 */
int agent_identity_start(struct weft *w, struct weft_err *e);
/** Free the identity and its timer; safe when never started. */
void agent_identity_stop(struct weft *w);
/** Register GET /v1/certs. Returns 0 or -1. */
int agent_identity_api(struct weft *w);
/** Write the "identity" member of /v1/status (null without an identity). */
void agent_identity_status(const struct weft *w, struct json_w *j);

#endif
