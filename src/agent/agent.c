#include "agent/agent.h"

#include "admin/admin.h"
#include "agent/agent_keys.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "gossip/gossip_net.h"
#include "platform/platform.h"
#include "store/store.h"
#include "tls/tls.h"

#include <event2/event.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void agent_apply_log(const struct weft_config *cfg)
{
    log_set_level(cfg->log.level);
    log_set_format(cfg->log.format);
    log_set_debug_domains(cfg->log.debug_domains);
}

static struct weft_config *agent_load_config(const char *path)
{
    struct config_errs errs;
    struct sbuf msg;
    config_errs_init(&errs);
    struct weft_config *cfg = path ? config_load_file(path, &errs) : config_load_default(&errs);
    if (!cfg) {
        sbuf_init(&msg);
        config_errs_format(&errs, &msg);
        /* Every error, one per line, as `weft config check` prints them. */
        fprintf(stderr, "%s", sbuf_str(&msg));
        sbuf_deinit(&msg);
    }
    config_errs_deinit(&errs);
    return cfg;
}

static void agent_notify(const char *state)
{
    if (pf_sd_notify(state) < 0)
        log_warn(LOG_PLATFORM, "sd_notify(%s) failed", state);
}

static void agent_drained(struct weft *w)
{
    event_base_loopexit(w->base, NULL);
}

static void agent_stop_left(void *arg)
{
    struct weft *w = arg;
    w->left = true;
    agent_proxy_drain(w, agent_drained);
}

static void agent_stop(struct weft *w, const char *why)
{
    if (w->stopping)
        return;
    w->stopping = true;
    log_info(LOG_AGENT, "%s: stopping", why);
    agent_notify("STOPPING=1");
    /* Stop accepting admin requests first; then the proxy drains: its
     * listeners close and open connections get [proxy] drain_timeout. */
    admin_free(w->admin);
    w->admin = NULL;
    /* A node with a proxy leaves the gossip pool first, so that callers
     * stop choosing it before its listeners close. */
    if (w->proxy && w->gossip && !w->left) {
        gossip_net_leave(w->gossip, agent_stop_left, w);
        return;
    }
    agent_proxy_drain(w, agent_drained);
}

void agent_left(struct weft *w)
{
    w->left = true;
    agent_stop(w, "left the cluster");
}

static void agent_reload(struct weft *w)
{
    struct config_errs errs;
    char state[96];
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)clock_mono_us());
    agent_notify(state);
    log_info(LOG_AGENT, "SIGHUP: reloading %s", w->config_path ? w->config_path : "<default>");

    config_errs_init(&errs);
    struct weft_config *fresh =
        w->config_path ? config_load_file(w->config_path, &errs) : config_load_default(&errs);
    if (!fresh) {
        struct sbuf msg;
        sbuf_init(&msg);
        config_errs_format(&errs, &msg);
        w->reload_failures++;
        snprintf(w->last_reload_error, sizeof(w->last_reload_error), "%s", sbuf_str(&msg));
        char *nl = strrchr(w->last_reload_error, '\n');
        if (nl && nl[1] == '\0')
            *nl = '\0';
        /* One line per error: journald and log shippers read lines. */
        log_error(LOG_CONFIG, "reload refused, keeping the running config (%zu error%s)", errs.n,
                  errs.n == 1 ? "" : "s");
        for (size_t i = 0; i < errs.n; i++)
            log_error(LOG_CONFIG, "%s", errs.lines[i]);
        sbuf_deinit(&msg);
        config_errs_deinit(&errs);
        agent_notify("READY=1\nSTATUS=reload failed, running the previous config");
        return;
    }
    config_errs_deinit(&errs);

    struct sbuf changed, restart;
    sbuf_init(&changed);
    sbuf_init(&restart);
    int n = config_diff(w->cfg, fresh, &changed, &restart);
    if (restart.len)
        log_warn(LOG_CONFIG, "changed keys take effect only after a restart: %s",
                 sbuf_str(&restart));
    /* What cannot change live keeps its running value: the config in use
     * always describes what is in effect. */
    if (config_reload_merge(fresh, w->cfg) != 0) {
        log_error(LOG_CONFIG, "reload: out of memory, keeping the running config");
        config_free(fresh);
        sbuf_deinit(&changed);
        sbuf_deinit(&restart);
        w->reload_failures++;
        agent_notify("READY=1\nSTATUS=reload failed, running the previous config");
        return;
    }
    config_free(w->cfg);
    w->cfg = fresh;
    agent_apply_log(w->cfg);
    agent_identity_reload(w); /* [identity] bundle: its path or its content */
    /* Tags: [gossip] tags and the id tag of a new identity (no-op if unchanged). */
    agent_gossip_reload(w);
    agent_services_reload(w); /* [service NAME]: added, changed, removed */
    agent_proxy_reload(w);    /* [upstream NAME]: added, changed, removed */
    w->reloads++;
    w->last_reload_error[0] = '\0';
    log_info(LOG_AGENT, "reloaded: %d key%s changed%s%s", n, n == 1 ? "" : "s",
             changed.len ? ": " : "", sbuf_str(&changed));
    sbuf_deinit(&changed);
    sbuf_deinit(&restart);
    agent_notify("READY=1\nSTATUS=running");
}

static void agent_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct weft *w = arg;
    (void)what;
    if (sig == SIGHUP)
        agent_reload(w);
    else
        agent_stop(w, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void agent_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    agent_notify("WATCHDOG=1");
}

/* The node id is random once and then kept, so a node keeps its identity in
 * the store across restarts even if its name changes. */
static int agent_node_id(struct weft *w, struct weft_err *e)
{
    char buf[64];
    int found = store_meta_get(w->store, "node_id", w->node_id, sizeof(w->node_id), e);
    if (found < 0)
        return -1;
    if (!found) {
        unsigned char r[16];
        if (tls_random(r, sizeof(r), e) != 0)
            return -1;
        r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* UUID v4 */
        r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
        snprintf(w->node_id, sizeof(w->node_id),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
                 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
                 r[15]);
        if (store_meta_set(w->store, "node_id", w->node_id, e) != 0)
            return -1;
        log_info(LOG_AGENT, "new node id %s", w->node_id);
    }
    found = store_meta_get(w->store, "boot_count", buf, sizeof(buf), e);
    if (found < 0)
        return -1;
    w->boot_count = (found ? strtoll(buf, NULL, 10) : 0) + 1;
    snprintf(buf, sizeof(buf), "%lld", (long long)w->boot_count);
    return store_meta_set(w->store, "boot_count", buf, e);
}

static int agent_signals(struct weft *w)
{
    w->ev_term = evsignal_new(w->base, SIGTERM, agent_on_signal, w);
    w->ev_int = evsignal_new(w->base, SIGINT, agent_on_signal, w);
    w->ev_hup = evsignal_new(w->base, SIGHUP, agent_on_signal, w);
    if (!w->ev_term || !w->ev_int || !w->ev_hup || evsignal_add(w->ev_term, NULL) != 0 ||
        evsignal_add(w->ev_int, NULL) != 0 || evsignal_add(w->ev_hup, NULL) != 0)
        return -1;
    /* A peer closing a socket must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    uint64_t wd = pf_sd_watchdog_usec();
    if (wd) {
        /* systemd wants a ping within WatchdogSec: send at half of it. */
        w->watchdog_ms = (int64_t)(wd / 2000);
        if (w->watchdog_ms < 1)
            w->watchdog_ms = 1;
        w->ev_watchdog = event_new(w->base, -1, EV_PERSIST, agent_on_watchdog, w);
        if (!w->ev_watchdog || loop_timer_add(w->ev_watchdog, w->watchdog_ms) != 0)
            return -1;
        log_info(LOG_PLATFORM, "watchdog: ping every %lld ms", (long long)w->watchdog_ms);
    }
    return 0;
}

static void agent_deinit(struct weft *w)
{
    if (w->ev_term)
        event_free(w->ev_term);
    if (w->ev_int)
        event_free(w->ev_int);
    if (w->ev_hup)
        event_free(w->ev_hup);
    if (w->ev_watchdog)
        event_free(w->ev_watchdog);
    agent_keys_stop(w);
    agent_gossip_stop(w);
    gossip_net_free(w->gossip);
    admin_free(w->admin);
    agent_ping_stop(w);
    agent_proxy_stop(w);
    agent_services_stop(w);
    agent_bundle_stop(w);
    agent_mesh_stop(w);
    agent_renew_stop(w);
    agent_ca_stop(w);
    agent_ctl_stop(w);
    agent_identity_stop(w);
    store_close(w->store);
    config_free(w->cfg);
    if (w->base)
        event_base_free(w->base);
    free(w->config_path);
    tls_lib_deinit();
}

int agent_run(const char *config_path)
{
    struct weft w;
    struct weft_err e = {{0}};
    int rc = WEFT_EXIT_FAIL;

    memset(&w, 0, sizeof(w));
    w.started_mono_ms = clock_mono_ms();
    w.started_wall_ms = clock_wall_ms();
    int64_t t0 = clock_mono_us();

    w.cfg = agent_load_config(config_path);
    if (!w.cfg)
        return WEFT_EXIT_FAIL;
    if (config_path && !(w.config_path = strdup(config_path)))
        goto out;
    agent_apply_log(w.cfg);
    /* Files we create (database, lock, keys later) are ours alone. */
    umask(0077);
    /* Descriptors: two per proxied connection, more while splicing. */
    uint64_t nofile = pf_nofile_raise();

    loop_lib_init();
    w.base = loop_new();
    if (!w.base) {
        log_error(LOG_AGENT, "cannot create the event loop");
        goto out;
    }
    if (tls_lib_init(&e) != 0 || !(w.store = store_open(w.cfg->node.data_dir, &e)) ||
        agent_node_id(&w, &e) != 0 || agent_identity_start(&w, &e) != 0 ||
        !(w.admin = admin_new(w.base, &w.cfg->admin, &e)) || agent_api_register(&w) != 0 ||
        agent_gossip_register(&w) != 0 || agent_keys_register(&w) != 0 ||
        agent_mesh_start(&w, &e) != 0 || agent_mesh_api(&w) != 0 ||
        (w.cfg->gossip.enabled && agent_gossip_start(&w, &e) != 0) ||
        agent_ctl_start(&w, &e) != 0 || agent_ping_start(&w, &e) != 0 ||
        agent_mesh_sync_start(&w, &e) != 0 || agent_services_start(&w, &e) != 0 ||
        agent_services_api(&w) != 0 || agent_proxy_start(&w, &e) != 0 ||
        agent_proxy_api(&w) != 0 || agent_ca_start(&w, &e) != 0 ||
        agent_renew_start(&w, &e) != 0) {
        log_error(LOG_AGENT, "%s", err_is_set(&e) ? e.msg : "start-up failed");
        goto out;
    }
    if (agent_signals(&w) != 0) {
        log_error(LOG_AGENT, "cannot install signal handlers");
        goto out;
    }
    w.ready_us = clock_mono_us() - t0;
    agent_notify("READY=1\nSTATUS=running");
    log_info(LOG_AGENT, "node %s ready in %.1f ms (data %s, boot %lld, %llu descriptors)",
             w.cfg->node.name, (double)w.ready_us / 1000.0, w.cfg->node.data_dir,
             (long long)w.boot_count, (unsigned long long)nofile);

    if (event_base_dispatch(w.base) < 0) {
        log_error(LOG_AGENT, "event loop failed");
        goto out;
    }
    log_info(LOG_AGENT, "stopped");
    rc = WEFT_EXIT_OK;
out:
    agent_deinit(&w);
    return rc;
}
