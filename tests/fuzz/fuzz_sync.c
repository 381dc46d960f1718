/*
 * fuzz_sync: the anti-entropy decoders of src/mesh/sync.c on arbitrary
 * bytes: every input goes to each decoder (summary, list_req, list,
 * records), to the responder (mesh_sync_serve, on a small table) and to an
 * initiator waiting for a list.
 *
 * Refused input: a one-line message (no newline), nothing kept.
 * Accepted input, the promises of sync.h:
 *   - summary: the digest is the XOR of the buckets; encoding it again and
 *     decoding gives the same summary;
 *   - list_req / list: positions and entries are valid keys in their
 *     bucket, entries in the mask, strictly ordered, "next" is the last;
 *     a plan against the table does not break;
 *   - records: every record passes mesh_record_check and merging them
 *     keeps the table's digests equal to a recount;
 *   - serve: a reply within the budget that decodes as the right type.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/sbuf.h"
#include "fuzz.h"
#include "mesh/sync.h"

#define T0 INT64_C(1795647662345)

static void one_line(const struct weft_err *e)
{
    FUZZ_CHECK(err_is_set(e), "refused without a message");
    FUZZ_CHECK(!strchr(e->msg, '\n'), "multi-line message: %s", e->msg);
}

static struct mesh_table *small_table(void)
{
    struct mesh_table *t = mesh_table_new(0);
    if (!t)
        return NULL;
    static const char *const names[] = {"a", "b", "c", "allow-sensors", "x/y@z"};
    for (int i = 0; i < 5; i++)
        mesh_table_write(t, i % 2 ? "policy" : "route", names[i], "spiffe://m/node/1", "v=1",
                         i == 3 ? 0 : 3, i == 3, T0, NULL, NULL);
    return t;
}

static int xor_one(const struct mesh_record *r, void *arg)
{
    *(uint64_t *)arg ^= mesh_record_hash(r);
    return 0;
}

static void check_list(const struct mesh_sync_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct mesh_sync_entry *en = &l->entries[i];
        struct weft_err e;
        err_clear(&e);
        FUZZ_CHECK(mesh_record_check(&en->rec, &e) == 0, "entry %zu invalid: %s", i, e.msg);
        FUZZ_CHECK(en->bucket == (int)mesh_key_bucket(en->rec.kind, en->rec.name),
                   "entry %zu: wrong bucket", i);
        FUZZ_CHECK(l->mask[en->bucket / 8] & (1u << (en->bucket % 8)), "entry %zu outside mask", i);
        if (i) {
            const struct mesh_sync_entry *p = &l->entries[i - 1];
            FUZZ_CHECK(p->bucket < en->bucket ||
                           (p->bucket == en->bucket &&
                            mesh_key_cmp(p->rec.kind, p->rec.name, en->rec.kind, en->rec.name) < 0),
                       "entry %zu out of order", i);
        }
    }
    if (l->more)
        FUZZ_CHECK(l->n > 0 && strcmp(l->next.key.name, l->entries[l->n - 1].rec.name) == 0,
                   "next is not the last entry");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct weft_err e;
    struct mesh_table *t = small_table();
    if (!t)
        return 0;

    /* summary */
    struct mesh_sync_summary s, back;
    err_clear(&e);
    if (mesh_sync_summary_decode(buf, size, &s, &e) == 0) {
        uint64_t x = 0;
        for (int b = 0; b < MESH_BUCKETS; b++)
            x ^= s.buckets[b];
        FUZZ_CHECK(x == s.digest, "digest is not the XOR of the buckets");
        struct sbuf out;
        sbuf_init(&out);
        if (mesh_sync_summary_encode(&s, &out) == 0) {
            FUZZ_CHECK(mesh_sync_summary_decode(out.data, out.len, &back, &e) == 0,
                       "re-encoded summary refused: %s", e.msg);
            FUZZ_CHECK(memcmp(&s, &back, sizeof(s)) == 0, "summary changed in a round trip");
        }
        sbuf_deinit(&out);
    } else {
        one_line(&e);
    }

    /* list_req */
    uint8_t mask[MESH_SYNC_MASK_BYTES];
    struct mesh_sync_pos after;
    err_clear(&e);
    if (mesh_sync_list_req_decode(buf, size, mask, &after, &e) == 0) {
        if (after.bucket >= 0)
            FUZZ_CHECK(after.bucket == (int)mesh_key_bucket(after.key.kind, after.key.name),
                       "after: wrong bucket");
    } else {
        one_line(&e);
    }

    /* list, and a plan against the table */
    struct mesh_sync_list l;
    err_clear(&e);
    if (mesh_sync_list_decode(buf, size, &l, &e) == 0) {
        check_list(&l);
        struct mesh_sync_plan p;
        if (mesh_sync_plan_make(t, &l, &p, &e) == 0) {
            FUZZ_CHECK(p.nwant <= l.n, "wants more keys than listed");
            mesh_sync_plan_deinit(&p);
        }
    } else {
        one_line(&e);
    }
    mesh_sync_list_deinit(&l);

    /* records, merged */
    struct mesh_sync_records r;
    err_clear(&e);
    if (mesh_sync_records_decode(buf, size, &r, &e) == 0) {
        for (size_t i = 0; i < r.nrecs; i++) {
            struct weft_err e2;
            err_clear(&e2);
            FUZZ_CHECK(mesh_record_check(&r.recs[i], &e2) == 0, "record %zu invalid: %s", i,
                       e2.msg);
        }
        struct mesh_sync_stats st = {0};
        if (mesh_sync_records_apply(t, &r, T0, &st, NULL) == 0) {
            FUZZ_CHECK(st.applied + st.ignored + st.refused == r.nrecs, "records unaccounted");
            uint64_t x = 0;
            mesh_table_foreach(t, NULL, xor_one, &x);
            FUZZ_CHECK(x == mesh_table_digest(t), "digest drifted from the records");
        }
    } else {
        one_line(&e);
    }
    mesh_sync_records_deinit(&r);

    /* the responder */
    struct sbuf out;
    sbuf_init(&out);
    err_clear(&e);
    if (mesh_sync_serve(t, buf, size, T0, MESH_SYNC_BUDGET_MIN, &out, NULL, &e) == 0) {
        enum mesh_sync_type ty;
        FUZZ_CHECK(out.len <= MESH_SYNC_BUDGET_MIN, "reply of %zu bytes over budget", out.len);
        FUZZ_CHECK(mesh_sync_type_of(out.data, out.len, &ty, &e) == 0, "reply unreadable: %s",
                   e.msg);
        FUZZ_CHECK(ty == MESH_SYNC_LIST || ty == MESH_SYNC_RECORDS, "reply of type %s",
                   mesh_sync_type_name(ty));
    } else if (!out.oom) {
        one_line(&e);
    }
    sbuf_deinit(&out);

    /* an initiator waiting for its first list */
    struct mesh_sync_session *ss = mesh_sync_session_new(t, 0);
    if (ss) {
        sbuf_init(&out);
        err_clear(&e);
        if (mesh_sync_session_next(ss, &out, &e) == 1) {
            err_clear(&e);
            if (mesh_sync_session_reply(ss, buf, size, T0, &e) == 0) {
                /* Drive it on to its next request; it must make one or end. */
                sbuf_reset(&out);
                int rc = mesh_sync_session_next(ss, &out, &e);
                FUZZ_CHECK(rc >= 0, "session broke after an accepted list: %s", e.msg);
            } else {
                one_line(&e);
            }
        }
        sbuf_deinit(&out);
        mesh_sync_session_free(ss);
    }
    mesh_table_free(t);
    return 0;
}
