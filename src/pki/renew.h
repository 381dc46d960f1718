/*
 * renew: the cryptography of online renewal (docs/identity.md, "The CA
 * service and renewal"), both sides.
 *
 * The node makes a new key pair per certificate (the private key never
 * leaves it; only the public key travels). For a service the CA has no
 * enrollment record for yet (a node enrolled offline by `weft ca issue`),
 * the node proves it holds the service's current key: it signs
 *
 *     "weft-renew-v1\n" <node SPIFFE ID> "\n" <new public key PEM>
 *
 * (SHA-256, ECDSA) with the key of its current service certificate, and
 * sends that certificate along. The CA checks the certificate is its own
 * (any age: an expired one proves the CA once gave the service out), names
 * that service, and the signature verifies with its key. The proof is bound
 * to the caller's node ID and to the new key, so it cannot be replayed by
 * another node or for another key.
 *
 * Ownership: outputs go into caller-owned sbufs; private-key buffers are
 * wiped by the caller's pki_leaf-like handling (pki_renew_keypair wipes what
 * it used internally).
 */
#ifndef WEFT_PKI_RENEW_H
#define WEFT_PKI_RENEW_H

#include "core/err.h"
#include "core/sbuf.h"

#include <stdint.h>

struct pki_ca;

/* Retries after a failed renewal: 2 s, doubling, at most 5 minutes. */
#define PKI_RENEW_BACKOFF_MIN_MS 2000
#define PKI_RENEW_BACKOFF_MAX_MS (5 * 60 * 1000)

/**
 * When to renew a certificate valid from not_before to not_after (unix
 * seconds): at 2/3 of its lifetime, minus a jitter in [0, lifetime/30]
 * derived from its serial (hex), so nodes whose certificates were issued
 * together do not all call the CA in the same second, and a certificate's
 * point never moves between restarts.
 */
int64_t pki_renew_at(int64_t not_before, int64_t not_after, const char *serial);

/** The largest jitter pki_renew_at subtracts for this lifetime (seconds). */
int64_t pki_renew_jitter_max(int64_t lifetime_s);

/** The wait after `failures` failures in a row (>= 1), milliseconds. */
int64_t pki_renew_backoff_ms(unsigned failures);

/** A new P-256 key: the private key PEM and its public key PEM. Returns 0 or -1. */
int pki_renew_keypair(struct sbuf *key_pem, struct sbuf *pub_pem, struct weft_err *e);

/**
 * The proof for a service: sign the message above with key_pem (the current
 * service key), as lowercase hex into sig_hex (cleared first). Returns 0 or -1.
 */
int pki_renew_prove(const char *key_pem, const char *node_id, const char *pub_pem,
                    struct sbuf *sig_hex, struct weft_err *e);

/**
 * CA side: does (cert_pem, sig_hex) prove that the caller node_id holds a
 * key of service svc_name issued by ca, for the new key pub_pem? Returns 0,
 * or -1 with a message in e saying what failed.
 */
int pki_renew_check_proof(struct pki_ca *ca, const char *cert_pem, const char *svc_name,
                          const char *node_id, const char *pub_pem, const char *sig_hex,
                          struct weft_err *e);

#endif
