/*
 * health_probe: runs mesh/health checks from the command line against one
 * address, for tests/integration/cases/health_probe.sh (real servers we did
 * not write: python3 -m http.server, nginx).
 *
 *   health_probe (--tcp | --http) HOST:PORT [--path /p] [--host NAME]
 *                [--interval 200ms] [--timeout 1s] [--healthy N]
 *                [--unhealthy N] [--max-checks N]
 *
 * stdout, one line each, flushed (the test waits on them):
 *   start <tcp|http> <addr>
 *   change <from> -> <to>: <reason> (checks=N consecutive=N)
 *   done checks=N passes=N failures=N <result>=N ...   (at --max-checks or SIGTERM)
 * Exit 0; 2 on bad arguments.
 */
#include "core/addr.h"
#include "core/err.h"
#include "core/units.h"
#include "mesh/health.h"

#include <event2/event.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct probe {
    struct event_base *base;
    struct health *h;
    uint64_t max_checks;
};

static void on_change(void *arg, struct health *h, enum health_state from, enum health_state to,
                      const char *reason)
{
    const struct health_counters *c = health_counters(h);
    (void)arg;
    printf("change %s -> %s: %s (checks=%llu consecutive=%u)\n", health_state_name(from),
           health_state_name(to), reason, (unsigned long long)c->checks, c->consecutive);
    fflush(stdout);
}

static void print_done(const struct health *h)
{
    const struct health_counters *c = health_counters(h);
    printf("done checks=%llu passes=%llu failures=%llu", (unsigned long long)c->checks,
           (unsigned long long)c->passes, (unsigned long long)c->failures);
    for (int r = 0; r < HEALTH_RESULT_MAX; r++)
        printf(" %s=%llu", health_result_name((enum health_result)r),
               (unsigned long long)c->by_result[r]);
    printf("\n");
    fflush(stdout);
}

/* Every 10 ms: stop after --max-checks. */
static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct probe *p = arg;
    (void)fd;
    (void)what;
    if (p->max_checks && health_counters(p->h)->checks >= p->max_checks)
        event_base_loopbreak(p->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static int usage(void)
{
    fprintf(stderr, "usage: health_probe (--tcp | --http) HOST:PORT [--path P] [--host H] "
                    "[--interval D] [--timeout D] [--healthy N] [--unhealthy N] "
                    "[--max-checks N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct health_params hp;
    struct probe p = {0};
    struct weft_err e = {{0}};
    const char *addr = NULL;
    struct event *poll_ev, *sig_term, *sig_int;
    struct timeval tick = {0, 10000};

    health_params_init(&hp);
    snprintf(hp.name, sizeof hp.name, "probe");
    hp.interval_ms = 1000;
    hp.timeout_ms = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--tcp") == 0 || strcmp(a, "--http") == 0) {
            if (!v)
                return usage();
            hp.kind = a[2] == 't' ? HEALTH_TCP : HEALTH_HTTP;
            addr = v;
        } else if (strcmp(a, "--path") == 0 && v) {
            snprintf(hp.path, sizeof hp.path, "%s", v);
        } else if (strcmp(a, "--host") == 0 && v) {
            snprintf(hp.host, sizeof hp.host, "%s", v);
        } else if (strcmp(a, "--interval") == 0 && v) {
            if (units_parse_duration_ms(v, &hp.interval_ms, &e) != 0)
                goto bad;
        } else if (strcmp(a, "--timeout") == 0 && v) {
            if (units_parse_duration_ms(v, &hp.timeout_ms, &e) != 0)
                goto bad;
        } else if (strcmp(a, "--healthy") == 0 && v) {
            hp.healthy_threshold = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--unhealthy") == 0 && v) {
            hp.unhealthy_threshold = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--max-checks") == 0 && v) {
            p.max_checks = strtoull(v, NULL, 10);
        } else {
            return usage();
        }
        i++;
    }
    if (!addr)
        return usage();
    if (addr_parse(addr, &hp.addr, &hp.addr_len, &e) != 0)
        goto bad;
    p.base = event_base_new();
    if (!p.base)
        return 1;
    p.h = health_new(p.base, &hp, on_change, &p, &e);
    if (!p.h)
        goto bad;
    poll_ev = event_new(p.base, -1, EV_PERSIST, on_poll, &p);
    sig_term = evsignal_new(p.base, SIGTERM, on_signal, p.base);
    sig_int = evsignal_new(p.base, SIGINT, on_signal, p.base);
    event_add(poll_ev, &tick);
    event_add(sig_term, NULL);
    event_add(sig_int, NULL);
    printf("start %s %s\n", hp.kind == HEALTH_TCP ? "tcp" : "http", addr);
    fflush(stdout);
    if (health_start(p.h, &e) != 0)
        goto bad;
    event_base_dispatch(p.base);
    print_done(p.h);
    health_free(p.h);
    event_free(poll_ev);
    event_free(sig_term);
    event_free(sig_int);
    event_base_free(p.base);
    return 0;
bad:
    fprintf(stderr, "health_probe: %s\n", e.msg);
    if (p.base)
        event_base_free(p.base);
    return 2;
}
