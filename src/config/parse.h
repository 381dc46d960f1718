/*
 * parse: the state of one config parse, shared by parse.c (reading lines),
 * config.c (defaults) and validate.c (computed values, cross-key checks).
 * Private to config/.
 *
 * The state remembers the physical line of every key it set, so that checks
 * made after the whole file is read can still point at a line.
 */
#ifndef WEFT_CONFIG_PARSE_H
#define WEFT_CONFIG_PARSE_H

#include <stdbool.h>

#include "config/config.h"
#include "config/schema.h"

struct config_parse {
    const char *file;                      /* name used in errors */
    const char *pos;                       /* next unread byte of the text */
    int line;                              /* physical line last handed to inih, 1-based */
    int section;                           /* current section index, -1 before the first */
    bool skip_keys;                        /* in an unknown or broken section: ignore its keys */
    int section_line[CONFIG_SECTIONS_MAX]; /* where each section opened; 0 = not yet */
    int key_line[CONFIG_KEYS_MAX];         /* where each key was set; 0 = not in file */
    bool key_bad[CONFIG_KEYS_MAX];         /* the key's value was refused */
    unsigned nerr;                         /* errors reported (even if recording one failed) */
    struct weft_config *cfg;               /* filled in place */
    struct config_errs *errs;              /* where errors go */
};

/** Prepare to parse NUL-terminated `text` into cfg. Cannot fail. */
void config_parse_init(struct config_parse *p, const char *file, const char *text,
                       struct weft_config *cfg, struct config_errs *errs);
/** Read every line, setting the keys found; errors are collected in p. */
void config_parse_run(struct config_parse *p);
/** Give every key not in the file its default from the table. */
void config_parse_defaults(struct config_parse *p);
/**
 * Fill computed values (node.name from the host name, admin.socket under
 * data_dir) and run the checks that involve several keys (validate.c).
 */
void config_resolve(struct config_parse *p);

/*
 * Error reporting. `line` 0 means "not from a line of the file" (a default)
 * and prints "FILE: ..." instead of "FILE:LINE: ...".
 */
/** "FILE:LINE: section.key: message" */
void config_error_key(struct config_parse *p, int line, const struct config_key *k, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/** "FILE:LINE: [section]: message" */
void config_error_section(struct config_parse *p, int line, const char *section, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
/** "FILE:LINE: syntax error: message" */
void config_error_syntax(struct config_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Append one formatted line to errs (config.c). Returns 0, or -1 on OOM. */
int config_errs_add(struct config_errs *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
