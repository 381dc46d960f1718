/*
 * test_table: one node's records (src/mesh/table.c). The merge rules as
 * properties over random record sets (any order, any duplicates, the same
 * table and digest), tombstones against older and newer writes, GC and its
 * floor, digests that are equal exactly when contents are, bucket digests
 * that point at exactly the differing keys, ordered walks, counters.
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
#include "mesh/table.h"

#define T0 INT64_C(1795647662345)

/* xorshift64*: deterministic, seeded per test. */
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

static const char *const kinds[] = {"policy", "upstream-defaults", "route"};
static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g/h", "x@y"};
static const char *const writers[] = {"spiffe://m/node/1", "spiffe://m/node/2",
                                      "spiffe://m/node/3"};
static const char *const bodies[] = {"", "allow=a", "allow=b", "deny"};

/* A random version from a small space, so equal stamps and ties happen. */
static struct mesh_record random_record(void)
{
    struct mesh_record r = {
        .kind = kinds[rndn(3)],
        .name = names[rndn(8)],
        .hlc = mesh_hlc_make(T0 + (int64_t)rndn(4), (uint16_t)rndn(2)),
        .writer = writers[rndn(3)],
        .deleted = rndn(4) == 0,
    };
    if (!r.deleted) {
        const char *b = bodies[rndn(4)];
        r.body = (const uint8_t *)b;
        r.body_len = strlen(b);
    }
    return r;
}

static int dump_one(const struct mesh_record *r, void *arg)
{
    struct sbuf *b = arg;
    sbuf_printf(b, "%s/%s %" PRIu64 " %s %d [", r->kind, r->name, r->hlc, r->writer, r->deleted);
    if (r->body_len)
        sbuf_append(b, r->body, r->body_len);
    sbuf_puts(b, "]\n");
    return 0;
}

/* The whole table as text, in key order. Caller frees. */
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

static void merge_ok(struct mesh_table *t, const struct mesh_record *r)
{
    struct weft_err e = {{0}};
    enum mesh_merge m = mesh_table_merge(t, r, T0, &e);
    if (m != MESH_MERGE_APPLIED && m != MESH_MERGE_IGNORED)
        fail_msg("merge refused: %s", e.msg);
}

/* Recompute the digests from scratch and compare with the incremental ones. */
static int xor_one(const struct mesh_record *r, void *arg)
{
    uint64_t *acc = arg;
    uint64_t h = mesh_record_hash(r);
    acc[0] ^= h;
    acc[1 + mesh_key_bucket(r->kind, r->name)] ^= h;
    return 0;
}
static void check_digests(const struct mesh_table *t)
{
    uint64_t acc[1 + MESH_BUCKETS] = {0};
    size_t count = 0;
    mesh_table_foreach(t, NULL, xor_one, acc);
    assert_int_equal(acc[0], mesh_table_digest(t));
    for (unsigned b = 0; b < MESH_BUCKETS; b++) {
        assert_int_equal(acc[1 + b], mesh_table_bucket_digest(t, b));
        count += mesh_table_bucket_count(t, b);
    }
    assert_int_equal(count, mesh_table_count(t));
}

static void test_merge_order_free(void **state)
{
    (void)state;
    rng_state = 0x9e3779b97f4a7c15;
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + rndn(60);
        struct mesh_record *v = malloc(n * sizeof(*v));
        for (size_t i = 0; i < n; i++)
            v[i] = random_record();
        struct mesh_table *ref = mesh_table_new(0);
        for (size_t i = 0; i < n; i++)
            merge_ok(ref, &v[i]);
        char *want = dump(ref);
        check_digests(ref);
        /* Five shuffles, each with random duplicates mixed in. */
        for (int p = 0; p < 5; p++) {
            for (size_t i = n; i > 1; i--) {
                size_t j = rndn(i);
                struct mesh_record tmp = v[i - 1];
                v[i - 1] = v[j];
                v[j] = tmp;
            }
            struct mesh_table *t = mesh_table_new(0);
            for (size_t i = 0; i < n; i++) {
                merge_ok(t, &v[i]);
                if (rndn(3) == 0)
                    merge_ok(t, &v[rndn(i + 1)]);
            }
            char *got = dump(t);
            assert_string_equal(got, want);
            assert_int_equal(mesh_table_digest(t), mesh_table_digest(ref));
            check_digests(t);
            free(got);
            mesh_table_free(t);
        }
        /* And each held version is the greatest offered for its key. */
        for (size_t i = 0; i < n; i++) {
            struct mesh_record held;
            assert_true(mesh_table_get(ref, v[i].kind, v[i].name, &held));
            assert_true(mesh_record_cmp(&held, &v[i]) >= 0);
        }
        free(want);
        free(v);
        mesh_table_free(ref);
    }
}

static void test_tombstones(void **state)
{
    (void)state;
    struct mesh_table *t = mesh_table_new(0);
    struct weft_err e = {{0}};
    struct mesh_record live = {.kind = "policy",
                               .name = "p",
                               .hlc = mesh_hlc_make(T0, 0),
                               .writer = "w",
                               .body = (const uint8_t *)"x",
                               .body_len = 1};
    struct mesh_record tomb = {
        .kind = "policy", .name = "p", .hlc = mesh_hlc_make(T0, 1), .writer = "w", .deleted = true};
    assert_int_equal(mesh_table_merge(t, &live, T0, &e), MESH_MERGE_APPLIED);
    /* A newer tombstone wins over an older write... */
    assert_int_equal(mesh_table_merge(t, &tomb, T0, &e), MESH_MERGE_APPLIED);
    struct mesh_record got;
    assert_true(mesh_table_get(t, "policy", "p", &got));
    assert_true(got.deleted);
    assert_int_equal(mesh_table_count(t), 1);
    /* ...the older write arriving late changes nothing... */
    assert_int_equal(mesh_table_merge(t, &live, T0, &e), MESH_MERGE_IGNORED);
    /* ...a tombstone beats a write with the same stamp and writer... */
    struct mesh_record same = live;
    same.hlc = tomb.hlc;
    assert_int_equal(mesh_table_merge(t, &same, T0, &e), MESH_MERGE_IGNORED);
    /* ...and loses to a newer write. */
    struct mesh_record newer = live;
    newer.hlc = mesh_hlc_make(T0 + 1, 0);
    assert_int_equal(mesh_table_merge(t, &newer, T0, &e), MESH_MERGE_APPLIED);
    assert_true(mesh_table_get(t, "policy", "p", &got));
    assert_false(got.deleted);
    assert_int_equal(got.body_len, 1);
    assert_int_equal(mesh_table_merge(t, &tomb, T0, &e), MESH_MERGE_IGNORED);
    const struct mesh_table_counters *c = mesh_table_counters(t);
    assert_int_equal(c->merged, 3);
    assert_int_equal(c->ignored, 3);
    mesh_table_free(t);
}

static void test_local_write(void **state)
{
    (void)state;
    struct mesh_table *t = mesh_table_new(0);
    struct weft_err e = {{0}};
    uint64_t h1, h2, h3;
    /* A remote record from a clock 1 s ahead... */
    struct mesh_record r = {
        .kind = "policy", .name = "p", .hlc = mesh_hlc_make(T0 + 1000, 0), .writer = "z"};
    assert_int_equal(mesh_table_merge(t, &r, T0, &e), MESH_MERGE_APPLIED);
    /* ...a local write after it still wins (the clock saw its stamp). */
    assert_int_equal(mesh_table_write(t, "policy", "p", "a", "v", 1, false, T0, &h1, &e), 0);
    assert_true(h1 > r.hlc);
    struct mesh_record got;
    assert_true(mesh_table_get(t, "policy", "p", &got));
    assert_string_equal(got.writer, "a");
    assert_int_equal(mesh_table_write(t, "policy", "p", "a", NULL, 0, true, T0, &h2, &e), 0);
    assert_true(h2 > h1);
    assert_true(mesh_table_get(t, "policy", "p", &got));
    assert_true(got.deleted);
    assert_int_equal(mesh_table_write(t, "policy", "q", "a", "v", 1, false, T0 - 99999, &h3, &e),
                     0);
    assert_true(h3 > h2);
    assert_int_equal(mesh_hlc_last(mesh_table_hlc(t)), h3);
    /* Invalid local writes: refused, nothing stamped. */
    assert_int_equal(mesh_table_write(t, "Policy", "p", "a", NULL, 0, false, T0, NULL, &e), -1);
    assert_int_equal(mesh_table_write(t, "policy", "p", "a", "x", 1, true, T0, NULL, &e), -1);
    assert_int_equal(mesh_hlc_last(mesh_table_hlc(t)), h3);
    assert_int_equal(mesh_table_count(t), 2);
    mesh_table_free(t);
}

static void test_refused(void **state)
{
    (void)state;
    struct mesh_table *t = mesh_table_new(0);
    struct weft_err e = {{0}};
    struct mesh_record r = {.kind = "policy", .name = "../etc", .hlc = 1, .writer = "w"};
    assert_int_equal(mesh_table_merge(t, &r, T0, &e), MESH_MERGE_REFUSED);
    assert_non_null(strstr(e.msg, ".."));
    /* Beyond the max drift: refused and counted as drift. */
    r.name = "ok";
    r.hlc = mesh_hlc_make(T0 + 11 * 60 * 1000, 0);
    assert_int_equal(mesh_table_merge(t, &r, T0, &e), MESH_MERGE_REFUSED);
    assert_non_null(strstr(e.msg, "policy/ok: "));
    assert_non_null(strstr(e.msg, "ahead"));
    const struct mesh_table_counters *c = mesh_table_counters(t);
    assert_int_equal(c->refused, 2);
    assert_int_equal(c->drift, 1);
    assert_int_equal(mesh_table_count(t), 0);
    assert_int_equal(mesh_table_digest(t), 0);
    assert_int_equal(mesh_hlc_last(mesh_table_hlc(t)), 0);
    mesh_table_free(t);
}

static void test_gc(void **state)
{
    (void)state;
    struct mesh_table *t = mesh_table_new(0);
    struct weft_err e = {{0}};
    int64_t h = MESH_GC_HORIZON_DEFAULT_MS;
    assert_int_equal(h, 72LL * 3600 * 1000);
    struct mesh_record old = {
        .kind = "k", .name = "old", .hlc = mesh_hlc_make(T0, 0), .writer = "w", .deleted = true};
    struct mesh_record young = old;
    young.name = "young";
    young.hlc = mesh_hlc_make(T0 + 3600000, 0);
    struct mesh_record live = old;
    live.name = "live";
    live.deleted = false;
    assert_int_equal(mesh_table_merge(t, &old, T0, &e), MESH_MERGE_APPLIED);
    assert_int_equal(mesh_table_merge(t, &young, T0 + 3600000, &e), MESH_MERGE_APPLIED);
    assert_int_equal(mesh_table_merge(t, &live, T0, &e), MESH_MERGE_APPLIED);
    /* Not yet past the horizon. */
    assert_int_equal(mesh_table_gc(t, T0 + h, h), 0);
    /* Past it for "old" only; the live record of the same age stays. */
    assert_int_equal(mesh_table_gc(t, T0 + h + 1, h), 1);
    assert_false(mesh_table_get(t, "k", "old", NULL));
    assert_true(mesh_table_get(t, "k", "young", NULL));
    assert_true(mesh_table_get(t, "k", "live", NULL));
    assert_int_equal(mesh_table_count(t), 2);
    check_digests(t);
    /* A peer that has not collected yet sends it back: ignored (expired). */
    assert_int_equal(mesh_table_merge(t, &old, T0 + h + 1, &e), MESH_MERGE_IGNORED);
    assert_int_equal(mesh_table_counters(t)->expired, 1);
    assert_false(mesh_table_get(t, "k", "old", NULL));
    /* A live record that old is still accepted (only tombstones expire). */
    struct mesh_record live2 = live;
    live2.name = "live2";
    assert_int_equal(mesh_table_merge(t, &live2, T0 + h + 1, &e), MESH_MERGE_APPLIED);
    /* Much later: everything deleted goes; counters add up. */
    assert_int_equal(mesh_table_gc(t, T0 + 10 * h, h), 1);
    assert_int_equal(mesh_table_counters(t)->gcd, 2);
    assert_int_equal(mesh_table_count(t), 2);
    assert_int_equal(mesh_table_gc_floor(t), mesh_hlc_make(T0 + 9 * h, 0));
    /* A floor never moves back. */
    assert_int_equal(mesh_table_gc(t, T0, h), 0);
    assert_int_equal(mesh_table_gc_floor(t), mesh_hlc_make(T0 + 9 * h, 0));
    check_digests(t);
    mesh_table_free(t);
}

/* Digests are equal exactly when contents are, on random pairs of tables. */
static void test_digest_iff_equal(void **state)
{
    (void)state;
    rng_state = 12345;
    int equal_pairs = 0, unequal_pairs = 0;
    for (int round = 0; round < 2000; round++) {
        struct mesh_table *a = mesh_table_new(0), *b = mesh_table_new(0);
        size_t n = rndn(4);
        for (size_t i = 0; i < n; i++) {
            struct mesh_record r = random_record();
            merge_ok(a, &r);
            merge_ok(b, &r);
        }
        /* Usually one extra version on one side or both. */
        for (size_t i = rndn(3); i > 0; i--) {
            struct mesh_record r = random_record();
            merge_ok(rndn(2) ? a : b, &r);
        }
        char *da = dump(a), *db = dump(b);
        bool same = strcmp(da, db) == 0;
        assert_int_equal(same, mesh_table_digest(a) == mesh_table_digest(b));
        equal_pairs += same;
        unequal_pairs += !same;
        /* Buckets: a bucket digest differs exactly where a key differs. */
        uint8_t differs[MESH_BUCKETS] = {0};
        for (size_t k = 0; k < 3; k++)
            for (size_t m = 0; m < 8; m++) {
                struct mesh_record ra, rb;
                bool ha = mesh_table_get(a, kinds[k], names[m], &ra);
                bool hb = mesh_table_get(b, kinds[k], names[m], &rb);
                if (ha != hb || (ha && mesh_record_cmp(&ra, &rb) != 0))
                    differs[mesh_key_bucket(kinds[k], names[m])] = 1;
            }
        for (unsigned bk = 0; bk < MESH_BUCKETS; bk++)
            assert_int_equal(differs[bk],
                             mesh_table_bucket_digest(a, bk) != mesh_table_bucket_digest(b, bk));
        free(da);
        free(db);
        mesh_table_free(a);
        mesh_table_free(b);
    }
    /* Both cases really happened. */
    assert_true(equal_pairs > 100);
    assert_true(unequal_pairs > 100);
}

struct walk_ctx {
    char last[200];
    size_t n;
    int stop_at;
};
static int walk_one(const struct mesh_record *r, void *arg)
{
    struct walk_ctx *w = arg;
    char key[200];
    snprintf(key, sizeof(key), "%s\x01%s", r->kind, r->name);
    if (w->n)
        assert_true(strcmp(w->last, key) < 0);
    memcpy(w->last, key, sizeof(key));
    w->n++;
    return (int)w->n == w->stop_at ? 42 : 0;
}

static void test_walk_and_grow(void **state)
{
    (void)state;
    struct mesh_table *t = mesh_table_new(0);
    struct weft_err e = {{0}};
    char name[32];
    rng_state = 77;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "n%d", (int)rndn(100000));
        assert_int_equal(mesh_table_write(t, i % 2 ? "policy" : "route", name, "w", name,
                                          strlen(name), false, T0 + i, NULL, &e),
                         0);
    }
    size_t count = mesh_table_count(t);
    assert_true(count > 4800);
    struct walk_ctx w = {{0}, 0, 0};
    assert_int_equal(mesh_table_foreach(t, NULL, walk_one, &w), 0);
    assert_int_equal(w.n, count);
    struct walk_ctx wp = {{0}, 0, 0};
    assert_int_equal(mesh_table_foreach(t, "policy", walk_one, &wp), 0);
    assert_true(wp.n > 2000 && wp.n < count);
    struct walk_ctx ws = {{0}, 0, 10};
    assert_int_equal(mesh_table_foreach(t, NULL, walk_one, &ws), 42);
    assert_int_equal(ws.n, 10);
    check_digests(t);
    /* Everything is still found after the slots grew. */
    rng_state = 77;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "n%d", (int)rndn(100000));
        struct mesh_record r;
        assert_true(mesh_table_get(t, i % 2 ? "policy" : "route", name, &r));
        assert_int_equal(r.body_len, strlen(name));
    }
    assert_false(mesh_table_get(t, "policy", "absent", NULL));
    mesh_table_free(t);
    mesh_table_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_order_free),
        cmocka_unit_test(test_tombstones),
        cmocka_unit_test(test_local_write),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_gc),
        cmocka_unit_test(test_digest_iff_equal),
        cmocka_unit_test(test_walk_and_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
