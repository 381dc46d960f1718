/*
 * fuzz_spiffe: pki/spiffe.h's parser, the gate every peer certificate's
 * identity will pass through.
 *
 * Any bytes go in (not NUL-terminated: the parser takes a length). When an
 * ID parses:
 *   - its trust domain and name pass the same checks the issuer applies;
 *   - formatting it again gives back exactly the input bytes (one spelling
 *     per identity: no two strings may name the same node or service).
 * When it does not parse, the message says why.
 */
#include <string.h>

#include "fuzz.h"
#include "pki/spiffe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct spiffe_id id;
    struct weft_err e = {{0}};
    char again[SPIFFE_ID_MAX + 1];

    if (spiffe_id_parse((const char *)data, size, &id, &e) != 0) {
        FUZZ_CHECK(err_is_set(&e), "refused without a message");
        return 0;
    }
    FUZZ_CHECK(id.kind == SPIFFE_NODE || id.kind == SPIFFE_SVC, "kind %d", (int)id.kind);
    FUZZ_CHECK(spiffe_trust_domain_check(id.trust_domain, &e) == 0, "td: %s", e.msg);
    FUZZ_CHECK(spiffe_name_check(id.kind, id.name, &e) == 0, "name: %s", e.msg);
    FUZZ_CHECK(spiffe_id_format(id.kind, id.trust_domain, id.name, again, sizeof(again), &e) == 0,
               "format: %s", e.msg);
    FUZZ_CHECK(strlen(again) == size && memcmp(again, data, size) == 0, "'%s' does not round-trip",
               again);
    return 0;
}
