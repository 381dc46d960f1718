/* The root object's layout, shared by agent.c and api.c only. */
#ifndef WEFT_AGENT_TYPES_H
#define WEFT_AGENT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/swim_types.h"

struct event_base;
struct event;
struct weft_config;
struct store;
struct admin;
struct gossip_net;
struct agent_gossip_persist;
struct agent_gossip_retry;
struct agent_keys_req;
struct pki_identity;
struct json_w;
struct ctl_server;
struct tls_conf;
struct agent_ca;
struct ping_call;
struct agent_mesh;
struct agent_mesh_sync;
struct agent_services;
struct mesh_table;
struct mesh_record;
struct agent_renew;
struct agent_proxy;
struct tls_stats;

struct weft {
    struct event_base *base;
    char *config_path; /* NULL: embedded default */
    struct weft_config *cfg;
    struct store *store;
    struct admin *admin;
    struct gossip_net *gossip;                   /* NULL unless [gossip] enabled */
    struct agent_gossip_persist *gossip_persist; /* agent_gossip.c: member snapshot */
    struct agent_gossip_retry *gossip_retry;     /* agent_gossip.c: seeds retried while alone */
    struct agent_keys_req *keys_inflight;        /* agent_keys.c: POST /v1/keyring in flight */

    struct event *ev_term;
    struct event *ev_int;
    struct event *ev_hup;
    struct event *ev_watchdog;
    int64_t watchdog_ms; /* 0: no watchdog */

    char node_id[40]; /* random, kept in the store across restarts */
    int64_t boot_count;
    int64_t started_mono_ms;
    int64_t started_wall_ms;
    int64_t ready_us; /* start to READY, microseconds */

    uint64_t reloads;
    uint64_t reload_failures;
    char last_reload_error[WEFT_ERR_MAX];
    bool stopping;
    bool left; /* the gossip leave is done */

    struct pki_identity *ident; /* NULL: no [identity] (agent_identity.c) */
    const char *ident_source;   /* "bundle", "store", "renewal" or "enrollment" */
    struct event *ev_ident;     /* the daily expiry check */

    int64_t clock_offset_ms;           /* [debug] clock_offset (+ /v1/debug/clock); debug only */
    struct ctl_server *ctl;            /* [control] listen; NULL = off (agent_ctl.c) */
    struct agent_ca *ca;               /* [ca] dir; NULL = not a CA node (agent_ca.c) */
    struct agent_renew *renew;         /* [identity] ca; NULL = no renewal (agent_renew.c) */
    struct ping_call *pings;           /* POST /v1/control/ping calls in flight (agent_ping.c) */
    struct agent_mesh *mesh;           /* the replicated state (agent_mesh.c) */
    struct agent_mesh_sync *mesh_sync; /* anti-entropy with peers (agent_mesh_sync.c) */
    struct agent_services *services;   /* local services and their checks (agent_services.c) */
    struct event *bundle_ev;           /* install a trust bundle from the mesh (agent_bundle.c) */
    struct agent_proxy *proxy;         /* the data plane; NULL when off (agent_proxy.c) */
};

/** Register the admin API's endpoints for this agent. */
int agent_api_register(struct weft *w);
/** Start gossip ([gossip] enabled; agent_gossip.c). Returns 0 or -1 (message in e). */
int agent_gossip_start(struct weft *w, struct weft_err *e);
/** Register /v1/members, /v1/join, /v1/leave (409 "gossip is off" without gossip). */
int agent_gossip_register(struct weft *w);
/** Serf's events, queries and counters: POST /v1/event, GET /v1/events, POST /v1/query,
 * GET /v1/gossip (agent_serf.c). Returns 0 or -1. */
int agent_serf_register(struct weft *w);
struct serf_clocks;
/** Serf's clocks from the store (zero when never saved), and the saver (gossip_net's on_clocks). */
void agent_serf_clocks_load(struct weft *w, struct serf_clocks *c);
void agent_serf_clocks_save(void *arg, const struct serf_clocks *c);
/** SIGHUP: apply changed tags live (Serf SetTags): [gossip] tags, the id of a new identity. */
void agent_gossip_reload(struct weft *w);
/** The effective [gossip] timing as a "timing" object (GET /v1/gossip). */
void agent_gossip_timing_json(const struct weft *w, struct json_w *j);
/** A member's status as `weft members` and /metrics name it: alive, suspect, failed, left. */
const char *agent_gossip_status_name(enum swim_status st);
/** Write the pending member snapshot and free its timer; safe when never started. */
void agent_gossip_stop(struct weft *w);
/** The graceful leave is done: stop the agent (exit 0). */
void agent_left(struct weft *w);

/**
 * Take the node's identity from [identity] bundle and the store (nothing
 * when unset). Returns 0, or -1 with one message in e (e.g. an expired node
 * certificate, with how to re-enroll).
 */
int agent_identity_start(struct weft *w, struct weft_err *e);
/**
 * SIGHUP: re-read [identity] bundle and take it when it is newer than the
 * running identity (the rule of the start); a broken or older bundle is
 * logged and the running identity kept.
 */
void agent_identity_reload(struct weft *w);
/** Free the identity and its timer; safe when never started. */
void agent_identity_stop(struct weft *w);
/** Register GET /v1/certs. Returns 0 or -1. */
int agent_identity_api(struct weft *w);
/** Write the "identity" member of /v1/status (null without an identity). */
void agent_identity_status(const struct weft *w, struct json_w *j);
/** Wall-clock seconds that certificates are judged and issued by (+ the debug offset). */
int64_t agent_now_s(const struct weft *w);
/**
 * Put a renewed identity in place of w->ident: store it durably first, then
 * swap, then let the control listener pick up a new node certificate. Takes
 * ownership of id. Returns 0, or -1 (id freed, the old identity kept).
 */
int agent_identity_replace(struct weft *w, struct pki_identity *id, struct weft_err *e);

/*
 * The control RPC (agent_ctl.c), the CA service (agent_ca.c) and renewal
 * (agent_renew.c): docs/identity.md. Started after the admin API and before
 * READY, in this order; stopped in reverse.
 */
/** tls accept predicate: any node ID (spiffe://TD/node/NAME) of the conf's trust domain. */
bool agent_ctl_is_node(void *arg, const char *id);
/**
 * Enroll with [identity] token (agent_enroll.c): keys made here, the CA's
 * chain checked against the token's pin, certificates received, checked and
 * stored. Waits at most [identity] start_wait. Returns 0 with *out set, or -1.
 */
int agent_enroll(struct weft *w, struct pki_identity **out, struct weft_err *e);
/** A tls_conf of role with the node's certificate and roots, accepting node IDs. */
struct tls_conf *agent_ctl_conf(const struct weft *w, int role, struct weft_err *e);
/** Start [control] listen (needs an identity). Returns 0 or -1. */
int agent_ctl_start(struct weft *w, struct weft_err *e);
/** The node certificate changed: new handshakes use it. */
void agent_ctl_identity_changed(struct weft *w);
void agent_ctl_stop(struct weft *w);
/** Register GET /v1/control (and the debug clock and renew endpoints). Returns 0 or -1. */
int agent_ctl_api(struct weft *w);
/** Load [ca] dir and serve `renew` on the control listener. Returns 0 or -1. */
int agent_ca_start(struct weft *w, struct weft_err *e);
void agent_ca_stop(struct weft *w);
/** Register POST /v1/ca/token (409 unless a CA node). Returns 0 or -1. */
int agent_ca_api(struct weft *w);
/*
 * The control plane's state (agent_mesh.c, agent_mesh_sync.c; docs/mesh.md).
 * Started after the control listener, before READY.
 */
int agent_mesh_start(struct weft *w, struct weft_err *e);
void agent_mesh_stop(struct weft *w);
/** Register /v1/mesh, /v1/mesh/apply, /v1/mesh/objects, /v1/mesh/history. */
int agent_mesh_api(struct weft *w);
/** The table (NULL before start). */
struct mesh_table *agent_mesh_table(struct weft *w);
/** This node's writer identity (its node SPIFFE ID). */
const char *agent_mesh_writer(const struct weft *w);
/** The wall clock the mesh stamps and judges with (ms), with the debug offset. */
int64_t agent_mesh_wall_ms(const struct weft *w);
/** The digest as the gossip tag carries it: 16 hex digits. */
void agent_mesh_tag(const struct weft *w, char *out, size_t cap);
/** The table changed: publish the new digest in the tags (debounced). */
void agent_mesh_changed(struct weft *w);
/** Store records durably, then merge them into the table. Returns 0 or -1. */
int agent_mesh_store_and_merge(struct weft *w, const struct mesh_record *recs, size_t n,
                               struct weft_err *e);
/** May this writer ([mesh] writers) originate changes? 0, or -1 with the reason. */
int agent_mesh_may_write(const struct weft *w, const char *writer, struct weft_err *e);
/** Live weft members (ourselves included), and those whose digest is not ours (names). */
void agent_mesh_peers_behind(struct weft *w, size_t *members, size_t *behind, char *names,
                             size_t cap);
int agent_mesh_sync_start(struct weft *w, struct weft_err *e);
void agent_mesh_sync_stop(struct weft *w);
/** The "sync" member of GET /v1/mesh. */
void agent_mesh_sync_status(const struct weft *w, struct json_w *j);
/** Local services: checks and catalog records (agent_services.c). After agent_mesh_start. */
int agent_services_start(struct weft *w, struct weft_err *e);
void agent_services_stop(struct weft *w);
/** SIGHUP: start, restart or withdraw [service NAME] sections that changed. */
void agent_services_reload(struct weft *w);
/** GET/POST/DELETE /v1/services. */
int agent_services_api(struct weft *w);
/** May r (a "service" record) be taken? Only its own node publishes it. */
bool agent_services_may_publish(const struct weft *w, const struct mesh_record *r,
                                struct weft_err *e);
/** The value of key in a service record's "k = v" body, into out; false if absent. */
bool agent_services_body_get(const uint8_t *body, size_t len, const char *key, char *out,
                             size_t cap);
/** A local service's address and port (config or run time); false if there is none. */
bool agent_services_local(const struct weft *w, const char *name, char *address, size_t cap,
                          int *port);
/*
 * The data plane (agent_proxy.c; docs/proxy.md): [proxy] inbound and the
 * [upstream NAME] listeners. Started after the services, before READY.
 */
int agent_proxy_start(struct weft *w, struct weft_err *e);
void agent_proxy_stop(struct weft *w);
/** What other nodes dial to reach our inbound ("IP:PORT"); false without [proxy] inbound. */
bool agent_proxy_advertise(const struct weft *w, char *out, size_t cap);
/** The identity changed (renewal, rotation): new handshakes use the new certificates. */
void agent_proxy_identity_changed(struct weft *w);
/** SIGHUP: open, close or replace [upstream NAME] listeners that changed. */
void agent_proxy_reload(struct weft *w);
/** GET /v1/proxy. */
int agent_proxy_api(struct weft *w);
/** Stop accepting, let open connections finish within [proxy] drain_timeout, then call done. */
void agent_proxy_drain(struct weft *w, void (*done)(struct weft *w));
struct prom_w;
/** The inbound listener's TLS counters (of its current conf), or NULL. */
const struct tls_stats *agent_proxy_inbound_tls(const struct weft *w);
/** The proxy's families for GET /metrics. */
void agent_proxy_metrics(struct weft *w, struct prom_w *pw);

/** Revoked nodes in the replicated state (agent_revoke.c). */
bool agent_revoke_accept(const struct weft *w, const struct mesh_record *r, struct weft_err *e);
/** Is node NAME (or the node of a SPIFFE ID) revoked by a CA statement we hold? */
bool agent_revoked_node(struct weft *w, const char *node);
bool agent_revoked_id(struct weft *w, const char *spiffe_id);
/** POST /v1/ca/revoke (CA node). */
int agent_revoke_api(struct weft *w);
/** The trust bundle in the replicated state (agent_bundle.c). */
bool agent_bundle_accept(const struct weft *w, const struct mesh_record *r, struct weft_err *e);
/** A trust-bundle record arrived: install it (soon, from the loop) if it covers us. */
void agent_bundle_changed(struct weft *w);
/** CA node: publish the bundle as a signed statement if it changed. Returns 0 or -1. */
int agent_bundle_publish(struct weft *w, struct weft_err *e);
void agent_bundle_stop(struct weft *w);
struct sbuf;
/** CA node: the bundle PEM, and a statement signed by the CA's key(s). */
int agent_ca_bundle_pem(const struct weft *w, struct sbuf *out, struct weft_err *e);
int agent_ca_statement(struct weft *w, const char *kind, const char *name, const char *payload,
                       struct sbuf *out, struct weft_err *e);
/** Re-send our gossip tags if they changed (the mesh digest), quietly. */
void agent_gossip_retag(struct weft *w);

/*
 * GET /metrics (agent_metrics.c; docs/metrics.md): the Prometheus text
 * format. The writers of state private to another agent file live there.
 */
struct prom_w;
int agent_metrics_api(struct weft *w);
/** The mesh's families (agent_mesh.c): records, writes, merges. */
void agent_mesh_metrics(struct weft *w, struct prom_w *pw);
/** Anti-entropy's families (agent_mesh_sync.c): sessions, bytes, merges. */
void agent_mesh_sync_metrics(struct weft *w, struct prom_w *pw);
/** Local services' families (agent_services.c): health, checks. */
void agent_services_metrics(struct weft *w, struct prom_w *pw);

/** Serve `ping` on the control listener; POST /v1/control/ping (agent_ping.c). */
int agent_ping_start(struct weft *w, struct weft_err *e);
int agent_ping_api(struct weft *w);
/** Cancel the pings in flight (after admin_free: their replies are dropped). */
void agent_ping_stop(struct weft *w);
/** Load [ca] dir again (after a rotation step): the new bundle and signer. */
int agent_ca_reload(struct weft *w, struct weft_err *e);
/** The active root's fingerprint (hex), or NULL unless a CA node. */
const char *agent_ca_signer(const struct weft *w);
/** Register GET /v1/ca/rotation and POST /v1/ca/rotate (agent_rotate.c). */
int agent_rotate_api(struct weft *w);
/** The "ca" member of GET /v1/control (null unless a CA node). */
void agent_ca_status(const struct weft *w, struct json_w *j);
/**
 * Renewal from [identity] ca: renew what is due now (bounded by [identity]
 * start_wait, before READY), then on a timer at 2/3 of each lifetime.
 * Returns 0 (also when the CA was unreachable: logged, retried), or -1.
 */
int agent_renew_start(struct weft *w, struct weft_err *e);
void agent_renew_stop(struct weft *w);
/** Re-plan the renewal timer (the identity or the debug clock changed). */
void agent_renew_reschedule(struct weft *w);
/** The "renewal" member of the identity status. */
void agent_renew_status(const struct weft *w, struct json_w *j);
/** Debug: ask the CA now (service: also ask for this service, held or not). */
int agent_renew_debug(struct weft *w, const char *service, struct weft_err *e);

#endif
