/*
 * config_types: the typed configuration of one weft agent. One struct per
 * INI section; later subsystems add sections ([gossip], [proxy], ...). Strings
 * are heap copies owned by the struct weft_config that holds them.
 */
#ifndef WEFT_CONFIG_TYPES_H
#define WEFT_CONFIG_TYPES_H

#include <stdbool.h>
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

/* [gossip]: membership with memberlist/Serf peers (off unless enabled). */
struct config_gossip {
    bool enabled;    /* default: false (no gossip at all) */
    char *bind;      /* host:port for UDP and TCP; default 0.0.0.0:7946 */
    char *advertise; /* host:port peers use; NULL = the bind address */
    char *join;      /* comma-separated host:port seeds; NULL = none */
    int profile;     /* enum swim_profile order: lan, wan, local, lossy */
    char *key_file;  /* base64 keys, one per line, first = primary; NULL = plaintext */
    char *tags;      /* k=v,k2=v2 (Serf tags); NULL = only weft's own */
};

/* [identity]: where the node's certificates come from (docs/identity.md). */
struct config_identity {
    char *bundle; /* enrollment bundle dir (weft ca issue); NULL = no identity */
};

struct weft_config {
    char *source; /* file it came from, or "<default>" */
    struct config_node node;
    struct config_log log;
    struct config_admin admin;
    struct config_gossip gossip;
    struct config_identity identity;
};

#endif
