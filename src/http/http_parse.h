/*
 * http_parse: a strict HTTP/1.1 message parser (requests or responses) over
 * llhttp 8.1 in strict mode, for the health checks today and the L7 proxy
 * later. Feed it bytes as they arrive, split anywhere; it stops after each
 * head and after each message, so pipelined messages come one at a time.
 *
 * Strict means: anything two HTTP implementations could read differently is
 * refused, with a reason name and a one-line message. llhttp refuses most of
 * that itself; what llhttp 8.1.0 (Debian 12's node-llhttp) still lets through
 * is refused here (docs/mesh.md, "Health checks", lists them): obsolete line
 * folding, control bytes in the start line or a header, extra spaces in the
 * start line, an empty or non-token header name, a version other than 1.0 /
 * 1.1, a status that is not three digits, Transfer-Encoding other than one
 * `chunked` (or any in HTTP/1.0), a Host missing or repeated in a 1.1
 * request or not of the form host[:port], the target `*` outside OPTIONS,
 * a 1xx or 204 response framing a body, trailer fields.
 *
 * Memory is bounded and owned by the caller: struct http_parse is embedded
 * (no allocation anywhere); the head (start line + fields) is capped by
 * `max_head` bytes and `max_headers` fields and kept inside the struct until
 * the next message; the body is never stored, it is handed to `on_body` in
 * the pieces it arrives in.
 *
 *   http_parse_init(&p, HTTP_PARSE_RESPONSE, NULL);
 *   on each read of n bytes into buf:
 *       off = 0
 *       do:
 *           st = http_parse_feed(&p, buf + off, n - off, &used); off += used
 *           HEAD   the head is in p.msg (status, headers); go on feeding, also
 *                  with 0 bytes left: a message without a body ends there
 *           DONE   a message is complete; http_parse_next(&p), go on
 *           ERROR  refused: p.reason, p.errmsg; close the connection
 *       until st == MORE (every byte used: read again)
 *   on EOF: http_parse_finish(&p)   (a body delimited by the close ends here)
 */
#ifndef WEFT_HTTP_HTTP_PARSE_H
#define WEFT_HTTP_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

/* Caps on what one message head may hold. 8 KiB is what nginx and evhttp
 * (our admin API) accept by default; 64 fields is far above what health
 * endpoints and sidecar traffic send, small enough to scan linearly. */
#define HTTP_PARSE_HEAD_CAP 8192
#define HTTP_PARSE_HEADERS_CAP 64

enum http_parse_kind { HTTP_PARSE_REQUEST, HTTP_PARSE_RESPONSE };

/** What http_parse_feed() stopped on. */
enum http_parse_status {
    HTTP_PARSE_MORE,  /* every byte used; feed more */
    HTTP_PARSE_HEAD,  /* the head is complete: p->msg has it; feed on for the body */
    HTTP_PARSE_DONE,  /* a message is complete; http_parse_next() before the next one */
    HTTP_PARSE_ERROR, /* refused: p->reason and p->errmsg; no more input is taken */
};

/* Why a message was refused. Names (http_refusal_name) are what counters
 * and logs show; keep the X-list and docs/mesh.md in step. */
#define HTTP_REFUSALS(X)                                                                           \
    X(NONE, "none")                                                                                \
    X(SYNTAX, "syntax")                       /* llhttp: anything not named below */               \
    X(METHOD, "method")                       /* not a known method token */                       \
    X(TARGET, "target")                       /* request-target with a byte outside VCHAR, or # */ \
    X(VERSION, "version")                     /* not HTTP/1.0 or HTTP/1.1 */                       \
    X(STATUS, "status")                       /* not three digits, 100-999 */                      \
    X(START_LINE, "start_line")               /* extra or missing spaces, bad reason phrase */     \
    X(LINE_ENDING, "line_ending")             /* a CR without LF, or a bare LF */                  \
    X(OBS_FOLD, "obs_fold")                   /* a field line starting with SP or HT */            \
    X(HEADER_NAME, "header_name")             /* empty, non-token, space before the colon */       \
    X(HEADER_VALUE, "header_value")           /* NUL, CR, LF or another control byte */            \
    X(CONTENT_LENGTH, "content_length")       /* not digits, overflow, or repeated */              \
    X(CL_AND_TE, "content_length_and_te")     /* both framing headers */                           \
    X(TRANSFER_ENCODING, "transfer_encoding") /* not exactly one "chunked"; any in 1.0 */          \
    X(HOST, "host")                           /* 1.1 without Host, two, or not host[:port] */      \
    X(CHUNK, "chunk")                         /* bad chunk size, extension or terminator */        \
    X(TRAILER, "trailer")                     /* fields after a chunked body */                    \
    X(HEAD_TOO_LARGE, "head_too_large")       /* over max_head bytes */                            \
    X(TOO_MANY_HEADERS, "too_many_headers")   /* over max_headers fields */                        \
    X(AFTER_CLOSE, "data_after_close")        /* bytes after a message that ended the conn */      \
    X(TRUNCATED, "truncated")                 /* EOF inside a message */                           \
    X(UPGRADE, "upgrade")                     /* bytes after an Upgrade/CONNECT handover */

enum http_refusal {
#define HTTP_REFUSAL_ENUM(id, name) HTTP_REFUSE_##id,
    HTTP_REFUSALS(HTTP_REFUSAL_ENUM)
#undef HTTP_REFUSAL_ENUM
        HTTP_REFUSE_MAX
};

/** The refusal's short name ("obs_fold"); "?" out of range. */
const char *http_refusal_name(enum http_refusal r);

/** One header field: offsets into http_msg.buf (names as sent, values with
 *  the surrounding whitespace removed). */
struct http_header {
    uint16_t name_off, name_len;
    uint16_t value_off, value_len;
};

/** The message being parsed: valid from HTTP_PARSE_HEAD until http_parse_next(). */
struct http_msg {
    bool is_request;
    uint8_t version_minor;           /* HTTP/1.<minor>: 0 or 1 */
    uint8_t method;                  /* llhttp_method_t (requests) */
    uint16_t status;                 /* responses */
    uint16_t target_off, target_len; /* requests: the request-target, in buf */
    bool has_content_length;
    uint64_t content_length;
    bool chunked;
    bool keep_alive;       /* at HEAD: as far as known; at DONE: final */
    bool upgrade;          /* CONNECT or Upgrade: the rest is another protocol */
    bool body_until_close; /* a response body delimited by the server's close */
    uint64_t body_bytes;   /* body bytes delivered so far */
    unsigned nheaders;
    struct http_header headers[HTTP_PARSE_HEADERS_CAP];
    uint16_t buf_len;
    char buf[HTTP_PARSE_HEAD_CAP];
};

/** Body bytes as they arrive; return 0, or -1 to stop parsing (ERROR, syntax). */
typedef int (*http_body_fn)(void *arg, const char *at, size_t len);

/** Options; zero values take the defaults (the caps above). */
struct http_parse_opts {
    unsigned max_head;    /* <= HTTP_PARSE_HEAD_CAP */
    unsigned max_headers; /* <= HTTP_PARSE_HEADERS_CAP */
    bool no_body;         /* responses to HEAD: no body whatever the headers say */
    http_body_fn on_body; /* NULL: the body is dropped (still framed and checked) */
    void *arg;
};

/* Where the head scanner is (http_parse.c runs it ahead of llhttp). */
struct http_scan {
    uint8_t state;
    uint8_t spaces; /* spaces seen on the start line */
    uint8_t digits; /* status digits seen */
    bool colon;     /* the current field line has had its colon */
    unsigned bytes; /* head bytes so far */
    unsigned fields;
};

/**
 * A parser. Embedded in its owner; llhttp's state and the settings table are
 * inside, so the struct must not move after http_parse_init().
 */
struct http_parse {
    llhttp_t ll;
    llhttp_settings_t settings;
    struct http_parse_opts opts;
    struct http_scan scan;
    enum http_refusal reason;
    char errmsg[160];
    /* Field assembly (names and values arrive in pieces). */
    bool in_name;
    bool head_done;
    uint8_t pause; /* which callback paused llhttp (http_parse.c) */
    bool stopped;  /* DONE given; waiting for http_parse_next() */
    bool upgraded; /* after CONNECT/Upgrade: no more HTTP on this connection */
    bool failed;
    unsigned host_count;
    bool host_bad;
    unsigned te_count;
    bool te_bad;
    struct http_msg msg; /* last: init clears everything before it */
};

/** Set up a parser for requests or responses. Cannot fail. opts may be NULL. */
void http_parse_init(struct http_parse *p, enum http_parse_kind kind,
                     const struct http_parse_opts *opts);

/**
 * Parse up to len bytes. *used gets how many were taken; the rest belongs to
 * the next call (after http_parse_next() when DONE). Returns the status.
 */
enum http_parse_status http_parse_feed(struct http_parse *p, const char *data, size_t len,
                                       size_t *used);

/** The peer closed: completes a body delimited by the close (DONE), or
 *  refuses a message cut short (ERROR, truncated). MORE if nothing was
 *  pending (a clean close between messages). */
enum http_parse_status http_parse_finish(struct http_parse *p);

/** After DONE: forget the message and parse the next one on this connection. */
void http_parse_next(struct http_parse *p);

/** Header value by case-insensitive name (the first one), NUL-free span; NULL if absent. */
const char *http_msg_header(const struct http_msg *m, const char *name, size_t *len);

/** llhttp's version, "8.1.0" (for `weft version`). */
const char *http_llhttp_version(void);

#endif
