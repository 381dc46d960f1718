/*
 * parse: the state of one config parse, shared by parse.c (reading lines),
 * config.c (defaults) and validate.c (computed values, cross-key checks).
 * Private to config/.
 *
 * The state remembers the physical line of every key it set (and of every
 * key of every [KIND NAME] section), so that checks made after the whole
 * file is read can still point at a line. Lines come from config/inifile.c.
 */
#ifndef WEFT_CONFIG_PARSE_H
#define WEFT_CONFIG_PARSE_H

#include <stdbool.h>

#include "config/config.h"
#include "config/schema.h"

/* Where the keys of one [KIND NAME] section were set, for later checks. */
struct config_item_lines {
    int section_line;                   /* its header */
    int key_line[CONFIG_KIND_KEYS_MAX]; /* by the kind's key index; 0 = not in the file */
    bool key_bad[CONFIG_KIND_KEYS_MAX]; /* the key's value was refused */
};

struct config_parse {
    const char *file;                      /* name used in errors */
    const char *text;                      /* the whole text (NUL-terminated) */
    int section;                           /* current fixed section index, -1 = none */
    int kind;                              /* current [KIND NAME] kind index, -1 = none */
    size_t item;                           /* with kind >= 0: the item in its list */
    int section_line[CONFIG_SECTIONS_MAX]; /* where each section opened; 0 = not yet */
    /* Per kind, `max` entries (heap, allocated with the kind's first item). */
    struct config_item_lines *item_lines[CONFIG_KINDS_MAX];
    int key_line[CONFIG_KEYS_MAX]; /* where each key was set; 0 = not in file */
    bool key_bad[CONFIG_KEYS_MAX]; /* the key's value was refused */
    unsigned nerr;                 /* errors reported (even if recording one failed) */
    struct weft_config *cfg;       /* filled in place */
    struct config_errs *errs;      /* where errors go */
};

/** Prepare to parse NUL-terminated `text` into cfg. Cannot fail. */
void config_parse_init(struct config_parse *p, const char *file, const char *text,
                       struct weft_config *cfg, struct config_errs *errs);
/** Release what the parse allocated (not cfg). Safe after init alone. */
void config_parse_deinit(struct config_parse *p);
/** Read every line, setting the keys found; errors are collected in p. */
void config_parse_run(struct config_parse *p);
/**
 * Give every key not in the file its default from the table, in the fixed
 * sections and in every [KIND NAME] section (where a required key that is
 * missing is an error on the section's line).
 */
void config_parse_defaults(struct config_parse *p);
/**
 * Fill computed values (node.name from the host name, admin.socket under
 * data_dir) and run the checks that involve several keys (validate.c).
 */
void config_resolve(struct config_parse *p);
/**
 * Report listeners of the config that would collide on bind (listen.c):
 * [admin] listen, [control] listen, [proxy] inbound, [gossip] bind and
 * every [upstream NAME] listen; an upstream on a [service NAME]'s address.
 */
void config_resolve_listens(struct config_parse *p);

/*
 * Error reporting. `line` 0 means "not from a line of the file" (a default)
 * and prints "FILE: ..." instead of "FILE:LINE: ...".
 */
/** "FILE:LINE: section.key: message" */
void config_error_key(struct config_parse *p, int line, const struct config_key *k, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/** "FILE:LINE: [KIND NAME] key: message", or "[KIND NAME]: message" when k is NULL. */
void config_error_item(struct config_parse *p, int line, const struct config_kind *kd,
                       const void *item, const struct config_key *k, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/** "FILE:LINE: [section]: message" */
void config_error_section(struct config_parse *p, int line, const char *section, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

#endif
