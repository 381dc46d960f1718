/*
 * issue: leaf certificates (X509-SVIDs) for nodes and services.
 *
 * A leaf: ECDSA P-256 key (new for each certificate), X.509 v3, subject
 * CN=<name>, EXACTLY ONE subjectAltName, the URI spiffe://TD/node/NAME or
 * spiffe://TD/svc/NAME (no DNS names: peers are authenticated by SPIFFE ID,
 * never by host name), keyUsage digitalSignature (critical),
 * extendedKeyUsage serverAuth + clientAuth (every weft peer is both),
 * basicConstraints CA:FALSE, authorityKeyIdentifier, a random positive
 * 128-bit serial, validity from one minute ago for the lifetime asked. A leaf
 * never outlives its CA.
 *
 * issue.c prepares the certificate; ca.c signs it (issue.c never sees the CA
 * key).
 */
#ifndef WEFT_PKI_ISSUE_H
#define WEFT_PKI_ISSUE_H

#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"
#include "pki/ca.h"
#include "pki/spiffe.h"

/* Nodes hold a long-lived credential, services short ones (docs/identity.md). */
#define PKI_NODE_DAYS_DEFAULT 90
#define PKI_SVC_HOURS_DEFAULT 24

/** An issued leaf. Owns its buffers: pki_leaf_init() / pki_leaf_deinit(). */
struct pki_leaf {
    struct sbuf key_pem; /* the private key, PEM: wiped by pki_leaf_deinit */
    struct sbuf crt_pem; /* the certificate, PEM */
    char id[SPIFFE_ID_MAX + 1];
    int64_t not_after; /* unix seconds */
};

/** Prepare an empty leaf (cannot fail). */
void pki_leaf_init(struct pki_leaf *leaf);
/** Wipe the key and release the buffers; safe after init alone. */
void pki_leaf_deinit(struct pki_leaf *leaf);

/**
 * Issue a certificate for spiffe://<ca's trust domain>/<kind>/<name>, valid
 * for lifetime_s seconds (> 0) from now, and no longer than the CA. Fills
 * *out (init'ed by the caller). Returns 0, or -1 with a message in e.
 */
int pki_issue_leaf(struct pki_ca *ca, enum spiffe_kind kind, const char *name, int64_t lifetime_s,
                   struct pki_leaf *out, struct weft_err *e);

/**
 * Issue a certificate for a public key the caller holds the private half of
 * (online renewal: the key was made on the node and never left it). pub_pem:
 * a "PUBLIC KEY" PEM, which must be ECDSA P-256. Valid from now_s (the
 * caller's clock, unix seconds) for lifetime_s, never past the CA. The PEM
 * goes into crt_pem (cleared first), the expiry into *not_after. Returns 0,
 * or -1 with a message in e.
 */
int pki_issue_for_pubkey(struct pki_ca *ca, enum spiffe_kind kind, const char *name, int64_t now_s,
                         int64_t lifetime_s, const char *pub_pem, struct sbuf *crt_pem,
                         int64_t *not_after, struct weft_err *e);

/** Is pub_pem a "PUBLIC KEY" PEM of an ECDSA P-256 key? Returns 0, or -1 with why. */
int pki_pubkey_check(const char *pub_pem, struct weft_err *e);

#endif
