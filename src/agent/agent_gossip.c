/*
 * agent_gossip: the agent's side of [gossip]. Builds the transport's config
 * from weft.ini (addresses, profile, key file, tags with weft's own
 * role=weft and version), starts it, joins the configured seeds, and serves
 *   GET  /v1/members            the member table (name, addr, port, status,
 *                               tags, protocol versions)
 *   POST /v1/join?addrs=A,B     join through those members
 *   POST /v1/leave              graceful leave; the agent then exits 0
 * Without [gossip] enabled = true the endpoints answer 409 "gossip is off".
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/json.h"
#include "core/log.h"
#include "gossip/gossip_net.h"
#include "store/store.h"
#include "weft_version.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GOSSIP_SEEDS_MAX 32

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

static int build_tags(const char *s, struct serf_tag *tags, size_t max, size_t *n,
                      struct weft_err *e)
{
    snprintf(tags[0].key, sizeof(tags[0].key), "role");
    snprintf(tags[0].value, sizeof(tags[0].value), "weft");
    snprintf(tags[1].key, sizeof(tags[1].key), "version");
    snprintf(tags[1].value, sizeof(tags[1].value), "%s", WEFT_VERSION);
    *n = 2;
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
    c.arg = w;
    c.name = w->cfg->node.name;
    c.profile = (enum swim_profile)gc->profile;
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
    if (build_tags(gc->tags, tags, SERF_TAGS_MAX, &c.ntags, e) != 0)
        goto out;
    c.tags = tags;
    int n = parse_addr_list(gc->join, seeds, GOSSIP_SEEDS_MAX, e);
    if (n < 0)
        goto out;
    if (!(w->gossip = gossip_net_new(w->base, &c, e)))
        goto out;
    log_info(LOG_AGENT, "gossip: %s on %s (advertise %s, profile %s%s)", c.name, gc->bind,
             gossip_addr_str(&c.adv, as, sizeof(as)), swim_profile_name(c.profile),
             c.kr ? ", encrypted" : "");
    if (n > 0)
        gossip_net_join(w->gossip, seeds, (size_t)n);
    rc = 0;
out:
    keyring_deinit(&kr);
    return rc;
}

/* The gossip endpoints of an agent without [gossip] enabled = true. */
static int gossip_off(struct weft_err *e)
{
    err_set(e, "gossip is off in this agent ([gossip] enabled = false)");
    return 409;
}

static const char *status_name(enum swim_status st)
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
        json_kv_str(&j, "status", status_name(swim_member_status(m)));
        json_kv_uint(&j, "incarnation", swim_member_incarnation(m));
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
        admin_route(w->admin, ADMIN_POST, "/v1/leave", api_leave, w) != 0)
        return -1;
    return 0;
}
