/*
 * upstream_defaults: [upstream-defaults NAME] objects, the connection
 * settings of the upstreams that call a service (docs/mesh.md).
 *
 *   [upstream-defaults *]        every service
 *   [upstream-defaults NAME]     one service; overrides * key by key
 *
 *   key               built-in   range
 *   connect_timeout   5s         10ms-5m
 *   idle_timeout      1h         0 (never) or 1s-30d
 *   lb                round_robin  round_robin | least_conn | random | p2c
 *   max_connections   1024       1-1000000
 *   max_pending       1024       0-1000000
 *   connect_retries   1          0-5
 *
 * An object's body holds only the keys it sets: the others inherit, from
 * [upstream-defaults *] for a service's own object, else the built-in
 * value. mesh_upstream_defaults_resolve() applies that cascade.
 */
#ifndef WEFT_MESH_UPSTREAM_DEFAULTS_H
#define WEFT_MESH_UPSTREAM_DEFAULTS_H

#include <stddef.h>

#include "mesh/object_types.h"

/** "round_robin", "least_conn", "random", "p2c" ("?" out of range). */
const char *mesh_lb_name(enum mesh_lb lb);

/** The built-in values (set = 0). */
void mesh_upstream_defaults_builtin(struct mesh_upstream_defaults *out);

/**
 * The effective settings for calls to `service`: built-in, then the keys
 * of [upstream-defaults *], then those of [upstream-defaults SERVICE].
 * Objects of other kinds in objs[0..n) are skipped. out->set is the union
 * of the keys the objects set.
 */
void mesh_upstream_defaults_resolve(const struct mesh_obj *const *objs, size_t n,
                                    const char *service, struct mesh_upstream_defaults *out);

#endif
