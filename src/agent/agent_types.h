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

struct weft {
    struct event_base *base;
    char *config_path; /* NULL: embedded default */
    struct weft_config *cfg;
    struct store *store;
    struct admin *admin;

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
};

/** Register the admin API's endpoints for this agent. */
int agent_api_register(struct weft *w);

#endif
