/*
 * config_types: the typed configuration of one weft agent. One struct per
 * INI section; later subsystems add sections ([gossip], [proxy], ...). Strings
 * are heap copies owned by the struct weft_config that holds them.
 */
#ifndef WEFT_CONFIG_TYPES_H
#define WEFT_CONFIG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

struct config_node {
    char *name;         /* default: the host name */
    char *data_dir;     /* default: ./weft-data */
    char *trust_domain; /* default: weft.local */
};

struct config_log {
    enum log_level level;   /* default: info */
    enum log_format format; /* default: text */
    uint32_t debug_domains; /* bit (1 << enum log_domain); default: none */
};

struct config_admin {
    char *socket;         /* default: <data_dir>/admin.sock */
    char *listen;         /* optional host:port, loopback only; NULL = off */
    unsigned socket_mode; /* default: 0660 */
    bool debug;           /* /v1/debug/... endpoints (tests); default: false */
};

/* An optional DURATION or INT key left empty (value.c): "use the computed
 * value" (for [gossip] timing, the profile's). */
#define CONFIG_UNSET (-1)

/* [gossip]: membership with memberlist/Serf peers (off unless enabled). */
struct config_gossip {
    bool enabled;    /* default: false (no gossip at all) */
    char *bind;      /* host:port for UDP and TCP; default 0.0.0.0:7946 */
    char *advertise; /* host:port peers use; NULL = the bind address */
    char *join;      /* comma-separated host:port seeds; NULL = none */
    int profile;     /* enum swim_profile order: lan, wan, local, lossy */
    char *key_file;  /* base64 keys, one per line, first = primary; NULL = plaintext */
    char *tags;      /* k=v,k2=v2 (Serf tags); NULL = only weft's own */
    bool rejoin;     /* rejoin the members stored at the last run; default true */
    int64_t reconnect_interval_ms; /* Serf's reconnect loop period; default 30s */
    int64_t reconnect_timeout_ms;  /* failed members are forgotten after; default 24h */
    /* Timing overrides (memberlist's Config names); CONFIG_UNSET = the profile's. */
    int64_t probe_interval_ms, probe_timeout_ms, gossip_interval_ms, gossip_to_dead_ms,
        push_pull_interval_ms;
    int32_t gossip_nodes, indirect_checks, retransmit_mult, suspicion_mult, suspicion_max_mult,
        awareness_max;
};

/* [identity]: where the node's certificates come from (docs/identity.md). */
struct config_identity {
    char *bundle;              /* enrollment bundle dir (weft ca issue); NULL = no identity */
    char *ca;                  /* host:port of the CA node's control listener; NULL = no renewal */
    char *token;               /* one-time enrollment token (weft ca token); NULL = none */
    int64_t start_wait_ms;     /* renewal at start waits at most this before READY; default 20s */
    int64_t check_interval_ms; /* check-in with the CA (bundle, signer); default 1h */
};

/* [control]: the control RPC listener between nodes (docs/identity.md). */
struct config_control {
    char *listen;         /* host:port; NULL = off (default) */
    int32_t max_conns;    /* default 64 */
    int64_t handshake_ms; /* default 10s */
    int64_t request_ms;   /* default 30s */
    uint64_t max_frame;   /* default 64KiB */
};

/* [ca]: only on the node that holds the CA (docs/identity.md). */
struct config_ca {
    char *dir;           /* ca.key + ca.crt; NULL = not a CA node (default) */
    int64_t node_ttl_ms; /* node certificates issued online; default 90d */
    int64_t svc_ttl_ms;  /* service certificates issued online; default 24h */
};

/* [mesh]: the replicated control plane (docs/mesh.md). */
struct config_mesh {
    char *writers;         /* node names or node SPIFFE IDs, comma-separated; NULL = every node */
    int64_t gc_horizon_ms; /* tombstones are kept this long; default 72h */
};

/* [proxy]: the data plane's node-wide settings (docs/proxy.md). */
enum config_proxy_action { CONFIG_ACTION_ALLOW, CONFIG_ACTION_DENY };

struct config_proxy {
    char *inbound;   /* host:port of the mTLS listener for other nodes; NULL = off */
    char *advertise; /* IP:port other nodes dial; NULL = derived by the agent */
    enum config_proxy_action default_action; /* no policy matches, no [policy default] */
    int32_t max_connections;                 /* inbound at once; default 4096 */
    int64_t handshake_timeout_ms;            /* inbound TLS handshake; default 10s */
    int64_t connect_timeout_ms;              /* inbound -> local service; default 5s */
    int64_t idle_timeout_ms;                 /* no bytes either way; default 1h */
    uint64_t buffer;                         /* bytes per connection per direction; 64KiB */
    int64_t drain_timeout_ms;                /* open connections get this at stop; 15s */
};

/* [debug]: test-only knobs, honoured only with [admin] debug = true. */
struct config_debug {
    int64_t clock_offset_ms; /* added to weft's wall clock for certificates; default 0 */
};

/*
 * The items of one kind of [KIND NAME] section (schema.h), in file order:
 * `items` is an array of n of the kind's struct (config_service for
 * [service NAME]), heap, owned by the config; NULL when n is 0.
 */
struct config_list {
    void *items;
    size_t n;
};

/* [service NAME]: a local service this node offers; at most this many. */
#define CONFIG_SERVICES_MAX 64

enum config_svc_protocol { CONFIG_SVC_TCP, CONFIG_SVC_HTTP };
enum config_svc_check { CONFIG_CHECK_NONE, CONFIG_CHECK_TCP, CONFIG_CHECK_HTTP };

struct config_service {
    char *name;                        /* from the header: the config name rule */
    char *address;                     /* IP literal; default 127.0.0.1 */
    int32_t port;                      /* required, 1-65535 */
    enum config_svc_protocol protocol; /* default tcp */
    enum config_svc_check check;       /* default tcp */
    char *check_path;                  /* check = http: default "/"; NULL otherwise */
    int64_t check_interval_ms;         /* default 10s */
    int64_t check_timeout_ms;          /* default 2s, below the interval */
    int32_t healthy_threshold;         /* passes in a row to turn healthy; default 2 */
    int32_t unhealthy_threshold;       /* failures in a row to turn unhealthy; default 3 */
    char *tags;                        /* "word, k=v"; NULL = none */
};

/* [upstream NAME]: a local listener for apps, to a mesh service or (egress)
 * an address outside the mesh; at most this many. */
#define CONFIG_UPSTREAMS_MAX 64

/* The order of proxy/lb_types.h enum px_lb_policy and mesh's enum mesh_lb. */
enum config_lb { CONFIG_LB_ROUND_ROBIN, CONFIG_LB_LEAST_CONN, CONFIG_LB_RANDOM, CONFIG_LB_P2C };

struct config_upstream {
    char *name;                      /* from the header: the config name rule */
    char *listen;                    /* host:port; required */
    char *service;                   /* a mesh service; exactly one of service, address */
    char *address;                   /* host:port outside the mesh (egress) */
    char *from;                      /* local service whose identity is presented; NULL = node's */
    enum config_lb lb;               /* default round_robin */
    int64_t connect_timeout_ms;      /* default 5s */
    int32_t connect_retries;         /* another instance each time; default 2 */
    int64_t idle_timeout_ms;         /* default 1h */
    int32_t max_connections;         /* open at once; default 1024 */
    int32_t max_pending;             /* connects in progress at once; default 128 */
    int32_t outlier_failures;        /* consecutive connect failures that eject; default 5 */
    int64_t outlier_ejection_ms;     /* first ejection, doubles per repeat; default 10s */
    int64_t outlier_max_ejection_ms; /* cap, >= outlier_ejection_ms; default 5m */
    int32_t outlier_max_percent;     /* share of instances ejected at most; default 50 */
    char *tls_ca;                    /* egress: originate TLS, verify with this CA file */
    char *tls_sni;                   /* with tls_ca: default the host of address if a DNS
                                        name, else NULL (no SNI) */
};

struct weft_config {
    char *source; /* file it came from, or "<default>" */
    struct config_node node;
    struct config_log log;
    struct config_admin admin;
    struct config_gossip gossip;
    struct config_identity identity;
    struct config_control control;
    struct config_ca ca;
    struct config_mesh mesh;
    struct config_proxy proxy;
    struct config_debug debug;
    struct config_list services;  /* struct config_service[], [service NAME] sections */
    struct config_list upstreams; /* struct config_upstream[], [upstream NAME] sections */
};

#endif
