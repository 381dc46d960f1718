/*
 * policy: the [policy NAME] kind (keys, checks, canonical body) and
 * mesh_policy_decide() (see policy.h for the evaluation rule).
 *
 * Lists are normalized: entries trimmed, sorted bytewise, written joined
 * with ", " (or "," when that line would be longer than the INI reader
 * takes), so "from = b,a" and "from = a, b" give the same body. A repeated
 * entry, an empty one, or "*" next to others is an error, not something
 * normalization hides.
 */
#include "mesh/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/inifile.h"
#include "mesh/object_kind.h"

enum { P_ACTION, P_FROM, P_TO, P_PRIORITY };

#define SPIFFE_PREFIX "spiffe://"

const char *mesh_action_name(enum mesh_action a)
{
    return a == MESH_ACTION_DENY ? "deny" : "allow";
}

bool mesh_policy_is_default(const struct mesh_obj *o)
{
    return o->kind == MESH_OBJ_POLICY && strcmp(o->name, MESH_POLICY_DEFAULT_NAME) == 0;
}

/* A full ID in `from`: spiffe://TD/svc/NAME or spiffe://TD/node/NAME. */
static int id_check(const char *s, struct weft_err *e)
{
    char td[256], q[128];
    const char *p = s + strlen(SPIFFE_PREFIX);
    const char *slash = strchr(p, '/');
    config_quote(s, q, sizeof(q));
    if (!slash || (size_t)(slash - p) >= sizeof(td))
        return err_set(e, "'%s' is not spiffe://TRUST-DOMAIN/svc/NAME or /node/NAME", q);
    memcpy(td, p, (size_t)(slash - p));
    td[slash - p] = '\0';
    if (config_trust_domain_check(td, e) != 0)
        return err_prefix(e, "'%s'", q);
    const char *name;
    if (strncmp(slash, "/svc/", 5) == 0)
        name = slash + 5;
    else if (strncmp(slash, "/node/", 6) == 0)
        name = slash + 6;
    else
        return err_set(e, "'%s' is not spiffe://TRUST-DOMAIN/svc/NAME or /node/NAME", q);
    if (config_name_check(name, e) != 0)
        return err_prefix(e, "'%s'", q);
    return 0;
}

static int entry_check(const char *s, bool ids, struct weft_err *e)
{
    if (strcmp(s, "*") == 0)
        return 0;
    if (strncmp(s, SPIFFE_PREFIX, strlen(SPIFFE_PREFIX)) == 0) {
        if (!ids)
            return err_set(e, "'to' names services, not IDs");
        return id_check(s, e);
    }
    return config_name_check(s, e);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_free(char **list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free(list[i]);
    *n = 0;
}

/* Split, check, sort a list into list[] (heap strings). */
static int list_parse(const char *text, bool ids, char **list, size_t *n, struct weft_err *e)
{
    const char *s = text;
    list_free(list, n);
    for (;;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len == 0) {
            list_free(list, n);
            return err_set(e, "empty entry in the list");
        }
        if (*n == MESH_POLICY_LIST_MAX) {
            list_free(list, n);
            return err_set(e, "more than %d entries", MESH_POLICY_LIST_MAX);
        }
        char *item = strndup(s, len);
        if (!item) {
            list_free(list, n);
            return err_set(e, "out of memory");
        }
        list[(*n)++] = item;
        if (entry_check(item, ids, e) != 0) {
            list_free(list, n);
            return -1;
        }
        if (!c)
            break;
        s = c + 1;
    }
    qsort(list, *n, sizeof(list[0]), cmp_str);
    for (size_t i = 0; i < *n; i++) {
        char q[96];
        if (i + 1 < *n && strcmp(list[i], list[i + 1]) == 0) {
            err_set(e, "'%s' is listed twice", config_quote(list[i], q, sizeof(q)));
            list_free(list, n);
            return -1;
        }
        if (*n > 1 && strcmp(list[i], "*") == 0) {
            list_free(list, n);
            return err_set(e, "'*' (everyone) must stand alone");
        }
    }
    return 0;
}

static int policy_set(struct mesh_obj *o, size_t key, const char *value, struct weft_err *e)
{
    struct mesh_policy *p = &o->u.policy;
    if (key != P_ACTION && mesh_policy_is_default(o))
        return err_set(e, "[policy default] holds only action (the mesh's default)");
    switch (key) {
    case P_ACTION:
        if (strcmp(value, "allow") == 0)
            p->action = MESH_ACTION_ALLOW;
        else if (strcmp(value, "deny") == 0)
            p->action = MESH_ACTION_DENY;
        else
            return err_set(e, "'%s' is not one of: allow, deny", value);
        return 0;
    case P_FROM:
        return list_parse(value, true, p->from, &p->n_from, e);
    case P_TO:
        return list_parse(value, false, p->to, &p->n_to, e);
    case P_PRIORITY: {
        int64_t v;
        if (mesh_obj_parse_int(value, 0, MESH_POLICY_PRIORITY_MAX, &v, e) != 0)
            return -1;
        p->priority = (int)v;
        return 0;
    }
    default:
        return err_set(e, "no such key");
    }
}

static void policy_finish(struct mesh_obj *o, struct mesh_obj_ctx *c)
{
    mesh_obj_require(c, P_ACTION);
    if (mesh_policy_is_default(o))
        return;
    mesh_obj_require(c, P_FROM);
    mesh_obj_require(c, P_TO);
    if (!mesh_obj_key_is_set(c, P_PRIORITY))
        o->u.policy.priority = MESH_POLICY_PRIORITY_DEFAULT;
}

static void list_line(struct sbuf *out, const char *key, char *const *list, size_t n)
{
    struct sbuf v;
    sbuf_init(&v);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&v, "%s%s", i ? ", " : "", list[i]);
    if (strlen(key) + 3 + v.len > CONFIG_INI_LINE_MAX) {
        sbuf_reset(&v);
        for (size_t i = 0; i < n; i++)
            sbuf_printf(&v, "%s%s", i ? "," : "", list[i]);
    }
    if (v.oom)
        out->oom = true;
    mesh_obj_body_line(out, key, sbuf_str(&v));
    sbuf_deinit(&v);
}

static void policy_body(const struct mesh_obj *o, struct sbuf *out)
{
    const struct mesh_policy *p = &o->u.policy;
    char prio[16];
    mesh_obj_body_line(out, "action", mesh_action_name(p->action));
    if (mesh_policy_is_default(o))
        return;
    list_line(out, "from", p->from, p->n_from);
    list_line(out, "to", p->to, p->n_to);
    snprintf(prio, sizeof(prio), "%d", p->priority);
    mesh_obj_body_line(out, "priority", prio);
}

static void policy_deinit(struct mesh_obj *o)
{
    list_free(o->u.policy.from, &o->u.policy.n_from);
    list_free(o->u.policy.to, &o->u.policy.n_to);
}

const struct mesh_obj_kind_ops mesh_policy_ops = {
    .name = "policy",
    .name_star = false,
    .keys = {"action", "from", "to", "priority", NULL},
    .set = policy_set,
    .finish = policy_finish,
    .body = policy_body,
    .deinit = policy_deinit,
};

/* ---- evaluation -------------------------------------------------------- */

/* caller_id == "spiffe://" td "/svc/" name, without building the string. */
static bool is_service_id(const char *caller_id, const char *td, const char *name)
{
    size_t pl = strlen(SPIFFE_PREFIX), tl = strlen(td);
    if (strncmp(caller_id, SPIFFE_PREFIX, pl) != 0)
        return false;
    caller_id += pl;
    if (strncmp(caller_id, td, tl) != 0)
        return false;
    caller_id += tl;
    if (strncmp(caller_id, "/svc/", 5) != 0)
        return false;
    return strcmp(caller_id + 5, name) == 0;
}

static bool from_matches(const struct mesh_policy *p, const char *td, const char *caller_id)
{
    for (size_t i = 0; i < p->n_from; i++) {
        const char *f = p->from[i];
        if (strcmp(f, "*") == 0 || strcmp(f, caller_id) == 0)
            return true;
        if (td && strncmp(f, SPIFFE_PREFIX, strlen(SPIFFE_PREFIX)) != 0 &&
            is_service_id(caller_id, td, f))
            return true;
    }
    return false;
}

static bool to_matches(const struct mesh_policy *p, const char *service)
{
    for (size_t i = 0; i < p->n_to; i++) {
        if (strcmp(p->to[i], "*") == 0 || strcmp(p->to[i], service) == 0)
            return true;
    }
    return false;
}

bool mesh_policy_matches(const struct mesh_obj *o, const char *trust_domain, const char *caller_id,
                         const char *service)
{
    if (o->kind != MESH_OBJ_POLICY || mesh_policy_is_default(o) || !caller_id || !service)
        return false;
    return to_matches(&o->u.policy, service) && from_matches(&o->u.policy, trust_domain, caller_id);
}

/* Does a beat b? Higher priority, then deny over allow, then the smaller name. */
static bool beats(const struct mesh_obj *a, const struct mesh_obj *b)
{
    const struct mesh_policy *pa = &a->u.policy, *pb = &b->u.policy;
    if (pa->priority != pb->priority)
        return pa->priority > pb->priority;
    if (pa->action != pb->action)
        return pa->action == MESH_ACTION_DENY;
    return strcmp(a->name, b->name) < 0;
}

void mesh_policy_decide(const struct mesh_obj *const *objs, size_t n, const char *trust_domain,
                        const char *caller_id, const char *service,
                        struct mesh_policy_decision *out)
{
    const struct mesh_obj *best = NULL, *def = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct mesh_obj *o = objs[i];
        if (!o || o->kind != MESH_OBJ_POLICY)
            continue;
        if (mesh_policy_is_default(o))
            def = o;
        else if (mesh_policy_matches(o, trust_domain, caller_id, service) &&
                 (!best || beats(o, best)))
            best = o;
    }
    if (!best)
        best = def;
    out->by = best;
    out->action = best ? best->u.policy.action : MESH_ACTION_ALLOW;
}
