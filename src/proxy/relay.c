/*
 * relay: the L4 byte pump between two streams (see relay.h for the rules).
 *
 * One function, relay_drive(), does all the work; the libevent callbacks
 * (readable, writable, the idle timer, a self-activation when input is left
 * over after a budget) only call it. Each pass: pump both directions, flush
 * both sockets, pass on ends, then set the events to what is wanted now.
 */
#include "proxy/relay.h"

#include "core/clock.h"
#include "core/log.h"
#include "platform/platform.h"
#include "proxy/stream.h"

#include <event2/buffer.h>
#include <event2/event.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes one direction moves per wake-up before yielding to the loop. */
#define PX_RELAY_BUDGET (4 * PX_STREAM_CHUNK)
/* A pipe holds 64 KiB by default (16 pages): the splice mode's buffer. */
#define PX_SPLICE_PIPE (64 * 1024)
/* A direction that moved this much in one wake-up, or filled its buffer,
 * is bulk: it splices. */
#define PX_SPLICE_AFTER PX_STREAM_CHUNK

struct px_dir {
    struct px_stream *src, *dst;
    struct evbuffer *mid; /* plaintext between src's recv and dst's send */
    bool blocked;         /* dst is full: src is not read */
    bool eof;             /* src ended cleanly */
    /* src may have bytes: set when its read event fires (and at start),
     * cleared when a read found it empty. A wake-up for the other socket
     * then costs no read() that could only say EAGAIN. */
    bool ready;
    uint64_t bytes;
    bool splice;  /* splicing now: src -> pipe -> dst (holds a pipe) */
    int pipe[2];  /* {-1, -1} while copying */
    size_t piped; /* bytes in the pipe */
};

struct px_relay {
    struct event_base *base;
    struct px_stream *s[2]; /* 0: down, 1: up */
    struct event *rev[2], *wev[2];
    bool rev_on[2], wev_on[2];
    struct event *timer;  /* idle timeout */
    struct event *kick;   /* self-activation after a spent budget */
    struct px_dir dir[2]; /* 0: down -> up, 1: up -> down */
    size_t cap;
    bool splice;                /* both sides plain TCP: bulk may move in the kernel */
    struct px_pipe_pool *pipes; /* where pipes come from and go back to; may be NULL */
    uint64_t spliced;           /* bytes moved by splice */
    int64_t idle_ms, last_ms;
    px_relay_done_fn done;
    px_relay_bytes_fn on_bytes;
    void *arg;
};

static const char *const end_names[PX_END_MAX] = {
    [PX_END_CLOSED] = "closed", [PX_END_RESET_DOWN] = "reset_down", [PX_END_RESET_UP] = "reset_up",
    [PX_END_IDLE] = "idle",     [PX_END_ABORTED] = "aborted",
};

const char *px_relay_end_name(enum px_relay_end e)
{
    return e < PX_END_MAX ? end_names[e] : "?";
}

int px_pipe_pool_init(struct px_pipe_pool *pp, size_t cap)
{
    pp->n = 0;
    pp->cap = cap;
    pp->fds = calloc(cap ? cap : 1, sizeof(*pp->fds));
    return pp->fds ? 0 : -1;
}

void px_pipe_pool_deinit(struct px_pipe_pool *pp)
{
    for (size_t i = 0; i < pp->n; i++) {
        close(pp->fds[i][0]);
        close(pp->fds[i][1]);
    }
    free(pp->fds);
    pp->fds = NULL;
    pp->n = pp->cap = 0;
}

/* A pipe for d: from the pool, else a new one. Returns 0 or -1 (errno). */
static int pipe_get(struct px_relay *r, struct px_dir *d)
{
    if (r->pipes && r->pipes->n > 0) {
        r->pipes->n--;
        d->pipe[0] = r->pipes->fds[r->pipes->n][0];
        d->pipe[1] = r->pipes->fds[r->pipes->n][1];
        return 0;
    }
    return pf_splice_pipe(d->pipe);
}

/* d goes back to copying: an empty pipe back to the pool, else closed. */
static void pipe_put(struct px_relay *r, struct px_dir *d)
{
    d->splice = false;
    if (d->pipe[0] < 0)
        return;
    if (d->piped == 0 && r->pipes && r->pipes->n < r->pipes->cap) {
        r->pipes->fds[r->pipes->n][0] = d->pipe[0];
        r->pipes->fds[r->pipes->n][1] = d->pipe[1];
        r->pipes->n++;
    } else {
        close(d->pipe[0]);
        close(d->pipe[1]);
    }
    d->pipe[0] = d->pipe[1] = -1;
    d->piped = 0;
}

static void relay_free(struct px_relay *r)
{
    for (int i = 0; i < 2; i++) {
        if (r->rev[i])
            event_free(r->rev[i]);
        if (r->wev[i])
            event_free(r->wev[i]);
        if (r->dir[i].mid)
            evbuffer_free(r->dir[i].mid);
        pipe_put(r, &r->dir[i]);
    }
    if (r->timer)
        event_free(r->timer);
    if (r->kick)
        event_free(r->kick);
    free(r);
}

/* The end: close both streams (resets unless clean), report, free. */
static void relay_end(struct px_relay *r, enum px_relay_end end)
{
    for (int i = 0; i < 2; i++) {
        if (end == PX_END_CLOSED)
            px_stream_free(r->s[i]);
        else
            px_stream_abort(r->s[i]);
        r->s[i] = NULL;
    }
    struct px_relay_result res = {
        .end = end, .bytes_up = r->dir[0].bytes, .bytes_down = r->dir[1].bytes};
    px_relay_done_fn done = r->done;
    void *arg = r->arg;
    relay_free(r);
    done(arg, &res);
}

/*
 * Move what src has towards dst, reading src's socket as needed, while
 * dst has room. Returns 0, or -1 when src failed (-2 when dst did).
 */
static int pump(struct px_relay *r, struct px_dir *d, bool *more)
{
    size_t moved = 0;
    bool drained = false;
    d->blocked = false;
    while (!d->eof) {
        size_t pend = px_stream_pending(d->dst) + evbuffer_get_length(d->mid);
        if (pend >= r->cap) {
            d->blocked = true;
            break;
        }
        if (moved >= PX_RELAY_BUDGET) {
            *more = true;
            break;
        }
        size_t room = r->cap - pend, n = 0;
        enum px_io io = px_stream_recv(d->src, d->mid, room, &n);
        if (io == PX_IO_ERROR)
            return -1;
        if (n > 0) {
            size_t m = 0;
            if (px_stream_send(d->dst, d->mid, evbuffer_get_length(d->mid), &m) == PX_IO_ERROR)
                return -2;
            d->bytes += n;
            moved += n;
            continue;
        }
        if (io == PX_IO_EOF) {
            d->eof = true;
            break;
        }
        /* The last read came back short, or no read event came since the
         * socket was found empty: another read would only say EAGAIN (a
         * syscall per message). */
        if (drained || !d->ready)
            break;
        size_t ask = room < PX_STREAM_CHUNK ? room : PX_STREAM_CHUNK, got = 0;
        enum px_io f = px_stream_fill(d->src, ask, &got);
        if (f == PX_IO_AGAIN) {
            d->ready = false;
            break;
        }
        if (f == PX_IO_ERROR)
            return -1;
        drained = f == PX_IO_OK && got < ask;
        if (drained)
            d->ready = false;
        /* OK or EOF: take what came (or the end) on the next turn. */
    }
    if (d->eof && evbuffer_get_length(d->mid) == 0 && !d->dst->wr_done)
        px_stream_shutdown(d->dst);
    /* Bulk between two plain sockets: splice from now on (haproxy's
     * splice-auto). Small messages stay copied: a read and a write cost
     * fewer syscalls than socket -> pipe -> socket. */
    if (r->splice && !d->eof && (moved >= PX_SPLICE_AFTER || d->blocked) &&
        evbuffer_get_length(d->mid) == 0 && evbuffer_get_length(d->src->rx) == 0) {
        if (pipe_get(r, d) == 0)
            d->splice = true;
        else if (errno == ENOSYS)
            r->splice = false;
    }
    return 0;
}

/*
 * Splice mode: src -> pipe -> dst, the pipe being the direction's buffer.
 * An EAGAIN from the source while the pipe holds bytes may mean the pipe's
 * slots are full (socket data fills them partly), so it waits for the
 * destination then, never for a source that is readable (no spin).
 */
static int pump_splice(struct px_relay *r, struct px_dir *d, bool *more)
{
    size_t moved = 0;
    bool drained = false;
    d->blocked = false;
    /* Bytes copied before the switch go out first. */
    if (px_stream_pending(d->dst) > 0) {
        d->blocked = true;
        return 0;
    }
    for (;;) {
        if (d->piped > 0) {
            long n = pf_splice(d->pipe[0], d->dst->fd, d->piped);
            if (n > 0) {
                d->piped -= (size_t)n;
                d->dst->bytes_tx += (uint64_t)n;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                d->dst->err = errno;
                return -2;
            }
        }
        if (d->eof)
            break;
        if (d->piped >= r->cap) {
            d->blocked = true;
            break;
        }
        if (moved >= PX_RELAY_BUDGET) {
            *more = true;
            break;
        }
        if (drained)
            break;
        size_t ask = r->cap - d->piped;
        long n = pf_splice(d->src->fd, d->pipe[1], ask);
        if (n > 0) {
            drained = (size_t)n < ask;
            d->piped += (size_t)n;
            r->spliced += (uint64_t)n;
            d->bytes += (uint64_t)n;
            d->src->bytes_rx += (uint64_t)n;
            moved += (size_t)n;
            continue;
        }
        if (n == 0) {
            d->eof = true;
            d->src->sock_eof = d->src->rd_done = true;
            continue; /* flush what the pipe holds, then pass the end on */
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            if (d->piped > 0)
                d->blocked = true;
            else
                pipe_put(r, d); /* the burst is over: copy until the next one */
            break;
        }
        d->src->err = errno;
        return -1;
    }
    if (d->eof && d->piped == 0) {
        pipe_put(r, d);
        if (!d->dst->wr_done)
            px_stream_shutdown(d->dst);
    }
    return 0;
}

/* Bytes waiting on their way to d's destination. */
static size_t dir_pending(const struct px_relay *r, const struct px_dir *d)
{
    (void)r;
    return px_stream_pending(d->dst) + d->piped;
}

static void set_event(struct event *ev, bool *on, bool want)
{
    if (want == *on)
        return;
    *on = want;
    if (want)
        event_add(ev, NULL);
    else
        event_del(ev);
}

static void relay_drive(struct px_relay *r)
{
    uint64_t before = r->dir[0].bytes + r->dir[1].bytes;
    bool more = false;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2; i++) {
            int rc =
                r->dir[i].splice ? pump_splice(r, &r->dir[i], &more) : pump(r, &r->dir[i], &more);
            if (rc < 0) {
                /* dir 0 reads down (s[0]) and writes up (s[1]). */
                int failed = (rc == -1) ? i : 1 - i;
                relay_end(r, failed == 0 ? PX_END_RESET_DOWN : PX_END_RESET_UP);
                return;
            }
        }
        bool unblocked = false;
        for (int i = 0; i < 2; i++) {
            if (px_stream_flush(r->s[i]) == PX_IO_ERROR) {
                relay_end(r, i == 0 ? PX_END_RESET_DOWN : PX_END_RESET_UP);
                return;
            }
        }
        /* A direction blocked on a destination that drained below half
         * resumes in this same wake-up. */
        for (int i = 0; i < 2; i++) {
            struct px_dir *d = &r->dir[i];
            if (d->blocked && dir_pending(r, d) < r->cap / 2)
                unblocked = true;
        }
        if (!unblocked)
            break;
    }
    uint64_t after = r->dir[0].bytes + r->dir[1].bytes;
    if (after != before) {
        r->last_ms = clock_mono_ms();
        if (r->on_bytes)
            r->on_bytes(r->arg, r->dir[0].bytes, r->dir[1].bytes);
    }
    bool done0 = r->dir[0].eof && r->s[1]->wr_fin;
    bool done1 = r->dir[1].eof && r->s[0]->wr_fin;
    if (done0 && done1) {
        relay_end(r, PX_END_CLOSED);
        return;
    }
    for (int i = 0; i < 2; i++) {
        /* Still marked blocked after the rounds but its destination drained:
         * pump again on the next turn (the socket may have nothing new to
         * wake us with). */
        struct px_dir *d = &r->dir[i];
        if (d->blocked && dir_pending(r, d) < r->cap / 2) {
            d->blocked = false;
            more = true;
        }
    }
    for (int i = 0; i < 2; i++) {
        /* s[i] is the source of dir[i] and the destination of dir[1-i]. */
        struct px_dir *d = &r->dir[i];
        bool want_read = !d->eof && !d->blocked;
        bool want_write = px_stream_pending(r->s[i]) > 0 || r->dir[1 - i].piped > 0;
        set_event(r->rev[i], &r->rev_on[i], want_read);
        set_event(r->wev[i], &r->wev_on[i], want_write);
    }
    if (more)
        event_active(r->kick, EV_TIMEOUT, 0);
    log_debug(LOG_PROXY,
              "relay %p: d0 %llu blk%d eof%d rx%zu mid%zu | d1 %llu blk%d eof%d rx%zu mid%zu | "
              "tx0 %zu tx1 %zu ev r%d%d w%d%d more%d",
              (void *)r, (unsigned long long)r->dir[0].bytes, r->dir[0].blocked, r->dir[0].eof,
              evbuffer_get_length(r->s[0]->rx), evbuffer_get_length(r->dir[0].mid),
              (unsigned long long)r->dir[1].bytes, r->dir[1].blocked, r->dir[1].eof,
              evbuffer_get_length(r->s[1]->rx), evbuffer_get_length(r->dir[1].mid),
              px_stream_pending(r->s[0]), px_stream_pending(r->s[1]), r->rev_on[0], r->rev_on[1],
              r->wev_on[0], r->wev_on[1], more);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    struct px_relay *r = arg;
    if (what & EV_READ)
        for (int i = 0; i < 2; i++)
            if (r->s[i]->fd == fd)
                r->dir[i].ready = true;
    relay_drive(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct px_relay *r = arg;
    int64_t quiet = clock_mono_ms() - r->last_ms;
    if (quiet >= r->idle_ms) {
        relay_end(r, PX_END_IDLE);
        return;
    }
    struct timeval tv = {(time_t)((r->idle_ms - quiet) / 1000),
                         (suseconds_t)((r->idle_ms - quiet) % 1000) * 1000};
    event_add(r->timer, &tv);
}

struct px_relay *px_relay_new(struct event_base *base, struct px_stream *down, struct px_stream *up,
                              const struct px_relay_params *p, px_relay_done_fn done,
                              px_relay_bytes_fn bytes, void *arg, struct weft_err *e)
{
    struct px_relay *r = calloc(1, sizeof(*r));
    if (!r) {
        px_stream_abort(down);
        px_stream_abort(up);
        err_set(e, "out of memory");
        return NULL;
    }
    r->base = base;
    r->s[0] = down;
    r->s[1] = up;
    r->cap = p->buffer ? p->buffer : 64 * 1024;
    r->idle_ms = p->idle_ms;
    r->last_ms = clock_mono_ms();
    r->done = done;
    r->on_bytes = bytes;
    r->arg = arg;
    bool ok = true;
    r->dir[0].pipe[0] = r->dir[0].pipe[1] = r->dir[1].pipe[0] = r->dir[1].pipe[1] = -1;
    /* Both sides plain: bulk may splice (the pipe is the direction's
     * buffer then, so the cap is a pipe's). */
    r->pipes = p->pipes;
    if (p->splice && !px_stream_is_tls(down) && !px_stream_is_tls(up)) {
        r->splice = true;
        if (r->cap > PX_SPLICE_PIPE)
            r->cap = PX_SPLICE_PIPE;
    }
    for (int i = 0; i < 2; i++) {
        r->dir[i].src = r->s[i];
        r->dir[i].dst = r->s[1 - i];
        r->dir[i].ready = true; /* bytes may have come before the relay */
        r->dir[i].mid = evbuffer_new();
        r->rev[i] = event_new(base, r->s[i]->fd, EV_READ | EV_PERSIST, on_io, r);
        r->wev[i] = event_new(base, r->s[i]->fd, EV_WRITE | EV_PERSIST, on_io, r);
        ok = ok && r->dir[i].mid && r->rev[i] && r->wev[i];
    }
    r->kick = event_new(base, -1, 0, on_io, r);
    if (r->idle_ms > 0)
        r->timer = evtimer_new(base, on_timer, r);
    if (!ok || !r->kick || (r->idle_ms > 0 && !r->timer)) {
        for (int i = 0; i < 2; i++)
            px_stream_abort(r->s[i]);
        relay_free(r);
        err_set(e, "out of memory");
        return NULL;
    }
    if (r->timer) {
        struct timeval tv = {(time_t)(r->idle_ms / 1000), (suseconds_t)(r->idle_ms % 1000) * 1000};
        event_add(r->timer, &tv);
    }
    /* Bytes may already wait in rx (read with the handshake): start now. */
    event_active(r->kick, EV_TIMEOUT, 0);
    return r;
}

bool px_relay_is_splice(const struct px_relay *r)
{
    return r->splice;
}

uint64_t px_relay_spliced(const struct px_relay *r)
{
    return r->spliced;
}

void px_relay_abort(struct px_relay *r)
{
    if (r)
        relay_end(r, PX_END_ABORTED);
}
