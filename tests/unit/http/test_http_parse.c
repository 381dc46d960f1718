/*
 * test_http_parse: the strict HTTP/1.1 parser (src/http/http_parse.c).
 *
 * Every case is parsed three ways: whole, split in two at every byte
 * boundary, and one byte at a time. The three must agree on everything
 * (messages, statuses, targets, header counts, body bytes, the refusal),
 * so no refusal depends on how the bytes arrived. Then each case checks
 * what it is about: the messages it holds, or the reason it is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_parse.h"

#define MAX_MSGS 8

struct outcome {
    int nmsg;
    int status[MAX_MSGS];
    unsigned nheaders[MAX_MSGS];
    char target[MAX_MSGS][64];
    bool keep_alive[MAX_MSGS];
    bool upgrade[MAX_MSGS];
    char body[512];
    size_t body_len;
    bool failed;
    enum http_refusal reason;
    char errmsg[160];
};

static int body_cb(void *arg, const char *at, size_t len)
{
    struct outcome *o = arg;
    assert_true(o->body_len + len <= sizeof o->body);
    memcpy(o->body + o->body_len, at, len);
    o->body_len += len;
    return 0;
}

static void record(struct outcome *o, const struct http_parse *p)
{
    const struct http_msg *m = &p->msg;
    assert_true(o->nmsg < MAX_MSGS);
    o->status[o->nmsg] = m->status;
    o->nheaders[o->nmsg] = m->nheaders;
    snprintf(o->target[o->nmsg], sizeof o->target[0], "%.*s", (int)m->target_len,
             m->buf + m->target_off);
    o->keep_alive[o->nmsg] = m->keep_alive;
    o->upgrade[o->nmsg] = m->upgrade;
    o->nmsg++;
}

/* Parse in[0..len) cut at cuts[0..ncuts); eof: the peer closes at the end. */
static void run(enum http_parse_kind kind, const struct http_parse_opts *opts0, const char *in,
                size_t len, const size_t *cuts, size_t ncuts, bool eof, struct outcome *o)
{
    struct http_parse *p = malloc(sizeof *p);
    struct http_parse_opts opts = {0};
    size_t start = 0;
    enum http_parse_status st = HTTP_PARSE_MORE;

    assert_non_null(p);
    memset(o, 0, sizeof *o);
    if (opts0)
        opts = *opts0;
    opts.on_body = body_cb;
    opts.arg = o;
    http_parse_init(p, kind, &opts);
    for (size_t piece = 0; piece <= ncuts; piece++) {
        size_t end = piece < ncuts ? cuts[piece] : len;
        size_t off = start;
        for (int guard = 0;; guard++) {
            size_t used = 0;
            assert_true(guard < 10000);
            st = http_parse_feed(p, in + off, end - off, &used);
            assert_true(used <= end - off);
            off += used;
            if (st == HTTP_PARSE_DONE) {
                record(o, p);
                if (p->msg.upgrade)
                    continue; /* the next feed must refuse, if any bytes */
                http_parse_next(p);
                continue;
            }
            if (st == HTTP_PARSE_HEAD)
                continue;
            if (st == HTTP_PARSE_ERROR)
                goto out;
            assert_int_equal(off, end); /* MORE: every byte used */
            break;
        }
        start = end;
    }
    if (eof) {
        st = http_parse_finish(p);
        if (st == HTTP_PARSE_DONE)
            record(o, p);
    }
out:
    if (st == HTTP_PARSE_ERROR) {
        o->failed = true;
        o->reason = p->reason;
        snprintf(o->errmsg, sizeof o->errmsg, "%s", p->errmsg);
        assert_true(p->errmsg[0] != '\0');
    }
    free(p);
}

static void assert_same(const struct outcome *a, const struct outcome *b, size_t cut)
{
    if (a->failed != b->failed || a->reason != b->reason || a->nmsg != b->nmsg ||
        a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0 ||
        memcmp(a->status, b->status, sizeof a->status) != 0 ||
        memcmp(a->nheaders, b->nheaders, sizeof a->nheaders) != 0 ||
        memcmp(a->target, b->target, sizeof a->target) != 0) {
        fail_msg("split at %zu differs: whole %s/%s/%d msgs, split %s/%s/%d msgs (%s)", cut,
                 a->failed ? "refused" : "ok", http_refusal_name(a->reason), a->nmsg,
                 b->failed ? "refused" : "ok", http_refusal_name(b->reason), b->nmsg, b->errmsg);
    }
}

/* Parse s whole, at every single cut, and one byte at a time; all agree. */
static void parse_every_way(enum http_parse_kind kind, const struct http_parse_opts *opts,
                            const char *s, size_t len, bool eof, struct outcome *whole)
{
    struct outcome o;
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    assert_non_null(cuts);
    run(kind, opts, s, len, NULL, 0, eof, whole);
    for (size_t c = 1; c < len; c++) {
        run(kind, opts, s, len, &c, 1, eof, &o);
        assert_same(whole, &o, c);
    }
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    run(kind, opts, s, len, cuts, len ? len - 1 : 0, eof, &o);
    assert_same(whole, &o, 1);
    free(cuts);
}

#define REQ HTTP_PARSE_REQUEST
#define RESP HTTP_PARSE_RESPONSE

static void ok(enum http_parse_kind kind, const char *s, bool eof, struct outcome *o)
{
    parse_every_way(kind, NULL, s, strlen(s), eof, o);
    if (o->failed)
        fail_msg("refused (%s: %s): %s", http_refusal_name(o->reason), o->errmsg, s);
}

/* s must be refused with reason r, however it is split. */
static void refused_opts(enum http_parse_kind kind, const struct http_parse_opts *opts,
                         const char *s, size_t len, bool eof, enum http_refusal r)
{
    struct outcome o;
    parse_every_way(kind, opts, s, len, eof, &o);
    if (!o.failed)
        fail_msg("accepted, wanted %s: %s", http_refusal_name(r), s);
    if (o.reason != r)
        fail_msg("refused as %s (%s), wanted %s: %s", http_refusal_name(o.reason), o.errmsg,
                 http_refusal_name(r), s);
}

#define REFUSED(kind, lit, r) refused_opts(kind, NULL, lit, sizeof(lit) - 1, false, r)

/* ---- accepted ---- */

static void test_simple_get(void **state)
{
    struct outcome o;
    (void)state;
    ok(REQ, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", false, &o);
    assert_string_equal(o.target[0], "*");
    ok(REQ, "GET /health?x=1 HTTP/1.1\r\nHost: a\r\nX:\tv \t\r\n\r\n", false, &o);
    assert_int_equal(o.nmsg, 1);
    assert_string_equal(o.target[0], "/health?x=1");
    assert_int_equal(o.nheaders[0], 2);
    assert_true(o.keep_alive[0]);
    assert_int_equal(o.body_len, 0);
}

static void test_header_lookup(void **state)
{
    struct http_parse p;
    size_t used = 0, n = 0;
    const char *v;
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Type:   text/plain  \r\nX-Empty:\r\n"
                             "X-High: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n";
    (void)state;
    http_parse_init(&p, RESP, NULL);
    assert_int_equal(http_parse_feed(&p, in, sizeof in - 1, &used), HTTP_PARSE_HEAD);
    assert_int_equal(used, sizeof in - 1);
    v = http_msg_header(&p.msg, "content-type", &n);
    assert_non_null(v);
    assert_int_equal(n, 10);
    assert_memory_equal(v, "text/plain", 10);
    v = http_msg_header(&p.msg, "X-EMPTY", &n);
    assert_non_null(v);
    assert_int_equal(n, 0);
    v = http_msg_header(&p.msg, "x-high", &n);
    assert_non_null(v); /* obs-text is allowed in values */
    assert_int_equal(n, 5);
    assert_null(http_msg_header(&p.msg, "host", &n));
    assert_int_equal(p.msg.status, 200);
    assert_true(p.msg.has_content_length);
    /* No body: the message completes on a feed of zero bytes. */
    assert_int_equal(http_parse_feed(&p, in + used, 0, &used), HTTP_PARSE_DONE);
    assert_int_equal(used, 0);
    http_parse_next(&p);
    assert_int_equal(http_parse_finish(&p), HTTP_PARSE_MORE);
}

static void test_bodies(void **state)
{
    struct outcome o;
    (void)state;
    ok(REQ, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", false, &o);
    assert_int_equal(o.nmsg, 1);
    assert_int_equal(o.body_len, 5);
    assert_memory_equal(o.body, "hello", 5);

    ok(REQ,
       "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
       false, &o);
    assert_int_equal(o.nmsg, 1);
    assert_int_equal(o.body_len, 11);
    assert_memory_equal(o.body, "hello world", 11);

    /* A response body delimited by the close. */
    ok(RESP, "HTTP/1.1 200 OK\r\n\r\nuntil the end", true, &o);
    assert_int_equal(o.nmsg, 1);
    assert_int_equal(o.body_len, 13);
    assert_false(o.keep_alive[0]);
}

static void test_responses(void **state)
{
    struct outcome o;
    struct http_parse_opts head = {.no_body = true};
    (void)state;
    /* 100 Continue, then the real answer; 204 and 304 have no body. */
    ok(RESP,
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 "
       "No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
       false, &o);
    assert_int_equal(o.nmsg, 4);
    assert_int_equal(o.status[0], 100);
    assert_int_equal(o.status[1], 200);
    assert_int_equal(o.status[2], 204);
    assert_int_equal(o.status[3], 304);
    assert_int_equal(o.body_len, 2);
    /* No reason phrase (tolerated), and one with spaces and obs-text. */
    ok(RESP, "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", false, &o);
    assert_int_equal(o.status[0], 503);
    ok(RESP, "HTTP/1.0 404 Not \xa0 Found\r\nContent-Length: 0\r\n\r\n", false, &o);
    assert_int_equal(o.status[0], 404);
    assert_false(o.keep_alive[0]);
    /* The answer to a HEAD request: Content-Length but no body. */
    parse_every_way(RESP, &head, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                    strlen("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), false, &o);
    assert_false(o.failed);
    assert_int_equal(o.nmsg, 1);
    assert_int_equal(o.body_len, 0);
}

static void test_pipelined(void **state)
{
    struct outcome o;
    (void)state;
    ok(REQ,
       "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
       "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
       "\r\n" /* an empty line between messages is skipped (RFC 9112 2.2) */
       "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
       false, &o);
    assert_int_equal(o.nmsg, 3);
    assert_string_equal(o.target[0], "/1");
    assert_string_equal(o.target[1], "/2");
    assert_string_equal(o.target[2], "/3");
    assert_true(o.keep_alive[1]);
    assert_false(o.keep_alive[2]);
    assert_int_equal(o.body_len, 3);
    /* Nothing may follow a message that ended the connection. */
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n",
            HTTP_REFUSE_AFTER_CLOSE);
    REFUSED(RESP, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxHTTP/1.1",
            HTTP_REFUSE_AFTER_CLOSE);
}

static void test_upgrade(void **state)
{
    struct outcome o;
    (void)state;
    ok(REQ, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", false, &o);
    assert_int_equal(o.nmsg, 1);
    assert_true(o.upgrade[0]);
    REFUSED(REQ, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03", HTTP_REFUSE_UPGRADE);
}

/* ---- refused ---- */

static void test_obs_fold(void **state)
{
    (void)state;
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", HTTP_REFUSE_OBS_FOLD);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", HTTP_REFUSE_OBS_FOLD);
    REFUSED(RESP, "HTTP/1.1 200 OK\r\nX: a\r\n  b\r\nContent-Length: 0\r\n\r\n",
            HTTP_REFUSE_OBS_FOLD);
    /* Folding right after the start line. */
    REFUSED(REQ, "GET / HTTP/1.1\r\n Host: a\r\n\r\n", HTTP_REFUSE_OBS_FOLD);
}

static void test_header_value_bytes(void **state)
{
    (void)state;
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", HTTP_REFUSE_HEADER_VALUE);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", HTTP_REFUSE_HEADER_VALUE);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", HTTP_REFUSE_HEADER_VALUE);
    /* CR or LF inside a value: a line ending that is not CRLF. */
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", HTTP_REFUSE_LINE_ENDING);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb: c\r\n\r\n", HTTP_REFUSE_LINE_ENDING);
    REFUSED(REQ, "GET / HTTP/1.1\nHost: a\n\n", HTTP_REFUSE_LINE_ENDING);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", HTTP_REFUSE_LINE_ENDING);
}

static void test_header_names(void **state)
{
    (void)state;
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", HTTP_REFUSE_HEADER_NAME);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_REFUSE_HEADER_NAME);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", HTTP_REFUSE_HEADER_NAME);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX\xff: a\r\n\r\n", HTTP_REFUSE_HEADER_NAME);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nX(y): a\r\n\r\n", HTTP_REFUSE_HEADER_NAME);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", HTTP_REFUSE_HEADER_NAME);
}

static void test_content_length(void **state)
{
    (void)state;
    REFUSED(REQ, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            HTTP_REFUSE_CONTENT_LENGTH);
    REFUSED(REQ, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
            HTTP_REFUSE_CONTENT_LENGTH);
    REFUSED(REQ, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx",
            HTTP_REFUSE_CONTENT_LENGTH);
    REFUSED(REQ, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\nx",
            HTTP_REFUSE_CONTENT_LENGTH);
    REFUSED(REQ, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 1\r\n\r\nx",
            HTTP_REFUSE_CONTENT_LENGTH);
    REFUSED(RESP, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            HTTP_REFUSE_CONTENT_LENGTH);
    REFUSED(REQ,
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: "
            "chunked\r\n\r\n0\r\n\r\n",
            HTTP_REFUSE_CL_AND_TE);
    REFUSED(RESP,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
            HTTP_REFUSE_CL_AND_TE);
}

static void test_transfer_encoding(void **state)
{
    (void)state;
    REFUSED(REQ, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
            HTTP_REFUSE_TRANSFER_ENCODING);
    REFUSED(REQ, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
            HTTP_REFUSE_TRANSFER_ENCODING);
    REFUSED(RESP, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc",
            HTTP_REFUSE_TRANSFER_ENCODING);
    REFUSED(RESP, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            HTTP_REFUSE_TRANSFER_ENCODING);
    REFUSED(RESP,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            "0\r\n\r\n",
            HTTP_REFUSE_TRANSFER_ENCODING);
    REFUSED(REQ, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            HTTP_REFUSE_TRANSFER_ENCODING);
    REFUSED(RESP, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            HTTP_REFUSE_TRANSFER_ENCODING);
}

static void test_host(void **state)
{
    struct outcome o;
    (void)state;
    REFUSED(REQ, "GET / HTTP/1.1\r\n\r\n", HTTP_REFUSE_HOST);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", HTTP_REFUSE_HOST);
    REFUSED(REQ, "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", HTTP_REFUSE_HOST);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HTTP_REFUSE_HOST);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", HTTP_REFUSE_HOST);
    REFUSED(REQ, "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", HTTP_REFUSE_HOST);
    ok(REQ, "GET / HTTP/1.0\r\n\r\n", false, &o); /* 1.0 needs none */
    assert_int_equal(o.nmsg, 1);
    ok(REQ, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\nGET / HTTP/1.1\r\nHost:\r\n\r\n", false, &o);
    assert_int_equal(o.nmsg, 2);
}

static void test_start_line(void **state)
{
    (void)state;
    REFUSED(REQ, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_START_LINE);
    REFUSED(REQ, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HTTP_REFUSE_START_LINE);
    REFUSED(REQ, "GET /\r\nHost: a\r\n\r\n", HTTP_REFUSE_START_LINE);
    REFUSED(REQ, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_METHOD);
    REFUSED(REQ, "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_METHOD);
    REFUSED(REQ, "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_METHOD);
    REFUSED(REQ, "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_TARGET);
    REFUSED(REQ, "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_TARGET);
    REFUSED(REQ, "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_TARGET);
    REFUSED(REQ, "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_TARGET);
    REFUSED(REQ, "GET * HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_TARGET);
    REFUSED(REQ, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_REFUSE_VERSION);
    REFUSED(REQ, "GET / HTTP/1.2\r\nHost: a\r\n\r\n", HTTP_REFUSE_VERSION);
    REFUSED(REQ, "GET / http/1.1\r\nHost: a\r\n\r\n", HTTP_REFUSE_VERSION);
    REFUSED(RESP, "HTTP/2.0 200 OK\r\n\r\n", HTTP_REFUSE_VERSION);
    REFUSED(RESP, "HTTP/1.1  200 OK\r\n\r\n", HTTP_REFUSE_START_LINE);
    REFUSED(RESP, "HTTP/1.1 20 OK\r\n\r\n", HTTP_REFUSE_STATUS);
    REFUSED(RESP, "HTTP/1.1 2000 OK\r\n\r\n", HTTP_REFUSE_STATUS);
    REFUSED(RESP, "HTTP/1.1 099 OK\r\n\r\n", HTTP_REFUSE_STATUS);
    REFUSED(RESP, "HTTP/1.1 2x0 OK\r\n\r\n", HTTP_REFUSE_STATUS);
    REFUSED(RESP, "HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_REFUSE_START_LINE);
    REFUSED(RESP, "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", HTTP_REFUSE_LINE_ENDING);
    REFUSED(RESP, "garbage\r\n\r\n", HTTP_REFUSE_VERSION);
}

static void test_chunks(void **state)
{
    static const char h[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    char buf[256];
    (void)state;
#define CHUNKED(body, r)                                                                           \
    do {                                                                                           \
        snprintf(buf, sizeof buf, "%s%s", h, body);                                                \
        refused_opts(RESP, NULL, buf, strlen(buf), false, r);                                      \
    } while (0)
    CHUNKED("1 \r\nx\r\n0\r\n\r\n", HTTP_REFUSE_CHUNK);
    CHUNKED("zz\r\n", HTTP_REFUSE_CHUNK);
    CHUNKED("ffffffffffffffffff\r\n", HTTP_REFUSE_CHUNK);
    CHUNKED("1\r\nxy\r\n", HTTP_REFUSE_CHUNK);
    CHUNKED("1;a=\"b\r\nx\r\n0\r\n\r\n", HTTP_REFUSE_CHUNK);
    CHUNKED("1\nx\r\n0\r\n\r\n", HTTP_REFUSE_CHUNK);
    CHUNKED("1\r\nx\r\n0\r\nTrailer: x\r\n\r\n", HTTP_REFUSE_TRAILER);
#undef CHUNKED
}

static void test_limits(void **state)
{
    struct http_parse_opts small = {.max_head = 64, .max_headers = 3};
    char big[256];
    struct outcome o;
    (void)state;
    /* The cap counts the head: 64 bytes pass, 65 do not. */
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %.*s\r\n\r\n", 64 - 32,
             "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
    assert_int_equal(strlen(big), 64);
    parse_every_way(REQ, &small, big, strlen(big), false, &o);
    assert_false(o.failed);
    assert_int_equal(o.nmsg, 1);
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %.*s\r\n\r\n", 65 - 32,
             "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
    refused_opts(REQ, &small, big, strlen(big), false, HTTP_REFUSE_HEAD_TOO_LARGE);
    /* Empty lines before a message count too (no endless CRLF stream). */
    memset(big, 0, sizeof big);
    for (int i = 0; i < 40; i++)
        memcpy(big + 2 * i, "\r\n", 2);
    refused_opts(REQ, &small, big, strlen(big), false, HTTP_REFUSE_HEAD_TOO_LARGE);
    /* Three fields pass, four do not. */
    static const char three[] = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n";
    static const char four[] = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n\r\n";
    parse_every_way(REQ, &small, three, sizeof three - 1, false, &o);
    assert_false(o.failed);
    assert_int_equal(o.nheaders[0], 3);
    refused_opts(REQ, &small, four, sizeof four - 1, false, HTTP_REFUSE_TOO_MANY_HEADERS);
    /* The default: 8 KiB of head. */
    {
        size_t n = HTTP_PARSE_HEAD_CAP + 64;
        char *s = malloc(n + 1);
        struct http_parse *p = malloc(sizeof *p);
        size_t used;
        assert_non_null(s);
        assert_non_null(p);
        memcpy(s, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
        memset(s + 28, 'v', n - 28);
        s[n] = '\0';
        http_parse_init(p, REQ, NULL);
        assert_int_equal(http_parse_feed(p, s, n, &used), HTTP_PARSE_ERROR);
        assert_int_equal(p->reason, HTTP_REFUSE_HEAD_TOO_LARGE);
        assert_int_equal(used, HTTP_PARSE_HEAD_CAP); /* llhttp got the bytes before, not more */
        free(p);
        free(s);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    refused_opts(REQ, NULL, "GET / HTTP/1.1\r\nHost: a\r\n", 25, true, HTTP_REFUSE_TRUNCATED);
    refused_opts(RESP, NULL, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 40, true,
                 HTTP_REFUSE_TRUNCATED);
    refused_opts(RESP, NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 52,
                 true, HTTP_REFUSE_TRUNCATED);
}

static void test_refusal_names(void **state)
{
    (void)state;
    for (int r = 0; r < HTTP_REFUSE_MAX; r++) {
        const char *n = http_refusal_name((enum http_refusal)r);
        assert_non_null(n);
        assert_string_not_equal(n, "?");
        for (int q = 0; q < r; q++)
            assert_string_not_equal(n, http_refusal_name((enum http_refusal)q));
    }
    assert_string_equal(http_refusal_name(HTTP_REFUSE_MAX), "?");
    assert_string_equal(http_refusal_name(HTTP_REFUSE_OBS_FOLD), "obs_fold");
    assert_string_equal(http_llhttp_version(), "8.1.0");
}

/* After a refusal nothing more is taken, and the reason stays. */
static void test_refusal_is_final(void **state)
{
    struct http_parse p;
    size_t used;
    static const char bad[] = "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n";
    (void)state;
    http_parse_init(&p, REQ, NULL);
    assert_int_equal(http_parse_feed(&p, bad, sizeof bad - 1, &used), HTTP_PARSE_ERROR);
    assert_int_equal(p.reason, HTTP_REFUSE_OBS_FOLD);
    assert_int_equal(used, 22); /* the bytes before the folded line's SP */
    assert_int_equal(http_parse_feed(&p, "GET / HTTP/1.1\r\n", 16, &used), HTTP_PARSE_ERROR);
    assert_int_equal(used, 0);
    assert_int_equal(p.reason, HTTP_REFUSE_OBS_FOLD);
    assert_int_equal(http_parse_finish(&p), HTTP_PARSE_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_header_lookup),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_obs_fold),
        cmocka_unit_test(test_header_value_bytes),
        cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_transfer_encoding),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_start_line),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_refusal_names),
        cmocka_unit_test(test_refusal_is_final),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
