/*
 * client: the CLI's blocking HTTP/1.1 client of the agent's admin API (see
 * client.h). Buffers (request, raw reply) are local; the caller owns resp
 * and the parsed reply.
 */
#include "cli/client.h"

#include "agent/agent.h"
#include "config/config.h"
#include "core/jsonv.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/clock.h"

#define CLIENT_DEFAULT_SOCKET "./weft-data/admin.sock"
/* Replies are small JSON; refuse anything absurd rather than buffer it. */
#define CLIENT_MAX_RESPONSE (16u << 20)

int client_target(const char *admin_flag, const char *config_flag, char *buf, size_t cap,
                  struct weft_err *e)
{
    const char *env = getenv("WEFT_ADMIN");
    if (admin_flag && *admin_flag) {
        snprintf(buf, cap, "%s", admin_flag);
        return 0;
    }
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return 0;
    }
    if (config_flag) {
        struct config_errs errs;
        config_errs_init(&errs);
        struct weft_config *cfg = config_load_file(config_flag, &errs);
        if (!cfg) {
            struct sbuf m;
            sbuf_init(&m);
            config_errs_format(&errs, &m);
            err_set(e, "cannot find the agent from %s:\n%s", config_flag, sbuf_str(&m));
            sbuf_deinit(&m);
            config_errs_deinit(&errs);
            return -1;
        }
        snprintf(buf, cap, "%s", cfg->admin.socket);
        config_free(cfg);
        config_errs_deinit(&errs);
        return 0;
    }
    snprintf(buf, cap, "%s", CLIENT_DEFAULT_SOCKET);
    return 0;
}

static bool client_is_unix(const char *target)
{
    return strchr(target, '/') != NULL || strchr(target, ':') == NULL;
}

static int client_connect(const char *target, struct weft_err *e)
{
    if (client_is_unix(target)) {
        struct sockaddr_un sa;
        if (strlen(target) >= sizeof(sa.sun_path))
            return err_set(e, "admin socket path too long: %s", target);
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, target, strlen(target));
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return err_set(e, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            err_set(e, "no agent at %s: %s", target, strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    if (addr_parse(target, &ss, &len, e) != 0)
        return err_prefix(e, "admin address");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) != 0) {
        err_set(e, "no agent at %s: %s", target, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int client_write_all(int fd, const char *p, size_t n, struct weft_err *e)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_set(e, "sending request: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until EOF (we sent Connection: close), within timeout_ms. */
static int client_read_all(int fd, int64_t timeout_ms, struct sbuf *raw, struct weft_err *e)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    char chunk[8192];
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            return err_set(e, "the agent did not answer within %lld ms", (long long)timeout_ms);
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return err_set(e, "poll: %s", strerror(errno));
        if (pr == 0)
            continue;
        ssize_t r = recv(fd, chunk, sizeof(chunk), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_set(e, "reading reply: %s", strerror(errno));
        if (r == 0)
            return 0;
        sbuf_append(raw, chunk, (size_t)r);
        if (raw->len > CLIENT_MAX_RESPONSE || raw->oom)
            return err_set(e, "reply too large");
    }
}

int client_request(const char *target, const char *method, const char *path, const char *body,
                   int64_t timeout_ms, int *status, struct sbuf *resp, struct weft_err *e)
{
    struct sbuf req, raw;
    int fd = client_connect(target, e);
    if (fd < 0)
        return -1;
    sbuf_init(&req);
    sbuf_init(&raw);
    size_t blen = body ? strlen(body) : 0;
    sbuf_printf(&req,
                "%s %s HTTP/1.1\r\nHost: weft\r\nUser-Agent: weft-cli\r\nAccept: "
                "application/json\r\nConnection: close\r\nContent-Length: %zu\r\n",
                method, path, blen);
    if (blen)
        sbuf_puts(&req, "Content-Type: application/json\r\n");
    sbuf_puts(&req, "\r\n");
    if (blen)
        sbuf_append(&req, body, blen);
    int rc = -1;
    if (req.oom) {
        err_set(e, "out of memory");
        goto out;
    }
    if (client_write_all(fd, req.data, req.len, e) != 0 ||
        client_read_all(fd, timeout_ms, &raw, e) != 0)
        goto out;
    /* "HTTP/1.1 200 OK\r\n...headers...\r\n\r\nbody". evhttp replies with a
     * Content-Length, never chunked, to a Connection: close request. */
    const char *s = sbuf_str(&raw);
    int code;
    if (sscanf(s, "HTTP/1.%*1[01] %3d", &code) != 1) {
        err_set(e, "the agent at %s sent no HTTP reply", target);
        goto out;
    }
    const char *hdr_end = strstr(s, "\r\n\r\n");
    if (!hdr_end) {
        err_set(e, "the agent at %s sent a truncated reply", target);
        goto out;
    }
    *status = code;
    sbuf_puts(resp, hdr_end + 4);
    rc = 0;
out:
    close(fd);
    sbuf_deinit(&req);
    sbuf_deinit(&raw);
    return rc;
}

int client_call(const char *admin_flag, const char *config_flag, const char *method,
                const char *path, const char *body, struct sbuf *resp, struct jsonv **out)
{
    return client_call_timeout(admin_flag, config_flag, method, path, body, CLIENT_TIMEOUT_MS, resp,
                               out);
}

int client_call_timeout(const char *admin_flag, const char *config_flag, const char *method,
                        const char *path, const char *body, int64_t timeout_ms, struct sbuf *resp,
                        struct jsonv **out)
{
    char target[512];
    struct weft_err e = {{0}};
    int status = 0;
    *out = NULL;
    if (client_target(admin_flag, config_flag, target, sizeof(target), &e) != 0) {
        fprintf(stderr, "weft: %s\n", e.msg);
        return WEFT_EXIT_FAIL;
    }
    if (timeout_ms <= 0)
        timeout_ms = CLIENT_TIMEOUT_MS;
    if (client_request(target, method, path, body, timeout_ms, &status, resp, &e) != 0) {
        fprintf(stderr, "weft: %s\n", e.msg);
        return WEFT_EXIT_UNREACHABLE;
    }
    struct jsonv *v = jsonv_parse(sbuf_str(resp), resp->len, &e);
    if (status < 200 || status > 299) {
        fprintf(stderr, "weft: the agent answered %d: %s\n", status,
                v ? jsonv_str(jsonv_get(v, "error"), sbuf_str(resp)) : sbuf_str(resp));
        /* A list of errors (e.g. every line of a refused file), one per line. */
        const struct jsonv *errs = v ? jsonv_get(v, "errors") : NULL;
        for (size_t i = 0; i < jsonv_len(errs); i++)
            fprintf(stderr, "%s\n", jsonv_str(jsonv_at(errs, i), "?"));
        jsonv_free(v);
        return WEFT_EXIT_FAIL;
    }
    if (!v) {
        fprintf(stderr, "weft: unreadable reply from the agent: %s\n", e.msg);
        return WEFT_EXIT_FAIL;
    }
    *out = v;
    return WEFT_EXIT_OK;
}
