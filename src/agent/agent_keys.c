/*
 * agent_keys: see agent_keys.h. One allocation per keyring request (struct
 * agent_keys_req, below); the key file text lives on the stack.
 */
#include "agent/agent_keys.h"

#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "gossip/gossip_net.h"
#include "gossip/serf_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* write(2) all of p, retrying on EINTR. */
static int keys_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int agent_keys_save(const char *path, const struct keyring *kr, struct weft_err *e)
{
    char text[KEYRING_MAX * (KEYRING_B64_MAX + 1) + 1];
    char tmp[4096], dir[4096];
    size_t len;
    if (keyring_format(kr, text, sizeof(text), &len, e) < 0)
        return -1;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
        return err_set(e, "key_file %s: path too long", path);
    /* mkstemp creates the file 0600 whatever the umask. */
    int fd = mkstemp(tmp);
    if (fd < 0)
        return err_set(e, "key_file %s: cannot create a temporary file: %s", path, strerror(errno));
    if (keys_write_all(fd, text, len) != 0 || fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
        err_set(e, "key_file %s: cannot write %s: %s", path, tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0) {
        err_set(e, "key_file %s: cannot write %s: %s", path, tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        err_set(e, "key_file %s: cannot replace it: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* The rename is durable once the directory is. */
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        err_set(e, "key_file %s: replaced, but syncing %s failed: %s", path, dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
}

void agent_keys_changed(void *arg, const struct keyring *kr)
{
    struct weft *w = arg;
    const char *path = w->cfg->gossip.key_file;
    struct weft_err e = {{0}};
    if (!path) {
        log_warn(LOG_AGENT, "gossip: the keyring changed (%zu keys) but there is no key_file",
                 kr->n);
        return;
    }
    if (agent_keys_save(path, kr, &e) != 0) {
        log_warn(LOG_AGENT, "gossip: the keyring changed but was not saved: %s", e.msg);
        return;
    }
    log_info(LOG_AGENT, "gossip: the keyring changed (%zu keys); saved to %s", kr->n, path);
}

/*
 * One POST /v1/keyring in flight, on the agent's list (w->keys_inflight) so
 * that agent_keys_stop() can finish it. Freed as soon as it has answered
 * (the query is then forgotten) or when the client goes away; never from
 * inside gossip_net_query() (in_call), whose caller still holds it.
 */
struct agent_keys_req {
    struct weft *w;
    struct admin_pending *p; /* NULL once answered */
    bool in_call;            /* inside gossip_net_query() */
    struct agent_keys_req *prev, *next;
    struct serf_keys_summary sum;
};

static void keys_free(struct agent_keys_req *k)
{
    if (k->w->gossip)
        gossip_net_query_forget(k->w->gossip, k);
    if (k->prev)
        k->prev->next = k->next;
    else
        k->w->keys_inflight = k->next;
    if (k->next)
        k->next->prev = k->prev;
    free(k);
}

static void keys_counts(struct json_w *j, const char *name, const struct serf_keys_count *c,
                        size_t n)
{
    json_key(j, name);
    json_obj_begin(j);
    for (size_t i = 0; i < n; i++)
        if (c[i].key[0]) /* Serf counts the empty PrimaryKey of failed nodes */
            json_kv_uint(j, c[i].key, c[i].count);
    json_obj_end(j);
}

/* Answer with the summary so far (Serf's KeyResponse). */
static void keys_reply(struct agent_keys_req *k)
{
    const struct serf_keys_summary *s = &k->sum;
    struct weft_err e = {{0}};
    struct sbuf out;
    struct json_w j;
    bool ok = serf_keys_summary_verdict(s, &e) == 0;
    sbuf_init(&out);
    json_w_init(&j, &out);
    json_obj_begin(&j);
    json_kv_str(&j, "op", serf_keys_op_name(s->op));
    json_kv_bool(&j, "ok", ok);
    json_kv_str(&j, "failure", ok ? NULL : e.msg);
    json_kv_uint(&j, "num_nodes", s->num_nodes);
    json_kv_uint(&j, "num_resp", s->num_resp);
    json_kv_uint(&j, "num_err", s->num_err);
    json_key(&j, "messages");
    json_obj_begin(&j);
    for (size_t i = 0; i < s->n_msgs; i++)
        json_kv_str(&j, s->msgs[i].node, s->msgs[i].message);
    json_obj_end(&j);
    keys_counts(&j, "keys", s->keys, s->n_keys);
    if (s->op == SERF_KEYS_LIST)
        keys_counts(&j, "primary_keys", s->primary, s->n_primary);
    json_obj_end(&j);
    if (ok)
        log_info(LOG_AGENT, "gossip: keyring %s: %u/%u nodes answered, no failure",
                 serf_keys_op_name(s->op), s->num_resp, s->num_nodes);
    else
        log_warn(LOG_AGENT, "gossip: keyring %s: %s", serf_keys_op_name(s->op), e.msg);
    if (out.oom)
        admin_pending_error(k->p, 503, "out of memory");
    else
        admin_pending_reply(k->p, 200, sbuf_str(&out), out.len);
    k->p = NULL;
    sbuf_deinit(&out);
}

static void keys_on_resp(void *arg, const struct gossip_query_resp *r)
{
    struct agent_keys_req *k = arg;
    if (r && r->ack)
        return;
    if (r)
        serf_keys_summary_add(&k->sum, r->from, r->payload, r->len);
    /* Serf stops waiting once every node has answered; NULL is the deadline. */
    if (k->p && (!r || serf_keys_summary_done(&k->sum)))
        keys_reply(k);
    if (!k->p && !k->in_call)
        keys_free(k);
}

/* The client went away before the answer: stop the upcalls, finish. */
static void keys_gone(void *arg)
{
    struct agent_keys_req *k = arg;
    admin_pending_error(k->p, 503, "client gone");
    k->p = NULL;
    keys_free(k);
}

void agent_keys_stop(struct weft *w)
{
    while (w->keys_inflight) {
        struct agent_keys_req *k = w->keys_inflight;
        if (k->p)
            admin_pending_error(k->p, 503, "agent stopping");
        k->p = NULL;
        keys_free(k);
    }
}

static int keys_gossip_off(struct weft_err *e)
{
    err_set(e, "gossip is off in this agent ([gossip] enabled = false)");
    return 409;
}

static int api_keyring(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    enum serf_keys_op op;
    uint8_t payload[SERF_KEYS_REQ_MAX];
    size_t plen = 0;
    (void)out;
    if (!w->gossip)
        return keys_gossip_off(e);
    struct jsonv *v = jsonv_parse(req->body, req->body_len, e);
    if (!v) {
        err_prefix(e, "body");
        return 400;
    }
    const char *ops = jsonv_str(jsonv_get(v, "op"), NULL);
    const char *key = jsonv_str(jsonv_get(v, "key"), NULL);
    int status = 400;
    if (!ops || serf_keys_op_parse(ops, &op) != 0) {
        err_set(e, "\"op\" must be \"list\", \"install\", \"use\" or \"remove\"");
        goto out;
    }
    if (op == SERF_KEYS_LIST && key) {
        err_set(e, "list takes no \"key\"");
        goto out;
    }
    if (serf_keys_request_encode(op, key, payload, sizeof(payload), &plen, e) != 0)
        goto out;
    struct agent_keys_req *k = calloc(1, sizeof(*k));
    if (!k) {
        err_set(e, "out of memory");
        status = 503;
        goto out;
    }
    if (!(k->p = admin_defer(req))) {
        free(k);
        err_set(e, "out of memory");
        status = 503;
        goto out;
    }
    k->w = w;
    k->next = w->keys_inflight;
    if (k->next)
        k->next->prev = k;
    w->keys_inflight = k;
    /* memberlist's NumMembers: alive and suspect, ourselves included. */
    serf_keys_summary_init(&k->sum, op,
                           (unsigned)swim_member_count_live(gossip_net_swim(w->gossip)));
    log_debug(LOG_AGENT, "gossip: keyring %s: asking %u members", ops, k->sum.num_nodes);
    struct weft_err qe = {{0}};
    /* timeout 0: Serf's DefaultQueryTimeout. Our own answer may come back
     * before gossip_net_query returns (and complete a one-node cluster). */
    k->in_call = true;
    int qrc = gossip_net_query(w->gossip, serf_keys_op_query(op), payload, plen, 0, false,
                               keys_on_resp, k, &qe);
    k->in_call = false;
    if (qrc != 0) {
        admin_pending_error(k->p, 503, qe.msg);
        k->p = NULL;
    }
    if (k->p)
        admin_pending_on_gone(k->p, keys_gone, k);
    else
        keys_free(k);
    status = ADMIN_DEFERRED;
out:
    jsonv_free(v);
    return status;
}

int agent_keys_register(struct weft *w)
{
    return admin_route(w->admin, ADMIN_POST, "/v1/keyring", api_keyring, w);
}
