/*
 * parse: INI text into struct weft_config.
 *
 * The lines come from config/inifile.c (the one INI reader: line numbers,
 * long lines, syntax errors, over Debian's prebuilt inih); this file gives
 * them meaning. A header names either a fixed section ([node], [log], ...)
 * or a kind of named section and its item ([service web]); a key is looked
 * up in the section's rows and parsed into its field, its line remembered
 * for later checks.
 *
 * Keys inside an unknown, refused or repeated named section are not
 * reported one by one: the section header already carries the error. A
 * repeated fixed section keeps its keys (they are checked, and reported as
 * duplicates).
 */
#include "config/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/inifile.h"

/* Longest message part: a quoted value is at most one line (< 200 bytes). */
#define MSG_MAX 1024

static void error_prefixed(struct config_parse *p, int line, const char *what, const char *fmt,
                           va_list ap) __attribute__((format(printf, 4, 0)));

static void error_prefixed(struct config_parse *p, int line, const char *what, const char *fmt,
                           va_list ap)
{
    char msg[MSG_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    p->nerr++;
    if (line > 0)
        config_errs_add(p->errs, "%s:%d: %s%s%s", p->file, line, what, *what ? ": " : "", msg);
    else
        config_errs_add(p->errs, "%s: %s%s%s", p->file, what, *what ? ": " : "", msg);
}

void config_error_key(struct config_parse *p, int line, const struct config_key *k, const char *fmt,
                      ...)
{
    char what[128];
    va_list ap;
    snprintf(what, sizeof(what), "%s.%s", k->section, k->name);
    va_start(ap, fmt);
    error_prefixed(p, line, what, fmt, ap);
    va_end(ap);
}

void config_error_section(struct config_parse *p, int line, const char *section, const char *fmt,
                          ...)
{
    char what[128];
    va_list ap;
    snprintf(what, sizeof(what), "[%s]", section);
    va_start(ap, fmt);
    error_prefixed(p, line, what, fmt, ap);
    va_end(ap);
}

static void error_line(struct config_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void error_line(struct config_parse *p, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_prefixed(p, line, "", fmt, ap);
    va_end(ap);
}

void config_error_item(struct config_parse *p, int line, const struct config_kind *kd,
                       const void *item, const struct config_key *k, const char *fmt, ...)
{
    char what[160], q[96];
    va_list ap;
    snprintf(what, sizeof(what), "[%s %s]%s%s", kd->name,
             config_quote(config_item_name(kd, item), q, sizeof(q)), k ? " " : "",
             k ? k->name : "");
    va_start(ap, fmt);
    error_prefixed(p, line, what, fmt, ap);
    va_end(ap);
}

void config_parse_init(struct config_parse *p, const char *file, const char *text,
                       struct weft_config *cfg, struct config_errs *errs)
{
    memset(p, 0, sizeof(*p));
    p->file = file;
    p->text = text;
    p->section = -1;
    p->kind = -1;
    p->cfg = cfg;
    p->errs = errs;
}

void config_parse_deinit(struct config_parse *p)
{
    for (size_t i = 0; i < CONFIG_KINDS_MAX; i++) {
        free(p->item_lines[i]);
        p->item_lines[i] = NULL;
    }
}

/* "[KIND NAME]": a new item of kind kd. Returns what inifile should do. */
static int named_section(struct config_parse *p, int line, int kind, const char *name)
{
    const struct config_kind *kd = &config_kinds[kind];
    struct config_list *l = config_kind_list(p->cfg, kd);
    struct weft_err e;
    char q[96];
    err_clear(&e);
    if (config_name_check(name, &e) != 0) {
        error_line(p, line, "[%s %s]: %s", kd->name, config_quote(name, q, sizeof(q)), e.msg);
        return CONFIG_INI_SKIP;
    }
    const void *dup = l->n ? config_list_find(kd, l, name) : NULL;
    if (dup) {
        size_t j = (size_t)((const char *)dup - (const char *)l->items) / kd->item_size;
        error_line(p, line, "[%s %s]: duplicate section (first at line %d)", kd->name, name,
                   p->item_lines[kind][j].section_line);
        return CONFIG_INI_SKIP;
    }
    if (l->n >= kd->max) {
        error_line(p, line, "[%s %s]: more than %zu %s", kd->name, name, kd->max, kd->plural);
        return CONFIG_INI_SKIP;
    }
    if (!l->items) {
        l->items = calloc(kd->max, kd->item_size);
        p->item_lines[kind] = calloc(kd->max, sizeof(struct config_item_lines));
        if (!l->items || !p->item_lines[kind]) {
            error_line(p, 0, "out of memory");
            return CONFIG_INI_STOP;
        }
    }
    void *item = config_kind_item(kd, l, l->n);
    char **iname = (char **)((char *)item + kd->name_offset);
    if (!(*iname = strdup(name))) {
        error_line(p, 0, "out of memory");
        return CONFIG_INI_STOP;
    }
    p->item_lines[kind][l->n].section_line = line;
    p->item = l->n++;
    p->kind = kind;
    return CONFIG_INI_KEYS;
}

/* The inifile section callback. */
static int on_section(void *arg, int line, const char *name)
{
    struct config_parse *p = arg;
    char q[96];
    const char *blank = strpbrk(name, " \t");
    p->section = -1;
    p->kind = -1;
    if (blank) {
        char kind_name[64];
        size_t kl = (size_t)(blank - name);
        const char *item = blank + strspn(blank, " \t");
        snprintf(kind_name, sizeof(kind_name), "%.*s", (int)kl, name);
        int kind = config_schema_kind(kind_name);
        if (kind >= 0)
            return named_section(p, line, kind, item);
        if (config_schema_section(kind_name) >= 0) {
            error_line(p, line, "[%s]: [%s] takes no name", config_quote(name, q, sizeof(q)),
                       kind_name);
            return CONFIG_INI_SKIP;
        }
        config_error_section(p, line, config_quote(name, q, sizeof(q)), "unknown section");
        return CONFIG_INI_SKIP;
    }
    int idx = config_schema_section(name);
    if (idx < 0) {
        if (config_schema_kind(name) >= 0)
            config_error_section(p, line, name, "needs a name: [%s NAME]", name);
        else
            config_error_section(p, line, config_quote(name, q, sizeof(q)), "unknown section");
        return CONFIG_INI_SKIP;
    }
    if (p->section_line[idx])
        config_error_section(p, line, name, "duplicate section (first at line %d)",
                             p->section_line[idx]);
    else
        p->section_line[idx] = line;
    p->section = idx;
    return CONFIG_INI_KEYS;
}

/* Sections (other than `section`) that have a key called `name`, for hints. */
static void other_sections(const char *section, const char *name, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < config_keys_count && n < cap; i++) {
        const struct config_key *k = &config_keys[i];
        if (strcmp(k->name, name) == 0 && strcmp(k->section, section) != 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s[%s]", n ? ", " : "", k->section);
    }
    for (size_t i = 0; i < config_kinds_count && n < cap; i++) {
        const struct config_kind *kd = &config_kinds[i];
        if (strcmp(kd->name, section) != 0 && config_kind_key(kd, name))
            n += (size_t)snprintf(buf + n, cap - n, "%s[%s NAME]", n ? ", " : "", kd->name);
    }
}

/* Parse one value into its field; the shared part of both kinds of section. */
static bool set_value(const struct config_key *k, const char *value, void *field,
                      struct weft_err *e)
{
    err_clear(e);
    if (config_value_parse(k, value, field, e) == 0)
        return true;
    if (strchr(value, ';')) {
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof(e->msg) - n, " (a comment needs a blank before ';')");
    }
    return false;
}

/* A key of the current [KIND NAME] section. */
static int named_key(struct config_parse *p, int line, const char *name, const char *value)
{
    const struct config_kind *kd = &config_kinds[p->kind];
    void *item = config_kind_item(kd, config_kind_list(p->cfg, kd), p->item);
    struct config_item_lines *il = &p->item_lines[p->kind][p->item];
    const struct config_key *k = config_kind_key(kd, name);
    struct weft_err e;
    char q[96], where[128];
    if (!k) {
        other_sections(kd->name, name, where, sizeof(where));
        error_line(p, line, "[%s %s] %s: unknown key%s%s%s", kd->name, config_item_name(kd, item),
                   config_quote(name, q, sizeof(q)), *where ? " (there is one in " : "", where,
                   *where ? ")" : "");
        return 0;
    }
    size_t idx = (size_t)(k - kd->keys);
    if (il->key_line[idx]) {
        config_error_item(p, line, kd, item, k, "duplicate key (first set at line %d)",
                          il->key_line[idx]);
        return 0;
    }
    il->key_line[idx] = line;
    if (!set_value(k, value, config_item_field(item, k), &e)) {
        il->key_bad[idx] = true;
        config_error_item(p, line, kd, item, k, "%s", e.msg);
    }
    return 0;
}

/* The inifile key callback: one "key = value" of the current section. */
static int on_key(void *arg, int line, const char *name, const char *value)
{
    struct config_parse *p = arg;
    if (p->kind >= 0)
        return named_key(p, line, name, value);
    if (p->section < 0)
        return 0; /* cannot happen: inifile drops keys of refused sections */
    const char *sec = config_sections[p->section].name;
    const struct config_key *k = config_schema_key(sec, name);
    if (!k) {
        char where[128], what[128], q[96];
        other_sections(sec, name, where, sizeof(where));
        snprintf(what, sizeof(what), "%s.%s", sec, config_quote(name, q, sizeof(q)));
        if (*where)
            error_line(p, line, "%s: unknown key (there is one in %s)", what, where);
        else
            error_line(p, line, "%s: unknown key", what);
        return 0;
    }
    size_t idx = config_schema_index(k);
    if (p->key_line[idx]) {
        config_error_key(p, line, k, "duplicate key (first set at line %d)", p->key_line[idx]);
        return 0;
    }
    p->key_line[idx] = line;

    struct weft_err e;
    if (!set_value(k, value, config_field(p->cfg, k), &e)) {
        p->key_bad[idx] = true;
        config_error_key(p, line, k, "%s", e.msg);
    }
    return 0;
}

void config_parse_run(struct config_parse *p)
{
    static const struct config_ini_handlers h = {on_section, on_key};
    p->nerr += config_inifile_read(p->file, p->text, &h, p, p->errs);
}

/* Defaults and required keys of every [KIND NAME] section. */
static void named_defaults(struct config_parse *p)
{
    for (size_t i = 0; i < config_kinds_count; i++) {
        const struct config_kind *kd = &config_kinds[i];
        struct config_list *l = config_kind_list(p->cfg, kd);
        for (size_t j = 0; j < l->n; j++) {
            void *item = config_kind_item(kd, l, j);
            struct config_item_lines *il = &p->item_lines[i][j];
            for (size_t k = 0; k < kd->nkeys; k++) {
                const struct config_key *row = &kd->keys[k];
                struct weft_err e;
                if (il->key_line[k])
                    continue;
                if (row->flags & CONFIG_KEY_REQUIRED) {
                    il->key_bad[k] = true;
                    config_error_item(p, il->section_line, kd, item, row, "missing (required)");
                    continue;
                }
                err_clear(&e);
                if (config_value_parse(row, row->def, config_item_field(item, row), &e) != 0) {
                    il->key_bad[k] = true; /* a bug in the table; test_config catches it */
                    config_error_item(p, 0, kd, item, row, "bad default '%s': %s", row->def, e.msg);
                }
            }
        }
    }
}

void config_parse_defaults(struct config_parse *p)
{
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        struct weft_err e;
        if (p->key_line[i])
            continue;
        err_clear(&e);
        if (config_value_parse(k, k->def, config_field(p->cfg, k), &e) != 0) {
            p->key_bad[i] = true; /* a bug in the table; test_config catches it */
            config_error_key(p, 0, k, "bad default '%s': %s", k->def, e.msg);
        }
    }
    named_defaults(p);
}
