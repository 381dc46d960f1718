/*
 * tls_sess: one mTLS connection over libevent buffers.
 *
 * The session never touches a socket. It reads ciphertext from `in` (what
 * the network delivered: a bufferevent's input, or an in-memory evbuffer)
 * and appends ciphertext to `out` (what must go to the network: a
 * bufferevent's output). mbedTLS's BIO callbacks map "nothing buffered" to
 * MBEDTLS_ERR_SSL_WANT_READ, so every call is non-blocking; the caller calls
 * again when `in` grows (read callback) — the libevent callbacks only call
 * into tls_sess_handshake/read/write.
 *
 *        network                 tls_sess                 application
 *   in  (ciphertext) ──▶ recv BIO ─▶ mbedTLS ─▶ tls_sess_read()  (plaintext)
 *   out (ciphertext) ◀── send BIO ◀─ mbedTLS ◀─ tls_sess_write() (plaintext)
 *
 * States (tls_sess_state_name()):
 *
 *   HANDSHAKE ──ok──▶ OPEN ──tls_sess_shutdown()──▶ CLOSED
 *       │              │ └─close_notify received──▶ CLOSED
 *       └──refused─▶ FAILED ◀──protocol error──┘
 *
 * A refused handshake leaves the reason in tls_sess_fail() and counts it in
 * the conf's tls_stats; the message is logged rate-limited (peer input).
 * After the handshake: the peer's SPIFFE ID (also when resumed: for TLS 1.3,
 * whose tickets carry no certificate, weft binds the ID into its ticket on
 * the server and keeps it with the session on the client), the version, the
 * ciphersuite, and whether the session was resumed.
 *
 * Owner: the caller of tls_sess_new(); the buffers and the conf must outlive
 * the session. Not thread-safe.
 */
#ifndef WEFT_TLS_TLS_SESS_H
#define WEFT_TLS_TLS_SESS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "tls/tls_conf.h"

struct evbuffer;
struct tls_sess;

enum tls_sess_state {
    TLS_SESS_HANDSHAKE, /* handshake in progress */
    TLS_SESS_OPEN,      /* peer accepted; data flows */
    TLS_SESS_CLOSED,    /* close_notify sent or received */
    TLS_SESS_FAILED,    /* refused or broken; only tls_sess_free() is left */
    TLS_SESS_STATE_MAX
};

/** What a call did. */
enum tls_io {
    TLS_IO_OK,         /* done (handshake complete, bytes moved) */
    TLS_IO_WANT_READ,  /* call again when `in` has more bytes */
    TLS_IO_WANT_WRITE, /* call again when `out` has drained */
    TLS_IO_CLOSED,     /* the peer sent close_notify (or the session is closed) */
    TLS_IO_ERROR       /* the session failed: see tls_sess_fail(), state FAILED */
};

/**
 * A session of conf's role. peer_key (client only, may be NULL) names the
 * peer for session resumption ("10.0.0.2:15443"). Returns the session (caller
 * owns it: tls_sess_free), or NULL with a message in e (also when a mesh conf
 * has no trust domain).
 */
struct tls_sess *tls_sess_new(struct tls_conf *conf, struct evbuffer *in, struct evbuffer *out,
                              const char *peer_key, struct weft_err *e);
/** Release a session (no close_notify: call tls_sess_shutdown first); accepts NULL. */
void tls_sess_free(struct tls_sess *s);

/**
 * Client, before the first tls_sess_handshake/read/write: send name as the
 * TLS server_name (SNI; the proxy sends the target service). Host names are
 * still not checked: the peer is judged by its SPIFFE ID alone — except with
 * an origination conf (tls_conf_new_origin), where the server's certificate
 * must carry this name, and setting one is required. A session
 * kept for this peer key is offered only if it was made with the same name.
 * name: 1..TLS_SNI_MAX bytes of A-Z a-z 0-9 . _ -. Returns 0, or -1 with a
 * message in e.
 */
int tls_sess_set_sni(struct tls_sess *s, const char *name, struct weft_err *e);

/**
 * Client, before the first tls_sess_handshake/read/write: accept only the
 * peer whose SPIFFE ID is exactly spiffe_id (a URI of the conf's trust
 * domain). It replaces the conf's accept set and predicate for this session
 * (one client conf talks to many services); the trust-domain rule and the
 * chain checks stay. A full handshake is refused in the verify callback, a
 * resumed one when the kept session's ID differs (the kept session is then
 * forgotten); both as TLS_FAIL_ID_NOT_ACCEPTED. Returns 0, or -1 with a
 * message in e (also for an origination session).
 */
int tls_sess_expect_id(struct tls_sess *s, const char *spiffe_id, struct weft_err *e);

/** Tell the session the transport reached EOF: a pending read then fails instead of waiting. */
void tls_sess_set_eof(struct tls_sess *s);

/** Advance the handshake. TLS_IO_OK once the peer is accepted (state OPEN). */
enum tls_io tls_sess_handshake(struct tls_sess *s);

/**
 * Read up to cap plaintext bytes into buf; *n gets the count (0 unless
 * TLS_IO_OK). Handles TLS 1.3 tickets on the way (client).
 */
enum tls_io tls_sess_read(struct tls_sess *s, void *buf, size_t cap, size_t *n);

/** Write len plaintext bytes; *n gets how many were taken (all, unless WANT_*). */
enum tls_io tls_sess_write(struct tls_sess *s, const void *buf, size_t len, size_t *n);

/**
 * Send close_notify; the state becomes CLOSED. TLS_IO_OK or TLS_IO_ERROR.
 * Half-close: after our close_notify tls_sess_read() still returns what the
 * peer sends until its own close_notify, and after the peer's close_notify
 * (tls_sess_read() said TLS_IO_CLOSED) tls_sess_write() still works until
 * we call this.
 */
enum tls_io tls_sess_shutdown(struct tls_sess *s);

enum tls_sess_state tls_sess_state(const struct tls_sess *s);
/** "handshake", "open", "closed", "failed". */
const char *tls_sess_state_name(enum tls_sess_state st);
/** Why the session failed (TLS_FAIL_NONE if it did not). */
enum tls_fail tls_sess_fail(const struct tls_sess *s);
/** A one-line description of the failure ("" if none). */
const char *tls_sess_fail_msg(const struct tls_sess *s);

/** The peer's SPIFFE ID once OPEN ("" before, and always with an origination conf). */
const char *tls_sess_peer_id(const struct tls_sess *s);
/** "TLSv1.2" or "TLSv1.3" once OPEN. */
const char *tls_sess_version(const struct tls_sess *s);
/** mbedTLS's name of the ciphersuite, e.g. "TLS1-3-CHACHA20-POLY1305-SHA256". */
const char *tls_sess_ciphersuite(const struct tls_sess *s);
/**
 * Once OPEN: the server name the client sent ("" if none; a server also
 * reports "" for a name of other bytes than A-Z a-z 0-9 . _ -, which it
 * ignored), for full and resumed handshakes alike (mbedTLS parses the SNI
 * of every ClientHello). A client reports the name it set.
 */
const char *tls_sess_sni(const struct tls_sess *s);
/** Was the session resumed from a ticket? */
bool tls_sess_is_resumed(const struct tls_sess *s);

#endif
