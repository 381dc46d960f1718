/*
 * identity: the certificates and keys a node holds (docs/identity.md, "The
 * agent's identity").
 *
 * An identity is the node's certificate and key, one certificate and key per
 * service it serves, and the trust roots they chain to. It comes from an
 * enrollment bundle (a directory written by `weft ca issue`, see bundle.h)
 * or from the store, where the agent keeps its copy. Either way it is
 * checked the same way before use (pki_identity_check):
 *
 *   - every certificate chains to a root of the trust bundle (mbedTLS,
 *     signatures and key usage; validity dates are judged separately, against
 *     the caller's clock, so an expired certificate gets its own message);
 *   - every certificate carries exactly one URI SAN, a weft SPIFFE ID of the
 *     right kind and name, in the configured trust domain; the node's names
 *     [node] name;
 *   - every key matches its certificate.
 *
 * Keys are owned by struct pki_ident, wiped when freed, and never logged or
 * put in a message.
 */
#ifndef WEFT_PKI_IDENTITY_H
#define WEFT_PKI_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"
#include "pki/spiffe.h"

struct store;

/* "spiffe://" + trust domain + "/node/" + name, with room to spare. */
#define PKI_IDENT_ID_MAX 400
/* A 20-byte serial (RFC 5280's limit) as hex, and its NUL. */
#define PKI_IDENT_SERIAL_MAX 41
/* The node certificate is warned about this long before it expires. */
#define PKI_IDENT_WARN_S (7 * 86400)

/** One certificate with its key. */
struct pki_ident {
    enum spiffe_kind kind;
    char name[SPIFFE_NAME_MAX + 1];
    char spiffe_id[PKI_IDENT_ID_MAX]; /* filled by pki_identity_check */
    char *cert_pem;                   /* owned */
    char *key_pem;                    /* owned; wiped when freed */
    int64_t not_before;               /* unix seconds */
    int64_t not_after;
    char serial[PKI_IDENT_SERIAL_MAX]; /* lowercase hex */
    char issuer_fp[65];                /* SHA-256 of the root it chains to */
};

/** One trust root (a CA certificate). */
struct pki_root {
    char *cert_pem; /* owned */
    char fingerprint[65];
    char subject[256];
    int64_t not_after;
};

/** What a node holds. idents[0] is always the node's own identity. */
struct pki_identity {
    struct pki_ident *idents; /* owned, nidents entries */
    size_t nidents;
    struct pki_root *roots; /* owned, nroots entries */
    size_t nroots;
};

/**
 * Read an enrollment bundle: DIR/node.crt and node.key, every
 * DIR/svc-NAME.crt with its svc-NAME.key (services sorted by name) and the
 * roots of DIR/bundle.crt, then check it (pki_identity_check) for node and
 * td. Returns the identity (caller owns: pki_identity_free), or NULL with a
 * message in e naming the file and what is wrong.
 */
struct pki_identity *pki_identity_load_dir(const char *dir, const char *node, const char *td,
                                           struct weft_err *e);

/**
 * Read the identity kept in the store and check it. Returns 0 with *out set
 * (caller owns), 0 with *out NULL when the store holds none, or -1 with a
 * message in e.
 */
int pki_identity_load_store(struct store *st, const char *node, const char *td,
                            struct pki_identity **out, struct weft_err *e);

/** Durably replace the store's identity with id. Returns 0 or -1. */
int pki_identity_save(const struct pki_identity *id, struct store *st, struct weft_err *e);

/**
 * Check id as described at the top, for node name and trust domain td, and
 * fill each entry's spiffe_id, times, serial and issuer_fp and each root's
 * fingerprint, subject and not_after. Does not look at the clock. Returns 0,
 * or -1 with a message in e.
 */
int pki_identity_check(struct pki_identity *id, const char *node, const char *td,
                       struct weft_err *e);

/**
 * Should the checked bundle identity `disk` replace the checked `stored`
 * one? The rule: same node serial: no (nothing new); otherwise yes when the
 * bundle's node certificate expires no earlier than the stored one, no when
 * it expires earlier (an old bundle left on disk never rolls the node back).
 */
int pki_identity_newer(const struct pki_identity *disk, const struct pki_identity *stored);

/**
 * Refuse an expired node certificate: returns 0 if it is valid at now_s
 * (unix seconds), else -1 with one message in e: when it expired and how to
 * re-enroll.
 */
int pki_identity_check_expiry(const struct pki_identity *id, int64_t now_s, struct weft_err *e);

/** Unix seconds as "YYYY-MM-DDThh:mm:ssZ" into out[21]. */
void pki_identity_time_iso(int64_t unix_s, char out[21]);

/** An empty identity (caller owns: pki_identity_free), or NULL. */
struct pki_identity *pki_identity_new(void);

/**
 * Append an entry (copies of the PEMs; the node's must come first). Checked
 * later by pki_identity_check. Returns 0 or -1.
 */
int pki_identity_add(struct pki_identity *id, enum spiffe_kind kind, const char *name,
                     const char *cert_pem, const char *key_pem, struct weft_err *e);

/** A deep copy of id (keys included), or NULL when out of memory. */
struct pki_identity *pki_identity_copy(const struct pki_identity *id);

/**
 * Replace entry i's certificate and key (copies; the old key is wiped). The
 * derived fields are stale until pki_identity_check runs. Returns 0 or -1.
 */
int pki_identity_set_pem(struct pki_identity *id, size_t i, const char *cert_pem,
                         const char *key_pem, struct weft_err *e);

/** Replace the trust roots with every certificate of bundle_pem. Returns 0 or -1. */
int pki_identity_set_roots(struct pki_identity *id, const char *bundle_pem, struct weft_err *e);

/** Is fp (SHA-256 hex) one of id's checked roots? */
bool pki_identity_has_root(const struct pki_identity *id, const char *fp);
/** Do two checked identities trust the same set of roots? */
bool pki_identity_same_roots(const struct pki_identity *a, const struct pki_identity *b);

/** Append every root's PEM to out (a trust bundle for tls_conf). Returns 0 or -1. */
int pki_identity_roots_pem(const struct pki_identity *id, struct sbuf *out, struct weft_err *e);

/** Free id (keys wiped); accepts NULL. */
void pki_identity_free(struct pki_identity *id);

#endif
