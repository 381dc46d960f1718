/*
 * ca_rotate: root rotation in a CA directory (docs/identity.md "Root
 * rotation"). Three steps, each one a durable change of files:
 *
 *   add       a new root is made beside the active one (next.key, next.crt).
 *             The CA serves both in its trust bundle and still signs with
 *             the old one, so every node comes to trust the new root before
 *             any certificate depends on it.
 *   activate  the new root becomes the signer (ca.key, ca.crt); the old one
 *             becomes prev.key, prev.crt: still in the bundle, no longer
 *             signing. Nodes re-issue their certificates from the new root.
 *   retire    the old key is deleted and its certificate moved to
 *             retired/<fingerprint>.crt; the bundle holds the new root alone.
 *
 * Whether the mesh is ready for a step (every node trusts the new root;
 * every certificate comes from it) is the online CA's question
 * (agent/agent_ca.c); this file only moves files.
 *
 * Crash safety: activate and retire write rotate.journal (fsync'd, naming
 * the step) before they touch anything; every move is idempotent and
 * ordered so that each state between two moves is recognised, and
 * pki_ca_rotate_recover(), run by pki_ca_load() and by every step, rolls an
 * interrupted step forward, then removes the journal. `add` needs no
 * journal: the next root exists once next.crt exists (it is renamed into
 * place last); a next.key alone is a leftover and is replaced.
 */
#ifndef WEFT_PKI_CA_ROTATE_H
#define WEFT_PKI_CA_ROTATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "pki/ca.h"

#define PKI_CA_NEXT_KEY_FILE "next.key"
#define PKI_CA_NEXT_CRT_FILE "next.crt"
#define PKI_CA_PREV_KEY_FILE "prev.key"
#define PKI_CA_PREV_CRT_FILE "prev.crt"
#define PKI_CA_JOURNAL_FILE "rotate.journal"
#define PKI_CA_RETIRED_DIR "retired"

/** Where a CA directory is in a rotation. */
enum pki_ca_phase {
    PKI_CA_STEADY,    /* one root */
    PKI_CA_ADDED,     /* next root trusted, the old one still signs */
    PKI_CA_ACTIVATED, /* the new root signs, the previous one still trusted */
};

/** The roots of a CA directory: [0] the active one, then next or previous. */
struct pki_ca_rotation {
    enum pki_ca_phase phase;
    struct pki_ca_info roots[2];
    const char *roles[2]; /* "active", "next", "previous" */
    size_t nroots;
};

/** "steady", "added", "activated". */
const char *pki_ca_phase_name(enum pki_ca_phase p);

/** Finish an interrupted step. Returns 1 if it did, 0 if none was pending, -1. */
int pki_ca_rotate_recover(const char *dir, struct weft_err *e);

/** Describe the roots of dir (recovering first). Returns 0 or -1. */
int pki_ca_rotation_read(const char *dir, struct pki_ca_rotation *out, struct weft_err *e);

/**
 * Step 1: make the next root (days of validity; now_s labels its subject).
 * Refused unless the directory is steady. Returns 0 or -1.
 */
int pki_ca_rotate_add(const char *dir, int days, int64_t now_s, struct weft_err *e);
/** Step 2: the next root becomes the signer. Refused unless added. */
int pki_ca_rotate_activate(const char *dir, struct weft_err *e);
/** Step 3: forget the previous root. Refused unless activated. */
int pki_ca_rotate_retire(const char *dir, struct weft_err *e);

#endif
