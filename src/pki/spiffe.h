/*
 * spiffe: weft's SPIFFE IDs, built and parsed in one place.
 *
 * weft issues exactly two shapes of ID (docs/identity.md):
 *
 *     spiffe://TRUST-DOMAIN/node/NAME     a node (an edge gateway)
 *     spiffe://TRUST-DOMAIN/svc/NAME      a service identity
 *
 * The rules are stricter than the SPIFFE ID spec, so every ID weft makes is a
 * valid SPIFFE ID and no name can smuggle in extra path segments, percent
 * escapes or control bytes:
 *   - trust domain: a lowercase DNS name (the same rule as config's
 *     node.trust_domain): labels of [a-z0-9-], 1-63 each, not starting or
 *     ending with '-', 1-253 in all (the spec allows 255 and '_');
 *   - NAME: 1-63 of [A-Za-z0-9._-], starting with a letter or digit, without
 *     ".." (so never "." or ".." as a segment, and no '/', '%', NUL, space);
 *   - the whole URI is at most SPIFFE_ID_MAX bytes (the spec's 2048).
 * Error messages quote input only after these checks or as escaped bytes, so
 * a hostile name cannot forge log or terminal lines.
 */
#ifndef WEFT_PKI_SPIFFE_H
#define WEFT_PKI_SPIFFE_H

#include <stddef.h>

#include "core/err.h"

/* The SPIFFE ID spec: "URIs with a total length of up to 2048 bytes". */
#define SPIFFE_ID_MAX 2048
/* Trust domains are DNS names: 253 characters (the spec allows up to 255). */
#define SPIFFE_TD_MAX 253
/* One DNS label's worth, as config's node.name: names end up in DNS later. */
#define SPIFFE_NAME_MAX 63

/** What an ID names. */
enum spiffe_kind { SPIFFE_NODE, SPIFFE_SVC };

/** A parsed ID; the strings are NUL-terminated copies (no allocation). */
struct spiffe_id {
    enum spiffe_kind kind;
    char trust_domain[SPIFFE_TD_MAX + 1];
    char name[SPIFFE_NAME_MAX + 1];
};

/** "node" or "svc". */
const char *spiffe_kind_name(enum spiffe_kind kind);

/**
 * Check a trust domain (bare, without "spiffe://"). Returns 0, or -1 with
 * "trust domain '...': reason" in e.
 */
int spiffe_trust_domain_check(const char *td, struct weft_err *e);

/**
 * Check a node or service name. Returns 0, or -1 with
 * "node name '...': reason" (or "service name") in e.
 */
int spiffe_name_check(enum spiffe_kind kind, const char *name, struct weft_err *e);

/**
 * Build "spiffe://TD/KIND/NAME" into out (cap bytes, SPIFFE_ID_MAX + 1 is
 * always enough). Both parts are checked first. Returns 0, or -1 with a
 * message in e (out is then an empty string when cap > 0).
 */
int spiffe_id_format(enum spiffe_kind kind, const char *td, const char *name, char *out, size_t cap,
                     struct weft_err *e);

/**
 * Build the trust domain's own ID, "spiffe://TD" (carried by the CA
 * certificate). Returns 0, or -1 with a message in e.
 */
int spiffe_td_id_format(const char *td, char *out, size_t cap, struct weft_err *e);

/**
 * Parse a weft SPIFFE ID of len bytes (not necessarily NUL-terminated; an
 * embedded NUL is refused). Only the two shapes above are accepted: no
 * query, fragment, port, user info, percent escapes or other paths.
 * Returns 0 and fills *out, or -1 with a message in e.
 */
int spiffe_id_parse(const char *uri, size_t len, struct spiffe_id *out, struct weft_err *e);

#endif
