/*
 * gossip_net: UDP + TCP transport for the SWIM core and the Serf layer
 * (see gossip_net.h and docs/gossip.md "Transport").
 *
 * Streams: memberlist 0.2.2 writes one message per push/pull direction and
 * closes the connection after the exchange; serf compresses it (9) and,
 * with a keyring, encrypts it (10: 5-byte header, length-prefixed). We read
 * until one complete message is present (at most ML_PUSH_BYTES_MAX bytes,
 * GNET_STREAM_TIMEOUT_S seconds), unwrap it and hand the push/pull (6) to
 * the core. A TCP fallback ping is answered with an ack; a reliable user
 * message ([8][{UserMsgLen}][bytes]) goes to the Serf layer; anything else
 * closes the connection.
 */
#include "gossip/gossip_net.h"

#include "core/accept_guard.h"
#include "core/clock.h"
#include "core/log.h"
#include "gossip/ml_crypt.h"
#include "gossip/ml_mp.h"
#include "gossip/ml_msg.h"
#include "tls/tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GNET_STREAM_TIMEOUT_S 10
#define GNET_CONNS_MAX 128
#define GNET_INCOMING_BIT (UINT64_C(1) << 63)
#define GNET_LEAVE_MAX_MS 5000
#define GNET_LEAVE_GOSSIP_MS 1000
/* How long a graceful leave waits for Serf's leave intent to go out before
 * the memberlist leave (Serf: BroadcastTimeout, 5 s). */
#define GNET_LEAVE_INTENT_MS 3000
#define GNET_QUERIES_MAX SERF_QUERIES_MAX
/* The query weft answers itself (docs/gossip.md). */
#define GOSSIP_INFO_QUERY "weft-info"

struct gnet_query {
    bool used;
    bool pending; /* registered before serf_query() returned its id */
    uint64_t qid;
    gossip_query_cb cb;
    void *arg;
};

/* One TCP connection carrying a push/pull. */
struct gnet_conn {
    struct gnet_conn *next;
    struct gossip_net *g;
    struct bufferevent *bev;
    uint64_t id;   /* the core's id (outgoing) or ours | GNET_INCOMING_BIT */
    bool incoming; /* a peer's request: we answer on it */
    bool ping;     /* our TCP fallback ping: the answer goes to swim_on_tcp_ping */
    bool done;     /* message handed over; close when the output is flushed */
    struct swim_addr peer;
};

struct gossip_net {
    struct event_base *base;
    struct swim *swim;
    struct keyring kr;
    bool encrypt;
    evutil_socket_t udp;
    struct event *ev_udp;
    struct event *ev_timer;
    struct evconnlistener *listener;
    struct accept_guard *guard;
    struct gnet_conn *conns;
    size_t nconns;
    uint64_t next_conn;
    uint64_t bad;
    struct serf *serf;
    struct serf_clocks clocks; /* last reported through on_clocks */
    void (*on_clocks)(void *arg, const struct serf_clocks *c);
    void (*on_keys_changed)(void *arg, const struct keyring *kr);
    void (*on_members)(void *arg);
    uint64_t members_ver; /* last reported through on_members */
    struct gnet_query queries[GNET_QUERIES_MAX];
    struct serf_tag *tags; /* ours, SERF_TAGS_MAX */
    size_t ntags;
    struct gossip_event_rec *ring; /* GOSSIP_EVENTS_RING */
    size_t ring_head, ring_n;
    struct gossip_net_stats st;
    struct swim_actions act;
    uint32_t incarnation; /* last reported through on_incarnation */
    void (*on_incarnation)(void *arg, uint32_t incarnation);
    void *arg;
    /* leave */
    void (*leave_done)(void *arg);
    void *leave_arg;
    int64_t leave_start_ms;
    int64_t leave_swim_ms; /* when the memberlist leave started (after the intent) */
    int64_t leave_sent_ms;
    struct event *ev_leave;
};

static struct log_ratelim gnet_rl = LOG_RATELIM_INIT(10000, 10);

/* ---- addresses ---------------------------------------------------------- */

int gossip_addr_parse(const char *s, struct swim_addr *a, struct weft_err *e)
{
    char host[64];
    const char *colon;
    const char *h = s;
    size_t hl;
    memset(a, 0, sizeof(*a));
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return err_set(e, "'%s': want [IPv6]:port", s);
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return err_set(e, "'%s' has no port (expected IP:port)", s);
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof(host))
        return err_set(e, "'%s': bad host", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535)
        return err_set(e, "'%s': bad port", s);
    a->port = (uint16_t)port;
    if (inet_pton(AF_INET, host, a->ip) == 1) {
        a->ip_len = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, a->ip) == 1) {
        a->ip_len = 16;
        return 0;
    }
    return err_set(e, "'%s' is not an IP address", s);
}

const char *gossip_addr_str(const struct swim_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->ip_len == 4)
        inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
    else if (a->ip_len == 16)
        inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
    snprintf(buf, cap, a->ip_len == 16 ? "[%s]:%u" : "%s:%u", ip, a->port);
    return buf;
}

static socklen_t addr_to_sa(const struct swim_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->ip_len == 16) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        memcpy(&s6->sin6_addr, a->ip, 16);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a->port);
    memcpy(&s4->sin_addr, a->ip, 4);
    return sizeof(*s4);
}

static void sa_to_addr(const struct sockaddr *sa, struct swim_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        /* A v4-mapped peer is a v4 peer: memberlist compares 4-byte addresses. */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            memcpy(a->ip, &s6->sin6_addr.s6_addr[12], 4);
            a->ip_len = 4;
        } else {
            memcpy(a->ip, &s6->sin6_addr, 16);
            a->ip_len = 16;
        }
        a->port = ntohs(s6->sin6_port);
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(a->ip, &s4->sin_addr, 4);
        a->ip_len = 4;
        a->port = ntohs(s4->sin_port);
    }
}

/* ---- output ------------------------------------------------------------- */

static void gnet_apply(struct gossip_net *g);
static void conn_free(struct gnet_conn *c);

static void udp_send(struct gossip_net *g, const struct swim_addr *to, const uint8_t *buf,
                     size_t len)
{
    uint8_t sealed[SWIM_UDP_MAX + ML_CRYPT_OVERHEAD + 64];
    uint8_t packed[SWIM_UDP_MAX + 64];
    struct weft_err e = {{0}};
    struct sockaddr_storage ss;
    size_t plen;
    /* memberlist with EnableCompression (serf's default): every datagram
     * LZW-compressed (9), kept only if smaller (a lone ping or ack is not). */
    if (ml_compress_wrap(buf, len, packed, sizeof(packed), &plen, &e) == 0 && plen < len) {
        buf = packed;
        len = plen;
    }
    if (g->encrypt) {
        size_t n;
        if (ml_crypt_packet_seal(&g->kr, NULL, buf, len, sealed, sizeof(sealed), &n, &e) != 0) {
            log_ratelim(&gnet_rl, LOG_LEVEL_WARN, LOG_AGENT, "gossip: seal: %s", e.msg);
            return;
        }
        buf = sealed;
        len = n;
    }
    socklen_t sl = addr_to_sa(to, &ss);
    g->st.packets_out++;
    g->st.bytes_out += len;
    if (sendto(g->udp, buf, len, 0, (struct sockaddr *)&ss, sl) < 0) {
        char as[64];
        g->st.drop_send++;
        log_ratelim(&gnet_rl, LOG_LEVEL_DEBUG, LOG_AGENT, "gossip: sendto %s: %s",
                    gossip_addr_str(to, as, sizeof(as)), strerror(errno));
    }
}

/* Wrap a plaintext stream message as memberlist does: compress, then encrypt. */
static int stream_wrap(struct gossip_net *g, const uint8_t *msg, size_t len, struct evbuffer *out)
{
    struct weft_err e = {{0}};
    size_t cap = len * 2 + 64, n = 0;
    uint8_t *z = malloc(cap);
    if (!z)
        return -1;
    if (ml_compress_wrap(msg, len, z, cap, &n, &e) != 0) {
        /* Uncompressed is valid too. */
        memcpy(z, msg, len);
        n = len;
    }
    int rc = 0;
    if (g->encrypt) {
        size_t scap = n + ML_CRYPT_STREAM_HDR + ML_CRYPT_OVERHEAD + 64, sn = 0;
        uint8_t *s = malloc(scap);
        if (!s || ml_crypt_stream_seal(&g->kr, NULL, z, n, s, scap, &sn, &e) != 0 ||
            evbuffer_add(out, s, sn) != 0)
            rc = -1;
        free(s);
    } else if (evbuffer_add(out, z, n) != 0) {
        rc = -1;
    }
    free(z);
    return rc;
}

/* ---- streams ------------------------------------------------------------ */

static void conn_free(struct gnet_conn *c)
{
    struct gossip_net *g = c->g;
    for (struct gnet_conn **p = &g->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    g->nconns--;
    bufferevent_free(c->bev);
    free(c);
}

static void conn_bad(struct gnet_conn *c, const char *why)
{
    char as[64];
    if (c->ping) {
        /* A fallback ping to a peer that is likely down: expected, not bad. */
        log_ratelim(&gnet_rl, LOG_LEVEL_DEBUG, LOG_AGENT, "gossip: tcp ping to %s: %s",
                    gossip_addr_str(&c->peer, as, sizeof(as)), why);
        conn_free(c);
        return;
    }
    c->g->bad++;
    c->g->st.drop_stream++;
    log_ratelim(&gnet_rl, LOG_LEVEL_WARN, LOG_AGENT, "gossip: stream %s %s: %s",
                c->incoming ? "from" : "to", gossip_addr_str(&c->peer, as, sizeof(as)), why);
    conn_free(c);
}

/*
 * memberlist's reliable user message: [8][userMsgHeader{UserMsgLen}][bytes].
 * 1 with the header size and the message length, 0 need more, -1 bad.
 */
static int user_stream_len(const uint8_t *b, size_t n, size_t *hl, size_t *ul)
{
    struct weft_err e = {{0}};
    msgpack_unpacked u;
    uint64_t v = 0;
    if (ml_mp_scan(b, n, hl, "user stream", &e) != 0)
        return 0;
    int rc = -1;
    if (ml_mp_read(&u, b, n, hl, "user stream", &e) == 0 && u.data.type == MSGPACK_OBJECT_MAP &&
        ml_mp_get_uint(&u.data, "UserMsgLen", SERF_PAYLOAD_MAX * 2, &v, "user stream", &e) == 0) {
        *ul = (size_t)v;
        rc = 1;
    }
    ml_mp_done(&u);
    return rc;
}

/*
 * Is one complete stream message at b[0..n)? 1 yes (*mlen set), 0 not yet,
 * -1 never. A push/pull sent plain (6) is not length-framed: the caller
 * tries to decode it and waits for more on failure.
 */
static int stream_frame(const uint8_t *b, size_t n, size_t *mlen)
{
    struct weft_err e = {{0}};
    size_t used;
    if (n == 0)
        return 0;
    switch (b[0]) {
    case ML_ENCRYPT: {
        if (n < ML_CRYPT_STREAM_HDR)
            return 0;
        uint32_t l = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
        if (l > ML_PUSH_BYTES_MAX)
            return -1;
        if (n < ML_CRYPT_STREAM_HDR + (size_t)l)
            return 0;
        *mlen = ML_CRYPT_STREAM_HDR + l;
        return 1;
    }
    case ML_PING:
    case ML_ACK:
    case ML_COMPRESS:
        if (ml_mp_scan(b + 1, n - 1, &used, "stream", &e) != 0)
            return 0;
        *mlen = 1 + used;
        return 1;
    case ML_PUSH_PULL:
        *mlen = n;
        return 1;
    case ML_USER: {
        size_t hl, ul;
        int r = user_stream_len(b + 1, n - 1, &hl, &ul);
        if (r <= 0)
            return r;
        if (n < 1 + hl + ul)
            return 0;
        *mlen = 1 + hl + ul;
        return 1;
    }
    default:
        return -1;
    }
}

/*
 * memberlist's TCP fallback ping (a probe whose UDP ack did not come): a ping
 * on a stream, answered with an ack on the same stream, wrapped as the
 * request was (compressed, encrypted with a keyring).
 */
static int conn_tcp_ping(struct gnet_conn *c, const uint8_t *body, size_t len, struct weft_err *e)
{
    struct ml_ping p;
    struct ml_ack a;
    uint8_t buf[64];
    size_t n;
    if (ml_ping_decode(body, len, &p, e) != 0)
        return -1;
    if (p.node[0] && strcmp(p.node, swim_name(c->g->swim)) != 0)
        return err_set(e, "tcp ping for node '%s', not us", p.node);
    memset(&a, 0, sizeof(a));
    a.seq_no = p.seq_no;
    if (ml_ack_encode(&a, buf, sizeof(buf), &n, e) != 0)
        return -1;
    return stream_wrap(c->g, buf, n, bufferevent_get_output(c->bev));
}

/*
 * Unwrap and hand over one message. 1 handed to the core, 2 answered here
 * (TCP ping), 3 a user message, 4 the answer to our TCP ping, 0 wait for
 * more (plain 6), -1 bad.
 */
static int conn_deliver(struct gnet_conn *c, const uint8_t *b, size_t n)
{
    struct gossip_net *g = c->g;
    struct weft_err e = {{0}};
    uint8_t *plain = NULL, *inflated = NULL;
    const uint8_t *m = b;
    size_t mlen = n;
    int rc = -1;
    if (m[0] == ML_ENCRYPT) {
        size_t used;
        if (!g->encrypt)
            goto out;
        plain = malloc(n);
        if (!plain || ml_crypt_stream_open(&g->kr, m, n, plain, n, &mlen, &used, &e) != 0)
            goto out;
        m = plain;
    } else if (g->encrypt) {
        /* memberlist with a keyring refuses plaintext streams (GossipVerifyIncoming). */
        goto out;
    }
    if (mlen > 0 && m[0] == ML_COMPRESS) {
        size_t used, ilen;
        if (ml_compress_unwrap(m + 1, mlen - 1, ML_DECOMPRESS_MAX, &inflated, &ilen, &used, &e) !=
            0)
            goto out;
        m = inflated;
        mlen = ilen;
    }
    if (c->ping) {
        /* The answer to our TCP fallback ping: the core checks it. */
        swim_on_tcp_ping(g->swim, clock_mono_ms(), c->id, m, mlen, &g->act);
        rc = 4;
        goto out;
    }
    if (mlen > 0 && m[0] == ML_PING && c->incoming) {
        rc = conn_tcp_ping(c, m + 1, mlen - 1, &e) == 0 ? 2 : -1;
        goto out;
    }
    if (mlen > 0 && m[0] == ML_USER && c->incoming) {
        size_t hl, ul;
        if (user_stream_len(m + 1, mlen - 1, &hl, &ul) != 1 || mlen < 1 + hl + ul)
            goto out;
        uint8_t *um = malloc(ul + 1);
        if (!um)
            goto out;
        um[0] = ML_USER;
        memcpy(um + 1, m + 1 + hl, ul);
        swim_actions_reset(&g->act);
        serf_tick(g->serf, clock_mono_ms());
        rc = swim_on_stream(g->swim, clock_mono_ms(), &c->peer, false, c->id, um, ul + 1, &g->act,
                            &e) == 0
                 ? 3
                 : -1;
        free(um);
        goto out;
    }
    if (mlen == 0 || m[0] != ML_PUSH_PULL)
        goto out;
    swim_actions_reset(&g->act);
    serf_tick(g->serf, clock_mono_ms());
    if (swim_on_stream(g->swim, clock_mono_ms(), &c->peer, !c->incoming, c->id, m, mlen, &g->act,
                       &e) != 0) {
        /* A plain push/pull may simply be incomplete. */
        rc = b[0] == ML_PUSH_PULL ? 0 : -1;
        goto out;
    }
    rc = 1;
out:
    if (rc < 0)
        log_ratelim(&gnet_rl, LOG_LEVEL_WARN, LOG_AGENT, "gossip: bad stream message: %s",
                    err_is_set(&e) ? e.msg : "unexpected type or encryption");
    free(plain);
    free(inflated);
    return rc;
}

static void conn_write(struct bufferevent *bev, void *arg);

static void conn_read(struct bufferevent *bev, void *arg)
{
    struct gnet_conn *c = arg;
    struct gossip_net *g = c->g;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    if (c->done) {
        evbuffer_drain(in, n);
        return;
    }
    if (n > ML_PUSH_BYTES_MAX + 64) {
        conn_bad(c, "message too large");
        return;
    }
    const uint8_t *b = evbuffer_pullup(in, -1);
    size_t mlen = 0;
    int f = stream_frame(b, n, &mlen);
    if (f < 0) {
        conn_bad(c, "not a push/pull message");
        return;
    }
    if (f == 0)
        return;
    int d = conn_deliver(c, b, mlen);
    if (d < 0) {
        conn_bad(c, "bad push/pull");
        return;
    }
    if (d == 0)
        return;
    evbuffer_drain(in, n);
    c->done = true;
    if (d == 2) {
        conn_write(bev, c); /* closes once the ack is out */
        return;
    }
    if (d == 3 || d == 4) {
        gnet_apply(g); /* a user message or our ping's ack: nothing to answer */
        conn_free(c);
        return;
    }
    bool incoming = c->incoming;
    gnet_apply(g); /* may write our answer on c */
    if (!incoming)
        conn_free(c);
    /* Incoming: freed when the answer is flushed (conn_write). */
}

static void conn_write(struct bufferevent *bev, void *arg)
{
    struct gnet_conn *c = arg;
    if (c->done && c->incoming && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_free(c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct gnet_conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_EOF) {
        /* A plain push/pull ends with the peer's close at the latest. */
        if (!c->done)
            conn_bad(c, "closed before a complete message");
        else
            conn_free(c);
        return;
    }
    conn_bad(c, what & BEV_EVENT_TIMEOUT ? "timed out" : "connection error");
}

static struct gnet_conn *conn_new(struct gossip_net *g, evutil_socket_t fd, bool incoming)
{
    if (g->nconns >= GNET_CONNS_MAX) {
        g->bad++;
        g->st.drop_conns++;
        log_ratelim(&gnet_rl, LOG_LEVEL_WARN, LOG_AGENT, "gossip: %d streams open, refusing more",
                    GNET_CONNS_MAX);
        if (fd >= 0)
            evutil_closesocket(fd);
        return NULL;
    }
    struct gnet_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        if (fd >= 0)
            evutil_closesocket(fd);
        return NULL;
    }
    c->bev = bufferevent_socket_new(g->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        if (fd >= 0)
            evutil_closesocket(fd);
        free(c);
        return NULL;
    }
    c->g = g;
    c->incoming = incoming;
    struct timeval tv = {GNET_STREAM_TIMEOUT_S, 0};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = g->conns;
    g->conns = c;
    g->nconns++;
    return c;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int slen,
                      void *arg)
{
    struct gossip_net *g = arg;
    (void)l;
    (void)slen;
    struct gnet_conn *c = conn_new(g, fd, true);
    if (!c)
        return;
    sa_to_addr(sa, &c->peer);
    c->id = GNET_INCOMING_BIT | ++g->next_conn;
}

static void stream_open(struct gossip_net *g, const struct swim_stream *st)
{
    struct sockaddr_storage ss;
    struct gnet_conn *c = conn_new(g, -1, false);
    if (!c)
        return;
    c->peer = st->to;
    c->id = st->conn;
    socklen_t sl = addr_to_sa(&st->to, &ss);
    if (stream_wrap(g, st->buf, st->len, bufferevent_get_output(c->bev)) != 0 ||
        bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)sl) != 0)
        conn_bad(c, "cannot connect");
}

/*
 * memberlist's sendPingAndWaitForAck: the ping on a new connection (wrapped
 * as every stream), one message read back before the probe's deadline. A
 * failure or a timeout needs no report: the probe then ends as a UDP-only
 * one would.
 */
static void stream_ping(struct gossip_net *g, const struct swim_stream *st)
{
    struct sockaddr_storage ss;
    int64_t left = st->deadline_ms - clock_mono_ms();
    if (left <= 0)
        return;
    struct gnet_conn *c = conn_new(g, -1, false);
    if (!c)
        return;
    c->peer = st->to;
    c->id = st->conn;
    c->ping = true;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    socklen_t sl = addr_to_sa(&st->to, &ss);
    if (stream_wrap(g, st->buf, st->len, bufferevent_get_output(c->bev)) != 0 ||
        bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)sl) != 0)
        conn_bad(c, "cannot connect");
}

static void stream_answer(struct gossip_net *g, const struct swim_stream *st)
{
    for (struct gnet_conn *c = g->conns; c; c = c->next) {
        if (c->incoming && c->id == st->conn) {
            if (stream_wrap(g, st->buf, st->len, bufferevent_get_output(c->bev)) != 0)
                conn_bad(c, "out of memory");
            return;
        }
    }
}

/* ---- the core's actions and timer --------------------------------------- */

static void gnet_apply(struct gossip_net *g)
{
    struct swim_actions *a = &g->act;
    for (size_t i = 0; i < a->npkt; i++)
        udp_send(g, &a->pkt[i].to, a->pkt[i].buf, a->pkt[i].len);
    for (size_t i = 0; i < a->nstream; i++) {
        if (a->stream[i].ping)
            stream_ping(g, &a->stream[i]);
        else if (a->stream[i].reply)
            stream_answer(g, &a->stream[i]);
        else
            stream_open(g, &a->stream[i]);
    }
    int64_t wake = a->wake_ms;
    swim_actions_reset(a);
    size_t nout;
    const struct serf_send *so = serf_outbox(g->serf, &nout);
    for (size_t i = 0; i < nout; i++)
        udp_send(g, &so[i].to, so[i].buf, so[i].len);
    serf_outbox_clear(g->serf);
    if (serf_wake(g->serf) < wake)
        wake = serf_wake(g->serf);
    struct serf_clocks ck;
    serf_clocks(g->serf, &ck);
    if (memcmp(&ck, &g->clocks, sizeof(ck)) != 0) {
        g->clocks = ck;
        if (g->on_clocks)
            g->on_clocks(g->arg, &ck);
    }
    uint32_t inc = swim_incarnation(g->swim);
    if (inc != g->incarnation) {
        g->incarnation = inc;
        if (g->on_incarnation)
            g->on_incarnation(g->arg, inc);
    }
    uint64_t mv = swim_members_version(g->swim);
    if (mv != g->members_ver) {
        g->members_ver = mv;
        if (g->on_members)
            g->on_members(g->arg);
    }
    int64_t now = clock_mono_ms();
    int64_t ms = wake == INT64_MAX ? 1000 : wake - now;
    if (ms < 0)
        ms = 0;
    if (ms > 1000)
        ms = 1000;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(g->ev_timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct gossip_net *g = arg;
    (void)fd;
    (void)what;
    swim_actions_reset(&g->act);
    serf_tick(g->serf, clock_mono_ms());
    swim_on_timer(g->swim, clock_mono_ms(), &g->act);
    gnet_apply(g);
    /* Serf's reconnect loop: a push/pull to a failed member, now and then. */
    char who[ML_NAME_MAX + 1];
    int64_t now = clock_mono_ms();
    serf_tick(g->serf, now);
    if (serf_reconnect(g->serf, g->swim, now, &g->act, who, sizeof(who))) {
        log_info(LOG_AGENT, "gossip: attempting reconnect to failed member %s", who);
        gnet_apply(g);
    }
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
    struct gossip_net *g = arg;
    uint8_t buf[65536], plain[65536];
    (void)what;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
        if (n <= 0)
            return;
        g->st.packets_in++;
        g->st.bytes_in += (uint64_t)n;
        struct swim_addr from;
        struct weft_err e = {{0}};
        sa_to_addr((struct sockaddr *)&ss, &from);
        const uint8_t *p = buf;
        size_t len = (size_t)n;
        if (g->encrypt) {
            if (ml_crypt_packet_open(&g->kr, buf, len, plain, sizeof(plain), &len, &e) != 0) {
                char as[64];
                g->bad++;
                g->st.drop_decrypt++;
                log_ratelim(&gnet_rl, LOG_LEVEL_WARN, LOG_AGENT, "gossip: datagram from %s: %s",
                            gossip_addr_str(&from, as, sizeof(as)), e.msg);
                continue;
            }
            p = plain;
        }
        swim_actions_reset(&g->act);
        serf_tick(g->serf, clock_mono_ms());
        if (swim_on_packet(g->swim, clock_mono_ms(), &from, p, len, &g->act, &e) != 0) {
            char as[64];
            g->st.drop_decode++;
            log_ratelim(&gnet_rl, LOG_LEVEL_DEBUG, LOG_AGENT, "gossip: datagram from %s: %s",
                        gossip_addr_str(&from, as, sizeof(as)), e.msg);
        }
        gnet_apply(g);
    }
}

/* ---- the Serf layer's upcalls ------------------------------------------- */

static void ring_push(struct gossip_net *g, const struct serf_rec *r)
{
    size_t i = (g->ring_head + g->ring_n) % GOSSIP_EVENTS_RING;
    if (g->ring_n == GOSSIP_EVENTS_RING) {
        i = g->ring_head;
        g->ring_head = (g->ring_head + 1) % GOSSIP_EVENTS_RING;
    } else {
        g->ring_n++;
    }
    struct gossip_event_rec *e = &g->ring[i];
    free(e->payload);
    memset(e, 0, sizeof(*e));
    e->query = r->query;
    e->ltime = r->ltime;
    snprintf(e->name, sizeof(e->name), "%s", r->name);
    snprintf(e->from, sizeof(e->from), "%s", r->from ? r->from : "");
    e->coalesce = r->coalesce;
    e->wall_ms = clock_wall_ms();
    if (r->len && (e->payload = malloc(r->len))) {
        memcpy(e->payload, r->payload, r->len);
        e->len = r->len;
    }
}

static void hook_user(void *arg, const struct serf_rec *r)
{
    struct gossip_net *g = arg;
    ring_push(g, r);
    log_ratelim(&gnet_rl, LOG_LEVEL_DEBUG, LOG_AGENT, "gossip: %s '%s' (ltime %llu)",
                r->query ? "query" : "event", r->name, (unsigned long long)r->ltime);
}

/* The tag value of our own tags, or "". */
static const char *own_tag(const struct gossip_net *g, const char *key)
{
    const char *v = serf_tag_get(g->tags, g->ntags, key);
    return v ? v : "";
}

/*
 * weft-info: a small JSON object about this node, answered to any query of
 * that name (serf query weft-info). Other user queries get no response
 * (only the ack the query asks for).
 */
static int hook_answer(void *arg, const char *name, const uint8_t *payload, size_t len,
                       uint8_t *resp, size_t cap, size_t *rlen)
{
    struct gossip_net *g = arg;
    (void)payload;
    (void)len;
    if (strcmp(name, GOSSIP_INFO_QUERY) != 0)
        return 0;
    size_t alive = 0, n = swim_member_count(g->swim);
    for (size_t i = 0; i < n; i++)
        if (swim_member_status(swim_member_at(g->swim, i)) == SWIM_ALIVE)
            alive++;
    /* Node names and tag values are plain printable text in practice;
     * anything JSON-special is replaced, not escaped (the reply is small). */
    char node[ML_NAME_MAX + 1], ver[64], role[64];
    const char *src[3] = {swim_name(g->swim), own_tag(g, "version"), own_tag(g, "role")};
    char *dst[3] = {node, ver, role};
    size_t dcap[3] = {sizeof(node), sizeof(ver), sizeof(role)};
    for (int k = 0; k < 3; k++) {
        size_t j = 0;
        for (const char *p = src[k]; *p && j + 1 < dcap[k]; p++)
            dst[k][j++] = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '_' : *p;
        dst[k][j] = '\0';
    }
    int w = snprintf((char *)resp, cap,
                     "{\"node\":\"%s\",\"version\":\"%s\",\"role\":\"%s\",\"members\":%zu,"
                     "\"alive\":%zu}",
                     node, ver, role, n, alive);
    if (w < 0 || (size_t)w >= cap)
        return 0;
    *rlen = (size_t)w;
    return 1;
}

static struct gnet_query *query_find(struct gossip_net *g, uint64_t qid)
{
    for (size_t i = 0; i < GNET_QUERIES_MAX; i++)
        if (g->queries[i].used && !g->queries[i].pending && g->queries[i].qid == qid)
            return &g->queries[i];
    for (size_t i = 0; i < GNET_QUERIES_MAX; i++)
        if (g->queries[i].used && g->queries[i].pending) {
            /* Our own ack, delivered before serf_query() returned the id. */
            g->queries[i].pending = false;
            g->queries[i].qid = qid;
            return &g->queries[i];
        }
    return NULL;
}

static void hook_response(void *arg, uint64_t qid, const char *from, const uint8_t *payload,
                          size_t len, bool ack)
{
    struct gossip_net *g = arg;
    struct gnet_query *q = query_find(g, qid);
    if (!q || !q->cb)
        return;
    struct gossip_query_resp r = {from, payload, len, ack};
    q->cb(q->arg, &r);
}

static void hook_done(void *arg, uint64_t qid)
{
    struct gossip_net *g = arg;
    struct gnet_query *q = query_find(g, qid);
    if (!q)
        return;
    gossip_query_cb cb = q->cb;
    void *cbarg = q->arg;
    memset(q, 0, sizeof(*q));
    if (cb)
        cb(cbarg, NULL);
}

static void hook_keys(void *arg)
{
    struct gossip_net *g = arg;
    if (g->on_keys_changed)
        g->on_keys_changed(g->arg, &g->kr);
}

/* Run one Serf operation's output: the outbox, the timer, the clocks. */
static void gnet_serf_flush(struct gossip_net *g)
{
    /* An early timer call is harmless and gives the core's next wake-up. */
    swim_actions_reset(&g->act);
    swim_on_timer(g->swim, clock_mono_ms(), &g->act);
    gnet_apply(g);
}

int gossip_net_event(struct gossip_net *g, const char *name, const uint8_t *payload, size_t len,
                     bool coalesce, struct weft_err *e)
{
    serf_tick(g->serf, clock_mono_ms());
    int rc = serf_user_event(g->serf, name, payload, len, coalesce, e);
    gnet_serf_flush(g);
    return rc;
}

int gossip_net_query(struct gossip_net *g, const char *name, const uint8_t *payload, size_t len,
                     int64_t timeout_ms, bool want_ack, gossip_query_cb cb, void *arg,
                     struct weft_err *e)
{
    struct gnet_query *q = NULL;
    for (size_t i = 0; i < GNET_QUERIES_MAX && !q; i++)
        if (!g->queries[i].used)
            q = &g->queries[i];
    if (!q)
        return err_set(e, "%d queries in flight already", GNET_QUERIES_MAX);
    q->used = true;
    q->pending = true;
    q->cb = cb;
    q->arg = arg;
    uint64_t qid;
    int64_t deadline;
    serf_tick(g->serf, clock_mono_ms());
    if (serf_query(g->serf, name, payload, len, timeout_ms, want_ack, swim_member_count(g->swim),
                   NULL, 0, &qid, &deadline, e) != 0) {
        memset(q, 0, sizeof(*q));
        return -1;
    }
    if (q->pending) {
        q->pending = false;
        q->qid = qid;
    }
    gnet_serf_flush(g);
    return 0;
}

void gossip_net_query_forget(struct gossip_net *g, void *arg)
{
    for (size_t i = 0; i < GNET_QUERIES_MAX; i++) {
        struct gnet_query *q = &g->queries[i];
        if (q->used && q->arg == arg) {
            serf_query_cancel(g->serf, q->qid);
            memset(q, 0, sizeof(*q));
        }
    }
}

size_t gossip_net_events_count(const struct gossip_net *g)
{
    return g->ring_n;
}

const struct gossip_event_rec *gossip_net_events_at(const struct gossip_net *g, size_t i)
{
    if (i >= g->ring_n)
        return NULL;
    return &g->ring[(g->ring_head + i) % GOSSIP_EVENTS_RING];
}

int gossip_net_set_tags(struct gossip_net *g, const struct serf_tag *tags, size_t n,
                        struct weft_err *e)
{
    uint8_t meta[ML_META_MAX];
    size_t mlen;
    if (n > SERF_TAGS_MAX)
        return err_set(e, "gossip: %zu tags (max %d)", n, SERF_TAGS_MAX);
    if (serf_tags_encode(tags, n, meta, sizeof(meta), &mlen, e) != 0)
        return -1;
    if (swim_update_meta(g->swim, meta, mlen, e) != 0)
        return -1;
    memcpy(g->tags, tags, n * sizeof(*tags));
    g->ntags = n;
    serf_set_tags(g->serf, tags, n);
    gnet_serf_flush(g);
    return 0;
}

struct keyring *gossip_net_keyring(struct gossip_net *g)
{
    return &g->kr;
}

const struct serf *gossip_net_serf(const struct gossip_net *g)
{
    return g->serf;
}

void gossip_net_stats(const struct gossip_net *g, struct gossip_net_stats *st)
{
    *st = g->st;
}

/* ---- lifecycle ---------------------------------------------------------- */

static evutil_socket_t udp_open(const struct swim_addr *ba, struct weft_err *e)
{
    struct sockaddr_storage ss;
    socklen_t sl = addr_to_sa(ba, &ss);
    evutil_socket_t fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        err_set(e, "gossip: udp socket: %s", strerror(errno));
        return -1;
    }
    int big = 2 * 1024 * 1024;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (evutil_make_socket_nonblocking(fd) != 0 || evutil_make_socket_closeonexec(fd) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        char as[64];
        err_set(e, "gossip: udp bind %s: %s", gossip_addr_str(ba, as, sizeof(as)), strerror(errno));
        evutil_closesocket(fd);
        return -1;
    }
    return fd;
}

struct gossip_net *gossip_net_new(struct event_base *base, const struct gossip_net_config *c,
                                  struct weft_err *e)
{
    struct swim_config sc;
    struct sockaddr_storage ss;
    uint64_t seed;
    uint8_t meta[ML_META_MAX];
    size_t mlen;
    struct gossip_net *g = calloc(1, sizeof(*g));
    if (!g) {
        err_set(e, "gossip: out of memory");
        return NULL;
    }
    g->base = base;
    g->udp = -1;
    keyring_init(&g->kr);
    swim_actions_init(&g->act);
    if (c->kr && c->kr->n > 0) {
        g->kr = *c->kr;
        g->encrypt = true;
    }
    if (c->timing)
        sc = *c->timing;
    else
        swim_config_profile(&sc, c->profile);
    /* Serf's delegate protocol range as serf 0.9.4 advertises it (min 2, max
     * 5, current 5): memberlist refuses members whose ranges do not overlap. */
    sc.vsn[ML_VSN_LEN - 3] = 2;
    sc.vsn[ML_VSN_LEN - 2] = 5;
    sc.vsn[ML_VSN_LEN - 1] = 5;
    if (tls_random(&seed, sizeof(seed), e) != 0)
        goto fail;
    if (serf_tags_encode(c->tags, c->ntags, meta, sizeof(meta), &mlen, e) != 0)
        goto fail;
    g->on_incarnation = c->on_incarnation;
    g->on_clocks = c->on_clocks;
    g->on_keys_changed = c->on_keys_changed;
    g->on_members = c->on_members;
    g->arg = c->arg;
    g->ring = calloc(GOSSIP_EVENTS_RING, sizeof(*g->ring));
    g->tags = calloc(SERF_TAGS_MAX, sizeof(*g->tags));
    if (!g->ring || !g->tags || c->ntags > SERF_TAGS_MAX) {
        err_set(e, "gossip: out of memory or too many tags");
        goto fail;
    }
    memcpy(g->tags, c->tags, c->ntags * sizeof(*c->tags));
    g->ntags = c->ntags;
    g->swim = swim_new(&sc, c->name, &c->adv, c->incarnation, seed, clock_mono_ms(), e);
    if (!g->swim || swim_set_meta(g->swim, meta, mlen, e) != 0)
        goto fail;
    struct serf_config scf;
    struct serf_hooks hk = {g, hook_user, hook_answer, hook_response, hook_done, hook_keys};
    memset(&scf, 0, sizeof(scf));
    scf.name = c->name;
    scf.addr = c->adv;
    memcpy(scf.vsn, sc.vsn, ML_VSN_LEN);
    scf.gossip_interval_ms = sc.gossip_interval_ms;
    scf.retransmit_mult = sc.retransmit_mult;
    scf.bcast_max = sc.bcast_max;
    scf.members_max = sc.members_max;
    scf.clocks = c->clocks;
    scf.seed = seed ^ UINT64_C(0x5e4f);
    scf.reconnect_interval_ms = c->reconnect_interval_ms;
    scf.reconnect_timeout_ms = c->reconnect_timeout_ms;
    if (!(g->serf = serf_new(&scf, &hk, &g->kr, e)))
        goto fail;
    serf_tick(g->serf, clock_mono_ms());
    serf_set_tags(g->serf, c->tags, c->ntags);
    serf_clocks(g->serf, &g->clocks);
    struct swim_delegate dg;
    serf_delegate(g->serf, &dg);
    swim_set_delegate(g->swim, &dg);
    if ((g->udp = udp_open(&c->bind, e)) < 0)
        goto fail;
    socklen_t sl = addr_to_sa(&c->bind, &ss);
    g->listener = evconnlistener_new_bind(
        base, on_accept, g, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
        (struct sockaddr *)&ss, (int)sl);
    if (!g->listener) {
        char as[64];
        err_set(e, "gossip: tcp listen %s: %s", gossip_addr_str(&c->bind, as, sizeof(as)),
                strerror(errno));
        goto fail;
    }
    {
        char as[64], name[96];
        snprintf(name, sizeof(name), "gossip: tcp listen %s",
                 gossip_addr_str(&c->bind, as, sizeof(as)));
        if (!(g->guard = accept_guard_new(g->listener, LOG_AGENT, name))) {
            err_set(e, "gossip: out of memory");
            goto fail;
        }
    }
    g->ev_udp = event_new(base, g->udp, EV_READ | EV_PERSIST, on_udp, g);
    g->ev_timer = evtimer_new(base, on_timer, g);
    if (!g->ev_udp || !g->ev_timer || event_add(g->ev_udp, NULL) != 0) {
        err_set(e, "gossip: out of memory");
        goto fail;
    }
    on_timer(-1, 0, g);
    return g;
fail:
    gossip_net_free(g);
    return NULL;
}

void gossip_net_free(struct gossip_net *g)
{
    if (!g)
        return;
    /* Queries still running end now: their callbacks get their NULL. */
    for (size_t i = 0; i < GNET_QUERIES_MAX; i++) {
        struct gnet_query *q = &g->queries[i];
        if (!q->used)
            continue;
        gossip_query_cb cb = q->cb;
        void *arg = q->arg;
        memset(q, 0, sizeof(*q));
        if (cb)
            cb(arg, NULL);
    }
    while (g->conns)
        conn_free(g->conns);
    accept_guard_free(g->guard);
    if (g->listener)
        evconnlistener_free(g->listener);
    if (g->ev_udp)
        event_free(g->ev_udp);
    if (g->ev_timer)
        event_free(g->ev_timer);
    if (g->ev_leave)
        event_free(g->ev_leave);
    if (g->udp >= 0)
        evutil_closesocket(g->udp);
    swim_free(g->swim);
    serf_free(g->serf);
    if (g->ring)
        for (size_t i = 0; i < GOSSIP_EVENTS_RING; i++)
            free(g->ring[i].payload);
    free(g->ring);
    free(g->tags);
    swim_actions_deinit(&g->act);
    keyring_deinit(&g->kr);
    free(g);
}

void gossip_net_join(struct gossip_net *g, const struct swim_addr *addrs, size_t n)
{
    swim_actions_reset(&g->act);
    serf_tick(g->serf, clock_mono_ms());
    serf_join_start(g->serf);
    swim_join(g->swim, clock_mono_ms(), addrs, n, &g->act);
    /* Serf's join intent, gossiped once the push/pull replies bring members. */
    serf_join_intent(g->serf);
    gnet_apply(g);
}

/* The memberlist part of a leave, once Serf's intent is out (or timed out). */
static void leave_swim(struct gossip_net *g, int64_t now)
{
    g->leave_swim_ms = now;
    swim_actions_reset(&g->act);
    serf_tick(g->serf, now);
    swim_leave(g->swim, now, &g->act);
    gnet_apply(g);
}

static void on_leave_tick(evutil_socket_t fd, short what, void *arg)
{
    struct gossip_net *g = arg;
    (void)fd;
    (void)what;
    int64_t now = clock_mono_ms();
    if (!g->leave_swim_ms) {
        if (serf_leave_sent(g->serf) || now - g->leave_start_ms >= GNET_LEAVE_INTENT_MS)
            leave_swim(g, now);
    } else {
        if (!g->leave_sent_ms && swim_leave_is_sent(g->swim))
            g->leave_sent_ms = now;
        bool done = (g->leave_sent_ms && now - g->leave_sent_ms >= GNET_LEAVE_GOSSIP_MS) ||
                    now - g->leave_swim_ms >= GNET_LEAVE_MAX_MS;
        if (done) {
            void (*cb)(void *) = g->leave_done;
            g->leave_done = NULL;
            if (cb)
                cb(g->leave_arg);
            return;
        }
    }
    struct timeval tv = {0, 50 * 1000};
    evtimer_add(g->ev_leave, &tv);
}

void gossip_net_leave(struct gossip_net *g, void (*done)(void *arg), void *arg)
{
    if (g->leave_start_ms)
        return;
    g->leave_start_ms = clock_mono_ms();
    g->leave_done = done;
    g->leave_arg = arg;
    /* Serf's Leave: the leave intent first (gossiped), then memberlist's. */
    serf_tick(g->serf, g->leave_start_ms);
    serf_leave_intent(g->serf);
    gnet_serf_flush(g);
    g->ev_leave = evtimer_new(g->base, on_leave_tick, g);
    if (g->ev_leave) {
        on_leave_tick(-1, 0, g);
    } else {
        leave_swim(g, g->leave_start_ms);
        if (done)
            done(arg);
    }
}

const struct swim *gossip_net_swim(const struct gossip_net *g)
{
    return g->swim;
}

uint64_t gossip_net_bad(const struct gossip_net *g)
{
    return g->bad;
}
