/*
 * walk: decode everything in a plaintext memberlist packet or stream and
 * tally what was seen, for the capture tests (plain and encrypted share it).
 * Every message goes through its decoder; a decoder error fails the walk.
 */
#ifndef WEFT_TEST_GOSSIP_WALK_H
#define WEFT_TEST_GOSSIP_WALK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/ml_msg.h"
#include "gossip/serf_msg.h"

struct tally {
    int by_type[256];
    int serf_by_type[16];
    int verbose;
    /* what the scenario must show */
    bool saw_alpha, saw_beta;
    bool port_alpha, port_beta;
    bool tags_alpha_edge_a, tags_beta_core, tags_beta_zone_b;
    bool event_deploy;
    bool query_uptime, query_response;
    bool join_beta, leave_beta, dead_left_beta;
    int pushpull_streams;
    int roundtrip_equal, roundtrip_checked;
    char last_err[256];
};

static inline void tally_tags(struct tally *t, const char *node, const uint8_t *meta, size_t len,
                              struct weft_err *e, int *rc)
{
    struct serf_tag tags[SERF_TAGS_MAX];
    size_t n;
    if (serf_tags_decode(meta, len, tags, SERF_TAGS_MAX, &n, e) < 0) {
        *rc = -1;
        return;
    }
    const char *role = serf_tag_get(tags, n, "role");
    const char *zone = serf_tag_get(tags, n, "zone");
    if (t->verbose)
        printf("    tags of %s: role=%s zone=%s (%zu)\n", node, role ? role : "-",
               zone ? zone : "-", n);
    if (strcmp(node, "alpha") == 0 && role && zone && !strcmp(role, "edge") && !strcmp(zone, "a"))
        t->tags_alpha_edge_a = true;
    if (strcmp(node, "beta") == 0 && role && !strcmp(role, "core") && !zone)
        t->tags_beta_core = true;
    if (strcmp(node, "beta") == 0 && role && zone && !strcmp(role, "core") && !strcmp(zone, "b"))
        t->tags_beta_zone_b = true;
    /* Re-encoding tags: equal as a set (Go map order is random). */
    uint8_t meta2[ML_META_MAX];
    size_t l2, n2;
    struct serf_tag back[SERF_TAGS_MAX];
    if (serf_tags_encode(tags, n, meta2, sizeof(meta2), &l2, e) < 0 ||
        serf_tags_decode(meta2, l2, back, SERF_TAGS_MAX, &n2, e) < 0 || n2 != n) {
        *rc = -1;
        return;
    }
    if (l2 != len)
        *rc = err_set(e, "tags re-encoded to %zu bytes, not %zu", l2, len);
}

static inline void tally_node(struct tally *t, const char *node, uint16_t port)
{
    if (!strcmp(node, "alpha")) {
        t->saw_alpha = true;
        if (port == 33946)
            t->port_alpha = true;
    }
    if (!strcmp(node, "beta")) {
        t->saw_beta = true;
        if (port == 33947)
            t->port_beta = true;
    }
}

/* Compare a re-encoding with the original [type][body]. */
static inline void tally_rt(struct tally *t, uint8_t type, const uint8_t *body, size_t len,
                            const uint8_t *enc, size_t elen)
{
    t->roundtrip_checked++;
    if (elen == len + 1 && enc[0] == type && memcmp(enc + 1, body, len) == 0)
        t->roundtrip_equal++;
    else if (t->verbose) {
        printf("    round trip differs for type %u (%zu vs %zu)\n    ", type, elen, len + 1);
        for (size_t i = 0; i < len; i++)
            printf("%02x", body[i]);
        printf("\n    ");
        for (size_t i = 1; i < elen; i++)
            printf("%02x", enc[i]);
        printf("\n");
    }
}

static inline int tally_serf(struct tally *t, const uint8_t *b, size_t len, struct weft_err *e)
{
    if (len < 1)
        return err_set(e, "serf: empty user message");
    uint8_t out[16384];
    size_t ol;
    t->serf_by_type[b[0] & 15]++;
    switch (b[0]) {
    case SERF_JOIN: {
        struct serf_join m;
        if (serf_join_decode(b + 1, len - 1, &m, e) < 0 ||
            serf_join_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, b[0], b + 1, len - 1, out, ol);
        if (t->verbose)
            printf("    serf join %s ltime %llu\n", m.node, (unsigned long long)m.ltime);
        if (!strcmp(m.node, "beta"))
            t->join_beta = true;
        return 0;
    }
    case SERF_LEAVE: {
        struct serf_leave m;
        if (serf_leave_decode(b + 1, len - 1, &m, e) < 0 ||
            serf_leave_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, b[0], b + 1, len - 1, out, ol);
        if (t->verbose)
            printf("    serf leave %s ltime %llu prune %d\n", m.node, (unsigned long long)m.ltime,
                   m.prune);
        if (!strcmp(m.node, "beta"))
            t->leave_beta = true;
        return 0;
    }
    case SERF_USER_EVENT: {
        struct serf_user_event m;
        if (serf_user_event_decode(b + 1, len - 1, &m, e) < 0 ||
            serf_user_event_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, b[0], b + 1, len - 1, out, ol);
        if (t->verbose)
            printf("    serf event %s payload %.*s cc %d ltime %llu\n", m.name, (int)m.payload_len,
                   (const char *)m.payload, m.cc, (unsigned long long)m.ltime);
        if (!strcmp(m.name, "deploy") && m.payload_len == 6 && !memcmp(m.payload, "v1.2.3", 6))
            t->event_deploy = true;
        return 0;
    }
    case SERF_QUERY: {
        struct serf_query m;
        if (serf_query_decode(b + 1, len - 1, &m, e) < 0 ||
            serf_query_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, b[0], b + 1, len - 1, out, ol);
        if (t->verbose)
            printf("    serf query %s id %u from %s port %u timeout %lld flags %u filters %zu\n",
                   m.name, m.id, m.source_node, m.port, (long long)m.timeout_ns, m.flags,
                   m.n_filters);
        if (!strcmp(m.name, "uptime") && m.timeout_ns == 1000000000LL)
            t->query_uptime = true;
        return 0;
    }
    case SERF_QUERY_RESPONSE: {
        struct serf_query_response m;
        if (serf_query_response_decode(b + 1, len - 1, &m, e) < 0 ||
            serf_query_response_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, b[0], b + 1, len - 1, out, ol);
        if (t->verbose)
            printf("    serf query response id %u from %s flags %u payload %zu\n", m.id, m.from,
                   m.flags, m.payload_len);
        t->query_response = true;
        return 0;
    }
    default:
        return err_set(e, "serf: unexpected type %u in the capture", b[0]);
    }
}

static inline int tally_msg(void *ctx, enum ml_type type, const uint8_t *b, size_t len,
                            struct weft_err *e)
{
    struct tally *t = ctx;
    uint8_t out[4096];
    size_t ol;
    int rc = 0;
    t->by_type[type]++;
    switch (type) {
    case ML_PING: {
        struct ml_ping m;
        if (ml_ping_decode(b, len, &m, e) < 0 || ml_ping_encode(&m, out, sizeof(out), &ol, e))
            return -1;
        tally_rt(t, type, b, len, out, ol);
        if (t->verbose)
            printf("  ping %u node %s src %s:%u\n", m.seq_no, m.node, m.source_node, m.source_port);
        tally_node(t, m.source_node, m.source_port);
        return 0;
    }
    case ML_INDIRECT_PING: {
        struct ml_indirect_ping m;
        if (ml_indirect_ping_decode(b, len, &m, e) < 0 ||
            ml_indirect_ping_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, type, b, len, out, ol);
        return 0;
    }
    case ML_ACK: {
        struct ml_ack m;
        if (ml_ack_decode(b, len, &m, e) < 0 || ml_ack_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, type, b, len, out, ol);
        if (t->verbose)
            printf("  ack %u payload %zu\n", m.seq_no, m.payload_len);
        return 0;
    }
    case ML_NACK: {
        struct ml_nack m;
        if (ml_nack_decode(b, len, &m, e) < 0 || ml_nack_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, type, b, len, out, ol);
        return 0;
    }
    case ML_SUSPECT:
    case ML_DEAD: {
        struct ml_suspect m;
        if (ml_suspect_decode(b, len, &m, e) < 0 ||
            ml_suspect_encode(type, &m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, type, b, len, out, ol);
        if (t->verbose)
            printf("  %s %s inc %u from %s\n", type == ML_DEAD ? "dead" : "suspect", m.node,
                   m.incarnation, m.from);
        if (type == ML_DEAD && !strcmp(m.node, "beta") && !strcmp(m.from, "beta"))
            t->dead_left_beta = true;
        return 0;
    }
    case ML_ALIVE: {
        struct ml_alive m;
        if (ml_alive_decode(b, len, &m, e) < 0 || ml_alive_encode(&m, out, sizeof(out), &ol, e) < 0)
            return -1;
        tally_rt(t, type, b, len, out, ol);
        if (t->verbose)
            printf("  alive %s inc %u addr %zu port %u meta %zu vsn %u,%u,%u,%u,%u,%u\n", m.node,
                   m.incarnation, m.addr_len, m.port, m.meta_len, m.vsn[0], m.vsn[1], m.vsn[2],
                   m.vsn[3], m.vsn[4], m.vsn[5]);
        tally_node(t, m.node, m.port);
        tally_tags(t, m.node, m.meta, m.meta_len, e, &rc);
        return rc;
    }
    case ML_USER:
        if (t->verbose)
            printf("  user %zu bytes\n", len);
        return tally_serf(t, b, len, e);
    case ML_ERR: {
        struct ml_errmsg m;
        return ml_errmsg_decode(b, len, &m, e);
    }
    default:
        return err_set(e, "unexpected message type %d in a packet", (int)type);
    }
}

/* A plaintext stream: [9 compress]? then 6 push/pull (or 8 user). */
static inline int tally_stream(struct tally *t, const uint8_t *s, size_t len, struct weft_err *e)
{
    uint8_t *in = NULL;
    size_t inlen, used;
    int rc = -1;
    if (len < 1)
        return err_set(e, "stream: empty");
    if (s[0] == ML_COMPRESS) {
        if (ml_compress_unwrap(s + 1, len - 1, ML_DECOMPRESS_MAX, &in, &inlen, &used, e) < 0)
            return -1;
        s = in;
        len = inlen;
    }
    if (s[0] != ML_PUSH_PULL) {
        err_set(e, "stream: type %u, expected push/pull", s[0]);
        goto out;
    }
    static struct ml_push_node nodes[64];
    struct ml_push_pull_header h;
    const uint8_t *us;
    if (ml_push_pull_decode(s + 1, len - 1, &h, nodes, 64, &us, e) < 0)
        goto out;
    t->pushpull_streams++;
    if (t->verbose)
        printf("  push/pull join=%d nodes=%u user state %u\n", h.join, h.nodes, h.user_state_len);
    for (uint32_t i = 0; i < h.nodes; i++) {
        if (t->verbose)
            printf("    node %s port %u state %u inc %u\n", nodes[i].name, nodes[i].port,
                   nodes[i].state, nodes[i].incarnation);
        tally_node(t, nodes[i].name, nodes[i].port);
        int trc = 0;
        tally_tags(t, nodes[i].name, nodes[i].meta, nodes[i].meta_len, e, &trc);
        if (trc < 0)
            goto out;
    }
    /* Re-encode the whole push/pull: byte for byte. */
    static uint8_t enc[65536];
    size_t el;
    if (ml_push_pull_encode(h.join, nodes, h.nodes, us, h.user_state_len, enc, sizeof(enc), &el,
                            e) < 0)
        goto out;
    tally_rt(t, ML_PUSH_PULL, s + 1, (size_t)(us + h.user_state_len - (s + 1)), enc, el);
    if (h.user_state_len) {
        struct serf_push_pull pp;
        struct serf_status st[16];
        if (us[0] != SERF_PUSH_PULL) {
            err_set(e, "stream: user state type %u", us[0]);
            goto out;
        }
        if (serf_push_pull_decode(us + 1, h.user_state_len - 1, &pp, st, 16, e) < 0)
            goto out;
        if (t->verbose)
            printf("    serf push/pull ltime %llu status %zu left %zu events %zu\n",
                   (unsigned long long)pp.ltime, pp.n_status, pp.n_left, pp.n_events);
    }
    rc = 0;
out:
    free(in);
    return rc;
}

#endif
