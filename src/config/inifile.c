/*
 * inifile: INI text through Debian's prebuilt inih, one physical line at a
 * time (see inifile.h for the contract).
 *
 * Debian 12 ships libinih 55 built with its defaults: the handler is not told
 * the line number, lines are read into a 200-byte buffer and a longer line is
 * silently split (its tail parsed as a line of its own), and ini_parse*()
 * only returns the line of the first error. So weft feeds inih through its
 * own ini_reader (inifile_reader below), which sees every physical line first:
 *
 *   text --> inifile_reader --(one line)--> inih --> inifile_handler --> h->key
 *              |  counts lines (r->line)                 | r->line is the
 *              |  refuses over-long lines                | line of this key
 *              |  checks [section] headers --> h->section
 *              |  catches lines inih would reject
 *              v
 *            errors "FILE:LINE: ..."
 *
 * The reader hands inih exactly one buffer per physical line, so inih's own
 * count never drifts from ours. A line it must not see (too long, broken,
 * or a comment) goes to inih as an empty line: reported once, here, and
 * never split into a second bogus line. Leading blanks are dropped before
 * inih sees a line, which turns off inih's multi-line values (an indented
 * "key = value" would otherwise become part of the previous key's value).
 *
 * inih calls the handler for line N before it asks the reader for line
 * N + 1, so header events (from the reader) and key events (from the
 * handler) reach the caller in file order.
 */
#include "config/inifile.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

_Static_assert(INI_MAX_LINE - 3 == CONFIG_INI_LINE_MAX, "CONFIG_INI_LINE_MAX follows INI_MAX_LINE");

/* Longest message part: a quoted piece of a line (< 200 bytes). */
#define MSG_MAX 1024
/* A section name we pass on: a header line is shorter than this anyway. */
#define SECTION_MAX 256

struct ini_read {
    const char *file;
    const char *pos; /* next unread byte of the text */
    int line;        /* physical line last handed to inih, 1-based */
    bool in_section; /* a header was read (good or not) */
    bool skip_keys;  /* in a broken or refused section: drop its keys */
    bool stop;       /* a callback asked to stop: the reader reports EOF */
    unsigned nerr;
    const struct config_ini_handlers *h;
    void *arg;
    struct config_errs *errs;
};

static void ini_error(struct ini_read *r, int line, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ini_error(struct ini_read *r, int line, const char *what, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->nerr++;
    if (line > 0)
        config_errs_add(r->errs, "%s:%d: %s%s%s", r->file, line, what, *what ? ": " : "", msg);
    else
        config_errs_add(r->errs, "%s: %s%s%s", r->file, what, *what ? ": " : "", msg);
}

/*
 * inih's find_chars_or_comment(): the first of `chars`, or of an inline
 * comment (';' after a blank), within s[0..len). Returns its index, or len.
 */
static size_t find_chars_or_comment(const char *s, size_t len, const char *chars)
{
    bool was_space = false;
    size_t i = 0;
    for (; i < len; i++) {
        if (strchr(chars, s[i]) || (was_space && s[i] == ';'))
            break;
        was_space = isspace((unsigned char)s[i]);
    }
    return i;
}

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* A header we cannot read: its keys are dropped with it. */
static const char *broken_section(struct ini_read *r)
{
    r->in_section = true;
    r->skip_keys = true;
    return "\n";
}

/* A "[section]" line (s starts with '['). Returns what inih gets. */
static const char *read_section(struct ini_read *r, const char *s, size_t len)
{
    size_t end = find_chars_or_comment(s + 1, len - 1, "]") + 1;
    if (end >= len || s[end] != ']') {
        ini_error(r, r->line, "syntax error", "missing ']' in section header");
        return broken_section(r);
    }
    const char *name = s + 1, *rest = s + end + 1;
    size_t name_len = end - 1, rest_len = len - end - 1;
    trim(&name, &name_len);
    trim(&rest, &rest_len);
    if (rest_len && rest[0] != ';')
        ini_error(r, r->line, "syntax error", "unexpected '%.*s' after ']'", (int)rest_len, rest);
    if (name_len == 0) {
        ini_error(r, r->line, "syntax error", "empty section name");
        return broken_section(r);
    }
    char buf[SECTION_MAX];
    if (name_len >= sizeof(buf))
        name_len = sizeof(buf) - 1; /* cannot happen: the line is shorter */
    memcpy(buf, name, name_len);
    buf[name_len] = '\0';
    r->in_section = true;
    int rc = r->h->section(r->arg, r->line, buf);
    if (rc == CONFIG_INI_STOP)
        r->stop = true;
    r->skip_keys = rc != CONFIG_INI_KEYS;
    /* inih only needs to know a section started; its name is ours. */
    return "[s]\n";
}

/* A "key = value" line (not blank, not a comment, not a section). */
static const char *read_key(struct ini_read *r, const char *s, size_t len, char *str, size_t cap)
{
    size_t sep = find_chars_or_comment(s, len, "=:");
    if (sep == len || (s[sep] != '=' && s[sep] != ':')) {
        size_t shown = find_chars_or_comment(s, len, "");
        const char *t = s;
        trim(&t, &shown);
        ini_error(r, r->line, "syntax error",
                  "'%.*s' is not 'key = value', '[section]' or a comment",
                  (int)(shown > 60 ? 60 : shown), t);
        return "\n";
    }
    const char *name = s;
    size_t name_len = sep;
    trim(&name, &name_len);
    if (name_len == 0) {
        ini_error(r, r->line, "syntax error", "missing key name before '%c'", s[sep]);
        return "\n";
    }
    if (r->skip_keys)
        return "\n";
    if (!r->in_section) {
        ini_error(r, r->line, "syntax error", "'%.*s' comes before any [section]", (int)name_len,
                  name);
        return "\n";
    }
    snprintf(str, cap, "%.*s\n", (int)len, s);
    return str;
}

/*
 * The ini_reader (inifile_reader): fgets() semantics over r->pos, one physical line per call.
 * str has num bytes; a line inih can take whole has at most num - 3 bytes
 * (room for "\r\n" and the NUL, as ini.h says of INI_MAX_LINE).
 */
static char *inifile_reader(char *str, int num, void *stream)
{
    struct ini_read *r = stream;
    if (r->stop || !*r->pos || num < 4)
        return NULL;
    const char *s = r->pos;
    const char *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) : strlen(s);
    size_t max = (size_t)num - 3;
    const char *out;
    r->pos = s + len + (nl ? 1 : 0);
    r->line++;
    if (len && s[len - 1] == '\r')
        len--;
    if (r->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* UTF-8 byte order mark */
        len -= 3;
    }

    if (len > max) {
        ini_error(r, r->line, "", "line too long (max %zu bytes)", max);
        trim(&s, &len);
        out = len && s[0] == '[' ? broken_section(r) : "\n";
    } else {
        trim(&s, &len);
        if (len == 0 || s[0] == ';' || s[0] == '#')
            out = "\n";
        else if (s[0] == '[')
            out = read_section(r, s, len);
        else
            out = read_key(r, s, len, str, (size_t)num);
    }
    if (out != str)
        snprintf(str, (size_t)num, "%s", out);
    return str;
}

/* The ini_handler: one "key = value" of line r->line. */
static int inifile_handler(void *user, const char *section, const char *name, const char *value)
{
    struct ini_read *r = user;
    (void)section;                        /* the reader passed the header on, never truncated */
    if (!name || r->stop || r->skip_keys) /* !name: a section event, if inih were built so */
        return 1;
    if (r->h->key(r->arg, r->line, name, value) == CONFIG_INI_STOP)
        r->stop = true;
    return 1;
}

/* True if an error for this line was already recorded. */
static bool line_reported(const struct ini_read *r, int line)
{
    char prefix[300];
    int n = snprintf(prefix, sizeof(prefix), "%s:%d:", r->file, line);
    if (n < 0 || (size_t)n >= sizeof(prefix))
        return r->errs->n > 0;
    for (size_t i = 0; i < r->errs->n; i++) {
        if (strncmp(r->errs->lines[i], prefix, (size_t)n) == 0)
            return true;
    }
    return false;
}

unsigned config_inifile_read(const char *file, const char *text,
                             const struct config_ini_handlers *h, void *arg,
                             struct config_errs *errs)
{
    struct ini_read r;
    memset(&r, 0, sizeof(r));
    r.file = file;
    r.pos = text ? text : "";
    r.h = h;
    r.arg = arg;
    r.errs = errs;
    int rc = ini_parse_stream(inifile_reader, &r, inifile_handler, &r);
    if (rc == -2) {
        ini_error(&r, 0, "", "out of memory");
    } else if (rc > 0 && !r.stop && !line_reported(&r, rc)) {
        /* Cannot happen while the reader mirrors inih's rules; never lose it. */
        ini_error(&r, rc, "syntax error", "line refused by the INI parser");
    }
    return r.nerr;
}
