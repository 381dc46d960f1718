/*
 * ctl_frame: the control RPC's wire format (docs/identity.md, "The control
 * RPC"): encoding and decoding of one frame. Pure byte work, no I/O.
 *
 *   offset  size  field
 *   0       2     magic "WC"
 *   2       1     version (CTL_VERSION = 1); another version is refused
 *   3       1     kind: 'Q' request, 'R' reply
 *   4       4     length of the payload, big-endian, at most the frame limit
 *   8       len   payload: one JSON object (core/json writes, core/jsonv reads)
 *
 *   request  {"id": N, "method": "renew", "body": {...}}
 *   reply    {"id": N, "ok": true, "body": {...}}
 *            {"id": N, "ok": false, "error": "one line"}
 *
 * Every refusal has a reason (enum ctl_reason) that the server counts.
 * Ownership: a decoded struct ctl_msg owns its JSON tree (ctl_msg_free);
 * method, body and error point into it.
 */
#ifndef WEFT_CTL_CTL_FRAME_H
#define WEFT_CTL_CTL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"

#define CTL_VERSION 1
#define CTL_HDR_LEN 8
/* Default payload limit: certificates and keys are a few KiB. */
#define CTL_FRAME_MAX_DEFAULT (64 * 1024)
/* Method names: 1-32 of a-z 0-9 _ . */
#define CTL_METHOD_MAX 32

enum ctl_kind { CTL_KIND_REQUEST = 'Q', CTL_KIND_REPLY = 'R' };

/** Why a connection or a request was refused (the server's counters). */
enum ctl_reason {
    CTL_R_NONE,
    CTL_R_TOO_MANY_CONNS,    /* at the connection limit */
    CTL_R_HANDSHAKE,         /* TLS refused (tls_stats has the detail) */
    CTL_R_HANDSHAKE_TIMEOUT, /* no complete handshake in time */
    CTL_R_IDLE_TIMEOUT,      /* no complete request in time */
    CTL_R_BAD_MAGIC,         /* not "WC" */
    CTL_R_BAD_VERSION,       /* a version this weft does not speak */
    CTL_R_BAD_KIND,          /* not 'Q' (server) / 'R' (client) */
    CTL_R_TOO_LARGE,         /* payload over the limit */
    CTL_R_BAD_JSON,          /* payload is not valid JSON */
    CTL_R_BAD_MESSAGE,       /* valid JSON, wrong shape (id, method, body) */
    CTL_R_TRUNCATED,         /* the peer closed in the middle of a frame */
    CTL_R_UNKNOWN_METHOD,    /* no such method */
    CTL_R_DENIED,            /* the method refused the call (authorization, bad input) */
    CTL_R_UNAUTHENTICATED,   /* no client certificate, and the method needs one */
    CTL_R_MAX
};

/** "too_many_conns", "handshake", ... ("none" for CTL_R_NONE). */
const char *ctl_reason_name(enum ctl_reason r);

/** A decoded frame. */
struct ctl_msg {
    enum ctl_kind kind;
    uint64_t id;
    const char *method;       /* request: the method name */
    const struct jsonv *body; /* request, ok reply: an object (NULL if absent) */
    bool ok;                  /* reply */
    const char *error;        /* reply with ok false */
    struct jsonv *root;       /* owned: the payload's tree */
};

enum ctl_dec {
    CTL_DEC_OK,   /* one frame decoded: *used bytes consumed */
    CTL_DEC_MORE, /* not a whole frame yet (header checked if present) */
    CTL_DEC_ERR   /* refused: *why and e say why; the connection must end */
};

/**
 * Decode the first frame of buf[0..len). The header is checked as soon as
 * its 8 bytes are there (a too-large length is refused before the payload
 * arrives). max: the payload limit. On CTL_DEC_OK fills *out (caller frees
 * with ctl_msg_free) and *used. On CTL_DEC_ERR sets *why and a one-line
 * message in e.
 */
enum ctl_dec ctl_frame_decode(const uint8_t *buf, size_t len, size_t max, struct ctl_msg *out,
                              size_t *used, enum ctl_reason *why, struct weft_err *e);

/** Free what a decoded message owns; safe on a zeroed one. */
void ctl_msg_free(struct ctl_msg *m);

/** Append a frame header for a payload of len bytes to out. */
void ctl_frame_header(struct sbuf *out, enum ctl_kind kind, size_t len);

/**
 * Append a whole request frame: {"id":id,"method":method,"body":body_json}.
 * body_json is a JSON object's text (NULL: {}). Returns 0, or -1 (message
 * in e) if the payload would exceed max or out is out of memory.
 */
int ctl_frame_request(struct sbuf *out, uint64_t id, const char *method, const char *body_json,
                      size_t max, struct weft_err *e);

/** Append an ok reply frame with body_json (NULL: {}). Returns 0 or -1. */
int ctl_frame_reply_ok(struct sbuf *out, uint64_t id, const char *body_json, size_t max,
                       struct weft_err *e);

/** Append an error reply frame. Never fails for a message under WEFT_ERR_MAX. */
int ctl_frame_reply_err(struct sbuf *out, uint64_t id, const char *msg, struct weft_err *e);

/** Is name a valid method name (1-CTL_METHOD_MAX of a-z 0-9 _ .)? */
bool ctl_method_valid(const char *name);

#endif
