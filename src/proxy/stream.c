/*
 * stream: a plain or mTLS side of a proxied connection (see stream.h).
 *
 * Invariants: rx holds only bytes read from the socket (ciphertext for TLS);
 * tx only bytes for the socket; once wr_done nothing more is sent; the FIN
 * (shutdown(SHUT_WR)) goes out only after tx is empty, so the peer sees every
 * byte (and the close_notify) before the end of the stream.
 */
#include "proxy/stream.h"

#include "tls/tls_conf.h"
#include "tls/tls_sess.h"

#include <event2/buffer.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* mbedTLS takes at most one record's plaintext (16 KiB) per call. */
#define PX_TLS_PIECE (16 * 1024)
/* Handshake passes per call: each moves a flight; a handshake has few. */
#define PX_HS_PASSES 32

struct px_tlsref *px_tlsref_new(struct tls_conf *conf)
{
    struct px_tlsref *r = calloc(1, sizeof(*r));
    if (!r) {
        tls_conf_free(conf);
        return NULL;
    }
    r->conf = conf;
    r->refs = 1;
    return r;
}

struct px_tlsref *px_tlsref_get(struct px_tlsref *r)
{
    if (r)
        r->refs++;
    return r;
}

void px_tlsref_put(struct px_tlsref *r)
{
    if (!r || --r->refs > 0)
        return;
    tls_conf_free(r->conf);
    free(r);
}

struct px_stream *px_stream_new(int fd, struct px_tlsref *tref, const char *peer_key,
                                struct weft_err *e)
{
    struct px_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        close(fd);
        err_set(e, "out of memory");
        return NULL;
    }
    s->fd = fd;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        err_set(e, "fcntl: %s", strerror(errno));
        px_stream_free(s);
        return NULL;
    }
    /* Relayed writes are whatever the app wrote: never hold them back
     * (Nagle) waiting for more. Not a TCP socket: the call fails, harmless. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->rx = evbuffer_new();
    s->tx = evbuffer_new();
    if (!s->rx || !s->tx) {
        err_set(e, "out of memory");
        px_stream_free(s);
        return NULL;
    }
    if (tref) {
        s->tref = px_tlsref_get(tref);
        if (!(s->tls = tls_sess_new(tref->conf, s->rx, s->tx, peer_key, e))) {
            px_stream_free(s);
            return NULL;
        }
    }
    return s;
}

void px_stream_free(struct px_stream *s)
{
    if (!s)
        return;
    tls_sess_free(s->tls);
    px_tlsref_put(s->tref);
    if (s->rx)
        evbuffer_free(s->rx);
    if (s->tx)
        evbuffer_free(s->tx);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

void px_stream_abort(struct px_stream *s)
{
    if (!s)
        return;
    if (s->fd >= 0) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    px_stream_free(s);
}

bool px_stream_is_tls(const struct px_stream *s)
{
    return s->tls != NULL;
}

size_t px_stream_pending(const struct px_stream *s)
{
    return evbuffer_get_length(s->tx);
}

enum px_io px_stream_fill(struct px_stream *s, size_t max, size_t *got)
{
    *got = 0;
    if (s->err)
        return PX_IO_ERROR;
    if (s->sock_eof)
        return PX_IO_EOF;
    if (max > PX_STREAM_CHUNK)
        max = PX_STREAM_CHUNK;
    if (max == 0)
        return PX_IO_OK;
    /* Read onto the stack, then add what came: reserving buffer space
     * before a read that finds nothing would leave an empty 64 KiB chunk
     * behind in every idle stream (measured: docs/benchmarks.md). */
    unsigned char buf[PX_STREAM_CHUNK];
    ssize_t r;
    do
        r = read(s->fd, buf, max);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        s->sock_eof = true;
        if (s->tls)
            tls_sess_set_eof(s->tls);
        return PX_IO_EOF;
    }
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return PX_IO_AGAIN;
        s->err = errno;
        return PX_IO_ERROR;
    }
    if (evbuffer_add(s->rx, buf, (size_t)r) != 0) {
        s->err = ENOMEM;
        return PX_IO_ERROR;
    }
    *got = (size_t)r;
    return PX_IO_OK;
}

enum px_io px_stream_flush(struct px_stream *s)
{
    if (s->err)
        return PX_IO_ERROR;
    while (evbuffer_get_length(s->tx) > 0) {
        int r = evbuffer_write(s->tx, s->fd);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return PX_IO_AGAIN;
            s->err = errno;
            return PX_IO_ERROR;
        }
        if (r == 0)
            return PX_IO_AGAIN;
    }
    if (s->wr_done && !s->wr_fin) {
        s->wr_fin = true;
        if (shutdown(s->fd, SHUT_WR) != 0 && errno != ENOTCONN) {
            s->err = errno;
            return PX_IO_ERROR;
        }
    }
    return PX_IO_OK;
}

enum px_io px_stream_handshake(struct px_stream *s)
{
    if (!s->tls)
        return PX_IO_OK;
    for (int pass = 0; pass < PX_HS_PASSES; pass++) {
        enum tls_io io = tls_sess_handshake(s->tls);
        enum px_io f = px_stream_flush(s);
        if (f == PX_IO_ERROR)
            return PX_IO_ERROR;
        if (io == TLS_IO_OK)
            return PX_IO_OK;
        if (io != TLS_IO_WANT_READ)
            return io == TLS_IO_WANT_WRITE ? PX_IO_AGAIN : PX_IO_ERROR;
        size_t got;
        enum px_io r = px_stream_fill(s, PX_STREAM_CHUNK, &got);
        if (r == PX_IO_AGAIN)
            return PX_IO_AGAIN;
        if (r == PX_IO_ERROR)
            return PX_IO_ERROR;
        /* OK: more input; EOF: the session now fails on its next call. */
    }
    return PX_IO_AGAIN;
}

static enum px_io recv_tls(struct px_stream *s, struct evbuffer *dst, size_t max, size_t *n)
{
    /* Decrypt onto the stack, then add: no empty reserved chunk is left in
     * dst when a record is not complete yet. */
    unsigned char buf[PX_TLS_PIECE];
    while (*n < max) {
        size_t want = max - *n;
        if (want > sizeof(buf))
            want = sizeof(buf);
        size_t got = 0;
        enum tls_io io = tls_sess_read(s->tls, buf, want, &got);
        if (got && evbuffer_add(dst, buf, got) != 0) {
            s->err = ENOMEM;
            return PX_IO_ERROR;
        }
        *n += got;
        if (io == TLS_IO_OK)
            continue;
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            return PX_IO_OK;
        if (io == TLS_IO_CLOSED) {
            s->rd_done = true;
            return *n ? PX_IO_OK : PX_IO_EOF;
        }
        s->err = EPROTO;
        return PX_IO_ERROR;
    }
    return PX_IO_OK;
}

enum px_io px_stream_recv(struct px_stream *s, struct evbuffer *dst, size_t max, size_t *n)
{
    *n = 0;
    if (s->err)
        return PX_IO_ERROR;
    if (s->rd_done)
        return PX_IO_EOF;
    enum px_io io;
    if (s->tls) {
        io = recv_tls(s, dst, max, n);
    } else {
        size_t have = evbuffer_get_length(s->rx);
        if (have == 0 && s->sock_eof) {
            s->rd_done = true;
            return PX_IO_EOF;
        }
        *n = have < max ? have : max;
        io = PX_IO_OK;
        if (*n && evbuffer_remove_buffer(s->rx, dst, *n) != (int)*n) {
            s->err = ENOMEM;
            return PX_IO_ERROR;
        }
    }
    s->bytes_rx += *n;
    return io;
}

enum px_io px_stream_send(struct px_stream *s, struct evbuffer *src, size_t max, size_t *n)
{
    *n = 0;
    if (s->err || s->wr_done)
        return PX_IO_ERROR;
    size_t have = evbuffer_get_length(src);
    if (max > have)
        max = have;
    if (!s->tls) {
        if (max && evbuffer_remove_buffer(src, s->tx, max) != (int)max) {
            s->err = ENOMEM;
            return PX_IO_ERROR;
        }
        *n = max;
        s->bytes_tx += max;
        return PX_IO_OK;
    }
    while (*n < max) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(src, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            break;
        size_t len = v.iov_len;
        if (len > max - *n)
            len = max - *n;
        if (len > PX_TLS_PIECE)
            len = PX_TLS_PIECE;
        size_t w = 0;
        enum tls_io io = tls_sess_write(s->tls, v.iov_base, len, &w);
        evbuffer_drain(src, w);
        *n += w;
        s->bytes_tx += w;
        if (io == TLS_IO_OK)
            continue;
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            break;
        s->err = EPROTO;
        return PX_IO_ERROR;
    }
    return PX_IO_OK;
}

void px_stream_shutdown(struct px_stream *s)
{
    if (s->wr_done)
        return;
    s->wr_done = true;
    if (s->tls && tls_sess_shutdown(s->tls) != TLS_IO_OK)
        s->err = EPROTO;
}
