/*
 * accept_guard: keeps a libevent listener from spinning when accept() fails
 * for want of descriptors or memory. libevent 2.1 leaves such a listener
 * readable and calls accept() again at once, forever, logging each failure:
 * a core at 100 % and a flooded log while the process can serve nothing.
 * The guard disables the listener for ACCEPT_GUARD_PAUSE_MS instead (long
 * enough not to spin, short enough to serve again soon after descriptors
 * free up) and logs the pause, rate-limited.
 *
 * Owner: whoever owns the listener owns its guard and frees the guard
 * first (the guard's timer must not fire on a freed listener). Guards are
 * found by listener (libevent passes an error callback the listener's own
 * argument), from the loop's thread only.
 */
#ifndef WEFT_CORE_ACCEPT_GUARD_H
#define WEFT_CORE_ACCEPT_GUARD_H

#include "core/log.h"

#include <stdbool.h>

#define ACCEPT_GUARD_PAUSE_MS 250

struct evconnlistener;
struct accept_guard;

/**
 * Guard listener l (sets its error callback). `name` says which listener in
 * the log ("admin socket /run/weft/admin.sock", "control 0.0.0.0:7946");
 * domain d is the logging subsystem's. NULL when out of memory.
 */
struct accept_guard *accept_guard_new(struct evconnlistener *l, enum log_domain d,
                                      const char *name);
/**
 * Pause now because `what` (e.g. "socket") failed with err: for a connection
 * just accepted that could not get the socket for its other side, accepting
 * more would only take connections to drop. Accepts NULL.
 */
void accept_guard_pause(struct accept_guard *g, const char *what, int err);
/** How many times the listener paused. */
unsigned long accept_guard_pauses(const struct accept_guard *g);
/** Stop the timer, drop the listener's error callback, free. Accepts NULL. */
void accept_guard_free(struct accept_guard *g);
/** Whether err (an errno) says this process is out of descriptors or memory. */
bool accept_guard_shortage(int err);

#endif
