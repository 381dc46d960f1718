/*
 * parse: INI text into struct weft_config, through Debian's prebuilt inih.
 *
 * Debian 12 ships libinih 55 built with its defaults: the handler is not told
 * the line number, lines are read into a 200-byte buffer and a longer line is
 * silently split (its tail parsed as a line of its own), and ini_parse*()
 * only returns the line of the first error. So weft feeds inih through its
 * own ini_reader (config_reader below), which sees every physical line first:
 *
 *   text --> config_reader --(one clean line)--> inih --> config_handler
 *              |  counts lines (p->line)                    | p->line is
 *              |  refuses over-long lines                   | the line of
 *              |  checks [section] headers                  | this key
 *              |  catches lines inih would reject           |
 *              v                                            v
 *            errors "FILE:LINE: ..."                 errors "FILE:LINE: sec.key: ..."
 *
 * The reader hands inih exactly one buffer per physical line, so inih's own
 * count never drifts from ours. A line it must not see (too long, broken,
 * or a comment) goes to inih as an empty line: reported once, here, and
 * never split into a second bogus line. Leading blanks are dropped before
 * inih sees a line, which turns off inih's multi-line values (an indented
 * "key = value" would otherwise become part of the previous key's value).
 *
 * Keys inside an unknown section are not reported one by one: the section
 * header already carries the error.
 */
#include "config/parse.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void config_error_syntax(struct config_parse *p, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_prefixed(p, line, "syntax error", fmt, ap);
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

void config_parse_init(struct config_parse *p, const char *file, const char *text,
                       struct weft_config *cfg, struct config_errs *errs)
{
    memset(p, 0, sizeof(*p));
    p->file = file;
    p->pos = text;
    p->section = -1;
    p->cfg = cfg;
    p->errs = errs;
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

/* A "[section]" line (s starts with '['). Returns what inih gets. */
static const char *read_section(struct config_parse *p, const char *s, size_t len, char *str,
                                size_t cap)
{
    size_t end = find_chars_or_comment(s + 1, len - 1, "]") + 1;
    if (end >= len || s[end] != ']') {
        config_error_syntax(p, p->line, "missing ']' in section header");
        p->section = -1;
        p->skip_keys = true;
        return "\n";
    }
    const char *name = s + 1, *rest = s + end + 1;
    size_t name_len = end - 1, rest_len = len - end - 1;
    trim(&name, &name_len);
    trim(&rest, &rest_len);
    if (rest_len && rest[0] != ';')
        config_error_syntax(p, p->line, "unexpected '%.*s' after ']'", (int)rest_len, rest);
    if (name_len == 0) {
        config_error_syntax(p, p->line, "empty section name");
        p->section = -1;
        p->skip_keys = true;
        return "\n";
    }

    char buf[128];
    if (name_len >= sizeof(buf))
        name_len = sizeof(buf) - 1;
    memcpy(buf, name, name_len);
    buf[name_len] = '\0';
    int idx = config_schema_section(buf);
    if (idx < 0) {
        config_error_section(p, p->line, buf, "unknown section");
        p->section = -1;
        p->skip_keys = true;
        return "\n";
    }
    if (p->section_line[idx])
        config_error_section(p, p->line, buf, "duplicate section (first at line %d)",
                             p->section_line[idx]);
    else
        p->section_line[idx] = p->line;
    p->section = idx;
    p->skip_keys = false;
    snprintf(str, cap, "[%s]\n", buf);
    return str;
}

/* A "key = value" line (not blank, not a comment, not a section). */
static const char *read_key(struct config_parse *p, const char *s, size_t len, char *str,
                            size_t cap)
{
    size_t sep = find_chars_or_comment(s, len, "=:");
    if (sep == len || (s[sep] != '=' && s[sep] != ':')) {
        size_t shown = find_chars_or_comment(s, len, "");
        const char *t = s;
        trim(&t, &shown);
        config_error_syntax(p, p->line, "'%.*s' is not 'key = value', '[section]' or a comment",
                            (int)(shown > 60 ? 60 : shown), t);
        return "\n";
    }
    const char *name = s;
    size_t name_len = sep;
    trim(&name, &name_len);
    if (name_len == 0) {
        config_error_syntax(p, p->line, "missing key name before '%c'", s[sep]);
        return "\n";
    }
    snprintf(str, cap, "%.*s\n", (int)len, s);
    return str;
}

/*
 * The ini_reader: fgets() semantics over p->pos, one physical line per call.
 * str has num bytes; a line inih can take whole has at most num - 3 bytes
 * (room for "\r\n" and the NUL, as ini.h says of INI_MAX_LINE).
 */
static char *config_reader(char *str, int num, void *stream)
{
    struct config_parse *p = stream;
    if (!*p->pos || num < 4)
        return NULL;
    const char *s = p->pos;
    const char *nl = strchr(s, '\n');
    size_t len = nl ? (size_t)(nl - s) : strlen(s);
    size_t max = (size_t)num - 3;
    const char *out;
    p->pos = s + len + (nl ? 1 : 0);
    p->line++;
    if (len && s[len - 1] == '\r')
        len--;
    if (p->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* UTF-8 byte order mark */
        len -= 3;
    }

    if (len > max) {
        error_line(p, p->line, "line too long (max %zu bytes)", max);
        trim(&s, &len);
        if (len && s[0] == '[') { /* a header we cannot read: its keys are lost too */
            p->section = -1;
            p->skip_keys = true;
        }
        out = "\n";
    } else {
        trim(&s, &len);
        if (len == 0 || s[0] == ';' || s[0] == '#')
            out = "\n";
        else if (s[0] == '[')
            out = read_section(p, s, len, str, (size_t)num);
        else
            out = read_key(p, s, len, str, (size_t)num);
    }
    if (out != str)
        snprintf(str, (size_t)num, "%s", out);
    return str;
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
}

/* The ini_handler: one "key = value" in the current section, line p->line. */
static int config_handler(void *user, const char *section, const char *name, const char *value)
{
    struct config_parse *p = user;
    (void)section; /* p->section is ours, from the reader: same, but never truncated */
    if (p->skip_keys)
        return 1;
    if (p->section < 0) {
        config_error_syntax(p, p->line, "'%s' comes before any [section]", name);
        return 1;
    }
    const char *sec = config_sections[p->section].name;
    const struct config_key *k = config_schema_key(sec, name);
    if (!k) {
        char where[128], what[128];
        other_sections(sec, name, where, sizeof(where));
        snprintf(what, sizeof(what), "%s.%s", sec, name);
        if (*where)
            error_line(p, p->line, "%s: unknown key (there is one in %s)", what, where);
        else
            error_line(p, p->line, "%s: unknown key", what);
        return 1;
    }
    size_t idx = config_schema_index(k);
    if (p->key_line[idx]) {
        config_error_key(p, p->line, k, "duplicate key (first set at line %d)", p->key_line[idx]);
        return 1;
    }
    p->key_line[idx] = p->line;

    struct weft_err e;
    err_clear(&e);
    if (config_value_parse(k, value, config_field(p->cfg, k), &e) != 0) {
        p->key_bad[idx] = true;
        config_error_key(p, p->line, k, "%s%s", e.msg,
                         strchr(value, ';') ? " (a comment needs a blank before ';')" : "");
    }
    return 1;
}

/* True if an error for this line was already recorded. */
static bool line_reported(const struct config_parse *p, int line)
{
    char prefix[64];
    int n = snprintf(prefix, sizeof(prefix), "%s:%d:", p->file, line);
    if (n < 0 || (size_t)n >= sizeof(prefix))
        return p->nerr > 0;
    for (size_t i = 0; i < p->errs->n; i++) {
        if (strncmp(p->errs->lines[i], prefix, (size_t)n) == 0)
            return true;
    }
    return false;
}

void config_parse_run(struct config_parse *p)
{
    int rc = ini_parse_stream(config_reader, p, config_handler, p);
    if (rc == -2) {
        error_line(p, 0, "out of memory");
    } else if (rc > 0 && !line_reported(p, rc)) {
        /* Cannot happen while the reader mirrors inih's rules; never lose it. */
        config_error_syntax(p, rc, "line refused by the INI parser");
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
}
