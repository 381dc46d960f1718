#include "core/accept_guard.h"

#include "core/loop.h"

#include <event2/event.h>
#include <event2/listener.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct accept_guard {
    struct evconnlistener *l;
    struct event *resume;
    enum log_domain dom;
    unsigned long pauses;
    struct log_ratelim rl;
    char name[160];
    struct accept_guard *next;
};

/* libevent hands an error callback the listener's own argument (an evhttp's
 * for the admin listeners), not ours: the guards are found by listener.
 * A process has a handful of listeners, and one loop thread. */
static struct accept_guard *guards;

static struct accept_guard *guard_of(struct evconnlistener *l)
{
    for (struct accept_guard *g = guards; g; g = g->next)
        if (g->l == l)
            return g;
    return NULL;
}

bool accept_guard_shortage(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct accept_guard *g = arg;
    evconnlistener_enable(g->l);
}

void accept_guard_pause(struct accept_guard *g, const char *what, int err)
{
    if (!g)
        return;
    g->pauses++;
    log_ratelim(&g->rl, LOG_LEVEL_WARN, g->dom, "%s: %s: %s: pausing this listener", g->name, what,
                strerror(err));
    evconnlistener_disable(g->l);
    loop_timer_add(g->resume, ACCEPT_GUARD_PAUSE_MS);
}

static void on_error(struct evconnlistener *l, void *arg)
{
    (void)arg;
    int err = errno;
    struct accept_guard *g = guard_of(l);
    if (!g)
        return;
    if (accept_guard_shortage(err))
        accept_guard_pause(g, "accept", err);
    else
        log_ratelim(&g->rl, LOG_LEVEL_WARN, g->dom, "%s: accept: %s", g->name, strerror(err));
}

struct accept_guard *accept_guard_new(struct evconnlistener *l, enum log_domain d, const char *name)
{
    struct accept_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    if (!(g->resume = evtimer_new(evconnlistener_get_base(l), on_resume, g))) {
        free(g);
        return NULL;
    }
    g->l = l;
    g->dom = d;
    /* Three lines per 10 s: a pause every 250 ms would otherwise log four a second. */
    g->rl = (struct log_ratelim)LOG_RATELIM_INIT(10000, 3);
    snprintf(g->name, sizeof(g->name), "%s", name);
    g->next = guards;
    guards = g;
    evconnlistener_set_error_cb(l, on_error);
    return g;
}

unsigned long accept_guard_pauses(const struct accept_guard *g)
{
    return g ? g->pauses : 0;
}

void accept_guard_free(struct accept_guard *g)
{
    if (!g)
        return;
    for (struct accept_guard **pp = &guards; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    evconnlistener_set_error_cb(g->l, NULL);
    event_free(g->resume);
    free(g);
}
