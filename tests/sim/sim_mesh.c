/*
 * sim_mesh: anti-entropy of the replicated state (src/mesh/) across N
 * simulated nodes, each with its own table and hybrid logical clock on a
 * fake clock, exchanging the real sync messages as bytes.
 *
 * Usage: sim_mesh SCENARIO [-n NODES] [-s SEED] [-k KEYS] [-w WRITES]
 *   (WEFT_SIM_NODES in the environment overrides the node count)
 *
 *   converge   WRITES (500) random writes and deletes of KEYS (300) keys at
 *              random nodes during the first 10 rounds, no loss; then
 *              rounds until every node holds the same table.
 *   loss       the same with 20% of messages lost (each request and each
 *              reply; a lost one ends that exchange, as an RPC timeout
 *              would).
 *   partition  the nodes split in two halves that only reach their own
 *              side for 20 rounds, with writes on both sides (to the same
 *              keys too) and 5% loss; then healed.
 *   rejoin     every node holds the same 2000 writes; node 0 misses WRITES
 *              more (1000 in ctest) made at the others and makes 10 of its
 *              own; back, one exchange with node 1 must make both whole
 *              (the "sync cost after missing 1,000 changes").
 *
 * A round (one fake second): every node, in random order, picks a random
 * peer it can reach, compares total digests (what gossip tags carry) and,
 * if they differ, runs a whole exchange as the initiator against that peer
 * (mesh_sync_session_* -> bytes -> mesh_sync_serve -> bytes -> ...).
 * Node clocks are skewed by up to +-500 ms and node 0's steps back 30 s
 * in the middle of the writes, so the clocks' logical part matters.
 *
 * Asserted after the last write or the heal, within MAX_ROUNDS rounds:
 *   - every node holds identical tables (same digest and count as the
 *     oracle, then record by record);
 *   - the value of every key is the oracle's: the newest, by the records'
 *     total order, of all writes ever made to it;
 *   - then, 73 fake hours on, tombstone GC leaves every node with exactly
 *     the oracle's live records.
 * Printed: rounds to converge (next to log2 N), exchanges, bytes moved
 * (request and reply bodies), and one "RESULT k=v ..." line.
 *
 * Exit status 0 if the claims held, 1 otherwise (with a reason).
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sbuf.h"
#include "mesh/sync.h"

/* 2026-11-25T00:00:00Z: the fake wall clock's start. */
#define START_MS INT64_C(1795564800000)
#define ROUND_MS 1000
#define WRITE_ROUNDS 10
#define PARTITION_ROUNDS 20
/* Rounds allowed after the last write / the heal: anti-entropy with one
 * random peer per round converges in O(log N) rounds; 60 is far above the
 * ~log2(N) + a few that it takes, so a failure means a bug. */
#define MAX_ROUNDS 60

struct node {
    struct mesh_table *t;
    int64_t skew_ms;
    char writer[48];
};

struct sim {
    size_t n, keys;
    struct node *nodes;
    struct mesh_table *oracle; /* every write ever made, merged */
    int64_t now;               /* fake wall time, ms */
    uint64_t rng;
    double drop;      /* message loss probability */
    bool partitioned; /* halves cannot reach each other */
    uint64_t writes, exchanges, requests, bytes, lost, failed;
    struct sbuf req, rep;
};

static uint64_t rnd(struct sim *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * UINT64_C(2685821657736338717);
}

static size_t rndn(struct sim *s, size_t n)
{
    return (size_t)(rnd(s) % n);
}

static bool chance(struct sim *s, double p)
{
    return p > 0 && (double)(rnd(s) >> 11) / 9007199254740992.0 < p;
}

static int64_t wall(const struct sim *s, size_t i)
{
    return s->now + s->nodes[i].skew_ms;
}

static int fail(const char *what)
{
    fprintf(stderr, "sim_mesh: FAILED: %s\n", what);
    return 1;
}

/* One random write or delete at node i, merged into the oracle too; the
 * version written in *out (a view into node i's table). */
static int write_at(struct sim *s, size_t i, struct mesh_record *out)
{
    static const char *const kinds[] = {"policy", "upstream-defaults", "route"};
    size_t k = rndn(s, s->keys);
    char name[32], body[96];
    snprintf(name, sizeof(name), "obj-%zu", k);
    bool del = rndn(s, 5) == 0;
    int bl = snprintf(body, sizeof(body), "value = %" PRIu64 "\nfrom = %zu\n", rnd(s) % 1000000, i);
    struct weft_err e = {{0}};
    if (mesh_table_write(s->nodes[i].t, kinds[k % 3], name, s->nodes[i].writer, body,
                         del ? 0 : (size_t)bl, del, wall(s, i), NULL, &e) < 0) {
        fprintf(stderr, "write at node %zu: %s\n", i, e.msg);
        return -1;
    }
    mesh_table_get(s->nodes[i].t, kinds[k % 3], name, out);
    if (mesh_table_merge(s->oracle, out, s->now + 3600000, &e) == MESH_MERGE_REFUSED) {
        fprintf(stderr, "oracle: %s\n", e.msg);
        return -1;
    }
    s->writes++;
    return 0;
}

/* A random write at a random node (side < 0), or at a node of one half. */
static int write_one(struct sim *s, int side)
{
    size_t h = s->n / 2, i;
    struct mesh_record r;
    if (side < 0)
        i = rndn(s, s->n);
    else if (side == 0)
        i = rndn(s, h);
    else
        i = h + rndn(s, s->n - h);
    return write_at(s, i, &r);
}

/* The whole exchange i -> j through bytes, with loss. */
static void exchange(struct sim *s, size_t i, size_t j)
{
    struct mesh_sync_session *ss = mesh_sync_session_new(s->nodes[i].t, 0);
    struct weft_err e = {{0}};
    s->exchanges++;
    for (int steps = 0; steps < 10000; steps++) {
        sbuf_reset(&s->req);
        int rc = mesh_sync_session_next(ss, &s->req, &e);
        if (rc <= 0) {
            if (rc < 0)
                s->failed++;
            break;
        }
        s->requests++;
        s->bytes += s->req.len;
        if (chance(s, s->drop)) {
            s->lost++;
            break;
        }
        sbuf_reset(&s->rep);
        if (mesh_sync_serve(s->nodes[j].t, s->req.data, s->req.len, wall(s, j),
                            MESH_SYNC_BUDGET_DEFAULT, &s->rep, NULL, &e) < 0) {
            fprintf(stderr, "serve at node %zu: %s\n", j, e.msg);
            s->failed++;
            break;
        }
        s->bytes += s->rep.len;
        if (chance(s, s->drop)) {
            s->lost++;
            break;
        }
        if (getenv("WEFT_SIM_DEBUG"))
            fprintf(stderr, "%zu -> %zu: %.60s (%zu) -> %.60s (%zu)\n", i, j, s->req.data,
                    s->req.len, s->rep.data, s->rep.len);
        if (mesh_sync_session_reply(ss, s->rep.data, s->rep.len, wall(s, i), &e) < 0) {
            fprintf(stderr, "reply at node %zu: %s\n", i, e.msg);
            s->failed++;
            break;
        }
    }
    mesh_sync_session_free(ss);
}

static void round_once(struct sim *s, size_t *order)
{
    size_t h = s->n / 2;
    for (size_t k = s->n; k > 1; k--) {
        size_t r = rndn(s, k), tmp = order[k - 1];
        order[k - 1] = order[r];
        order[r] = tmp;
    }
    for (size_t k = 0; k < s->n; k++) {
        size_t i = order[k], j;
        if (s->partitioned) {
            size_t lo = i < h ? 0 : h, span = i < h ? h : s->n - h;
            if (span < 2)
                continue;
            do
                j = lo + rndn(s, span);
            while (j == i);
        } else {
            do
                j = rndn(s, s->n);
            while (j == i);
        }
        if (mesh_table_digest(s->nodes[i].t) != mesh_table_digest(s->nodes[j].t))
            exchange(s, i, j);
    }
    s->now += ROUND_MS;
}

static bool converged(const struct sim *s)
{
    uint64_t d = mesh_table_digest(s->oracle);
    size_t c = mesh_table_count(s->oracle);
    for (size_t i = 0; i < s->n; i++)
        if (mesh_table_digest(s->nodes[i].t) != d || mesh_table_count(s->nodes[i].t) != c)
            return false;
    return true;
}

struct cmp_ctx {
    const struct mesh_table *t;
    size_t missing, different;
};

static int cmp_one(const struct mesh_record *r, void *arg)
{
    struct cmp_ctx *c = arg;
    struct mesh_record got;
    if (!mesh_table_get(c->t, r->kind, r->name, &got))
        c->missing++;
    else if (mesh_record_cmp(&got, r) != 0)
        c->different++;
    return 0;
}

/* Record by record: every node holds exactly the oracle's records. */
static int check_oracle(const struct sim *s, const char *when)
{
    for (size_t i = 0; i < s->n; i++) {
        struct cmp_ctx c = {s->nodes[i].t, 0, 0};
        mesh_table_foreach(s->oracle, NULL, cmp_one, &c);
        if (c.missing || c.different ||
            mesh_table_count(s->nodes[i].t) != mesh_table_count(s->oracle)) {
            fprintf(stderr, "%s: node %zu: %zu missing, %zu different, %zu held, %zu in oracle\n",
                    when, i, c.missing, c.different, mesh_table_count(s->nodes[i].t),
                    mesh_table_count(s->oracle));
            return -1;
        }
    }
    return 0;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Merge rec into every node but `skip` (what converged anti-entropy would
 * have done), without simulating the rounds. */
static void seed_all(struct sim *s, const struct mesh_record *rec, size_t skip)
{
    for (size_t i = 0; i < s->n; i++)
        if (i != skip)
            mesh_table_merge(s->nodes[i].t, rec, wall(s, i), NULL);
}

/* rejoin: every node holds the same REJOIN_BASE writes; node 0 goes away
 * while `missed` writes land at the others (seeded there: they converged
 * without it) and makes REJOIN_OWN writes of its own; then it comes back
 * and runs one exchange with node 1, which must leave the two identical
 * (pull and push in one exchange). Then the rounds carry node 0's writes
 * to everyone. Prints the exchange's requests and bytes. */
#define REJOIN_BASE 2000
#define REJOIN_OWN 10
static int rejoin(struct sim *s, size_t missed, size_t *order)
{
    struct mesh_record r;
    for (size_t w = 0; w < REJOIN_BASE; w++) {
        size_t i = 1 + rndn(s, s->n - 1);
        if (write_at(s, i, &r) < 0)
            return -1;
        seed_all(s, &r, i);
    }
    if (!converged(s))
        return -1;
    s->now += 3600000; /* node 0 is away for an hour */
    for (size_t w = 0; w < missed; w++) {
        size_t i = 1 + rndn(s, s->n - 1);
        if (write_at(s, i, &r) < 0)
            return -1;
        seed_all(s, &r, 0); /* everyone but node 0 */
    }
    for (size_t w = 0; w < REJOIN_OWN; w++)
        if (write_at(s, 0, &r) < 0)
            return -1;
    uint64_t req0 = s->requests, bytes0 = s->bytes;
    exchange(s, 0, 1);
    if (mesh_table_digest(s->nodes[0].t) != mesh_table_digest(s->nodes[1].t) ||
        mesh_table_digest(s->nodes[0].t) != mesh_table_digest(s->oracle)) {
        const struct mesh_table_counters *c = mesh_table_counters(s->nodes[0].t);
        fprintf(stderr,
                "after one exchange: node 0 %zu records, node 1 %zu, oracle %zu; node 0 merged "
                "%" PRIu64 " ignored %" PRIu64 " refused %" PRIu64 " drift %" PRIu64 "\n",
                mesh_table_count(s->nodes[0].t), mesh_table_count(s->nodes[1].t),
                mesh_table_count(s->oracle), c->merged, c->ignored, c->refused, c->drift);
        return -1;
    }
    printf("rejoin: node 0 missed %zu writes to %zu records and made %d: one exchange of %" PRIu64
           " requests, %.1f KB, made it whole\n",
           missed, mesh_table_count(s->oracle), REJOIN_OWN, s->requests - req0,
           (double)(s->bytes - bytes0) / 1e3);
    printf("RESULT scenario=rejoin n=%zu missed=%zu records=%zu requests=%" PRIu64 " bytes=%" PRIu64
           "\n",
           s->n, missed, mesh_table_count(s->oracle), s->requests - req0, s->bytes - bytes0);
    for (size_t rounds = 0; !converged(s) && rounds < MAX_ROUNDS; rounds++)
        round_once(s, order);
    return converged(s) ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: sim_mesh converge|loss|partition|rejoin [-n NODES] [-s SEED] [-k KEYS] "
                    "[-w WRITES]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *scenario = argv[1];
    size_t n = 100, keys = 300, writes = 500;
    uint64_t seed = 1;
    for (int a = 2; a < argc; a++) {
        if (a + 1 >= argc)
            usage();
        if (strcmp(argv[a], "-n") == 0)
            n = strtoull(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "-s") == 0)
            seed = strtoull(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "-k") == 0)
            keys = strtoull(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "-w") == 0)
            writes = strtoull(argv[++a], NULL, 10);
        else
            usage();
    }
    const char *env = getenv("WEFT_SIM_NODES");
    if (env && *env)
        n = strtoull(env, NULL, 10);
    if (n < 2 || keys < 1)
        usage();
    bool part = strcmp(scenario, "partition") == 0;
    bool rej = strcmp(scenario, "rejoin") == 0;
    struct sim s = {.n = n, .keys = keys, .now = START_MS, .rng = seed * 0x9e3779b97f4a7c15 | 1};
    if (strcmp(scenario, "loss") == 0)
        s.drop = 0.20;
    else if (part)
        s.drop = 0.05;
    else if (rej)
        s.keys = keys = REJOIN_BASE + REJOIN_BASE / 4;
    else if (strcmp(scenario, "converge") != 0)
        usage();
    double t0 = wall_s();
    s.nodes = calloc(n, sizeof(*s.nodes));
    size_t *order = malloc(n * sizeof(*order));
    s.oracle = mesh_table_new(0);
    if (!s.nodes || !order || !s.oracle)
        return fail("out of memory");
    for (size_t i = 0; i < n; i++) {
        s.nodes[i].t = mesh_table_new(0);
        if (!s.nodes[i].t)
            return fail("out of memory");
        s.nodes[i].skew_ms = (int64_t)rndn(&s, 1001) - 500;
        snprintf(s.nodes[i].writer, sizeof(s.nodes[i].writer), "spiffe://sim.mesh/node/%zu", i);
        order[i] = i;
    }
    sbuf_init(&s.req);
    sbuf_init(&s.rep);

    if (rej) {
        if (rejoin(&s, writes, order) < 0 || check_oracle(&s, "rejoin") < 0 || s.failed)
            return fail("the returning node is not whole after one exchange");
        goto done;
    }

    /* The writes, spread over the write rounds. */
    size_t per_round = (writes + WRITE_ROUNDS - 1) / WRITE_ROUNDS;
    s.partitioned = part;
    size_t write_rounds = part ? PARTITION_ROUNDS : WRITE_ROUNDS;
    for (size_t r = 0; r < write_rounds; r++) {
        if (r == write_rounds / 2)
            s.nodes[0].skew_ms -= 30000; /* node 0's clock steps back */
        for (size_t w = 0; w < per_round && r < WRITE_ROUNDS; w++)
            if (write_one(&s, part ? (int)(w % 2) : -1) < 0)
                return fail("a write was refused");
        round_once(&s, order);
    }
    if (part) {
        /* Each side converged on its own writes only: the sides differ. */
        if (converged(&s))
            return fail("the halves agree before the heal");
        s.partitioned = false;
    }
    uint64_t bytes0 = s.bytes, ex0 = s.exchanges;
    size_t rounds = 0;
    while (!converged(&s) && rounds < MAX_ROUNDS) {
        round_once(&s, order);
        rounds++;
    }
    double t1 = wall_s();
    if (!converged(&s)) {
        fprintf(stderr, "not converged after %d rounds\n", MAX_ROUNDS);
        return fail("no convergence");
    }
    if (check_oracle(&s, "converged") < 0)
        return fail("a node's table is not the oracle's");
    if (s.failed)
        return fail("an exchange failed on a message the peer made");

    /* 73 fake hours on: every node collects its tombstones. */
    s.now += MESH_GC_HORIZON_DEFAULT_MS + 3600000;
    size_t gcd = mesh_table_gc(s.oracle, s.now, MESH_GC_HORIZON_DEFAULT_MS);
    for (size_t i = 0; i < n; i++)
        mesh_table_gc(s.nodes[i].t, wall(&s, i), MESH_GC_HORIZON_DEFAULT_MS);
    if (check_oracle(&s, "after gc") < 0)
        return fail("tables differ after tombstone collection");

    printf("%s: n=%zu keys=%zu writes=%" PRIu64 " loss=%.0f%%: converged %zu rounds after the %s "
           "(log2(n)=%.1f); %" PRIu64 " exchanges, %" PRIu64 " requests, %" PRIu64
           " messages lost; %.1f MB moved in all, %.1f MB after the %s (%.0f bytes per write); "
           "%zu records (%zu tombstones collected); %.1f s\n",
           scenario, n, keys, s.writes, s.drop * 100, rounds, part ? "heal" : "last write",
           log2((double)n), s.exchanges, s.requests, s.lost, (double)s.bytes / 1e6,
           (double)(s.bytes - bytes0) / 1e6, part ? "heal" : "writes",
           (double)s.bytes / (double)s.writes, mesh_table_count(s.oracle), gcd, t1 - t0);
    printf("RESULT scenario=%s n=%zu keys=%zu writes=%" PRIu64 " loss=%.2f rounds=%zu "
           "exchanges=%" PRIu64 " exchanges_after=%" PRIu64 " requests=%" PRIu64 " lost=%" PRIu64
           " bytes=%" PRIu64 " bytes_after=%" PRIu64 " bytes_per_write=%.0f wall_s=%.2f\n",
           scenario, n, keys, s.writes, s.drop, rounds, s.exchanges, s.exchanges - ex0, s.requests,
           s.lost, s.bytes, s.bytes - bytes0, (double)s.bytes / (double)s.writes, t1 - t0);

done:
    for (size_t i = 0; i < n; i++)
        mesh_table_free(s.nodes[i].t);
    mesh_table_free(s.oracle);
    free(s.nodes);
    free(order);
    sbuf_deinit(&s.req);
    sbuf_deinit(&s.rep);
    return 0;
}
