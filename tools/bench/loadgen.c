/*
 * loadgen: an open-loop HTTP/1.1 load generator for tools/bench/proxy.sh
 * (what wrk2 does, small): requests are due on a fixed schedule (request i
 * at start + i / RATE), and each one's latency is counted from when it was
 * due, not from when it was sent, so time spent queued behind a slow
 * response is counted (no "coordinated omission").
 *
 *   loadgen HOST PORT PATH RATE SECONDS [CONNS] [WARMUP_SECONDS]
 *
 * CONNS keep-alive connections (default 16), one request in flight on
 * each; a due request goes to any idle connection, or waits in order for
 * the next one to become idle. Requests due during the warm-up (default
 * 1 s) are sent but not recorded. Responses must carry Content-Length.
 * Prints one line:
 *   n=N errors=E rate=R p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=..
 * A connection that fails is counted in errors and reopened. Every wait is
 * bounded: the run stops SECONDS + 10 s after the warm-up whatever happens.
 *
 * Not part of the product build: proxy.sh compiles it with cc -O2.
 * Memory: one array of latencies (RATE * SECONDS entries) and the
 * connections, all freed at exit by the OS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_BUF 65536

struct lg_conn {
    int fd;
    int busy;        /* a request in flight */
    uint64_t due_ns; /* when the request in flight was due */
    int record;      /* count it (not warm-up) */
    size_t have;     /* bytes of the response read so far */
    long need;       /* header + body length once the header is in, else -1 */
    char buf[LG_BUF];
};

static uint64_t lg_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct sockaddr_in lg_addr;
static int lg_ep;

static int lg_open(struct lg_conn *c, int idx)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&lg_addr, sizeof(lg_addr)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
    epoll_ctl(lg_ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->busy = 0;
    c->have = 0;
    c->need = -1;
    return 0;
}

static int lg_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double lg_pct(const uint64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)n);
    if (i >= n)
        i = n - 1;
    return (double)v[i] / 1000.0;
}

/* The header is complete in c->buf: set c->need, or -1 on a bad response. */
static int lg_header(struct lg_conn *c, const char *end)
{
    if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0)
        return -1;
    const char *p = c->buf;
    long len = -1;
    while ((p = strstr(p, "\r\n")) && p < end) {
        p += 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            len = strtol(p + 15, NULL, 10);
    }
    if (len < 0)
        return -1;
    c->need = (long)(end + 4 - c->buf) + len;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: loadgen HOST PORT PATH RATE SECONDS [CONNS] [WARMUP]\n");
        return 2;
    }
    double rate = atof(argv[4]), secs = atof(argv[5]);
    int nconn = argc > 6 ? atoi(argv[6]) : 16;
    double warm = argc > 7 ? atof(argv[7]) : 1.0;
    if (rate <= 0 || secs <= 0 || nconn < 1 || nconn > 4096 || warm < 0) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    lg_addr.sin_family = AF_INET;
    lg_addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &lg_addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: HOST must be an IPv4 address\n");
        return 2;
    }
    char req[512];
    int reqlen =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", argv[3], argv[1]);
    if (reqlen <= 0 || (size_t)reqlen >= sizeof(req))
        return 2;

    lg_ep = epoll_create1(0);
    struct lg_conn *conns = calloc((size_t)nconn, sizeof(*conns));
    size_t total = (size_t)((warm + secs) * rate) + 1;
    size_t nrec_max = (size_t)(secs * rate) + 2;
    uint64_t *lat = calloc(nrec_max, sizeof(*lat));
    if (lg_ep < 0 || !conns || !lat)
        return 1;
    for (int i = 0; i < nconn; i++)
        if (lg_open(&conns[i], i) != 0) {
            perror("loadgen: connect");
            return 1;
        }

    double interval = 1e9 / rate;
    uint64_t start = lg_now() + 10000000; /* 10 ms to settle */
    uint64_t warm_end = start + (uint64_t)(warm * 1e9);
    uint64_t deadline = warm_end + (uint64_t)((secs + 10) * 1e9);
    size_t next = 0; /* next request to send */
    size_t done = 0; /* responses (or errors) for all requests */
    size_t nrec = 0, errors = 0;
    int idle_hint = 0;

    while (done < total) {
        uint64_t now = lg_now();
        if (now > deadline) {
            errors += total - done;
            break;
        }
        /* send every due request that has an idle connection */
        while (next < total) {
            uint64_t due = start + (uint64_t)((double)next * interval);
            if (due > now)
                break;
            int k = -1;
            for (int j = 0; j < nconn; j++) {
                int i = (idle_hint + j) % nconn;
                if (!conns[i].busy && conns[i].fd >= 0) {
                    k = i;
                    break;
                }
            }
            if (k < 0)
                break; /* queued: its latency keeps growing from due */
            idle_hint = (k + 1) % nconn;
            struct lg_conn *c = &conns[k];
            if (write(c->fd, req, (size_t)reqlen) != reqlen) {
                errors++;
                done++;
                next++;
                epoll_ctl(lg_ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                lg_open(c, k);
                continue;
            }
            c->busy = 1;
            c->due_ns = due;
            c->record = due >= warm_end;
            c->have = 0;
            c->need = -1;
            next++;
        }
        /* wait for a response or the next due time */
        struct timespec to = {0, 50000000};
        if (next < total) {
            uint64_t due = start + (uint64_t)((double)next * interval);
            uint64_t d = due > now ? due - now : 0;
            if (d < 50000000)
                to.tv_nsec = (long)d;
        }
        struct epoll_event evs[64];
        int n = epoll_pwait2(lg_ep, evs, 64, &to, NULL);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll");
            return 1;
        }
        for (int e = 0; e < n; e++) {
            int k = (int)evs[e].data.u32;
            struct lg_conn *c = &conns[k];
            ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - 1 - c->have);
            int bad = r <= 0 || !c->busy;
            if (!bad) {
                c->have += (size_t)r;
                c->buf[c->have] = 0;
                if (c->need < 0) {
                    char *end = strstr(c->buf, "\r\n\r\n");
                    if (end && lg_header(c, end) != 0)
                        bad = 1;
                    else if (!end && c->have >= sizeof(c->buf) - 1)
                        bad = 1;
                }
                if (!bad && c->need >= 0 && (long)c->have >= c->need) {
                    if ((long)c->have > c->need) {
                        bad = 1; /* bytes past the response: not one in flight */
                    } else {
                        uint64_t t = lg_now();
                        if (c->record && nrec < nrec_max)
                            lat[nrec++] = t - c->due_ns;
                        c->busy = 0;
                        done++;
                    }
                }
            }
            if (bad) {
                if (c->busy) {
                    errors++;
                    done++;
                }
                epoll_ctl(lg_ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                if (lg_open(c, k) != 0)
                    c->busy = 1; /* lost: the others carry on */
            }
        }
    }
    double span = (double)(lg_now() - warm_end) / 1e9;
    qsort(lat, nrec, sizeof(*lat), lg_cmp);
    printf("n=%zu errors=%zu rate=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
           "max_us=%.1f\n",
           nrec, errors, span > 0 ? (double)nrec / span : 0, lg_pct(lat, nrec, 0.50),
           lg_pct(lat, nrec, 0.90), lg_pct(lat, nrec, 0.99), lg_pct(lat, nrec, 0.999),
           nrec ? (double)lat[nrec - 1] / 1000.0 : 0);
    return errors ? 1 : 0;
}
