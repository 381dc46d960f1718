/*
 * sim_cluster: N SWIM cores (src/gossip/swim.h) on a fake network and a
 * fake clock, in one process, deterministic from one seed.
 *
 *   node 0 ─┐                      ┌─▶ node j: swim_on_packet / swim_on_stream
 *   node 1 ─┼─ actions ─▶ [ heap of (delivery time, seq, event) ] ─┤
 *   ...    ─┘    loss, delay,      └─▶ node k: swim_on_timer at its wake time
 *                partition, block
 *
 * Every datagram a node emits becomes a delivery event at now + delay
 * (uniform in [delay_min, delay_max]), unless the link drops it: a loss
 * draw, different partition groups, or a blocked or killed endpoint. Push/
 * pull streams are reliable but fail (silently) across a partition or to a
 * dead node, as a TCP connect would. Timer events are queued at each node's
 * wake time. The clock jumps from event to event, so an hour of cluster life
 * costs only the work of its packets.
 *
 * Node i has the name "n<i>" and the address 10.<i/65536>.<i/256%256>.<i%256>
 * port 7946, so a destination address maps back to its index directly.
 * Ownership: the cluster owns its nodes and events (sim_cluster_free).
 */
#ifndef WEFT_TESTS_SIM_CLUSTER_H
#define WEFT_TESTS_SIM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gossip/swim.h"

struct sim_cluster;

/** n nodes of a profile, each alone (not joined); NULL on error (printed). */
struct sim_cluster *sim_cluster_new(size_t n, enum swim_profile profile, uint64_t seed);
/** Same with an explicit config for every node. */
struct sim_cluster *sim_cluster_new_config(size_t n, const struct swim_config *cfg, uint64_t seed);
void sim_cluster_free(struct sim_cluster *c);

size_t sim_cluster_size(const struct sim_cluster *c);
int64_t sim_cluster_now(const struct sim_cluster *c);
struct swim *sim_cluster_node(struct sim_cluster *c, size_t i);
const struct swim_config *sim_cluster_config(const struct sim_cluster *c);

/** Node i joins node `seed` (one push/pull), now. */
void sim_cluster_join(struct sim_cluster *c, size_t i, size_t seed);
/** A rolling start: node i (i >= 1) joins a random node among 0..i-1 at now + i * stagger_ms. */
void sim_cluster_join_all(struct sim_cluster *c, int64_t stagger_ms);
/** The same for nodes 1..m-1 only (the others stay alone until joined). */
void sim_cluster_join_first(struct sim_cluster *c, size_t m, int64_t stagger_ms);
/**
 * A converged cluster without a mass join: each of nodes 0..m-1 gets all
 * of 0..m-1 in its table, alive at their current incarnation, through
 * swim_seed_member (no broadcast queued). Nodes m..N-1 stay alone. Names
 * are formatted once (m short strings). Returns 0, or -1 (printed).
 */
int sim_cluster_bootstrap(struct sim_cluster *c, size_t m);
/** Node i stops dead: no more timers, its packets and streams are lost. */
void sim_cluster_kill(struct sim_cluster *c, size_t i);
bool sim_cluster_is_killed(const struct sim_cluster *c, size_t i);
/** Node i leaves gracefully (swim_leave); it keeps running until killed. */
void sim_cluster_leave(struct sim_cluster *c, size_t i);
/** group[i] for every node: packets between different groups are dropped. */
void sim_cluster_partition(struct sim_cluster *c, const unsigned *group);
/** One group again. */
void sim_cluster_heal(struct sim_cluster *c);
/** Probability of losing each datagram, on every link (0..1). */
void sim_cluster_set_loss(struct sim_cluster *c, double rate);
/** One-way delay range in ms (default 1..5). */
void sim_cluster_set_delay(struct sim_cluster *c, int64_t min_ms, int64_t max_ms);
/** A blocked (starved) node neither sends nor receives datagrams; its timers still run. */
void sim_cluster_block(struct sim_cluster *c, size_t i, bool blocked);

typedef bool (*sim_cond_fn)(struct sim_cluster *c, void *arg);
/**
 * Run events until cond holds (checked every check_ms of fake time) or
 * budget_ms of fake time has passed. Returns true if cond held.
 */
bool sim_cluster_run_until(struct sim_cluster *c, sim_cond_fn cond, void *arg, int64_t budget_ms);
/** Run budget_ms of fake time. */
void sim_cluster_run_for(struct sim_cluster *c, int64_t budget_ms);

/** Every live (not killed) node sees every other live node alive. */
bool sim_cluster_converged(struct sim_cluster *c, void *unused);
/** Node i sees node j with this status (absent counts as dead). */
bool sim_cluster_sees(struct sim_cluster *c, size_t i, size_t j, enum swim_status st);
/** Print up to max_lines (observer, member) pairs where a live member is not seen alive. */
void sim_cluster_report(struct sim_cluster *c, FILE *f, size_t max_lines);
/** Sum of one counter over all nodes (offsetof a uint64_t in struct swim_counters). */
uint64_t sim_cluster_counter(struct sim_cluster *c, size_t offset);
/** Datagrams delivered and dropped so far. */
uint64_t sim_cluster_delivered(const struct sim_cluster *c);
uint64_t sim_cluster_dropped(const struct sim_cluster *c);

#endif
