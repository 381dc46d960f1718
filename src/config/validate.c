/*
 * validate: the rules a value must follow beyond its type, and the values
 * computed once the whole file is read.
 *
 * Per-key checks (config_check_*) run while parsing, on the parsed value, so
 * their errors carry the key's line. config_resolve() runs after the file
 * and the defaults: it fills node.name from the host name and admin.socket
 * from data_dir, then checks what involves several keys, including the
 * whole-item check of each [KIND NAME] section (config_check_service: a
 * check_timeout below check_interval, check_path only with http;
 * config_check_upstream: service or address, from/tls_* where they apply)
 * and the listeners that would collide (listen.c). Values
 * that were already refused are skipped, so one mistake gives one error,
 * not a chain.
 *
 * The name rule (config_name_check) is shared by node names, service names
 * and mesh config objects, and is pki/spiffe.c's NAME rule (test_config
 * checks they agree, as test_pki_spiffe does for trust domains).
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

#include "core/units.h"

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

const char *config_quote(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    if (!cap)
        return buf;
    for (; s && *s && n + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f) {
            buf[n++] = (char)c;
        } else {
            if (n + 5 > cap)
                break;
            snprintf(buf + n, cap - n, "\\x%02x", c);
            n += 4;
        }
    }
    buf[n] = '\0';
    return buf;
}

int config_name_check(const char *s, struct weft_err *e)
{
    char b[16], q[96];
    if (!s || !*s)
        return err_set(e, "name is empty");
    size_t len = strlen(s);
    config_quote(s, q, sizeof(q));
    if (len > CONFIG_NAME_MAX)
        return err_set(e, "'%s' is longer than %d characters", q, CONFIG_NAME_MAX);
    if (!isalnum((unsigned char)s[0]))
        return err_set(e, "'%s' must start with a letter or a digit", q);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return err_set(e, "'%s' contains %s (allowed: A-Z a-z 0-9 . _ -)", q,
                           show_byte(s[i], b, sizeof(b)));
        if (c == '.' && s[i + 1] == '.')
            return err_set(e, "'%s' must not contain '..'", q);
    }
    return 0;
}

int config_check_node_name(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    if (!s)
        return 0; /* empty: the host name, checked by config_resolve() */
    return config_name_check(s, e);
}

int config_check_ip(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    struct in_addr a4;
    struct in6_addr a6;
    if (!s)
        return err_set(e, "must not be empty");
    if (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1)
        return 0;
    if (s[0] == '[')
        return err_set(e, "'%s': write the IPv6 address without brackets", s);
    return err_set(e, "'%s' is not an IP address (host names are not resolved)", s);
}

int config_check_http_path(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    char b[16];
    if (!s)
        return 0; /* unset: "/" for http checks (config_check_service) */
    if (s[0] != '/')
        return err_set(e, "'%s' must start with '/'", s);
    for (const char *c = s; *c; c++) {
        if (!isgraph((unsigned char)*c))
            return err_set(e, "'%s' contains %s (printable, no blanks)", s,
                           show_byte(*c, b, sizeof(b)));
    }
    return 0;
}

/* Service tag words and keys: the name alphabet, starting anyhow. */
static bool tag_word_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

/* Service tags: at most this many; a tag value at most this long. */
#define SERVICE_TAGS_MAX 32
#define SERVICE_TAG_VALUE_MAX 127

int config_check_service_tags(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    const char *seen[SERVICE_TAGS_MAX];
    size_t seen_len[SERVICE_TAGS_MAX], count = 0;
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        while (n && *s == ' ') {
            s++;
            n--;
        }
        while (n && s[n - 1] == ' ')
            n--;
        if (n == 0)
            return err_set(e, "empty tag in the list");
        const char *eq = memchr(s, '=', n);
        size_t kl = eq ? (size_t)(eq - s) : n;
        if (!tag_word_ok(s, kl))
            return err_set(e, "'%.*s': a tag or tag key is 1-63 of A-Z a-z 0-9 . _ -", (int)n, s);
        if (eq) {
            const char *v = eq + 1;
            size_t vl = n - kl - 1;
            if (vl == 0)
                return err_set(e, "'%.*s' has an empty value (write the word alone)", (int)n, s);
            if (vl > SERVICE_TAG_VALUE_MAX)
                return err_set(e, "tag '%.*s' has a value longer than %d characters", (int)kl, s,
                               SERVICE_TAG_VALUE_MAX);
            for (size_t i = 0; i < vl; i++) {
                if (!isgraph((unsigned char)v[i]) || v[i] == '=')
                    return err_set(e, "tag '%.*s': the value may not hold blanks or '='", (int)kl,
                                   s);
            }
        }
        for (size_t i = 0; i < count; i++) {
            if (seen_len[i] == kl && memcmp(seen[i], s, kl) == 0)
                return err_set(e, "tag '%.*s' is listed twice", (int)kl, s);
        }
        if (count == SERVICE_TAGS_MAX)
            return err_set(e, "more than %d tags", SERVICE_TAGS_MAX);
        seen[count] = s;
        seen_len[count++] = kl;
        s = c ? c + 1 : NULL;
    }
    return 0;
}

/* The most writers a list holds (a line holds far fewer anyway). */
#define MESH_WRITERS_MAX 64

int config_check_mesh_writers(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    char one[256], q[96];
    size_t count = 0;
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        while (n && *s == ' ') {
            s++;
            n--;
        }
        while (n && s[n - 1] == ' ')
            n--;
        if (n == 0)
            return err_set(e, "empty entry in the list");
        if (n >= sizeof(one))
            return err_set(e, "'%.40s...' is too long", s);
        if (++count > MESH_WRITERS_MAX)
            return err_set(e, "more than %d writers", MESH_WRITERS_MAX);
        memcpy(one, s, n);
        one[n] = '\0';
        if (strncmp(one, "spiffe://", 9) == 0) {
            char *slash = strchr(one + 9, '/');
            config_quote(one, q, sizeof(q));
            if (!slash || strncmp(slash, "/node/", 6) != 0)
                return err_set(e, "'%s' is not a node ID (spiffe://TRUST-DOMAIN/node/NAME)", q);
            *slash = '\0';
            if (config_trust_domain_check(one + 9, e) != 0 || config_name_check(slash + 6, e) != 0)
                return err_prefix(e, "'%s'", q);
        } else if (config_name_check(one, e) != 0) {
            return -1;
        }
        s = c ? c + 1 : NULL;
    }
    return 0;
}

int config_check_service(void *item, const int *key_line, const char **key, struct weft_err *e)
{
    struct config_service *svc = item;
    char a[32], b[32];
    /* key_line is indexed like the kind's rows (schema.c service_keys[]). */
    const struct config_kind *kd = &config_kinds[config_schema_kind("service")];
    const struct config_key *k_interval = config_kind_key(kd, "check_interval");
    const struct config_key *k_timeout = config_kind_key(kd, "check_timeout");
    bool timeout_set = key_line[k_timeout - kd->keys] > 0;
    bool interval_set = key_line[k_interval - kd->keys] > 0;
    if (svc->check_path && svc->check != CONFIG_CHECK_HTTP) {
        *key = "check_path";
        return err_set(e, "'%s' is only used with check = http", svc->check_path);
    }
    if (svc->check == CONFIG_CHECK_HTTP && !svc->check_path && !(svc->check_path = strdup("/"))) {
        *key = "check_path";
        return err_set(e, "out of memory");
    }
    if (svc->check != CONFIG_CHECK_NONE && svc->check_timeout_ms >= svc->check_interval_ms) {
        units_format_duration(svc->check_timeout_ms, a, sizeof(a));
        units_format_duration(svc->check_interval_ms, b, sizeof(b));
        *key = timeout_set || !interval_set ? "check_timeout" : "check_interval";
        return err_set(e, "check_timeout (%s) must be less than check_interval (%s)", a, b);
    }
    return 0;
}

int config_check_name_opt(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    return s ? config_name_check(s, e) : 0;
}

int config_check_advertise(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    char host[256];
    unsigned port;
    struct in_addr a4;
    struct in6_addr a6;
    if (!s)
        return 0; /* derived by the agent */
    if (config_addr_split(s, host, sizeof(host), &port, e) != 0)
        return -1;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        if (a4.s_addr == htonl(INADDR_ANY))
            return err_set(e, "'%s' is a wildcard address: other nodes cannot dial it", s);
        return 0;
    }
    if (s[0] == '[' && inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_UNSPECIFIED(&a6))
            return err_set(e, "'%s' is a wildcard address: other nodes cannot dial it", s);
        return 0;
    }
    return err_set(e, "'%s' is not an IP address (host names are not resolved)", s);
}

int config_check_sni(const void *field, struct weft_err *e)
{
    const char *s = *(char *const *)field;
    struct in_addr a4;
    struct in6_addr a6;
    if (!s)
        return 0;
    if (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1)
        return err_set(e, "'%s' is an IP address: SNI carries host names only (RFC 6066)", s);
    return config_dns_name_check(s, false, e);
}

int config_check_upstream(void *item, const int *key_line, const char **key, struct weft_err *e)
{
    struct config_upstream *up = item;
    char a[32], b[32], host[256];
    unsigned port;
    /* key_line is indexed like the kind's rows (schema.c upstream_keys[]). */
    const struct config_kind *kd = &config_kinds[config_schema_kind("upstream")];
    int line_svc = key_line[config_kind_key(kd, "service") - kd->keys];
    int line_addr = key_line[config_kind_key(kd, "address") - kd->keys];
    bool ej_set = key_line[config_kind_key(kd, "outlier_ejection") - kd->keys] > 0;
    bool max_set = key_line[config_kind_key(kd, "outlier_max_ejection") - kd->keys] > 0;
    *key = NULL; /* the header's line */
    if (!up->service && !up->address)
        return err_set(e, "needs service (a mesh service) or address (a destination outside the "
                          "mesh)");
    if (up->service && up->address)
        return err_set(e, "service (line %d) and address (line %d) exclude each other: set one",
                       line_svc, line_addr);
    if (up->from && !up->service) {
        *key = "from";
        return err_set(e, "'%s' is only used with service (egress presents no mesh identity)",
                       up->from);
    }
    if (up->tls_ca && !up->address) {
        *key = "tls_ca";
        return err_set(e,
                       "'%s' is only used with address (egress); calls to a mesh service "
                       "always use the mesh's mTLS",
                       up->tls_ca);
    }
    if (up->tls_sni && !up->tls_ca) {
        *key = "tls_sni";
        return err_set(e, "'%s' is only used with tls_ca", up->tls_sni);
    }
    if (up->outlier_ejection_ms > up->outlier_max_ejection_ms) {
        units_format_duration(up->outlier_ejection_ms, a, sizeof(a));
        units_format_duration(up->outlier_max_ejection_ms, b, sizeof(b));
        *key = ej_set || !max_set ? "outlier_ejection" : "outlier_max_ejection";
        return err_set(e, "outlier_ejection (%s) must not exceed outlier_max_ejection (%s)", a, b);
    }
    /* TLS to a DNS name sends that name (SNI) unless told otherwise; an IP
     * address is never sent as SNI. */
    if (up->tls_ca && !up->tls_sni) {
        const char *h = host;
        struct weft_err not_a_name;
        if (config_addr_split(up->address, host, sizeof(host), &port, &not_a_name) == 0 &&
            config_check_sni(&h, &not_a_name) == 0 && !(up->tls_sni = strdup(host))) {
            *key = "tls_sni";
            return err_set(e, "out of memory");
        }
        /* An IP address is never matched against the certificate
         * (docs/proxy.md, "Egress"): without a name there is nothing to check. */
        if (!up->tls_sni) {
            *key = "tls_ca";
            return err_set(e,
                           "origination needs a server name to check in the server's "
                           "certificate; address %s is an IP address: set tls_sni",
                           up->address);
        }
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

int config_trust_domain_check(const char *td, struct weft_err *e)
{
    return config_check_trust_domain(&td, e);
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
     * ctl=<port>, mesh=<16 hex digits>. The id tag's length (the SPIFFE ID)
     * is only known at start, where the encoder checks the whole
     * (gossip_net_new). */
    size_t total = 1 + 3 + mp_str_size(4) + mp_str_size(4) + mp_str_size(7) + mp_str_size(32) +
                   mp_str_size(3) + mp_str_size(5) + mp_str_size(4) + mp_str_size(16);
    size_t count = 5;
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        const char *eq = memchr(s, '=', n);
        if (!eq || eq == s)
            return err_set(e, "'%.*s' is not key=value", (int)n, s);
        size_t kl = (size_t)(eq - s), vl = n - kl - 1;
        /* weft's own tags (docs/gossip.md "Tags"). */
        static const char *const reserved[] = {"role", "version", "ctl", "id", "mesh"};
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

/* The whole-item check of every [KIND NAME] section whose values all parsed. */
static void resolve_items(struct config_parse *p)
{
    for (size_t i = 0; i < config_kinds_count; i++) {
        const struct config_kind *kd = &config_kinds[i];
        struct config_list *l = config_kind_list(p->cfg, kd);
        if (!kd->check)
            continue;
        for (size_t j = 0; j < l->n; j++) {
            const struct config_item_lines *il = &p->item_lines[i][j];
            void *item = config_kind_item(kd, l, j);
            const char *key = NULL;
            struct weft_err e;
            bool bad = false;
            for (size_t k = 0; k < kd->nkeys; k++)
                bad |= il->key_bad[k];
            err_clear(&e);
            if (bad || kd->check(item, il->key_line, &key, &e) == 0)
                continue;
            const struct config_key *row = key ? config_kind_key(kd, key) : NULL;
            int line = row && il->key_line[row - kd->keys] ? il->key_line[row - kd->keys]
                                                           : il->section_line;
            config_error_item(p, line, kd, item, row, "%s", e.msg);
        }
    }
}

void config_resolve(struct config_parse *p)
{
    resolve_node_name(p);
    resolve_admin_socket(p);
    resolve_items(p);
    config_resolve_listens(p);
    resolve_check_all(p);
}
