/*
 * agent_gossip: the agent's side of [gossip]. Builds the transport's config
 * from weft.ini (addresses, the effective timing: the profile with the
 * [gossip] timing keys on top, key file, tags with weft's own: role=weft,
 * version, ctl=<[control] listen port> when the control listener is on,
 * id=<the node's SPIFFE ID> when it has an identity), starts it, joins
 * the configured seeds, and serves
 *   GET  /v1/members            the member table (name, addr, port, status,
 *                               tags, protocol versions)
 *   POST /v1/join?addrs=A,B     join through those members
 *   POST /v1/leave              graceful leave; the agent then exits 0
 * Without [gossip] enabled = true the endpoints answer 409 "gossip is off".
 *
 * Persistence and rejoin (serf's -snapshot + -rejoin): the member table
 * (name, address, port, status; ourselves excluded) is written to the
 * store's gossip_members table when it changes, at most once per second
 * (a libevent timer owned by struct agent_gossip_persist, freed in
 * agent_gossip_stop, which also writes what is pending at exit). At start
 * with [gossip] rejoin = true the members stored as alive are joined along
 * with [gossip] join. A graceful leave clears the table and stops the
 * writes, so the next start does not rejoin.
 *
 * Retried joins (serf's -retry-join): while the node knows no other live
 * member, the seeds (and the stored members) are joined again, after 1 s,
 * then doubling to at most every 30 s. Gateways booting together after a
 * power cut start in any order; one attempt at start would leave a node
 * whose seeds were not up yet a cluster of one for good. A node that later
 * finds itself alone again (every other member failed and was reaped)
 * starts retrying again. A graceful leave or the agent's stop ends it.
 */
#include "admin/admin.h"
#include "agent/agent_keys.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/loop.h"
#include "gossip/gossip_net.h"
#include "gossip/gossip_timing.h"
#include "pki/identity.h"
#include "store/store.h"
#include "weft_version.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GOSSIP_SEEDS_MAX 32
/* Stored members rejoined at start, with the configured seeds: one
 * push/pull each, and one live member is enough to get the whole state. */
#define GOSSIP_REJOIN_MAX 8
/* At most one write of the member table per this many ms. */
#define GOSSIP_SAVE_MS 1000
/* Joins retried while alone: the first after this, then doubling to the max
 * (also how often a node that is not alone checks that it still is not). */
#define GOSSIP_RETRY_FIRST_MS 1000
#define GOSSIP_RETRY_MAX_MS 30000

struct agent_gossip_retry {
    struct weft *w;
    struct event *ev;
    struct swim_addr seeds[GOSSIP_SEEDS_MAX];
    size_t n;
    int64_t delay_ms; /* until the next join while alone */
    unsigned attempts;
    struct log_ratelim rl;
};

/* The member table's persistence (see the header comment). */
struct agent_gossip_persist {
    struct weft *w;
    struct event *ev; /* the debounce timer */
    bool dirty;       /* changed since the last write */
    bool left;        /* a graceful leave: no more writes */
    int64_t last_ms;  /* monotonic time of the last write */
    struct log_ratelim rl;
};

/* Parse "A, B, C" into addrs[]. Returns the count or -1. */
static int parse_addr_list(const char *s, struct swim_addr *addrs, size_t max, struct weft_err *e)
{
    size_t n = 0;
    char one[128];
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t l = c ? (size_t)(c - s) : strlen(s);
        while (l && *s == ' ') {
            s++;
            l--;
        }
        while (l && s[l - 1] == ' ')
            l--;
        if (l) {
            if (l >= sizeof(one) || n >= max)
                return err_set(e, "too many or too long addresses");
            memcpy(one, s, l);
            one[l] = '\0';
            if (gossip_addr_parse(one, &addrs[n], e) != 0)
                return -1;
            n++;
        }
        s = c ? c + 1 : NULL;
    }
    return (int)n;
}

/* The local address the kernel would use to reach the outside (no packet sent). */
static int guess_local_addr(struct swim_addr *a, struct weft_err *e)
{
    struct sockaddr_in dst, me;
    socklen_t sl = sizeof(me);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return err_set(e, "gossip: cannot pick an address to advertise; set [gossip] advertise");
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons(9);
    inet_pton(AF_INET, "192.0.2.1", &dst.sin_addr);
    int rc = connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0 &&
                     getsockname(fd, (struct sockaddr *)&me, &sl) == 0
                 ? 0
                 : -1;
    close(fd);
    if (rc != 0)
        return err_set(e, "gossip: cannot pick an address to advertise; set [gossip] advertise");
    memcpy(a->ip, &me.sin_addr, 4);
    a->ip_len = 4;
    return 0;
}

static int load_keys(const char *path, struct keyring *kr, struct weft_err *e)
{
    char line[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, "gossip: key_file %s: cannot open", path);
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
            line[--l] = '\0';
        if (l == 0 || line[0] == '#')
            continue;
        if (keyring_add_base64(kr, line, e) != 0)
            rc = -1;
    }
    fclose(f);
    if (rc == 0 && kr->n == 0)
        rc = err_set(e, "gossip: key_file %s holds no key", path);
    return rc;
}

/* weft's own tags (docs/gossip.md "Tags"), then [gossip] tags. The
 * identity starts before gossip (agent.c) and SIGHUP reloads it before the
 * tags, so id is the current one. */
static int build_tags(const struct weft *w, struct serf_tag *tags, size_t max, size_t *n,
                      struct weft_err *e)
{
    const char *s = w->cfg->gossip.tags;
    const char *ctl = w->cfg->control.listen ? strrchr(w->cfg->control.listen, ':') : NULL;
    snprintf(tags[0].key, sizeof(tags[0].key), "role");
    snprintf(tags[0].value, sizeof(tags[0].value), "weft");
    snprintf(tags[1].key, sizeof(tags[1].key), "version");
    snprintf(tags[1].value, sizeof(tags[1].value), "%s", WEFT_VERSION);
    *n = 2;
    if (ctl && ctl[1]) {
        snprintf(tags[*n].key, sizeof(tags[*n].key), "ctl");
        snprintf(tags[*n].value, sizeof(tags[*n].value), "%s", ctl + 1);
        (*n)++;
    }
    if (w->mesh) {
        snprintf(tags[*n].key, sizeof(tags[*n].key), "mesh");
        agent_mesh_tag(w, tags[*n].value, sizeof(tags[*n].value));
        (*n)++;
    }
    if (w->ident && w->ident->nidents > 0) {
        if (strlen(w->ident->idents[0].spiffe_id) > SERF_TAG_VAL_MAX)
            return err_set(e, "gossip: the node's SPIFFE ID is too long for a tag");
        snprintf(tags[*n].key, sizeof(tags[*n].key), "id");
        snprintf(tags[*n].value, sizeof(tags[*n].value), "%s", w->ident->idents[0].spiffe_id);
        (*n)++;
    }
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t l = c ? (size_t)(c - s) : strlen(s);
        const char *eq = memchr(s, '=', l);
        if (!eq || *n >= max || (size_t)(eq - s) > SERF_TAG_KEY_MAX ||
            l - (size_t)(eq - s) - 1 > SERF_TAG_VAL_MAX)
            return err_set(e, "gossip: bad tags");
        snprintf(tags[*n].key, sizeof(tags[*n].key), "%.*s", (int)(eq - s), s);
        snprintf(tags[*n].value, sizeof(tags[*n].value), "%.*s", (int)(l - (size_t)(eq - s) - 1),
                 eq + 1);
        (*n)++;
        s = c ? c + 1 : NULL;
    }
    return 0;
}

/* Our own meta as the core holds it: *len bytes, or NULL. */
static const uint8_t *self_meta(const struct swim *s, size_t *len)
{
    for (size_t i = 0; i < swim_member_count(s); i++) {
        const struct swim_member *m = swim_member_at(s, i);
        if (strcmp(swim_member_name(m), swim_name(s)) == 0)
            return swim_member_meta(m, len);
    }
    return NULL;
}

static void gossip_retag(struct weft *w, bool quiet);

void agent_gossip_reload(struct weft *w)
{
    gossip_retag(w, false);
}

void agent_gossip_retag(struct weft *w)
{
    gossip_retag(w, true);
}

static void gossip_retag(struct weft *w, bool quiet)
{
    struct serf_tag tags[SERF_TAGS_MAX];
    uint8_t meta[ML_META_MAX];
    size_t n = 0, mlen = 0, cur_len = 0;
    struct weft_err e = {{0}};
    if (!w->gossip)
        return;
    if (build_tags(w, tags, SERF_TAGS_MAX, &n, &e) != 0) {
        log_warn(LOG_AGENT, "gossip: tags not changed: %s", e.msg);
        return;
    }
    /* Unchanged tags (the usual SIGHUP): no new incarnation to gossip. */
    const uint8_t *cur = self_meta(gossip_net_swim(w->gossip), &cur_len);
    if (serf_tags_encode(tags, n, meta, sizeof(meta), &mlen, &e) == 0 && cur && cur_len == mlen &&
        memcmp(cur, meta, mlen) == 0)
        return;
    if (gossip_net_set_tags(w->gossip, tags, n, &e) != 0) {
        log_warn(LOG_AGENT, "gossip: tags not changed: %s", e.msg);
        return;
    }
    if (quiet)
        log_debug(LOG_AGENT, "gossip: tags set (%zu), incarnation %u", n,
                  swim_incarnation(gossip_net_swim(w->gossip)));
    else
        log_info(LOG_AGENT, "gossip: tags set (%zu), incarnation %u", n,
                 swim_incarnation(gossip_net_swim(w->gossip)));
}

/* Our incarnation must never go back across restarts: keep it in the store. */
static void save_incarnation(void *arg, uint32_t inc)
{
    struct weft *w = arg;
    char buf[16];
    struct weft_err e = {{0}};
    snprintf(buf, sizeof(buf), "%u", inc);
    if (store_meta_set(w->store, "gossip_incarnation", buf, &e) != 0)
        log_warn(LOG_AGENT, "gossip: cannot save the incarnation: %s", e.msg);
}

static const char *store_status(enum swim_status st)
{
    switch (st) {
    case SWIM_ALIVE:
        return "alive";
    case SWIM_SUSPECT:
        return "suspect";
    case SWIM_DEAD:
        return "dead";
    case SWIM_LEFT:
        return "left";
    }
    return "dead";
}

/* Write the member table (ourselves excluded) to the store now. */
static void persist_save(struct agent_gossip_persist *p)
{
    struct weft *w = p->w;
    struct weft_err e = {{0}};
    p->dirty = false;
    p->last_ms = clock_mono_ms();
    if (p->left || !w->gossip)
        return;
    const struct swim *s = gossip_net_swim(w->gossip);
    size_t n = swim_member_count(s), k = 0;
    struct store_member *rows = calloc(n ? n : 1, sizeof(*rows));
    char(*addrs)[INET6_ADDRSTRLEN] = calloc(n ? n : 1, sizeof(*addrs));
    if (!rows || !addrs) {
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_AGENT,
                    "gossip: cannot save the members: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(s, i);
        const struct swim_addr *a = swim_member_addr(m);
        if (strcmp(swim_member_name(m), swim_name(s)) == 0 || a->port == 0)
            continue;
        if (!inet_ntop(a->ip_len == 16 ? AF_INET6 : AF_INET, a->ip, addrs[k], sizeof(addrs[k])))
            continue;
        rows[k].name = swim_member_name(m);
        rows[k].addr = addrs[k];
        rows[k].port = a->port;
        rows[k].status = store_status(swim_member_status(m));
        k++;
    }
    /* A table of ourselves alone is never written: at start (before the
     * rejoin brought anyone) it would erase the list to rejoin; later, the
     * members it would drop were saved dead or left before they were reaped. */
    if (k == 0)
        goto out;
    if (store_members_replace(w->store, rows, k, &e) != 0)
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_AGENT, "gossip: cannot save the members: %s",
                    e.msg);
    else
        log_debug(LOG_AGENT, "gossip: saved %zu members", k);
out:
    free(rows);
    free(addrs);
}

static void on_save_timer(evutil_socket_t fd, short what, void *arg)
{
    struct agent_gossip_persist *p = arg;
    (void)fd;
    (void)what;
    if (p->dirty)
        persist_save(p);
}

/* gossip_net's on_members: write within GOSSIP_SAVE_MS, at most once per. */
static void on_members(void *arg)
{
    struct weft *w = arg;
    struct agent_gossip_persist *p = w->gossip_persist;
    if (!p || p->left)
        return;
    p->dirty = true;
    if (evtimer_pending(p->ev, NULL))
        return;
    int64_t wait = p->last_ms + GOSSIP_SAVE_MS - clock_mono_ms();
    if (wait < 0)
        wait = 0;
    if (wait > GOSSIP_SAVE_MS)
        wait = GOSSIP_SAVE_MS;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    evtimer_add(p->ev, &tv);
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    struct agent_gossip_retry *r = arg;
    struct weft *w = r->w;
    (void)fd;
    (void)what;
    /* A leave began (weft leave: the member list is cleared; SIGTERM with a
     * proxy: the agent is stopping): no more joins. */
    if (w->stopping || !w->gossip || (w->gossip_persist && w->gossip_persist->left))
        return;
    if (swim_member_count_live(gossip_net_swim(w->gossip)) > 1) {
        /* Not alone (any more): check again later, retry fast if it comes to it. */
        if (r->attempts > 0)
            log_info(LOG_AGENT, "gossip: joined after %u retr%s", r->attempts,
                     r->attempts == 1 ? "y" : "ies");
        r->attempts = 0;
        r->delay_ms = GOSSIP_RETRY_FIRST_MS;
        loop_timer_add(r->ev, GOSSIP_RETRY_MAX_MS);
        return;
    }
    r->attempts++;
    log_ratelim(&r->rl, LOG_LEVEL_INFO, LOG_AGENT,
                "gossip: no other live member: joining %zu address%s again (retry %u)", r->n,
                r->n == 1 ? "" : "es", r->attempts);
    gossip_net_join(w->gossip, r->seeds, r->n);
    int64_t next = r->delay_ms;
    r->delay_ms = r->delay_ms * 2 > GOSSIP_RETRY_MAX_MS ? GOSSIP_RETRY_MAX_MS : r->delay_ms * 2;
    loop_timer_add(r->ev, next);
}

/* Retry the seeds but our own addresses (a seed list shared by every node
 * names each node too); nothing to retry: no timer. */
static int retry_start(struct weft *w, const struct gossip_net_config *c,
                       const struct swim_addr *seeds, size_t n, struct weft_err *e)
{
    size_t k = 0;
    struct swim_addr others[GOSSIP_SEEDS_MAX];
    for (size_t i = 0; i < n; i++)
        if (!swim_addr_eq(&seeds[i], &c->bind) && !swim_addr_eq(&seeds[i], &c->adv))
            others[k++] = seeds[i];
    if (k == 0)
        return 0;
    struct agent_gossip_retry *r = calloc(1, sizeof(*r));
    if (!r || !(r->ev = evtimer_new(w->base, on_retry_timer, r))) {
        free(r);
        return err_set(e, "gossip: out of memory");
    }
    r->w = w;
    memcpy(r->seeds, others, k * sizeof(*others));
    r->n = k;
    r->delay_ms = GOSSIP_RETRY_FIRST_MS * 2;
    r->rl = (struct log_ratelim)LOG_RATELIM_INIT(60000, 5);
    w->gossip_retry = r;
    loop_timer_add(r->ev, GOSSIP_RETRY_FIRST_MS);
    return 0;
}

void agent_gossip_stop(struct weft *w)
{
    struct agent_gossip_retry *r = w->gossip_retry;
    if (r) {
        event_free(r->ev);
        free(r);
        w->gossip_retry = NULL;
    }
    struct agent_gossip_persist *p = w->gossip_persist;
    if (!p)
        return;
    if (p->dirty)
        persist_save(p);
    if (p->ev)
        event_free(p->ev);
    free(p);
    w->gossip_persist = NULL;
}

/* A graceful leave: clear the rejoin list and write no more. */
static void persist_leave(struct weft *w)
{
    struct agent_gossip_persist *p = w->gossip_persist;
    struct weft_err e = {{0}};
    if (!p || p->left)
        return;
    p->left = true;
    p->dirty = false;
    evtimer_del(p->ev);
    if (store_members_replace(w->store, NULL, 0, &e) != 0)
        log_warn(LOG_AGENT, "gossip: cannot clear the stored members: %s", e.msg);
    else
        log_info(LOG_AGENT, "gossip: leaving: the stored members are cleared (no rejoin)");
}

struct rejoin_ctx {
    const char *self;
    struct swim_addr *seeds;
    size_t n, max, added;
};

static int rejoin_row(void *ud, const struct store_member *r)
{
    struct rejoin_ctx *c = ud;
    char one[INET6_ADDRSTRLEN + 16];
    struct swim_addr a;
    struct weft_err e = {{0}};
    if (c->n >= c->max || !r->name || !r->addr || !r->status || strcmp(r->name, c->self) == 0 ||
        (strcmp(r->status, "alive") != 0 && strcmp(r->status, "suspect") != 0))
        return 0;
    snprintf(one, sizeof(one), strchr(r->addr, ':') ? "[%s]:%u" : "%s:%u", r->addr, r->port);
    if (gossip_addr_parse(one, &a, &e) != 0) {
        log_warn(LOG_AGENT, "gossip: stored member %s: %s (skipped)", r->name, e.msg);
        return 0;
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->seeds[i].ip_len == a.ip_len && c->seeds[i].port == a.port &&
            memcmp(c->seeds[i].ip, a.ip, a.ip_len) == 0)
            return 0;
    c->seeds[c->n++] = a;
    c->added++;
    return 0;
}

int agent_gossip_start(struct weft *w, struct weft_err *e)
{
    const struct config_gossip *gc = &w->cfg->gossip;
    struct gossip_net_config c;
    struct keyring kr;
    struct serf_tag tags[SERF_TAGS_MAX];
    struct swim_addr seeds[GOSSIP_SEEDS_MAX];
    char as[64];
    int rc = -1;
    memset(&c, 0, sizeof(c));
    keyring_init(&kr);
    char incbuf[16];
    int found = store_meta_get(w->store, "gossip_incarnation", incbuf, sizeof(incbuf), e);
    if (found < 0)
        goto out;
    c.incarnation = found ? (uint32_t)strtoul(incbuf, NULL, 10) : 0;
    c.on_incarnation = save_incarnation;
    agent_serf_clocks_load(w, &c.clocks);
    c.on_clocks = agent_serf_clocks_save;
    c.on_keys_changed = agent_keys_changed; /* agent_keys.c: rewrite key_file */
    c.on_members = on_members;
    c.arg = w;
    c.name = w->cfg->node.name;
    c.profile = (enum swim_profile)gc->profile;
    struct swim_config timing;
    const char *tkey = NULL;
    if (gossip_timing_check(gc, &timing, &tkey, e) != 0) {
        err_prefix(e, "gossip: [gossip] %s", tkey);
        goto out;
    }
    c.timing = &timing;
    c.reconnect_interval_ms = gc->reconnect_interval_ms;
    c.reconnect_timeout_ms = gc->reconnect_timeout_ms;
    if (gossip_addr_parse(gc->bind, &c.bind, e) != 0)
        goto out;
    if (gc->advertise) {
        if (gossip_addr_parse(gc->advertise, &c.adv, e) != 0)
            goto out;
    } else {
        c.adv = c.bind;
        static const uint8_t zero[16];
        if (memcmp(c.adv.ip, zero, c.adv.ip_len) == 0 && guess_local_addr(&c.adv, e) != 0)
            goto out;
    }
    if (gc->key_file) {
        if (load_keys(gc->key_file, &kr, e) != 0)
            goto out;
        c.kr = &kr;
    }
    if (build_tags(w, tags, SERF_TAGS_MAX, &c.ntags, e) != 0)
        goto out;
    c.tags = tags;
    int n = parse_addr_list(gc->join, seeds, GOSSIP_SEEDS_MAX, e);
    if (n < 0)
        goto out;
    size_t rejoin = 0;
    if (gc->rejoin) {
        struct rejoin_ctx rc_ = {.self = c.name,
                                 .seeds = seeds,
                                 .n = (size_t)n,
                                 .max = (size_t)n + GOSSIP_REJOIN_MAX < GOSSIP_SEEDS_MAX
                                            ? (size_t)n + GOSSIP_REJOIN_MAX
                                            : GOSSIP_SEEDS_MAX};
        if (store_members_each(w->store, rejoin_row, &rc_, e) != 0)
            goto out;
        rejoin = rc_.added;
        n = (int)rc_.n;
    }
    struct agent_gossip_persist *p = calloc(1, sizeof(*p));
    if (!p || !(p->ev = evtimer_new(w->base, on_save_timer, p))) {
        free(p);
        err_set(e, "gossip: out of memory");
        goto out;
    }
    p->w = w;
    p->last_ms = clock_mono_ms() - GOSSIP_SAVE_MS;
    p->rl = (struct log_ratelim)LOG_RATELIM_INIT(60000, 3);
    w->gossip_persist = p;
    if (!(w->gossip = gossip_net_new(w->base, &c, e)))
        goto out;
    log_info(LOG_AGENT, "gossip: %s on %s (advertise %s, profile %s%s)", c.name, gc->bind,
             gossip_addr_str(&c.adv, as, sizeof(as)), swim_profile_name(c.profile),
             c.kr ? ", encrypted" : "");
    if (rejoin > 0)
        log_info(LOG_AGENT, "gossip: rejoining %zu member%s alive at the last run", rejoin,
                 rejoin == 1 ? "" : "s");
    if (n > 0)
        gossip_net_join(w->gossip, seeds, (size_t)n);
    if (retry_start(w, &c, seeds, (size_t)n, e) != 0)
        goto out;
    rc = 0;
out:
    keyring_deinit(&kr);
    return rc;
}

void agent_gossip_timing_json(const struct weft *w, struct json_w *j)
{
    struct swim_config c;
    gossip_timing_effective(&w->cfg->gossip, &c);
    json_key(j, "timing");
    json_obj_begin(j);
    json_kv_str(j, "profile", swim_profile_name((enum swim_profile)w->cfg->gossip.profile));
    for (size_t i = 0; i < gossip_timing_nkeys; i++) {
        char k[48];
        snprintf(k, sizeof(k), "%s%s", gossip_timing_keys[i], gossip_timing_is_dur(i) ? "_ms" : "");
        json_kv_int(j, k, gossip_timing_value(&c, i));
    }
    json_obj_end(j);
}

/* The gossip endpoints of an agent without [gossip] enabled = true. */
static int gossip_off(struct weft_err *e)
{
    err_set(e, "gossip is off in this agent ([gossip] enabled = false)");
    return 409;
}

const char *agent_gossip_status_name(enum swim_status st)
{
    switch (st) {
    case SWIM_ALIVE:
        return "alive";
    case SWIM_SUSPECT:
        return "suspect";
    case SWIM_DEAD:
        return "failed";
    case SWIM_LEFT:
        return "left";
    }
    return "?";
}

static int api_members(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct json_w j;
    struct serf_tag tags[SERF_TAGS_MAX];
    char ip[64];
    (void)req;
    if (!w->gossip)
        return gossip_off(e);
    const struct swim *s = gossip_net_swim(w->gossip);
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "node", swim_name(s));
    json_key(&j, "members");
    json_arr_begin(&j);
    size_t n = swim_member_count(s);
    for (size_t i = 0; i < n; i++) {
        const struct swim_member *m = swim_member_at(s, i);
        const struct swim_addr *a = swim_member_addr(m);
        const uint8_t *v = swim_member_vsn(m);
        size_t mlen, nt = 0;
        struct weft_err te = {{0}};
        const uint8_t *meta = swim_member_meta(m, &mlen);
        if (mlen && serf_tags_decode(meta, mlen, tags, SERF_TAGS_MAX, &nt, &te) != 0)
            nt = 0;
        ip[0] = '\0';
        inet_ntop(a->ip_len == 16 ? AF_INET6 : AF_INET, a->ip, ip, sizeof(ip));
        json_obj_begin(&j);
        json_kv_str(&j, "name", swim_member_name(m));
        json_kv_str(&j, "addr", ip);
        json_kv_uint(&j, "port", a->port);
        json_kv_str(&j, "status", agent_gossip_status_name(swim_member_status(m)));
        json_kv_uint(&j, "incarnation", swim_member_incarnation(m));
        /* Serf's view: alive, leaving (a leave intent came), left, failed. */
        json_kv_str(&j, "serf_status",
                    serf_status_name(
                        serf_member_status(gossip_net_serf(w->gossip), swim_member_name(m), NULL)));
        json_key(&j, "tags");
        json_obj_begin(&j);
        for (size_t t = 0; t < nt; t++)
            json_kv_str(&j, tags[t].key, tags[t].value);
        json_obj_end(&j);
        json_key(&j, "protocol");
        json_arr_begin(&j);
        for (size_t k = 0; k < ML_VSN_LEN; k++)
            json_uint(&j, v[k]);
        json_arr_end(&j);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
    return 200;
}

static int api_join(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    char list[2048];
    struct swim_addr seeds[GOSSIP_SEEDS_MAX];
    if (!w->gossip)
        return gossip_off(e);
    if (!admin_query_get(req->query, "addrs", list, sizeof(list))) {
        err_set(e, "missing query parameter: addrs");
        return 400;
    }
    int n = parse_addr_list(list, seeds, GOSSIP_SEEDS_MAX, e);
    if (n < 0)
        return 400;
    if (n == 0) {
        err_set(e, "no address to join");
        return 400;
    }
    gossip_net_join(w->gossip, seeds, (size_t)n);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_int(&j, "joining", n);
    json_obj_end(&j);
    return 200;
}

static void on_left(void *arg)
{
    struct weft *w = arg;
    agent_left(w);
}

static int api_leave(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    (void)req;
    if (!w->gossip)
        return gossip_off(e);
    persist_leave(w);
    gossip_net_leave(w->gossip, on_left, w);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_bool(&j, "leaving", true);
    json_obj_end(&j);
    return 200;
}

int agent_gossip_register(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_GET, "/v1/members", api_members, w) != 0 ||
        admin_route(w->admin, ADMIN_POST, "/v1/join", api_join, w) != 0 ||
        admin_route(w->admin, ADMIN_POST, "/v1/leave", api_leave, w) != 0 ||
        agent_serf_register(w) != 0)
        return -1;
    return 0;
}
