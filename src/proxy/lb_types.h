/*
 * lb_types: the types of endpoint choice (docs/proxy.md, "Endpoint
 * choice"): the load-balancing policies, one endpoint as the balancer and
 * the outlier detector see it, the balancer's state and the outlier
 * settings. The functions are in proxy/lb.h and proxy/outlier.h.
 *
 * Ownership: everything here is plain data kept by the caller (the
 * proxy's per-upstream state), embedded or in arrays it owns; nothing
 * points anywhere. A zeroed px_endpoint is a valid "never failed, never
 * ejected" endpoint.
 */
#ifndef WEFT_PROXY_LB_TYPES_H
#define WEFT_PROXY_LB_TYPES_H

#include <stdbool.h>
#include <stdint.h>

/* Room for a catalog record name ("SERVICE@NODE", at most MESH_NAME_MAX =
 * 128 bytes) and its NUL; lb.c checks the bound at compile time. */
#define PX_ENDPOINT_KEY_SIZE 160

/* Same order and names as mesh's enum mesh_lb ([upstream-defaults] lb =),
 * so one converts to the other by value; lb.c checks it at compile time. */
enum px_lb_policy {
    PX_LB_ROUND_ROBIN, /* rotate over the eligible endpoints */
    PX_LB_LEAST_CONN,  /* fewest open connections, ties in rotation */
    PX_LB_RANDOM,      /* uniform over the eligible endpoints */
    PX_LB_P2C,         /* two distinct random ones, the less loaded wins */
    PX_LB_MAX
};

/* One instance of a service (a catalog record), kept by the caller across
 * catalog refreshes (matched by key). */
struct px_endpoint {
    char key[PX_ENDPOINT_KEY_SIZE]; /* "SERVICE@NODE": stable across refreshes */
    bool healthy;                   /* the catalog says passing */
    uint32_t active;                /* open connections through us (least_conn, p2c) */
    /* outlier state, written only by outlier.c: */
    uint32_t consecutive_failures; /* connect failures since the last success */
    uint32_t ejections;            /* ejection level: the next ejection lasts
                                      base * 2^ejections (capped); decays */
    int64_t ejected_until_ms;      /* ejected while now < this; 0 = never ejected */
    int64_t decay_from_ms;         /* the clean period that lowers `ejections`
                                      counts from here */
    uint64_t total_ejections;      /* every ejection ever (a metric) */
};

/* A balancer for one upstream: px_lb_init() fills it. */
struct px_lb {
    enum px_lb_policy policy;
    uint32_t rr_next; /* rotation position: the scan for the next pick starts here */
    uint64_t rng;     /* splitmix64 state: seeded, so tests are deterministic */
};

/* Passive outlier ejection on connect failures; px_outlier_conf_default()
 * gives the defaults named here. */
struct px_outlier_conf {
    uint32_t consecutive; /* failures in a row that eject (5); 0 = never eject */
    int64_t base_ms;      /* first ejection time (10s) */
    int64_t max_ms;       /* cap on the ejection time (300s) */
    uint32_t max_percent; /* at most this % of endpoints ejected at once (50),
                             but one may always be */
};

#endif
