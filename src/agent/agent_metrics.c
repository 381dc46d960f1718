/*
 * agent_metrics: GET /metrics, the agent's counters in the Prometheus text
 * format (telemetry/prom.h; every family is listed in docs/metrics.md).
 *
 * A scrape calls each writer of metrics_writers[] in order; a writer owns
 * its families (all the samples of a family come from one writer, so they
 * are contiguous). Writers of state private to another agent file live in
 * that file, as its JSON status writer does (agent_mesh_metrics in
 * agent_mesh.c, ...). A subsystem that is off still writes its families'
 * HELP and TYPE lines, without samples, so the set of families does not
 * depend on the config.
 *
 * TLS counters are written by one writer for every conf that has them
 * (tls_sources[]): the control listener today, the proxy's listeners next,
 * each sample labelled listener="...".
 *
 * Only counters that exist elsewhere are shown; nothing here counts.
 * Allocation: none kept; the reply is the admin server's sbuf.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "ctl/ctl_server.h"
#include "gossip/gossip_net.h"
#include "gossip/serf.h"
#include "gossip/swim.h"
#include "pki/identity.h"
#include "pki/spiffe.h"
#include "platform/platform.h"
#include "store/store.h"
#include "telemetry/prom.h"
#include "tls/tls_conf.h"
#include "weft_version.h"

#include <stdio.h>

/* ---- agent ------------------------------------------------------------------------------- */

static void metrics_agent(struct weft *w, struct prom_w *pw)
{
    prom_family(pw, "weft_build_info", PROM_GAUGE, "Always 1; the labels name the running build.");
    prom_f64(pw, 1, "version", WEFT_VERSION, "revision", WEFT_GIT_REVISION, "platform", pf_name(),
             NULL);
    prom_gauge(pw, "weft_start_time_seconds", "When the agent started, in seconds since the epoch.",
               (double)w->started_wall_ms / 1000.0);
    prom_gauge(pw, "weft_uptime_seconds", "Seconds since the agent started (monotonic clock).",
               (double)(clock_mono_ms() - w->started_mono_ms) / 1000.0);
    prom_gauge(pw, "weft_ready_seconds", "How long this run took from start to ready (READY=1).",
               (double)w->ready_us / 1e6);
    prom_gauge(pw, "weft_boot_count", "Starts of the agent on this data dir, this one included.",
               (double)w->boot_count);
    prom_counter(pw, "weft_reloads_total", "Configuration reloads (SIGHUP) that were applied.",
                 w->reloads);
    prom_counter(pw, "weft_reload_failures_total",
                 "Configuration reloads refused (invalid config; the old one kept).",
                 w->reload_failures);
    prom_counter(pw, "weft_admin_requests_total", "Admin API requests received.",
                 admin_requests(w->admin));
    prom_counter(pw, "weft_admin_errors_total",
                 "Admin API requests refused (bad method, unknown path, too large, handler error).",
                 admin_errors(w->admin));
    prom_gauge(pw, "weft_admin_pending", "Admin API requests waiting for a deferred reply.",
               (double)admin_pending_count(w->admin));
    prom_gauge(pw, "weft_store_size_bytes", "Size of the SQLite database file.",
               (double)store_size_bytes(w->store));
}

/* ---- TLS, by listener ------------------------------------------------------------------ */

struct metrics_tls_src {
    const char *listener;
    const struct tls_stats *st;
};

/* A source of TLS counters: fills up to max entries, returns how many. */
typedef size_t (*metrics_tls_fn)(const struct weft *w, struct metrics_tls_src *out, size_t max);

static size_t tls_control(const struct weft *w, struct metrics_tls_src *out, size_t max)
{
    if (!w->ctl || max == 0)
        return 0;
    out[0] = (struct metrics_tls_src){"control", tls_conf_stats(ctl_server_conf(w->ctl))};
    return 1;
}

static size_t tls_proxy_inbound(const struct weft *w, struct metrics_tls_src *out, size_t max)
{
    const struct tls_stats *st = agent_proxy_inbound_tls(w);
    if (!st || max == 0)
        return 0;
    out[0] = (struct metrics_tls_src){"proxy_inbound", st};
    return 1;
}

/* Every tls_conf whose counters are shown. */
static const metrics_tls_fn tls_sources[] = {
    tls_control,
    tls_proxy_inbound,
};

#define METRICS_TLS_MAX 64

static void metrics_tls(struct weft *w, struct prom_w *pw)
{
    struct metrics_tls_src src[METRICS_TLS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(tls_sources) / sizeof(tls_sources[0]); i++)
        n += tls_sources[i](w, src + n, METRICS_TLS_MAX - n);

    prom_family(pw, "weft_tls_handshakes_total", PROM_COUNTER,
                "TLS handshakes completed and accepted (resumed ones included).");
    for (size_t i = 0; i < n; i++)
        prom_u64(pw, src[i].st->handshakes, "listener", src[i].listener, NULL);
    prom_family(pw, "weft_tls_resumed_total", PROM_COUNTER,
                "TLS handshakes resumed from a session ticket.");
    for (size_t i = 0; i < n; i++)
        prom_u64(pw, src[i].st->resumed, "listener", src[i].listener, NULL);
    prom_family(pw, "weft_tls_failures_total", PROM_COUNTER, "TLS handshakes refused, by reason.");
    for (size_t i = 0; i < n; i++)
        for (int f = 1; f < TLS_FAIL_MAX; f++)
            prom_u64(pw, src[i].st->fail[f], "listener", src[i].listener, "reason",
                     tls_fail_name((enum tls_fail)f), NULL);
}

/* ---- the control RPC listener ------------------------------------------------------------ */

static void metrics_control(struct weft *w, struct prom_w *pw)
{
    const struct ctl_stats *st = w->ctl ? ctl_server_stats(w->ctl) : NULL;
    prom_family(pw, "weft_control_connections", PROM_GAUGE,
                "Open connections to the control listener.");
    if (st)
        prom_u64(pw, ctl_server_conns(w->ctl), NULL);
    prom_family(pw, "weft_control_accepted_total", PROM_COUNTER,
                "Control connections past the TLS handshake.");
    if (st)
        prom_u64(pw, st->accepted, NULL);
    prom_family(pw, "weft_control_requests_total", PROM_COUNTER,
                "Control requests answered with ok.");
    if (st)
        prom_u64(pw, st->requests, NULL);
    prom_family(pw, "weft_control_refused_total", PROM_COUNTER,
                "Control connections or requests refused, by reason.");
    for (int r = 1; st && r < CTL_R_MAX; r++)
        prom_u64(pw, st->refused[r], "reason", ctl_reason_name((enum ctl_reason)r), NULL);
}

/* ---- gossip: memberlist (SWIM) and Serf -------------------------------------------------- */

/* A counter family with one sample when gossip runs (c not NULL). */
static void gossip_counter(struct prom_w *pw, const char *name, const char *help, const void *c,
                           uint64_t v)
{
    prom_family(pw, name, PROM_COUNTER, help);
    if (c)
        prom_u64(pw, v, NULL);
}

static void metrics_gossip(struct weft *w, struct prom_w *pw)
{
    static const enum swim_status statuses[] = {SWIM_ALIVE, SWIM_SUSPECT, SWIM_DEAD, SWIM_LEFT};
    const struct swim *s = w->gossip ? gossip_net_swim(w->gossip) : NULL;
    const struct swim_counters *c = s ? swim_counters(s) : NULL;
    struct gossip_net_stats st = {0};
    if (w->gossip)
        gossip_net_stats(w->gossip, &st);

    prom_family(pw, "weft_gossip_members", PROM_GAUGE,
                "Members in this node's table (itself included), by status.");
    for (size_t k = 0; s && k < sizeof(statuses) / sizeof(statuses[0]); k++) {
        size_t n = 0, total = swim_member_count(s);
        for (size_t i = 0; i < total; i++)
            if (swim_member_status(swim_member_at(s, i)) == statuses[k])
                n++;
        prom_u64(pw, n, "status", agent_gossip_status_name(statuses[k]), NULL);
    }
    prom_family(pw, "weft_gossip_incarnation", PROM_GAUGE,
                "This node's incarnation number (grows when it refutes a suspicion).");
    if (s)
        prom_u64(pw, swim_incarnation(s), NULL);
    gossip_counter(pw, "weft_gossip_probes_total", "Direct probes sent.", c, c ? c->probes : 0);
    gossip_counter(pw, "weft_gossip_probe_acks_total",
                   "Probes answered, directly or through a relay.", c, c ? c->probe_acks : 0);
    gossip_counter(pw, "weft_gossip_indirect_probes_total", "Indirect probe requests sent.", c,
                   c ? c->indirect_sent : 0);
    gossip_counter(pw, "weft_gossip_nacks_total", "Nacks received for our indirect probes.", c,
                   c ? c->nacks_received : 0);
    gossip_counter(pw, "weft_gossip_suspicions_total", "Members marked suspect.", c,
                   c ? c->suspects : 0);
    gossip_counter(pw, "weft_gossip_deaths_total", "Members marked failed.", c, c ? c->deaths : 0);
    gossip_counter(pw, "weft_gossip_leaves_total", "Members marked left.", c, c ? c->lefts : 0);
    gossip_counter(pw, "weft_gossip_refutes_total",
                   "Times this node refuted a suspicion or death of itself.", c,
                   c ? c->refutes : 0);
    gossip_counter(pw, "weft_gossip_broadcast_packets_total", "Gossip datagrams sent.", c,
                   c ? c->gossip_packets : 0);
    prom_family(pw, "weft_gossip_push_pulls_total", PROM_COUNTER,
                "Push/pull state exchanges, started by this node or answered.");
    if (c) {
        prom_u64(pw, c->push_pulls, "role", "initiated", NULL);
        prom_u64(pw, c->push_pulls_taken, "role", "answered", NULL);
    }
    gossip_counter(pw, "weft_gossip_tcp_pings_total",
                   "TCP fallback pings started (a probe's UDP ack was late).", c,
                   c ? c->tcp_pings : 0);
    gossip_counter(pw, "weft_gossip_tcp_ping_acks_total", "TCP fallback pings answered in time.", c,
                   c ? c->tcp_ping_acks : 0);
    prom_family(pw, "weft_gossip_packets_total", PROM_COUNTER, "Gossip datagrams, by direction.");
    if (c) {
        prom_u64(pw, st.packets_in, "direction", "in", NULL);
        prom_u64(pw, st.packets_out, "direction", "out", NULL);
    }
    prom_family(pw, "weft_gossip_bytes_total", PROM_COUNTER,
                "Gossip datagram bytes, by direction.");
    if (c) {
        prom_u64(pw, st.bytes_in, "direction", "in", NULL);
        prom_u64(pw, st.bytes_out, "direction", "out", NULL);
    }

    const struct serf *sf = w->gossip ? gossip_net_serf(w->gossip) : NULL;
    const struct serf_counters *sc = sf ? serf_counters(sf) : NULL;
    prom_family(pw, "weft_gossip_dropped_total", PROM_COUNTER,
                "Gossip input or output dropped, by reason.");
    if (c && sc) {
        const struct {
            const char *reason;
            uint64_t v;
        } d[] = {
            {"decrypt", st.drop_decrypt},
            {"decode", st.drop_decode},
            {"stream", st.drop_stream},
            {"too_many_streams", st.drop_conns},
            {"send", st.drop_send},
            {"relays_full", c->relays_dropped},
            {"broadcast_queue_full", c->bcast_dropped + sc->bcast_dropped},
            {"members_full", c->members_dropped + sc->members_dropped},
            {"actions_full", c->actions_dropped},
            {"serf_bad_messages", sc->bad_messages},
            {"serf_outbox_full", sc->outbox_dropped},
        };
        for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
            prom_u64(pw, d[i].v, "reason", d[i].reason, NULL);
    }

    struct serf_clocks ck = {0};
    if (sf)
        serf_clocks(sf, &ck);
    prom_family(pw, "weft_serf_clock", PROM_GAUGE, "Serf's Lamport clocks.");
    if (sf) {
        prom_u64(pw, ck.member, "clock", "member", NULL);
        prom_u64(pw, ck.event, "clock", "event", NULL);
        prom_u64(pw, ck.query, "clock", "query", NULL);
    }
    prom_family(pw, "weft_serf_events_total", PROM_COUNTER, "Serf user events, by direction.");
    if (sc) {
        prom_u64(pw, sc->events_sent, "direction", "sent", NULL);
        prom_u64(pw, sc->events_received, "direction", "received", NULL);
    }
    prom_family(pw, "weft_serf_events_ignored_total", PROM_COUNTER,
                "Serf user events received and not delivered, by reason.");
    if (sc) {
        prom_u64(pw, sc->events_dup, "reason", "duplicate", NULL);
        prom_u64(pw, sc->events_old, "reason", "old", NULL);
    }
    prom_family(pw, "weft_serf_queries_total", PROM_COUNTER, "Serf queries, by direction.");
    if (sc) {
        prom_u64(pw, sc->queries_sent, "direction", "sent", NULL);
        prom_u64(pw, sc->queries_received, "direction", "received", NULL);
    }
    prom_family(pw, "weft_serf_queries_ignored_total", PROM_COUNTER,
                "Serf queries received and not answered, by reason.");
    if (sc) {
        prom_u64(pw, sc->queries_dup, "reason", "duplicate", NULL);
        prom_u64(pw, sc->queries_old, "reason", "old", NULL);
        prom_u64(pw, sc->queries_filtered, "reason", "filtered", NULL);
    }
    prom_family(pw, "weft_serf_query_acks_total", PROM_COUNTER, "Serf query acks, by direction.");
    if (sc) {
        prom_u64(pw, sc->acks_sent, "direction", "sent", NULL);
        prom_u64(pw, sc->acks_received, "direction", "received", NULL);
    }
    prom_family(pw, "weft_serf_query_responses_total", PROM_COUNTER,
                "Serf query responses, by direction.");
    if (sc) {
        prom_u64(pw, sc->responses_sent, "direction", "sent", NULL);
        prom_u64(pw, sc->responses_received, "direction", "received", NULL);
    }
    gossip_counter(pw, "weft_serf_intents_received_total", "Serf join and leave intents received.",
                   sc, sc ? sc->intents_received : 0);
    gossip_counter(
        pw, "weft_serf_relays_total",
        "Serf query responses relayed: sent through other members or forwarded for them.", sc,
        sc ? sc->relays : 0);
    gossip_counter(pw, "weft_serf_reconnects_total", "Push/pulls tried to a failed member.", sc,
                   sc ? sc->reconnects : 0);
}

/* ---- identity ---------------------------------------------------------------------------- */

static void metrics_identity(struct weft *w, struct prom_w *pw)
{
    const struct pki_identity *id = w->ident;
    prom_family(pw, "weft_cert_not_after_seconds", PROM_GAUGE,
                "When each certificate this node holds expires, in seconds since the epoch.");
    for (size_t i = 0; id && i < id->nidents; i++) {
        const struct pki_ident *c = &id->idents[i];
        prom_f64(pw, (double)c->not_after, "kind", spiffe_kind_name(c->kind), "name", c->name,
                 "spiffe_id", c->spiffe_id, NULL);
    }
    prom_family(pw, "weft_trust_root_not_after_seconds", PROM_GAUGE,
                "When each trust root expires, in seconds since the epoch.");
    for (size_t i = 0; id && i < id->nroots; i++)
        prom_f64(pw, (double)id->roots[i].not_after, "fingerprint", id->roots[i].fingerprint, NULL);
}

/* ---- the writers, in the order of the scrape ---------------------------------------------- */

typedef void (*metrics_writer_fn)(struct weft *w, struct prom_w *pw);

static const struct {
    const char *name;
    metrics_writer_fn fn;
} metrics_writers[] = {
    {"agent", metrics_agent},
    {"tls", metrics_tls},
    {"control", metrics_control},
    {"gossip", metrics_gossip},
    {"mesh", agent_mesh_metrics},
    {"mesh_sync", agent_mesh_sync_metrics},
    {"services", agent_services_metrics},
    {"identity", metrics_identity},
    {"proxy", agent_proxy_metrics},
};

static int api_metrics(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    static struct log_ratelim bug_log = LOG_RATELIM_INIT(60000, 1);
    struct weft *w = ud;
    struct prom_w pw;
    (void)req;
    (void)e;
    admin_reply_content_type(req, PROM_CONTENT_TYPE);
    prom_w_init(&pw, out);
    for (size_t i = 0; i < sizeof(metrics_writers) / sizeof(metrics_writers[0]); i++)
        metrics_writers[i].fn(w, &pw);
    if (prom_w_bugs(&pw))
        log_ratelim(&bug_log, LOG_LEVEL_ERROR, LOG_AGENT,
                    "BUG: /metrics: %llu bad metric(s) left out; the first: %s",
                    (unsigned long long)prom_w_bugs(&pw), prom_w_first_bug(&pw));
    prom_w_deinit(&pw);
    return 200;
}

int agent_metrics_api(struct weft *w)
{
    return admin_route(w->admin, ADMIN_GET, "/metrics", api_metrics, w);
}
