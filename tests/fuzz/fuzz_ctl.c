/*
 * fuzz_ctl: the control RPC's frame decoder (ctl/ctl_frame.h), the first code
 * that reads what a peer sends once its TLS handshake is done.
 *
 * The input is a byte stream as a connection would deliver it; it is decoded
 * frame after frame, as the server does, with a payload limit taken from the
 * first byte (so tiny and default limits are both exercised). Promises:
 *   - CTL_DEC_MORE consumes nothing, and the input is then shorter than a
 *     header, or than the header's length (which is within the limit);
 *   - CTL_DEC_ERR names a reason and a one-line message;
 *   - CTL_DEC_OK consumes a header and at most the limit, the message has
 *     the right shape (method valid for requests, error text for failed
 *     replies, body an object when present), and encoding the request again
 *     decodes to the same id and method.
 * Everything decoded is freed (LeakSanitizer).
 */
#include <string.h>

#include "core/jsonv.h"
#include "core/sbuf.h"
#include "ctl/ctl_frame.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const size_t limits[] = {16, 64, 1024, CTL_FRAME_MAX_DEFAULT};
    size_t max = limits[data[0] % 4];
    data++;
    size--;
    size_t off = 0;
    for (int frames = 0; frames < 64 && off <= size; frames++) {
        struct ctl_msg m;
        size_t used = 7;
        enum ctl_reason why = CTL_R_NONE;
        struct weft_err e = {{0}};
        enum ctl_dec d = ctl_frame_decode(data + off, size - off, max, &m, &used, &why, &e);
        if (d == CTL_DEC_MORE) {
            FUZZ_CHECK(used == 0, "MORE consumed %zu", used);
            FUZZ_CHECK(m.root == NULL, "MORE left a tree");
            size_t left = size - off;
            if (left >= CTL_HDR_LEN) {
                const uint8_t *h = data + off;
                size_t plen =
                    ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
                FUZZ_CHECK(plen <= max && left < CTL_HDR_LEN + plen, "MORE with a whole frame");
            }
            return 0;
        }
        if (d == CTL_DEC_ERR) {
            FUZZ_CHECK(why != CTL_R_NONE && why < CTL_R_MAX, "reason %d", (int)why);
            FUZZ_CHECK(err_is_set(&e) && !strchr(e.msg, '\n'), "message '%s'", e.msg);
            FUZZ_CHECK(m.root == NULL, "ERR left a tree");
            return 0;
        }
        FUZZ_CHECK(used >= CTL_HDR_LEN && used <= CTL_HDR_LEN + max && used <= size - off,
                   "used %zu of %zu", used, size - off);
        FUZZ_CHECK(!m.body || jsonv_type(m.body) == JSONV_OBJECT, "body not an object");
        if (m.kind == CTL_KIND_REQUEST) {
            FUZZ_CHECK(ctl_method_valid(m.method), "method '%s'", m.method ? m.method : "(null)");
            struct sbuf f;
            struct ctl_msg again;
            size_t used2;
            sbuf_init(&f);
            if (ctl_frame_request(&f, m.id, m.method, NULL, CTL_FRAME_MAX_DEFAULT, &e) == 0) {
                FUZZ_CHECK(ctl_frame_decode((const uint8_t *)f.data, f.len, CTL_FRAME_MAX_DEFAULT,
                                            &again, &used2, &why, &e) == CTL_DEC_OK,
                           "re-encoded request refused: %s", e.msg);
                FUZZ_CHECK(again.id == m.id && strcmp(again.method, m.method) == 0,
                           "round trip changed the request");
                ctl_msg_free(&again);
            }
            sbuf_deinit(&f);
        } else {
            FUZZ_CHECK(m.kind == CTL_KIND_REPLY, "kind %d", (int)m.kind);
            FUZZ_CHECK(m.ok || m.error, "failed reply without an error");
        }
        ctl_msg_free(&m);
        off += used;
    }
    return 0;
}
