/*
 * object_types: the config objects of `weft apply` (docs/mesh.md, "Config
 * objects"), as typed structs: one struct mesh_obj per [KIND NAME] section,
 * with its canonical body and the typed values of its kind.
 *
 * Who owns what: a struct mesh_obj owns its body and the strings of its
 * kind's values (policy lists); mesh_obj_deinit() (object.h) frees them.
 * Objects come from mesh_obj_parse() (a file, many objects) or
 * mesh_obj_from_body() (one stored body).
 */
#ifndef WEFT_MESH_OBJECT_TYPES_H
#define WEFT_MESH_OBJECT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Object names: config's name rule (1-63 of A-Z a-z 0-9 . _ -; config.h). */
#define MESH_OBJ_NAME_MAX 63
/* A body is at most 16 KiB: mesh/record.h's MESH_BODY_MAX (test_object checks). */
#define MESH_OBJ_BODY_MAX (16 * 1024)

enum mesh_obj_kind {
    MESH_OBJ_POLICY,            /* [policy NAME] */
    MESH_OBJ_UPSTREAM_DEFAULTS, /* [upstream-defaults NAME|*] */
    MESH_OBJ_KIND_COUNT
};

/* ---- policy (mesh/policy.c) ---- */

enum mesh_action { MESH_ACTION_ALLOW, MESH_ACTION_DENY };

/* Entries in one from or to list at most (a list is one line anyway). */
#define MESH_POLICY_LIST_MAX 64
#define MESH_POLICY_PRIORITY_DEFAULT 100
#define MESH_POLICY_PRIORITY_MAX 1000
/* The name of the object that holds the mesh's default action. */
#define MESH_POLICY_DEFAULT_NAME "default"

struct mesh_policy {
    enum mesh_action action;
    int priority; /* 0-1000; higher is evaluated first */
    /* Sorted (strcmp), no repeats; "*" only alone. Heap strings. from: "*",
     * service names, or full IDs spiffe://TD/svc/NAME, spiffe://TD/node/NAME.
     * to: "*" or service names. Both empty in [policy default]. */
    size_t n_from, n_to;
    char *from[MESH_POLICY_LIST_MAX];
    char *to[MESH_POLICY_LIST_MAX];
};

/* ---- upstream-defaults (mesh/upstream_defaults.c) ---- */

enum mesh_lb {
    MESH_LB_ROUND_ROBIN,
    MESH_LB_LEAST_CONN,
    MESH_LB_RANDOM,
    MESH_LB_P2C,
    MESH_LB_COUNT
};

/* The keys, in body order; bit (1 << key) in `set`. */
enum mesh_ud_key {
    MESH_UD_CONNECT_TIMEOUT,
    MESH_UD_IDLE_TIMEOUT,
    MESH_UD_LB,
    MESH_UD_MAX_CONNECTIONS,
    MESH_UD_MAX_PENDING,
    MESH_UD_CONNECT_RETRIES,
    MESH_UD_KEY_COUNT
};

struct mesh_upstream_defaults {
    unsigned set;               /* keys this object sets; the others inherit */
    int64_t connect_timeout_ms; /* built-in 5s */
    int64_t idle_timeout_ms;    /* built-in 1h; 0 = never */
    enum mesh_lb lb;            /* built-in round_robin */
    int32_t max_connections;    /* built-in 1024 */
    int32_t max_pending;        /* built-in 1024 */
    int32_t connect_retries;    /* built-in 1 */
};

/* ---- the object ---- */

struct mesh_obj {
    enum mesh_obj_kind kind;
    char name[MESH_OBJ_NAME_MAX + 1]; /* "*" only for upstream-defaults */
    int line;                         /* its header in the file; 0 = from a body */
    char *body;                       /* canonical body, NUL-terminated, heap */
    size_t body_len;
    union {
        struct mesh_policy policy;
        struct mesh_upstream_defaults upstream;
    } u;
};

#endif
