/*
 * fakeclock: core/clock.h implemented over a variable the test controls (see
 * fakeclock.h). Keeps microseconds so clock_mono_us() has resolution, even
 * though the setters take milliseconds.
 */
#include "fakes/fakeclock.h"

#include <assert.h>

#include "core/clock.h"

static int64_t fake_mono_us;
static int64_t fake_wall_offset_ms = FAKECLOCK_WALL_START_MS;

void fakeclock_set_ms(int64_t ms)
{
    fake_mono_us = ms * 1000;
}

void fakeclock_advance_ms(int64_t ms)
{
    /* Monotonic time never goes backwards; a test that tries has a bug. */
    assert(ms >= 0);
    fake_mono_us += ms * 1000;
}

void fakeclock_set_wall_ms(int64_t ms)
{
    fake_wall_offset_ms = ms - fake_mono_us / 1000;
}

int64_t clock_mono_ms(void)
{
    return fake_mono_us / 1000;
}

int64_t clock_mono_us(void)
{
    return fake_mono_us;
}

int64_t clock_wall_ms(void)
{
    return fake_wall_offset_ms + fake_mono_us / 1000;
}
