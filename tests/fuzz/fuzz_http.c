/*
 * fuzz_http: the strict HTTP/1.1 parser, http_parse_feed() (src/http/).
 *
 * The first input byte picks requests or responses (bit 0), a HEAD
 * request's answer (bit 1) and a small head cap (bit 2); the second picks
 * where to cut the rest in two. The rest is parsed three times: whole, cut
 * in two there, and one byte at a time. Promised:
 *
 *   - the three agree: the same messages (count, status, header count,
 *     target), the same body bytes, the same refusal;
 *   - every byte is used or the parse stops (MORE uses everything);
 *   - a refusal has a reason other than "none" and a message;
 *   - every complete message: version 1.0 or 1.1, a status of three digits,
 *     every span inside the head buffer, header names non-empty tokens,
 *     values without CR, LF, NUL or DEL and without surrounding blanks, at
 *     most max_headers fields and max_head bytes, the target without
 *     control bytes; with a Content-Length (and not HEAD, 1xx, 204, 304)
 *     exactly that many body bytes.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "http/http_parse.h"

#define MAX_MSGS 16

struct result {
    int nmsg;
    unsigned status[MAX_MSGS];
    unsigned nheaders[MAX_MSGS];
    uint64_t body_bytes[MAX_MSGS];
    uint32_t target_hash[MAX_MSGS];
    bool failed;
    enum http_refusal reason;
    uint64_t body_total;
};

static int count_body(void *arg, const char *at, size_t len)
{
    struct result *r = arg;
    (void)at;
    r->body_total += len;
    return 0;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void check_msg(const struct http_parse *p, const struct http_parse_opts *o)
{
    const struct http_msg *m = &p->msg;
    FUZZ_CHECK(m->version_minor <= 1, "HTTP/1.%u", m->version_minor);
    FUZZ_CHECK(m->buf_len <= o->max_head && m->buf_len <= sizeof m->buf, "buf_len %u", m->buf_len);
    FUZZ_CHECK(m->nheaders <= o->max_headers, "%u headers", m->nheaders);
    if (m->is_request) {
        FUZZ_CHECK((size_t)m->target_off + m->target_len <= m->buf_len, "target span");
        FUZZ_CHECK(m->target_len > 0, "empty target");
        for (unsigned i = 0; i < m->target_len; i++) {
            unsigned char c = (unsigned char)m->buf[m->target_off + i];
            FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '#', "target byte 0x%02x", c);
        }
    } else {
        FUZZ_CHECK(m->status >= 100 && m->status <= 999, "status %u", m->status);
    }
    for (unsigned i = 0; i < m->nheaders; i++) {
        const struct http_header *h = &m->headers[i];
        FUZZ_CHECK((size_t)h->name_off + h->name_len <= m->buf_len, "name span %u", i);
        FUZZ_CHECK((size_t)h->value_off + h->value_len <= m->buf_len, "value span %u", i);
        FUZZ_CHECK(h->name_len > 0, "empty name %u", i);
        for (unsigned k = 0; k < h->name_len; k++)
            FUZZ_CHECK(is_tchar((unsigned char)m->buf[h->name_off + k]), "name byte");
        for (unsigned k = 0; k < h->value_len; k++) {
            unsigned char c = (unsigned char)m->buf[h->value_off + k];
            FUZZ_CHECK(c != '\r' && c != '\n' && c != 0 && c != 0x7f, "value byte 0x%02x", c);
        }
        if (h->value_len > 0) {
            char first = m->buf[h->value_off], last = m->buf[h->value_off + h->value_len - 1];
            FUZZ_CHECK(first != ' ' && first != '\t' && last != ' ' && last != '\t',
                       "value not trimmed");
        }
    }
}

static void run(const uint8_t *data, size_t len, size_t cut_every, size_t cut_at,
                struct http_parse_opts opts, enum http_parse_kind kind, struct result *r)
{
    static struct http_parse p; /* ~9 KiB: static to keep the stack small */
    size_t start = 0;
    enum http_parse_status st = HTTP_PARSE_MORE;

    memset(r, 0, sizeof *r);
    opts.on_body = count_body;
    opts.arg = r;
    http_parse_init(&p, kind, &opts);
    while (start <= len) {
        size_t end = len;
        size_t off = start;
        if (cut_every)
            end = start + cut_every < len ? start + cut_every : len;
        else if (start < cut_at)
            end = cut_at;
        for (int guard = 0;; guard++) {
            size_t used = 0;
            FUZZ_CHECK(guard < 100000, "no progress");
            st = http_parse_feed(&p, (const char *)data + off, end - off, &used);
            FUZZ_CHECK(used <= end - off, "used %zu of %zu", used, end - off);
            off += used;
            if (st == HTTP_PARSE_ERROR)
                goto out;
            if (st == HTTP_PARSE_HEAD) {
                check_msg(&p, &opts);
                continue;
            }
            if (st == HTTP_PARSE_DONE) {
                const struct http_msg *m = &p.msg;
                check_msg(&p, &opts);
                if (m->has_content_length && !m->chunked && !opts.no_body &&
                    (m->is_request ||
                     (m->status / 100 != 1 && m->status != 204 && m->status != 304)))
                    FUZZ_CHECK(m->body_bytes == m->content_length, "body %llu, length %llu",
                               (unsigned long long)m->body_bytes,
                               (unsigned long long)m->content_length);
                if (r->nmsg < MAX_MSGS) {
                    uint32_t hsh = 2166136261u;
                    for (unsigned i = 0; i < m->target_len; i++)
                        hsh = (hsh ^ (uint8_t)m->buf[m->target_off + i]) * 16777619u;
                    r->status[r->nmsg] = m->status;
                    r->nheaders[r->nmsg] = m->nheaders;
                    r->body_bytes[r->nmsg] = m->body_bytes;
                    r->target_hash[r->nmsg] = hsh;
                }
                r->nmsg++;
                if (!m->upgrade)
                    http_parse_next(&p);
                continue;
            }
            FUZZ_CHECK(off == end, "MORE with %zu bytes left", end - off);
            break;
        }
        if (end == len)
            break;
        start = end;
    }
    st = http_parse_finish(&p);
    if (st == HTTP_PARSE_DONE) {
        check_msg(&p, &opts);
        r->nmsg++;
    }
out:
    if (st == HTTP_PARSE_ERROR) {
        r->failed = true;
        r->reason = p.reason;
        FUZZ_CHECK(p.reason != HTTP_REFUSE_NONE && p.reason < HTTP_REFUSE_MAX, "reason %d",
                   (int)p.reason);
        FUZZ_CHECK(p.errmsg[0] != '\0', "refused without a message");
    }
}

static void same(const struct result *a, const struct result *b, const char *how)
{
    FUZZ_CHECK(a->failed == b->failed && a->reason == b->reason, "%s: refusal %d/%s vs %d/%s", how,
               a->failed, http_refusal_name(a->reason), b->failed, http_refusal_name(b->reason));
    FUZZ_CHECK(a->nmsg == b->nmsg, "%s: %d vs %d messages", how, a->nmsg, b->nmsg);
    FUZZ_CHECK(a->body_total == b->body_total, "%s: body bytes differ", how);
    FUZZ_CHECK(memcmp(a->status, b->status, sizeof a->status) == 0 &&
                   memcmp(a->nheaders, b->nheaders, sizeof a->nheaders) == 0 &&
                   memcmp(a->body_bytes, b->body_bytes, sizeof a->body_bytes) == 0 &&
                   memcmp(a->target_hash, b->target_hash, sizeof a->target_hash) == 0,
               "%s: messages differ", how);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_parse_opts opts = {0};
    struct result whole, split, bytes;
    enum http_parse_kind kind;
    size_t cut;

    if (size < 2 || size > 65536)
        return 0;
    kind = (data[0] & 1) ? HTTP_PARSE_RESPONSE : HTTP_PARSE_REQUEST;
    opts.no_body = (data[0] & 2) != 0;
    if (data[0] & 4) {
        opts.max_head = 128;
        opts.max_headers = 4;
    } else {
        opts.max_head = HTTP_PARSE_HEAD_CAP;
        opts.max_headers = HTTP_PARSE_HEADERS_CAP;
    }
    cut = data[1];
    data += 2;
    size -= 2;
    if (cut > size)
        cut = size;
    run(data, size, 0, 0, opts, kind, &whole);
    run(data, size, 0, cut, opts, kind, &split);
    same(&whole, &split, "cut in two");
    run(data, size, 1, 0, opts, kind, &bytes);
    same(&whole, &bytes, "byte by byte");
    return 0;
}
