/*
 * ca: weft's certificate authority, offline. The only code that touches the
 * CA's private key: it creates the root (`weft ca init`), loads it, and signs
 * what issue.c prepares. Nothing else in weft sees the key; callers hold an
 * opaque struct pki_ca.
 *
 * A CA directory holds:
 *   ca.key   0600  the root's ECDSA P-256 private key (PEM, "EC PRIVATE KEY")
 *   ca.crt   0644  the self-signed root certificate (PEM)
 * The root: X.509 v3, CN "weft root CA <trust domain>", URI SAN
 * spiffe://<trust domain> (the SPIFFE X509-SVID spec recommends signing
 * certificates carry the trust domain's ID), basicConstraints CA:TRUE with
 * pathlen 0 (it signs leaves only) and keyUsage keyCertSign + cRLSign, both
 * critical, a subjectKeyIdentifier, a random positive 128-bit serial, and
 * validity from one minute ago (clock skew) for --days.
 */
#ifndef WEFT_PKI_CA_H
#define WEFT_PKI_CA_H

#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"
#include "pki/spiffe.h"

/* File names inside a CA directory. */
#define PKI_CA_KEY_FILE "ca.key"
#define PKI_CA_CRT_FILE "ca.crt"
/* Default root lifetime: ten years; the most we accept: one hundred. */
#define PKI_CA_DAYS_DEFAULT 3650
#define PKI_CA_DAYS_MAX 36500

struct pki_ca;                 /* a loaded CA: key and certificate */
struct mbedtls_x509write_cert; /* prepared by issue.c, signed here */
struct mbedtls_x509_crt;       /* a parsed certificate (renew.c) */

/** What `weft ca show` prints; read from ca.crt alone (the key stays shut). */
struct pki_ca_info {
    char trust_domain[SPIFFE_TD_MAX + 1];
    char subject[256];      /* e.g. "CN=weft root CA example.org" */
    char fingerprint[65];   /* SHA-256 of the certificate's DER, hex */
    char not_before[21];    /* "YYYY-MM-DDThh:mm:ssZ" */
    char not_after[21];     /* same */
    int64_t not_after_unix; /* seconds since the epoch */
};

/**
 * Create a CA in dir (made 0700 if missing): a new root key and self-signed
 * certificate for trust domain td, valid for days (1..PKI_CA_DAYS_MAX).
 * Refuses to replace an existing ca.key or ca.crt. Returns 0, or -1 with a
 * one-line message in e (nothing is left behind on failure).
 */
int pki_ca_init(const char *dir, const char *td, int days, struct weft_err *e);

/**
 * Load the CA in dir: ca.crt (must be a CA certificate with a spiffe://TD
 * URI SAN) and ca.key (must match it), and the roots of a rotation in
 * progress (next.crt, prev.crt), after finishing a rotation step a crash
 * interrupted (pki_ca_rotate_recover). Returns the CA (caller owns it:
 * pki_ca_free), or NULL with a message in e.
 */
struct pki_ca *pki_ca_load(const char *dir, struct weft_err *e);
/** Release a CA, wiping its key from memory; accepts NULL. */
void pki_ca_free(struct pki_ca *ca);

/** The trust domain the CA serves (from its certificate). */
const char *pki_ca_trust_domain(const struct pki_ca *ca);
/** The SHA-256 fingerprint (hex) of the active root, the one that signs. */
int pki_ca_fingerprint(const struct pki_ca *ca, char out[65], struct weft_err *e);
/** The CA certificate's notAfter, seconds since the epoch. */
int64_t pki_ca_not_after(const struct pki_ca *ca);

/**
 * The trust bundle as PEM: the active root (ca.crt) first, then, during a
 * rotation (ca_rotate.h), the added next root and the previous one not yet
 * retired. Appended to out. Returns 0/-1.
 */
int pki_ca_bundle_pem(const struct pki_ca *ca, struct sbuf *out, struct weft_err *e);

/**
 * Sign a prepared certificate: sets issuer name, issuer key,
 * authorityKeyIdentifier and SHA-256, then writes it as PEM into out
 * (cleared first). Returns 0, or -1 with a message in e.
 */
int pki_ca_sign(struct pki_ca *ca, struct mbedtls_x509write_cert *crt, struct sbuf *out,
                struct weft_err *e);

/**
 * Was leaf signed by this CA? Signatures and key usage are checked, the
 * validity dates are not (the caller judges them by its clock). Returns 0,
 * or -1 with a message in e.
 */
int pki_ca_verify_leaf(struct pki_ca *ca, struct mbedtls_x509_crt *leaf, struct weft_err *e);

/**
 * Sign a SHA-256 digest with the CA's key, and during a rotation also with
 * the other root's key: one line per signature appended to out,
 * "signature = <root fingerprint> <DER ECDSA signature, hex>\n" (the
 * format of pki/statement.h). Returns 0, or -1 with e.
 */
int pki_ca_sign_digest(struct pki_ca *ca, const unsigned char md[32], struct sbuf *out,
                       struct weft_err *e);

/** Read ca.crt in dir (not the key) and describe it. Returns 0, or -1. */
int pki_ca_info_read(const char *dir, struct pki_ca_info *out, struct weft_err *e);
/** The same for another root certificate file of dir (next.crt, prev.crt). */
int pki_ca_info_read_file(const char *dir, const char *file, struct pki_ca_info *out,
                          struct weft_err *e);

/**
 * Make a new root for td in dir, as key_file and crt_file (both must be
 * absent): like pki_ca_init's, with the subject "CN=weft root CA TD,
 * OU=<now_s as ISO time>" so that it never shares a subject with the root
 * it will replace. Used by root rotation (ca_rotate.h). Returns 0 or -1.
 */
int pki_ca_new_root(const char *dir, const char *key_file, const char *crt_file, const char *td,
                    int days, int64_t now_s, struct weft_err *e);

#endif
