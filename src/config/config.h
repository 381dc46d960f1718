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

#include <stdbool.h>
#include <stddef.h>

#include "config/config_types.h"
#include "core/err.h"
#include "core/sbuf.h"

/* Collected errors, each one line "FILE:LINE: section.key: message". */
struct config_errs {
    char **lines;
    size_t n;
    size_t cap;
    size_t limit;   /* 0 = keep all; else keep the first `limit` lines */
    size_t dropped; /* errors past the limit: counted, not kept */
};

/** Start an empty list that keeps every error (cannot fail). */
void config_errs_init(struct config_errs *errs);
/**
 * Keep at most `limit` lines (0 = all); later errors are only counted in
 * `dropped`, and config_errs_format says how many there were.
 */
void config_errs_set_limit(struct config_errs *errs, size_t limit);
/**
 * Append one formatted line (without '\n') to errs; past the limit it is
 * only counted. Returns 0, or -1 on OOM.
 */
int config_errs_add(struct config_errs *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Free every line; the list is empty again (and may be reused). */
void config_errs_deinit(struct config_errs *errs);
/**
 * All errors, each followed by '\n', appended to out; then, if some were
 * dropped, one more line "(N more errors not shown)".
 */
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

/*
 * Names of nodes, services and config objects: 1-63 of A-Z a-z 0-9 . _ -,
 * starting with a letter or a digit, without "..". They end up in SPIFFE
 * IDs and DNS labels: this is the NAME rule of pki/spiffe.c, which config/
 * may not include; test_config checks that the two agree.
 */
#define CONFIG_NAME_MAX 63

/** Check a name (NULL fails). Returns 0, or -1 with "'NAME' reason" in e. */
int config_name_check(const char *s, struct weft_err *e);

/** Check a SPIFFE trust domain (node.trust_domain's rule). Returns 0, or -1 with e. */
int config_trust_domain_check(const char *td, struct weft_err *e);

/**
 * Read a whole text file (at most max bytes; no NUL byte) into text. Returns
 * 0, or -1 with one error in errs ("PATH: cannot open: ...", "PATH: too
 * large ...", "PATH:LINE: syntax error: NUL byte ...").
 */
int config_read_text(const char *path, size_t max, struct sbuf *text, struct config_errs *errs);

/**
 * Quote untrusted text for a message: printable ASCII as is, any other
 * byte as \xNN, cut to fit cap. Returns buf.
 */
const char *config_quote(const char *s, char *buf, size_t cap);

/** The i-th [service NAME] section, in file order (i < cfg->services.n). */
static inline const struct config_service *config_service_at(const struct weft_config *cfg,
                                                             size_t i)
{
    return (const struct config_service *)cfg->services.items + i;
}
/** The [service NAME] section called name, or NULL. */
const struct config_service *config_service_find(const struct weft_config *cfg, const char *name);
/** True if two services have the same name and the same values for every key. */
bool config_service_equal(const struct config_service *a, const struct config_service *b);

/** The i-th [upstream NAME] section, in file order (i < cfg->upstreams.n). */
static inline const struct config_upstream *config_upstream_at(const struct weft_config *cfg,
                                                               size_t i)
{
    return (const struct config_upstream *)cfg->upstreams.items + i;
}
/** The [upstream NAME] section called name, or NULL. */
const struct config_upstream *config_upstream_find(const struct weft_config *cfg, const char *name);
/** True if two upstreams have the same name and the same values for every key. */
bool config_upstream_equal(const struct config_upstream *a, const struct config_upstream *b);

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
 *
 * [KIND NAME] sections are matched by name and listed after the fixed
 * keys, kind by kind: "[service web] (added)", "[service db] (removed)",
 * "[service api] port" (one per changed key). Each counts as one change.
 * [service] and [upstream] sections are reloadable: the agent adds, removes
 * and changes them (services with their checks, upstreams with their
 * listeners) live.
 */
int config_diff(const struct weft_config *old, const struct weft_config *new, struct sbuf *changed,
                struct sbuf *restart);

/**
 * Prepare a fresh config for the swap on SIGHUP: every key that is not
 * reloadable takes back its value from `running` (and every kind of
 * [KIND NAME] section that is not reloadable its whole list), so the
 * config in use always describes what is in effect. Returns 0, or -1 on
 * OOM (fresh is then partly merged: free it and keep running).
 */
int config_reload_merge(struct weft_config *fresh, const struct weft_config *running);

#endif
