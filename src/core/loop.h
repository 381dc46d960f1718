/*
 * loop: the one libevent event_base of a weft process, and the glue every
 * subsystem uses to put its sockets, timers and signals on it. libevent's own
 * log messages are routed into weft's logger (domain core).
 */
#ifndef WEFT_CORE_LOOP_H
#define WEFT_CORE_LOOP_H

#include <stdint.h>

struct event_base;
struct event;

/** Route libevent's logging into weft's logger. Call once before loop_new(). */
void loop_lib_init(void);
/** A new event_base, or NULL. The caller owns it (event_base_free). */
struct event_base *loop_new(void);
/** Arm a one-shot or persistent timer event for `ms` milliseconds. */
int loop_timer_add(struct event *ev, int64_t ms);

#endif
