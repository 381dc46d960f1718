/*
 * token: one-time enrollment tokens (docs/identity.md, "Online enrollment").
 *
 *   weft1:<secret>:<ca fingerprint>:<node>:<services>:<ca address>
 *
 * secret: 128 random bits as 32 lowercase hex digits (the CA keeps only its
 * SHA-256); ca fingerprint: SHA-256 of the root's DER, 64 hex digits (the
 * pin the new node checks the CA's TLS chain against); node: the node name
 * it enrolls; services: comma-separated names, or "-" for none; ca address:
 * host:port of the CA node's control listener (the rest of the string).
 * Pure string work; the secret never goes to a log.
 */
#ifndef WEFT_PKI_TOKEN_H
#define WEFT_PKI_TOKEN_H

#include "core/err.h"
#include "pki/bundle.h"
#include "pki/spiffe.h"

#define PKI_TOKEN_SECRET_HEX 32
#define PKI_TOKEN_SVCS_MAX (PKI_BUNDLE_SERVICES_MAX * (SPIFFE_NAME_MAX + 1))
#define PKI_TOKEN_MAX (16 + PKI_TOKEN_SECRET_HEX + 64 + SPIFFE_NAME_MAX + PKI_TOKEN_SVCS_MAX + 128)

struct pki_token {
    char secret[PKI_TOKEN_SECRET_HEX + 1];
    char fingerprint[65];
    char node[SPIFFE_NAME_MAX + 1];
    char services[PKI_TOKEN_SVCS_MAX + 1]; /* comma-separated, "" for none */
    char addr[128];
};

/**
 * Make a token: a fresh secret, and its hash (hex of SHA-256 of the secret's
 * hex) into hash[65] for the CA's store. Names are checked. Returns 0, or -1
 * with a message in e.
 */
int pki_token_new(const char *fingerprint, const char *node, const char *services_csv,
                  const char *addr, char *out, size_t cap, char hash[65], struct weft_err *e);

/** Parse and check a token. Returns 0, or -1 with a message in e (never the secret). */
int pki_token_parse(const char *s, struct pki_token *t, struct weft_err *e);

/** The stored form of a secret: hex of its SHA-256 into hash[65]. Returns 0 or -1. */
int pki_token_hash(const char *secret, char hash[65], struct weft_err *e);

#endif
