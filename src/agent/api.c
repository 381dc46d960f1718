/*
 * The agent's own admin endpoints:
 *   GET  /v1/status        node, version, uptime, config, store, admin counters
 *   GET  /v1/config        the running config as INI text ({"source", "text"})
 *   GET  /v1/certs         the node's certificates and trust roots, no keys
 *                          (agent_identity.c)
 *   GET  /metrics          the counters, Prometheus text (agent_metrics.c)
 *   POST /v1/debug/write   ?key=K&value=V: one durable store write, answered
 *                          only after it is committed (only with
 *                          [admin] debug = true; the kill -9 tests use it)
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "platform/platform.h"
#include "store/store.h"
#include "tls/tls.h"
#include "weft_version.h"

#include <unistd.h>

static int api_status(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct json_w j;
    (void)req;
    (void)e;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "node", w->cfg->node.name);
    json_kv_str(&j, "node_id", w->node_id);
    json_kv_str(&j, "trust_domain", w->cfg->node.trust_domain);
    json_kv_str(&j, "version", WEFT_VERSION);
    json_kv_str(&j, "revision", WEFT_GIT_REVISION);
    json_kv_int(&j, "pid", (int64_t)getpid());
    json_kv_int(&j, "started_at_ms", w->started_wall_ms);
    json_kv_int(&j, "uptime_ms", clock_mono_ms() - w->started_mono_ms);
    json_kv_int(&j, "ready_us", w->ready_us);
    json_kv_int(&j, "boot_count", w->boot_count);
    json_kv_str(&j, "data_dir", w->cfg->node.data_dir);

    json_key(&j, "config");
    json_obj_begin(&j);
    json_kv_str(&j, "source", w->config_path ? w->config_path : "<default>");
    json_kv_uint(&j, "reloads", w->reloads);
    json_kv_uint(&j, "reload_failures", w->reload_failures);
    json_kv_str(&j, "last_reload_error", w->last_reload_error[0] ? w->last_reload_error : NULL);
    json_obj_end(&j);

    json_key(&j, "store");
    json_obj_begin(&j);
    json_kv_str(&j, "path", store_path(w->store));
    json_kv_int(&j, "schema_version", store_schema_version(w->store));
    json_kv_int(&j, "size_bytes", store_size_bytes(w->store));
    json_obj_end(&j);

    json_key(&j, "admin");
    json_obj_begin(&j);
    json_kv_str(&j, "socket", w->cfg->admin.socket);
    json_kv_str(&j, "listen", w->cfg->admin.listen);
    json_kv_uint(&j, "requests", admin_requests(w->admin));
    json_kv_uint(&j, "errors", admin_errors(w->admin));
    json_obj_end(&j);

    json_key(&j, "systemd");
    json_obj_begin(&j);
    json_kv_int(&j, "watchdog_ms", w->watchdog_ms);
    json_kv_str(&j, "platform", pf_name());
    json_obj_end(&j);

    json_key(&j, "log");
    json_obj_begin(&j);
    json_kv_str(&j, "level", log_level_name(w->cfg->log.level));
    json_kv_str(&j, "format", w->cfg->log.format == LOG_FORMAT_JSON ? "json" : "text");
    json_obj_end(&j);
    agent_identity_status(w, &j);
    json_obj_end(&j);
    return 200;
}

static int api_config(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct sbuf text;
    struct json_w j;
    (void)req;
    (void)e;
    sbuf_init(&text);
    config_show(w->cfg, &text);
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "source", w->config_path ? w->config_path : "<default>");
    json_kv_str(&j, "text", sbuf_str(&text));
    json_obj_end(&j);
    sbuf_deinit(&text);
    return 200;
}

static int api_debug_write(void *ud, const struct admin_req *req, struct sbuf *out,
                           struct weft_err *e)
{
    struct weft *w = ud;
    char key[256], value[1024];
    int64_t seq;
    if (!admin_query_get(req->query, "key", key, sizeof(key))) {
        err_set(e, "missing query parameter: key");
        return 400;
    }
    if (!admin_query_get(req->query, "value", value, sizeof(value)))
        value[0] = '\0';
    if (store_debug_write(w->store, key, value, &seq, e) != 0)
        return 500;
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_int(&j, "seq", seq);
    json_kv_str(&j, "key", key);
    json_obj_end(&j);
    return 200;
}

int agent_api_register(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_GET, "/v1/status", api_status, w) != 0)
        return -1;
    if (admin_route(w->admin, ADMIN_GET, "/v1/config", api_config, w) != 0)
        return -1;
    if (agent_identity_api(w) != 0)
        return -1;
    if (agent_metrics_api(w) != 0)
        return -1;
    if (w->cfg->admin.debug &&
        admin_route(w->admin, ADMIN_POST, "/v1/debug/write", api_debug_write, w) != 0)
        return -1;
    return 0;
}
