/*
 * swim: the SWIM + Lifeguard membership core, as memberlist 0.2.x runs it
 * (state.go, suspicion.go, awareness.go, queue.go), without I/O.
 *
 * The protocol in one page
 * ------------------------
 * Every node keeps a table of members, itself included, each with a status
 * (alive, suspect, dead, left) and an incarnation number that only its owner
 * raises. Three loops run on timers:
 *
 *  - Probe, every ProbeInterval: pick the next member of the table in
 *    round-robin order (skipping ourselves and the dead; the table is
 *    reshuffled after each full pass and new members are inserted at random
 *    places, so every live member is probed once per pass in an order
 *    nobody can predict) and ping it with a fresh sequence number. No ack
 *    within ProbeTimeout: ask k = IndirectChecks random alive members to
 *    ping it for us (indirectPing); each answers with the target's ack, or a
 *    nack if it heard nothing either. No ack by the end of the probe
 *    interval (scaled by our health, below): the member is suspect.
 *
 *  - Gossip, every GossipInterval: send GossipNodes random members (alive,
 *    suspect, or dead for less than GossipToTheDeadTime) a datagram with as
 *    many queued broadcasts as fit. Every other datagram we send (ping, ack,
 *    nack, indirect ping) piggybacks broadcasts too. Each broadcast is sent
 *    RetransmitMult * ceil(log10(n + 1)) times and a newer message about a
 *    node replaces the queued one (swim_bcast.c).
 *
 *  - Push/pull, every PushPullInterval scaled up above 32 members: a full
 *    state exchange with one random alive member over a stream (the caller
 *    opens it). Join is a push/pull with the seeds.
 *
 * The rules for news (alive / suspect / dead messages, from gossip, probes
 * or push/pull) are memberlist's:
 *
 *   alive(inc)   about an unknown member: add it. About a known one: only if
 *                inc is higher than what we have; clears suspicion.
 *   suspect(inc) only if inc >= ours and the member is alive; starts a
 *                suspicion timer. Already suspect: counts an independent
 *                confirmation (a different From) that shortens the timer.
 *   dead(inc)    only if inc >= ours; dead with From == Node is a graceful
 *                leave and gives status left, otherwise dead (failed).
 *   any of these about ourselves (while not leaving): refute, i.e. take an
 *                incarnation above the accused one and broadcast alive.
 *
 * Lifeguard
 * ---------
 *  - Local health (awareness): a score in [0, AwarenessMaxMultiplier - 1].
 *    A probe that gets an ack: -1. A probe that fails: +1 per expected
 *    nack that did not come (or +1 if no relay could send nacks). Being
 *    suspected or declared dead (a refute): +1. The probe deadline (the
 *    time we wait before suspecting) is ProbeInterval * (score + 1): a node
 *    that is itself slow or starved suspects others more slowly.
 *  - Dynamic suspicion: the timer starts at max = SuspicionMaxTimeoutMult *
 *    min, min = SuspicionMult * max(1, log10(n)) * ProbeInterval, and each
 *    independent confirmation (up to k = SuspicionMult - 2, or 0 for tiny
 *    clusters) brings it down along max - log(c + 1)/log(k + 1) * (max - min).
 *  - Buddy system: a suspect member is probed with ping + suspect in one
 *    datagram, so it learns of the suspicion at once and can refute.
 *
 * What is not here yet: compression, CRC and encryption of datagrams (the
 * transport glue does them on the bytes this core produces; receivers take
 * both forms), the TCP fallback ping, address conflicts and
 * DeadNodeReclaimTime. User messages (8), the piggybacked broadcasts of the
 * layer above, push/pull user state and member notifications go through
 * struct swim_delegate (memberlist's Delegate + EventDelegate), which the
 * Serf layer (serf.c) fills; meta changes (swim_update_meta) take a new
 * incarnation as memberlist's UpdateNode.
 *
 * Invariants
 * ----------
 *  - Our own entry is in the table and is alive (or left after swim_leave).
 *  - Every member in the table is in the name index (index_*), and the
 *    other way round. `nodes` holds the probe order.
 *  - A member has an active suspicion timer iff its status is suspect.
 *  - At most one probe is in flight; at most SWIM_RELAY_MAX relayed pings.
 *  - Memory is bounded by members_max members and bcast_max broadcasts.
 *  - Nothing a peer sends is asserted on: bad input is counted and dropped.
 */
#include "gossip/swim.h"

#include <stdlib.h>
#include <string.h>

#include "gossip/ml_msg.h"
#include "gossip/swim_bcast.h"

/* Relayed indirect pings in flight: each lives ProbeTimeout, so 32 allows
 * 32 requests per ProbeTimeout, far above the k per ProbeInterval that each
 * prober sends us on average. Beyond that requests are dropped (counted). */
#define SWIM_RELAY_MAX 32
/* Confirmations remembered per suspicion: k = SuspicionMult - 2 needs 8
 * for SuspicionMult 10; more are never counted. */
#define SWIM_CONFIRM_MAX 8

/*
 * One member, malloc'd at its real size: the fixed part (49 bytes on LP64,
 * ordered so nothing pads) then the name with its NUL. Meta is a separate
 * allocation sized to content; suspicion state lives in struct swim's susp[]
 * (only suspects have one). With glibc's 16-byte chunks a member costs 64
 * (names up to 6 bytes) to 96 bytes (up to 38); the table adds 8-16 (probe
 * order) and 11-21 (name index). docs/gossip.md "Memory per member".
 */
struct swim_member {
    int64_t state_change_ms;
    uint8_t *meta; /* malloc'd, owned; NULL when empty */
    uint32_t incarnation;
    struct swim_addr addr;
    uint8_t vsn[ML_VSN_LEN];
    uint16_t meta_len; /* <= ML_META_MAX */
    uint8_t status;    /* enum swim_status */
    char name[];       /* 1..ML_NAME_MAX bytes and a NUL */
};

/* A suspicion timer (suspicion.go): one per member whose status is suspect,
 * kept in struct swim's susp[] (status_set adds and removes them). */
struct swim_susp {
    struct swim_member *m;
    unsigned k, n;
    int64_t start_ms, min_ms, max_ms, deadline_ms;
    uint64_t from;                      /* FNV-1a of the first accuser (not counted) */
    uint64_t confirm[SWIM_CONFIRM_MAX]; /* FNV-1a of each confirmer's name */
};

struct swim_relay {
    bool used;
    bool nack;
    uint32_t our_seq;
    uint32_t their_seq;
    struct swim_addr to;
    int64_t deadline_ms;
};

struct swim_probe {
    bool active;
    bool indirect_sent;
    uint32_t seq;
    char target[ML_NAME_MAX + 1];
    int64_t start_ms;
    int64_t timeout_ms;  /* direct ack deadline: then indirect pings */
    int64_t deadline_ms; /* end of the (scaled) probe interval: then suspect */
    unsigned expected_nacks;
    unsigned nacks;
    uint64_t tcp_conn; /* the TCP fallback ping's conn, 0 if none */
    bool tcp_acked;    /* ... answered with our seq: success at the deadline */
};

struct swim {
    struct swim_config cfg;
    struct swim_member *self;
    /* The table in probe order, and an open-addressing name index over it
     * (linear probing, power-of-two size, at most 3/4 full). Both start
     * small and double as members come, up to members_max. */
    struct swim_member **nodes;
    size_t n;
    size_t nodes_cap;
    size_t probe_index;
    struct swim_member **index;
    size_t index_mask;
    size_t n_live;
    size_t n_susp; /* suspects = entries in susp[] */
    struct swim_susp *susp;
    size_t susp_cap;

    uint64_t rng;
    uint32_t seq;
    uint64_t conn;
    unsigned awareness;
    bool leaving;
    bool leave_sent;

    struct swim_probe probe;
    struct swim_relay relays[SWIM_RELAY_MAX];
    struct swim_bqueue bq;

    int64_t next_probe_ms;
    int64_t next_gossip_ms;
    int64_t next_push_pull_ms;
    int64_t next_susp_ms; /* earliest suspicion deadline (may be early) */

    struct swim_counters ctr;
    uint64_t members_ver;    /* bumped when a member comes, goes, or changes status or address */
    struct swim_delegate dg; /* the layer above (Serf); zeroed: none */
};

/* ------------------------------------------------------------------ */
/* profiles                                                            */

static const char *const profile_names[SWIM_PROFILE_MAX] = {"lan", "wan", "local", "lossy"};

void swim_config_profile(struct swim_config *c, enum swim_profile p)
{
    memset(c, 0, sizeof(*c));
    /* memberlist DefaultLANConfig. */
    c->probe_interval_ms = 1000;
    c->probe_timeout_ms = 500;
    c->gossip_interval_ms = 200;
    c->gossip_to_dead_ms = 30000;
    c->push_pull_interval_ms = 30000;
    c->indirect_checks = 3;
    c->retransmit_mult = 4;
    c->suspicion_mult = 4;
    c->suspicion_max_mult = 6;
    c->awareness_max = 8;
    c->gossip_nodes = 3;
    c->udp_max = SWIM_UDP_MAX;
    /* Bounds, not memberlist numbers: a gateway fleet is hundreds to a few
     * thousand nodes; the queue holds one message per member at most plus
     * user messages. */
    c->members_max = 4096;
    c->bcast_max = 4096;
    /* Protocol 1..5, current 2 (ProtocolVersion2Compatible); the delegate
     * (Serf) versions are filled in by the layer above. */
    const uint8_t vsn[ML_VSN_LEN] = {1, 5, 2, 0, 0, 0};
    memcpy(c->vsn, vsn, sizeof(vsn));
    switch (p) {
    case SWIM_PROFILE_WAN: /* DefaultWANConfig */
        c->probe_interval_ms = 5000;
        c->probe_timeout_ms = 3000;
        c->gossip_interval_ms = 500;
        c->gossip_to_dead_ms = 60000;
        c->push_pull_interval_ms = 60000;
        c->suspicion_mult = 6;
        c->gossip_nodes = 4;
        break;
    case SWIM_PROFILE_LOCAL: /* DefaultLocalConfig */
        c->probe_timeout_ms = 200;
        c->gossip_interval_ms = 100;
        c->gossip_to_dead_ms = 15000;
        c->push_pull_interval_ms = 15000;
        c->indirect_checks = 1;
        c->retransmit_mult = 2;
        c->suspicion_mult = 3;
        break;
    case SWIM_PROFILE_LOSSY:
        /*
         * Radio links (LoRa gateways, 4G backhaul, mesh Wi-Fi) lose 5-20% of
         * datagrams in bursts, with latencies of hundreds of ms. LAN timing,
         * but: a longer ProbeTimeout (800 ms) so a slow ack is not taken for
         * a lost one; IndirectChecks 5, so a probe fails only if the direct
         * path and all 5 relays fail (at 20% loss per hop, a relay round
         * trip fails with 1 - 0.8^4 = 59%, five of them at once 7%, against
         * 21% for three); SuspicionMult 6 (as WAN) so a suspect has longer
         * to refute (min 6 s at 10 nodes, up to 36 s without confirmations);
         * RetransmitMult 6 so a broadcast survives the loss; GossipNodes 4.
         */
        c->probe_timeout_ms = 800;
        c->indirect_checks = 5;
        c->suspicion_mult = 6;
        c->retransmit_mult = 6;
        c->gossip_nodes = 4;
        break;
    case SWIM_PROFILE_LAN:
    case SWIM_PROFILE_MAX:
        break;
    }
}

int swim_profile_parse(const char *s, enum swim_profile *p)
{
    for (int i = 0; i < SWIM_PROFILE_MAX; i++) {
        if (strcmp(s, profile_names[i]) == 0) {
            *p = (enum swim_profile)i;
            return 0;
        }
    }
    return -1;
}

const char *swim_profile_name(enum swim_profile p)
{
    return (unsigned)p < SWIM_PROFILE_MAX ? profile_names[p] : "?";
}

int swim_config_check(const struct swim_config *c, struct weft_err *e)
{
    if (c->probe_interval_ms <= 0 || c->gossip_interval_ms <= 0)
        return err_set(e, "swim: probe and gossip intervals must be > 0");
    if (c->probe_timeout_ms <= 0 || c->probe_timeout_ms >= c->probe_interval_ms)
        return err_set(e, "swim: probe timeout %lld ms must be in (0, probe interval %lld ms)",
                       (long long)c->probe_timeout_ms, (long long)c->probe_interval_ms);
    if (c->push_pull_interval_ms < 0 || c->gossip_to_dead_ms < 0)
        return err_set(e, "swim: negative push/pull interval or gossip-to-the-dead time");
    if (c->suspicion_mult < 1 || c->suspicion_max_mult < 1 || c->retransmit_mult < 1)
        return err_set(e, "swim: suspicion and retransmit multipliers must be >= 1");
    if (c->suspicion_mult > SWIM_CONFIRM_MAX + 2)
        return err_set(e, "swim: suspicion multiplier above %d", SWIM_CONFIRM_MAX + 2);
    if (c->awareness_max < 1)
        return err_set(e, "swim: awareness multiplier must be >= 1");
    if (c->udp_max < 256 || c->udp_max > SWIM_UDP_MAX)
        return err_set(e, "swim: udp size %zu not in [256, %d]", c->udp_max, SWIM_UDP_MAX);
    if (c->members_max < 2 || c->members_max > ML_PUSH_NODES_MAX)
        return err_set(e, "swim: members_max %zu not in [2, %d]", c->members_max,
                       ML_PUSH_NODES_MAX);
    if (c->bcast_max < 1)
        return err_set(e, "swim: bcast_max must be >= 1");
    return 0;
}

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* splitmix64: a full-period, well-mixed 64-bit generator; enough for
 * picking probe orders and gossip targets, and trivially seedable. */
static uint64_t rng_next(struct swim *s)
{
    uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n) for n > 0 (the modulo bias is below 2^-40 for our n). */
static size_t rng_below(struct swim *s, size_t n)
{
    return (size_t)(rng_next(s) % n);
}

static uint64_t name_hash(const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return h;
}

bool swim_addr_eq(const struct swim_addr *a, const struct swim_addr *b)
{
    return a->ip_len == b->ip_len && a->port == b->port && memcmp(a->ip, b->ip, a->ip_len) == 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static bool is_live(enum swim_status st)
{
    return st == SWIM_ALIVE || st == SWIM_SUSPECT;
}

/* ------------------------------------------------------------------ */
/* the member table and its index                                      */

static size_t index_slot(const struct swim *s, const char *name)
{
    size_t i = (size_t)name_hash(name) & s->index_mask;
    while (s->index[i] && strcmp(s->index[i]->name, name) != 0)
        i = (i + 1) & s->index_mask;
    return i;
}

static struct swim_member *member_get(const struct swim *s, const char *name)
{
    return s->index[index_slot(s, name)];
}

/* Remove from the index with backward-shift deletion (no tombstones). */
static void index_remove(struct swim *s, const char *name)
{
    size_t i = index_slot(s, name);
    if (!s->index[i])
        return;
    s->index[i] = NULL;
    size_t j = i;
    for (;;) {
        j = (j + 1) & s->index_mask;
        if (!s->index[j])
            break;
        size_t home = (size_t)name_hash(s->index[j]->name) & s->index_mask;
        /* Move j back to i if its home is not in the cyclic range (i, j]. */
        bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            s->index[i] = s->index[j];
            s->index[j] = NULL;
            i = j;
        }
    }
}

/* The suspicion timer of a suspect member (NULL if none). */
static struct swim_susp *susp_find(struct swim *s, const struct swim_member *m)
{
    for (size_t i = 0; i < s->n_susp; i++)
        if (s->susp[i].m == m)
            return &s->susp[i];
    return NULL;
}

/* Room for one more suspicion timer. Returns 0 or -1 (no memory). */
static int susp_reserve(struct swim *s)
{
    if (s->n_susp < s->susp_cap)
        return 0;
    size_t cap = s->susp_cap ? 2 * s->susp_cap : 8;
    struct swim_susp *v = realloc(s->susp, cap * sizeof(v[0]));
    if (!v)
        return -1;
    s->susp = v;
    s->susp_cap = cap;
    return 0;
}

static void status_set(struct swim *s, struct swim_member *m, enum swim_status st, int64_t now)
{
    /* A suspect needs a timer slot: suspect_node reserved one (susp_reserve). */
    if (st == SWIM_SUSPECT && m->status != SWIM_SUSPECT && s->n_susp >= s->susp_cap)
        return;
    if (is_live(m->status) && !is_live(st))
        s->n_live--;
    else if (!is_live(m->status) && is_live(st))
        s->n_live++;
    if (m->status == SWIM_SUSPECT && st != SWIM_SUSPECT) {
        struct swim_susp *t = susp_find(s, m);
        if (t)
            *t = s->susp[--s->n_susp];
    } else if (m->status != SWIM_SUSPECT && st == SWIM_SUSPECT) {
        /* suspect_node fills the timer. */
        memset(&s->susp[s->n_susp], 0, sizeof(s->susp[0]));
        s->susp[s->n_susp++].m = m;
    }
    if (m->status != st) {
        m->state_change_ms = now;
        s->members_ver++;
    }
    m->status = (uint8_t)st;
}

/*
 * Room for `want` members: the probe order array doubles (capped at
 * members_max) and the index doubles while it would be over 3/4 full, every
 * member rehashed. Returns 0 or -1 (no memory; the table is unchanged).
 */
static int table_reserve(struct swim *s, size_t want)
{
    if (want > s->nodes_cap) {
        size_t cap = s->nodes_cap ? 2 * s->nodes_cap : 16;
        if (cap > s->cfg.members_max)
            cap = s->cfg.members_max;
        if (cap < want)
            cap = want;
        struct swim_member **v = realloc(s->nodes, cap * sizeof(v[0]));
        if (!v)
            return -1;
        s->nodes = v;
        s->nodes_cap = cap;
    }
    size_t isz = s->index_mask + 1;
    if (s->index && 4 * want <= 3 * isz)
        return 0;
    if (!s->index)
        isz = 16;
    while (4 * want > 3 * isz)
        isz <<= 1;
    struct swim_member **old = s->index;
    s->index = calloc(isz, sizeof(s->index[0]));
    if (!s->index) {
        s->index = old;
        return -1;
    }
    s->index_mask = isz - 1;
    for (size_t i = 0; i < s->n; i++)
        s->index[index_slot(s, s->nodes[i]->name)] = s->nodes[i];
    free(old);
    return 0;
}

/*
 * A new member, inserted at a random place of the probe order (memberlist
 * aliveNode: append, then swap with a random index), status dead until the
 * alive that created it is applied. NULL if the table is full.
 */
static struct swim_member *member_add(struct swim *s, const char *name, int64_t now)
{
    if (s->n >= s->cfg.members_max || table_reserve(s, s->n + 1) < 0) {
        s->ctr.members_dropped++;
        return NULL;
    }
    size_t nl = strlen(name);
    struct swim_member *m = calloc(1, offsetof(struct swim_member, name) + nl + 1);
    if (!m) {
        s->ctr.members_dropped++;
        return NULL;
    }
    memcpy(m->name, name, nl + 1);
    m->status = SWIM_DEAD;
    m->state_change_ms = now;
    s->index[index_slot(s, name)] = m;
    size_t off = rng_below(s, s->n + 1);
    s->nodes[s->n] = s->nodes[off];
    s->nodes[off] = m;
    s->n++;
    return m;
}

static void member_free(struct swim_member *m)
{
    if (m) {
        free(m->meta);
        free(m);
    }
}

static void member_set_meta(struct swim_member *m, const uint8_t *meta, size_t len)
{
    if (len == m->meta_len && (len == 0 || memcmp(m->meta, meta, len) == 0))
        return;
    free(m->meta);
    m->meta = NULL;
    m->meta_len = 0;
    if (len) {
        m->meta = malloc(len);
        if (m->meta) {
            memcpy(m->meta, meta, len);
            m->meta_len = (uint16_t)len;
        }
    }
}

/*
 * End of a probe pass (memberlist resetNodes): drop members dead or left for
 * longer than GossipToTheDeadTime (memberlist 0.3.1+ reaps left ones too;
 * 0.2.2 kept them forever, issue #253), then reshuffle (Fisher-Yates).
 */
static void table_reset(struct swim *s, int64_t now)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct swim_member *m = s->nodes[i];
        if (m != s->self && !is_live(m->status) &&
            now - m->state_change_ms > s->cfg.gossip_to_dead_ms) {
            index_remove(s, m->name);
            member_free(m);
            s->members_ver++;
            continue;
        }
        s->nodes[w++] = m;
    }
    s->n = w;
    for (size_t i = s->n; i > 1; i--) {
        size_t j = rng_below(s, i);
        struct swim_member *t = s->nodes[i - 1];
        s->nodes[i - 1] = s->nodes[j];
        s->nodes[j] = t;
    }
}

/*
 * kRandomNodes: up to k distinct members passing `want`, picked at random
 * with at most 3n tries (as memberlist: fast when most members qualify,
 * bounded when few do).
 */
static size_t random_members(struct swim *s, size_t k,
                             bool (*want)(struct swim *, struct swim_member *, const void *),
                             const void *arg, struct swim_member **out)
{
    size_t got = 0;
    for (size_t i = 0; i < 3 * s->n && got < k; i++) {
        struct swim_member *m = s->nodes[rng_below(s, s->n)];
        if (!want(s, m, arg))
            continue;
        bool dup = false;
        for (size_t j = 0; j < got; j++)
            dup = dup || out[j] == m;
        if (!dup)
            out[got++] = m;
    }
    return got;
}

/* ------------------------------------------------------------------ */
/* output                                                              */

static struct swim_packet *pkt_new(struct swim *s, struct swim_actions *out,
                                   const struct swim_addr *to)
{
    if (out->npkt >= SWIM_ACT_PKT_MAX) {
        s->ctr.actions_dropped++;
        return NULL;
    }
    struct swim_packet *p = &out->pkt[out->npkt];
    p->to = *to;
    p->len = 0;
    return p;
}

/*
 * Fill a packet's broadcasts: ours first (into buf), then the layer
 * above's in the room left (into ubuf), as memberlist's getBroadcasts.
 */
static size_t take_broadcasts(struct swim *s, size_t room, unsigned limit, uint8_t *buf,
                              uint8_t *ubuf, struct ml_part *parts, size_t max)
{
    size_t n = swim_bq_take(&s->bq, room, limit, buf, SWIM_UDP_MAX, parts, max, &s->leave_sent);
    if (!s->dg.get_broadcasts || n >= max)
        return n;
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        used += parts[i].len + 2;
    /* memberlist: only if more than overhead + userMsgOverhead is left. */
    if (room <= used + 3)
        return n;
    return n + s->dg.get_broadcasts(s->dg.arg, room - used, ubuf, SWIM_UDP_MAX, parts + n, max - n);
}

/*
 * Send one message to `to`, with as many queued broadcasts as fit
 * piggybacked in a compound (memberlist sendMsg).
 */
static void send_msg(struct swim *s, struct swim_actions *out, const struct swim_addr *to,
                     const uint8_t *msg, size_t len)
{
    struct swim_packet *p = pkt_new(s, out, to);
    if (!p)
        return;
    size_t limit = swim_retransmit_limit(s->cfg.retransmit_mult, s->n);
    struct ml_part parts[ML_COMPOUND_MAX];
    uint8_t extra[SWIM_UDP_MAX];
    size_t room = s->cfg.udp_max > len + 4 ? s->cfg.udp_max - len - 4 : 0;
    uint8_t uextra[SWIM_UDP_MAX];
    size_t nx = 0;
    if (room > 8)
        nx = take_broadcasts(s, room, (unsigned)limit, extra, uextra, parts + 1,
                             ML_COMPOUND_MAX - 1);
    if (nx == 0) {
        if (len > sizeof(p->buf))
            return;
        memcpy(p->buf, msg, len);
        p->len = len;
    } else {
        parts[0].p = msg;
        parts[0].len = len;
        if (ml_compound_build(parts, nx + 1, p->buf, sizeof(p->buf), &p->len, NULL) < 0)
            return;
    }
    out->npkt++;
}

/* Queue a broadcast about `node` (invalidating older news about it). */
static void broadcast(struct swim *s, const char *node, const uint8_t *msg, size_t len, bool leave)
{
    int rc = swim_bq_push(&s->bq, node, msg, len, leave);
    if (rc != 0)
        s->ctr.bcast_dropped++;
}

static void fill_alive(const struct swim *s, const struct swim_member *m, struct ml_alive *a)
{
    memset(a, 0, sizeof(*a));
    a->incarnation = m->incarnation;
    memcpy(a->node, m->name, strlen(m->name) + 1);
    memcpy(a->addr, m->addr.ip, m->addr.ip_len);
    a->addr_len = m->addr.ip_len;
    a->port = m->addr.port;
    if (m->meta_len) {
        memcpy(a->meta, m->meta, m->meta_len);
        a->meta_len = m->meta_len;
    }
    memcpy(a->vsn, m == s->self ? s->cfg.vsn : m->vsn, ML_VSN_LEN);
    a->vsn_len = ML_VSN_LEN;
}

static void broadcast_alive(struct swim *s, const struct swim_member *m)
{
    struct ml_alive a;
    uint8_t buf[SWIM_UDP_MAX];
    size_t len;
    fill_alive(s, m, &a);
    if (ml_alive_encode(&a, buf, sizeof(buf), &len, NULL) == 0)
        broadcast(s, m->name, buf, len, false);
}

static void broadcast_suspect(struct swim *s, enum ml_type t, const char *node, uint32_t inc,
                              const char *from, bool leave)
{
    struct ml_suspect m;
    uint8_t buf[2 * ML_NAME_MAX + 32];
    size_t len;
    memset(&m, 0, sizeof(m));
    m.incarnation = inc;
    memcpy(m.node, node, strlen(node) + 1);
    memcpy(m.from, from, strlen(from) + 1);
    if (ml_suspect_encode(t, &m, buf, sizeof(buf), &len, NULL) == 0)
        broadcast(s, node, buf, len, leave);
}

/* ------------------------------------------------------------------ */
/* awareness (Lifeguard local health, awareness.go)                    */

static void awareness_apply(struct swim *s, int delta)
{
    long v = (long)s->awareness + delta;
    if (v < 0)
        v = 0;
    if (v > (long)s->cfg.awareness_max - 1)
        v = (long)s->cfg.awareness_max - 1;
    s->awareness = (unsigned)v;
}

/* ------------------------------------------------------------------ */
/* state changes (state.go aliveNode / suspectNode / deadNode / refute) */

static void refute(struct swim *s, uint32_t accused)
{
    uint32_t inc = s->self->incarnation + 1;
    if (accused >= inc)
        inc = accused + 1;
    s->self->incarnation = inc;
    s->ctr.refutes++;
    awareness_apply(s, 1);
    broadcast_alive(s, s->self);
}

static void alive_node(struct swim *s, const struct ml_alive *a, int64_t now)
{
    if (s->leaving && strcmp(a->node, s->self->name) == 0)
        return;
    struct swim_member *m = member_get(s, a->node);
    bool fresh = false;
    if (!m) {
        if (a->node[0] == '\0' || (a->addr_len != 4 && a->addr_len != 16))
            return;
        m = member_add(s, a->node, now);
        if (!m)
            return;
        fresh = true;
    }
    bool local = m == s->self;
    if (!fresh && a->incarnation <= m->incarnation && !local)
        return;
    enum swim_status was = m->status;
    bool changed = !fresh && (m->meta_len != a->meta_len ||
                              (a->meta_len && memcmp(m->meta, a->meta, a->meta_len) != 0) ||
                              m->addr.port != a->port || m->addr.ip_len != a->addr_len ||
                              memcmp(m->addr.ip, a->addr, a->addr_len) != 0);
    if (local && a->incarnation < m->incarnation)
        return;
    if (local) {
        /* Same incarnation, same content: our own alive coming back. */
        if (a->incarnation == m->incarnation && a->meta_len == m->meta_len &&
            (a->meta_len == 0 || memcmp(a->meta, m->meta, a->meta_len) == 0))
            return;
        refute(s, a->incarnation);
        return;
    }
    m->incarnation = a->incarnation;
    s->members_ver++; /* address or port may have moved */
    memcpy(m->addr.ip, a->addr, a->addr_len);
    m->addr.ip_len = (uint8_t)a->addr_len;
    m->addr.port = a->port;
    if (a->vsn_len == ML_VSN_LEN)
        memcpy(m->vsn, a->vsn, ML_VSN_LEN);
    member_set_meta(m, a->meta, a->meta_len);
    status_set(s, m, SWIM_ALIVE, now);
    broadcast_alive(s, m);
    if (fresh || !is_live(was)) {
        if (s->dg.notify_join)
            s->dg.notify_join(s->dg.arg, m);
    } else if (changed && s->dg.notify_update) {
        s->dg.notify_update(s->dg.arg, m);
    }
}

static void suspect_node(struct swim *s, const struct ml_suspect *sm, int64_t now)
{
    struct swim_member *m = member_get(s, sm->node);
    if (!m || sm->incarnation < m->incarnation)
        return;
    if (m->status == SWIM_SUSPECT) {
        /* Confirm: an independent From shortens the timer (Lifeguard). */
        struct swim_susp *t = susp_find(s, m);
        if (!t || t->n >= t->k)
            return;
        uint64_t h = name_hash(sm->from);
        if (h == t->from)
            return;
        for (unsigned i = 0; i < t->n; i++)
            if (t->confirm[i] == h)
                return;
        t->confirm[t->n++] = h;
        t->deadline_ms = t->start_ms + swim_suspicion_timeout_ms(t->n, t->k, t->min_ms, t->max_ms);
        s->next_susp_ms = min64(s->next_susp_ms, t->deadline_ms);
        broadcast_suspect(s, ML_SUSPECT, sm->node, sm->incarnation, sm->from, false);
        return;
    }
    if (m->status != SWIM_ALIVE)
        return;
    if (m == s->self) {
        if (!s->leaving)
            refute(s, sm->incarnation);
        return;
    }
    if (susp_reserve(s) < 0)
        return; /* no memory for the timer: not suspected (gossip will repeat it) */
    broadcast_suspect(s, ML_SUSPECT, sm->node, sm->incarnation, sm->from, false);
    m->incarnation = sm->incarnation;
    status_set(s, m, SWIM_SUSPECT, now);
    struct swim_susp *t = &s->susp[s->n_susp - 1];
    s->ctr.suspects++;
    /* k confirmations are expected, fewer when the cluster is too small to
     * have that many independent witnesses. */
    unsigned k = s->cfg.suspicion_mult >= 2 ? s->cfg.suspicion_mult - 2 : 0;
    if (s->n < (size_t)k + 2)
        k = 0;
    if (k > SWIM_CONFIRM_MAX)
        k = SWIM_CONFIRM_MAX;
    t->k = k;
    t->n = 0;
    t->start_ms = now;
    t->min_ms = swim_suspicion_min_ms(s->cfg.suspicion_mult, s->n, s->cfg.probe_interval_ms);
    t->max_ms = (int64_t)s->cfg.suspicion_max_mult * t->min_ms;
    /* memberlist: the suspicion's own From is remembered but not counted. */
    t->from = name_hash(sm->from);
    t->deadline_ms = now + swim_suspicion_timeout_ms(0, k, t->min_ms, t->max_ms);
    s->next_susp_ms = min64(s->next_susp_ms, t->deadline_ms);
}

static void dead_node(struct swim *s, const struct ml_suspect *d, int64_t now)
{
    struct swim_member *m = member_get(s, d->node);
    if (!m || d->incarnation < m->incarnation)
        return;
    if (!is_live(m->status))
        return;
    bool leave = strcmp(d->node, d->from) == 0;
    if (m == s->self) {
        if (!s->leaving) {
            refute(s, d->incarnation);
            return;
        }
        broadcast_suspect(s, ML_DEAD, d->node, d->incarnation, d->from, true);
    } else {
        broadcast_suspect(s, ML_DEAD, d->node, d->incarnation, d->from, false);
    }
    m->incarnation = d->incarnation;
    status_set(s, m, leave ? SWIM_LEFT : SWIM_DEAD, now);
    if (leave)
        s->ctr.lefts++;
    else
        s->ctr.deaths++;
    if (m != s->self && s->dg.notify_leave)
        s->dg.notify_leave(s->dg.arg, m);
}

/* Suspicion timers that ran out: suspect -> dead (From = us). */
static void suspicion_run(struct swim *s, int64_t now)
{
    if (s->n_susp == 0 || now < s->next_susp_ms) {
        if (s->n_susp == 0)
            s->next_susp_ms = INT64_MAX;
        return;
    }
    int64_t next = INT64_MAX;
    /* Backwards: dead_node drops entry i, moving the last (already seen) one
     * into its place. */
    for (size_t i = s->n_susp; i-- > 0;) {
        struct swim_member *m = s->susp[i].m;
        if (s->susp[i].deadline_ms <= now) {
            struct ml_suspect d;
            memset(&d, 0, sizeof(d));
            d.incarnation = m->incarnation;
            memcpy(d.node, m->name, strlen(m->name) + 1);
            memcpy(d.from, s->self->name, strlen(s->self->name) + 1);
            dead_node(s, &d, now);
        } else {
            next = min64(next, s->susp[i].deadline_ms);
        }
    }
    s->next_susp_ms = next;
}

/* ------------------------------------------------------------------ */
/* probing                                                             */

static void encode_ping(const struct swim *s, uint32_t seq, const char *node, uint8_t *buf,
                        size_t cap, size_t *len)
{
    struct ml_ping p;
    memset(&p, 0, sizeof(p));
    p.seq_no = seq;
    memcpy(p.node, node, strlen(node) + 1);
    memcpy(p.source_addr, s->self->addr.ip, s->self->addr.ip_len);
    p.source_addr_len = s->self->addr.ip_len;
    p.source_port = s->self->addr.port;
    memcpy(p.source_node, s->self->name, strlen(s->self->name) + 1);
    if (ml_ping_encode(&p, buf, cap, len, NULL) < 0)
        *len = 0;
}

static void probe_start(struct swim *s, struct swim_member *m, int64_t now,
                        struct swim_actions *out)
{
    struct swim_probe *p = &s->probe;
    memset(p, 0, sizeof(*p));
    p->active = true;
    p->seq = ++s->seq;
    memcpy(p->target, m->name, strlen(m->name) + 1);
    p->start_ms = now;
    p->timeout_ms = now + s->cfg.probe_timeout_ms;
    p->deadline_ms = now + swim_probe_interval(s);
    s->ctr.probes++;
    uint8_t ping[SWIM_UDP_MAX];
    size_t len;
    encode_ping(s, p->seq, m->name, ping, sizeof(ping), &len);
    if (len == 0)
        return;
    if (m->status == SWIM_ALIVE) {
        send_msg(s, out, &m->addr, ping, len);
        return;
    }
    /* Buddy system: tell a suspect it is suspected, in the same datagram. */
    struct ml_suspect sm;
    uint8_t sbuf[2 * ML_NAME_MAX + 32];
    size_t slen;
    memset(&sm, 0, sizeof(sm));
    sm.incarnation = m->incarnation;
    memcpy(sm.node, m->name, strlen(m->name) + 1);
    memcpy(sm.from, s->self->name, strlen(s->self->name) + 1);
    if (ml_suspect_encode(ML_SUSPECT, &sm, sbuf, sizeof(sbuf), &slen, NULL) < 0)
        return;
    struct ml_part parts[2] = {{ping, len}, {sbuf, slen}};
    /* Sent as is, without piggybacked broadcasts (memberlist sends this
     * compound raw). */
    struct swim_packet *pk = pkt_new(s, out, &m->addr);
    if (pk && ml_compound_build(parts, 2, pk->buf, sizeof(pk->buf), &pk->len, NULL) == 0)
        out->npkt++;
}

/* The probe is over: ack (success) or deadline (failure). */
static void probe_finish(struct swim *s, bool acked, int64_t now)
{
    struct swim_probe *p = &s->probe;
    p->active = false;
    /* memberlist's ticker: the next probe at start + ProbeInterval, or at
     * once if this probe took longer (a scaled deadline). */
    s->next_probe_ms = p->start_ms + s->cfg.probe_interval_ms;
    if (s->next_probe_ms < now)
        s->next_probe_ms = now;
    if (acked) {
        s->ctr.probe_acks++;
        awareness_apply(s, -1);
        return;
    }
    if (p->tcp_acked) {
        /* Reached over TCP only: not suspected, and as healthy as an ack
         * (memberlist returns with awarenessDelta -1). */
        s->ctr.tcp_ping_saves++;
        awareness_apply(s, -1);
        return;
    }
    int delta;
    if (p->expected_nacks > 0)
        delta = p->nacks < p->expected_nacks ? (int)(p->expected_nacks - p->nacks) : 0;
    else
        delta = 1;
    awareness_apply(s, delta);
    struct swim_member *m = member_get(s, p->target);
    if (!m || !is_live(m->status))
        return;
    struct ml_suspect sm;
    memset(&sm, 0, sizeof(sm));
    sm.incarnation = m->incarnation;
    memcpy(sm.node, m->name, strlen(m->name) + 1);
    memcpy(sm.from, s->self->name, strlen(s->self->name) + 1);
    suspect_node(s, &sm, now);
}

static bool want_relay(struct swim *s, struct swim_member *m, const void *target)
{
    return m != s->self && m->status == SWIM_ALIVE && strcmp(m->name, target) != 0;
}

/*
 * memberlist probeNode's fallback: a peer that speaks protocol >= 3 also
 * gets the same ping over TCP, in parallel with the indirect probes, with
 * the probe's deadline (the transport performs it: swim_on_tcp_ping).
 */
static void probe_tcp(struct swim *s, const struct swim_member *m, struct swim_actions *out)
{
    struct swim_probe *p = &s->probe;
    if (s->cfg.disable_tcp_pings || m->vsn[ML_VSN_PMAX] < 3)
        return;
    if (out->nstream >= SWIM_ACT_STREAM_MAX) {
        s->ctr.actions_dropped++;
        return;
    }
    uint8_t ping[SWIM_UDP_MAX];
    size_t len;
    encode_ping(s, p->seq, m->name, ping, sizeof(ping), &len);
    uint8_t *buf = len ? malloc(len) : NULL;
    if (!buf) {
        s->ctr.actions_dropped++;
        return;
    }
    memcpy(buf, ping, len);
    struct swim_stream *st = &out->stream[out->nstream++];
    memset(st, 0, sizeof(*st));
    st->to = m->addr;
    st->conn = p->tcp_conn = ++s->conn;
    st->ping = true;
    st->deadline_ms = p->deadline_ms;
    st->buf = buf;
    st->len = len;
    s->ctr.tcp_pings++;
}

static void probe_indirect(struct swim *s, struct swim_actions *out)
{
    struct swim_probe *p = &s->probe;
    p->indirect_sent = true;
    struct swim_member *m = member_get(s, p->target);
    if (!m)
        return;
    probe_tcp(s, m, out);
    struct swim_member *peers[32];
    size_t k = s->cfg.indirect_checks < 32 ? s->cfg.indirect_checks : 32;
    size_t got = random_members(s, k, want_relay, p->target, peers);
    for (size_t i = 0; i < got; i++) {
        struct ml_indirect_ping ip;
        memset(&ip, 0, sizeof(ip));
        ip.seq_no = p->seq;
        memcpy(ip.target, m->addr.ip, m->addr.ip_len);
        ip.target_len = m->addr.ip_len;
        ip.port = m->addr.port;
        memcpy(ip.node, m->name, strlen(m->name) + 1);
        /* Only protocol >= 4 peers answer with a nack. */
        ip.nack = peers[i]->vsn[ML_VSN_PMAX] >= 4;
        if (ip.nack)
            p->expected_nacks++;
        memcpy(ip.source_addr, s->self->addr.ip, s->self->addr.ip_len);
        ip.source_addr_len = s->self->addr.ip_len;
        ip.source_port = s->self->addr.port;
        memcpy(ip.source_node, s->self->name, strlen(s->self->name) + 1);
        uint8_t buf[SWIM_UDP_MAX];
        size_t len;
        if (ml_indirect_ping_encode(&ip, buf, sizeof(buf), &len, NULL) == 0) {
            send_msg(s, out, &peers[i]->addr, buf, len);
            s->ctr.indirect_sent++;
        }
    }
}

/* memberlist probe(): the next alive/suspect member in the order, with a
 * reshuffle at the end of each pass. */
static void probe_next(struct swim *s, int64_t now, struct swim_actions *out)
{
    for (size_t checked = 0; checked <= s->n; checked++) {
        if (s->probe_index >= s->n) {
            table_reset(s, now);
            s->probe_index = 0;
            continue;
        }
        struct swim_member *m = s->nodes[s->probe_index++];
        if (m == s->self || !is_live(m->status))
            continue;
        probe_start(s, m, now, out);
        return;
    }
    /* Nobody to probe: try again next interval. */
    s->next_probe_ms = now + s->cfg.probe_interval_ms;
}

static void probe_run(struct swim *s, int64_t now, struct swim_actions *out)
{
    struct swim_probe *p = &s->probe;
    if (p->active && !p->indirect_sent && now >= p->timeout_ms)
        probe_indirect(s, out);
    if (p->active && now >= p->deadline_ms)
        probe_finish(s, false, now);
    if (!p->active && !s->leaving && now >= s->next_probe_ms)
        probe_next(s, now, out);
}

/* ------------------------------------------------------------------ */
/* relays (indirect pings we run for others)                           */

static void relays_run(struct swim *s, int64_t now, struct swim_actions *out)
{
    for (size_t i = 0; i < SWIM_RELAY_MAX; i++) {
        struct swim_relay *r = &s->relays[i];
        if (!r->used || now < r->deadline_ms)
            continue;
        r->used = false;
        if (r->nack) {
            struct ml_nack n = {.seq_no = r->their_seq};
            uint8_t buf[32];
            size_t len;
            if (ml_nack_encode(&n, buf, sizeof(buf), &len, NULL) == 0)
                send_msg(s, out, &r->to, buf, len);
        }
    }
}

/* ------------------------------------------------------------------ */
/* gossip and push/pull                                                */

static bool want_gossip(struct swim *s, struct swim_member *m, const void *arg)
{
    const int64_t *now = arg;
    if (m == s->self)
        return false;
    if (is_live(m->status))
        return true;
    return m->status == SWIM_DEAD && *now - m->state_change_ms <= s->cfg.gossip_to_dead_ms;
}

static void gossip_run(struct swim *s, int64_t now, struct swim_actions *out)
{
    struct swim_member *peers[16];
    size_t k = s->cfg.gossip_nodes < 16 ? s->cfg.gossip_nodes : 16;
    size_t got = random_members(s, k, want_gossip, &now, peers);
    size_t limit = swim_retransmit_limit(s->cfg.retransmit_mult, s->n);
    for (size_t i = 0; i < got; i++) {
        if (s->bq.n == 0 && !s->dg.get_broadcasts)
            return;
        struct ml_part parts[ML_COMPOUND_MAX];
        uint8_t buf[SWIM_UDP_MAX], ubuf[SWIM_UDP_MAX];
        size_t nx = take_broadcasts(s, s->cfg.udp_max - 2, (unsigned)limit, buf, ubuf, parts,
                                    ML_COMPOUND_MAX);
        if (nx == 0)
            return;
        struct swim_packet *p = pkt_new(s, out, &peers[i]->addr);
        if (!p)
            return;
        if (nx == 1) {
            memcpy(p->buf, parts[0].p, parts[0].len);
            p->len = parts[0].len;
        } else if (ml_compound_build(parts, nx, p->buf, sizeof(p->buf), &p->len, NULL) < 0) {
            continue;
        }
        out->npkt++;
        s->ctr.gossip_packets++;
    }
}

/* Our whole state as a push/pull message (malloc'd into the action). */
static void push_pull_send(struct swim *s, const struct swim_addr *to, bool reply, bool join,
                           uint64_t conn, struct swim_actions *out)
{
    if (out->nstream >= SWIM_ACT_STREAM_MAX) {
        s->ctr.actions_dropped++;
        return;
    }
    struct ml_push_node *nodes = malloc(s->n * sizeof(*nodes));
    size_t cap = 64;
    for (size_t i = 0; i < s->n; i++)
        cap += 2 * ML_NAME_MAX + s->nodes[i]->meta_len + 96;
    uint8_t *buf = malloc(cap);
    size_t len = 0;
    if (!nodes || !buf) {
        free(nodes);
        free(buf);
        s->ctr.actions_dropped++;
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct swim_member *m = s->nodes[i];
        struct ml_push_node *pn = &nodes[i];
        memset(pn, 0, offsetof(struct ml_push_node, meta));
        memcpy(pn->name, m->name, strlen(m->name) + 1);
        memcpy(pn->addr, m->addr.ip, m->addr.ip_len);
        pn->addr_len = m->addr.ip_len;
        pn->port = m->addr.port;
        if (m->meta_len)
            memcpy(pn->meta, m->meta, m->meta_len);
        pn->meta_len = m->meta_len;
        pn->incarnation = m->incarnation;
        pn->state = (uint8_t)m->status;
        memcpy(pn->vsn, m == s->self ? s->cfg.vsn : m->vsn, ML_VSN_LEN);
        pn->vsn_len = ML_VSN_LEN;
    }
    uint8_t *user = NULL;
    size_t ulen = s->dg.local_state ? s->dg.local_state(s->dg.arg, join, &user) : 0;
    uint8_t *grown = ulen ? realloc(buf, cap + ulen) : buf;
    if (grown)
        buf = grown;
    if (!grown ||
        ml_push_pull_encode(join, nodes, s->n, user, ulen, buf, cap + ulen, &len, NULL) < 0) {
        free(user);
        free(nodes);
        free(buf);
        s->ctr.actions_dropped++;
        return;
    }
    free(user);
    free(nodes);
    struct swim_stream *st = &out->stream[out->nstream++];
    memset(st, 0, sizeof(*st)); /* no stale ping flag from an earlier action */
    st->to = *to;
    st->conn = conn;
    st->reply = reply;
    st->join = join;
    st->buf = buf;
    st->len = len;
}

static bool want_push_pull(struct swim *s, struct swim_member *m, const void *arg)
{
    return m != s->self && m->status == SWIM_ALIVE;
}

static void push_pull_run(struct swim *s, struct swim_actions *out)
{
    struct swim_member *peer;
    if (random_members(s, 1, want_push_pull, NULL, &peer) == 1) {
        s->ctr.push_pulls++;
        push_pull_send(s, &peer->addr, false, false, ++s->conn, out);
    }
}

/* mergeRemoteState: a remote dead is only a suspicion here; left is left. */
static void merge_state(struct swim *s, const struct ml_push_node *nodes, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        const struct ml_push_node *r = &nodes[i];
        if (r->state == ML_STATE_ALIVE) {
            struct ml_alive a;
            memset(&a, 0, offsetof(struct ml_alive, meta));
            a.incarnation = r->incarnation;
            memcpy(a.node, r->name, sizeof(a.node));
            memcpy(a.addr, r->addr, r->addr_len);
            a.addr_len = r->addr_len;
            a.port = r->port;
            memcpy(a.meta, r->meta, r->meta_len);
            a.meta_len = r->meta_len;
            memcpy(a.vsn, r->vsn, ML_VSN_LEN);
            a.vsn_len = r->vsn_len;
            alive_node(s, &a, now);
            continue;
        }
        struct ml_suspect sm;
        memset(&sm, 0, sizeof(sm));
        sm.incarnation = r->incarnation;
        memcpy(sm.node, r->name, sizeof(sm.node));
        if (r->state == ML_STATE_LEFT) {
            memcpy(sm.from, r->name, sizeof(sm.from));
            dead_node(s, &sm, now);
        } else {
            memcpy(sm.from, s->self->name, strlen(s->self->name) + 1);
            suspect_node(s, &sm, now);
        }
    }
}

/* ------------------------------------------------------------------ */
/* the timers and the wake-up time                                     */

static void timers_run(struct swim *s, int64_t now, struct swim_actions *out)
{
    suspicion_run(s, now);
    relays_run(s, now, out);
    probe_run(s, now, out);
    if (now >= s->next_gossip_ms) {
        gossip_run(s, now, out);
        s->next_gossip_ms = now + s->cfg.gossip_interval_ms;
    }
    if (s->cfg.push_pull_interval_ms > 0 && now >= s->next_push_pull_ms) {
        if (!s->leaving)
            push_pull_run(s, out);
        s->next_push_pull_ms = now + swim_push_pull_scale_ms(s->cfg.push_pull_interval_ms, s->n);
    }
}

static void wake_compute(struct swim *s, struct swim_actions *out)
{
    int64_t w = min64(s->next_gossip_ms, s->next_susp_ms);
    if (s->cfg.push_pull_interval_ms > 0)
        w = min64(w, s->next_push_pull_ms);
    if (s->probe.active)
        w = min64(w, s->probe.indirect_sent ? s->probe.deadline_ms : s->probe.timeout_ms);
    else if (!s->leaving)
        w = min64(w, s->next_probe_ms);
    for (size_t i = 0; i < SWIM_RELAY_MAX; i++)
        if (s->relays[i].used)
            w = min64(w, s->relays[i].deadline_ms);
    out->wake_ms = w;
}

/* ------------------------------------------------------------------ */
/* actions                                                             */

void swim_actions_init(struct swim_actions *a)
{
    a->npkt = 0;
    a->nstream = 0;
    a->wake_ms = INT64_MAX;
}

void swim_actions_reset(struct swim_actions *a)
{
    for (size_t i = 0; i < a->nstream; i++)
        free(a->stream[i].buf);
    swim_actions_init(a);
}

void swim_actions_deinit(struct swim_actions *a)
{
    swim_actions_reset(a);
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                           */

struct swim *swim_new(const struct swim_config *c, const char *name, const struct swim_addr *addr,
                      uint32_t incarnation, uint64_t seed, int64_t now_ms, struct weft_err *e)
{
    if (swim_config_check(c, e) < 0)
        return NULL;
    size_t nl = strlen(name);
    if (nl == 0 || nl > ML_NAME_MAX) {
        err_set(e, "swim: node name of %zu bytes (1..%d)", nl, ML_NAME_MAX);
        return NULL;
    }
    if (addr->ip_len != 4 && addr->ip_len != 16) {
        err_set(e, "swim: address of %u bytes, want 4 or 16", addr->ip_len);
        return NULL;
    }
    if (incarnation == UINT32_MAX) {
        err_set(e, "swim: incarnation space exhausted");
        return NULL;
    }
    struct swim *s = calloc(1, sizeof(*s));
    if (!s) {
        err_set(e, "swim: out of memory");
        return NULL;
    }
    s->cfg = *c;
    s->rng = seed;
    if (table_reserve(s, 1) < 0 || swim_bq_init(&s->bq, c->bcast_max) < 0) {
        err_set(e, "swim: out of memory");
        swim_free(s);
        return NULL;
    }
    struct swim_member *m = member_add(s, name, now_ms);
    if (!m) {
        err_set(e, "swim: out of memory");
        swim_free(s);
        return NULL;
    }
    s->self = m;
    m->addr = *addr;
    memcpy(m->vsn, c->vsn, ML_VSN_LEN);
    /* setAlive: the first incarnation above anything used before. */
    m->incarnation = incarnation + 1;
    status_set(s, m, SWIM_ALIVE, now_ms);
    broadcast_alive(s, m);
    /* Spread the loops' phases so a fleet started at once does not beat in step. */
    s->next_probe_ms = now_ms + (int64_t)rng_below(s, (size_t)c->probe_interval_ms);
    s->next_gossip_ms = now_ms + (int64_t)rng_below(s, (size_t)c->gossip_interval_ms);
    s->next_push_pull_ms = c->push_pull_interval_ms > 0
                               ? now_ms + (int64_t)rng_below(s, (size_t)c->push_pull_interval_ms)
                               : INT64_MAX;
    s->next_susp_ms = INT64_MAX;
    return s;
}

void swim_free(struct swim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        member_free(s->nodes[i]);
    free(s->nodes);
    free(s->index);
    free(s->susp);
    swim_bq_deinit(&s->bq);
    free(s);
}

/* ------------------------------------------------------------------ */
/* inputs                                                              */

void swim_join(struct swim *s, int64_t now_ms, const struct swim_addr *addrs, size_t n,
               struct swim_actions *out)
{
    swim_actions_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (swim_addr_eq(&addrs[i], &s->self->addr))
            continue;
        s->ctr.push_pulls++;
        push_pull_send(s, &addrs[i], false, true, ++s->conn, out);
    }
    wake_compute(s, out);
}

/*
 * Restore one member as alive, quietly: the table changes as alive_node
 * would change it (new member at a random place of the probe order, or a
 * known one moved to a higher incarnation), but no broadcast is queued: the
 * news is not news, the cluster told us earlier (a snapshot) or the caller
 * builds a converged cluster (the simulator's --bootstrap).
 */
int swim_seed_member(struct swim *s, int64_t now_ms, const char *name, const struct swim_addr *addr,
                     uint32_t incarnation, const uint8_t *meta, size_t meta_len, struct weft_err *e)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > ML_NAME_MAX) {
        err_set(e, "swim: seeded member name of %zu bytes (1..%d)", nl, ML_NAME_MAX);
        return -1;
    }
    if (addr->ip_len != 4 && addr->ip_len != 16) {
        err_set(e, "swim: seeded member %s: address of %u bytes, want 4 or 16", name, addr->ip_len);
        return -1;
    }
    if (meta_len > ML_META_MAX) {
        err_set(e, "swim: seeded member %s: meta of %zu bytes (at most %d)", name, meta_len,
                ML_META_MAX);
        return -1;
    }
    struct swim_member *m = member_get(s, name);
    if (m == s->self) {
        err_set(e, "swim: cannot seed ourselves (%s)", name);
        return -1;
    }
    bool fresh = false;
    if (!m) {
        m = member_add(s, name, now_ms);
        if (!m) {
            err_set(e, "swim: seeded member %s: table full (%zu) or out of memory", name,
                    s->cfg.members_max);
            return -1;
        }
        memcpy(m->vsn, s->cfg.vsn, ML_VSN_LEN);
        fresh = true;
    } else if (incarnation <= m->incarnation) {
        return 0; /* what we know is as new or newer */
    }
    enum swim_status was = m->status;
    bool changed = !fresh && (!swim_addr_eq(&m->addr, addr) || m->meta_len != meta_len ||
                              (meta_len && memcmp(m->meta, meta, meta_len) != 0));
    m->incarnation = incarnation;
    m->addr = *addr;
    member_set_meta(m, meta, meta_len);
    s->members_ver++;
    status_set(s, m, SWIM_ALIVE, now_ms);
    if (fresh || !is_live(was)) {
        if (s->dg.notify_join)
            s->dg.notify_join(s->dg.arg, m);
    } else if (changed && s->dg.notify_update) {
        s->dg.notify_update(s->dg.arg, m);
    }
    return 0;
}

void swim_leave(struct swim *s, int64_t now_ms, struct swim_actions *out)
{
    swim_actions_reset(out);
    if (!s->leaving) {
        s->leaving = true;
        s->probe.active = false;
        struct ml_suspect d;
        memset(&d, 0, sizeof(d));
        d.incarnation = s->self->incarnation;
        memcpy(d.node, s->self->name, strlen(s->self->name) + 1);
        memcpy(d.from, s->self->name, strlen(s->self->name) + 1);
        dead_node(s, &d, now_ms);
        /* Alone: nobody to tell, the leave is done. */
        if (s->n_live == 0)
            s->leave_sent = true;
    }
    wake_compute(s, out);
}

void swim_on_timer(struct swim *s, int64_t now_ms, struct swim_actions *out)
{
    swim_actions_reset(out);
    timers_run(s, now_ms, out);
    wake_compute(s, out);
}

struct pkt_ctx {
    struct swim *s;
    int64_t now;
    const struct swim_addr *from;
    struct swim_actions *out;
};

static void on_ping(struct pkt_ctx *c, const struct ml_ping *p)
{
    struct swim *s = c->s;
    /* A ping for another name (a restarted node at a reused address) is
     * not ours to answer (memberlist handlePing). */
    if (p->node[0] && strcmp(p->node, s->self->name) != 0)
        return;
    struct swim_addr to = *c->from;
    if (p->source_addr_len == 4 || p->source_addr_len == 16) {
        memcpy(to.ip, p->source_addr, p->source_addr_len);
        to.ip_len = (uint8_t)p->source_addr_len;
        to.port = p->source_port;
    }
    struct ml_ack a;
    a.seq_no = p->seq_no;
    a.payload_len = 0;
    uint8_t buf[64];
    size_t len;
    if (ml_ack_encode(&a, buf, sizeof(buf), &len, NULL) == 0)
        send_msg(s, c->out, &to, buf, len);
}

static void on_indirect_ping(struct pkt_ctx *c, const struct ml_indirect_ping *ip)
{
    struct swim *s = c->s;
    struct swim_relay *r = NULL;
    for (size_t i = 0; i < SWIM_RELAY_MAX && !r; i++)
        if (!s->relays[i].used)
            r = &s->relays[i];
    if (!r) {
        s->ctr.relays_dropped++;
        return;
    }
    r->used = true;
    r->nack = ip->nack;
    r->our_seq = ++s->seq;
    r->their_seq = ip->seq_no;
    r->to = *c->from;
    if (ip->source_addr_len == 4 || ip->source_addr_len == 16) {
        memcpy(r->to.ip, ip->source_addr, ip->source_addr_len);
        r->to.ip_len = (uint8_t)ip->source_addr_len;
        r->to.port = ip->source_port;
    }
    r->deadline_ms = c->now + s->cfg.probe_timeout_ms;
    s->ctr.relays++;
    struct swim_addr target;
    memcpy(target.ip, ip->target, ip->target_len);
    target.ip_len = (uint8_t)ip->target_len;
    target.port = ip->port;
    uint8_t buf[SWIM_UDP_MAX];
    size_t len;
    encode_ping(s, r->our_seq, ip->node, buf, sizeof(buf), &len);
    if (len)
        send_msg(s, c->out, &target, buf, len);
}

static void on_ack(struct pkt_ctx *c, uint32_t seq)
{
    struct swim *s = c->s;
    if (s->probe.active && s->probe.seq == seq) {
        probe_finish(s, true, c->now);
        return;
    }
    for (size_t i = 0; i < SWIM_RELAY_MAX; i++) {
        struct swim_relay *r = &s->relays[i];
        if (r->used && r->our_seq == seq) {
            r->used = false;
            struct ml_ack a;
            a.seq_no = r->their_seq;
            a.payload_len = 0;
            uint8_t buf[64];
            size_t len;
            if (ml_ack_encode(&a, buf, sizeof(buf), &len, NULL) == 0)
                send_msg(s, c->out, &r->to, buf, len);
            return;
        }
    }
}

static int on_msg(void *ctx, enum ml_type type, const uint8_t *b, size_t len, struct weft_err *e)
{
    struct pkt_ctx *c = ctx;
    switch (type) {
    case ML_PING: {
        struct ml_ping p;
        if (ml_ping_decode(b, len, &p, e) < 0)
            return -1;
        on_ping(c, &p);
        return 0;
    }
    case ML_INDIRECT_PING: {
        struct ml_indirect_ping ip;
        if (ml_indirect_ping_decode(b, len, &ip, e) < 0)
            return -1;
        on_indirect_ping(c, &ip);
        return 0;
    }
    case ML_ACK: {
        struct ml_ack a;
        if (ml_ack_decode(b, len, &a, e) < 0)
            return -1;
        on_ack(c, a.seq_no);
        return 0;
    }
    case ML_NACK: {
        struct ml_nack n;
        if (ml_nack_decode(b, len, &n, e) < 0)
            return -1;
        if (c->s->probe.active && c->s->probe.seq == n.seq_no) {
            c->s->probe.nacks++;
            c->s->ctr.nacks_received++;
        }
        return 0;
    }
    case ML_ALIVE: {
        struct ml_alive a;
        if (ml_alive_decode(b, len, &a, e) < 0)
            return -1;
        alive_node(c->s, &a, c->now);
        return 0;
    }
    case ML_SUSPECT:
    case ML_DEAD: {
        struct ml_suspect sm;
        if (ml_suspect_decode(b, len, &sm, e) < 0)
            return -1;
        if (type == ML_SUSPECT)
            suspect_node(c->s, &sm, c->now);
        else
            dead_node(c->s, &sm, c->now);
        return 0;
    }
    case ML_USER:
        if (c->s->dg.notify_msg)
            c->s->dg.notify_msg(c->s->dg.arg, b, len);
        return 0;
    default:
        /* Others are not valid in a datagram: dropped, as memberlist does. */
        return 0;
    }
}

int swim_on_packet(struct swim *s, int64_t now_ms, const struct swim_addr *from, const uint8_t *pkt,
                   size_t len, struct swim_actions *out, struct weft_err *e)
{
    swim_actions_reset(out);
    struct pkt_ctx c = {s, now_ms, from, out};
    int rc = ml_packet_walk(pkt, len, on_msg, &c, e);
    if (rc < 0)
        s->ctr.bad_packets++;
    /* Timers may be due too (an ack ends a probe; a deadline passed). */
    timers_run(s, now_ms, out);
    wake_compute(s, out);
    return rc;
}

int swim_on_stream(struct swim *s, int64_t now_ms, const struct swim_addr *from, bool reply,
                   uint64_t conn, const uint8_t *msg, size_t len, struct swim_actions *out,
                   struct weft_err *e)
{
    swim_actions_reset(out);
    int rc = -1;
    if (len >= 1 && msg[0] == ML_USER) {
        /* A reliable user message (the transport strips memberlist's header). */
        if (s->dg.notify_msg)
            s->dg.notify_msg(s->dg.arg, msg + 1, len - 1);
        rc = 0;
        goto done;
    }
    if (len < 1 || msg[0] != ML_PUSH_PULL) {
        err_set(e, "swim: stream message of type %d, want push/pull", len ? msg[0] : -1);
        goto done;
    }
    /* The node array is sized from the header's count, capped at
     * members_max: a push of more is refused (counted in bad_packets). */
    struct ml_push_node *nodes = NULL;
    struct ml_push_pull_header h;
    const uint8_t *user;
    if (ml_push_pull_decode_alloc(msg + 1, len - 1, &h, &nodes, s->cfg.members_max, &user, e) < 0)
        goto done;
    if (!reply) {
        /* memberlist answers with its state before merging the peer's. */
        s->ctr.push_pulls_taken++;
        push_pull_send(s, from, true, h.join, conn, out);
    }
    merge_state(s, nodes, h.nodes, now_ms);
    free(nodes);
    if (h.user_state_len && s->dg.merge_remote_state)
        s->dg.merge_remote_state(s->dg.arg, user, h.user_state_len, h.join);
    rc = 0;
done:
    if (rc < 0)
        s->ctr.bad_packets++;
    wake_compute(s, out);
    return rc;
}

void swim_on_tcp_ping(struct swim *s, int64_t now_ms, uint64_t conn, const uint8_t *msg, size_t len,
                      struct swim_actions *out)
{
    swim_actions_reset(out);
    struct swim_probe *p = &s->probe;
    struct ml_ack a;
    if (msg && len >= 1 && msg[0] == ML_ACK && p->active && p->tcp_conn != 0 &&
        conn == p->tcp_conn && ml_ack_decode(msg + 1, len - 1, &a, NULL) == 0 &&
        a.seq_no == p->seq) {
        s->ctr.tcp_ping_acks++;
        p->tcp_acked = true;
    }
    (void)now_ms; /* the probe's deadline decides, in swim_on_timer */
    wake_compute(s, out);
}

/* ------------------------------------------------------------------ */
/* queries                                                             */

void swim_set_delegate(struct swim *s, const struct swim_delegate *d)
{
    if (d)
        s->dg = *d;
    else
        memset(&s->dg, 0, sizeof(s->dg));
}

const char *swim_name(const struct swim *s)
{
    return s->self->name;
}

uint32_t swim_incarnation(const struct swim *s)
{
    return s->self->incarnation;
}

unsigned swim_awareness(const struct swim *s)
{
    return s->awareness;
}

int64_t swim_probe_interval(const struct swim *s)
{
    return s->cfg.probe_interval_ms * (int64_t)(s->awareness + 1);
}

size_t swim_member_count(const struct swim *s)
{
    return s->n;
}

size_t swim_member_count_live(const struct swim *s)
{
    return s->n_live;
}

uint64_t swim_members_version(const struct swim *s)
{
    return s->members_ver;
}

const struct swim_member *swim_member_at(const struct swim *s, size_t i)
{
    return i < s->n ? s->nodes[i] : NULL;
}

const struct swim_member *swim_member_find(const struct swim *s, const char *name)
{
    return member_get(s, name);
}

const char *swim_member_name(const struct swim_member *m)
{
    return m->name;
}

enum swim_status swim_member_status(const struct swim_member *m)
{
    return (enum swim_status)m->status;
}

uint32_t swim_member_incarnation(const struct swim_member *m)
{
    return m->incarnation;
}

const struct swim_addr *swim_member_addr(const struct swim_member *m)
{
    return &m->addr;
}

const uint8_t *swim_member_meta(const struct swim_member *m, size_t *len)
{
    *len = m->meta_len;
    return m->meta;
}

const uint8_t *swim_member_vsn(const struct swim_member *m)
{
    return m->vsn;
}

int swim_set_meta(struct swim *s, const uint8_t *meta, size_t len, struct weft_err *e)
{
    if (len > ML_META_MAX)
        return err_set(e, "swim: meta of %zu bytes (max %d)", len, ML_META_MAX);
    member_set_meta(s->self, meta, len);
    if (len && s->self->meta_len != len)
        return err_set(e, "swim: out of memory");
    /* A new alive about us replaces the queued one (same node). */
    broadcast_alive(s, s->self);
    return 0;
}

int swim_update_meta(struct swim *s, const uint8_t *meta, size_t len, struct weft_err *e)
{
    if (len > ML_META_MAX)
        return err_set(e, "swim: meta of %zu bytes (max %d)", len, ML_META_MAX);
    if (s->self->incarnation == UINT32_MAX)
        return err_set(e, "swim: incarnation space exhausted");
    member_set_meta(s->self, meta, len);
    if (len && s->self->meta_len != len)
        return err_set(e, "swim: out of memory");
    s->self->incarnation++;
    broadcast_alive(s, s->self);
    return 0;
}

const char *swim_status_name(enum swim_status st)
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
    return "?";
}

size_t swim_bcast_count(const struct swim *s)
{
    return s->bq.n;
}

bool swim_leave_is_sent(const struct swim *s)
{
    return s->leave_sent;
}

const struct swim_counters *swim_counters(const struct swim *s)
{
    return &s->ctr;
}
