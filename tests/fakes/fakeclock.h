/*
 * fakeclock: a hand-driven replacement for src/core/clock.c in tests.
 *
 * Link tests/fakes/fakeclock.c into a test executable (in its SOURCES) and
 * the three clock_* functions of core/clock.h come from here: the linker
 * takes them from the object file and never pulls clock.o out of
 * libweft_core.a (fakeclock.c defines all three, so nothing is left for
 * clock.o to provide and its symbols cannot clash).
 *
 * Time stands still until the test moves it. Monotonic time starts at 0; wall
 * time is FAKECLOCK_WALL_START_MS plus the monotonic time unless a test sets
 * it with fakeclock_set_wall_ms(). Not thread-safe (tests are single-threaded).
 */
#ifndef WEFT_TESTS_FAKECLOCK_H
#define WEFT_TESTS_FAKECLOCK_H

#include <stdint.h>

/* 2023-11-14T22:13:20Z: a fixed, recent, whole-second date, so certificate
 * validity and log timestamps are deterministic. */
#define FAKECLOCK_WALL_START_MS INT64_C(1700000000000)

/** Set monotonic time to ms (wall time keeps its offset from it). */
void fakeclock_set_ms(int64_t ms);
/** Move monotonic and wall time forward by ms (which must be >= 0). */
void fakeclock_advance_ms(int64_t ms);
/** Set wall time to ms since the epoch without moving monotonic time. */
void fakeclock_set_wall_ms(int64_t ms);

#endif
