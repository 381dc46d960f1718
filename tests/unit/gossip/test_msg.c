/*
 * gossip messages: every encoder/decoder pair of ml_msg.h and serf_msg.h.
 *  - decode(encode(s)) == s for each message type, with empty and full
 *    fields, 4- and 16-byte addresses;
 *  - every integer width and signedness go-msgpack may send is accepted;
 *  - every strict prefix of every message is refused (never a crash), and
 *    random garbage never crashes any decoder;
 *  - limits: names > 128, meta > 512, bad address sizes, too many nodes,
 *    compound and CRC framing, push/pull counts, tags over 512 bytes;
 *  - keyring (base64, rotation) and encryption (v1 seal/open, v0 padding,
 *    stream AAD) round trips.
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
#include "gossip/ml_crypt.h"
#include "gossip/ml_msg.h"
#include "gossip/serf_msg.h"
#include "tls/aead.h"

/* One decoder behind a common signature, for the prefix/garbage loops. */
struct dec {
    const char *name;
    int (*fn)(const uint8_t *b, size_t len, struct weft_err *e);
};

#define DEC_WRAP(fname, type)                                                                      \
    static int w_##fname(const uint8_t *b, size_t len, struct weft_err *e)                         \
    {                                                                                              \
        static type m;                                                                             \
        return fname(b, len, &m, e);                                                               \
    }
DEC_WRAP(ml_ping_decode, struct ml_ping)
DEC_WRAP(ml_indirect_ping_decode, struct ml_indirect_ping)
DEC_WRAP(ml_ack_decode, struct ml_ack)
DEC_WRAP(ml_nack_decode, struct ml_nack)
DEC_WRAP(ml_suspect_decode, struct ml_suspect)
DEC_WRAP(ml_alive_decode, struct ml_alive)
DEC_WRAP(ml_errmsg_decode, struct ml_errmsg)
DEC_WRAP(serf_join_decode, struct serf_join)
DEC_WRAP(serf_leave_decode, struct serf_leave)
DEC_WRAP(serf_user_event_decode, struct serf_user_event)
DEC_WRAP(serf_query_decode, struct serf_query)
DEC_WRAP(serf_query_response_decode, struct serf_query_response)

static int w_push_pull(const uint8_t *b, size_t len, struct weft_err *e)
{
    static struct ml_push_node nodes[8];
    struct ml_push_pull_header h;
    const uint8_t *us;
    return ml_push_pull_decode(b, len, &h, nodes, 8, &us, e);
}

static int w_compress(const uint8_t *b, size_t len, struct weft_err *e)
{
    uint8_t *out;
    size_t ol, used;
    int rc = ml_compress_unwrap(b, len, 1 << 16, &out, &ol, &used, e);
    if (rc == 0)
        free(out);
    return rc;
}

static int w_tags(const uint8_t *b, size_t len, struct weft_err *e)
{
    static struct serf_tag tags[SERF_TAGS_MAX];
    size_t n;
    return serf_tags_decode(b, len, tags, SERF_TAGS_MAX, &n, e);
}

static int w_serf_pp(const uint8_t *b, size_t len, struct weft_err *e)
{
    struct serf_push_pull pp;
    static struct serf_status st[8];
    return serf_push_pull_decode(b, len, &pp, st, 8, e);
}

static int noop_cb(void *ctx, enum ml_type type, const uint8_t *body, size_t len,
                   struct weft_err *e)
{
    (void)ctx;
    (void)type;
    (void)body;
    (void)len;
    (void)e;
    return 0;
}

static int w_packet(const uint8_t *b, size_t len, struct weft_err *e)
{
    return ml_packet_walk(b, len, noop_cb, NULL, e);
}

static const struct dec decoders[] = {
    {"ping", w_ml_ping_decode},
    {"indirect", w_ml_indirect_ping_decode},
    {"ack", w_ml_ack_decode},
    {"nack", w_ml_nack_decode},
    {"suspect", w_ml_suspect_decode},
    {"alive", w_ml_alive_decode},
    {"err", w_ml_errmsg_decode},
    {"push/pull", w_push_pull},
    {"compress", w_compress},
    {"serf join", w_serf_join_decode},
    {"serf leave", w_serf_leave_decode},
    {"serf event", w_serf_user_event_decode},
    {"serf query", w_serf_query_decode},
    {"serf response", w_serf_query_response_decode},
    {"serf push/pull", w_serf_pp},
    {"tags", w_tags},
    {"packet", w_packet},
};

/* Every strict prefix of body must be refused with a message. */
static void check_prefixes(int (*fn)(const uint8_t *, size_t, struct weft_err *),
                           const uint8_t *body, size_t len)
{
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1); /* exact size: ASan sees overreads */
        memcpy(copy, body, cut);
        struct weft_err e = {{0}};
        if (fn(copy, cut, &e) != -1)
            fail_msg("prefix %zu of %zu accepted", cut, len);
        assert_true(err_is_set(&e));
        free(copy);
    }
    struct weft_err e = {{0}};
    if (fn(body, len, &e) != 0)
        fail_msg("whole message refused: %s", e.msg);
}

static const uint8_t ip4[4] = {10, 0, 0, 5};
static const uint8_t ip6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 2};

static void test_ping_family(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    uint8_t buf[2048];
    size_t len;

    struct ml_ping p = {.seq_no = 0xfffffffe, .source_port = 7946}, p2;
    strcpy(p.node, "gw-01");
    strcpy(p.source_node, "gw-02");
    memcpy(p.source_addr, ip6, 16);
    p.source_addr_len = 16;
    assert_int_equal(ml_ping_encode(&p, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(buf[0], ML_PING);
    assert_int_equal(ml_ping_decode(buf + 1, len - 1, &p2, &e), 0);
    assert_memory_equal(&p, &p2, sizeof(p));
    check_prefixes(w_ml_ping_decode, buf + 1, len - 1);
    /* omitempty: no Source* keys at all when empty (a 2-entry map). */
    struct ml_ping q = {.seq_no = 1};
    strcpy(q.node, "a");
    assert_int_equal(ml_ping_encode(&q, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(buf[1], 0x82);
    assert_int_equal(ml_ping_encode(&q, buf, 5, &len, &e), -1); /* room */

    struct ml_indirect_ping ip = {.seq_no = 9, .port = 33946, .nack = true}, ip2;
    memcpy(ip.target, ip4, 4);
    ip.target_len = 4;
    strcpy(ip.node, "beta");
    strcpy(ip.source_node, "alpha");
    assert_int_equal(ml_indirect_ping_encode(&ip, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(ml_indirect_ping_decode(buf + 1, len - 1, &ip2, &e), 0);
    assert_memory_equal(&ip, &ip2, sizeof(ip));
    check_prefixes(w_ml_indirect_ping_decode, buf + 1, len - 1);

    struct ml_ack a = {.seq_no = 77, .payload_len = 3, .payload = {1, 2, 3}}, a2;
    assert_int_equal(ml_ack_encode(&a, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(ml_ack_decode(buf + 1, len - 1, &a2, &e), 0);
    assert_memory_equal(&a, &a2, sizeof(a));
    check_prefixes(w_ml_ack_decode, buf + 1, len - 1);
    a.payload_len = 0; /* nil Payload */
    assert_int_equal(ml_ack_encode(&a, buf, sizeof(buf), &len, &e), 0);
    assert_non_null(memchr(buf, 0xc0, len));
    assert_int_equal(ml_ack_decode(buf + 1, len - 1, &a2, &e), 0);
    assert_int_equal(a2.payload_len, 0);

    struct ml_nack n = {.seq_no = 5}, n2;
    assert_int_equal(ml_nack_encode(&n, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(ml_nack_decode(buf + 1, len - 1, &n2, &e), 0);
    assert_int_equal(n2.seq_no, 5);
    check_prefixes(w_ml_nack_decode, buf + 1, len - 1);

    struct ml_errmsg er = {.error = "remote state is zero bytes"}, er2;
    assert_int_equal(ml_errmsg_encode(&er, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(buf[0], ML_ERR);
    assert_int_equal(ml_errmsg_decode(buf + 1, len - 1, &er2, &e), 0);
    assert_string_equal(er2.error, er.error);
    check_prefixes(w_ml_errmsg_decode, buf + 1, len - 1);
}

static void test_state_messages(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    uint8_t buf[2048];
    size_t len;

    struct ml_suspect s = {.incarnation = 3}, s2;
    strcpy(s.node, "beta");
    strcpy(s.from, "alpha");
    assert_int_equal(ml_suspect_encode(ML_DEAD, &s, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(buf[0], ML_DEAD);
    assert_int_equal(ml_suspect_decode(buf + 1, len - 1, &s2, &e), 0);
    assert_memory_equal(&s, &s2, sizeof(s));
    check_prefixes(w_ml_suspect_decode, buf + 1, len - 1);
    assert_int_equal(ml_suspect_encode(ML_ALIVE, &s, buf, sizeof(buf), &len, &e), -1);

    struct ml_alive a = {.incarnation = 1, .port = 7946, .vsn_len = 6, .vsn = {1, 5, 2, 2, 5, 4}};
    struct ml_alive a2;
    strcpy(a.node, "gw-01");
    memcpy(a.addr, ip4, 4);
    a.addr_len = 4;
    a.meta_len = ML_META_MAX;
    memset(a.meta, 0x5a, ML_META_MAX); /* meta at its limit: > 255, a str16 */
    assert_int_equal(ml_alive_encode(&a, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(ml_alive_decode(buf + 1, len - 1, &a2, &e), 0);
    assert_memory_equal(&a, &a2, sizeof(a));
    check_prefixes(w_ml_alive_decode, buf + 1, len - 1);
    /* No str8 ever: memberlist 0.2.2 peers would take str8 for an error. */
    a.meta_len = 200;
    assert_int_equal(ml_alive_encode(&a, buf, sizeof(buf), &len, &e), 0);
    for (size_t i = 0; i + 2 < len; i++)
        assert_false(buf[i] == 0xd9 && buf[i + 1] == 200);
}

/* A hand-made alive body with chosen encodings. */
static size_t put_key(uint8_t *p, const char *k)
{
    size_t n = strlen(k);
    p[0] = (uint8_t)(0xa0 | n);
    memcpy(p + 1, k, n);
    return n + 1;
}

static void test_integer_widths_and_limits(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    uint8_t b[1024];
    struct ml_nack n;
    /* SeqNo as fixint, u8, u16, u32, u64, i8, i16, i32, i64 (positive). */
    static const uint8_t forms[][10] = {
        {1, 0x05},
        {2, 0xcc, 0x05},
        {3, 0xcd, 0x00, 0x05},
        {5, 0xce, 0, 0, 0, 0x05},
        {9, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x05},
        {2, 0xd0, 0x05},
        {3, 0xd1, 0x00, 0x05},
        {5, 0xd2, 0, 0, 0, 0x05},
        {9, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x05},
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        size_t o = 0;
        b[o++] = 0x81;
        o += put_key(b + o, "SeqNo");
        memcpy(b + o, forms[i] + 1, forms[i][0]);
        o += forms[i][0];
        assert_int_equal(ml_nack_decode(b, o, &n, &e), 0);
        assert_int_equal(n.seq_no, 5);
    }
    /* Negative, too large for u32, wrong type: refused. */
    static const uint8_t badforms[][10] = {
        {1, 0xff}, {2, 0xd0, 0xfb}, {9, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, {1, 0xc3}, {2, 0xa1, 'x'},
    };
    for (size_t i = 0; i < sizeof(badforms) / sizeof(badforms[0]); i++) {
        size_t o = 0;
        b[o++] = 0x81;
        o += put_key(b + o, "SeqNo");
        memcpy(b + o, badforms[i] + 1, badforms[i][0]);
        o += badforms[i][0];
        assert_int_equal(ml_nack_decode(b, o, &n, &e), -1);
        assert_non_null(strstr(e.msg, "SeqNo"));
    }
    /* bin and str8 are accepted for strings; unknown keys are ignored. */
    size_t o = 0;
    b[o++] = 0x83;
    o += put_key(b + o, "Node");
    b[o++] = 0xd9;
    b[o++] = 3;
    memcpy(b + o, "abc", 3);
    o += 3;
    o += put_key(b + o, "Future");
    b[o++] = 0x07;
    o += put_key(b + o, "From");
    b[o++] = 0xc4;
    b[o++] = 1;
    b[o++] = 'z';
    struct ml_suspect s;
    assert_int_equal(ml_suspect_decode(b, o, &s, &e), 0);
    assert_string_equal(s.node, "abc");
    assert_string_equal(s.from, "z");
    /* A name of 129 bytes, a NUL inside a name, a body that is not a map. */
    o = 0;
    b[o++] = 0x81;
    o += put_key(b + o, "Node");
    b[o++] = 0xda;
    b[o++] = 0;
    b[o++] = 129;
    memset(b + o, 'n', 129);
    o += 129;
    assert_int_equal(ml_suspect_decode(b, o, &s, &e), -1);
    assert_non_null(strstr(e.msg, "Node"));
    b[o - 1 - 128] = 'n';
    b[6 + 3 + 10] = 0;
    assert_int_equal(ml_suspect_decode(b, o, &s, &e), -1);
    b[0] = 0x91;
    assert_int_equal(ml_suspect_decode(b, o, &s, &e), -1);
    /* Alive with a 5-byte address, meta over 512, a 3-byte Vsn. */
    struct ml_alive a = {.incarnation = 1, .addr_len = 4, .vsn_len = 6}, a2;
    strcpy(a.node, "n");
    uint8_t enc[2048];
    size_t len;
    assert_int_equal(ml_alive_encode(&a, enc, sizeof(enc), &len, &e), 0);
    uint8_t *addr = NULL;
    for (size_t i = 0; i + 6 <= len && !addr; i++)
        if (memcmp(enc + i,
                   "\xa4"
                   "Addr\xa4",
                   6) == 0)
            addr = enc + i;
    assert_non_null(addr);
    addr[5] = 0xa5; /* now claims 5 bytes: the map breaks or Addr is 5 */
    assert_int_equal(ml_alive_decode(enc + 1, len - 1, &a2, &e), -1);
    a.meta_len = 513;
    assert_int_equal(ml_alive_encode(&a, enc, sizeof(enc), &len, &e), -1);
    /* A container count larger than the input: refused before unpacking. */
    static const uint8_t huge[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'x'};
    assert_int_equal(ml_suspect_decode(huge, sizeof(huge), &s, &e), -1);
    assert_non_null(strstr(e.msg, "container"));
    /* Deep nesting: refused, no stack overflow. */
    static uint8_t deep[4096];
    memset(deep, 0x91, sizeof(deep));
    assert_int_equal(ml_suspect_decode(deep, sizeof(deep), &s, &e), -1);
    static const uint8_t never[] = {0xc1};
    assert_int_equal(ml_suspect_decode(never, 1, &s, &e), -1);
}

static void test_compound_and_crc(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    uint8_t a[64], b[64], out[512], out2[600];
    size_t al, bl, len, len2;
    struct ml_nack n = {.seq_no = 1};
    struct ml_ping p = {.seq_no = 2};
    strcpy(p.node, "x");
    assert_int_equal(ml_nack_encode(&n, a, sizeof(a), &al, &e), 0);
    assert_int_equal(ml_ping_encode(&p, b, sizeof(b), &bl, &e), 0);
    struct ml_part parts[2] = {{a, al}, {b, bl}}, got[ML_COMPOUND_MAX];
    assert_int_equal(ml_compound_build(parts, 2, out, sizeof(out), &len, &e), 0);
    assert_int_equal(out[0], ML_COMPOUND);
    size_t nparts;
    assert_int_equal(ml_compound_split(out + 1, len - 1, got, ML_COMPOUND_MAX, &nparts, &e), 0);
    assert_int_equal(nparts, 2);
    assert_memory_equal(got[1].p, b, bl);
    /* Truncated: the complete first part is still handed out. */
    assert_int_equal(ml_compound_split(out + 1, len - 2, got, ML_COMPOUND_MAX, &nparts, &e), -1);
    assert_int_equal(nparts, 1);
    assert_int_equal(ml_compound_split(out + 1, 3, got, ML_COMPOUND_MAX, &nparts, &e), -1);
    assert_int_equal(ml_compound_split(out + 1, 2, got, 1, &nparts, &e), -1);
    assert_int_equal(ml_compound_build(parts, 0, out, sizeof(out), &len, &e), -1);
    assert_int_equal(ml_compound_build(parts, 2, out, 10, &len, &e), -1);
    /* CRC: known value, wrap, check, corrupt. */
    assert_int_equal(ml_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    assert_int_equal(ml_crc_wrap(out, len, out2, sizeof(out2), &len2, &e), 0);
    assert_int_equal(out2[0], ML_HAS_CRC);
    int count = 0;
    assert_int_equal(ml_packet_walk(out2, len2, noop_cb, &count, &e), 0);
    out2[len2 - 1] ^= 1;
    assert_int_equal(ml_packet_walk(out2, len2, noop_cb, &count, &e), -1);
    assert_non_null(strstr(e.msg, "crc"));
    assert_int_equal(ml_crc_wrap(out, len, out2, len, &len2, &e), -1);
    /* Nesting beyond the limit: crc(crc(crc(crc(crc(crc(nack)))))). */
    uint8_t nest[128];
    size_t nl = al;
    memcpy(nest, a, al);
    for (int i = 0; i < ML_PACKET_DEPTH_MAX + 2; i++)
        assert_int_equal(ml_crc_wrap(nest, nl, nest, sizeof(nest), &nl, &e), 0);
    assert_int_equal(ml_packet_walk(nest, nl, noop_cb, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "deeper"));
    assert_int_equal(ml_packet_walk(nest, 0, noop_cb, NULL, &e), -1);
}

static void test_push_pull(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    static struct ml_push_node nodes[3], back[3];
    memset(nodes, 0, sizeof(nodes));
    for (int i = 0; i < 3; i++) {
        snprintf(nodes[i].name, sizeof(nodes[i].name), "node-%d", i);
        memcpy(nodes[i].addr, i == 1 ? ip6 : ip4, i == 1 ? 16 : 4);
        nodes[i].addr_len = i == 1 ? 16 : 4;
        nodes[i].port = (uint16_t)(7946 + i);
        nodes[i].incarnation = (uint32_t)(i * 1000);
        nodes[i].state = (uint8_t)i;
        nodes[i].meta_len = (size_t)i * 100;
        memset(nodes[i].meta, 'm', nodes[i].meta_len);
        nodes[i].vsn_len = 6;
    }
    static uint8_t buf[8192];
    size_t len;
    const uint8_t us[] = {2, 0x80};
    assert_int_equal(
        ml_push_pull_encode(true, nodes, 3, us, sizeof(us), buf, sizeof(buf), &len, &e), 0);
    struct ml_push_pull_header h;
    const uint8_t *ups;
    assert_int_equal(ml_push_pull_decode(buf + 1, len - 1, &h, back, 3, &ups, &e), 0);
    assert_true(h.join);
    assert_int_equal(h.nodes, 3);
    assert_int_equal(h.user_state_len, 2);
    assert_memory_equal(ups, us, 2);
    assert_memory_equal(nodes, back, sizeof(nodes));
    check_prefixes(w_push_pull, buf + 1, len - 1);
    /* More nodes than the caller has room for. */
    assert_int_equal(ml_push_pull_decode(buf + 1, len - 1, &h, back, 2, &ups, &e), -1);
    /* Through compress, as memberlist sends it. */
    static uint8_t z[8192];
    size_t zl, used;
    assert_int_equal(ml_compress_wrap(buf, len, z, sizeof(z), &zl, &e), 0);
    uint8_t *in;
    size_t il;
    assert_int_equal(ml_compress_unwrap(z + 1, zl - 1, 1 << 20, &in, &il, &used, &e), 0);
    assert_int_equal(il, len);
    assert_memory_equal(in, buf, len);
    free(in);
    /* A header announcing 5000 nodes is refused before reading them: over
     * the caller's room, and (alloc) over its cap. */
    static const uint8_t hdr[] = {0x83, 0xa4, 'J', 'o',  'i',  'n',  0xc2, 0xa5, 'N', 'o',
                                  'd',  'e',  's', 0xcd, 0x13, 0x88, 0xac, 'U',  's', 'e',
                                  'r',  'S',  't', 'a',  't',  'e',  'L',  'e',  'n', 0x00};
    assert_int_equal(ml_push_pull_decode(hdr, sizeof(hdr), &h, back, 3, &ups, &e), -1);
    assert_non_null(strstr(e.msg, "5000 nodes"));
    struct ml_push_node *alloc = back;
    assert_int_equal(ml_push_pull_decode_alloc(hdr, sizeof(hdr), &h, &alloc, 4096, &ups, &e), -1);
    assert_null(alloc);
    assert_non_null(strstr(e.msg, "over the member limit"));
    /* Under the cap, but more nodes than the bytes can hold: refused before
     * allocating 5000 slots. */
    assert_int_equal(ml_push_pull_decode_alloc(hdr, sizeof(hdr), &h, &alloc, 8192, &ups, &e), -1);
    assert_null(alloc);
    assert_non_null(strstr(e.msg, "5000 nodes announced in 0 bytes"));
    /* Over the decoder's hard cap (70000 > ML_PUSH_NODES_MAX). */
    static const uint8_t big[] = {0x83, 0xa4, 'J',  'o',  'i',  'n',  0xc2, 0xa5, 'N', 'o', 'd',
                                  'e',  's',  0xce, 0x00, 0x01, 0x11, 0x70, 0xac, 'U', 's', 'e',
                                  'r',  'S',  't',  'a',  't',  'e',  'L',  'e',  'n', 0x00};
    assert_int_equal(ml_push_pull_decode_alloc(big, sizeof(big), &h, &alloc, 100000, &ups, &e), -1);
    assert_non_null(strstr(e.msg, "Nodes"));
    /* The alloc decoder sizes the array from the header: 3 nodes back. */
    assert_int_equal(ml_push_pull_decode_alloc(buf + 1, len - 1, &h, &alloc, 3, &ups, &e), 0);
    assert_non_null(alloc);
    assert_int_equal(h.nodes, 3);
    assert_memory_equal(nodes, alloc, sizeof(nodes));
    free(alloc);
    assert_int_equal(ml_push_pull_decode_alloc(buf + 1, len - 1, &h, &alloc, 2, &ups, &e), -1);
    assert_null(alloc);
}

static void test_serf(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    uint8_t buf[4096];
    size_t len;
    struct serf_join j = {.ltime = 1ull << 40}, j2;
    strcpy(j.node, "gw-7");
    assert_int_equal(serf_join_encode(&j, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(buf[0], SERF_JOIN);
    assert_int_equal(serf_join_decode(buf + 1, len - 1, &j2, &e), 0);
    assert_memory_equal(&j, &j2, sizeof(j));
    check_prefixes(w_serf_join_decode, buf + 1, len - 1);

    struct serf_leave l = {.ltime = 9, .prune = true}, l2;
    strcpy(l.node, "gw-7");
    assert_int_equal(serf_leave_encode(&l, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(serf_leave_decode(buf + 1, len - 1, &l2, &e), 0);
    assert_memory_equal(&l, &l2, sizeof(l));
    check_prefixes(w_serf_leave_decode, buf + 1, len - 1);

    struct serf_user_event ev = {.ltime = 3,
                                 .payload = (const uint8_t *)"v1.2.3",
                                 .payload_len = 6,
                                 .cc = true},
                           ev2;
    strcpy(ev.name, "deploy");
    assert_int_equal(serf_user_event_encode(&ev, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(serf_user_event_decode(buf + 1, len - 1, &ev2, &e), 0);
    assert_string_equal(ev2.name, "deploy");
    assert_int_equal(ev2.payload_len, 6);
    assert_memory_equal(ev2.payload, "v1.2.3", 6);
    assert_true(ev2.cc);
    check_prefixes(w_serf_user_event_decode, buf + 1, len - 1);

    static const uint8_t f0[] = {0, 0x91, 0xa4, 'b', 'e', 't', 'a'};
    struct serf_query q = {.ltime = 4,
                           .id = 0xdeadbeef,
                           .addr_len = 4,
                           .port = 7946,
                           .n_filters = 1,
                           .flags = SERF_QUERY_ACK,
                           .relay_factor = 2,
                           .timeout_ns = 1500000000LL,
                           .payload = (const uint8_t *)"x",
                           .payload_len = 1},
                      q2;
    memcpy(q.addr, ip4, 4);
    q.filters[0].p = f0;
    q.filters[0].len = sizeof(f0);
    strcpy(q.source_node, "alpha");
    strcpy(q.name, "uptime");
    assert_int_equal(serf_query_encode(&q, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(serf_query_decode(buf + 1, len - 1, &q2, &e), 0);
    assert_int_equal(q2.id, q.id);
    assert_int_equal(q2.timeout_ns, q.timeout_ns);
    assert_int_equal(q2.n_filters, 1);
    assert_memory_equal(q2.filters[0].p, f0, sizeof(f0));
    assert_string_equal(q2.name, "uptime");
    assert_string_equal(q2.source_node, "alpha");
    assert_int_equal(q2.relay_factor, 2);
    check_prefixes(w_serf_query_decode, buf + 1, len - 1);

    struct serf_query_response r = {.ltime = 4, .id = 7, .flags = 1}, r2;
    strcpy(r.from, "beta");
    assert_int_equal(serf_query_response_encode(&r, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(serf_query_response_decode(buf + 1, len - 1, &r2, &e), 0);
    assert_string_equal(r2.from, "beta");
    assert_int_equal(r2.id, 7);
    check_prefixes(w_serf_query_response_decode, buf + 1, len - 1);

    /* Tags: round trip, the 512-byte limit, the pre-v3 role form. */
    struct serf_tag tags[3], back[SERF_TAGS_MAX];
    strcpy(tags[0].key, "role");
    strcpy(tags[0].value, "edge");
    strcpy(tags[1].key, "zone");
    strcpy(tags[1].value, "a");
    size_t n;
    uint8_t meta[ML_META_MAX];
    assert_int_equal(serf_tags_encode(tags, 2, meta, sizeof(meta), &len, &e), 0);
    assert_int_equal(meta[0], SERF_TAG_MAGIC);
    assert_int_equal(serf_tags_decode(meta, len, back, SERF_TAGS_MAX, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(serf_tag_get(back, n, "zone"), "a");
    assert_null(serf_tag_get(back, n, "none"));
    /* Prefix 0 is "no tags" (checked below); every other prefix is refused. */
    for (size_t cut = 1; cut < len; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, meta, cut);
        assert_int_equal(serf_tags_decode(copy, cut, back, SERF_TAGS_MAX, &n, &e), -1);
        free(copy);
    }
    strcpy(tags[2].key, "big");
    memset(tags[2].value, 'v', 500);
    tags[2].value[500] = '\0';
    assert_int_equal(serf_tags_encode(tags, 3, meta, sizeof(meta), &len, &e), -1);
    assert_int_equal(serf_tags_decode((const uint8_t *)"core", 4, back, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(back[0].value, "core");
    assert_int_equal(serf_tags_decode(meta, 0, back, 4, &n, &e), 0);
    assert_int_equal(n, 0);
}

static void test_keyring_and_crypt(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    struct keyring kr;
    keyring_init(&kr);
    uint8_t k16[16], k32[32];
    for (int i = 0; i < 32; i++)
        k32[i] = (uint8_t)(i * 7);
    memcpy(k16, k32, 16);
    char b64[KEYRING_B64_MAX];
    assert_int_equal(keyring_b64_encode(k32, 32, b64, sizeof(b64), &e), 0);
    assert_int_equal(strlen(b64), 44);
    assert_int_equal(keyring_add_base64(&kr, b64, &e), 0);
    assert_int_equal(keyring_add(&kr, k16, 16, &e), 0);
    assert_int_equal(keyring_add(&kr, k16, 16, &e), 0); /* no duplicate */
    assert_int_equal(kr.n, 2);
    assert_int_equal(keyring_add(&kr, k16, 17, &e), -1);
    assert_int_equal(keyring_add_base64(&kr, "AAAA", &e), -1); /* 3 bytes */
    assert_int_equal(keyring_add_base64(&kr, "A*AA====", &e), -1);
    assert_int_equal(keyring_add_base64(&kr, "abc", &e), -1);
    size_t pl;
    assert_memory_equal(keyring_primary(&kr, &pl), k32, 32);
    assert_int_equal(keyring_remove(&kr, k32, 32, &e), -1); /* primary */

    uint8_t msg[100], blob[200], back[200];
    for (int i = 0; i < 100; i++)
        msg[i] = (uint8_t)i;
    size_t bl, len;
    static const uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_int_equal(ml_crypt_packet_seal(&kr, nonce, msg, 100, blob, sizeof(blob), &bl, &e), 0);
    assert_int_equal(bl, 100 + ML_CRYPT_OVERHEAD);
    assert_int_equal(blob[0], 1);
    assert_memory_equal(blob + 1, nonce, 12);
    assert_int_equal(ml_crypt_packet_open(&kr, blob, bl, back, sizeof(back), &len, &e), 0);
    assert_int_equal(len, 100);
    assert_memory_equal(back, msg, 100);
    /* Rotate: k16 primary; old packets still open (k32 is installed). */
    assert_int_equal(keyring_use(&kr, k16, 16, &e), 0);
    assert_int_equal(ml_crypt_packet_open(&kr, blob, bl, back, sizeof(back), &len, &e), 0);
    assert_int_equal(keyring_remove(&kr, k32, 32, &e), 0);
    assert_int_equal(ml_crypt_packet_open(&kr, blob, bl, back, sizeof(back), &len, &e), -1);
    /* Random nonce, every prefix refused, version 2 refused. */
    assert_int_equal(ml_crypt_packet_seal(&kr, NULL, msg, 100, blob, sizeof(blob), &bl, &e), 0);
    for (size_t cut = 0; cut < bl; cut++)
        assert_int_equal(ml_crypt_packet_open(&kr, blob, cut, back, sizeof(back), &len, &e), -1);
    blob[0] = 2;
    assert_int_equal(ml_crypt_packet_open(&kr, blob, bl, back, sizeof(back), &len, &e), -1);
    assert_non_null(strstr(e.msg, "version"));
    assert_int_equal(ml_crypt_packet_seal(&kr, NULL, msg, 100, blob, 100, &bl, &e), -1);
    /* Version 0 (protocol 1 peers): PKCS#7 padding inside the GCM. */
    uint8_t padded[112];
    memcpy(padded, msg, 100);
    memset(padded + 100, 12, 12);
    blob[0] = 0;
    memcpy(blob + 1, nonce, 12);
    assert_int_equal(tls_aead_seal(k16, 16, nonce, NULL, 0, padded, 112, blob + 13, &e), 0);
    assert_int_equal(ml_crypt_packet_open(&kr, blob, 13 + 112 + 16, back, sizeof(back), &len, &e),
                     0);
    assert_int_equal(len, 100);
    assert_memory_equal(back, msg, 100);
    padded[111] = 13; /* inconsistent padding */
    assert_int_equal(tls_aead_seal(k16, 16, nonce, NULL, 0, padded, 112, blob + 13, &e), 0);
    assert_int_equal(ml_crypt_packet_open(&kr, blob, 13 + 112 + 16, back, sizeof(back), &len, &e),
                     -1);
    /* Streams: the 5-byte header is authenticated. */
    size_t used;
    assert_int_equal(ml_crypt_stream_seal(&kr, NULL, msg, 100, blob, sizeof(blob), &bl, &e), 0);
    assert_int_equal(blob[0], ML_ENCRYPT);
    assert_int_equal(bl, 5 + 100 + ML_CRYPT_OVERHEAD);
    assert_int_equal(ml_crypt_stream_open(&kr, blob, bl, back, sizeof(back), &len, &used, &e), 0);
    assert_int_equal(used, bl);
    assert_int_equal(len, 100);
    for (size_t cut = 0; cut < bl; cut++)
        assert_int_equal(ml_crypt_stream_open(&kr, blob, cut, back, sizeof(back), &len, &used, &e),
                         -1);
    blob[1] = 0x7f; /* 2 GiB announced */
    assert_int_equal(ml_crypt_stream_open(&kr, blob, bl, back, sizeof(back), &len, &used, &e), -1);
    keyring_deinit(&kr);
    assert_null(keyring_primary(&kr, &pl));
    assert_int_equal(ml_crypt_packet_seal(&kr, NULL, msg, 1, blob, sizeof(blob), &bl, &e), -1);
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    uint8_t g[256];
    uint32_t x = 99;
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(round % 200);
        for (size_t i = 0; i < n; i++) {
            x = x * 1664525u + 1013904223u;
            g[i] = (uint8_t)(x >> 24);
        }
        /* Bias toward maps with known keys now and then. */
        if (round % 3 == 0 && n > 8) {
            g[0] = 0x85;
            memcpy(g + 1, "\xa5SeqNo", 6);
        }
        for (size_t d = 0; d < sizeof(decoders) / sizeof(decoders[0]); d++) {
            uint8_t *copy = malloc(n + 1);
            memcpy(copy, g, n);
            struct weft_err e = {{0}};
            if (decoders[d].fn(copy, n, &e) < 0)
                assert_true(err_is_set(&e));
            free(copy);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_family),
        cmocka_unit_test(test_state_messages),
        cmocka_unit_test(test_integer_widths_and_limits),
        cmocka_unit_test(test_compound_and_crc),
        cmocka_unit_test(test_push_pull),
        cmocka_unit_test(test_serf),
        cmocka_unit_test(test_keyring_and_crypt),
        cmocka_unit_test(test_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
