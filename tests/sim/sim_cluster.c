/*
 * sim_cluster: the fake network and clock (see sim_cluster.h).
 *
 * Events live in a binary min-heap ordered by (time, seq); seq is a global
 * counter, so two events at the same millisecond run in the order they were
 * made and a run is a pure function of the seed. Timer events carry the
 * wake time they were queued for; a node whose wake time moved since is
 * simply not woken by the stale event (no removal from the heap).
 */
#include "sim/sim_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/ml_msg.h"

enum sim_ev_kind { SIM_EV_TIMER, SIM_EV_PACKET, SIM_EV_STREAM, SIM_EV_JOIN };

struct sim_ev {
    int64_t at;
    uint64_t seq;
    enum sim_ev_kind kind;
    size_t dst;
    size_t src;
    bool reply;
    uint64_t conn;
    uint8_t *buf; /* owned by the event */
    size_t len;
};

struct sim_node {
    struct swim *s;
    bool killed;
    bool blocked;
    unsigned group;
    int64_t wake_ms; /* the wake time a timer event is queued for */
};

struct sim_cluster {
    struct swim_config cfg;
    size_t n;
    struct sim_node *nodes;
    struct sim_ev *heap;
    size_t nheap, capheap;
    uint64_t seq;
    int64_t now;
    uint64_t rng;
    double loss;
    int64_t delay_min, delay_max;
    uint64_t delivered, dropped;
    struct swim_actions out; /* scratch, reused for every call */
};

/* splitmix64, separate from the nodes' own generators. */
static uint64_t sim_rand(struct sim_cluster *c)
{
    uint64_t z = (c->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double sim_rand01(struct sim_cluster *c)
{
    return (double)(sim_rand(c) >> 11) / (double)(UINT64_C(1) << 53);
}

static void sim_addr(size_t i, struct swim_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->ip[0] = 10;
    a->ip[1] = (uint8_t)(i >> 16);
    a->ip[2] = (uint8_t)(i >> 8);
    a->ip[3] = (uint8_t)i;
    a->ip_len = 4;
    a->port = 7946;
}

/* Returns the node index of an address, or SIZE_MAX if none. */
static size_t sim_index(const struct sim_cluster *c, const struct swim_addr *a)
{
    if (a->ip_len != 4 || a->ip[0] != 10 || a->port != 7946)
        return SIZE_MAX;
    size_t i = (size_t)a->ip[1] << 16 | (size_t)a->ip[2] << 8 | a->ip[3];
    return i < c->n ? i : SIZE_MAX;
}

/* --- the heap --- */

static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void heap_push(struct sim_cluster *c, struct sim_ev ev)
{
    if (c->nheap == c->capheap) {
        size_t cap = c->capheap ? 2 * c->capheap : 1024;
        struct sim_ev *h = realloc(c->heap, cap * sizeof(*h));
        if (!h) {
            fprintf(stderr, "sim: out of memory\n");
            abort();
        }
        c->heap = h;
        c->capheap = cap;
    }
    ev.seq = c->seq++;
    size_t i = c->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_before(&ev, &c->heap[p]))
            break;
        c->heap[i] = c->heap[p];
        i = p;
    }
    c->heap[i] = ev;
}

static struct sim_ev heap_pop(struct sim_cluster *c)
{
    struct sim_ev top = c->heap[0];
    struct sim_ev last = c->heap[--c->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct sim_ev *best = &last;
        if (l < c->nheap && ev_before(&c->heap[l], best)) {
            m = l;
            best = &c->heap[l];
        }
        if (r < c->nheap && ev_before(&c->heap[r], best))
            m = r;
        if (m == i)
            break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (c->nheap > 0)
        c->heap[i] = last;
    return top;
}

/* --- turning actions into events --- */

static void schedule_timer(struct sim_cluster *c, size_t i, int64_t wake)
{
    struct sim_node *nd = &c->nodes[i];
    if (wake == INT64_MAX || nd->killed)
        return;
    if (wake < c->now)
        wake = c->now;
    if (nd->wake_ms <= wake && nd->wake_ms >= c->now)
        return; /* an earlier (or equal) wake-up is already queued */
    nd->wake_ms = wake;
    struct sim_ev ev = {.at = wake, .kind = SIM_EV_TIMER, .dst = i};
    heap_push(c, ev);
}

static int64_t sim_delay(struct sim_cluster *c)
{
    int64_t span = c->delay_max - c->delay_min + 1;
    return c->delay_min + (int64_t)(sim_rand(c) % (uint64_t)span);
}

static bool link_up(const struct sim_cluster *c, size_t a, size_t b)
{
    return !c->nodes[a].killed && !c->nodes[b].killed && c->nodes[a].group == c->nodes[b].group;
}

static void take_actions(struct sim_cluster *c, size_t i)
{
    struct swim_actions *out = &c->out;
    for (size_t k = 0; k < out->npkt; k++) {
        const struct swim_packet *p = &out->pkt[k];
        size_t dst = sim_index(c, &p->to);
        if (dst == SIZE_MAX || !link_up(c, i, dst) || c->nodes[i].blocked ||
            c->nodes[dst].blocked || (c->loss > 0 && sim_rand01(c) < c->loss)) {
            c->dropped++;
            continue;
        }
        struct sim_ev ev = {.at = c->now + sim_delay(c),
                            .kind = SIM_EV_PACKET,
                            .dst = dst,
                            .src = i,
                            .len = p->len};
        ev.buf = malloc(p->len ? p->len : 1);
        if (!ev.buf)
            abort();
        memcpy(ev.buf, p->buf, p->len);
        heap_push(c, ev);
    }
    for (size_t k = 0; k < out->nstream; k++) {
        struct swim_stream *st = &out->stream[k];
        /* TCP fallback pings are not modelled: as if TCP were blocked too
         * (the probe then ends as it did before the fallback existed). */
        if (st->ping)
            continue;
        size_t dst = sim_index(c, &st->to);
        if (dst == SIZE_MAX || !link_up(c, i, dst)) {
            c->dropped++;
            continue;
        }
        /* A stream takes a few round trips: 3 one-way delays. */
        struct sim_ev ev = {.at = c->now + 3 * sim_delay(c),
                            .kind = SIM_EV_STREAM,
                            .dst = dst,
                            .src = i,
                            .reply = st->reply,
                            .conn = st->conn,
                            .buf = st->buf,
                            .len = st->len};
        st->buf = NULL; /* the event owns it now */
        heap_push(c, ev);
    }
    schedule_timer(c, i, out->wake_ms);
    swim_actions_reset(out);
}

static void run_event(struct sim_cluster *c, struct sim_ev *ev)
{
    struct sim_node *nd = &c->nodes[ev->dst];
    struct swim_addr from;
    sim_addr(ev->src, &from);
    switch (ev->kind) {
    case SIM_EV_TIMER:
        if (nd->killed || ev->at != nd->wake_ms)
            break;
        nd->wake_ms = INT64_MIN;
        swim_on_timer(nd->s, c->now, &c->out);
        take_actions(c, ev->dst);
        break;
    case SIM_EV_PACKET:
        /* Checked again at delivery: a partition or kill may have come since. */
        if (!link_up(c, ev->src, ev->dst) || nd->blocked) {
            c->dropped++;
            break;
        }
        c->delivered++;
        swim_on_packet(nd->s, c->now, &from, ev->buf, ev->len, &c->out, NULL);
        take_actions(c, ev->dst);
        break;
    case SIM_EV_STREAM:
        if (!link_up(c, ev->src, ev->dst))
            break;
        swim_on_stream(nd->s, c->now, &from, ev->reply, ev->conn, ev->buf, ev->len, &c->out, NULL);
        take_actions(c, ev->dst);
        break;
    case SIM_EV_JOIN: {
        if (nd->killed)
            break;
        struct swim_addr to;
        sim_addr(ev->src, &to);
        swim_join(nd->s, c->now, &to, 1, &c->out);
        take_actions(c, ev->dst);
        break;
    }
    }
    free(ev->buf);
}

/* --- the API --- */

struct sim_cluster *sim_cluster_new_config(size_t n, const struct swim_config *cfg, uint64_t seed)
{
    struct sim_cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->n = n;
    c->rng = seed;
    c->delay_min = 1;
    c->delay_max = 5;
    swim_actions_init(&c->out);
    c->nodes = calloc(n, sizeof(*c->nodes));
    if (!c->nodes) {
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char name[32];
        struct swim_addr a;
        struct weft_err e = {{0}};
        snprintf(name, sizeof(name), "n%zu", i);
        sim_addr(i, &a);
        c->nodes[i].wake_ms = INT64_MIN;
        c->nodes[i].s = swim_new(cfg, name, &a, 0, sim_rand(c), 0, &e);
        if (!c->nodes[i].s) {
            fprintf(stderr, "sim: %s\n", e.msg);
            c->n = i;
            sim_cluster_free(c);
            return NULL;
        }
        swim_on_timer(c->nodes[i].s, 0, &c->out);
        take_actions(c, i);
    }
    return c;
}

struct sim_cluster *sim_cluster_new(size_t n, enum swim_profile profile, uint64_t seed)
{
    struct swim_config cfg;
    swim_config_profile(&cfg, profile);
    if (cfg.members_max < n + 1)
        cfg.members_max = n + 1 <= ML_PUSH_NODES_MAX ? n + 1 : ML_PUSH_NODES_MAX;
    return sim_cluster_new_config(n, &cfg, seed);
}

void sim_cluster_free(struct sim_cluster *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        swim_free(c->nodes[i].s);
    for (size_t i = 0; i < c->nheap; i++)
        free(c->heap[i].buf);
    free(c->heap);
    free(c->nodes);
    swim_actions_deinit(&c->out);
    free(c);
}

size_t sim_cluster_size(const struct sim_cluster *c)
{
    return c->n;
}

int64_t sim_cluster_now(const struct sim_cluster *c)
{
    return c->now;
}

struct swim *sim_cluster_node(struct sim_cluster *c, size_t i)
{
    return c->nodes[i].s;
}

const struct swim_config *sim_cluster_config(const struct sim_cluster *c)
{
    return &c->cfg;
}

void sim_cluster_join(struct sim_cluster *c, size_t i, size_t seed)
{
    struct sim_ev ev = {.at = c->now, .kind = SIM_EV_JOIN, .dst = i, .src = seed};
    heap_push(c, ev);
}

void sim_cluster_join_all(struct sim_cluster *c, int64_t stagger_ms)
{
    sim_cluster_join_first(c, c->n, stagger_ms);
}

void sim_cluster_join_first(struct sim_cluster *c, size_t m, int64_t stagger_ms)
{
    for (size_t i = 1; i < m && i < c->n; i++) {
        struct sim_ev ev = {.at = c->now + (int64_t)i * stagger_ms,
                            .kind = SIM_EV_JOIN,
                            .dst = i,
                            .src = (size_t)(sim_rand(c) % i)};
        heap_push(c, ev);
    }
}

int sim_cluster_bootstrap(struct sim_cluster *c, size_t m)
{
    if (m > c->n)
        m = c->n;
    /* Room for "n" and any size_t: the compiler checks it. */
    char(*names)[24] = malloc((m ? m : 1) * sizeof(*names));
    uint32_t *inc = malloc((m ? m : 1) * sizeof(*inc));
    if (!names || !inc) {
        free(names);
        free(inc);
        fprintf(stderr, "sim: out of memory\n");
        return -1;
    }
    for (size_t j = 0; j < m; j++) {
        snprintf(names[j], sizeof(names[j]), "n%zu", j);
        inc[j] = swim_incarnation(c->nodes[j].s);
    }
    int rc = 0;
    for (size_t i = 0; i < m && rc == 0; i++) {
        for (size_t j = 0; j < m; j++) {
            if (j == i)
                continue;
            struct swim_addr a;
            struct weft_err e = {{0}};
            sim_addr(j, &a);
            if (swim_seed_member(c->nodes[i].s, c->now, names[j], &a, inc[j], NULL, 0, &e) < 0) {
                fprintf(stderr, "sim: n%zu: %s\n", i, e.msg);
                rc = -1;
                break;
            }
        }
    }
    free(names);
    free(inc);
    return rc;
}

void sim_cluster_kill(struct sim_cluster *c, size_t i)
{
    c->nodes[i].killed = true;
}

bool sim_cluster_is_killed(const struct sim_cluster *c, size_t i)
{
    return c->nodes[i].killed;
}

void sim_cluster_leave(struct sim_cluster *c, size_t i)
{
    swim_leave(c->nodes[i].s, c->now, &c->out);
    take_actions(c, i);
}

void sim_cluster_partition(struct sim_cluster *c, const unsigned *group)
{
    for (size_t i = 0; i < c->n; i++)
        c->nodes[i].group = group[i];
}

void sim_cluster_heal(struct sim_cluster *c)
{
    for (size_t i = 0; i < c->n; i++)
        c->nodes[i].group = 0;
}

void sim_cluster_set_loss(struct sim_cluster *c, double rate)
{
    c->loss = rate;
}

void sim_cluster_set_delay(struct sim_cluster *c, int64_t min_ms, int64_t max_ms)
{
    c->delay_min = min_ms;
    c->delay_max = max_ms < min_ms ? min_ms : max_ms;
}

void sim_cluster_block(struct sim_cluster *c, size_t i, bool blocked)
{
    c->nodes[i].blocked = blocked;
}

/* Run every event up to and including time `until`. */
static void run_to(struct sim_cluster *c, int64_t until)
{
    while (c->nheap > 0 && c->heap[0].at <= until) {
        struct sim_ev ev = heap_pop(c);
        if (ev.at > c->now)
            c->now = ev.at;
        run_event(c, &ev);
    }
    if (c->now < until)
        c->now = until;
}

bool sim_cluster_run_until(struct sim_cluster *c, sim_cond_fn cond, void *arg, int64_t budget_ms)
{
    /* Check 10 times per probe interval: precise enough for convergence
     * times, cheap enough for N = 500. */
    int64_t step = c->cfg.probe_interval_ms / 10;
    int64_t end = c->now + budget_ms;
    if (cond(c, arg))
        return true;
    while (c->now < end) {
        int64_t t = c->now + step < end ? c->now + step : end;
        run_to(c, t);
        if (cond(c, arg))
            return true;
    }
    return false;
}

void sim_cluster_run_for(struct sim_cluster *c, int64_t budget_ms)
{
    run_to(c, c->now + budget_ms);
}

bool sim_cluster_sees(struct sim_cluster *c, size_t i, size_t j, enum swim_status st)
{
    char name[32];
    snprintf(name, sizeof(name), "n%zu", j);
    const struct swim_member *m = swim_member_find(c->nodes[i].s, name);
    if (!m)
        return st == SWIM_DEAD;
    return swim_member_status(m) == st;
}

bool sim_cluster_converged(struct sim_cluster *c, void *unused)
{
    size_t live = 0;
    for (size_t i = 0; i < c->n; i++)
        live += !c->nodes[i].killed;
    /* Cheap test first: every live node counts `live` live members. */
    for (size_t i = 0; i < c->n; i++)
        if (!c->nodes[i].killed && swim_member_count_live(c->nodes[i].s) != live)
            return false;
    for (size_t i = 0; i < c->n; i++) {
        if (c->nodes[i].killed)
            continue;
        for (size_t j = 0; j < c->n; j++)
            if (!c->nodes[j].killed && !sim_cluster_sees(c, i, j, SWIM_ALIVE))
                return false;
    }
    return true;
}

uint64_t sim_cluster_counter(struct sim_cluster *c, size_t offset)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const uint8_t *base = (const uint8_t *)swim_counters(c->nodes[i].s);
        uint64_t v;
        memcpy(&v, base + offset, sizeof(v));
        sum += v;
    }
    return sum;
}

uint64_t sim_cluster_delivered(const struct sim_cluster *c)
{
    return c->delivered;
}

uint64_t sim_cluster_dropped(const struct sim_cluster *c)
{
    return c->dropped;
}

void sim_cluster_report(struct sim_cluster *c, FILE *f, size_t max_lines)
{
    size_t lines = 0;
    for (size_t i = 0; i < c->n && lines < max_lines; i++) {
        if (c->nodes[i].killed)
            continue;
        for (size_t j = 0; j < c->n && lines < max_lines; j++) {
            if (c->nodes[j].killed || sim_cluster_sees(c, i, j, SWIM_ALIVE))
                continue;
            char name[32];
            snprintf(name, sizeof(name), "n%zu", j);
            const struct swim_member *m = swim_member_find(c->nodes[i].s, name);
            fprintf(f, "  n%zu sees %s as %s (inc %u); n%zu is at inc %u\n", i, name,
                    m ? swim_status_name(swim_member_status(m)) : "absent",
                    m ? swim_member_incarnation(m) : 0, j, swim_incarnation(c->nodes[j].s));
            lines++;
        }
    }
}
