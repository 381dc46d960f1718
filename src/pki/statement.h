/*
 * statement: facts the CA signs for the replicated state (docs/identity.md
 * "The trust bundle in the replicated state"). Records of the mesh's state
 * are authenticated hop by hop (mTLS between nodes) but not end to end: any
 * node could forge a record that names another writer. What only the CA may
 * say, the CA signs: a node takes such a record only if a root it already
 * trusts signed it.
 *
 * A statement's body (a record body):
 *
 *     signature = <root fingerprint> <DER ECDSA-SHA256 signature, hex>\n
 *     [a second signature line during a root rotation]
 *     \n
 *     <payload>
 *
 * The signatures cover SHA-256("weft-statement-v1\n" kind "\n" name "\n"
 * payload), so a statement cannot be replayed under another kind or name.
 *
 * Ownership: outputs go to caller-owned sbufs; payload pointers point into
 * the body given.
 */
#ifndef WEFT_PKI_STATEMENT_H
#define WEFT_PKI_STATEMENT_H

#include <stddef.h>

#include "core/err.h"
#include "core/sbuf.h"

struct pki_ca;

/** Sign payload as (kind, name) with the CA's key(s); the body into out (cleared). */
int pki_statement_sign(struct pki_ca *ca, const char *kind, const char *name, const char *payload,
                       struct sbuf *out, struct weft_err *e);

/**
 * Verify a statement against trusted roots (PEM, one or more certificates):
 * at least one signature line by one of them must verify. On success
 * *payload / *payload_len point into body. Returns 0, or -1 with e.
 */
int pki_statement_verify(const char *roots_pem, const char *kind, const char *name,
                         const void *body, size_t len, const char **payload, size_t *payload_len,
                         struct weft_err *e);

#endif
