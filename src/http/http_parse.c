/*
 * http_parse: strict HTTP/1.1 messages over llhttp (see http_parse.h).
 *
 * Two passes over every head byte, in lockstep:
 *
 *   bytes --> scan (ours: the head's syntax, byte by byte) --> llhttp (the
 *             stops at the head's end or the first bad byte     semantics:
 *                                                               framing,
 *                                                               body, chunks)
 *
 * The scanner runs first over what it may see (up to the end of the head)
 * and llhttp then gets exactly the bytes the scanner accepted. So whichever
 * of the two objects to the earliest byte gives the reason, however the
 * input is split: feeding a message whole or one byte at a time yields the
 * same refusal. Once the head is complete the scanner sleeps until the next
 * message and llhttp alone frames the body.
 *
 * What the scanner adds to llhttp 8.1.0 in strict mode (measured against
 * Debian 12's node-llhttp 8.1.0 deb12u4, which already refuses a bare LF,
 * a CR inside a value and a space before the colon): obsolete line folding;
 * CTL bytes (and DEL) in the target, the reason phrase and header values;
 * doubled spaces in the start line; versions other than 1.0/1.1; statuses
 * that are not three digits; empty and non-token header names; a cap on the
 * head's size and field count. The llhttp callbacks add: Transfer-Encoding
 * that is not exactly one "chunked" (and any in HTTP/1.0, RFC 9112 6.1),
 * Host missing, repeated or not host[:port] in a request, `*` outside
 * OPTIONS, a 1xx/204 framing a body. After the last chunk the scanner wakes
 * up again for the final CRLF, so trailer fields are refused at their first
 * byte however the input is split.
 *
 * Pausing: on_headers_complete, on_message_complete and, for the last
 * chunk, on_chunk_header return HPE_PAUSED, so llhttp_execute() stops right
 * there; feed() reports HEAD / DONE with the bytes used (or, after the last
 * chunk, hands the next bytes to the scanner first). llhttp is resumed at
 * once and picks up where it stopped at the next execute.
 */
#include "http/http_parse.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const refusal_names[] = {
#define HTTP_REFUSAL_NAME(id, name) name,
    HTTP_REFUSALS(HTTP_REFUSAL_NAME)
#undef HTTP_REFUSAL_NAME
};

const char *http_refusal_name(enum http_refusal r)
{
    if ((unsigned)r >= HTTP_REFUSE_MAX)
        return "?";
    return refusal_names[r];
}

const char *http_llhttp_version(void)
{
#define HTTP_STR2(x) #x
#define HTTP_STR(x) HTTP_STR2(x)
    return HTTP_STR(LLHTTP_VERSION_MAJOR) "." HTTP_STR(LLHTTP_VERSION_MINOR) "." HTTP_STR(
        LLHTTP_VERSION_PATCH);
#undef HTTP_STR
#undef HTTP_STR2
}

/* ---- refusals ---- */

static void set_reason(struct http_parse *p, enum http_refusal r, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void set_reason(struct http_parse *p, enum http_refusal r, const char *fmt, va_list ap)
{
    p->reason = r;
    vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
}

/* A refusal from llhttp or its callbacks: final, the first one stays. */
static void parse_fail(struct http_parse *p, enum http_refusal r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void parse_fail(struct http_parse *p, enum http_refusal r, const char *fmt, ...)
{
    va_list ap;
    if (p->failed)
        return;
    p->failed = true;
    va_start(ap, fmt);
    set_reason(p, r, fmt, ap);
    va_end(ap);
}

/* A refusal from the scanner: noted, and final only once llhttp has had
 * the bytes before it without objecting first (http_parse_feed). */
static void scan_fail(struct http_parse *p, enum http_refusal r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void scan_fail(struct http_parse *p, enum http_refusal r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_reason(p, r, fmt, ap);
    va_end(ap);
}

/* llhttp's error codes onto our reasons; its own text becomes the message. */
static enum http_refusal map_llhttp(llhttp_errno_t err, const char *why)
{
    switch (err) {
    case HPE_INVALID_METHOD:
        return HTTP_REFUSE_METHOD;
    case HPE_INVALID_URL:
        return HTTP_REFUSE_TARGET;
    case HPE_INVALID_VERSION:
        return HTTP_REFUSE_VERSION;
    case HPE_INVALID_STATUS:
        return HTTP_REFUSE_STATUS;
    case HPE_LF_EXPECTED:
    case HPE_CR_EXPECTED:
        return HTTP_REFUSE_LINE_ENDING;
    case HPE_INVALID_HEADER_TOKEN:
        return why && strstr(why, "value") ? HTTP_REFUSE_HEADER_VALUE : HTTP_REFUSE_HEADER_NAME;
    case HPE_INVALID_CONTENT_LENGTH:
        return HTTP_REFUSE_CONTENT_LENGTH;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return why && strstr(why, "Transfer-Encoding") ? HTTP_REFUSE_CL_AND_TE
                                                       : HTTP_REFUSE_CONTENT_LENGTH;
    case HPE_INVALID_TRANSFER_ENCODING:
        return HTTP_REFUSE_TRANSFER_ENCODING;
    case HPE_INVALID_CHUNK_SIZE:
        return HTTP_REFUSE_CHUNK;
    case HPE_CLOSED_CONNECTION:
        return HTTP_REFUSE_AFTER_CLOSE;
    case HPE_INVALID_EOF_STATE:
        return HTTP_REFUSE_TRUNCATED;
    case HPE_STRICT:
        return why && strstr(why, "chunk") ? HTTP_REFUSE_CHUNK : HTTP_REFUSE_SYNTAX;
    default:
        return HTTP_REFUSE_SYNTAX;
    }
}

/* ---- the head scanner ---- */

/* Which callback paused llhttp (struct http_parse.pause). */
enum { PAUSE_HEAD, PAUSE_DONE, PAUSE_LAST_CHUNK };

enum scan_state {
    SC_START,      /* before the start line; empty lines are skipped */
    SC_START_LF,   /* an empty line's CR seen */
    SC_METHOD,     /* request: method */
    SC_TARGET0,    /* request: first byte of the target */
    SC_TARGET,     /* request: target */
    SC_VERSION,    /* request: "HTTP/1.x", then CR */
    SC_RVERSION,   /* response: "HTTP/1.x", then SP */
    SC_STATUS,     /* response: three digits */
    SC_REASON,     /* response: reason phrase */
    SC_LINE_LF,    /* a line's CR seen */
    SC_FIELD0,     /* start of a field line, or the empty line */
    SC_NAME,       /* field name */
    SC_VALUE,      /* after the colon */
    SC_END_LF,     /* the empty line's CR seen */
    SC_BODY,       /* head done: llhttp alone until the last chunk or the next message */
    SC_TRAILER0,   /* after the last chunk: only CRLF, no trailer fields */
    SC_TRAILER_LF, /* its CR seen */
};

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field content and reason phrase: HT, SP, VCHAR, obs-text. */
static bool is_text(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static const char version_prefix[] = "HTTP/1.";

/* Version bytes "HTTP/1.0" / "HTTP/1.1": idx is how many matched so far. */
static int scan_version_byte(struct http_parse *p, unsigned char c)
{
    unsigned i = p->scan.digits;
    if (i < sizeof version_prefix - 1) {
        if (c != (unsigned char)version_prefix[i]) {
            scan_fail(p, HTTP_REFUSE_VERSION, "version is not HTTP/1.0 or HTTP/1.1");
            return -1;
        }
    } else if (i == sizeof version_prefix - 1) {
        if (c != '0' && c != '1') {
            scan_fail(p, HTTP_REFUSE_VERSION, "version is not HTTP/1.0 or HTTP/1.1");
            return -1;
        }
    } else {
        return 1; /* complete: the caller looks at c */
    }
    p->scan.digits++;
    return 0;
}

static int scan_byte(struct http_parse *p, unsigned char c)
{
    struct http_scan *s = &p->scan;
    bool req = p->msg.is_request;

    if (++s->bytes > p->opts.max_head) {
        scan_fail(p, HTTP_REFUSE_HEAD_TOO_LARGE, "head over %u bytes", p->opts.max_head);
        return -1;
    }
    switch ((enum scan_state)s->state) {
    case SC_START:
        if (c == '\r') {
            s->state = SC_START_LF;
            return 0;
        }
        s->bytes = 0; /* empty lines before the message are not its head */
        s->state = req ? SC_METHOD : SC_RVERSION;
        s->digits = 0;
        return scan_byte(p, c);
    case SC_START_LF:
        if (c != '\n')
            goto bad_eol;
        s->state = SC_START;
        return 0;
    case SC_METHOD:
        if (c == ' ') {
            s->state = SC_TARGET0;
            return 0;
        }
        if (is_tchar(c))
            return 0;
        if (c == '\r' || c == '\n')
            goto bad_start;
        scan_fail(p, HTTP_REFUSE_METHOD, "byte 0x%02x in the method", c);
        return -1;
    case SC_TARGET0:
        if (c == ' ') {
            scan_fail(p, HTTP_REFUSE_START_LINE, "more than one space after the method");
            return -1;
        }
        s->state = SC_TARGET;
        /* fall through */
    case SC_TARGET:
        if (c == ' ') {
            s->state = SC_VERSION;
            s->digits = 0;
            return 0;
        }
        if (c > 0x20 && c < 0x7f && c != '#')
            return 0;
        if (c == '\r' || c == '\n')
            goto bad_start;
        scan_fail(p, HTTP_REFUSE_TARGET, "byte 0x%02x in the request-target", c);
        return -1;
    case SC_VERSION: {
        int r = scan_version_byte(p, c);
        if (r <= 0)
            return r;
        if (c == '\r') {
            s->state = SC_LINE_LF;
            return 0;
        }
        if (c == '\n')
            goto bad_eol;
        if (c == ' ')
            goto bad_start;
        scan_fail(p, HTTP_REFUSE_VERSION, "version is not HTTP/1.0 or HTTP/1.1");
        return -1;
    }
    case SC_RVERSION: {
        int r = scan_version_byte(p, c);
        if (r <= 0)
            return r;
        if (c == ' ') {
            s->state = SC_STATUS;
            s->digits = 0;
            return 0;
        }
        if (c == '\r' || c == '\n')
            goto bad_start;
        scan_fail(p, HTTP_REFUSE_VERSION, "version is not HTTP/1.0 or HTTP/1.1");
        return -1;
    }
    case SC_STATUS:
        if (c >= '0' && c <= '9' && s->digits < 3) {
            if (s->digits == 0 && c == '0') {
                scan_fail(p, HTTP_REFUSE_STATUS, "status below 100");
                return -1;
            }
            s->digits++;
            return 0;
        }
        if (s->digits == 0 && c == ' ') {
            scan_fail(p, HTTP_REFUSE_START_LINE, "more than one space after the version");
            return -1;
        }
        if (s->digits != 3 || (c >= '0' && c <= '9')) {
            scan_fail(p, HTTP_REFUSE_STATUS, "status is not three digits");
            return -1;
        }
        if (c == ' ') {
            s->state = SC_REASON;
            return 0;
        }
        if (c == '\r') {
            s->state = SC_LINE_LF; /* no reason phrase: tolerated, RFC 9112 4 */
            return 0;
        }
        if (c == '\n')
            goto bad_eol;
        scan_fail(p, HTTP_REFUSE_STATUS, "byte 0x%02x after the status", c);
        return -1;
    case SC_REASON:
        if (c == '\r') {
            s->state = SC_LINE_LF;
            return 0;
        }
        if (c == '\n')
            goto bad_eol;
        if (is_text(c))
            return 0;
        scan_fail(p, HTTP_REFUSE_START_LINE, "byte 0x%02x in the reason phrase", c);
        return -1;
    case SC_LINE_LF:
        if (c != '\n')
            goto bad_eol;
        s->state = SC_FIELD0;
        return 0;
    case SC_FIELD0:
        if (c == '\r') {
            s->state = SC_END_LF;
            return 0;
        }
        if (c == ' ' || c == '\t') {
            scan_fail(p, HTTP_REFUSE_OBS_FOLD,
                      "obsolete line folding (a field line starts "
                      "with whitespace)");
            return -1;
        }
        if (c == '\n')
            goto bad_eol;
        if (c == ':') {
            scan_fail(p, HTTP_REFUSE_HEADER_NAME, "empty header name");
            return -1;
        }
        if (++s->fields > p->opts.max_headers) {
            scan_fail(p, HTTP_REFUSE_TOO_MANY_HEADERS, "more than %u header fields",
                      p->opts.max_headers);
            return -1;
        }
        s->state = SC_NAME;
        /* fall through */
    case SC_NAME:
        if (c == ':') {
            s->state = SC_VALUE;
            return 0;
        }
        if (is_tchar(c))
            return 0;
        if (c == ' ' || c == '\t') {
            scan_fail(p, HTTP_REFUSE_HEADER_NAME, "whitespace in or after a header name");
            return -1;
        }
        if (c == '\r' || c == '\n') {
            scan_fail(p, HTTP_REFUSE_HEADER_NAME, "header line without a colon");
            return -1;
        }
        scan_fail(p, HTTP_REFUSE_HEADER_NAME, "byte 0x%02x in a header name", c);
        return -1;
    case SC_VALUE:
        if (c == '\r') {
            s->state = SC_LINE_LF;
            return 0;
        }
        if (is_text(c))
            return 0;
        if (c == '\n')
            goto bad_eol;
        scan_fail(p, HTTP_REFUSE_HEADER_VALUE, "byte 0x%02x in a header value", c);
        return -1;
    case SC_END_LF:
        if (c != '\n')
            goto bad_eol;
        s->state = SC_BODY;
        return 0;
    case SC_TRAILER0:
        if (c == '\r') {
            s->state = SC_TRAILER_LF;
            return 0;
        }
        if (c == '\n')
            goto bad_eol;
        scan_fail(p, HTTP_REFUSE_TRAILER, "trailer fields after a chunked body");
        return -1;
    case SC_TRAILER_LF:
        if (c != '\n')
            goto bad_eol;
        s->state = SC_BODY;
        return 0;
    case SC_BODY:
        break;
    }
    return 0;
bad_eol:
    scan_fail(p, HTTP_REFUSE_LINE_ENDING,
              c == '\n' ? "bare LF (lines end with CRLF)" : "CR not followed by LF");
    return -1;
bad_start:
    scan_fail(p, HTTP_REFUSE_START_LINE,
              "start line is not METHOD SP TARGET SP VERSION or "
              "VERSION SP STATUS SP REASON");
    return -1;
}

/* Scan ahead of llhttp: returns how many bytes are fine (stopping after the
 * head's last LF), and sets *bad when the byte after them is refused. */
static size_t scan_head(struct http_parse *p, const char *data, size_t len, bool *bad)
{
    size_t i;
    *bad = false;
    for (i = 0; i < len && p->scan.state != SC_BODY; i++) {
        if (scan_byte(p, (unsigned char)data[i]) < 0) {
            *bad = true;
            break;
        }
    }
    return i;
}

/* ---- llhttp callbacks ---- */

static struct http_parse *from_ll(llhttp_t *ll)
{
    return ll->data;
}

/* Append to the head buffer; the scanner's cap keeps this in bounds, the
 * check is for a cap raised without the buffer. */
static int msg_append(struct http_parse *p, const char *at, size_t len)
{
    struct http_msg *m = &p->msg;
    if (len > sizeof m->buf - m->buf_len) {
        parse_fail(p, HTTP_REFUSE_HEAD_TOO_LARGE, "head over %zu bytes", sizeof m->buf);
        return HPE_USER;
    }
    memcpy(m->buf + m->buf_len, at, len);
    m->buf_len = (uint16_t)(m->buf_len + len);
    return 0;
}

static int cb_url(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parse *p = from_ll(ll);
    if (p->msg.target_len == 0)
        p->msg.target_off = p->msg.buf_len;
    p->msg.target_len = (uint16_t)(p->msg.target_len + len);
    return msg_append(p, at, len);
}

static int cb_field(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parse *p = from_ll(ll);
    struct http_msg *m = &p->msg;
    if (p->head_done) {
        parse_fail(p, HTTP_REFUSE_TRAILER, "trailer fields after a chunked body");
        return HPE_USER;
    }
    if (!p->in_name) {
        if (m->nheaders >= p->opts.max_headers) {
            parse_fail(p, HTTP_REFUSE_TOO_MANY_HEADERS, "more than %u header fields",
                       p->opts.max_headers);
            return HPE_USER;
        }
        m->headers[m->nheaders].name_off = m->buf_len;
        m->headers[m->nheaders].name_len = 0;
        m->headers[m->nheaders].value_off = 0;
        m->headers[m->nheaders].value_len = 0;
        m->nheaders++;
        p->in_name = true;
    }
    m->headers[m->nheaders - 1].name_len = (uint16_t)(m->headers[m->nheaders - 1].name_len + len);
    return msg_append(p, at, len);
}

static int cb_field_done(llhttp_t *ll)
{
    struct http_parse *p = from_ll(ll);
    p->in_name = false;
    if (p->msg.nheaders > 0)
        p->msg.headers[p->msg.nheaders - 1].value_off = p->msg.buf_len;
    return 0;
}

static int cb_value(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parse *p = from_ll(ll);
    struct http_msg *m = &p->msg;
    if (m->nheaders == 0)
        return 0;
    m->headers[m->nheaders - 1].value_len = (uint16_t)(m->headers[m->nheaders - 1].value_len + len);
    return msg_append(p, at, len);
}

/* uri-host [":" port] (RFC 3986): reg-name, IPv4 or [IPv6] and a port,
 * so nothing a second hop could split or read otherwise (no spaces,
 * no "/", no "@"). Empty is allowed (RFC 9112 3.2). */
static bool host_is_valid(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            continue;
        if (!strchr("-._~!$&'()*+,;=:%[]", c) || c == 0)
            return false;
    }
    return true;
}

static bool span_eq(const struct http_msg *m, uint16_t off, uint16_t len, const char *s)
{
    size_t n = strlen(s);
    return len == n && strncasecmp(m->buf + off, s, n) == 0;
}

static int cb_value_done(llhttp_t *ll)
{
    struct http_parse *p = from_ll(ll);
    struct http_msg *m = &p->msg;
    struct http_header *h;
    if (m->nheaders == 0)
        return 0;
    h = &m->headers[m->nheaders - 1];
    while (h->value_len > 0 && (m->buf[h->value_off + h->value_len - 1] == ' ' ||
                                m->buf[h->value_off + h->value_len - 1] == '\t'))
        h->value_len--;
    if (span_eq(m, h->name_off, h->name_len, "host")) {
        p->host_count++;
        if (!host_is_valid(m->buf + h->value_off, h->value_len))
            p->host_bad = true;
    } else if (span_eq(m, h->name_off, h->name_len, "transfer-encoding")) {
        p->te_count++;
        if (!span_eq(m, h->value_off, h->value_len, "chunked"))
            p->te_bad = true;
    }
    return 0;
}

static int cb_headers_done(llhttp_t *ll)
{
    struct http_parse *p = from_ll(ll);
    struct http_msg *m = &p->msg;

    if (p->te_count > 0 && (p->te_bad || p->te_count > 1)) {
        parse_fail(p, HTTP_REFUSE_TRANSFER_ENCODING,
                   "Transfer-Encoding other than a single \"chunked\"");
        return -1;
    }
    if (p->te_count > 0 && ll->http_minor == 0) {
        parse_fail(p, HTTP_REFUSE_TRANSFER_ENCODING, "Transfer-Encoding in an HTTP/1.0 message");
        return -1;
    }
    if (m->is_request && p->host_bad) {
        parse_fail(p, HTTP_REFUSE_HOST, "Host is not host[:port]");
        return -1;
    }
    if (m->is_request && m->target_len == 1 && m->buf[m->target_off] == '*' &&
        ll->method != HTTP_OPTIONS) {
        parse_fail(p, HTTP_REFUSE_TARGET, "request-target * outside OPTIONS");
        return -1;
    }
    if (m->is_request && (p->host_count > 1 || (ll->http_minor == 1 && p->host_count == 0))) {
        parse_fail(p, HTTP_REFUSE_HOST,
                   p->host_count ? "more than one Host header" : "HTTP/1.1 request without Host");
        return -1;
    }
    if (!m->is_request) {
        unsigned st = ll->status_code;
        /* RFC 9112 6.3: 1xx, 204 and 304 have no body whatever the fields
         * say; a 1xx or 204 that frames one anyway is read two ways. */
        if ((st / 100 == 1 || st == 204) &&
            (p->te_count > 0 || ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > 0))) {
            parse_fail(p, p->te_count ? HTTP_REFUSE_TRANSFER_ENCODING : HTTP_REFUSE_CONTENT_LENGTH,
                       "a %u response with a body", st);
            return -1;
        }
        if (p->opts.no_body || st / 100 == 1 || st == 204 || st == 304)
            ll->flags |= F_SKIPBODY;
    }
    m->version_minor = ll->http_minor;
    m->method = ll->method;
    m->status = ll->status_code;
    m->has_content_length = (ll->flags & F_CONTENT_LENGTH) != 0;
    m->content_length = m->has_content_length ? ll->content_length : 0;
    m->chunked = (ll->flags & F_CHUNKED) != 0;
    m->upgrade = ll->upgrade != 0;
    m->body_until_close = llhttp_message_needs_eof(ll) != 0;
    m->keep_alive = llhttp_should_keep_alive(ll) != 0;
    p->head_done = true;
    p->pause = PAUSE_HEAD;
    return HPE_PAUSED;
}

static int cb_body(llhttp_t *ll, const char *at, size_t len)
{
    struct http_parse *p = from_ll(ll);
    p->msg.body_bytes += len;
    if (p->opts.on_body && p->opts.on_body(p->opts.arg, at, len) != 0) {
        parse_fail(p, HTTP_REFUSE_SYNTAX, "body refused by its consumer");
        return HPE_USER;
    }
    return 0;
}

static int cb_chunk_header(llhttp_t *ll)
{
    struct http_parse *p = from_ll(ll);
    if (ll->content_length != 0)
        return 0;
    p->pause = PAUSE_LAST_CHUNK;
    return HPE_PAUSED;
}

static int cb_message_done(llhttp_t *ll)
{
    struct http_parse *p = from_ll(ll);
    p->msg.keep_alive = llhttp_should_keep_alive(ll) != 0;
    if (ll->upgrade) {
        /* CONNECT or Upgrade: what follows is another protocol. */
        p->msg.upgrade = true;
        p->msg.keep_alive = false;
        p->upgraded = true;
    }
    p->pause = PAUSE_DONE;
    return HPE_PAUSED;
}

/* ---- API ---- */

static void msg_reset(struct http_parse *p)
{
    struct http_msg *m = &p->msg;
    bool req = m->is_request;
    memset(m, 0, offsetof(struct http_msg, buf));
    m->is_request = req;
    memset(&p->scan, 0, sizeof p->scan);
    p->in_name = false;
    p->head_done = false;
    p->stopped = false;
    p->host_count = 0;
    p->te_count = 0;
    p->te_bad = false;
    p->host_bad = false;
}

void http_parse_init(struct http_parse *p, enum http_parse_kind kind,
                     const struct http_parse_opts *opts)
{
    memset(p, 0, offsetof(struct http_parse, msg));
    if (opts)
        p->opts = *opts;
    if (p->opts.max_head == 0 || p->opts.max_head > HTTP_PARSE_HEAD_CAP)
        p->opts.max_head = HTTP_PARSE_HEAD_CAP;
    if (p->opts.max_headers == 0 || p->opts.max_headers > HTTP_PARSE_HEADERS_CAP)
        p->opts.max_headers = HTTP_PARSE_HEADERS_CAP;
    llhttp_settings_init(&p->settings);
    p->settings.on_url = cb_url;
    p->settings.on_header_field = cb_field;
    p->settings.on_header_field_complete = cb_field_done;
    p->settings.on_header_value = cb_value;
    p->settings.on_header_value_complete = cb_value_done;
    p->settings.on_headers_complete = cb_headers_done;
    p->settings.on_body = cb_body;
    p->settings.on_chunk_header = cb_chunk_header;
    p->settings.on_message_complete = cb_message_done;
    llhttp_init(&p->ll, kind == HTTP_PARSE_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE, &p->settings);
    p->ll.data = p;
    p->msg.is_request = kind == HTTP_PARSE_REQUEST;
    p->reason = HTTP_REFUSE_NONE;
    p->errmsg[0] = '\0';
    msg_reset(p);
}

void http_parse_next(struct http_parse *p)
{
    if (p->failed || !p->stopped)
        return;
    msg_reset(p);
}

enum http_parse_status http_parse_feed(struct http_parse *p, const char *data, size_t len,
                                       size_t *used)
{
    static const char no_bytes[1];
    size_t off = 0;
    bool kick;
    *used = 0;
    if (p->failed)
        return HTTP_PARSE_ERROR;
    if (p->upgraded) {
        if (len == 0)
            return HTTP_PARSE_MORE;
        parse_fail(p, HTTP_REFUSE_UPGRADE, "bytes after an Upgrade or CONNECT handover");
        return HTTP_PARSE_ERROR;
    }
    if (p->stopped)
        return HTTP_PARSE_DONE;
    if (data == NULL)
        data = no_bytes;
    /* After HEAD, llhttp decides about the body without needing a byte: a
     * message without one completes on this call even when len is 0. */
    kick = p->head_done;
    while (off < len || kick) {
        size_t lim = len;
        bool bad = false;
        llhttp_errno_t err;

        kick = false;
        if (p->scan.state != SC_BODY)
            lim = off + scan_head(p, data + off, len - off, &bad);
        if (lim > off || p->head_done) {
            err = llhttp_execute(&p->ll, data + off, lim - off);
            if (err == HPE_PAUSED_UPGRADE) {
                /* CONNECT / Upgrade: the message is complete, the rest is
                 * another protocol; llhttp stays paused for good. */
                *used = (size_t)(llhttp_get_error_pos(&p->ll) - data);
                p->msg.upgrade = true;
                p->upgraded = true;
                p->stopped = true;
                return HTTP_PARSE_DONE;
            }
            if (err == HPE_PAUSED) {
                *used = (size_t)(llhttp_get_error_pos(&p->ll) - data);
                llhttp_resume(&p->ll);
                if (bad) {
                    /* Not reachable: llhttp ends a head where the scanner
                     * does. Should it ever differ, refuse. */
                    p->failed = true;
                    return HTTP_PARSE_ERROR;
                }
                if (p->pause == PAUSE_LAST_CHUNK) {
                    /* The scanner checks what follows the last chunk. */
                    p->scan.state = SC_TRAILER0;
                    p->scan.bytes = 0;
                    off = *used;
                    continue;
                }
                if (p->pause == PAUSE_DONE) {
                    p->stopped = true;
                    return HTTP_PARSE_DONE;
                }
                return HTTP_PARSE_HEAD;
            }
            if (err != HPE_OK) {
                /* llhttp objected first (or a callback did: then p->failed
                 * is set already and the reason is ours). */
                if (!p->failed) {
                    const char *why = llhttp_get_error_reason(&p->ll);
                    if (!why)
                        why = llhttp_errno_name(err);
                    parse_fail(p, map_llhttp(err, why), "%s", why);
                }
                *used = (size_t)(llhttp_get_error_pos(&p->ll) - data);
                return HTTP_PARSE_ERROR;
            }
            off = lim;
        }
        if (bad) {
            p->failed = true;
            *used = off;
            return HTTP_PARSE_ERROR;
        }
    }
    *used = off;
    return HTTP_PARSE_MORE;
}

enum http_parse_status http_parse_finish(struct http_parse *p)
{
    llhttp_errno_t err;
    if (p->failed)
        return HTTP_PARSE_ERROR;
    if (p->stopped || p->upgraded || p->scan.state == SC_START)
        return HTTP_PARSE_MORE; /* between messages: a clean close */
    if (p->scan.state != SC_BODY) {
        parse_fail(p, HTTP_REFUSE_TRUNCATED, "connection closed inside a message head");
        return HTTP_PARSE_ERROR;
    }
    err = llhttp_finish(&p->ll);
    if (err == HPE_PAUSED) {
        llhttp_resume(&p->ll);
        p->stopped = true;
        return HTTP_PARSE_DONE;
    }
    if (err != HPE_OK) {
        parse_fail(p, HTTP_REFUSE_TRUNCATED, "connection closed inside a message");
        return HTTP_PARSE_ERROR;
    }
    if (p->scan.state == SC_BODY) {
        parse_fail(p, HTTP_REFUSE_TRUNCATED, "connection closed inside a message body");
        return HTTP_PARSE_ERROR;
    }
    return HTTP_PARSE_MORE;
}

const char *http_msg_header(const struct http_msg *m, const char *name, size_t *len)
{
    for (unsigned i = 0; i < m->nheaders; i++) {
        const struct http_header *h = &m->headers[i];
        if (span_eq(m, h->name_off, h->name_len, name)) {
            if (len)
                *len = h->value_len;
            return m->buf + h->value_off;
        }
    }
    return NULL;
}
