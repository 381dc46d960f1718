/*
 * fuzz_serf: the Serf layer (gossip/serf.h) behind a real SWIM core, on one
 * plaintext datagram or stream: every user message (8) of the datagram
 * (compound and compressed ones included) reaches serf_notify_msg through
 * the core's delegate hook; a [compressed] push/pull stream is merged,
 * its Serf user state included (serf_merge_remote_state).
 *
 * Invariants: nothing crashes or leaks whatever the bytes; afterwards our
 * own push/pull user state still encodes and decodes back (the clocks and
 * the member count as the layer reports them), our outbox only holds user
 * messages, and the clocks never went below where they started.
 * Seeds: the serf 0.9.4 capture's datagrams and streams (as fuzz_gossip).
 */
#include <string.h>

#include "fuzz.h"
#include "gossip/ml_msg.h"
#include "gossip/serf.h"
#include "gossip/swim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct swim_config c;
    struct weft_err e = {{0}};
    struct swim_addr me = {{10, 0, 0, 1}, 4, 7946};
    struct swim_addr peer = {{10, 0, 0, 2}, 4, 7946};
    struct swim_actions act;
    swim_config_profile(&c, SWIM_PROFILE_LAN);
    c.push_pull_interval_ms = 0;
    c.members_max = 64;
    c.bcast_max = 64;
    struct swim *sw = swim_new(&c, "me", &me, 0, 1, 0, &e);
    if (!sw)
        return 0;
    struct serf_config sc;
    memset(&sc, 0, sizeof(sc));
    sc.name = "me";
    sc.addr = me;
    sc.members_max = 64;
    sc.bcast_max = 64;
    sc.clocks.member = 5;
    struct serf *sf = serf_new(&sc, NULL, NULL, &e);
    if (!sf) {
        swim_free(sw);
        return 0;
    }
    struct swim_delegate d;
    serf_delegate(sf, &d);
    swim_set_delegate(sw, &d);
    swim_actions_init(&act);
    serf_tick(sf, 1);

    (void)swim_on_packet(sw, 1, &peer, data, size, &act, &e);
    /* As a stream: unwrap a compressed one, then hand it to the core. */
    uint8_t *in = NULL;
    size_t inlen = size, used;
    const uint8_t *s = data;
    if (size > 1 && data[0] == ML_COMPRESS &&
        ml_compress_unwrap(data + 1, size - 1, ML_DECOMPRESS_MAX, &in, &inlen, &used, &e) == 0)
        s = in;
    if (inlen > 0 && (s[0] == ML_PUSH_PULL || s[0] == ML_USER))
        (void)swim_on_stream(sw, 2, &peer, false, 1, s, inlen, &act, &e);
    free(in);
    /* The user state as such, too. */
    serf_merge_remote_state(sf, data, size, true);

    struct serf_clocks ck;
    serf_clocks(sf, &ck);
    FUZZ_CHECK(ck.member >= 6 && ck.event >= 1 && ck.query >= 1, "a clock went back");
    size_t n;
    const struct serf_send *o = serf_outbox(sf, &n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(o[i].len >= 2 && o[i].buf[0] == ML_USER, "outbox entry %zu not a user msg", i);
    uint8_t *st = NULL;
    size_t sl = serf_local_state(sf, false, &st);
    if (sl) {
        struct serf_push_pull pp;
        static struct serf_status ss[64];
        FUZZ_CHECK(st[0] == SERF_PUSH_PULL, "user state type %u", st[0]);
        FUZZ_CHECK(serf_push_pull_decode(st + 1, sl - 1, &pp, ss, 64, &e) == 0,
                   "our user state does not decode: %s", e.msg);
        FUZZ_CHECK(pp.ltime == ck.member && pp.event_ltime == ck.event &&
                       pp.query_ltime == ck.query,
                   "clocks differ in our user state");
        FUZZ_CHECK(pp.n_status == serf_member_count(sf), "members %zu != %zu", pp.n_status,
                   serf_member_count(sf));
    }
    free(st);
    swim_actions_deinit(&act);
    swim_free(sw);
    serf_free(sf);
    return 0;
}
