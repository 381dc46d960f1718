/*
 * relay: bytes both ways between two streams until both ends are done
 * (docs/proxy.md, "Relay").
 *
 *        down (the caller's side)                 up (the target's side)
 *   socket ─fill─▶ rx ─recv─▶ mid[0] ─send─▶ tx ─flush─▶ socket
 *   socket ◀flush─ tx ◀send── mid[1] ◀recv── rx ◀─fill── socket
 *
 * - Backpressure: a direction stops reading its source (the read event is
 *   removed, explicitly: no high-watermark spin) once its destination holds
 *   `buffer` bytes not yet written, and resumes below half of that. So a
 *   direction holds at most about buffer + PX_STREAM_CHUNK bytes of ours,
 *   plus mbedTLS's record buffers for a TLS side.
 * - Half-close: the end of one direction (FIN, or close_notify) is passed
 *   on as the end of the other side's sending half, after every byte before
 *   it; the other direction keeps flowing.
 * - Resets: a read or write error (RST, TLS failure) on either side resets
 *   both (SO_LINGER 0), so the far end sees a failure, never a clean end.
 * - Idle: no byte either way for idle_ms ends the relay with resets.
 * - Fairness: each wake-up moves at most a budget per direction and then
 *   yields to the loop (re-activating itself if input is left).
 * - Splice: when both sides are plain TCP, a direction that moves a bulk
 *   (64 KiB in one wake-up) switches to socket -> pipe -> socket with
 *   splice(2), the bytes never entering user space, and back to copying
 *   when the burst ends (its pipe returns to the pool). Small messages stay
 *   copied: fewer syscalls. Idle connections hold no pipe.
 *
 * Owner: the relay owns both streams from px_relay_new on; it frees itself
 * after calling `done` (from a libevent callback, or from px_relay_abort).
 */
#ifndef WEFT_PROXY_RELAY_H
#define WEFT_PROXY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct px_stream;
struct px_relay;

/* Empty pipes kept for reuse by splicing relays (one pool per proxy). */
struct px_pipe_pool {
    int (*fds)[2];
    size_t n, cap;
};
/** Room for cap pipes. Returns 0, or -1 (out of memory). */
int px_pipe_pool_init(struct px_pipe_pool *pp, size_t cap);
/** Close the pipes kept; safe after a failed init. */
void px_pipe_pool_deinit(struct px_pipe_pool *pp);

struct px_relay_params {
    size_t buffer;   /* per-direction cap of unsent bytes */
    int64_t idle_ms; /* 0: no idle timeout */
    bool splice;     /* both sides plain: bulk moves with splice(2) (the cap is then 64 KiB) */
    struct px_pipe_pool *pipes; /* with splice: pipes come from here and go back; may be NULL */
};

enum px_relay_end {
    PX_END_CLOSED,     /* both directions ended cleanly */
    PX_END_RESET_DOWN, /* the down side failed (reset, error); both reset */
    PX_END_RESET_UP,   /* the up side failed; both reset */
    PX_END_IDLE,       /* idle timeout */
    PX_END_ABORTED,    /* px_relay_abort (drain deadline, shutdown) */
    PX_END_MAX
};

struct px_relay_result {
    enum px_relay_end end;
    uint64_t bytes_up;   /* down -> up (plaintext) */
    uint64_t bytes_down; /* up -> down */
};

typedef void (*px_relay_done_fn)(void *arg, const struct px_relay_result *res);
/** Bytes moved (called as they move, for live byte counters); may be NULL. */
typedef void (*px_relay_bytes_fn)(void *arg, uint64_t up, uint64_t down);

/** "closed", "reset_down", "reset_up", "idle", "aborted". */
const char *px_relay_end_name(enum px_relay_end e);

/**
 * Relay between down and up (both open: handshakes done). Takes ownership
 * of both streams (also on failure). Returns the relay, or NULL with a
 * message in e.
 */
struct px_relay *px_relay_new(struct event_base *base, struct px_stream *down, struct px_stream *up,
                              const struct px_relay_params *p, px_relay_done_fn done,
                              px_relay_bytes_fn bytes, void *arg, struct weft_err *e);

/** May bulk move with splice(2) (both sides plain, asked for)? */
bool px_relay_is_splice(const struct px_relay *r);
/** Bytes moved by splice so far. */
uint64_t px_relay_spliced(const struct px_relay *r);

/** End now with resets; `done` is called (end ABORTED) and the relay freed. */
void px_relay_abort(struct px_relay *r);

#endif
