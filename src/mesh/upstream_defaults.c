/*
 * upstream_defaults: the [upstream-defaults NAME|*] kind (keys, checks,
 * canonical body) and the cascade that resolves the effective settings
 * (see upstream_defaults.h).
 *
 * Values are normalized for the body: durations as core/units formats them
 * ("5000ms" -> "5s", "90m" -> "1h30m"), integers in decimal. Only the keys
 * the object sets are written, in the fixed order of enum mesh_ud_key.
 */
#include "mesh/upstream_defaults.h"

#include <stdio.h>
#include <string.h>

#include "core/units.h"
#include "mesh/object_kind.h"

_Static_assert(MESH_UD_KEY_COUNT < MESH_OBJ_KEYS_MAX, "room for the keys and the NULL");

/* Bounds, with the reason: */
#define CONNECT_TIMEOUT_MIN 10                 /* below a LAN round trip is a typo */
#define CONNECT_TIMEOUT_MAX (5 * 60 * 1000)    /* a connect that takes minutes is down */
#define IDLE_TIMEOUT_MIN 1000                  /* 0 = never; else at least a second */
#define IDLE_TIMEOUT_MAX (30LL * 86400 * 1000) /* a month */
#define CONNECTIONS_MAX 1000000                /* far above what a gateway holds */
#define RETRIES_MAX 5                          /* more only multiplies load on a failure */

static const char *const lb_names[MESH_LB_COUNT] = {"round_robin", "least_conn", "random", "p2c"};

const char *mesh_lb_name(enum mesh_lb lb)
{
    return (unsigned)lb < MESH_LB_COUNT ? lb_names[lb] : "?";
}

void mesh_upstream_defaults_builtin(struct mesh_upstream_defaults *out)
{
    memset(out, 0, sizeof(*out));
    out->connect_timeout_ms = 5000;
    out->idle_timeout_ms = 3600 * 1000;
    out->lb = MESH_LB_ROUND_ROBIN;
    out->max_connections = 1024;
    out->max_pending = 1024;
    out->connect_retries = 1;
}

static int ud_set(struct mesh_obj *o, size_t key, const char *value, struct weft_err *e)
{
    struct mesh_upstream_defaults *u = &o->u.upstream;
    int64_t v;
    switch (key) {
    case MESH_UD_CONNECT_TIMEOUT:
        if (mesh_obj_parse_duration(value, CONNECT_TIMEOUT_MIN, CONNECT_TIMEOUT_MAX, &v, e) != 0)
            return -1;
        u->connect_timeout_ms = v;
        break;
    case MESH_UD_IDLE_TIMEOUT:
        if (units_parse_duration_ms(value, &v, e) != 0)
            return -1;
        if (v != 0 && (v < IDLE_TIMEOUT_MIN || v > IDLE_TIMEOUT_MAX))
            return err_set(e, "'%s' is out of range (0 = never, or 1s..30d)", value);
        u->idle_timeout_ms = v;
        break;
    case MESH_UD_LB: {
        int i = 0;
        while (i < MESH_LB_COUNT && strcmp(value, lb_names[i]) != 0)
            i++;
        if (i == MESH_LB_COUNT)
            return err_set(e, "'%s' is not one of: round_robin, least_conn, random, p2c", value);
        u->lb = (enum mesh_lb)i;
        break;
    }
    case MESH_UD_MAX_CONNECTIONS:
        if (mesh_obj_parse_int(value, 1, CONNECTIONS_MAX, &v, e) != 0)
            return -1;
        u->max_connections = (int32_t)v;
        break;
    case MESH_UD_MAX_PENDING:
        if (mesh_obj_parse_int(value, 0, CONNECTIONS_MAX, &v, e) != 0)
            return -1;
        u->max_pending = (int32_t)v;
        break;
    case MESH_UD_CONNECT_RETRIES:
        if (mesh_obj_parse_int(value, 0, RETRIES_MAX, &v, e) != 0)
            return -1;
        u->connect_retries = (int32_t)v;
        break;
    default:
        return err_set(e, "no such key");
    }
    u->set |= 1u << key;
    return 0;
}

static void ud_finish(struct mesh_obj *o, struct mesh_obj_ctx *c)
{
    for (size_t k = 0; k < MESH_UD_KEY_COUNT; k++) {
        if (mesh_obj_key_is_set(c, k))
            return;
    }
    (void)o;
    mesh_obj_error(c, -1,
                   "sets no key (connect_timeout, idle_timeout, lb, max_connections, "
                   "max_pending, connect_retries)");
}

static void ud_body(const struct mesh_obj *o, struct sbuf *out)
{
    const struct mesh_upstream_defaults *u = &o->u.upstream;
    char v[32];
    for (int k = 0; k < MESH_UD_KEY_COUNT; k++) {
        if (!(u->set & (1u << k)))
            continue;
        switch (k) {
        case MESH_UD_CONNECT_TIMEOUT:
            units_format_duration(u->connect_timeout_ms, v, sizeof(v));
            break;
        case MESH_UD_IDLE_TIMEOUT:
            units_format_duration(u->idle_timeout_ms, v, sizeof(v));
            break;
        case MESH_UD_LB:
            snprintf(v, sizeof(v), "%s", mesh_lb_name(u->lb));
            break;
        case MESH_UD_MAX_CONNECTIONS:
            snprintf(v, sizeof(v), "%d", (int)u->max_connections);
            break;
        case MESH_UD_MAX_PENDING:
            snprintf(v, sizeof(v), "%d", (int)u->max_pending);
            break;
        default:
            snprintf(v, sizeof(v), "%d", (int)u->connect_retries);
            break;
        }
        mesh_obj_body_line(out, mesh_upstream_defaults_ops.keys[k], v);
    }
}

const struct mesh_obj_kind_ops mesh_upstream_defaults_ops = {
    .name = "upstream-defaults",
    .name_star = true,
    .keys = {"connect_timeout", "idle_timeout", "lb", "max_connections", "max_pending",
             "connect_retries", NULL},
    .set = ud_set,
    .finish = ud_finish,
    .body = ud_body,
    .deinit = NULL,
};

/* Copy the keys o sets into out. */
static void apply(struct mesh_upstream_defaults *out, const struct mesh_upstream_defaults *o)
{
    if (o->set & (1u << MESH_UD_CONNECT_TIMEOUT))
        out->connect_timeout_ms = o->connect_timeout_ms;
    if (o->set & (1u << MESH_UD_IDLE_TIMEOUT))
        out->idle_timeout_ms = o->idle_timeout_ms;
    if (o->set & (1u << MESH_UD_LB))
        out->lb = o->lb;
    if (o->set & (1u << MESH_UD_MAX_CONNECTIONS))
        out->max_connections = o->max_connections;
    if (o->set & (1u << MESH_UD_MAX_PENDING))
        out->max_pending = o->max_pending;
    if (o->set & (1u << MESH_UD_CONNECT_RETRIES))
        out->connect_retries = o->connect_retries;
    out->set |= o->set;
}

void mesh_upstream_defaults_resolve(const struct mesh_obj *const *objs, size_t n,
                                    const char *service, struct mesh_upstream_defaults *out)
{
    const struct mesh_obj *any = NULL, *own = NULL;
    mesh_upstream_defaults_builtin(out);
    for (size_t i = 0; i < n; i++) {
        const struct mesh_obj *o = objs[i];
        if (!o || o->kind != MESH_OBJ_UPSTREAM_DEFAULTS)
            continue;
        if (strcmp(o->name, "*") == 0)
            any = o;
        else if (service && strcmp(o->name, service) == 0)
            own = o;
    }
    if (any)
        apply(out, &any->u.upstream);
    if (own)
        apply(out, &own->u.upstream);
}
