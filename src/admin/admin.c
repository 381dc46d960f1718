#include "admin/admin.h"

#include "core/accept_guard.h"
#include "core/addr.h"
#include "core/json.h"
#include "core/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <sys/queue.h>
#include <event2/listener.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The API is small JSON: 1 MiB bodies are plenty and cap what a client can
 * make us buffer; 8 KiB of headers; a client idle for 30 s is dropped. */
#define ADMIN_MAX_BODY (1 << 20)
#define ADMIN_MAX_HEADERS 8192
#define ADMIN_TIMEOUT_S 30
#define ADMIN_MAX_ROUTES 64

struct admin_route_ent {
    enum admin_method method;
    char *path;
    admin_handler_fn fn;
    void *ud;
};

struct admin_pending {
    struct admin_pending *next, *prev;
    struct admin *a;
    struct evhttp_request *req; /* NULL once the client went away */
    struct evhttp_connection *conn;
    char *path;
    enum admin_method method;
    struct event *ev_closed; /* the client hung up (EV_CLOSED) */
    void (*on_gone)(void *arg);
    void *on_gone_arg;
};

struct admin {
    struct event_base *base;
    struct admin_pending *pending; /* deferred requests, doubly linked */
    size_t npending;
    struct evhttp *http;
    char *socket_path; /* unlinked at free */
    struct admin_route_ent routes[ADMIN_MAX_ROUTES];
    int nroutes;
    uint64_t requests;
    uint64_t errors;
    struct log_ratelim refused_log; /* clients can trigger these: rate-limited */
    struct accept_guard *guards[2]; /* the socket's and the TCP port's listeners */
    int nguards;
};

static const char *method_name(enum admin_method m)
{
    static const char *const names[] = {"GET", "POST", "PUT", "DELETE"};
    return names[m];
}

static int method_from_evhttp(enum evhttp_cmd_type t, enum admin_method *m)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        *m = ADMIN_GET;
        return 0;
    case EVHTTP_REQ_POST:
        *m = ADMIN_POST;
        return 0;
    case EVHTTP_REQ_PUT:
        *m = ADMIN_PUT;
        return 0;
    case EVHTTP_REQ_DELETE:
        *m = ADMIN_DELETE;
        return 0;
    default:
        return -1;
    }
}

#define ADMIN_JSON "application/json"

/* ctype NULL: JSON, which gets a final newline (other types arrive complete). */
static void admin_reply_as(struct evhttp_request *req, int status, const char *ctype,
                           const char *body, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype ? ctype : ADMIN_JSON);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (out) {
        evbuffer_add(out, body, len);
        if (!ctype)
            evbuffer_add(out, "\n", 1);
    }
    evhttp_send_reply(req, status, NULL, out);
    if (out)
        evbuffer_free(out);
}

static void admin_reply(struct evhttp_request *req, int status, const char *body, size_t len)
{
    admin_reply_as(req, status, NULL, body, len);
}

static void admin_reply_error(struct evhttp_request *req, int status, const char *msg)
{
    struct sbuf b;
    struct json_w w;
    sbuf_init(&b);
    json_w_init(&w, &b);
    json_obj_begin(&w);
    json_kv_str(&w, "error", msg);
    json_obj_end(&w);
    admin_reply(req, status, sbuf_str(&b), b.len);
    sbuf_deinit(&b);
}

/* A request we answer with an error: counted, logged at a limited rate. */
static void admin_refuse(struct admin *a, struct evhttp_request *req, int status, const char *path,
                         const char *msg)
{
    a->errors++;
    enum admin_method m;
    const char *mname = method_from_evhttp(evhttp_request_get_command(req), &m) == 0
                            ? method_name(m)
                            : "(other method)";
    log_ratelim(&a->refused_log, LOG_LEVEL_WARN, LOG_ADMIN, "%s %s -> %d: %s", mname,
                path ? path : "?", status, msg);
    admin_reply_error(req, status, msg);
}

/* Dispatch state handed to admin_defer() through admin_req.priv. */
struct admin_dispatch_ctx {
    struct admin *a;
    struct evhttp_request *req;
    struct admin_pending *taken;
    const char *ctype; /* admin_reply_content_type(); NULL: JSON */
};

void admin_reply_content_type(const struct admin_req *req, const char *ctype)
{
    struct admin_dispatch_ctx *c = req->priv;
    if (c)
        c->ctype = ctype;
}

static void pending_unlink(struct admin_pending *p)
{
    struct admin *a = p->a;
    if (p->prev)
        p->prev->next = p->next;
    else if (a->pending == p)
        a->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
    a->npending--;
}

/* The client's connection closed while a reply was pending: evhttp frees
 * the request with it, so forget it now. */
static void pending_conn_closed(struct evhttp_connection *conn, void *arg)
{
    struct admin_pending *p = arg;
    (void)conn;
    /* On EOF evhttp detaches an unanswered request from the connection and
     * leaves it to whoever answers it: free it here. Still attached, the
     * connection frees it after this callback. */
    if (p->req && !evhttp_request_get_connection(p->req))
        evhttp_request_free(p->req);
    p->req = NULL;
    if (p->ev_closed) {
        event_free(p->ev_closed);
        p->ev_closed = NULL;
    }
    p->conn = NULL;
    if (p->on_gone) {
        void (*fn)(void *) = p->on_gone;
        p->on_gone = NULL;
        fn(p->on_gone_arg);
    }
}

/*
 * evhttp does not read from a connection while its request waits for a
 * reply, so it would notice a client that hung up only when the reply is
 * written. EV_CLOSED (epoll's RDHUP) tells at once: close the connection
 * then (its close callback above forgets the request).
 */
static void pending_hangup(evutil_socket_t fd, short what, void *arg)
{
    struct admin_pending *p = arg;
    (void)fd;
    (void)what;
    if (p->conn)
        evhttp_connection_free(p->conn); /* -> pending_conn_closed */
}

struct admin_pending *admin_defer(const struct admin_req *req)
{
    struct admin_dispatch_ctx *c = req->priv;
    if (!c || c->taken)
        return c ? c->taken : NULL;
    struct admin_pending *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->path = strdup(req->path ? req->path : "?");
    if (!p->path) {
        free(p);
        return NULL;
    }
    p->a = c->a;
    p->req = c->req;
    p->method = req->method;
    p->conn = evhttp_request_get_connection(c->req);
    if (p->conn) {
        evhttp_connection_set_closecb(p->conn, pending_conn_closed, p);
        struct bufferevent *bev = evhttp_connection_get_bufferevent(p->conn);
        evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
        if (fd >= 0 && (event_base_get_features(c->a->base) & EV_FEATURE_EARLY_CLOSE)) {
            p->ev_closed = event_new(c->a->base, fd, EV_CLOSED, pending_hangup, p);
            if (p->ev_closed && event_add(p->ev_closed, NULL) != 0) {
                event_free(p->ev_closed);
                p->ev_closed = NULL;
            }
        }
    }
    p->next = c->a->pending;
    if (p->next)
        p->next->prev = p;
    c->a->pending = p;
    c->a->npending++;
    c->taken = p;
    return p;
}

bool admin_pending_gone(const struct admin_pending *p)
{
    return p->req == NULL;
}

void admin_pending_on_gone(struct admin_pending *p, void (*fn)(void *arg), void *arg)
{
    p->on_gone = fn;
    p->on_gone_arg = arg;
}

size_t admin_pending_count(const struct admin *a)
{
    return a->npending;
}

static void pending_free(struct admin_pending *p)
{
    if (p->ev_closed)
        event_free(p->ev_closed);
    if (p->a)
        pending_unlink(p);
    free(p->path);
    free(p);
}

void admin_pending_reply(struct admin_pending *p, int status, const char *body, size_t len)
{
    if (!p)
        return;
    if (p->ev_closed) {
        event_free(p->ev_closed);
        p->ev_closed = NULL;
    }
    if (p->req) {
        if (p->conn)
            evhttp_connection_set_closecb(p->conn, NULL, NULL);
        admin_reply(p->req, status, body, len);
        log_debug(LOG_ADMIN, "%s %s -> %d (deferred)", method_name(p->method), p->path, status);
    }
    pending_free(p);
}

void admin_pending_error(struct admin_pending *p, int status, const char *msg)
{
    struct sbuf b;
    struct json_w w;
    if (!p)
        return;
    if (p->a && p->req)
        p->a->errors++;
    sbuf_init(&b);
    json_w_init(&w, &b);
    json_obj_begin(&w);
    json_kv_str(&w, "error", msg);
    json_obj_end(&w);
    admin_pending_reply(p, status, sbuf_str(&b), b.len);
    sbuf_deinit(&b);
}

static void admin_dispatch(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    struct admin_req r = {0};
    struct weft_err e = {{0}};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
    char *path = NULL;
    bool path_known = false;
    int status;

    a->requests++;
    if (!raw_path || !*raw_path)
        raw_path = "/";
    path = evhttp_uridecode(raw_path, 0, NULL);
    if (!path) {
        admin_refuse(a, req, 400, NULL, "bad path");
        return;
    }
    if (method_from_evhttp(evhttp_request_get_command(req), &r.method) != 0) {
        admin_refuse(a, req, 405, path, "method not allowed");
        free(path);
        return;
    }
    for (int i = 0; i < a->nroutes; i++) {
        struct admin_route_ent *rt = &a->routes[i];
        if (strcmp(rt->path, path) != 0)
            continue;
        path_known = true;
        if (rt->method != r.method)
            continue;

        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        char *body = malloc(len + 1);
        if (!body) {
            admin_reply_error(req, 503, "out of memory");
            free(path);
            return;
        }
        evbuffer_copyout(in, body, len);
        body[len] = '\0';
        r.path = path;
        r.query = uri ? evhttp_uri_get_query(uri) : NULL;
        r.body = body;
        r.body_len = len;
        struct admin_dispatch_ctx dc = {a, req, NULL, NULL};
        r.priv = &dc;

        struct sbuf out;
        sbuf_init(&out);
        status = rt->fn(rt->ud, &r, &out, &e);
        if (status == ADMIN_DEFERRED && dc.taken) {
            /* The handler answers later (admin_pending_reply). */
        } else if (status == ADMIN_DEFERRED) {
            admin_reply_error(req, 500, "handler deferred without a pending request");
        } else if (out.oom) {
            admin_reply_error(req, 503, "out of memory");
        } else if (status >= 400 && out.len == 0) {
            admin_refuse(a, req, status, path, err_is_set(&e) ? e.msg : "request failed");
        } else {
            admin_reply_as(req, status, dc.ctype, sbuf_str(&out), out.len);
        }
        log_debug(LOG_ADMIN, "%s %s -> %d", method_name(r.method), path, status);
        sbuf_deinit(&out);
        free(body);
        free(path);
        return;
    }
    admin_refuse(a, req, path_known ? 405 : 404, path,
                 path_known ? "method not allowed" : "no such endpoint");
    free(path);
}

/* Is someone serving on this unix socket path? */
static bool admin_socket_alive(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    close(fd);
    return alive;
}

/* Keep listener l from spinning when accept() runs out of descriptors. */
static int admin_guard(struct admin *a, struct evconnlistener *l, const char *what,
                       const char *where, struct weft_err *e)
{
    char name[300];
    snprintf(name, sizeof(name), "%s %s", what, where);
    if (a->nguards >= (int)(sizeof(a->guards) / sizeof(a->guards[0])) ||
        !(a->guards[a->nguards] = accept_guard_new(l, LOG_ADMIN, name)))
        return err_set(e, "%s: out of memory", name);
    a->nguards++;
    return 0;
}

static int admin_listen_unix(struct admin *a, const char *path, unsigned mode, struct weft_err *e)
{
    struct sockaddr_un sa;
    struct stat st;
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_set(e, "admin socket path too long (max %zu bytes): %s", sizeof(sa.sun_path) - 1,
                       path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));

    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return err_set(e, "admin socket %s exists and is not a socket", path);
        if (admin_socket_alive(&sa))
            return err_set(e, "admin socket %s is served by another process", path);
        unlink(path); /* stale, from an agent that died */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, "admin socket: %s", strerror(errno));
    /* Create it with no access for anyone else, then widen to the mode. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || chmod(path, (mode_t)mode) != 0 || listen(fd, 64) != 0) {
        err_set(e, "admin socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    a->socket_path = strdup(path);
    struct evconnlistener *l = evconnlistener_new(
        a->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!l || !a->socket_path) {
        if (l)
            evconnlistener_free(l);
        else
            close(fd);
        return err_set(e, "admin socket %s: cannot listen", path);
    }
    if (!evhttp_bind_listener(a->http, l)) {
        evconnlistener_free(l);
        return err_set(e, "admin socket %s: cannot serve", path);
    }
    return admin_guard(a, l, "admin socket", path, e);
}

/* "127.0.0.1:9901" or "[::1]:9901"; config/ has validated it as loopback.
 * We bind the socket ourselves: evhttp's own binding resolves names, which a
 * static binary cannot do. */
static int admin_listen_tcp(struct admin *a, const char *listen_addr, struct weft_err *e)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;
    if (addr_parse(listen_addr, &ss, &len, e) != 0)
        return err_prefix(e, "admin listen");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, "admin listen %s: %s", listen_addr, strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        err_set(e, "admin listen %s: %s", listen_addr, strerror(errno));
        close(fd);
        return -1;
    }
    struct evhttp_bound_socket *bs = evhttp_accept_socket_with_handle(a->http, fd);
    if (!bs) {
        close(fd);
        return err_set(e, "admin listen %s: cannot serve", listen_addr);
    }
    return admin_guard(a, evhttp_bound_socket_get_listener(bs), "admin listen", listen_addr, e);
}

struct admin *admin_new(struct event_base *base, const struct config_admin *cfg, struct weft_err *e)
{
    struct admin *a = calloc(1, sizeof(*a));
    if (!a) {
        err_set(e, "out of memory");
        return NULL;
    }
    a->base = base;
    a->refused_log = (struct log_ratelim)LOG_RATELIM_INIT(10000, 5);
    a->http = evhttp_new(base);
    if (!a->http) {
        err_set(e, "evhttp_new failed");
        free(a);
        return NULL;
    }
    evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
    evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
    evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE);
    evhttp_set_gencb(a->http, admin_dispatch, a);
    if (admin_listen_unix(a, cfg->socket, cfg->socket_mode, e) != 0 ||
        (cfg->listen && *cfg->listen && admin_listen_tcp(a, cfg->listen, e) != 0)) {
        admin_free(a);
        return NULL;
    }
    log_info(LOG_ADMIN, "admin API on %s%s%s", cfg->socket,
             cfg->listen && *cfg->listen ? " and " : "", cfg->listen ? cfg->listen : "");
    return a;
}

void admin_free(struct admin *a)
{
    if (!a)
        return;
    /* Pending requests: their connections close with the server (the
     * clients see the connection end); the holders keep their (now gone)
     * handles and free them with their reply. */
    for (struct admin_pending *p = a->pending; p; p = p->next) {
        if (p->conn)
            evhttp_connection_set_closecb(p->conn, NULL, NULL);
        if (p->ev_closed) {
            event_free(p->ev_closed);
            p->ev_closed = NULL;
        }
        p->req = NULL;
        p->conn = NULL;
    }
    while (a->pending) {
        struct admin_pending *p = a->pending;
        pending_unlink(p);
        p->a = NULL;
    }
    for (int i = 0; i < a->nguards; i++)
        accept_guard_free(a->guards[i]); /* before their listeners */
    if (a->http)
        evhttp_free(a->http);
    if (a->socket_path) {
        unlink(a->socket_path);
        free(a->socket_path);
    }
    for (int i = 0; i < a->nroutes; i++)
        free(a->routes[i].path);
    free(a);
}

int admin_route(struct admin *a, enum admin_method m, const char *path, admin_handler_fn fn,
                void *ud)
{
    if (a->nroutes >= ADMIN_MAX_ROUTES)
        return -1;
    char *p = strdup(path);
    if (!p)
        return -1;
    a->routes[a->nroutes++] = (struct admin_route_ent){m, p, fn, ud};
    return 0;
}

uint64_t admin_requests(const struct admin *a)
{
    return a->requests;
}

uint64_t admin_errors(const struct admin *a)
{
    return a->errors;
}

int admin_query_get(const char *query, const char *key, char *buf, size_t cap)
{
    struct evkeyvalq q;
    int found = 0;
    if (!query || cap == 0)
        return 0;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query, &q) != 0) {
        evhttp_clear_headers(&q);
        return 0;
    }
    const char *v = evhttp_find_header(&q, key);
    if (v) {
        snprintf(buf, cap, "%s", v);
        found = 1;
    }
    evhttp_clear_headers(&q);
    return found;
}
