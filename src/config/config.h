/*
 * config: INI files into a typed struct weft_config.
 *
 * One table row per key (section, key, type, default, bounds, reloadable,
 * doc) drives parsing, validation, `weft config show`, and the check that
 * configs/weft.ini documents every key. Parsing never stops at the first
 * problem: every error is collected as "FILE:LINE: section.key: message".
 * Unknown sections and keys are errors. Over-long lines are errors (Debian's
 * prebuilt libinih would silently split them).
 */
#ifndef WEFT_CONFIG_H
#define WEFT_CONFIG_H

#include <stddef.h>

#include "config/config_types.h"
#include "core/err.h"
#include "core/sbuf.h"

/* Collected errors, each one line "FILE:LINE: section.key: message". */
struct config_errs {
    char **lines;
    size_t n;
    size_t cap;
};

/** Start an empty list (cannot fail). */
void config_errs_init(struct config_errs *errs);
/** Free every line; the list is empty again (and may be reused). */
void config_errs_deinit(struct config_errs *errs);
/** All errors, each followed by '\n', appended to out. */
void config_errs_format(const struct config_errs *errs, struct sbuf *out);

/**
 * Load and validate a config file. Returns a new config the caller owns
 * (config_free), or NULL with at least one error in errs.
 */
struct weft_config *config_load_file(const char *path, struct config_errs *errs);
/** Parse INI text; `name` stands for the file name in errors. Same contract. */
struct weft_config *config_parse_string(const char *name, const char *text,
                                        struct config_errs *errs);
/*
 * A check of a whole loaded config for rules owned by a layer above config
 * (the effective [gossip] timing: gossip/gossip_timing.c). Returns 0, or -1
 * with the message in e and *section, *key naming the key to blame, which
 * the load reports as "FILE:LINE: section.key: message". Runs only on a
 * config without other errors.
 */
typedef int (*config_check_all_fn)(const struct weft_config *cfg, const char **section,
                                   const char **key, struct weft_err *e);
/** Install the check (once, at start, before any load; NULL removes it). */
void config_set_check(config_check_all_fn fn);

/** The embedded default (no file): every key at its default. */
struct weft_config *config_load_default(struct config_errs *errs);
/** Free a config; accepts NULL. */
void config_free(struct weft_config *cfg);

/** The effective config as INI text, every key, with its value. */
void config_show(const struct weft_config *cfg, struct sbuf *out);

/**
 * Compare a running config with a freshly loaded one for SIGHUP. Appends to
 * `changed` every key whose value differs and to `restart` those of them
 * that only take effect after a restart, as "section.key" names in table
 * order separated by ", " (a separator is added first if the sbuf is not
 * empty). Either sbuf may be NULL. Returns the number of changed keys.
 */
int config_diff(const struct weft_config *old, const struct weft_config *new, struct sbuf *changed,
                struct sbuf *restart);

/**
 * Prepare a fresh config for the swap on SIGHUP: every key that is not
 * reloadable takes back its value from `running`, so the config in use
 * always describes what is in effect. Returns 0, or -1 on OOM (fresh is
 * then partly merged: free it and keep running).
 */
int config_reload_merge(struct weft_config *fresh, const struct weft_config *running);

#endif
