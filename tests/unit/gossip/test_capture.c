/*
 * gossip capture tests: every datagram and TCP stream that two stock serf
 * 0.9.4 agents (memberlist 0.2.2) exchanged, decoded fully: CRC, compound,
 * LZW, each memberlist message, each Serf message, the tags in node meta;
 * then the same scenario encrypted, opened with its key; then a wrong key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gossip/keyring.h"
#include "gossip/ml_crypt.h"

#include "capture.h"
#include "walk.h"

static int verbose(void)
{
    return getenv("WEFT_TEST_VERBOSE") != NULL;
}

/* Join TCP segments of one direction (sport->dport) in order. */
static uint8_t *join_stream(const struct capture *c, int sport, int dport, size_t *len)
{
    uint8_t *s = NULL;
    *len = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct cap_rec *r = &c->rec[i];
        if (!r->tcp || r->sport != sport || r->dport != dport)
            continue;
        s = realloc(s, *len + r->len);
        memcpy(s + *len, r->data, r->len);
        *len += r->len;
    }
    return s;
}

static void check_scenario(const struct tally *t)
{
    assert_true(t->saw_alpha);
    assert_true(t->saw_beta);
    assert_true(t->port_alpha);
    assert_true(t->port_beta);
    assert_true(t->tags_alpha_edge_a);
    assert_true(t->tags_beta_core);
    assert_true(t->tags_beta_zone_b);
    assert_true(t->event_deploy);
    assert_true(t->query_uptime);
    assert_true(t->query_response);
    assert_true(t->join_beta);
    assert_true(t->leave_beta);
    assert_int_equal(t->pushpull_streams, 2);
    assert_true(t->by_type[ML_PING] > 0);
    assert_true(t->by_type[ML_ACK] > 0);
    assert_true(t->by_type[ML_ALIVE] > 0);
    assert_true(t->by_type[ML_USER] > 0);
    /* go-msgpack's encoding of these structs is deterministic: ours equals it. */
    assert_int_equal(t->roundtrip_equal, t->roundtrip_checked);
}

static void print_tally(const struct tally *t)
{
    if (!verbose())
        return;
    for (int i = 0; i < 256; i++)
        if (t->by_type[i])
            printf("type %d: %d\n", i, t->by_type[i]);
    for (int i = 0; i < 16; i++)
        if (t->serf_by_type[i])
            printf("serf type %d: %d\n", i, t->serf_by_type[i]);
    printf("round trips %d/%d\n", t->roundtrip_equal, t->roundtrip_checked);
}

static void test_plain_capture(void **state)
{
    (void)state;
    static struct capture c;
    assert_int_equal(cap_load(&c, "plain.txt"), 0);
    assert_true(c.n > 40);
    static struct tally t;
    memset(&t, 0, sizeof(t));
    t.verbose = verbose();
    size_t udp = 0, crc = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct cap_rec *r = &c.rec[i];
        if (r->tcp)
            continue;
        struct weft_err e = {{0}};
        if (t.verbose)
            printf("frame %d %d->%d %zu bytes\n", r->frame, r->sport, r->dport, r->len);
        udp++;
        if (r->data[0] == ML_HAS_CRC)
            crc++;
        if (ml_packet_walk(r->data, r->len, tally_msg, &t, &e) < 0)
            fail_msg("frame %d: %s", r->frame, e.msg);
    }
    /* Pings, acks and single gossip messages are sent as they are; the
     * gossip path (compound / compressed) gets the CRC wrapper, as the
     * peer advertises protocol max 5. */
    assert_true(crc > 0 && crc < udp);
    int ports[2][2] = {{-1, -1}, {-1, -1}};
    size_t np = 0;
    for (size_t i = 0; i < c.n && np < 2; i++)
        if (c.rec[i].tcp && c.rec[i].dport == 33946) {
            ports[np][0] = c.rec[i].sport;
            ports[np][1] = c.rec[i].dport;
            np++;
        }
    assert_int_equal(np, 1);
    for (int dir = 0; dir < 2; dir++) {
        size_t len;
        int sp = dir ? ports[0][1] : ports[0][0], dp = dir ? ports[0][0] : ports[0][1];
        uint8_t *s = join_stream(&c, sp, dp, &len);
        assert_non_null(s);
        struct weft_err e = {{0}};
        assert_int_equal(s[0], ML_COMPRESS); /* memberlist always compresses streams */
        if (tally_stream(&t, s, len, &e) < 0)
            fail_msg("stream %d->%d: %s", sp, dp, e.msg);
        free(s);
    }
    print_tally(&t);
    check_scenario(&t);
    assert_true(t.dead_left_beta);
    cap_free(&c);
}

static void test_encrypted_capture(void **state)
{
    (void)state;
    static struct capture c;
    assert_int_equal(cap_load(&c, "encrypted.txt"), 0);
    char *key = cap_read_text("encrypt-key.txt");
    assert_non_null(key);
    struct keyring kr;
    keyring_init(&kr);
    struct weft_err e = {{0}};
    assert_int_equal(keyring_add_base64(&kr, key, &e), 0);
    size_t klen;
    assert_non_null(keyring_primary(&kr, &klen));
    assert_int_equal(klen, 32);
    static struct tally t;
    memset(&t, 0, sizeof(t));
    t.verbose = verbose();
    static uint8_t plain[1 << 16];
    size_t udp = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct cap_rec *r = &c.rec[i];
        if (r->tcp)
            continue;
        size_t pl;
        udp++;
        assert_int_equal(r->data[0], 1); /* version 1 blobs */
        if (ml_crypt_packet_open(&kr, r->data, r->len, plain, sizeof(plain), &pl, &e) < 0)
            fail_msg("frame %d: %s", r->frame, e.msg);
        assert_int_equal(pl, r->len - ML_CRYPT_OVERHEAD);
        if (ml_packet_walk(plain, pl, tally_msg, &t, &e) < 0)
            fail_msg("frame %d: %s", r->frame, e.msg);
    }
    assert_true(udp > 30);
    int sp = -1;
    for (size_t i = 0; i < c.n; i++)
        if (c.rec[i].tcp && c.rec[i].dport == 33946) {
            sp = c.rec[i].sport;
            break;
        }
    assert_true(sp > 0);
    for (int dir = 0; dir < 2; dir++) {
        size_t len, pl, used;
        uint8_t *s = dir ? join_stream(&c, 33946, sp, &len) : join_stream(&c, sp, 33946, &len);
        assert_non_null(s);
        assert_int_equal(s[0], ML_ENCRYPT);
        if (ml_crypt_stream_open(&kr, s, len, plain, sizeof(plain), &pl, &used, &e) < 0)
            fail_msg("stream %d: %s", dir, e.msg);
        assert_int_equal(used, len);
        if (tally_stream(&t, plain, pl, &e) < 0)
            fail_msg("stream %d: %s", dir, e.msg);
        /* The header is the AAD: change the length byte's neighbour (the
         * type) and authentication fails even with the right key. */
        s[0] = ML_ENCRYPT;
        uint8_t saved = s[len - 1];
        s[len - 1] ^= 1;
        assert_int_equal(ml_crypt_stream_open(&kr, s, len, plain, sizeof(plain), &pl, &used, &e),
                         -1);
        s[len - 1] = saved;
        free(s);
    }
    print_tally(&t);
    check_scenario(&t);

    /* A wrong key: every packet fails cleanly, with a message. */
    struct keyring bad;
    keyring_init(&bad);
    uint8_t k2[32] = {1, 2, 3};
    assert_int_equal(keyring_add(&bad, k2, sizeof(k2), &e), 0);
    for (size_t i = 0; i < c.n; i++) {
        const struct cap_rec *r = &c.rec[i];
        size_t pl, used;
        struct weft_err be = {{0}};
        int rc =
            r->tcp
                ? ml_crypt_stream_open(&bad, r->data, r->len, plain, sizeof(plain), &pl, &used, &be)
                : ml_crypt_packet_open(&bad, r->data, r->len, plain, sizeof(plain), &pl, &be);
        assert_int_equal(rc, -1);
        assert_true(err_is_set(&be));
    }
    /* Rotation: the right key as a secondary still opens everything. */
    assert_int_equal(keyring_add_base64(&bad, key, &e), 0);
    for (size_t i = 0; i < c.n; i++) {
        const struct cap_rec *r = &c.rec[i];
        size_t pl;
        if (!r->tcp)
            assert_int_equal(
                ml_crypt_packet_open(&bad, r->data, r->len, plain, sizeof(plain), &pl, &e), 0);
    }
    keyring_deinit(&bad);
    keyring_deinit(&kr);
    free(key);
    cap_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_capture),
        cmocka_unit_test(test_encrypted_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
