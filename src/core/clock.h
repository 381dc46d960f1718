/*
 * clock: the only place weft reads time. Monotonic time for timers and
 * durations, wall time for timestamps and certificates. Tests link
 * tests/fakes/fakeclock.c instead of clock.c to drive time by hand.
 */
#ifndef WEFT_CORE_CLOCK_H
#define WEFT_CORE_CLOCK_H

#include <stdint.h>

/** Monotonic milliseconds (CLOCK_MONOTONIC); only differences mean anything. */
int64_t clock_mono_ms(void);
/** Monotonic microseconds. */
int64_t clock_mono_us(void);
/** Wall clock, milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

#endif
