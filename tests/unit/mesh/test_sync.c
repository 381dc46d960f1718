/*
 * test_sync: the anti-entropy exchange (src/mesh/sync.c). Two tables run
 * the real session and responder over JSON bytes until they converge:
 * random contents, pages and batches forced by budgets, both directions in
 * one exchange. Then every decoder refusal, each with its one-line reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sbuf.h"
#include "mesh/sync.h"

#define T0 INT64_C(1795647662345)

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}
static size_t rndn(size_t n)
{
    return (size_t)(rnd() % n);
}

static int dump_one(const struct mesh_record *r, void *arg)
{
    struct sbuf *b = arg;
    sbuf_printf(b, "%s/%s %" PRIu64 " %s %d %zu:", r->kind, r->name, r->hlc, r->writer, r->deleted,
                r->body_len);
    if (r->body_len)
        sbuf_append(b, r->body, r->body_len);
    sbuf_puts(b, "\n");
    return 0;
}

static char *dump(const struct mesh_table *t)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "");
    assert_int_equal(mesh_table_foreach(t, NULL, dump_one, &b), 0);
    char *s = strdup(sbuf_str(&b));
    sbuf_deinit(&b);
    return s;
}

/* One whole exchange, a initiating, b responding, through bytes. Returns
 * the number of requests; fails the test on any error or over max_req. */
static size_t exchange(struct mesh_table *a, struct mesh_table *b, size_t budget, size_t max_req,
                       uint64_t *bytes)
{
    struct mesh_sync_session *s = mesh_sync_session_new(a, budget);
    struct sbuf req, rep;
    struct weft_err e = {{0}};
    size_t n = 0;
    sbuf_init(&req);
    sbuf_init(&rep);
    for (;;) {
        sbuf_reset(&req);
        int rc = mesh_sync_session_next(s, &req, &e);
        if (rc < 0)
            fail_msg("session_next: %s", e.msg);
        if (rc == 0)
            break;
        if (++n > max_req)
            fail_msg("more than %zu requests", max_req);
        assert_true(req.len <= budget);
        sbuf_reset(&rep);
        if (mesh_sync_serve(b, req.data, req.len, T0, budget, &rep, NULL, &e) != 0)
            fail_msg("serve: %s (request %.200s)", e.msg, req.data);
        assert_true(rep.len <= budget);
        if (mesh_sync_session_reply(s, rep.data, rep.len, T0, &e) != 0)
            fail_msg("reply: %s (reply %.200s)", e.msg, rep.data);
    }
    if (bytes)
        *bytes = mesh_sync_session_stats(s)->bytes_out + mesh_sync_session_stats(s)->bytes_in;
    sbuf_deinit(&req);
    sbuf_deinit(&rep);
    mesh_sync_session_free(s);
    return n;
}

static void assert_same(const struct mesh_table *a, const struct mesh_table *b)
{
    char *da = dump(a), *db = dump(b);
    assert_string_equal(da, db);
    assert_int_equal(mesh_table_digest(a), mesh_table_digest(b));
    free(da);
    free(db);
}

static void fill_random(struct mesh_table *t, size_t n, size_t keyspace, size_t body_max,
                        size_t name_len)
{
    struct weft_err e = {{0}};
    static char body[MESH_BODY_MAX];
    char name[MESH_NAME_MAX + 1];
    static const char *const writers[] = {"spiffe://m/node/a", "spiffe://m/node/b"};
    for (size_t i = 0; i < n; i++) {
        size_t k = rndn(keyspace);
        int len = snprintf(name, sizeof(name), "key-%zu-", k);
        while ((size_t)len < name_len)
            name[len++] = (char)('a' + k % 26);
        name[len] = '\0';
        size_t bl = body_max ? rndn(body_max + 1) : 0;
        for (size_t j = 0; j < bl; j++)
            body[j] = (char)rnd(); /* any bytes: bodies are opaque */
        bool del = rndn(5) == 0;
        assert_int_equal(mesh_table_write(t, k % 3 ? "policy" : "route", name, writers[rndn(2)],
                                          body, del ? 0 : bl, del, T0 - (int64_t)rndn(5000), NULL,
                                          &e),
                         0);
    }
}

static void test_converge_small(void **state)
{
    (void)state;
    rng_state = 1;
    for (int round = 0; round < 50; round++) {
        struct mesh_table *a = mesh_table_new(0), *b = mesh_table_new(0);
        fill_random(a, rndn(40), 30, 64, 0);
        fill_random(b, rndn(40), 30, 64, 0);
        exchange(a, b, MESH_SYNC_BUDGET_DEFAULT, 10, NULL);
        assert_same(a, b);
        /* Converged: one request (summary) and an empty listing. */
        assert_int_equal(exchange(a, b, MESH_SYNC_BUDGET_DEFAULT, 1, NULL), 1);
        mesh_table_free(a);
        mesh_table_free(b);
    }
}

/* Big tables, long names and bodies of up to 16 KiB: listings need pages
 * and records need batches, in both directions. */
static void test_converge_paged(void **state)
{
    (void)state;
    rng_state = 2;
    struct mesh_table *a = mesh_table_new(0), *b = mesh_table_new(0);
    fill_random(a, 3000, 2500, 0, 120);
    fill_random(b, 3000, 2500, 0, 120);
    fill_random(a, 20, 2500, MESH_BODY_MAX, 120);
    fill_random(b, 20, 2500, MESH_BODY_MAX, 120);
    uint64_t bytes = 0;
    size_t n = exchange(a, b, MESH_SYNC_BUDGET_MIN, 1000, &bytes);
    assert_true(n > 10); /* several pages and batches */
    assert_same(a, b);
    printf("paged: %zu requests, %" PRIu64 " bytes for %zu records\n", n, bytes,
           mesh_table_count(a));
    assert_int_equal(exchange(b, a, MESH_SYNC_BUDGET_MIN, 1, NULL), 1);
    mesh_table_free(a);
    mesh_table_free(b);
}

/* Only one bucket differs: only that bucket is listed. */
static void test_only_differing_buckets(void **state)
{
    (void)state;
    rng_state = 3;
    struct mesh_table *a = mesh_table_new(0), *b = mesh_table_new(0);
    fill_random(a, 500, 400, 32, 0);
    exchange(b, a, MESH_SYNC_BUDGET_DEFAULT, 10, NULL);
    assert_same(a, b);
    struct weft_err e = {{0}};
    assert_int_equal(mesh_table_write(a, "policy", "changed", "w", "v", 1, false, T0, NULL, &e), 0);
    struct mesh_sync_summary sa, sb;
    uint8_t mask[MESH_SYNC_MASK_BYTES];
    mesh_sync_summary_of(a, &sa);
    mesh_sync_summary_of(b, &sb);
    assert_int_equal(mesh_sync_diff(&sa, &sb, mask), 1);
    unsigned bk = mesh_key_bucket("policy", "changed");
    assert_true(mask[bk / 8] & (1u << (bk % 8)));
    /* b asks a: the listing holds exactly the bucket's records. */
    struct sbuf sum, rep;
    sbuf_init(&sum);
    sbuf_init(&rep);
    assert_int_equal(mesh_sync_summary_encode(&sb, &sum), 0);
    assert_int_equal(
        mesh_sync_serve(a, sum.data, sum.len, T0, MESH_SYNC_BUDGET_DEFAULT, &rep, NULL, &e), 0);
    struct mesh_sync_list l;
    assert_int_equal(mesh_sync_list_decode(rep.data, rep.len, &l, &e), 0);
    assert_int_equal(l.n, mesh_table_bucket_count(a, bk));
    assert_false(l.more);
    struct mesh_sync_plan p;
    assert_int_equal(mesh_sync_plan_make(b, &l, &p, &e), 0);
    assert_int_equal(p.nwant, 1);
    assert_string_equal(p.want[0].name, "changed");
    assert_int_equal(p.npush, 0);
    mesh_sync_plan_deinit(&p);
    mesh_sync_list_deinit(&l);
    sbuf_deinit(&sum);
    sbuf_deinit(&rep);
    /* And the whole exchange moves a few KiB, not the table. */
    uint64_t bytes;
    assert_int_equal(exchange(b, a, MESH_SYNC_BUDGET_DEFAULT, 10, &bytes), 2);
    assert_true(bytes < 12000);
    assert_same(a, b);
    mesh_table_free(a);
    mesh_table_free(b);
}

/* Tombstones collected on one side only: not pulled back, and a push of
 * one is ignored; once both sides collect, they agree again. */
static void test_gc_one_side(void **state)
{
    (void)state;
    struct mesh_table *a = mesh_table_new(0), *b = mesh_table_new(0);
    struct weft_err e = {{0}};
    int64_t h = MESH_GC_HORIZON_DEFAULT_MS;
    assert_int_equal(mesh_table_write(a, "policy", "gone", "w", NULL, 0, true, T0, NULL, &e), 0);
    assert_int_equal(mesh_table_write(a, "policy", "kept", "w", "v", 1, false, T0, NULL, &e), 0);
    exchange(b, a, MESH_SYNC_BUDGET_DEFAULT, 10, NULL);
    assert_same(a, b);
    assert_int_equal(mesh_table_gc(a, T0 + h + 1, h), 1);
    assert_int_not_equal(mesh_table_digest(a), mesh_table_digest(b));
    /* a pulls from b: the old tombstone is not wanted. */
    struct mesh_sync_session *s = mesh_sync_session_new(a, 0);
    struct sbuf req, rep;
    sbuf_init(&req);
    sbuf_init(&rep);
    assert_int_equal(mesh_sync_session_next(s, &req, &e), 1);
    assert_int_equal(
        mesh_sync_serve(b, req.data, req.len, T0 + h + 1, MESH_SYNC_BUDGET_DEFAULT, &rep, NULL, &e),
        0);
    assert_int_equal(mesh_sync_session_reply(s, rep.data, rep.len, T0 + h + 1, &e), 0);
    sbuf_reset(&req);
    assert_int_equal(mesh_sync_session_next(s, &req, &e), 0); /* nothing to move */
    mesh_sync_session_free(s);
    /* b pushes it to a: ignored as expired. */
    exchange(b, a, MESH_SYNC_BUDGET_DEFAULT, 10, NULL);
    assert_false(mesh_table_get(a, "policy", "gone", NULL));
    assert_int_equal(mesh_table_counters(a)->expired, 1);
    /* b collects too: the same again. */
    assert_int_equal(mesh_table_gc(b, T0 + h + 1, h), 1);
    assert_same(a, b);
    sbuf_deinit(&req);
    sbuf_deinit(&rep);
    mesh_table_free(a);
    mesh_table_free(b);
}

/* The largest record there can be fits a records body at the smallest
 * budget, and comes back identical. */
static void test_largest_record(void **state)
{
    (void)state;
    struct mesh_table *a = mesh_table_new(0), *b = mesh_table_new(0);
    struct weft_err e = {{0}};
    static uint8_t body[MESH_BODY_MAX];
    char kind[MESH_KIND_MAX + 1], name[MESH_NAME_MAX + 1], writer[MESH_WRITER_MAX + 1];
    memset(kind, 'k', MESH_KIND_MAX);
    kind[MESH_KIND_MAX] = '\0';
    memset(name, 'n', MESH_NAME_MAX);
    name[MESH_NAME_MAX] = '\0';
    memset(writer, '"', MESH_WRITER_MAX); /* each one escaped: 512 bytes */
    writer[MESH_WRITER_MAX] = '\0';
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7);
    assert_int_equal(
        mesh_table_write(a, kind, name, writer, body, sizeof(body), false, T0, NULL, &e), 0);
    struct mesh_sync_key k;
    strcpy(k.kind, kind);
    strcpy(k.name, name);
    struct sbuf out;
    sbuf_init(&out);
    size_t wi = 0, pi = 0;
    assert_int_equal(mesh_sync_records_encode(a, false, NULL, 0, &wi, &k, 1, &pi,
                                              MESH_SYNC_BUDGET_MIN, &out, &e),
                     0);
    assert_int_equal(pi, 1);
    assert_true(out.len <= MESH_SYNC_RECORD_JSON_MAX);
    struct mesh_sync_records r;
    assert_int_equal(mesh_sync_records_decode(out.data, out.len, &r, &e), 0);
    assert_int_equal(r.nrecs, 1);
    assert_int_equal(mesh_sync_records_apply(b, &r, T0, NULL, &e), 0);
    mesh_sync_records_deinit(&r);
    assert_same(a, b);
    sbuf_deinit(&out);
    mesh_table_free(a);
    mesh_table_free(b);
}

static void test_summary_round_trip(void **state)
{
    (void)state;
    rng_state = 4;
    struct mesh_table *t = mesh_table_new(0);
    fill_random(t, 100, 80, 10, 0);
    struct mesh_sync_summary s, back;
    mesh_sync_summary_of(t, &s);
    struct sbuf b;
    sbuf_init(&b);
    struct weft_err e = {{0}};
    assert_int_equal(mesh_sync_summary_encode(&s, &b), 0);
    assert_true(b.len < 6000);
    assert_int_equal(mesh_sync_summary_decode(b.data, b.len, &back, &e), 0);
    assert_memory_equal(&s, &back, sizeof(s));
    enum mesh_sync_type ty;
    assert_int_equal(mesh_sync_type_of(b.data, b.len, &ty, &e), 0);
    assert_int_equal(ty, MESH_SYNC_SUMMARY);
    assert_string_equal(mesh_sync_type_name(ty), "summary");
    sbuf_deinit(&b);
    mesh_table_free(t);
}

/* A body of the given text must be refused by its decoder with msg in e. */
enum which { SUMMARY, LIST_REQ, LIST, RECORDS, SERVE };

static void refuse(enum which w, const char *text, size_t len, const char *msg)
{
    struct weft_err e = {{0}};
    int rc = 0;
    switch (w) {
    case SUMMARY: {
        struct mesh_sync_summary s;
        rc = mesh_sync_summary_decode(text, len, &s, &e);
        break;
    }
    case LIST_REQ: {
        uint8_t mask[MESH_SYNC_MASK_BYTES];
        struct mesh_sync_pos after;
        rc = mesh_sync_list_req_decode(text, len, mask, &after, &e);
        break;
    }
    case LIST: {
        struct mesh_sync_list l;
        rc = mesh_sync_list_decode(text, len, &l, &e);
        mesh_sync_list_deinit(&l);
        break;
    }
    case RECORDS: {
        struct mesh_sync_records r;
        rc = mesh_sync_records_decode(text, len, &r, &e);
        mesh_sync_records_deinit(&r);
        break;
    }
    case SERVE: {
        struct mesh_table *t = mesh_table_new(0);
        struct sbuf out;
        sbuf_init(&out);
        rc = mesh_sync_serve(t, text, len, T0, MESH_SYNC_BUDGET_DEFAULT, &out, NULL, &e);
        sbuf_deinit(&out);
        mesh_table_free(t);
        break;
    }
    }
    if (rc != -1)
        fail_msg("accepted: %.300s", text);
    if (!strstr(e.msg, msg))
        fail_msg("refused with \"%s\", want \"%s\" (input %.200s)", e.msg, msg, text);
    assert_null(strchr(e.msg, '\n'));
}

static void refuse_s(enum which w, const char *text, const char *msg)
{
    refuse(w, text, strlen(text), msg);
}

#define Z16 "\"0000000000000000\""
#define MASK0 "\"0000000000000000000000000000000000000000000000000000000000000000\""

static void test_refusals_summary(void **state)
{
    (void)state;
    /* A valid summary of an empty table, to mutate. */
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "{\"type\":\"summary\",\"digest\":" Z16 ",\"count\":0,\"buckets\":\"");
    for (int i = 0; i < 256; i++)
        sbuf_puts(&b, "0000000000000000");
    sbuf_puts(&b, "\"}");
    struct mesh_sync_summary s;
    struct weft_err e = {{0}};
    assert_int_equal(mesh_sync_summary_decode(b.data, b.len, &s, &e), 0);

    refuse_s(SUMMARY, "", "invalid JSON");
    refuse_s(SUMMARY, "{\"type\":\"summary\"", "invalid JSON");
    refuse_s(SUMMARY, "[]", "not a sync summary");
    refuse_s(SUMMARY, "{\"type\":\"list\"}", "not a sync summary");
    refuse_s(SUMMARY, "{\"type\":\"summary\"}", "missing \"digest\"");
    refuse_s(SUMMARY,
             "{\"type\":\"summary\",\"digest\":" Z16 ",\"count\":0,\"buckets\":[],\"x\":1}",
             "unknown member \"x\"");
    refuse_s(SUMMARY, "{\"type\":\"summary\",\"digest\":\"00\",\"count\":0,\"buckets\":[]}",
             "\"digest\" must be 16");
    refuse_s(SUMMARY,
             "{\"type\":\"summary\",\"digest\":\"000000000000000A\",\"count\":0,\"buckets\":[]}",
             "\"digest\" must be 16");
    refuse_s(SUMMARY, "{\"type\":\"summary\",\"digest\":" Z16 ",\"count\":-1,\"buckets\":[]}",
             "\"count\" must be");
    refuse_s(SUMMARY, "{\"type\":\"summary\",\"digest\":" Z16 ",\"count\":1.5,\"buckets\":[]}",
             "\"count\" must be");
    refuse_s(SUMMARY, "{\"type\":\"summary\",\"digest\":" Z16 ",\"count\":0,\"buckets\":" Z16 "}",
             "must be 256 digests");
    /* A bucket that is not hex, and a digest that is not their XOR. */
    char *bad = strdup(b.data);
    char *p = strstr(bad, "\"buckets\":\"") + 11;
    p[19] = 'g';
    refuse_s(SUMMARY, bad, "bucket 1 must be");
    p[19] = 'A';
    refuse_s(SUMMARY, bad, "bucket 1 must be");
    p[19] = '1';
    refuse_s(SUMMARY, bad, "not the XOR");
    free(bad);
    /* Oversized. */
    char *big = malloc(MESH_SYNC_MSG_MAX + 2);
    memset(big, ' ', MESH_SYNC_MSG_MAX + 1);
    big[MESH_SYNC_MSG_MAX + 1] = '\0';
    refuse(SUMMARY, big, MESH_SYNC_MSG_MAX + 1, "over 65536");
    refuse(LIST, big, MESH_SYNC_MSG_MAX + 1, "over 65536");
    refuse(RECORDS, big, MESH_SYNC_MSG_MAX + 1, "over 65536");
    refuse(LIST_REQ, big, MESH_SYNC_MSG_MAX + 1, "over 65536");
    refuse(SERVE, big, MESH_SYNC_MSG_MAX + 1, "over 65536");
    free(big);
    /* NUL inside. */
    refuse(SUMMARY, "{\"type\":\"summary\"}\0", 19, "invalid JSON");
    sbuf_deinit(&b);
}

static void test_refusals_list(void **state)
{
    (void)state;
    /* Two keys in known buckets, to build lists by hand. */
    char k1[16] = "", k2[16] = "";
    int b1 = -1;
    for (int i = 0; i < 100000 && !(k1[0] && k2[0]); i++) {
        char n[16];
        snprintf(n, sizeof(n), "n%d", i);
        int b = (int)mesh_key_bucket("policy", n);
        if (b == 0 && !k1[0]) {
            strcpy(k1, n);
            b1 = b;
        } else if (b == 1 && !k2[0]) {
            strcpy(k2, n);
        }
    }
    assert_int_equal(b1, 0);
    assert_true(k1[0] && k2[0]);
    char buf[2048];
    const char *m3 = "\"0300000000000000000000000000000000000000000000000000000000000000\"";
    const char *m1 = "\"0100000000000000000000000000000000000000000000000000000000000000\"";
#define ENT(k) "{\"k\":\"policy\",\"n\":\"%s\",\"h\":1,\"w\":\"w\",\"d\":false}"
    struct mesh_sync_list l;
    struct weft_err e = {{0}};
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[" ENT(k1) "," ENT(
                 k2) "],\"next\":{\"b\":1,\"k\":\"policy\",\"n\":\"%s\"}}",
             m3, k1, k2, k2);
    if (mesh_sync_list_decode(buf, strlen(buf), &l, &e) != 0)
        fail_msg("%s: %s", buf, e.msg);
    assert_int_equal(l.n, 2);
    assert_true(l.more);
    mesh_sync_list_deinit(&l);

    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[" ENT(k2) "," ENT(k1) "]}", m3, k2, k1);
    refuse_s(LIST, buf, "entry 1: out of order");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[" ENT(k1) "," ENT(k1) "]}", m3, k1, k1);
    refuse_s(LIST, buf, "entry 1: out of order");
    snprintf(buf, sizeof(buf), "{\"type\":\"list\",\"mask\":%s,\"entries\":[" ENT(k2) "]}", m1, k2);
    refuse_s(LIST, buf, "bucket 1 is not in the mask");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[" ENT(
                 k1) "],\"next\":{\"b\":1,\"k\":\"policy\",\"n\":\"%s\"}}",
             m3, k1, k2);
    refuse_s(LIST, buf, "\"next\" is not the last entry");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[" ENT(
                 k1) "],\"next\":{\"b\":7,\"k\":\"policy\",\"n\":\"%s\"}}",
             m3, k1, k1);
    refuse_s(LIST, buf, "is not in bucket 7");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"after\":{\"b\":1,\"k\":\"policy\",\"n\":\"%s\"},"
             "\"entries\":[" ENT(k1) "]}",
             m3, k2, k1);
    refuse_s(LIST, buf, "entry 0: out of order");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[],\"next\":{\"b\":0,\"k\":\"policy\","
             "\"n\":\"%s\"}}",
             m3, k1);
    refuse_s(LIST, buf, "\"next\" is not the last entry");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[{\"k\":\"policy\",\"n\":\"%s\",\"h\":1,"
             "\"w\":\"w\"}]}",
             m3, k1);
    refuse_s(LIST, buf, "entry 0: missing \"d\"");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[{\"k\":\"policy\",\"n\":\"%s\",\"h\":"
             "\"1\",\"w\":\"w\",\"d\":false}]}",
             m3, k1);
    refuse_s(LIST, buf, "wrong member types");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[{\"k\":\"policy\",\"n\":\"%s\",\"h\":1,"
             "\"w\":\"w w\",\"d\":false}]}",
             m3, k1);
    refuse_s(LIST, buf, "not printable ASCII");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":%s,\"entries\":[{\"k\":\"policy\",\"n\":\"a..b\",\"h\":1,"
             "\"w\":\"w\",\"d\":false}]}",
             m3);
    refuse_s(LIST, buf, "must not contain \"..\"");
    refuse_s(LIST, "{\"type\":\"list\",\"mask\":\"00\",\"entries\":[]}", "\"mask\" must be 64");
    snprintf(buf, sizeof(buf), "{\"type\":\"list\",\"mask\":%s,\"entries\":{}}", m3);
    refuse_s(LIST, buf, "\"entries\" must be an array");
    snprintf(buf, sizeof(buf), "{\"type\":\"list\",\"mask\":%s,\"entries\":[1]}", m3);
    refuse_s(LIST, buf, "entry 0: not an object");

    /* list_req */
    uint8_t mask[MESH_SYNC_MASK_BYTES];
    struct mesh_sync_pos after;
    snprintf(buf, sizeof(buf), "{\"type\":\"list_req\",\"mask\":%s}", m3);
    assert_int_equal(mesh_sync_list_req_decode(buf, strlen(buf), mask, &after, &e), 0);
    assert_int_equal(after.bucket, -1);
    assert_int_equal(mask[0], 3);
    refuse_s(LIST_REQ, "{\"type\":\"list_req\"}", "missing \"mask\"");
    snprintf(
        buf, sizeof(buf),
        "{\"type\":\"list_req\",\"mask\":%s,\"after\":{\"b\":256,\"k\":\"policy\",\"n\":\"x\"}}",
        m3);
    refuse_s(LIST_REQ, buf, "\"b\" must be a bucket");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list_req\",\"mask\":%s,\"after\":{\"b\":0,\"k\":\"policy\"}}", m3);
    refuse_s(LIST_REQ, buf, "missing \"n\"");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list_req\",\"mask\":%s,\"after\":{\"b\":0,\"k\":\"Policy\",\"n\":\"x\"}}",
             m3);
    refuse_s(LIST_REQ, buf, "list_req: after: kind");
    refuse_s(LIST_REQ, "{\"type\":\"list_req\",\"mask\":" MASK0 ",\"more\":true}",
             "unknown member");
#undef ENT
}

static void test_refusals_records(void **state)
{
    (void)state;
    struct mesh_sync_records r;
    struct weft_err e = {{0}};
    const char *ok =
        "{\"type\":\"records\",\"done\":0,\"want\":[{\"k\":\"policy\",\"n\":\"a\"}],"
        "\"records\":[{\"k\":\"policy\",\"n\":\"b\",\"h\":5,\"w\":\"w\",\"d\":false,"
        "\"b\":\"AP8=\"},{\"k\":\"policy\",\"n\":\"c\",\"h\":6,\"w\":\"w\",\"d\":true}]}";
    assert_int_equal(mesh_sync_records_decode(ok, strlen(ok), &r, &e), 0);
    assert_int_equal(r.nwant, 1);
    assert_int_equal(r.nrecs, 2);
    assert_int_equal(r.recs[0].body_len, 2);
    assert_memory_equal(r.recs[0].body, "\x00\xff", 2);
    assert_true(r.recs[1].deleted);
    mesh_sync_records_deinit(&r);

#define REC(extra)                                                                                 \
    "{\"type\":\"records\",\"done\":0,\"want\":[],\"records\":[{\"k\":\"policy\",\"n\":\"b\","     \
    "\"h\":5,\"w\":\"w\"," extra "}]}"
    refuse_s(RECORDS, REC("\"d\":false,\"b\":\"AP8\""), "canonical base64");
    refuse_s(RECORDS, REC("\"d\":false,\"b\":\"AP9=\""), "canonical base64");
    refuse_s(RECORDS, REC("\"d\":false,\"b\":\"A=8=\""), "canonical base64");
    refuse_s(RECORDS, REC("\"d\":false,\"b\":\"AP8*\""), "canonical base64");
    refuse_s(RECORDS, REC("\"d\":false,\"b\":\"\""), "canonical base64");
    refuse_s(RECORDS, REC("\"d\":false,\"b\":\"AP8=AP8=\""), "canonical base64");
    refuse_s(RECORDS, REC("\"d\":false,\"b\":5"), "wrong member types");
    refuse_s(RECORDS, REC("\"d\":true,\"b\":\"AP8=\""), "a tombstone with a body");
    refuse_s(RECORDS, REC("\"d\":0"), "wrong member types");
    refuse_s(RECORDS, REC("\"d\":false,\"z\":1"), "record 0: unknown member \"z\"");
    refuse_s(RECORDS,
             "{\"type\":\"records\",\"done\":0,\"want\":[{\"k\":\"policy\"}],\"records\":[]}",
             "want 0: missing \"n\"");
    refuse_s(RECORDS,
             "{\"type\":\"records\",\"done\":0,\"want\":[{\"k\":\"\",\"n\":\"x\"}],\"records\":[]}",
             "want 0: empty kind");
    refuse_s(RECORDS, "{\"type\":\"records\",\"done\":-1,\"want\":[],\"records\":[]}",
             "\"done\" must be");
    refuse_s(RECORDS, "{\"type\":\"records\",\"done\":0,\"want\":{},\"records\":[]}",
             "must be arrays");
    refuse_s(RECORDS, "{\"type\":\"records\",\"done\":0,\"want\":[]}", "missing \"records\"");
    /* A body over 16 KiB. */
    struct sbuf big;
    sbuf_init(&big);
    sbuf_puts(&big, "{\"type\":\"records\",\"done\":0,\"want\":[],\"records\":[{\"k\":\"p\",\"n\":"
                    "\"b\",\"h\":5,\"w\":\"w\",\"d\":false,\"b\":\"");
    for (int i = 0; i < (MESH_BODY_MAX + 3) / 3; i++)
        sbuf_puts(&big, "AAAA");
    size_t mark = big.len;
    sbuf_puts(&big, "\"}]}");
    /* 16386 bytes: as long as base64 of 16384 can be, caught by the record check... */
    refuse(RECORDS, big.data, big.len, "p/b: body of 16386 bytes over 16384");
    /* ...and longer text before it is decoded. */
    big.len = mark;
    sbuf_puts(&big, "AAAA\"}]}");
    refuse(RECORDS, big.data, big.len, "record 0: body over 16384");
    sbuf_deinit(&big);
    /* serve: no type, a reply type. */
    refuse_s(SERVE, "{}", "without a known \"type\"");
    refuse_s(SERVE, "{\"type\":\"nope\"}", "without a known \"type\"");
    refuse_s(SERVE, "{\"type\":\"list\",\"mask\":" MASK0 ",\"entries\":[]}", "is not a request");
    refuse_s(SERVE, "{\"type\":\"records\"}", "missing \"done\"");
#undef REC
}

/* The initiator refuses replies that do not fit what it asked. */
static void test_session_refusals(void **state)
{
    (void)state;
    struct mesh_table *a = mesh_table_new(0), *b = mesh_table_new(0);
    struct weft_err e = {{0}};
    struct sbuf req, rep;
    sbuf_init(&req);
    sbuf_init(&rep);
    assert_int_equal(mesh_table_write(b, "policy", "x", "w", "v", 1, false, T0, NULL, &e), 0);

    /* A records message where a list is expected. */
    struct mesh_sync_session *s = mesh_sync_session_new(a, 0);
    assert_int_equal(mesh_sync_session_next(s, &req, &e), 1);
    assert_int_equal(mesh_sync_session_next(s, &req, &e), -1); /* reply pending */
    const char *recs = "{\"type\":\"records\",\"done\":0,\"want\":[],\"records\":[]}";
    assert_int_equal(mesh_sync_session_reply(s, recs, strlen(recs), T0, &e), -1);
    assert_non_null(strstr(e.msg, "not a sync list"));
    assert_int_equal(mesh_sync_session_next(s, &req, &e), 0); /* over */
    assert_int_equal(mesh_sync_session_reply(s, recs, strlen(recs), T0, &e), -1);
    mesh_sync_session_free(s);

    /* A records reply that answers none of the wanted keys: refused, not a loop. */
    s = mesh_sync_session_new(a, 0);
    sbuf_reset(&req);
    assert_int_equal(mesh_sync_session_next(s, &req, &e), 1);
    assert_int_equal(
        mesh_sync_serve(b, req.data, req.len, T0, MESH_SYNC_BUDGET_DEFAULT, &rep, NULL, &e), 0);
    assert_int_equal(mesh_sync_session_reply(s, rep.data, rep.len, T0, &e), 0);
    sbuf_reset(&req);
    assert_int_equal(mesh_sync_session_next(s, &req, &e), 1);
    assert_non_null(strstr(req.data, "\"want\":[{"));
    assert_int_equal(mesh_sync_session_reply(s, recs, strlen(recs), T0, &e), -1);
    assert_non_null(strstr(e.msg, "answered 0 of 1"));
    mesh_sync_session_free(s);

    /* A list for another page than the one asked. */
    s = mesh_sync_session_new(a, 0);
    sbuf_reset(&req);
    assert_int_equal(mesh_sync_session_next(s, &req, &e), 1);
    char buf[512];
    unsigned bk = mesh_key_bucket("policy", "x");
    snprintf(buf, sizeof(buf),
             "{\"type\":\"list\",\"mask\":" MASK0
             ",\"after\":{\"b\":%u,\"k\":\"policy\",\"n\":\"x\"},\"entries\":[]}",
             bk);
    assert_int_equal(mesh_sync_session_reply(s, buf, strlen(buf), T0, &e), -1);
    assert_non_null(strstr(e.msg, "not the page asked for"));
    mesh_sync_session_free(s);
    mesh_sync_session_free(NULL);

    /* Budgets below the minimum are refused by the encoders. */
    uint8_t mask[MESH_SYNC_MASK_BYTES] = {0};
    assert_int_equal(mesh_sync_list_encode(a, mask, NULL, 1000, &rep, &e), -1);
    size_t wi = 0, pi = 0;
    assert_int_equal(mesh_sync_records_encode(a, false, NULL, 0, &wi, NULL, 0, &pi, 1000, &rep, &e),
                     -1);
    sbuf_deinit(&req);
    sbuf_deinit(&rep);
    mesh_table_free(a);
    mesh_table_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_converge_small),         cmocka_unit_test(test_converge_paged),
        cmocka_unit_test(test_only_differing_buckets), cmocka_unit_test(test_gc_one_side),
        cmocka_unit_test(test_summary_round_trip),     cmocka_unit_test(test_largest_record),
        cmocka_unit_test(test_refusals_summary),       cmocka_unit_test(test_refusals_list),
        cmocka_unit_test(test_refusals_records),       cmocka_unit_test(test_session_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
