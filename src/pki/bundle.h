/*
 * bundle: a node's offline enrollment bundle, written by `weft ca issue` on
 * the machine that holds the CA and carried to the node (firmware image,
 * USB stick, provisioning tool). The directory (0700) holds:
 *
 *   node.key        0600  the node's private key
 *   node.crt        0644  spiffe://TD/node/NAME, default 90 days
 *   svc-NAME.key    0600  one per service the node may serve
 *   svc-NAME.crt    0644  spiffe://TD/svc/NAME, default 24 hours
 *   bundle.crt      0644  the trust bundle: the CA certificate(s)
 *   manifest.ini    0644  what is in it (see pki_bundle_write)
 *
 * Nothing is overwritten: an existing file aborts the command before
 * anything is written, and a failure part-way removes what was written.
 */
#ifndef WEFT_PKI_BUNDLE_H
#define WEFT_PKI_BUNDLE_H

#include <stddef.h>

#include "core/err.h"

/* Services per node in one bundle; a gateway fronts a handful. */
#define PKI_BUNDLE_SERVICES_MAX 64
/* Bounds on the lifetimes asked on the command line. */
#define PKI_NODE_DAYS_MAX 3650
#define PKI_SVC_HOURS_MAX (24 * 366)

#define PKI_BUNDLE_MANIFEST "manifest.ini"
#define PKI_BUNDLE_TRUST "bundle.crt"

/** What to issue. Strings are borrowed for the call. */
struct pki_bundle_opts {
    const char *ca_dir;
    const char *out_dir;
    const char *node;
    const char *const *services; /* nservices names, may be 0 */
    size_t nservices;
    int node_days; /* 1..PKI_NODE_DAYS_MAX */
    int svc_hours; /* 1..PKI_SVC_HOURS_MAX */
};

/**
 * Check every name and bound, load the CA, issue the node and service
 * certificates and write the bundle into o->out_dir (created 0700).
 * manifest.ini:
 *
 *   [bundle]   trust_domain, ca_fingerprint (SHA-256 of the root DER), created
 *   [node]     name, id, not_after
 *   [svc.NAME] id, not_after       (one section per service)
 *
 * Times are "YYYY-MM-DDThh:mm:ssZ". Returns 0, or -1 with a message in e.
 */
int pki_bundle_write(const struct pki_bundle_opts *o, struct weft_err *e);

#endif
