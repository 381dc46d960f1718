/*
 * serf_keys: Serf 0.9.4's key queries.
 *  - requests and responses byte for byte as go-msgpack writes Serf's
 *    keyRequest{Key []byte} and nodeKeyResponse{Result, Message, Keys,
 *    PrimaryKey} (fields sorted by name, raw strings, str16 past 31 bytes,
 *    nil for a nil slice), built here by hand from the Go definitions;
 *  - every handler's success and refusal path with memberlist's messages,
 *    and the keyring after it (memberlist's order on use);
 *  - list truncation under the response size limit;
 *  - the requester's summary: counts, messages per node, the verdict.
 * The live serf binary judges the rest (tests/integration/cases/gossip_keyring.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/keyring.h"
#include "gossip/serf_keys.h"
#include "gossip/serf_msg.h"

/* A byte builder for expected encodings. */
struct bb {
    uint8_t b[2048];
    size_t n;
};

static void bb_raw(struct bb *x, const void *p, size_t n)
{
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void bb_u8(struct bb *x, uint8_t v)
{
    x->b[x->n++] = v;
}

/* go-msgpack raw string: fixstr up to 31 bytes, else str16 (never str8). */
static void bb_str(struct bb *x, const char *s, size_t n)
{
    if (n <= 31) {
        bb_u8(x, (uint8_t)(0xa0 | n));
    } else {
        bb_u8(x, 0xda);
        bb_u8(x, (uint8_t)(n >> 8));
        bb_u8(x, (uint8_t)n);
    }
    bb_raw(x, s, n);
}

static void bb_cstr(struct bb *x, const char *s)
{
    bb_str(x, s, strlen(s));
}

/* [8]{Keys, Message, PrimaryKey, Result} */
static void bb_resp(struct bb *x, const char *const *keys, size_t nk, const char *msg,
                    const char *primary, bool result)
{
    x->n = 0;
    bb_u8(x, 8);
    bb_u8(x, 0x84);
    bb_cstr(x, "Keys");
    if (nk == 0) {
        bb_u8(x, 0xc0);
    } else {
        bb_u8(x, (uint8_t)(0x90 | nk));
        for (size_t i = 0; i < nk; i++)
            bb_cstr(x, keys[i]);
    }
    bb_cstr(x, "Message");
    bb_cstr(x, msg);
    bb_cstr(x, "PrimaryKey");
    bb_cstr(x, primary);
    bb_cstr(x, "Result");
    bb_u8(x, result ? 0xc3 : 0xc2);
}

static uint8_t K1[32], K2[32], K3[16];
static char B1[KEYRING_B64_MAX], B2[KEYRING_B64_MAX], B3[KEYRING_B64_MAX];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 32; i++) {
        K1[i] = (uint8_t)(i + 1);
        K2[i] = (uint8_t)(0xf0 - i);
    }
    for (int i = 0; i < 16; i++)
        K3[i] = (uint8_t)(0x55 ^ i);
    keyring_b64_encode(K1, 32, B1, sizeof(B1), NULL);
    keyring_b64_encode(K2, 32, B2, sizeof(B2), NULL);
    keyring_b64_encode(K3, 16, B3, sizeof(B3), NULL);
    return 0;
}

/* A request as serf's handleKeyRequest builds it. */
static size_t req(enum serf_keys_op op, const char *b64, uint8_t *out, size_t cap)
{
    struct weft_err e = {{0}};
    size_t n = 0;
    assert_int_equal(serf_keys_request_encode(op, b64, out, cap, &n, &e), 0);
    return n;
}

static void test_request_bytes(void **state)
{
    (void)state;
    uint8_t out[SERF_KEYS_REQ_MAX];
    struct bb x = {.n = 0};
    /* install of a 32-byte key: [7] fixmap(1) "Key" str16(32) */
    bb_u8(&x, 7);
    bb_u8(&x, 0x81);
    bb_cstr(&x, "Key");
    bb_str(&x, (const char *)K1, 32);
    size_t n = req(SERF_KEYS_INSTALL, B1, out, sizeof(out));
    assert_int_equal(n, x.n);
    assert_int_equal(n, 1 + 1 + 4 + 3 + 32);
    assert_memory_equal(out, x.b, n);
    /* use/remove: same body */
    assert_int_equal(req(SERF_KEYS_USE, B1, out, sizeof(out)), x.n);
    assert_memory_equal(out, x.b, x.n);
    assert_int_equal(req(SERF_KEYS_REMOVE, B1, out, sizeof(out)), x.n);
    assert_memory_equal(out, x.b, x.n);
    /* a 16-byte key is a fixstr */
    static const uint8_t want16_head[] = {7, 0x81, 0xa3, 'K', 'e', 'y', 0xb0};
    n = req(SERF_KEYS_INSTALL, B3, out, sizeof(out));
    assert_int_equal(n, sizeof(want16_head) + 16);
    assert_memory_equal(out, want16_head, sizeof(want16_head));
    assert_memory_equal(out + sizeof(want16_head), K3, 16);
    /* list: Key is base64 of "": an empty non-nil slice, an empty raw string */
    static const uint8_t want_list[] = {7, 0x81, 0xa3, 'K', 'e', 'y', 0xa0};
    n = req(SERF_KEYS_LIST, NULL, out, sizeof(out));
    assert_int_equal(n, sizeof(want_list));
    assert_memory_equal(out, want_list, n);

    /* refused on our side before anything is sent */
    struct weft_err e = {{0}};
    assert_int_equal(
        serf_keys_request_encode(SERF_KEYS_INSTALL, "not base64!", out, sizeof(out), &n, &e), -1);
    assert_int_equal(serf_keys_request_encode(SERF_KEYS_INSTALL, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                                              out, sizeof(out), &n, &e),
                     -1); /* 20 bytes */
    assert_non_null(strstr(e.msg, "key size must be 16, 24 or 32 bytes"));
    assert_int_equal(serf_keys_request_encode(SERF_KEYS_USE, "", out, sizeof(out), &n, &e), -1);
    assert_int_equal(serf_keys_request_encode(SERF_KEYS_USE, NULL, out, sizeof(out), &n, &e), -1);
    assert_int_equal(serf_keys_request_encode(SERF_KEYS_INSTALL, B1, out, 20, &n, &e), -1);
}

static void test_names(void **state)
{
    (void)state;
    enum serf_keys_op op;
    assert_int_equal(serf_keys_op_parse("install", &op), 0);
    assert_int_equal(op, SERF_KEYS_INSTALL);
    assert_int_equal(serf_keys_op_parse("list", &op), 0);
    assert_int_equal(op, SERF_KEYS_LIST);
    assert_int_equal(serf_keys_op_parse("rotate", &op), -1);
    assert_string_equal(serf_keys_op_query(SERF_KEYS_INSTALL), "_serf_install-key");
    assert_string_equal(serf_keys_op_query(SERF_KEYS_USE), "_serf_use-key");
    assert_string_equal(serf_keys_op_query(SERF_KEYS_REMOVE), "_serf_remove-key");
    assert_string_equal(serf_keys_op_query(SERF_KEYS_LIST), "_serf_list-keys");
    assert_string_equal(serf_keys_op_name(SERF_KEYS_USE), "use");
}

/* Run one query against kr; the response must equal want. Returns changed. */
static bool handle(struct keyring *kr, enum serf_keys_op op, const char *b64, const struct bb *want)
{
    uint8_t q[SERF_KEYS_REQ_MAX], resp[SERF_KEYS_RESP_LIMIT];
    size_t qn = req(op, b64, q, sizeof(q)), rn = 0;
    bool changed = true;
    struct weft_err e = {{0}};
    assert_int_equal(
        serf_keys_handle(kr, serf_keys_op_query(op), q, qn, resp, sizeof(resp), &rn, &changed, &e),
        1);
    if (rn != want->n || memcmp(resp, want->b, rn) != 0) {
        for (size_t i = 0; i < rn; i++)
            fprintf(stderr, "%02x%s", resp[i], i + 1 == rn ? "\n" : " ");
        fail_msg("response differs (%zu vs %zu bytes)", rn, want->n);
    }
    return changed;
}

static void assert_keys(const struct keyring *kr, const uint8_t *const *keys, const size_t *lens,
                        size_t n)
{
    assert_int_equal(kr->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(kr->lens[i], lens[i]);
        assert_memory_equal(kr->keys[i], keys[i], lens[i]);
    }
}

static void test_handlers(void **state)
{
    (void)state;
    struct keyring kr;
    struct weft_err e = {{0}};
    struct bb ok, x;
    keyring_init(&kr);
    assert_int_equal(keyring_add(&kr, K1, 32, &e), 0);
    bb_resp(&ok, NULL, 0, "", "", true);
    /* The Go encoding of a plain success, byte for byte. */
    static const uint8_t ok_bytes[] = {0x08, 0x84, 0xa4, 'K', 'e', 'y', 's',  0xc0, 0xa7, 'M',
                                       'e',  's',  's',  'a', 'g', 'e', 0xa0, 0xaa, 'P',  'r',
                                       'i',  'm',  'a',  'r', 'y', 'K', 'e',  'y',  0xa0, 0xa6,
                                       'R',  'e',  's',  'u', 'l', 't', 0xc3};
    assert_int_equal(ok.n, sizeof(ok_bytes));
    assert_memory_equal(ok.b, ok_bytes, sizeof(ok_bytes));

    /* install: new key -> changed, appended (primary unchanged) */
    assert_true(handle(&kr, SERF_KEYS_INSTALL, B2, &ok));
    assert_keys(&kr, (const uint8_t *[]){K1, K2}, (size_t[]){32, 32}, 2);
    /* install again: a no-op that succeeds */
    assert_false(handle(&kr, SERF_KEYS_INSTALL, B2, &ok));
    assert_int_equal(kr.n, 2);
    assert_true(handle(&kr, SERF_KEYS_INSTALL, B3, &ok));
    assert_keys(&kr, (const uint8_t *[]){K1, K2, K3}, (size_t[]){32, 32, 16}, 3);

    /* use: K3 moves to the front, the others keep their order */
    assert_true(handle(&kr, SERF_KEYS_USE, B3, &ok));
    assert_keys(&kr, (const uint8_t *[]){K3, K1, K2}, (size_t[]){16, 32, 32}, 3);
    assert_false(handle(&kr, SERF_KEYS_USE, B3, &ok)); /* already primary */
    bb_resp(&x, NULL, 0, "Requested key is not in the keyring", "", false);
    assert_int_equal(x.b[x.n - 1], 0xc2);
    char b_other[KEYRING_B64_MAX];
    uint8_t other[24] = {9};
    keyring_b64_encode(other, 24, b_other, sizeof(b_other), NULL);
    assert_false(handle(&kr, SERF_KEYS_USE, b_other, &x));

    /* remove: the primary is refused, an absent key is a silent success */
    bb_resp(&x, NULL, 0, "Removing the primary key is not allowed", "", false);
    assert_false(handle(&kr, SERF_KEYS_REMOVE, B3, &x));
    assert_false(handle(&kr, SERF_KEYS_REMOVE, b_other, &ok));
    assert_int_equal(kr.n, 3);
    assert_true(handle(&kr, SERF_KEYS_REMOVE, B1, &ok));
    assert_keys(&kr, (const uint8_t *[]){K3, K2}, (size_t[]){16, 32}, 2);

    /* list: every key in base64, primary first, and the primary */
    const char *keys[] = {B3, B2};
    bb_resp(&x, keys, 2, "", B3, true);
    assert_false(handle(&kr, SERF_KEYS_LIST, NULL, &x));
    keyring_deinit(&kr);
}

/* A key request carrying a raw key of any size (our encoder refuses those). */
static size_t raw_req(const uint8_t *key, size_t n, uint8_t *out)
{
    struct bb x = {.n = 0};
    bb_u8(&x, 7);
    bb_u8(&x, 0x81);
    bb_cstr(&x, "Key");
    bb_str(&x, (const char *)key, n);
    memcpy(out, x.b, x.n);
    return x.n;
}

static void test_refusals(void **state)
{
    (void)state;
    struct keyring kr;
    struct weft_err e = {{0}};
    struct bb x;
    uint8_t q[128], resp[SERF_KEYS_RESP_LIMIT];
    size_t rn;
    bool changed;
    keyring_init(&kr);

    /* not a key query: nothing written */
    assert_int_equal(
        serf_keys_handle(&kr, "_serf_ping", q, 0, resp, sizeof(resp), &rn, &changed, &e), 0);
    assert_int_equal(serf_keys_handle(&kr, "uptime", q, 0, resp, sizeof(resp), &rn, &changed, &e),
                     0);

    /* encryption off: empty keyring or none at all */
    bb_resp(&x, NULL, 0, "No keyring to modify (encryption not enabled)", "", false);
    assert_false(handle(&kr, SERF_KEYS_INSTALL, B1, &x));
    assert_false(handle(NULL, SERF_KEYS_USE, B1, &x));
    assert_false(handle(NULL, SERF_KEYS_REMOVE, B1, &x));
    assert_int_equal(kr.n, 0);
    bb_resp(&x, NULL, 0, "Keyring is empty (encryption not enabled)", "", false);
    assert_false(handle(&kr, SERF_KEYS_LIST, NULL, &x));
    assert_false(handle(NULL, SERF_KEYS_LIST, NULL, &x));

    /* a key of the wrong size, sent by a peer */
    assert_int_equal(keyring_add(&kr, K1, 32, &e), 0);
    bb_resp(&x, NULL, 0, "key size must be 16, 24 or 32 bytes", "", false);
    size_t qn = raw_req(K2, 20, q);
    assert_int_equal(
        serf_keys_handle(&kr, SERF_KEYS_Q_INSTALL, q, qn, resp, sizeof(resp), &rn, &changed, &e),
        1);
    assert_false(changed);
    assert_int_equal(rn, x.n);
    assert_memory_equal(resp, x.b, rn);
    assert_int_equal(kr.n, 1);

    /* malformed requests: Result=false, no message (as Serf), the reason in e */
    bb_resp(&x, NULL, 0, "", "", false);
    static const uint8_t bad[][4] = {{7, 0x92, 1, 2}, {7, 0xc1, 0, 0}, {7, 0x81, 0xa3, 'K'}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        assert_int_equal(serf_keys_handle(&kr, SERF_KEYS_Q_REMOVE, bad[i], 4, resp, sizeof(resp),
                                          &rn, &changed, &e),
                         1);
        assert_int_equal(rn, x.n);
        assert_memory_equal(resp, x.b, rn);
        assert_true(err_is_set(&e));
    }
    err_clear(&e);
    assert_int_equal(
        serf_keys_handle(&kr, SERF_KEYS_Q_USE, NULL, 0, resp, sizeof(resp), &rn, &changed, &e), 1);
    assert_memory_equal(resp, x.b, x.n);
    assert_true(err_is_set(&e));
    /* every prefix of a good request: never a crash, never a change */
    qn = raw_req(K2, 32, q);
    for (size_t cut = 0; cut < qn; cut++) {
        assert_int_equal(serf_keys_handle(&kr, SERF_KEYS_Q_INSTALL, q, cut, resp, sizeof(resp), &rn,
                                          &changed, &e),
                         1);
        assert_false(changed);
    }
    assert_int_equal(kr.n, 1);
    /* Serf does not look at the type byte; neither do we */
    q[0] = 99;
    assert_int_equal(
        serf_keys_handle(&kr, SERF_KEYS_Q_INSTALL, q, qn, resp, sizeof(resp), &rn, &changed, &e),
        1);
    assert_true(changed);
    /* the keyring full: memberlist has no limit, we say why */
    for (int i = 2; i < KEYRING_MAX; i++) {
        uint8_t k[16] = {(uint8_t)i};
        assert_int_equal(keyring_add(&kr, k, 16, &e), 0);
    }
    uint8_t k[16] = {0xee};
    qn = raw_req(k, 16, q);
    assert_int_equal(
        serf_keys_handle(&kr, SERF_KEYS_Q_INSTALL, q, qn, resp, sizeof(resp), &rn, &changed, &e),
        1);
    assert_false(changed);
    struct serf_keys_node_resp r;
    assert_int_equal(serf_keys_response_decode(resp, rn, &r, &e), 0);
    assert_false(r.result);
    assert_non_null(strstr(r.message, "full"));
    /* a response buffer too small is an error of ours, not a response */
    assert_int_equal(serf_keys_handle(&kr, SERF_KEYS_Q_INSTALL, q, qn, resp, 8, &rn, &changed, &e),
                     -1);
    keyring_deinit(&kr);
}

static void test_list_truncation(void **state)
{
    (void)state;
    struct keyring kr;
    struct weft_err e = {{0}};
    uint8_t resp[SERF_KEYS_RESP_LIMIT];
    size_t rn, full;
    bool changed;
    static const uint8_t list_req[] = {7, 0x81, 0xa3, 'K', 'e', 'y', 0xa0};
    keyring_init(&kr);
    for (int i = 0; i < KEYRING_MAX; i++) {
        uint8_t k[32] = {(uint8_t)(i + 1)};
        assert_int_equal(keyring_add(&kr, k, 32, &e), 0);
    }
    assert_int_equal(serf_keys_handle(&kr, SERF_KEYS_Q_LIST, list_req, sizeof(list_req), resp,
                                      sizeof(resp), &rn, &changed, &e),
                     1);
    full = rn;
    struct serf_keys_node_resp r;
    assert_int_equal(serf_keys_response_decode(resp, rn, &r, &e), 0);
    assert_int_equal(r.n_keys, KEYRING_MAX);
    assert_string_equal(r.message, "");
    /* 16 AES-256 keys fit within the 1024-byte limit even for a long name */
    assert_true(full <= serf_keys_resp_budget(
                            "a-node-name-of-sixty-four-characters-xxxxxxxxxxxxxxxxxxxxxxxxxxx"));

    /* a smaller budget: as many keys as fit, and Serf's message */
    size_t cap = full - 100;
    assert_int_equal(serf_keys_handle(&kr, SERF_KEYS_Q_LIST, list_req, sizeof(list_req), resp, cap,
                                      &rn, &changed, &e),
                     1);
    assert_true(rn <= cap);
    assert_int_equal(serf_keys_response_decode(resp, rn, &r, &e), 0);
    assert_true(r.result);
    assert_true(r.n_keys < KEYRING_MAX && r.n_keys > 0);
    char want[128];
    snprintf(want, sizeof(want), "truncated key list response, showing first %zu of %d keys",
             r.n_keys, KEYRING_MAX);
    assert_string_equal(r.message, want);
    /* ...and not one key fewer than fits */
    uint8_t next[32] = {(uint8_t)(r.n_keys + 1)};
    keyring_b64_encode(next, 32, r.keys[r.n_keys], sizeof(r.keys[0]), NULL);
    r.n_keys++;
    snprintf(r.message, sizeof(r.message),
             "truncated key list response, showing first %zu of %d keys", r.n_keys, KEYRING_MAX);
    size_t n2;
    uint8_t big[2048];
    assert_int_equal(serf_keys_response_encode(&r, big, sizeof(big), &n2, &e), 0);
    assert_true(n2 > cap);
    /* too small even for no key */
    assert_int_equal(serf_keys_handle(&kr, SERF_KEYS_Q_LIST, list_req, sizeof(list_req), resp, 60,
                                      &rn, &changed, &e),
                     -1);
    assert_non_null(strstr(e.msg, "truncate"));
    keyring_deinit(&kr);
}

/* The budget keeps the whole query response within Serf's 1024 bytes. */
static void test_budget(void **state)
{
    (void)state;
    static const char *names[] = {"a", "node-1", "a-node-name-exactly-thirty-one-c",
                                  "a-node-name-exactly-thirty-two-ch"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        static uint8_t pay[SERF_KEYS_RESP_LIMIT], out[2 * SERF_KEYS_RESP_LIMIT];
        struct serf_query_response m;
        struct weft_err e = {{0}};
        size_t n;
        memset(&m, 0, sizeof(m));
        snprintf(m.from, sizeof(m.from), "%s", names[i]);
        m.ltime = UINT64_MAX;
        m.id = UINT32_MAX;
        m.flags = UINT32_MAX;
        m.payload = pay;
        m.payload_len = serf_keys_resp_budget(names[i]);
        assert_int_equal(serf_query_response_encode(&m, out, sizeof(out), &n, &e), 0);
        assert_true(n <= SERF_KEYS_RESP_LIMIT);
        assert_true(n >= SERF_KEYS_RESP_LIMIT - 2); /* fixstr names save 2 bytes */
    }
}

static void test_response_decode(void **state)
{
    (void)state;
    struct serf_keys_node_resp r;
    struct weft_err e = {{0}};
    struct bb x;
    const char *keys[] = {B1, B3};
    bb_resp(&x, keys, 2, "hello", B1, true);
    assert_int_equal(serf_keys_response_decode(x.b, x.n, &r, &e), 0);
    assert_true(r.result);
    assert_string_equal(r.message, "hello");
    assert_int_equal(r.n_keys, 2);
    assert_string_equal(r.keys[0], B1);
    assert_string_equal(r.keys[1], B3);
    assert_string_equal(r.primary, B1);
    /* encode gives the same bytes back */
    uint8_t out[512];
    size_t n;
    assert_int_equal(serf_keys_response_encode(&r, out, sizeof(out), &n, &e), 0);
    assert_int_equal(n, x.n);
    assert_memory_equal(out, x.b, n);
    /* every prefix is refused */
    for (size_t cut = 0; cut < x.n; cut++)
        assert_int_equal(serf_keys_response_decode(x.b, cut, &r, &e), -1);
    /* wrong type byte */
    x.b[0] = 5;
    assert_int_equal(serf_keys_response_decode(x.b, x.n, &r, &e), -1);
    /* a key longer than any base64 AES key */
    char longkey[60];
    memset(longkey, 'A', sizeof(longkey) - 1);
    longkey[59] = '\0';
    const char *lk[] = {longkey};
    bb_resp(&x, lk, 1, "", "", true);
    assert_int_equal(serf_keys_response_decode(x.b, x.n, &r, &e), -1);
    /* missing fields are zero values (go-msgpack) */
    static const uint8_t empty[] = {8, 0x80};
    assert_int_equal(serf_keys_response_decode(empty, sizeof(empty), &r, &e), 0);
    assert_false(r.result);
    assert_int_equal(r.n_keys, 0);
}

static void test_summary(void **state)
{
    (void)state;
    struct serf_keys_summary *s = malloc(sizeof(*s));
    struct weft_err e = {{0}};
    struct bb x;
    const char *k12[] = {B1, B2}, *k1[] = {B1};
    assert_non_null(s);

    /* list across 4 nodes: 2 agree, 1 has one key only, 1 has encryption off */
    serf_keys_summary_init(s, SERF_KEYS_LIST, 4);
    bb_resp(&x, k12, 2, "", B1, true);
    serf_keys_summary_add(s, "n1", x.b, x.n);
    serf_keys_summary_add(s, "n2", x.b, x.n);
    assert_false(serf_keys_summary_done(s));
    bb_resp(&x, k1, 1, "", B1, true);
    serf_keys_summary_add(s, "n3", x.b, x.n);
    bb_resp(&x, NULL, 0, "Keyring is empty (encryption not enabled)", "", false);
    serf_keys_summary_add(s, "n4", x.b, x.n);
    assert_true(serf_keys_summary_done(s));
    assert_int_equal(s->num_nodes, 4);
    assert_int_equal(s->num_resp, 4);
    assert_int_equal(s->num_err, 1);
    assert_int_equal(s->n_keys, 2);
    assert_string_equal(s->keys[0].key, B1);
    assert_int_equal(s->keys[0].count, 3);
    assert_string_equal(s->keys[1].key, B2);
    assert_int_equal(s->keys[1].count, 2);
    /* Serf counts the failed node's empty PrimaryKey too */
    assert_int_equal(s->n_primary, 2);
    assert_string_equal(s->primary[0].key, B1);
    assert_int_equal(s->primary[0].count, 3);
    assert_string_equal(s->primary[1].key, "");
    assert_int_equal(s->n_msgs, 1);
    assert_string_equal(s->msgs[0].node, "n4");
    assert_string_equal(s->msgs[0].message, "Keyring is empty (encryption not enabled)");
    assert_int_equal(serf_keys_summary_verdict(s, &e), -1);
    assert_string_equal(e.msg, "1/4 nodes reported failure");

    /* install: all succeed but one never answers */
    serf_keys_summary_init(s, SERF_KEYS_INSTALL, 3);
    bb_resp(&x, NULL, 0, "", "", true);
    serf_keys_summary_add(s, "a", x.b, x.n);
    serf_keys_summary_add(s, "b", x.b, x.n);
    assert_false(serf_keys_summary_done(s));
    assert_int_equal(serf_keys_summary_verdict(s, &e), -1);
    assert_string_equal(e.msg, "2/3 nodes reported success");
    assert_int_equal(s->n_msgs, 0);
    serf_keys_summary_add(s, "c", x.b, x.n);
    assert_int_equal(serf_keys_summary_verdict(s, &e), 0);

    /* garbage: a wrong type and an undecodable body, with Go's %v of the bytes */
    serf_keys_summary_init(s, SERF_KEYS_USE, 3);
    static const uint8_t wrong[] = {9, 1, 2};
    serf_keys_summary_add(s, "w", wrong, sizeof(wrong));
    static const uint8_t undec[] = {8, 0x84, 0xa4};
    serf_keys_summary_add(s, "u", undec, sizeof(undec));
    serf_keys_summary_add(s, "z", NULL, 0);
    assert_int_equal(s->num_err, 3);
    assert_string_equal(s->msgs[0].message, "Invalid key query response type: [9 1 2]");
    assert_string_equal(s->msgs[1].message, "Failed to decode key query response: [8 132 164]");
    assert_string_equal(s->msgs[2].message, "Invalid key query response type: []");
    assert_string_equal(e.msg, "2/3 nodes reported success"); /* e untouched since */
    assert_int_equal(serf_keys_summary_verdict(s, &e), -1);
    assert_string_equal(e.msg, "3/3 nodes reported failure");

    /* a success with a message (a truncated list) is kept, not an error;
     * the same node again: the last message wins (a Go map) */
    serf_keys_summary_init(s, SERF_KEYS_LIST, 1);
    bb_resp(&x, k1, 1, "truncated key list response, showing first 1 of 2 keys", B1, true);
    serf_keys_summary_add(s, "t", x.b, x.n);
    assert_int_equal(s->num_err, 0);
    assert_int_equal(s->n_msgs, 1);
    bb_resp(&x, k1, 1, "again", B1, true);
    serf_keys_summary_add(s, "t", x.b, x.n);
    assert_int_equal(s->n_msgs, 1);
    assert_string_equal(s->msgs[0].message, "again");

    /* bounded: more distinct keys than we keep are counted as dropped */
    serf_keys_summary_init(s, SERF_KEYS_LIST, 100);
    for (int i = 0; i < SERF_KEYS_DISTINCT_MAX + 5; i++) {
        uint8_t k[16] = {(uint8_t)i, 1};
        char b[KEYRING_B64_MAX], node[16];
        const char *kk[] = {b};
        keyring_b64_encode(k, 16, b, sizeof(b), NULL);
        bb_resp(&x, kk, 1, "", b, true);
        snprintf(node, sizeof(node), "n%d", i);
        serf_keys_summary_add(s, node, x.b, x.n);
    }
    assert_int_equal(s->n_keys, SERF_KEYS_DISTINCT_MAX);
    assert_int_equal(s->dropped, 10);
    free(s);
}

/* The key file text: one base64 key per line, primary first; memberlist's order after use. */
static void test_keyring_format(void **state)
{
    (void)state;
    struct keyring kr;
    struct weft_err e = {{0}};
    char text[KEYRING_MAX * (KEYRING_B64_MAX + 1) + 1], want[256];
    size_t n;
    keyring_init(&kr);
    assert_int_equal(keyring_format(&kr, text, sizeof(text), &n, &e), 0);
    assert_int_equal(n, 0);
    assert_string_equal(text, "");
    assert_int_equal(keyring_add(&kr, K1, 32, &e), 0);
    assert_int_equal(keyring_add(&kr, K2, 32, &e), 0);
    assert_int_equal(keyring_add(&kr, K3, 16, &e), 0);
    assert_int_equal(keyring_use(&kr, K3, 16, &e), 0);
    snprintf(want, sizeof(want), "%s\n%s\n%s\n", B3, B1, B2);
    assert_int_equal(keyring_format(&kr, text, sizeof(text), &n, &e), 0);
    assert_string_equal(text, want);
    assert_int_equal(n, strlen(want));
    /* it reads back the same way the agent loads a key file */
    struct keyring back;
    keyring_init(&back);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        assert_int_equal(keyring_add_base64(&back, line, &e), 0);
    assert_int_equal(back.n, 3);
    assert_memory_equal(back.keys, kr.keys, sizeof(kr.keys));
    assert_memory_equal(back.lens, kr.lens, sizeof(kr.lens));
    /* too small: refused, never cut */
    assert_int_equal(keyring_format(&kr, text, 50, &n, &e), -1);
    assert_int_equal(keyring_format(&kr, text, strlen(want), &n, &e), -1);
    assert_int_equal(keyring_format(&kr, text, strlen(want) + 1, &n, &e), 0);
    /* use of the key in the middle: to the front, the rest in order */
    assert_int_equal(keyring_use(&kr, K1, 32, &e), 0);
    snprintf(want, sizeof(want), "%s\n%s\n%s\n", B1, B3, B2);
    assert_int_equal(keyring_format(&kr, text, sizeof(text), &n, &e), 0);
    assert_string_equal(text, want);
    keyring_deinit(&back);
    keyring_deinit(&kr);
}

/* Random bytes into every decoder and handler: never a crash, never a change
 * from a request that is not a valid key request of a valid size. */
static void test_garbage(void **state)
{
    (void)state;
    struct keyring kr;
    struct weft_err e = {{0}};
    struct serf_keys_summary *s = malloc(sizeof(*s));
    uint8_t buf[96], resp[SERF_KEYS_RESP_LIMIT];
    uint32_t x = 12345;
    assert_non_null(s);
    keyring_init(&kr);
    assert_int_equal(keyring_add(&kr, K1, 32, &e), 0);
    serf_keys_summary_init(s, SERF_KEYS_LIST, 1000000);
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % (int)sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        /* bias towards the real shapes */
        if (n > 2 && round % 3 == 0) {
            buf[0] = (uint8_t)(round % 2 ? 7 : 8);
            buf[1] = (uint8_t)(0x80 | (buf[1] & 0x0f));
        }
        struct serf_keys_node_resp r;
        serf_keys_response_decode(buf, n, &r, &e);
        serf_keys_summary_add(s, "g", buf, n);
        size_t rn;
        bool changed;
        for (int q = 0; q < 4; q++) {
            int rc = serf_keys_handle(&kr, serf_keys_op_query((enum serf_keys_op)q), buf, n, resp,
                                      sizeof(resp), &rn, &changed, &e);
            assert_int_equal(rc, 1);
            assert_true(rn <= sizeof(resp));
            assert_int_equal(serf_keys_response_decode(resp, rn, &r, &e), 0);
            if (changed) { /* only a well-formed install/use/remove can do that */
                assert_true(r.result);
                assert_true(q != SERF_KEYS_LIST);
            }
            assert_true(kr.n >= 1 && kr.n <= KEYRING_MAX);
        }
    }
    assert_int_equal(s->num_resp, 20000);
    keyring_deinit(&kr);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes),   cmocka_unit_test(test_names),
        cmocka_unit_test(test_handlers),        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_list_truncation), cmocka_unit_test(test_budget),
        cmocka_unit_test(test_response_decode), cmocka_unit_test(test_summary),
        cmocka_unit_test(test_keyring_format),  cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
