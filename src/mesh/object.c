/*
 * object: `weft apply` files into config objects (see object.h).
 *
 * One pass over the file through config/inifile.c, then one pass over the
 * objects:
 *
 *   header [KIND NAME]   kind known? name valid? not repeated? room left?
 *                        (if not: one error, and the section's keys are
 *                        dropped by the reader)
 *   key = value          known key of the kind? first time? the kind's
 *                        setter parses and checks the value
 *   then, per object     the kind's finish step (required keys, rules that
 *                        span keys), then the canonical body (size-checked)
 *
 * Every error is collected; any error refuses the whole file. Lines and
 * which keys were set live in a side array next to the objects, so the
 * finish step can still point at a line.
 */
#include "mesh/object.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/inifile.h"
#include "core/units.h"
#include "mesh/object_kind.h"

static const struct mesh_obj_kind_ops *const kinds[MESH_OBJ_KIND_COUNT] = {
    [MESH_OBJ_POLICY] = &mesh_policy_ops,
    [MESH_OBJ_UPSTREAM_DEFAULTS] = &mesh_upstream_defaults_ops,
};

/* Where one object's header and keys were. */
struct obj_lines {
    int header;
    int key_line[MESH_OBJ_KEYS_MAX]; /* 0 = not set */
    bool bad;                        /* an error was reported for it */
};

struct mesh_obj_ctx {
    const char *file;
    struct config_errs *errs;
    unsigned nerr;
    size_t max_objs;       /* MESH_OBJ_FILE_MAX, or 1 for a body */
    struct mesh_obj *objs; /* heap, cap entries */
    struct obj_lines *lines;
    size_t n, cap;
    bool in_obj; /* the keys that follow belong to objs[n - 1] */
    size_t at;   /* the object the finish step is on */
};

const char *mesh_obj_kind_name(enum mesh_obj_kind kind)
{
    return (unsigned)kind < MESH_OBJ_KIND_COUNT ? kinds[kind]->name : "?";
}

int mesh_obj_kind_parse(const char *s, enum mesh_obj_kind *out)
{
    for (int i = 0; i < MESH_OBJ_KIND_COUNT; i++) {
        if (strcmp(s, kinds[i]->name) == 0) {
            *out = (enum mesh_obj_kind)i;
            return 0;
        }
    }
    return -1;
}

/* ---- errors ------------------------------------------------------------ */

static void ctx_error(struct mesh_obj_ctx *c, int line, const char *what, const char *fmt,
                      va_list ap) __attribute__((format(printf, 4, 0)));

static void ctx_error(struct mesh_obj_ctx *c, int line, const char *what, const char *fmt,
                      va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    c->nerr++;
    if (line > 0)
        config_errs_add(c->errs, "%s:%d: %s: %s", c->file, line, what, msg);
    else
        config_errs_add(c->errs, "%s: %s: %s", c->file, what, msg);
}

/* "FILE:LINE: [KIND NAME] key: message" (key NULL: "[KIND NAME]: ..."). */
static void obj_error(struct mesh_obj_ctx *c, int line, const char *kind, const char *name,
                      const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void obj_error(struct mesh_obj_ctx *c, int line, const char *kind, const char *name,
                      const char *key, const char *fmt, ...)
{
    char what[272], qk[80], qn[96], qkey[80];
    va_list ap;
    config_quote(kind, qk, sizeof(qk));
    config_quote(name, qn, sizeof(qn));
    config_quote(key ? key : "", qkey, sizeof(qkey));
    snprintf(what, sizeof(what), "[%s%s%s]%s%s", qk, *qn ? " " : "", qn, key ? " " : "", qkey);
    va_start(ap, fmt);
    ctx_error(c, line, what, fmt, ap);
    va_end(ap);
}

void mesh_obj_error(struct mesh_obj_ctx *c, int key, const char *fmt, ...)
{
    struct mesh_obj *o = &c->objs[c->at];
    struct obj_lines *l = &c->lines[c->at];
    const struct mesh_obj_kind_ops *ops = kinds[o->kind];
    char what[256], qk[80];
    va_list ap;
    int line = key >= 0 && l->key_line[key] ? l->key_line[key] : l->header;
    l->bad = true;
    config_quote(key >= 0 ? ops->keys[key] : "", qk, sizeof(qk));
    snprintf(what, sizeof(what), "[%s %s]%s%s", ops->name, o->name, key >= 0 ? " " : "", qk);
    va_start(ap, fmt);
    ctx_error(c, line, what, fmt, ap);
    va_end(ap);
}

bool mesh_obj_key_is_set(const struct mesh_obj_ctx *c, size_t key)
{
    return c->lines[c->at].key_line[key] > 0;
}

void mesh_obj_require(struct mesh_obj_ctx *c, size_t key)
{
    if (!mesh_obj_key_is_set(c, key))
        mesh_obj_error(c, (int)key, "missing (required)");
}

/* ---- shared value parsers ---------------------------------------------- */

int mesh_obj_parse_int(const char *text, int64_t min, int64_t max, int64_t *out, struct weft_err *e)
{
    const char *p = text;
    bool neg = *p == '-';
    int64_t v = 0;
    if (neg)
        p++;
    if (!isdigit((unsigned char)*p))
        return err_set(e, "'%s' is not an integer", text);
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return err_set(e, "'%s' is out of range (%lld..%lld)", text, (long long)min,
                           (long long)max);
        v = v * 10 + (*p - '0');
    }
    if (*p)
        return err_set(e, "'%s' is not an integer", text);
    if (neg)
        v = -v;
    if (v < min || v > max)
        return err_set(e, "'%s' is out of range (%lld..%lld)", text, (long long)min,
                       (long long)max);
    *out = v;
    return 0;
}

int mesh_obj_parse_duration(const char *text, int64_t min_ms, int64_t max_ms, int64_t *out,
                            struct weft_err *e)
{
    int64_t v;
    char lo[32], hi[32];
    if (units_parse_duration_ms(text, &v, e) != 0)
        return -1;
    if (v < min_ms || v > max_ms) {
        units_format_duration(min_ms, lo, sizeof(lo));
        units_format_duration(max_ms, hi, sizeof(hi));
        return err_set(e, "'%s' is out of range (%s..%s)", text, lo, hi);
    }
    *out = v;
    return 0;
}

void mesh_obj_body_line(struct sbuf *out, const char *key, const char *value)
{
    if (strlen(key) + 3 + strlen(value) > CONFIG_INI_LINE_MAX)
        sbuf_printf(out, "%s=%s\n", key, value);
    else
        sbuf_printf(out, "%s = %s\n", key, value);
}

/* ---- the reader's callbacks -------------------------------------------- */

static int grow(struct mesh_obj_ctx *c)
{
    if (c->n < c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : 8;
    if (cap > c->max_objs)
        cap = c->max_objs;
    struct mesh_obj *objs = realloc(c->objs, cap * sizeof(*objs));
    if (!objs)
        return -1;
    c->objs = objs;
    struct obj_lines *lines = realloc(c->lines, cap * sizeof(*lines));
    if (!lines)
        return -1;
    c->lines = lines;
    c->cap = cap;
    return 0;
}

static int on_section(void *arg, int line, const char *header)
{
    struct mesh_obj_ctx *c = arg;
    char kind_word[64];
    enum mesh_obj_kind kind;
    struct weft_err e;
    c->in_obj = false;
    size_t kl = strcspn(header, " \t");
    const char *name = header + kl + strspn(header + kl, " \t");
    snprintf(kind_word, sizeof(kind_word), "%.*s", (int)(kl < 63 ? kl : 63), header);
    if (mesh_obj_kind_parse(kind_word, &kind) != 0) {
        obj_error(c, line, kind_word, name, NULL,
                  "unknown kind (known: policy, upstream-defaults)");
        return CONFIG_INI_SKIP;
    }
    const struct mesh_obj_kind_ops *ops = kinds[kind];
    if (!*name) {
        obj_error(c, line, ops->name, "", NULL, "needs a name: [%s NAME]", ops->name);
        return CONFIG_INI_SKIP;
    }
    err_clear(&e);
    if (!(ops->name_star && strcmp(name, "*") == 0) && config_name_check(name, &e) != 0) {
        obj_error(c, line, ops->name, name, NULL, "%s%s", e.msg,
                  ops->name_star ? " (or '*' for every service)" : "");
        return CONFIG_INI_SKIP;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->objs[i].kind == kind && strcmp(c->objs[i].name, name) == 0) {
            obj_error(c, line, ops->name, name, NULL, "duplicate object (first at line %d)",
                      c->lines[i].header);
            return CONFIG_INI_SKIP;
        }
    }
    if (c->n >= c->max_objs) {
        if (c->max_objs == 1)
            obj_error(c, line, ops->name, name, NULL, "a body holds no section header");
        else
            obj_error(c, line, ops->name, name, NULL, "more than %zu objects in one file",
                      c->max_objs);
        return CONFIG_INI_SKIP;
    }
    if (grow(c) != 0) {
        config_errs_add(c->errs, "%s: out of memory", c->file);
        c->nerr++;
        return CONFIG_INI_STOP;
    }
    struct mesh_obj *o = &c->objs[c->n];
    memset(o, 0, sizeof(*o));
    memset(&c->lines[c->n], 0, sizeof(c->lines[c->n]));
    o->kind = kind;
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->line = line;
    c->lines[c->n].header = line;
    c->n++;
    c->in_obj = true;
    return CONFIG_INI_KEYS;
}

static int on_key(void *arg, int line, const char *key, const char *value)
{
    struct mesh_obj_ctx *c = arg;
    if (!c->in_obj)
        return 0; /* cannot happen: the reader drops keys of refused sections */
    struct mesh_obj *o = &c->objs[c->n - 1];
    struct obj_lines *l = &c->lines[c->n - 1];
    const struct mesh_obj_kind_ops *ops = kinds[o->kind];
    size_t idx = 0;
    while (ops->keys[idx] && strcmp(ops->keys[idx], key) != 0)
        idx++;
    if (!ops->keys[idx]) {
        char list[256];
        size_t n = 0;
        list[0] = '\0';
        for (size_t i = 0; ops->keys[i] && n < sizeof(list); i++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", ops->keys[i]);
        l->bad = true;
        obj_error(c, line, ops->name, o->name, key, "unknown key (keys: %s)", list);
        return 0;
    }
    if (l->key_line[idx]) {
        l->bad = true;
        obj_error(c, line, ops->name, o->name, key, "duplicate key (first set at line %d)",
                  l->key_line[idx]);
        return 0;
    }
    l->key_line[idx] = line;
    struct weft_err e;
    err_clear(&e);
    int rc = -1;
    if (!*value)
        err_set(&e, "empty value (leave the key out for its default)");
    else
        rc = ops->set(o, idx, value, &e);
    if (rc != 0) {
        l->bad = true;
        obj_error(c, line, ops->name, o->name, key, "%s%s", e.msg,
                  strchr(value, ';') ? " (a comment needs a blank before ';')" : "");
    }
    return 0;
}

/* ---- the whole file ---------------------------------------------------- */

static void ctx_free_objs(struct mesh_obj_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        mesh_obj_deinit(&c->objs[i]);
    free(c->objs);
    free(c->lines);
    c->objs = NULL;
    c->lines = NULL;
    c->n = c->cap = 0;
}

/* Finish and body of every object. */
static void finish_all(struct mesh_obj_ctx *c)
{
    struct sbuf body;
    sbuf_init(&body);
    for (c->at = 0; c->at < c->n; c->at++) {
        struct mesh_obj *o = &c->objs[c->at];
        const struct mesh_obj_kind_ops *ops = kinds[o->kind];
        ops->finish(o, c);
        if (c->lines[c->at].bad)
            continue;
        sbuf_reset(&body);
        ops->body(o, &body);
        if (body.oom) {
            mesh_obj_error(c, -1, "out of memory");
            continue;
        }
        if (body.len > MESH_OBJ_BODY_MAX) {
            mesh_obj_error(c, -1, "body of %zu bytes is over %d", body.len, MESH_OBJ_BODY_MAX);
            continue;
        }
        o->body = strdup(sbuf_str(&body));
        if (!o->body) {
            mesh_obj_error(c, -1, "out of memory");
            continue;
        }
        o->body_len = body.len;
    }
    sbuf_deinit(&body);
}

static int parse_text(const char *file, const char *text, size_t max_objs,
                      struct mesh_obj_file *out, struct config_errs *errs)
{
    static const struct config_ini_handlers h = {on_section, on_key};
    struct mesh_obj_ctx c;
    memset(&c, 0, sizeof(c));
    memset(out, 0, sizeof(*out));
    c.file = file ? file : "<string>";
    c.errs = errs;
    c.max_objs = max_objs;
    if (!errs->limit)
        config_errs_set_limit(errs, MESH_OBJ_ERRS_MAX);
    c.nerr += config_inifile_read(c.file, text ? text : "", &h, &c, errs);
    finish_all(&c);
    if (c.nerr == 0 && c.n == 0) {
        config_errs_add(errs, "%s: no objects (expected [KIND NAME] sections)", c.file);
        c.nerr++;
    }
    if (c.nerr) {
        ctx_free_objs(&c);
        return -1;
    }
    free(c.lines);
    out->objs = c.objs;
    out->n = c.n;
    return 0;
}

int mesh_obj_parse(const char *file, const char *text, struct mesh_obj_file *out,
                   struct config_errs *errs)
{
    return parse_text(file, text, MESH_OBJ_FILE_MAX, out, errs);
}

int mesh_obj_load_file(const char *path, struct mesh_obj_file *out, struct config_errs *errs)
{
    struct sbuf text;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    sbuf_init(&text);
    if (config_read_text(path, MESH_OBJ_FILE_BYTES_MAX, &text, errs) == 0)
        rc = mesh_obj_parse(path, sbuf_str(&text), out, errs);
    sbuf_deinit(&text);
    return rc;
}

void mesh_obj_file_deinit(struct mesh_obj_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        mesh_obj_deinit(&f->objs[i]);
    free(f->objs);
    f->objs = NULL;
    f->n = 0;
}

int mesh_obj_from_body(const char *kind, const char *name, const char *body, size_t body_len,
                       struct mesh_obj *o, struct weft_err *e)
{
    enum mesh_obj_kind k;
    char q[96];
    memset(o, 0, sizeof(*o));
    if (!kind || mesh_obj_kind_parse(kind, &k) != 0)
        return err_set(e, "unknown kind '%s'", config_quote(kind ? kind : "", q, sizeof(q)));
    if (!name ||
        (!(kinds[k]->name_star && strcmp(name, "*") == 0) && config_name_check(name, e) != 0))
        return name ? err_prefix(e, "%s", kind) : err_set(e, "%s: no name", kind);
    if (body_len > MESH_OBJ_BODY_MAX)
        return err_set(e, "[%s %s]: body of %zu bytes is over %d", kind, name, body_len,
                       MESH_OBJ_BODY_MAX);
    if (body_len && memchr(body, '\0', body_len))
        return err_set(e, "[%s %s]: body holds a NUL byte", kind, name);

    struct sbuf text;
    struct config_errs errs;
    struct mesh_obj_file f;
    sbuf_init(&text);
    config_errs_init(&errs);
    config_errs_set_limit(&errs, 1);
    sbuf_printf(&text, "[%s %s]\n", kind, name);
    sbuf_append(&text, body, body_len);
    int rc = -1;
    if (text.oom)
        err_set(e, "out of memory");
    else if (parse_text("<body>", sbuf_str(&text), 1, &f, &errs) != 0)
        err_set(e, "%s", errs.n ? errs.lines[0] : "refused");
    else {
        *o = f.objs[0];
        o->line = 0;
        free(f.objs);
        rc = 0;
    }
    config_errs_deinit(&errs);
    sbuf_deinit(&text);
    return rc;
}

void mesh_obj_render(const struct mesh_obj *o, struct sbuf *out)
{
    sbuf_printf(out, "[%s %s]\n", mesh_obj_kind_name(o->kind), o->name);
    if (o->body)
        sbuf_append(out, o->body, o->body_len);
}

void mesh_obj_deinit(struct mesh_obj *o)
{
    if ((unsigned)o->kind < MESH_OBJ_KIND_COUNT && kinds[o->kind]->deinit)
        kinds[o->kind]->deinit(o);
    free(o->body);
    memset(o, 0, sizeof(*o));
}
