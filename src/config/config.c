/*
 * config: the entry points — load a file, parse a string, the embedded
 * default — and the error list they fill.
 *
 * Every load builds a fresh struct weft_config in four passes, each
 * collecting errors instead of stopping:
 *
 *   1. parse.c     read the lines, set the keys the file names
 *   2. parse.c     give every other key its default from the table
 *   3. validate.c  compute node.name and admin.socket, cross-key checks
 *   4. here        any error: free it all and return NULL
 *
 * The caller gets either a config that is valid as a whole or none, so a
 * SIGHUP can swap configs without ever running a half-checked one.
 */
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"
#include "config/schema.h"

/* A config file is a page of text; anything this big is the wrong file. */
#define CONFIG_FILE_MAX (1024 * 1024)

void config_errs_init(struct config_errs *errs)
{
    memset(errs, 0, sizeof(*errs));
}

void config_errs_set_limit(struct config_errs *errs, size_t limit)
{
    errs->limit = limit;
}

void config_errs_deinit(struct config_errs *errs)
{
    size_t limit = errs->limit;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->lines[i]);
    free(errs->lines);
    config_errs_init(errs);
    errs->limit = limit;
}

int config_errs_add(struct config_errs *errs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if (errs->limit && errs->n >= errs->limit) {
        errs->dropped++;
        return 0;
    }
    if (errs->n == errs->cap) {
        size_t cap = errs->cap ? errs->cap * 2 : 8;
        char **lines = realloc(errs->lines, cap * sizeof(*lines));
        if (!lines)
            return -1;
        errs->lines = lines;
        errs->cap = cap;
    }
    char *line = malloc((size_t)n + 1);
    if (!line)
        return -1;
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
    errs->lines[errs->n++] = line;
    return 0;
}

void config_errs_format(const struct config_errs *errs, struct sbuf *out)
{
    for (size_t i = 0; i < errs->n; i++) {
        sbuf_puts(out, errs->lines[i]);
        sbuf_puts(out, "\n");
    }
    if (errs->dropped)
        sbuf_printf(out, "(%zu more error%s not shown)\n", errs->dropped,
                    errs->dropped == 1 ? "" : "s");
}

void config_free(struct weft_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < config_keys_count; i++)
        config_value_free(&config_keys[i], config_field(cfg, &config_keys[i]));
    config_lists_free(cfg);
    free(cfg->source);
    free(cfg);
}

struct weft_config *config_parse_string(const char *name, const char *text,
                                        struct config_errs *errs)
{
    struct config_parse p;
    struct weft_config *cfg;
    if (!name)
        name = "<string>";
    if (!text)
        text = "";
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->source = strdup(name))) {
        free(cfg);
        config_errs_add(errs, "%s: out of memory", name);
        return NULL;
    }
    config_parse_init(&p, name, text, cfg, errs);
    config_parse_run(&p);
    config_parse_defaults(&p);
    config_resolve(&p);
    config_parse_deinit(&p);
    if (p.nerr > 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct weft_config *config_load_default(struct config_errs *errs)
{
    return config_parse_string("<default>", "", errs);
}

int config_read_text(const char *path, size_t max, struct sbuf *text, struct config_errs *errs)
{
    char chunk[4096];
    size_t n;
    int rc = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        config_errs_add(errs, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && text->len <= max)
        sbuf_append(text, chunk, n);
    if (ferror(f)) {
        config_errs_add(errs, "%s: cannot read: %s", path, strerror(errno));
        rc = -1;
    } else if (text->len > max) {
        config_errs_add(errs, "%s: too large (more than %zu bytes)", path, max);
        rc = -1;
    } else if (text->oom) {
        config_errs_add(errs, "%s: out of memory", path);
        rc = -1;
    }
    fclose(f);
    const char *nul = rc == 0 ? memchr(sbuf_str(text), '\0', text->len) : NULL;
    if (nul) {
        /* Text only: a NUL would silently end the file for the parser. */
        int line = 1;
        for (const char *c = sbuf_str(text); c < nul; c++)
            line += *c == '\n';
        config_errs_add(errs, "%s:%d: syntax error: NUL byte (not a text file?)", path, line);
        rc = -1;
    }
    return rc;
}

struct weft_config *config_load_file(const char *path, struct config_errs *errs)
{
    struct sbuf text;
    struct weft_config *cfg = NULL;
    sbuf_init(&text);
    if (config_read_text(path, CONFIG_FILE_MAX, &text, errs) == 0)
        cfg = config_parse_string(path, sbuf_str(&text), errs);
    sbuf_deinit(&text);
    return cfg;
}
