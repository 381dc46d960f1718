/*
 * schema: the table of every config key (see schema.h for the row format).
 *
 * Order matters: sections and keys are printed by `config show`, listed by
 * config_diff and documented in this order. Keep configs/weft.ini and
 * docs/configuration.md in step; test_config fails when a key is missing
 * from either.
 *
 * Reloadable keys are those the agent applies live: [log], [gossip] tags,
 * [identity] bundle, [mesh] writers. Everything else that names a file, a
 * socket or the node's identity needs a restart ([proxy] included).
 *
 * After the fixed sections come the kinds of [KIND NAME] section
 * (config_kinds[], schema.h): [service NAME] and [upstream NAME], both
 * reloadable as a whole (the agent adds, removes and changes items live).
 */
#include "config/schema.h"

#include <string.h>

#include "core/log.h"

/* ENUM fields are written as int (value.c); the enums must be int-sized. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level is not int-sized");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum log_format is not int-sized");

static const char *level_name(int v)
{
    return log_level_name((enum log_level)v);
}

static int level_parse(const char *s, int *out)
{
    enum log_level l;
    if (log_level_parse(s, &l) != 0)
        return -1;
    *out = (int)l;
    return 0;
}

static const struct config_enum level_enum = {LOG_LEVEL_MAX, level_name, level_parse};

/* core/log.h has no name table for formats; the config owns the spelling. */
static const char *const format_names[] = {"text", "json"};
_Static_assert(LOG_FORMAT_TEXT == 0 && LOG_FORMAT_JSON == 1, "format_names[] order");

static const char *format_name(int v)
{
    return v >= 0 && v < 2 ? format_names[v] : "?";
}

static int format_parse(const char *s, int *out)
{
    for (int i = 0; i < 2; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static const struct config_enum format_enum = {2, format_name, format_parse};

/* [gossip] profile: the order of enum swim_profile (gossip/swim_types.h). */
static const char *const profile_names[] = {"lan", "wan", "local", "lossy"};

static const char *profile_name(int v)
{
    return v >= 0 && v < 4 ? profile_names[v] : "?";
}

static int profile_parse(const char *s, int *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, profile_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static const struct config_enum profile_enum = {4, profile_name, profile_parse};

/* Look s up in names[0..n). Returns 0 with *out set, or -1. */
static int names_parse(const char *const *names, int n, const char *s, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

/* [proxy] default_action: enum config_proxy_action order. */
_Static_assert(sizeof(enum config_proxy_action) == sizeof(int), "enum config_proxy_action size");
static const char *const action_names[] = {"allow", "deny"};
_Static_assert(CONFIG_ACTION_ALLOW == 0 && CONFIG_ACTION_DENY == 1, "action_names[] order");

static const char *action_name(int v)
{
    return v >= 0 && v < 2 ? action_names[v] : "?";
}

static int action_parse(const char *s, int *out)
{
    return names_parse(action_names, 2, s, out);
}

static const struct config_enum action_enum = {2, action_name, action_parse};

#define FIELD(m)                                                                                   \
    .offset = offsetof(struct weft_config, m), .size = sizeof(((struct weft_config *)0)->m)

const struct config_section config_sections[] = {
    {"node", "who this node is and where it keeps its state"},
    {"log", "what the agent logs and how (all reloadable)"},
    {"admin", "the local admin API used by the weft CLI"},
    {"gossip", "cluster membership, wire-compatible with Serf/memberlist (off by default)"},
    {"identity", "the node's certificates: an enrollment bundle, kept in the store"},
    {"control", "the control RPC listener (mTLS) other nodes call (off by default)"},
    {"ca", "the online CA: only on the node that holds the CA key"},
    {"mesh", "the replicated control plane: who may change the mesh's config"},
    {"proxy", "the data plane: the inbound mTLS listener and node-wide connection limits"},
    {"debug", "test-only knobs, honoured only with [admin] debug = true"},
};
const size_t config_sections_count = sizeof(config_sections) / sizeof(config_sections[0]);
_Static_assert(sizeof(config_sections) / sizeof(config_sections[0]) <= CONFIG_SECTIONS_MAX,
               "raise CONFIG_SECTIONS_MAX");

const struct config_key config_keys[] = {
    /* [node] */
    {.section = "node",
     .name = "name",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "the host name",
     FIELD(node.name),
     .check = config_check_node_name,
     .flags = CONFIG_KEY_COMPUTED,
     .doc = "this node's name in the mesh: 1-63 of A-Z a-z 0-9 . _ -, "
            "starting with a letter or digit"},
    {.section = "node",
     .name = "data_dir",
     .type = CONFIG_T_PATH,
     .def = "./weft-data",
     FIELD(node.data_dir),
     .doc = "directory for the node's database, keys and admin socket"},
    {.section = "node",
     .name = "trust_domain",
     .type = CONFIG_T_STRING,
     .def = "weft.local",
     FIELD(node.trust_domain),
     .check = config_check_trust_domain,
     .doc = "SPIFFE trust domain of the mesh: a lowercase DNS name, no scheme, no path"},

    /* [log] */
    {.section = "log",
     .name = "level",
     .type = CONFIG_T_ENUM,
     .def = "info",
     FIELD(log.level),
     .choices = &level_enum,
     .flags = CONFIG_KEY_RELOAD,
     .doc = "least severe level written: debug, info, warn or error"},
    {.section = "log",
     .name = "format",
     .type = CONFIG_T_ENUM,
     .def = "text",
     FIELD(log.format),
     .choices = &format_enum,
     .flags = CONFIG_KEY_RELOAD,
     .doc = "text (one line per event) or json (one object per line)"},
    {.section = "log",
     .name = "debug",
     .type = CONFIG_T_DOMAINS,
     .def = "",
     .def_doc = "none",
     FIELD(log.debug_domains),
     .flags = CONFIG_KEY_RELOAD,
     .doc = "log domains that log at debug whatever the level, comma-separated: "
            "core, config, store, admin, agent, tls, platform, proxy"},

    /* [admin] */
    {.section = "admin",
     .name = "socket",
     .type = CONFIG_T_PATH,
     .def = "",
     .def_doc = "<data_dir>/admin.sock",
     FIELD(admin.socket),
     .flags = CONFIG_KEY_COMPUTED,
     .doc = "unix socket of the admin API; the weft CLI talks to it"},
    {.section = "admin",
     .name = "listen",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "off",
     FIELD(admin.listen),
     .check = config_check_loopback,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "optional TCP host:port for the admin API; loopback only "
            "(127.x.x.x, [::1] or localhost): it has no authentication"},
    {.section = "admin",
     .name = "socket_mode",
     .type = CONFIG_T_MODE,
     .def = "0660",
     FIELD(admin.socket_mode),
     .check = config_check_socket_mode,
     .doc = "permissions of the admin socket, octal; the owner needs rw, others get nothing"},
    {.section = "admin",
     .name = "debug",
     .type = CONFIG_T_BOOL,
     .def = "false",
     FIELD(admin.debug),
     .doc = "serve the /v1/debug/* endpoints (for tests; never in production)"},

    /* [gossip] */
    {.section = "gossip",
     .name = "enabled",
     .type = CONFIG_T_BOOL,
     .def = "false",
     FIELD(gossip.enabled),
     .doc = "take part in the gossip cluster (memberlist/Serf protocol)"},
    {.section = "gossip",
     .name = "bind",
     .type = CONFIG_T_ADDRESS,
     .def = "0.0.0.0:7946",
     FIELD(gossip.bind),
     .doc = "host:port of the gossip UDP socket and TCP listener (same port)"},
    {.section = "gossip",
     .name = "advertise",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "the bind address",
     FIELD(gossip.advertise),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "host:port other members use to reach this node (an IP address)"},
    {.section = "gossip",
     .name = "join",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "none",
     FIELD(gossip.join),
     .check = config_check_gossip_join,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "members to join at start, comma-separated host:port (IP addresses)"},
    {.section = "gossip",
     .name = "profile",
     .type = CONFIG_T_ENUM,
     .def = "lan",
     FIELD(gossip.profile),
     .choices = &profile_enum,
     .doc = "timing profile: lan, wan, local or lossy"},
    {.section = "gossip",
     .name = "key_file",
     .type = CONFIG_T_PATH,
     .def = "",
     .def_doc = "no encryption",
     FIELD(gossip.key_file),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "file of base64 gossip keys, one per line, the first is the primary"},
    {.section = "gossip",
     .name = "tags",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "only weft's own (role, version, ctl, id)",
     FIELD(gossip.tags),
     .check = config_check_gossip_tags,
     .flags = CONFIG_KEY_OPTIONAL | CONFIG_KEY_RELOAD,
     .doc = "Serf tags, k=v,k2=v2; with weft's own at most 512 bytes encoded; SIGHUP applies"},
    {.section = "gossip",
     .name = "rejoin",
     .type = CONFIG_T_BOOL,
     .def = "true",
     FIELD(gossip.rejoin),
     .doc = "at start, rejoin the members alive at the last run (not after a graceful leave)"},
    {.section = "gossip",
     .name = "reconnect_interval",
     .type = CONFIG_T_DURATION,
     .def = "30s",
     FIELD(gossip.reconnect_interval_ms),
     .min = 100,
     .max = INT64_C(86400000),
     .doc = "how often to try to reconnect to a failed member (Serf's ReconnectInterval), so a "
            "healed partition merges again"},
    {.section = "gossip",
     .name = "reconnect_timeout",
     .type = CONFIG_T_DURATION,
     .def = "24h",
     FIELD(gossip.reconnect_timeout_ms),
     .min = 1000,
     .max = INT64_C(3650) * 86400000,
     .doc = "a failed member is reconnected to, then forgotten, after this (Serf's "
            "ReconnectTimeout)"},
    /* [gossip] timing: empty = the profile's value; the effective set is checked
     * as a whole (gossip_timing.c, through config_set_check). */
    {.section = "gossip",
     .name = "probe_interval",
     .type = CONFIG_T_DURATION,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.probe_interval_ms),
     .min = 10,
     .max = INT64_C(60000),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "how often a random member is probed (memberlist ProbeInterval)"},
    {.section = "gossip",
     .name = "probe_timeout",
     .type = CONFIG_T_DURATION,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.probe_timeout_ms),
     .min = 1,
     .max = INT64_C(60000),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "how long a probe waits for a direct ack, below probe_interval (ProbeTimeout)"},
    {.section = "gossip",
     .name = "gossip_interval",
     .type = CONFIG_T_DURATION,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.gossip_interval_ms),
     .min = 10,
     .max = INT64_C(60000),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "how often broadcasts are gossiped (GossipInterval)"},
    {.section = "gossip",
     .name = "gossip_nodes",
     .type = CONFIG_T_INT,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.gossip_nodes),
     .min = 1,
     .max = 64,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "members each gossip round sends to (GossipNodes)"},
    {.section = "gossip",
     .name = "gossip_to_dead",
     .type = CONFIG_T_DURATION,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.gossip_to_dead_ms),
     .min = 0,
     .max = INT64_C(86400000),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "how long dead members still get gossip and are kept (GossipToTheDeadTime)"},
    {.section = "gossip",
     .name = "push_pull_interval",
     .type = CONFIG_T_DURATION,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.push_pull_interval_ms),
     .min = 0,
     .max = INT64_C(86400000),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "how often a full state sync runs with a random member; 0 = never (PushPullInterval)"},
    {.section = "gossip",
     .name = "indirect_checks",
     .type = CONFIG_T_INT,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.indirect_checks),
     .min = 1,
     .max = 16,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "members asked to probe indirectly when a direct probe fails (IndirectChecks)"},
    {.section = "gossip",
     .name = "retransmit_mult",
     .type = CONFIG_T_INT,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.retransmit_mult),
     .min = 1,
     .max = 16,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "a broadcast is sent retransmit_mult * log(N+1) times (RetransmitMult)"},
    {.section = "gossip",
     .name = "suspicion_mult",
     .type = CONFIG_T_INT,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.suspicion_mult),
     .min = 1,
     .max = 16,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "suspicion timeout multiplier, times log(N) * probe_interval (SuspicionMult)"},
    {.section = "gossip",
     .name = "suspicion_max_mult",
     .type = CONFIG_T_INT,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.suspicion_max_mult),
     .min = 1,
     .max = 64,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "the suspicion timeout without confirmations, times the minimum "
            "(SuspicionMaxTimeoutMult)"},
    {.section = "gossip",
     .name = "awareness_max",
     .type = CONFIG_T_INT,
     .def = "",
     .def_doc = "the profile's",
     FIELD(gossip.awareness_max),
     .min = 1,
     .max = 64,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "Lifeguard: probe timing may stretch up to this many times when we are slow "
            "(AwarenessMaxMultiplier)"},

    /* [identity] */
    {.section = "identity",
     .name = "bundle",
     .type = CONFIG_T_PATH,
     .def = "",
     .def_doc = "none",
     FIELD(identity.bundle),
     .flags = CONFIG_KEY_OPTIONAL | CONFIG_KEY_RELOAD,
     .doc = "enrollment bundle directory written by `weft ca issue`; read at start and on "
            "SIGHUP, then kept in the store"},
    {.section = "identity",
     .name = "ca",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "none (no online renewal)",
     FIELD(identity.ca),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "host:port of the CA node's [control] listen: certificates are renewed there at 2/3 "
            "of their lifetime"},
    {.section = "identity",
     .name = "token",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "none",
     FIELD(identity.token),
     .flags = CONFIG_KEY_OPTIONAL | CONFIG_KEY_SECRET,
     .doc = "one-time enrollment token from `weft ca token`: used once, when the store holds "
            "no identity and no bundle is set"},
    {.section = "identity",
     .name = "start_wait",
     .type = CONFIG_T_DURATION,
     .def = "20s",
     FIELD(identity.start_wait_ms),
     .min = 1000,
     .max = 600000,
     .doc = "how long the start waits for the renewal of expired certificates before READY"},
    {.section = "identity",
     .name = "check_interval",
     .type = CONFIG_T_DURATION,
     .def = "1h",
     FIELD(identity.check_interval_ms),
     .min = 1000,
     .max = INT64_C(7) * 86400 * 1000,
     .doc = "how often the node checks in with the CA for its trust bundle and signing root "
            "(root rotation), even when nothing is due"},

    /* [control] */
    {.section = "control",
     .name = "listen",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "off",
     FIELD(control.listen),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "host:port of the control RPC listener (mTLS, node certificates); needs [identity]"},
    {.section = "control",
     .name = "max_conns",
     .type = CONFIG_T_INT,
     .def = "64",
     FIELD(control.max_conns),
     .min = 1,
     .max = 4096,
     .doc = "connections open at once; more are closed at accept and counted"},
    {.section = "control",
     .name = "handshake_timeout",
     .type = CONFIG_T_DURATION,
     .def = "10s",
     FIELD(control.handshake_ms),
     .min = 100,
     .max = 600000,
     .doc = "a TLS handshake must finish within this"},
    {.section = "control",
     .name = "request_timeout",
     .type = CONFIG_T_DURATION,
     .def = "30s",
     FIELD(control.request_ms),
     .min = 100,
     .max = 600000,
     .doc = "a whole request must arrive within this (also the client's wait for a reply)"},
    {.section = "control",
     .name = "max_frame",
     .type = CONFIG_T_SIZE,
     .def = "64KiB",
     FIELD(control.max_frame),
     .min = 4096,
     .max = 16777216,
     .doc = "largest frame payload accepted; larger ones are refused from their header"},

    /* [ca] */
    {.section = "ca",
     .name = "dir",
     .type = CONFIG_T_PATH,
     .def = "",
     .def_doc = "none (not a CA node)",
     FIELD(ca.dir),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "CA directory (ca.key, ca.crt from `weft ca init`): this node answers renew over "
            "[control] listen"},
    {.section = "ca",
     .name = "node_lifetime",
     .type = CONFIG_T_DURATION,
     .def = "90d",
     FIELD(ca.node_ttl_ms),
     .min = 60000,
     .max = INT64_C(3650) * 86400000,
     .doc = "lifetime of node certificates this CA issues online"},
    {.section = "ca",
     .name = "svc_lifetime",
     .type = CONFIG_T_DURATION,
     .def = "24h",
     FIELD(ca.svc_ttl_ms),
     .min = 60000,
     .max = INT64_C(366) * 86400000,
     .doc = "lifetime of service certificates this CA issues online"},

    /* [mesh] */
    {.section = "mesh",
     .name = "writers",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "every node of the trust domain",
     FIELD(mesh.writers),
     .check = config_check_mesh_writers,
     .flags = CONFIG_KEY_OPTIONAL | CONFIG_KEY_RELOAD,
     .doc = "node names or node SPIFFE IDs (spiffe://TD/node/NAME), comma-separated, that may "
            "originate changes to the mesh's config"},
    {.section = "mesh",
     .name = "gc_horizon",
     .type = CONFIG_T_DURATION,
     .def = "72h",
     FIELD(mesh.gc_horizon_ms),
     .min = 3600000,
     .max = INT64_C(365) * 86400000,
     .doc = "how long deletes (tombstones) are kept before they are collected; a node away "
            "for longer must drop its state and resync"},

    /* [proxy]: all restart-only: the agent builds the inbound listener and its
     * limits at start. (A key becomes reloadable once the agent applies it live.) */
    {.section = "proxy",
     .name = "inbound",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "off",
     FIELD(proxy.inbound),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "host:port of the node's one mTLS listener for other nodes' proxies, e.g. "
            "0.0.0.0:15443; needs [identity]"},
    {.section = "proxy",
     .name = "advertise",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "inbound's IP, or the gossip address's IP with inbound's port",
     FIELD(proxy.advertise),
     .check = config_check_advertise,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "IP:port other nodes dial to reach inbound (an IP address, not a wildcard)"},
    {.section = "proxy",
     .name = "default_action",
     .type = CONFIG_T_ENUM,
     .def = "allow",
     FIELD(proxy.default_action),
     .choices = &action_enum,
     .doc = "inbound policy when no policy matches and the mesh has no [policy default]: "
            "allow or deny"},
    {.section = "proxy",
     .name = "max_connections",
     .type = CONFIG_T_INT,
     .def = "4096",
     FIELD(proxy.max_connections),
     .min = 1,
     .max = 1000000,
     .doc = "inbound connections open at once; more are refused at accept and counted"},
    {.section = "proxy",
     .name = "handshake_timeout",
     .type = CONFIG_T_DURATION,
     .def = "10s",
     FIELD(proxy.handshake_timeout_ms),
     .min = 100,
     .max = 300000,
     .doc = "an inbound TLS handshake must finish within this"},
    {.section = "proxy",
     .name = "connect_timeout",
     .type = CONFIG_T_DURATION,
     .def = "5s",
     FIELD(proxy.connect_timeout_ms),
     .min = 10,
     .max = 300000,
     .doc = "an inbound connection's connect to the local service fails after this"},
    {.section = "proxy",
     .name = "idle_timeout",
     .type = CONFIG_T_DURATION,
     .def = "1h",
     FIELD(proxy.idle_timeout_ms),
     .min = 1000,
     .max = INT64_C(7) * 86400000,
     .doc = "an inbound connection with no bytes either way for this long is closed"},
    {.section = "proxy",
     .name = "buffer",
     .type = CONFIG_T_SIZE,
     .def = "64KiB",
     FIELD(proxy.buffer),
     .min = 4096,
     .max = 16777216,
     .doc = "bytes buffered per connection and direction before reading stops (backpressure); "
            "inbound and outbound"},
    {.section = "proxy",
     .name = "drain_timeout",
     .type = CONFIG_T_DURATION,
     .def = "15s",
     FIELD(proxy.drain_timeout_ms),
     .min = 0,
     .max = 3600000,
     .doc = "on SIGTERM or weft leave, open connections get this long to finish; 0 = close "
            "at once"},

    /* [debug] */
    {.section = "debug",
     .name = "clock_offset",
     .type = CONFIG_T_DURATION,
     .def = "0",
     FIELD(debug.clock_offset_ms),
     .min = 0,
     .max = INT64_C(3650) * 86400000,
     .doc = "added to the wall clock certificates are judged by (tests); "
            "ignored unless [admin] debug = true"},
};
const size_t config_keys_count = sizeof(config_keys) / sizeof(config_keys[0]);
_Static_assert(sizeof(config_keys) / sizeof(config_keys[0]) <= CONFIG_KEYS_MAX,
               "raise CONFIG_KEYS_MAX");

/* ---- [KIND NAME] sections -------------------------------------------- */

_Static_assert(sizeof(enum config_svc_protocol) == sizeof(int), "enum config_svc_protocol size");
_Static_assert(sizeof(enum config_svc_check) == sizeof(int), "enum config_svc_check size");

static const char *const protocol_names[] = {"tcp", "http"};
_Static_assert(CONFIG_SVC_TCP == 0 && CONFIG_SVC_HTTP == 1, "protocol_names[] order");

static const char *protocol_name(int v)
{
    return v >= 0 && v < 2 ? protocol_names[v] : "?";
}

static int protocol_parse(const char *s, int *out)
{
    for (int i = 0; i < 2; i++) {
        if (strcmp(s, protocol_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static const struct config_enum protocol_enum = {2, protocol_name, protocol_parse};

static const char *const check_names[] = {"none", "tcp", "http"};
_Static_assert(CONFIG_CHECK_NONE == 0 && CONFIG_CHECK_TCP == 1 && CONFIG_CHECK_HTTP == 2,
               "check_names[] order");

static const char *check_name(int v)
{
    return v >= 0 && v < 3 ? check_names[v] : "?";
}

static int check_parse(const char *s, int *out)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, check_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static const struct config_enum check_enum = {3, check_name, check_parse};

#define SVC_FIELD(m)                                                                               \
    .offset = offsetof(struct config_service, m), .size = sizeof(((struct config_service *)0)->m)

/* [service NAME]: every key is reloadable (the kind is). */
static const struct config_key service_keys[] = {
    {.section = "service",
     .name = "address",
     .type = CONFIG_T_STRING,
     .def = "127.0.0.1",
     SVC_FIELD(address),
     .check = config_check_ip,
     .doc = "IP address the service listens on (the proxy and the health check connect to it)"},
    {.section = "service",
     .name = "port",
     .type = CONFIG_T_INT,
     .def = "",
     .def_doc = "none (required)",
     SVC_FIELD(port),
     .min = 1,
     .max = 65535,
     .flags = CONFIG_KEY_REQUIRED,
     .doc = "TCP port the service listens on, 1-65535 (required)"},
    {.section = "service",
     .name = "protocol",
     .type = CONFIG_T_ENUM,
     .def = "tcp",
     SVC_FIELD(protocol),
     .choices = &protocol_enum,
     .doc = "what the service speaks: tcp or http"},
    {.section = "service",
     .name = "check",
     .type = CONFIG_T_ENUM,
     .def = "tcp",
     SVC_FIELD(check),
     .choices = &check_enum,
     .doc = "health check: none, tcp (connect) or http (GET check_path, 2xx/3xx is healthy)"},
    {.section = "service",
     .name = "check_path",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "/ (with check = http)",
     SVC_FIELD(check_path),
     .check = config_check_http_path,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "path of the http check: starts with /, printable, no blanks; only with check = http"},
    {.section = "service",
     .name = "check_interval",
     .type = CONFIG_T_DURATION,
     .def = "10s",
     SVC_FIELD(check_interval_ms),
     .min = 1000,
     .max = 3600000,
     .doc = "time between two checks, 1s-1h"},
    {.section = "service",
     .name = "check_timeout",
     .type = CONFIG_T_DURATION,
     .def = "2s",
     SVC_FIELD(check_timeout_ms),
     .min = 100,
     .max = 3600000,
     .doc = "a check that takes longer fails; less than check_interval"},
    {.section = "service",
     .name = "healthy_threshold",
     .type = CONFIG_T_INT,
     .def = "2",
     SVC_FIELD(healthy_threshold),
     .min = 1,
     .max = 100,
     .doc = "passing checks in a row that make the service healthy"},
    {.section = "service",
     .name = "unhealthy_threshold",
     .type = CONFIG_T_INT,
     .def = "3",
     SVC_FIELD(unhealthy_threshold),
     .min = 1,
     .max = 100,
     .doc = "failing checks in a row that make the service unhealthy"},
    {.section = "service",
     .name = "tags",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "none",
     SVC_FIELD(tags),
     .check = config_check_service_tags,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "comma-separated words and key=value pairs, published with the service"},
};
_Static_assert(sizeof(service_keys) / sizeof(service_keys[0]) <= CONFIG_KIND_KEYS_MAX,
               "raise CONFIG_KIND_KEYS_MAX");

/* [upstream NAME] lb: enum config_lb order (the names proxy/ and mesh/ use). */
_Static_assert(sizeof(enum config_lb) == sizeof(int), "enum config_lb size");
static const char *const lb_names[] = {"round_robin", "least_conn", "random", "p2c"};
_Static_assert(CONFIG_LB_ROUND_ROBIN == 0 && CONFIG_LB_LEAST_CONN == 1 && CONFIG_LB_RANDOM == 2 &&
                   CONFIG_LB_P2C == 3,
               "lb_names[] order");

static const char *lb_name(int v)
{
    return v >= 0 && v < 4 ? lb_names[v] : "?";
}

static int lb_parse(const char *s, int *out)
{
    return names_parse(lb_names, 4, s, out);
}

static const struct config_enum lb_enum = {4, lb_name, lb_parse};

#define UP_FIELD(m)                                                                                \
    .offset = offsetof(struct config_upstream, m), .size = sizeof(((struct config_upstream *)0)->m)

/* [upstream NAME]: every key is reloadable (the kind is). Which keys go
 * together (service or address, from, tls_*) is config_check_upstream's. */
static const struct config_key upstream_keys[] = {
    {.section = "upstream",
     .name = "listen",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "none (required)",
     UP_FIELD(listen),
     .flags = CONFIG_KEY_REQUIRED,
     .doc = "host:port of the local listener apps connect to, e.g. 127.0.0.1:9001 (required)"},
    {.section = "upstream",
     .name = "service",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "none",
     UP_FIELD(service),
     .check = config_check_name_opt,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "the mesh service connections go to (from the catalog); exactly one of service "
            "and address"},
    {.section = "upstream",
     .name = "address",
     .type = CONFIG_T_ADDRESS,
     .def = "",
     .def_doc = "none",
     UP_FIELD(address),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "egress: host:port of a destination outside the mesh (IP address or DNS name)"},
    {.section = "upstream",
     .name = "from",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "none: the node's identity",
     UP_FIELD(from),
     .check = config_check_name_opt,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "the local service whose identity the connections present; only with service"},
    {.section = "upstream",
     .name = "lb",
     .type = CONFIG_T_ENUM,
     .def = "round_robin",
     UP_FIELD(lb),
     .choices = &lb_enum,
     .doc = "how an instance is picked: round_robin, least_conn, random or p2c"},
    {.section = "upstream",
     .name = "connect_timeout",
     .type = CONFIG_T_DURATION,
     .def = "5s",
     UP_FIELD(connect_timeout_ms),
     .min = 10,
     .max = 300000,
     .doc = "a connect to an instance fails after this, 10ms-5m"},
    {.section = "upstream",
     .name = "connect_retries",
     .type = CONFIG_T_INT,
     .def = "2",
     UP_FIELD(connect_retries),
     .min = 0,
     .max = 10,
     .doc = "connect attempts after a failure, each to another instance, 0-10"},
    {.section = "upstream",
     .name = "idle_timeout",
     .type = CONFIG_T_DURATION,
     .def = "1h",
     UP_FIELD(idle_timeout_ms),
     .min = 1000,
     .max = INT64_C(7) * 86400000,
     .doc = "a connection with no bytes either way for this long is closed, 1s-7d"},
    {.section = "upstream",
     .name = "max_connections",
     .type = CONFIG_T_INT,
     .def = "1024",
     UP_FIELD(max_connections),
     .min = 1,
     .max = 1000000,
     .doc = "connections open at once; more are refused at once and counted"},
    {.section = "upstream",
     .name = "max_pending",
     .type = CONFIG_T_INT,
     .def = "128",
     UP_FIELD(max_pending),
     .min = 1,
     .max = 100000,
     .doc = "connects in progress at once; more are refused at once and counted"},
    {.section = "upstream",
     .name = "outlier_failures",
     .type = CONFIG_T_INT,
     .def = "5",
     UP_FIELD(outlier_failures),
     .min = 1,
     .max = 1000,
     .doc = "consecutive connect failures that eject an instance, 1-1000"},
    {.section = "upstream",
     .name = "outlier_ejection",
     .type = CONFIG_T_DURATION,
     .def = "10s",
     UP_FIELD(outlier_ejection_ms),
     .min = 100,
     .max = 3600000,
     .doc = "how long an instance stays ejected the first time; doubles with each repeat"},
    {.section = "upstream",
     .name = "outlier_max_ejection",
     .type = CONFIG_T_DURATION,
     .def = "5m",
     UP_FIELD(outlier_max_ejection_ms),
     .min = 100,
     .max = 86400000,
     .doc = "the longest ejection, at least outlier_ejection"},
    {.section = "upstream",
     .name = "outlier_max_percent",
     .type = CONFIG_T_INT,
     .def = "50",
     UP_FIELD(outlier_max_percent),
     .min = 0,
     .max = 100,
     .doc = "at most this share of instances is ejected at once (one always may be), 0-100"},
    {.section = "upstream",
     .name = "tls_ca",
     .type = CONFIG_T_PATH,
     .def = "",
     .def_doc = "none: plain TCP",
     UP_FIELD(tls_ca),
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "egress only: originate TLS to address, verifying the server with this CA file (PEM)"},
    {.section = "upstream",
     .name = "tls_sni",
     .type = CONFIG_T_STRING,
     .def = "",
     .def_doc = "the host of address if a DNS name, else none",
     UP_FIELD(tls_sni),
     .check = config_check_sni,
     .flags = CONFIG_KEY_OPTIONAL,
     .doc = "with tls_ca: the server name sent (SNI) and checked in the server's certificate"},
};
_Static_assert(sizeof(upstream_keys) / sizeof(upstream_keys[0]) <= CONFIG_KIND_KEYS_MAX,
               "raise CONFIG_KIND_KEYS_MAX");

const struct config_kind config_kinds[] = {
    {.name = "service",
     .plural = "services",
     .doc = "a local service this node offers; one section per service",
     .keys = service_keys,
     .nkeys = sizeof(service_keys) / sizeof(service_keys[0]),
     .item_size = sizeof(struct config_service),
     .name_offset = offsetof(struct config_service, name),
     .list_offset = offsetof(struct weft_config, services),
     .max = CONFIG_SERVICES_MAX,
     .check = config_check_service,
     .flags = CONFIG_KEY_RELOAD},
    {.name = "upstream",
     .plural = "upstreams",
     .doc = "a local listener for apps, to a mesh service or an address outside the mesh",
     .keys = upstream_keys,
     .nkeys = sizeof(upstream_keys) / sizeof(upstream_keys[0]),
     .item_size = sizeof(struct config_upstream),
     .name_offset = offsetof(struct config_upstream, name),
     .list_offset = offsetof(struct weft_config, upstreams),
     .max = CONFIG_UPSTREAMS_MAX,
     .check = config_check_upstream,
     .flags = CONFIG_KEY_RELOAD},
};
const size_t config_kinds_count = sizeof(config_kinds) / sizeof(config_kinds[0]);
_Static_assert(sizeof(config_kinds) / sizeof(config_kinds[0]) <= CONFIG_KINDS_MAX,
               "raise CONFIG_KINDS_MAX");

int config_schema_kind(const char *name)
{
    for (size_t i = 0; i < config_kinds_count; i++) {
        if (strcmp(config_kinds[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

const struct config_key *config_kind_key(const struct config_kind *kd, const char *name)
{
    for (size_t i = 0; i < kd->nkeys; i++) {
        if (strcmp(kd->keys[i].name, name) == 0)
            return &kd->keys[i];
    }
    return NULL;
}

const struct config_key *config_schema_key(const char *section, const char *name)
{
    for (size_t i = 0; i < config_keys_count; i++) {
        if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    }
    return NULL;
}

int config_schema_section(const char *name)
{
    for (size_t i = 0; i < config_sections_count; i++) {
        if (strcmp(config_sections[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

size_t config_schema_index(const struct config_key *k)
{
    return (size_t)(k - config_keys);
}

const char *config_type_name(enum config_type t)
{
    static const char *const names[CONFIG_T_MAX] = {
        "string", "path", "bool",    "enum", "duration",
        "size",   "int",  "address", "mode", "domain list",
    };
    return (unsigned)t < CONFIG_T_MAX ? names[t] : "?";
}

size_t config_type_size(enum config_type t)
{
    switch (t) {
    case CONFIG_T_STRING:
    case CONFIG_T_PATH:
    case CONFIG_T_ADDRESS:
        return sizeof(char *);
    case CONFIG_T_BOOL:
        return sizeof(bool);
    case CONFIG_T_ENUM:
        return sizeof(int);
    case CONFIG_T_DURATION:
        return sizeof(int64_t);
    case CONFIG_T_SIZE:
        return sizeof(uint64_t);
    case CONFIG_T_INT:
        return 0;
    case CONFIG_T_MODE:
        return sizeof(unsigned);
    case CONFIG_T_DOMAINS:
        return sizeof(uint32_t);
    case CONFIG_T_MAX:
        break;
    }
    return 0;
}
