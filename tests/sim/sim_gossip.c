/*
 * sim_gossip: SWIM scenarios on the simulated cluster (sim_cluster.h).
 *
 * Usage: sim_gossip SCENARIO [-n NODES] [-s SEED] [-p PROFILE]
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
 *
 * Exit status 0 if the scenario's claims held, 1 otherwise (with a reason).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int run(const char *scenario, size_t n, uint64_t seed, enum swim_profile prof)
{
    struct sim_cluster *c = sim_cluster_new(n, prof, seed);
    if (!c)
        return fail("cluster");
    int rc = 0;
    printf("%s: %zu nodes, profile %s, seed %llu\n", scenario, n, swim_profile_name(prof),
           (unsigned long long)seed);
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
        fprintf(stderr,
                "usage: sim_gossip converge|kill|leave|loss|block|partition [-n N] [-s SEED] "
                "[-p PROFILE]\n");
        return 2;
    }
    size_t n = 32;
    uint64_t seed = 1;
    enum swim_profile prof = SWIM_PROFILE_LAN;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            n = (size_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-p") == 0 && swim_profile_parse(argv[i + 1], &prof) < 0)
            return fail("unknown profile");
    }
    const char *env = getenv("WEFT_SIM_NODES");
    if (env && *env)
        n = (size_t)strtoul(env, NULL, 10);
    if (n < 4 || n > 4000)
        return fail("node count must be in 4..4000");
    return run(argv[1], n, seed, prof);
}
