/*
 * stream: one side of a proxied connection — a TCP socket carrying plain
 * bytes, or mTLS over one (docs/proxy.md, "Relay").
 *
 * The relay and the handshake drivers never ask "is this TLS?": they move
 * plaintext with px_stream_recv/px_stream_send and bytes to and from the
 * socket with px_stream_fill/px_stream_flush. Underneath, two buffers:
 *
 *   socket ──fill──▶ rx ──(decrypt if TLS)──▶ recv ──▶ caller's buffer
 *   socket ◀─flush── tx ◀─(encrypt if TLS)─── send ◀── caller's buffer
 *
 * Plain streams move evbuffer chains (no copy); TLS streams decrypt straight
 * into the caller's buffer's reserved space. fill() reads up to
 * PX_STREAM_CHUNK per call (libevent 2.1's own reads stop at 4 KiB, which
 * costs a syscall per 4 KiB; docs/benchmarks.md).
 *
 * A stream owns its socket, its buffers and its TLS session (and a reference
 * on the session's conf, so a conf swapped out on renewal lives until its
 * last session ends). Events are the owner's business (relay.c, hs.c): the
 * stream only exposes its fd. Not thread-safe.
 */
#ifndef WEFT_PROXY_STREAM_H
#define WEFT_PROXY_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct evbuffer;
struct tls_sess;
struct tls_conf;

/* One read() asks for this much: big enough that bulk transfers are not
 * syscall-bound, small enough to stay inside the per-direction budget. */
#define PX_STREAM_CHUNK (64 * 1024)

/** What a call did. */
enum px_io {
    PX_IO_OK,    /* progress was made (or nothing to do) */
    PX_IO_AGAIN, /* the socket (or TLS) needs to become readable/writable first */
    PX_IO_EOF,   /* no more bytes will come (TCP FIN; TLS close_notify) */
    PX_IO_ERROR  /* reset, socket error or TLS failure: the stream is broken */
};

/** A reference-counted TLS conf: sessions keep the conf they started with. */
struct px_tlsref {
    struct tls_conf *conf; /* owned */
    unsigned refs;
};
/** A reference holding conf (ownership moves in), or NULL (conf then freed). */
struct px_tlsref *px_tlsref_new(struct tls_conf *conf);
struct px_tlsref *px_tlsref_get(struct px_tlsref *r);
/** Drop one reference; the last frees the conf. Accepts NULL. */
void px_tlsref_put(struct px_tlsref *r);

struct px_stream {
    int fd;                 /* owned; -1 once closed */
    struct tls_sess *tls;   /* owned; NULL for plain TCP */
    struct px_tlsref *tref; /* a reference on tls's conf; NULL for plain */
    struct evbuffer *rx;    /* read from the socket, not yet consumed */
    struct evbuffer *tx;    /* to write to the socket */
    bool sock_eof;          /* read() returned 0 */
    bool rd_done;           /* no more plaintext will come */
    bool wr_done;           /* our side was shut (close_notify / FIN queued) */
    bool wr_fin;            /* shutdown(SHUT_WR) done */
    int err;                /* errno of the failure, or 0 */
    uint64_t bytes_rx;      /* plaintext received */
    uint64_t bytes_tx;      /* plaintext sent */
};

/**
 * A stream over connected socket fd (made non-blocking here). tref NULL: plain.
 * Otherwise a TLS session of tref's conf is started (client: peer_key names
 * the peer for resumption). Returns the stream (caller owns: px_stream_free;
 * it owns fd from here on, also on failure), or NULL with a message in e.
 */
struct px_stream *px_stream_new(int fd, struct px_tlsref *tref, const char *peer_key,
                                struct weft_err *e);
/** Close the socket and free everything; accepts NULL. */
void px_stream_free(struct px_stream *s);
/** Free, closing with a TCP reset (SO_LINGER 0): how a broken peer's failure is passed on. */
void px_stream_abort(struct px_stream *s);

/** Is it mTLS? */
bool px_stream_is_tls(const struct px_stream *s);

/**
 * Read from the socket into rx, at most max bytes (at most PX_STREAM_CHUNK);
 * *got gets how many. A short read means the socket had no more for now.
 */
enum px_io px_stream_fill(struct px_stream *s, size_t max, size_t *got);
/** Write tx to the socket. PX_IO_OK once tx is empty, PX_IO_AGAIN while some is left. */
enum px_io px_stream_flush(struct px_stream *s);

/**
 * Advance the TLS handshake (plain streams are always done): fills and
 * flushes as needed. PX_IO_OK when open, PX_IO_AGAIN (wait for the socket),
 * PX_IO_ERROR (see tls_sess_fail).
 */
enum px_io px_stream_handshake(struct px_stream *s);

/**
 * Move up to max bytes of received plaintext into dst; *n gets how many.
 * PX_IO_OK (*n may be 0 when rx holds only part of a TLS record),
 * PX_IO_EOF once everything was delivered and the peer closed its side,
 * PX_IO_ERROR. Does not read the socket: fill() does.
 */
enum px_io px_stream_recv(struct px_stream *s, struct evbuffer *dst, size_t max, size_t *n);

/** Take up to max bytes of plaintext from src into tx (drained from src); *n gets how many. */
enum px_io px_stream_send(struct px_stream *s, struct evbuffer *src, size_t max, size_t *n);

/**
 * Shut our sending side: TLS close_notify queued, and once tx is flushed a
 * TCP FIN (shutdown(SHUT_WR)). Call px_stream_flush afterwards.
 */
void px_stream_shutdown(struct px_stream *s);

/** Bytes waiting in tx. */
size_t px_stream_pending(const struct px_stream *s);

#endif
