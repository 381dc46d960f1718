/*
 * hlc: a hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical
 * Clocks", 2014) for stamping replicated records (docs/mesh.md,
 * "Replication").
 *
 * A stamp is one uint64_t:
 *
 *   63                           16 15            0
 *   +-------------------------------+--------------+
 *   |  wall milliseconds (48 bits)  | counter (16) |
 *   +-------------------------------+--------------+
 *
 * so comparing stamps is comparing integers. 48 bits of milliseconds last
 * until the year 10889. The clock never goes back: a wall clock that steps
 * back (NTP, a bad RTC) leaves the millisecond field where it was and the
 * counter counts on; a counter that overflows carries into the millisecond
 * field (the stamp is simply incremented), which borrows a millisecond
 * from the future rather than repeating a stamp.
 *
 * A stamp received from a peer pulls the clock forward, so whatever a node
 * writes after it has seen a record sorts after that record. A remote stamp
 * more than max_drift_ms ahead of our wall clock is refused instead: one
 * node with a clock a year ahead must not drag every clock in the mesh (and
 * win every write for a year) — the caller counts the refusal.
 *
 * Pure: the wall time is passed in (core/clock in the agent, a fake clock in
 * tests). The caller persists the last stamp (mesh_hlc_last) and hands it
 * back to mesh_hlc_init after a restart. No allocation.
 */
#ifndef WEFT_MESH_HLC_H
#define WEFT_MESH_HLC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MESH_HLC_COUNTER_BITS 16
#define MESH_HLC_COUNTER_MASK ((UINT64_C(1) << MESH_HLC_COUNTER_BITS) - 1)
/* The largest wall time a stamp can carry: 2^48 - 1 ms. */
#define MESH_HLC_MS_MAX ((UINT64_C(1) << 48) - 1)
/* Default for max_drift_ms: 10 minutes, far beyond what NTP-synced hosts
 * see, short enough that a runaway clock cannot win writes for long. */
#define MESH_HLC_MAX_DRIFT_DEFAULT_MS (10 * 60 * 1000)
/* "2026-11-25T23:01:02.345Z+65535" plus NUL is 31 bytes; 64 also covers
 * what the compiler assumes the integer fields could print. */
#define MESH_HLC_TEXT_MAX 64

struct mesh_hlc {
    uint64_t last;        /* the last stamp issued or seen */
    int64_t max_drift_ms; /* remote stamps further ahead than this are refused */
};

/** Start from a persisted stamp (0 for a fresh node); max drift is the default. */
void mesh_hlc_init(struct mesh_hlc *h, uint64_t persisted);

/** Build a stamp from milliseconds (clamped to 0..MESH_HLC_MS_MAX) and a counter. */
uint64_t mesh_hlc_make(int64_t ms, uint16_t counter);
/** The millisecond field of a stamp. */
static inline int64_t mesh_hlc_ms(uint64_t t)
{
    return (int64_t)(t >> MESH_HLC_COUNTER_BITS);
}
/** The counter field of a stamp. */
static inline uint16_t mesh_hlc_counter(uint64_t t)
{
    return (uint16_t)(t & MESH_HLC_COUNTER_MASK);
}

/**
 * A stamp for a local event (a write) at wall time wall_ms: greater than
 * every stamp this clock issued or received before. Returns it; never fails
 * (at UINT64_MAX, 2^48 ms after the epoch, it stays there).
 */
uint64_t mesh_hlc_now(struct mesh_hlc *h, int64_t wall_ms);

/**
 * A remote stamp arrived at wall time wall_ms: move the clock past it.
 * @retval 0   accepted; the next mesh_hlc_now() sorts after remote.
 * @retval -1  remote is more than max_drift_ms ahead of wall_ms: refused,
 *             the clock is unchanged, e says by how much (caller counts it).
 */
int mesh_hlc_recv(struct mesh_hlc *h, uint64_t remote, int64_t wall_ms, struct weft_err *e);

/** The last stamp issued or seen (what the caller persists). */
static inline uint64_t mesh_hlc_last(const struct mesh_hlc *h)
{
    return h->last;
}

/**
 * Text for people: "2026-11-25T23:01:02.345Z+3" (UTC, milliseconds, then
 * the counter). Writes at most MESH_HLC_TEXT_MAX bytes including the NUL.
 * Returns out.
 */
char *mesh_hlc_format(uint64_t t, char out[MESH_HLC_TEXT_MAX]);

/**
 * Parse the text form back (strict: exactly the format above; "+N" may be
 * left out for a counter of 0). Returns 0, or -1 with a one-line error in e.
 */
int mesh_hlc_parse(const char *s, uint64_t *out, struct weft_err *e);

#endif
