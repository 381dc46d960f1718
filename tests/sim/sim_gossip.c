/*
 * sim_gossip: SWIM scenarios on the simulated cluster (sim_cluster.h).
 *
 * Usage: sim_gossip SCENARIO [-n NODES] [-s SEED] [-p PROFILE] [--bootstrap]
 *   (WEFT_SIM_NODES in the environment overrides the node count)
 *
 *   converge   a rolling start of N nodes (node i joins a random earlier
 *              node, 10 ms apart); everyone must see everyone alive. Prints
 *              the fake time and the gossip rounds from the last join to
 *              convergence, next to log2(N), for the benchmark plots.
 *   kill       converge, kill one node: every other node must declare it
 *              dead (failed, not left), and nobody else may die.
 *   leave      converge, one node leaves: every other node sees it left.
 *   loss       converge, then 10% datagram loss on every link for 5 fake
 *              minutes: no live node may be declared dead by anyone (ctest
 *              runs it with -p lossy; with lan a refutation that misses a
 *              node now and then ends in a false death, see docs/gossip.md).
 *   block      converge, then one node is cut off (neither sends nor
 *              receives) for 3 s, less than the minimum suspicion time:
 *              its failed probes raise its health score (Lifeguard), it
 *              learns it is suspected once back and refutes, so nobody
 *              declares it dead; converged again after. (The members it
 *              suspected while cut off may be declared dead for a moment:
 *              its suspect broadcasts were spent into the void, so the
 *              accused hears late. Counted and printed, not asserted.)
 *   partition  converge, split in two halves: each side declares the other
 *              dead. Heal, and each node re-joins a random node of the other
 *              side (what Serf's reconnect does; the core has no automatic
 *              reconnect): everyone alive again everywhere.
 *   spread     the benchmark (tools/bench/sim.sh; not in ctest beyond a
 *              small N): a rolling start of N - 1 nodes until converged
 *              (mass-join rounds), then node N-1 joins one random member:
 *              gossip rounds until everyone sees it alive; then a kill:
 *              time until someone declares it dead, and rounds from that
 *              first death to everyone's. Printed next to the O(log N)
 *              references (memberlist's retransmit limit
 *              RetransmitMult * ceil(log10(N + 1)), log_(fanout+1) N), with
 *              the peak RSS and wall time, and one "RESULT k=v ..." line.
 *              Then a graceful leave: rounds until everyone has it left.
 *              Asserted: N - 1 deaths counted in all (one per other node),
 *              none for the leave. N up to 20000 (others: 4000).
 *   spread --bootstrap
 *              the same events without the mass join (which costs ~245
 *              bytes x N^2 of peak memory): nodes 0..N-2 start with full
 *              tables (swim_seed_member, no broadcast), run one push/pull
 *              interval (30 s fake at LAN: every node's first push/pull
 *              and ~30 probe rounds) and must show no suspicion and no
 *              death in it; then the join, the kill and the leave above.
 *              How tools/bench/sim.sh runs N >= 5000.
 *
 * Exit status 0 if the scenario's claims held, 1 otherwise (with a reason).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sim/sim_cluster.h"

#define CTR(field) offsetof(struct swim_counters, field)

static int fail(const char *what)
{
    fprintf(stderr, "sim_gossip: FAILED: %s\n", what);
    return 1;
}

/* Budgets in fake time, generous: the claims are about outcomes. */
static int64_t converge(struct sim_cluster *c, size_t n, const char *label)
{
    const struct swim_config *cfg = sim_cluster_config(c);
    int64_t stagger = 10;
    sim_cluster_join_all(c, stagger);
    int64_t t0 = sim_cluster_now(c);
    if (getenv("WEFT_SIM_DEBUG")) {
        sim_cluster_run_for(c, (int64_t)n * stagger + 3000);
        sim_cluster_report(c, stderr, 20);
    }
    int64_t last_join = t0 + (int64_t)(n - 1) * stagger;
    if (!sim_cluster_run_until(c, sim_cluster_converged, NULL, (int64_t)n * stagger + 600000))
        return -1;
    int64_t t = sim_cluster_now(c) - last_join;
    if (t < 0)
        t = 0;
    printf("%s: n=%zu converged %lld ms after the last join = %.1f gossip rounds "
           "(%.1f probe intervals); log2(n)=%.2f\n",
           label, n, (long long)t, (double)t / (double)cfg->gossip_interval_ms,
           (double)t / (double)cfg->probe_interval_ms, log2((double)n));
    return t;
}

static bool killed_seen_dead(struct sim_cluster *c, void *arg)
{
    size_t k = *(size_t *)arg;
    for (size_t i = 0; i < sim_cluster_size(c); i++)
        if (i != k && !sim_cluster_is_killed(c, i) && !sim_cluster_sees(c, i, k, SWIM_DEAD))
            return false;
    return true;
}

static bool left_seen(struct sim_cluster *c, void *arg)
{
    size_t k = *(size_t *)arg;
    for (size_t i = 0; i < sim_cluster_size(c); i++)
        if (i != k && !sim_cluster_sees(c, i, k, SWIM_LEFT))
            return false;
    return true;
}

static bool anyone_sees_dead(struct sim_cluster *c, void *arg)
{
    size_t k = *(size_t *)arg;
    for (size_t i = 0; i < sim_cluster_size(c); i++)
        if (i != k && !sim_cluster_sees(c, i, k, SWIM_ALIVE) &&
            !sim_cluster_sees(c, i, k, SWIM_SUSPECT))
            return true;
    return false;
}

static bool halves_split(struct sim_cluster *c, void *arg)
{
    size_t n = sim_cluster_size(c), h = n / 2;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if ((i < h) != (j < h) && !sim_cluster_sees(c, i, j, SWIM_DEAD))
                return false;
    return true;
}

/* Nodes 0..m-1 each hold exactly m alive members (the rest of the cluster
 * is unknown to them), i.e. each sees each alive. O(m^2) pointer walks,
 * after an O(m) pre-check on the live counts. */
static bool first_converged(struct sim_cluster *c, void *arg)
{
    size_t m = *(size_t *)arg;
    for (size_t i = 0; i < m; i++)
        if (swim_member_count_live(sim_cluster_node(c, i)) != m)
            return false;
    for (size_t i = 0; i < m; i++) {
        struct swim *s = sim_cluster_node(c, i);
        size_t alive = 0;
        for (size_t k = 0; k < swim_member_count(s); k++)
            alive += swim_member_status(swim_member_at(s, k)) == SWIM_ALIVE;
        if (alive != m)
            return false;
    }
    return true;
}

struct spread {
    size_t k; /* the node the news is about */
    enum swim_status st;
    int64_t first; /* fake time someone first saw it (-1: nobody yet) */
};

/* Everyone else sees node k with status st; notes when the first one did. */
static bool all_see(struct sim_cluster *c, void *arg)
{
    struct spread *sp = arg;
    size_t seen = 0, want = 0;
    for (size_t i = 0; i < sim_cluster_size(c); i++) {
        if (i == sp->k || sim_cluster_is_killed(c, i))
            continue;
        want++;
        seen += sim_cluster_sees(c, i, sp->k, sp->st);
    }
    if (seen > 0 && sp->first < 0)
        sp->first = sim_cluster_now(c);
    return seen == want;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Before the measured events: how the N - 1 first nodes came to know each other. */
struct spread_start {
    bool bootstrap;
    double mass_rounds; /* mass join: rounds from the last join to convergence */
    double seed_wall;   /* bootstrap: wall seconds to seed the tables */
    int64_t settle_ms;  /* bootstrap: fake time run before the events */
    double settle_wall;
};

/* A rolling start of nodes 0..m-1, 10 ms apart, until they all see each other. */
static int spread_mass_join(struct sim_cluster *c, size_t m, struct spread_start *st)
{
    double g = (double)sim_cluster_config(c)->gossip_interval_ms;
    int64_t stagger = 10;
    sim_cluster_join_first(c, m, stagger);
    int64_t last_join = sim_cluster_now(c) + (int64_t)(m - 1) * stagger;
    if (!sim_cluster_run_until(c, first_converged, &m, (int64_t)m * stagger + 600000))
        return fail("the first N-1 nodes did not converge");
    st->mass_rounds = (double)(sim_cluster_now(c) - last_join) / g;
    return 0;
}

/*
 * --bootstrap: nodes 0..m-1 start from full tables (swim_seed_member), then
 * run one push/pull interval of fake time (every node's first push/pull
 * falls in it, and ~30 probe rounds at LAN): the cluster must stay
 * converged with no suspicion at all, or the seeded start is not a
 * converged cluster and the measurements after it would mean nothing.
 */
static int spread_bootstrap(struct sim_cluster *c, size_t m, struct spread_start *st)
{
    const struct swim_config *cfg = sim_cluster_config(c);
    double w = wall_s();
    if (sim_cluster_bootstrap(c, m) < 0)
        return fail("seeding the member tables");
    st->seed_wall = wall_s() - w;
    if (!first_converged(c, &m))
        return fail("the seeded tables are not a converged cluster");
    w = wall_s();
    st->settle_ms = cfg->push_pull_interval_ms > 0 ? cfg->push_pull_interval_ms : 30000;
    if (st->settle_ms < 10 * cfg->probe_interval_ms)
        st->settle_ms = 10 * cfg->probe_interval_ms;
    sim_cluster_run_for(c, st->settle_ms);
    st->settle_wall = wall_s() - w;
    uint64_t susp = sim_cluster_counter(c, CTR(suspects));
    uint64_t deaths = sim_cluster_counter(c, CTR(deaths));
    uint64_t probes = sim_cluster_counter(c, CTR(probes));
    uint64_t pps = sim_cluster_counter(c, CTR(push_pulls));
    printf("spread: seeded %zu x %zu members in %.1f s wall; settled %lld ms of fake time "
           "(%.1f s wall): %llu probes, %llu push/pulls, %llu suspicions, %llu deaths\n",
           m, m - 1, st->seed_wall, (long long)st->settle_ms, st->settle_wall,
           (unsigned long long)probes, (unsigned long long)pps, (unsigned long long)susp,
           (unsigned long long)deaths);
    if (susp != 0 || deaths != 0)
        return fail("a suspicion or a death in the seeded cluster before any event");
    if (probes < m * (size_t)(st->settle_ms / cfg->probe_interval_ms) / 2)
        return fail("the seeded nodes did not probe");
    if (!first_converged(c, &m))
        return fail("the seeded cluster is not converged after settling");
    return 0;
}

/* The benchmark: see the header comment ("spread"). */
static int run_spread(struct sim_cluster *c, size_t n, bool bootstrap)
{
    const struct swim_config *cfg = sim_cluster_config(c);
    double g = (double)cfg->gossip_interval_ms, w0 = wall_s();
    size_t m = n - 1;
    struct spread_start st = {.bootstrap = bootstrap};
    int rc = bootstrap ? spread_bootstrap(c, m, &st) : spread_mass_join(c, m, &st);
    if (rc)
        return rc;
    double w_start = wall_s() - w0;
    uint64_t deaths0 = sim_cluster_counter(c, CTR(deaths));

    /* One join after convergence: node n-1 joins a random member. */
    size_t seed = (size_t)(sim_cluster_counter(c, CTR(probes)) % m);
    struct spread sj = {.k = n - 1, .st = SWIM_ALIVE, .first = -1};
    int64_t t0 = sim_cluster_now(c);
    sim_cluster_join(c, n - 1, seed);
    if (!sim_cluster_run_until(c, all_see, &sj, 120000))
        return fail("the late joiner is not alive everywhere");
    double join = (double)(sim_cluster_now(c) - t0) / g;

    /* One kill: detection (probe + suspicion), then the spread of the death. */
    struct spread sk = {.k = n / 3, .st = SWIM_DEAD, .first = -1};
    t0 = sim_cluster_now(c);
    sim_cluster_kill(c, sk.k);
    if (!sim_cluster_run_until(c, all_see, &sk, 600000))
        return fail("the killed node is not dead everywhere");
    int64_t detect = sk.first - t0;
    double kspread = (double)(sim_cluster_now(c) - sk.first) / g;
    /* Each of the n - 1 others declared it dead once, and nobody else died. */
    if (sim_cluster_counter(c, CTR(deaths)) - deaths0 != n - 1)
        return fail("deaths other than the killed node's");

    /* One graceful leave: rounds until every live node has it as left. */
    struct spread sl = {.k = 2 * n / 3, .st = SWIM_LEFT, .first = -1};
    t0 = sim_cluster_now(c);
    sim_cluster_leave(c, sl.k);
    if (!sim_cluster_run_until(c, all_see, &sl, 120000))
        return fail("the leaving node is not 'left' everywhere");
    double leave = (double)(sim_cluster_now(c) - t0) / g;
    if (sim_cluster_counter(c, CTR(deaths)) - deaths0 != n - 1)
        return fail("the leave was taken for a failure somewhere");

    unsigned limit = swim_retransmit_limit(cfg->retransmit_mult, n);
    double logf = log((double)n) / log((double)cfg->gossip_nodes + 1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wall = wall_s() - w0;
    char mass[32];
    if (bootstrap) {
        snprintf(mass, sizeof(mass), "bootstrap");
        printf("spread: n=%zu bootstrap: seeded and settled %lld ms, no suspicion (wall %.1f s)\n",
               n, (long long)st.settle_ms, w_start);
    } else {
        snprintf(mass, sizeof(mass), "%.1f", st.mass_rounds);
        printf("spread: n=%zu mass join converged %.1f rounds after the last join (wall %.1f s)\n",
               n, st.mass_rounds, w_start);
    }
    printf("spread: a join after convergence reached all %zu others in %.1f gossip rounds\n", m,
           join);
    printf("spread: a kill was first declared dead after %lld ms; that death reached everyone in "
           "%.1f more gossip rounds\n",
           (long long)detect, kspread);
    printf("spread: a graceful leave reached everyone in %.1f gossip rounds\n", leave);
    printf("spread: references: retransmit limit %u (%u * ceil(log10(%zu + 1))), "
           "log_%u(n) = %.2f, log2(n) = %.2f; fanout %u, gossip interval %lld ms\n",
           limit, cfg->retransmit_mult, n, cfg->gossip_nodes + 1, logf, log2((double)n),
           cfg->gossip_nodes, (long long)cfg->gossip_interval_ms);
    printf("spread: peak RSS %ld KiB, wall %.1f s\n", ru.ru_maxrss, wall);
    printf("RESULT n=%zu mass_join_rounds=%s join_rounds=%.1f kill_detect_ms=%lld "
           "kill_spread_rounds=%.1f leave_rounds=%.1f retransmit_limit=%u log_fanout_n=%.2f "
           "log2_n=%.2f rss_kib=%ld wall_s=%.1f seed_wall_s=%.1f settle_ms=%lld\n",
           n, mass, join, (long long)detect, kspread, leave, limit, logf, log2((double)n),
           ru.ru_maxrss, wall, st.seed_wall, (long long)st.settle_ms);
    return 0;
}

static int run(const char *scenario, size_t n, uint64_t seed, enum swim_profile prof,
               bool bootstrap)
{
    struct sim_cluster *c = sim_cluster_new(n, prof, seed);
    if (!c)
        return fail("cluster");
    int rc = 0;
    printf("%s: %zu nodes, profile %s, seed %llu\n", scenario, n, swim_profile_name(prof),
           (unsigned long long)seed);
    if (strcmp(scenario, "spread") == 0) {
        rc = run_spread(c, n, bootstrap);
        goto out;
    }
    if (converge(c, n, scenario) < 0) {
        rc = fail("no convergence after the joins");
        goto out;
    }
    const struct swim_config *cfg = sim_cluster_config(c);
    if (strcmp(scenario, "converge") == 0) {
        /* done */
    } else if (strcmp(scenario, "kill") == 0) {
        size_t k = n / 3;
        int64_t t0 = sim_cluster_now(c);
        sim_cluster_kill(c, k);
        if (!sim_cluster_run_until(c, killed_seen_dead, &k, 300000)) {
            rc = fail("the killed node is not dead everywhere");
            goto out;
        }
        /* min suspicion + probe time bounds the detection from below. */
        printf("kill: n%zu dead everywhere %lld ms after the kill (suspicion min %lld ms)\n", k,
               (long long)(sim_cluster_now(c) - t0),
               (long long)swim_suspicion_min_ms(cfg->suspicion_mult, n, cfg->probe_interval_ms));
        /* Exactly one death per other node: nobody else died. */
        if (sim_cluster_counter(c, CTR(deaths)) != n - 1)
            rc = fail("deaths other than the killed node's");
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n && rc == 0; j++)
                if (i != k && j != k && !sim_cluster_sees(c, i, j, SWIM_ALIVE))
                    rc = fail("a live node was declared not alive");
    } else if (strcmp(scenario, "leave") == 0) {
        size_t k = n / 2;
        sim_cluster_leave(c, k);
        if (!sim_cluster_run_until(c, left_seen, &k, 60000)) {
            rc = fail("the leaving node is not 'left' everywhere");
            goto out;
        }
        if (sim_cluster_counter(c, CTR(deaths)) != 0)
            rc = fail("a leave was taken for a failure somewhere");
        printf("leave: n%zu left everywhere at %lld ms\n", k, (long long)sim_cluster_now(c));
    } else if (strcmp(scenario, "loss") == 0) {
        sim_cluster_set_loss(c, 0.10);
        int64_t window = 300000;
        sim_cluster_run_for(c, window);
        uint64_t deaths = sim_cluster_counter(c, CTR(deaths));
        printf("loss: 10%% loss for %lld s: %llu suspicions, %llu refutes, %llu false deaths, "
               "%llu datagrams dropped of %llu\n",
               (long long)window / 1000, (unsigned long long)sim_cluster_counter(c, CTR(suspects)),
               (unsigned long long)sim_cluster_counter(c, CTR(refutes)), (unsigned long long)deaths,
               (unsigned long long)sim_cluster_dropped(c),
               (unsigned long long)(sim_cluster_dropped(c) + sim_cluster_delivered(c)));
        if (deaths != 0)
            rc = fail("a live node was declared dead at 10% loss");
        sim_cluster_set_loss(c, 0);
        if (rc == 0 && !sim_cluster_run_until(c, sim_cluster_converged, NULL, 60000))
            rc = fail("not converged after the loss stopped");
    } else if (strcmp(scenario, "block") == 0) {
        size_t k = n / 4;
        sim_cluster_block(c, k, true);
        sim_cluster_run_for(c, 3000);
        unsigned score = swim_awareness(sim_cluster_node(c, k));
        sim_cluster_block(c, k, false);
        /* Watch for 60 s that nobody declares the starved node dead. */
        bool died = sim_cluster_run_until(c, anyone_sees_dead, &k, 60000);
        printf("block: n%zu starved 3 s: health score %u; then %llu suspicions, %llu refutes, "
               "%llu transient deaths of others\n",
               k, score, (unsigned long long)sim_cluster_counter(c, CTR(suspects)),
               (unsigned long long)sim_cluster_counter(c, CTR(refutes)),
               (unsigned long long)sim_cluster_counter(c, CTR(deaths)));
        if (score == 0)
            rc = fail("the starved node's health score did not rise");
        if (died)
            rc = fail("the starved node was declared dead after a 3 s stall");
        if (rc == 0 && !sim_cluster_run_until(c, sim_cluster_converged, NULL, 60000))
            rc = fail("not converged after the stall");
    } else if (strcmp(scenario, "partition") == 0) {
        unsigned *g = calloc(n, sizeof(*g));
        if (!g) {
            rc = fail("memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            g[i] = i < n / 2 ? 0 : 1;
        sim_cluster_partition(c, g);
        free(g);
        int64_t t0 = sim_cluster_now(c);
        if (!sim_cluster_run_until(c, halves_split, NULL, 300000)) {
            rc = fail("the halves did not declare each other dead");
            goto out;
        }
        printf("partition: each half sees the other dead %lld ms after the split\n",
               (long long)(sim_cluster_now(c) - t0));
        sim_cluster_heal(c);
        t0 = sim_cluster_now(c);
        /* Serf's reconnect, compressed: every 5 s until converged, each node
         * joins a random node of the other half. */
        bool ok = false;
        uint64_t x = seed | 1; /* xorshift64: the scenario's own choices */
        for (int round = 0; round < 24 && !ok; round++) {
            for (size_t i = 0; i < n; i++) {
                size_t h = n / 2;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                size_t other = i < h ? h + (size_t)(x % (n - h)) : (size_t)(x % h);
                sim_cluster_join(c, i, other);
            }
            ok = sim_cluster_run_until(c, sim_cluster_converged, NULL, 5000);
        }
        if (!ok)
            rc = fail("not converged after healing");
        else
            printf("partition: healed, everyone alive everywhere %lld ms after the heal\n",
                   (long long)(sim_cluster_now(c) - t0));
    } else {
        rc = fail("unknown scenario");
    }
out:
    printf("%s: %s at fake time %lld ms; %llu datagrams delivered\n", scenario,
           rc ? "FAILED" : "ok", (long long)sim_cluster_now(c),
           (unsigned long long)sim_cluster_delivered(c));
    sim_cluster_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sim_gossip converge|kill|leave|loss|block|partition|spread [-n N] "
                        "[-s SEED] [-p PROFILE] [--bootstrap]\n");
        return 2;
    }
    size_t n = 32;
    uint64_t seed = 1;
    enum swim_profile prof = SWIM_PROFILE_LAN;
    bool bootstrap = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--bootstrap") == 0) {
            bootstrap = true;
            continue;
        }
        if (i + 1 >= argc)
            return fail("an option without its value");
        if (strcmp(argv[i], "-n") == 0)
            n = (size_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-p") == 0 && swim_profile_parse(argv[i + 1], &prof) < 0)
            return fail("unknown profile");
        i++;
    }
    if (bootstrap && strcmp(argv[1], "spread") != 0)
        return fail("--bootstrap is for the spread scenario");
    const char *env = getenv("WEFT_SIM_NODES");
    if (env && *env)
        n = (size_t)strtoul(env, NULL, 10);
    size_t nmax = strcmp(argv[1], "spread") == 0 ? 20000 : 4000;
    if (n < 4 || n > nmax)
        return fail(nmax == 4000 ? "node count must be in 4..4000"
                                 : "node count must be in 4..20000");
    return run(argv[1], n, seed, prof, bootstrap);
}
