/*
 * prom: the Prometheus text exposition format, version 0.0.4, written into
 * a core/sbuf. Pure formatting: no registry, no clock, no I/O; it runs at
 * scrape time only (GET /metrics), so it favours simple over clever.
 *
 * The format (https://prometheus.io/docs/instrumenting/exposition_formats/):
 *
 *   # HELP weft_reloads_total Configuration reloads that were applied.
 *   # TYPE weft_reloads_total counter
 *   weft_reloads_total 3
 *   # HELP weft_tls_failures_total TLS handshakes refused, by reason.
 *   # TYPE weft_tls_failures_total counter
 *   weft_tls_failures_total{listener="control",reason="bad_chain"} 1
 *
 * One family is open at a time: prom_family() writes its HELP and TYPE lines,
 * then prom_u64()/prom_f64() write its samples, so all the samples of a
 * family are contiguous by construction. A family may have no samples (its
 * HELP and TYPE lines alone are valid). Opening a family a second time would
 * give the scrape two TYPE lines for one name, which parsers reject: the
 * writer refuses it and drops that family's samples.
 *
 * Names are weft's own constants, so a bad one is a bug in weft, not bad
 * input: family names must match [a-zA-Z_:][a-zA-Z0-9_:]*, start with
 * "weft_", and a counter's end in "_total"; label names must match
 * [a-zA-Z_][a-zA-Z0-9_]* and not start with "__". A bad name is not written
 * (the scrape stays parseable); it is counted in prom_w_bugs() and the first
 * one is kept in prom_w_first_bug() for the caller to log.
 *
 * Escaping, per the format: in HELP text \ and newline become \\ and \n; in
 * label values \, " and newline become \\, \" and \n. Label values must be
 * UTF-8: an invalid byte is written as '?'. Counter values are uint64 and
 * printed exactly (never %g); gauge values are doubles printed so they
 * parse back to the same double, with NaN, +Inf and -Inf as the format
 * spells them.
 *
 * Ownership: the caller owns the sbuf (it must outlive the writer) and the
 * writer (prom_w_init / prom_w_deinit; it allocates only the list of family
 * names seen). Not thread-safe.
 */
#ifndef WEFT_TELEMETRY_PROM_H
#define WEFT_TELEMETRY_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "core/sbuf.h"

/* At most this many labels on one sample (more is a bug: the sample is dropped). */
#define PROM_LABELS_MAX 8
/* The first bad name is kept for the log, cut to this many bytes. */
#define PROM_BUG_MAX 160

enum prom_type { PROM_COUNTER, PROM_GAUGE };

struct prom_w {
    struct sbuf *out;
    char family[128]; /* the open family ("" before the first, or when refused) */
    enum prom_type type;
    uint64_t *seen; /* hashes of the families opened so far */
    size_t nseen, capseen;
    uint64_t samples;
    uint64_t bugs;
    char first_bug[PROM_BUG_MAX];
};

/** Write into out (not reset: the text is appended). Cannot fail. */
void prom_w_init(struct prom_w *w, struct sbuf *out);
/** Free what the writer holds (not out). Safe after init alone. */
void prom_w_deinit(struct prom_w *w);

/**
 * Open family `name` of `type`: writes "# HELP" (help may be NULL or "":
 * then no HELP line) and "# TYPE". Samples written next belong to it.
 */
void prom_family(struct prom_w *w, const char *name, enum prom_type type, const char *help);

/**
 * One sample of the open family: value v, and nlabels labels as
 * kv = {name0, value0, name1, value1, ...}. A NULL label value is written
 * as "". Counters take prom_sample_u64; gauges either.
 */
void prom_sample_u64(struct prom_w *w, uint64_t v, size_t nlabels, const char *const *kv);
void prom_sample_f64(struct prom_w *w, double v, size_t nlabels, const char *const *kv);

/**
 * The same with the labels inline, ended by NULL:
 *   prom_u64(w, n, "listener", "control", "reason", "bad_chain", NULL);
 *   prom_u64(w, n, NULL);                          (no labels)
 * Here a label value must not be NULL: a NULL would be read as the end
 * (use the array form for values that may be NULL).
 */
void prom_u64(struct prom_w *w, uint64_t v, ...) __attribute__((sentinel));
void prom_f64(struct prom_w *w, double v, ...) __attribute__((sentinel));

/** Shorthands: a family with one unlabelled sample. */
void prom_counter(struct prom_w *w, const char *name, const char *help, uint64_t v);
void prom_gauge(struct prom_w *w, const char *name, const char *help, double v);

/** Samples written (bugs excluded). */
uint64_t prom_w_samples(const struct prom_w *w);
/** Bad names, repeated families, too many labels: bugs in the caller. */
uint64_t prom_w_bugs(const struct prom_w *w);
/** The first of them, described ("" when none). */
const char *prom_w_first_bug(const struct prom_w *w);

/** The Content-Type of this format. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
