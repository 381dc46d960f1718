/*
 * validate: the rules a value must follow beyond its type, and the values
 * computed once the whole file is read.
 *
 * Per-key checks (config_check_*) run while parsing, on the parsed value, so
 * their errors carry the key's line. config_resolve() runs after the file
 * and the defaults: it fills node.name from the host name and admin.socket
 * from data_dir, then checks what involves several keys. Values that were
 * already refused are skipped, so one mistake gives one error, not a chain.
 */
#include "config/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* Node names end up in DNS labels and SPIFFE IDs: one label's worth. */
#define NODE_NAME_MAX 63
/* A unix socket path must fit sockaddr_un.sun_path with its NUL. */
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* Quote one byte for a message: 'c', or 0xNN when not printable. */
static const char *show_byte(char c, char *buf, size_t cap)
{
    if (isprint((unsigned char)c))
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", (unsigned char)c);
    return buf;
}

int config_dns_name_check(const char *s, bool lowercase, struct weft_err *e)
{
    size_t len = strlen(s), label = 0;
    char b[16];
    if (len == 0)
        return err_set(e, "'%s' is empty", s);
    if (len > 253)
        return err_set(e, "'%.40s...' is longer than 253 characters", s);
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            if (label == 0)
                return err_set(e, "'%s' has an empty label (leading, trailing or double dot)", s);
            if (s[i - 1] == '-' || s[i - label] == '-')
                return err_set(e, "'%s' has a label that starts or ends with '-'", s);
            label = 0;
            continue;
        }
        if (++label > 63)
            return err_set(e, "'%s' has a label longer than 63 characters", s);
        if (lowercase && isupper((unsigned char)c))
            return err_set(e, "'%s' must be lowercase", s);
        if (!isalnum((unsigned char)c) && c != '-')
            return err_set(e, "'%s' contains %s (allowed: letters, digits, '-', '.')", s,
                           show_byte(c, b, sizeof(b)));
    }
    return 0;
}

int config_check_node_name(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    char b[16];
    if (!s)
        return 0; /* empty: the host name, checked by config_resolve() */
    size_t len = strlen(s);
    if (len > NODE_NAME_MAX)
        return err_set(e, "'%s' is longer than %d characters", s, NODE_NAME_MAX);
    if (!isalnum((unsigned char)s[0]))
        return err_set(e, "'%s' must start with a letter or a digit", s);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return err_set(e, "'%s' contains %s (allowed: A-Z a-z 0-9 . _ -)", s,
                           show_byte(s[i], b, sizeof(b)));
    }
    return 0;
}

int config_check_trust_domain(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    if (!s)
        return err_set(e, "must not be empty");
    if (strstr(s, "://"))
        return err_set(e, "'%s': write the bare name, without a scheme such as spiffe://", s);
    if (strchr(s, '/'))
        return err_set(e, "'%s' must not contain a path", s);
    if (strchr(s, ':'))
        return err_set(e, "'%s' must not contain a port", s);
    return config_dns_name_check(s, true, e);
}

int config_check_loopback(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    char host[256];
    unsigned port;
    if (!s)
        return 0; /* off */
    if (config_addr_split(s, host, sizeof(host), &port, e) != 0)
        return -1;
    if (strcmp(host, "localhost") == 0)
        return 0;
    struct in_addr a4;
    struct in6_addr a6;
    if (s[0] != '[' && inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127)
        return 0;
    if (s[0] == '[' && inet_pton(AF_INET6, host, &a6) == 1 &&
        memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0)
        return 0;
    return err_set(e,
                   "'%s' is not a loopback address (use 127.0.0.1, [::1] or localhost): "
                   "the admin API has no authentication",
                   s);
}

int config_check_socket_mode(const void *field, struct weft_err *e)
{
    unsigned mode = *(const unsigned *)field;
    if (mode & 07)
        return err_set(e, "'0%03o' gives access to others; use e.g. 0660 or 0600", mode);
    if ((mode & 0600) != 0600)
        return err_set(e, "'0%03o' must let the owner read and write (0600)", mode);
    return 0;
}

/* One "host:port" of a [gossip] list: an IPv4 or [IPv6] literal and a port. */
static int gossip_addr_check(const char *s, struct weft_err *e)
{
    char host[256];
    unsigned port;
    struct in_addr a4;
    struct in6_addr a6;
    if (config_addr_split(s, host, sizeof(host), &port, e) != 0)
        return -1;
    if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1)
        return err_set(e, "'%s' is not an IP address (host names are not resolved)", s);
    return 0;
}

int config_check_gossip_join(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    char one[300];
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        while (n && *s == ' ') {
            s++;
            n--;
        }
        while (n && s[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof(one))
            return err_set(e, "empty or too long address in the join list");
        memcpy(one, s, n);
        one[n] = '\0';
        if (gossip_addr_check(one, e) != 0)
            return -1;
        s = c ? c + 1 : NULL;
    }
    return 0;
}

/* msgpack raw string header size, as go-msgpack writes it (serf_msg.c). */
static size_t mp_str_size(size_t n)
{
    return n + (n < 32 ? 1 : n < 65536 ? 3 : 5);
}

int config_check_gossip_tags(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    /* 0xFF, map header, and weft's own role=weft, version=<up to 32 bytes>,
     * ctl=<port>. The id tag's length (the SPIFFE ID) is only known at
     * start, where the encoder checks the whole (gossip_net_new). */
    size_t total = 1 + 3 + mp_str_size(4) + mp_str_size(4) + mp_str_size(7) + mp_str_size(32) +
                   mp_str_size(3) + mp_str_size(5);
    size_t count = 4;
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        const char *eq = memchr(s, '=', n);
        if (!eq || eq == s)
            return err_set(e, "'%.*s' is not key=value", (int)n, s);
        size_t kl = (size_t)(eq - s), vl = n - kl - 1;
        /* weft's own tags (docs/gossip.md "Tags"). */
        static const char *const reserved[] = {"role", "version", "ctl", "id"};
        for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++)
            if (kl == strlen(reserved[r]) && memcmp(s, reserved[r], kl) == 0)
                return err_set(e, "tag '%.*s' is weft's own", (int)kl, s);
        if (kl > 64 || vl > 256)
            return err_set(e, "tag '%.*s' too long (key 64, value 256 bytes)", (int)kl, s);
        total += mp_str_size(kl) + mp_str_size(vl);
        count++;
        s = c ? c + 1 : NULL;
    }
    if (count > 32 || total > 512)
        return err_set(e, "tags take %zu bytes encoded with weft's own; Serf allows 512", total);
    return 0;
}

static const struct config_key *key_of(const char *section, const char *name, size_t *idx)
{
    const struct config_key *k = config_schema_key(section, name);
    *idx = config_schema_index(k);
    return k;
}

/* node.name: the host name when the file leaves it empty. */
static void resolve_node_name(struct config_parse *p)
{
    size_t i;
    const struct config_key *k = key_of("node", "name", &i);
    struct weft_config *cfg = p->cfg;
    char host[256];
    struct weft_err e;
    if (cfg->node.name || p->key_bad[i])
        return;
    if (gethostname(host, sizeof(host)) != 0) {
        config_error_key(p, p->key_line[i], k, "cannot read the host name (%s); set it",
                         strerror(errno));
        return;
    }
    host[sizeof(host) - 1] = '\0';
    err_clear(&e);
    if (config_value_parse(k, host, &cfg->node.name, &e) != 0)
        config_error_key(p, p->key_line[i], k, "the host name is not a valid node name: %s; set it",
                         e.msg);
    else if (!cfg->node.name)
        config_error_key(p, p->key_line[i], k, "the host name is empty; set it");
}

/* admin.socket: <data_dir>/admin.sock when the file leaves it empty. */
static void resolve_admin_socket(struct config_parse *p)
{
    size_t i, d;
    const struct config_key *k = key_of("admin", "socket", &i);
    const struct config_key *kd = key_of("node", "data_dir", &d);
    struct weft_config *cfg = p->cfg;
    struct weft_err e;
    bool computed = !cfg->admin.socket;
    if (p->key_bad[i] || (computed && (p->key_bad[d] || !cfg->node.data_dir)))
        return;
    if (computed) {
        const char *dir = cfg->node.data_dir;
        size_t n = strlen(dir);
        char *path = malloc(n + sizeof("/admin.sock"));
        if (!path) {
            config_error_key(p, 0, k, "out of memory");
            return;
        }
        /* "dir/" and "dir" both give "dir/admin.sock". */
        snprintf(path, n + sizeof("/admin.sock"), "%s%sadmin.sock", dir,
                 n && dir[n - 1] == '/' ? "" : "/");
        err_clear(&e);
        if (config_value_parse(k, path, &cfg->admin.socket, &e) != 0)
            config_error_key(p, p->key_line[d], kd, "cannot derive the admin socket: %s", e.msg);
        free(path);
        if (!cfg->admin.socket)
            return;
    }
    if (strlen(cfg->admin.socket) > SOCKET_PATH_MAX) {
        if (computed)
            config_error_key(p, p->key_line[d], kd,
                             "the admin socket under it, '%s', is longer than a unix socket "
                             "path may be (%zu bytes); shorten data_dir or set [admin] socket",
                             cfg->admin.socket, SOCKET_PATH_MAX);
        else
            config_error_key(p, p->key_line[i], k,
                             "'%s' is longer than a unix socket path may be (%zu bytes)",
                             cfg->admin.socket, SOCKET_PATH_MAX);
    }
}

static config_check_all_fn check_all; /* config_set_check(); NULL = none */

void config_set_check(config_check_all_fn fn)
{
    check_all = fn;
}

/* The check of a layer above (config_set_check), on a config without errors. */
static void resolve_check_all(struct config_parse *p)
{
    const char *section = NULL, *key = NULL;
    struct weft_err e;
    if (!check_all || p->nerr > 0)
        return;
    err_clear(&e);
    if (check_all(p->cfg, &section, &key, &e) == 0)
        return;
    const struct config_key *k = section && key ? config_schema_key(section, key) : NULL;
    if (k)
        config_error_key(p, p->key_line[config_schema_index(k)], k, "%s", e.msg);
    else
        config_error_section(p, 0, section ? section : "?", "%s", e.msg);
}

void config_resolve(struct config_parse *p)
{
    resolve_node_name(p);
    resolve_admin_socket(p);
    resolve_check_all(p);
}
