/*
 * listen: no two listeners of one config on the same address and port.
 *
 * The agent binds [admin] listen, [control] listen, [proxy] inbound,
 * [gossip] bind (with gossip enabled; TCP and UDP) and every [upstream NAME]
 * listen. Two of them on one port collide when their hosts are the same
 * address, or when one is a wildcard that covers the other (0.0.0.0 every
 * IPv4 address; [::] every address, since Linux's IPv6 sockets take IPv4
 * too unless v6only): bind() would fail at start with EADDRINUSE, far from
 * the line to fix. An upstream that listens on exactly the address and port
 * of a [service NAME] would take the service's port (or call itself), so
 * that is refused too; only an exact match, since a service may live in
 * another network namespace behind its own IP.
 *
 * Each collision is reported once, on the later line of the two, naming the
 * earlier one:
 *
 *   t.ini:7: [upstream b] listen: '127.0.0.1:9001' collides with
 *            [upstream a] listen 127.0.0.1:9001 (line 3)
 *
 * IP addresses are compared as addresses ([::1] and [0::1] are one), DNS
 * names as text, without resolving (localhost collides with localhost and
 * with wildcards). Values that were already refused are skipped.
 *
 * Allocation: the entry table is heap for the length of the call only.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/parse.h"

/* One bound address of the config. */
struct listen_ent {
    const char *text;  /* as written: "0.0.0.0:15443" (points into the config) */
    char svc_text[64]; /* a service's "ADDRESS:PORT" (text points here) */
    char what[96];     /* "proxy.inbound", "[upstream a] listen", "[service web]" */
    int line;          /* 0 = a default */
    int family;        /* AF_INET, AF_INET6, or 0 for a DNS name */
    unsigned char ip[16];
    char host[256]; /* DNS name */
    unsigned port;
    bool wildcard;
    bool service; /* a destination ([service NAME]), not a listener */
    /* Where to report it: a fixed key, or an item's key. */
    const struct config_key *k;
    const struct config_kind *kd;
    const void *item;
};

/* Fill e's address from text. Returns 0, or -1 if it does not split (skip). */
static int ent_addr(struct listen_ent *e, const char *text)
{
    struct weft_err err;
    struct in_addr a4;
    struct in6_addr a6;
    e->text = text;
    if (config_addr_split(text, e->host, sizeof(e->host), &e->port, &err) != 0)
        return -1;
    if (text[0] != '[' && inet_pton(AF_INET, e->host, &a4) == 1) {
        e->family = AF_INET;
        memcpy(e->ip, &a4, sizeof(a4));
        e->wildcard = a4.s_addr == htonl(INADDR_ANY);
    } else if (text[0] == '[' && inet_pton(AF_INET6, e->host, &a6) == 1) {
        e->family = AF_INET6;
        memcpy(e->ip, &a6, sizeof(a6));
        e->wildcard = IN6_IS_ADDR_UNSPECIFIED(&a6);
    }
    return 0;
}

static bool same_host(const struct listen_ent *a, const struct listen_ent *b)
{
    if (a->family != b->family)
        return false;
    if (a->family == 0)
        return strcasecmp(a->host, b->host) == 0;
    return memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

/* Does wildcard w take the port on b's host too? */
static bool covers(const struct listen_ent *w, const struct listen_ent *b)
{
    return w->wildcard && (w->family == AF_INET6 || b->family != AF_INET6);
}

static bool collide(const struct listen_ent *a, const struct listen_ent *b)
{
    if (a->port != b->port)
        return false;
    if (a->service || b->service)
        return same_host(a, b); /* exact only (see the top) */
    return same_host(a, b) || covers(a, b) || covers(b, a);
}

/* A fixed key's address, unless unset or refused. */
static void add_key(struct config_parse *p, struct listen_ent *tab, size_t *n, const char *section,
                    const char *name)
{
    const struct config_key *k = config_schema_key(section, name);
    size_t idx = config_schema_index(k);
    const char *text = *(char *const *)config_field_const(p->cfg, k);
    struct listen_ent *e = &tab[*n];
    if (!text || p->key_bad[idx])
        return;
    memset(e, 0, sizeof(*e));
    if (ent_addr(e, text) != 0)
        return;
    snprintf(e->what, sizeof(e->what), "%s.%s", section, name);
    e->line = p->key_line[idx];
    e->k = k;
    (*n)++;
}

/* Every [upstream NAME] listen, and every [service NAME] address:port. */
static void add_items(struct config_parse *p, struct listen_ent *tab, size_t *n)
{
    int ku = config_schema_kind("upstream"), ks = config_schema_kind("service");
    const struct config_kind *up = &config_kinds[ku], *svc = &config_kinds[ks];
    const struct config_key *k_listen = config_kind_key(up, "listen");
    const struct config_key *k_addr = config_kind_key(svc, "address");
    const struct config_key *k_port = config_kind_key(svc, "port");
    const struct config_list *lu = config_kind_list_const(p->cfg, up);
    const struct config_list *ls = config_kind_list_const(p->cfg, svc);
    char q[96];
    for (size_t j = 0; j < lu->n; j++) {
        const struct config_upstream *u = config_kind_item(up, lu, j);
        const struct config_item_lines *il = &p->item_lines[ku][j];
        struct listen_ent *e = &tab[*n];
        if (!u->listen || il->key_bad[k_listen - up->keys])
            continue;
        memset(e, 0, sizeof(*e));
        if (ent_addr(e, u->listen) != 0)
            continue;
        snprintf(e->what, sizeof(e->what), "[upstream %s] listen",
                 config_quote(u->name, q, sizeof(q)));
        e->line = il->key_line[k_listen - up->keys];
        e->kd = up;
        e->item = u;
        (*n)++;
    }
    for (size_t j = 0; j < ls->n; j++) {
        const struct config_service *s = config_kind_item(svc, ls, j);
        const struct config_item_lines *il = &p->item_lines[ks][j];
        struct listen_ent *e = &tab[*n];
        if (!s->address || il->key_bad[k_addr - svc->keys] || il->key_bad[k_port - svc->keys])
            continue;
        memset(e, 0, sizeof(*e));
        snprintf(e->svc_text, sizeof(e->svc_text), strchr(s->address, ':') ? "[%s]:%d" : "%s:%d",
                 s->address, (int)s->port);
        if (ent_addr(e, e->svc_text) != 0)
            continue;
        snprintf(e->what, sizeof(e->what), "[service %s]", config_quote(s->name, q, sizeof(q)));
        e->line = il->section_line;
        e->service = true;
        (*n)++;
    }
}

/* Report b, which collides with a (the earlier one). */
static void report(struct config_parse *p, const struct listen_ent *b, const struct listen_ent *a)
{
    char where[32];
    if (a->line > 0)
        snprintf(where, sizeof(where), "line %d", a->line);
    else
        snprintf(where, sizeof(where), "its default");
    if (b->k)
        config_error_key(p, b->line, b->k, "'%s' collides with %s %s (%s)", b->text, a->what,
                         a->text, where);
    else
        config_error_item(p, b->line, b->kd, b->item, config_kind_key(b->kd, "listen"),
                          "'%s' collides with %s %s (%s)", b->text, a->what, a->text, where);
}

/* Is a before b: an earlier line, or the same line and earlier in tab? */
static bool before(const struct listen_ent *a, size_t ia, const struct listen_ent *b, size_t ib)
{
    return a->line < b->line || (a->line == b->line && ia < ib);
}

void config_resolve_listens(struct config_parse *p)
{
    const struct weft_config *cfg = p->cfg;
    size_t cap = 4 + cfg->upstreams.n + cfg->services.n, n = 0;
    struct listen_ent *tab = calloc(cap, sizeof(*tab));
    if (!tab) {
        config_error_section(p, 0, "upstream", "out of memory");
        return;
    }
    add_key(p, tab, &n, "admin", "listen");
    add_key(p, tab, &n, "control", "listen");
    add_key(p, tab, &n, "proxy", "inbound");
    if (cfg->gossip.enabled)
        add_key(p, tab, &n, "gossip", "bind");
    add_items(p, tab, &n);
    for (size_t j = 0; j < n; j++) {
        const struct listen_ent *b = &tab[j], *first = NULL;
        size_t fi = 0;
        if (b->service)
            continue; /* a listener is to blame, not the service */
        for (size_t i = 0; i < n; i++) {
            const struct listen_ent *a = &tab[i];
            if (i == j || !collide(a, b) || (!a->service && !before(a, i, b, j)))
                continue;
            if (!first || before(a, i, first, fi)) {
                first = a;
                fi = i;
            }
        }
        if (first)
            report(p, b, first);
    }
    free(tab);
}
