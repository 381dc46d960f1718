/*
 * inifile: the one INI line reader of weft, over Debian's prebuilt inih.
 *
 * Both the agent config (parse.c) and the config objects of `weft apply`
 * (mesh/object.c) read INI text through here, so they share one syntax and
 * one set of syntax errors, and only config/ includes <ini.h>.
 *
 * The reader sees every physical line before inih does (see inifile.c): it
 * counts lines, refuses over-long lines instead of letting inih split them,
 * checks "[section]" headers and "key = value" lines, and hands the caller
 * one event per good header and one per key, each with its physical line:
 *
 *   section(arg, line, name)        name trimmed, never empty
 *   key(arg, line, key, value)      both trimmed; value may be empty
 *
 * Syntax problems are appended to errs as "FILE:LINE: syntax error: ..." or
 * "FILE:LINE: line too long (max 197 bytes)"; the keys under a header that
 * could not be read are dropped (that header carries the error), and a key
 * before any header is an error. What a section or key means is the
 * caller's business, and so are the errors about it.
 *
 * Nothing here allocates beyond the error lines (owned by errs).
 */
#ifndef WEFT_CONFIG_INIFILE_H
#define WEFT_CONFIG_INIFILE_H

#include "config/config.h"

/* What a section callback returns. */
#define CONFIG_INI_KEYS 0  /* deliver this section's keys */
#define CONFIG_INI_SKIP 1  /* drop its keys (the caller reported the header) */
#define CONFIG_INI_STOP -1 /* stop reading (out of memory, too many errors) */

struct config_ini_handlers {
    /** A good "[name]" header. Returns CONFIG_INI_KEYS, _SKIP or _STOP. */
    int (*section)(void *arg, int line, const char *name);
    /** A "key = value" (or "key: value") line. Returns 0, or CONFIG_INI_STOP. */
    int (*key)(void *arg, int line, const char *key, const char *value);
};

/*
 * The longest line, without its line ending, that inih takes whole: its
 * 200-byte buffer less "\r\n" and the NUL (INI_MAX_LINE as Debian builds it).
 */
#define CONFIG_INI_LINE_MAX 197

/**
 * Read NUL-terminated `text`; `file` names it in errors. Calls h for every
 * header and key in file order. Returns the number of errors the reader
 * itself appended to errs (syntax, long lines), 0 for clean syntax.
 */
unsigned config_inifile_read(const char *file, const char *text,
                             const struct config_ini_handlers *h, void *arg,
                             struct config_errs *errs);

#endif
