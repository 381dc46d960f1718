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

struct weft_config {
    char *source; /* file it came from, or "<default>" */
    struct config_node node;
    struct config_log log;
    struct config_admin admin;
};

#endif
