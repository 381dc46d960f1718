/*
 * test_config: the config module, through its public API (config.h) and,
 * for the value types no key uses yet, through the private value operations
 * (schema.h) with rows made up here.
 *
 * Errors are compared whole ("t.ini:3: log.level: ..."): the exact text and
 * line are the contract with users and with `weft config check`. Messages
 * that come from core/units.c are only matched in part.
 *
 * The reference files are checked against the table: configs/weft.ini must
 * name every key and parse cleanly, docs/configuration.md must document
 * every key, configs/examples/ (every .ini) must load. ctest sets WEFT_SOURCE_DIR;
 * without it those tests skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/schema.h"
#include "gossip/gossip_timing.h"
#include "pki/spiffe.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ----------------------------------------------------------- */

static struct weft_config *parse_ok(const char *text)
{
    struct config_errs errs;
    struct sbuf m;
    config_errs_init(&errs);
    sbuf_init(&m);
    struct weft_config *cfg = config_parse_string("t.ini", text, &errs);
    config_errs_format(&errs, &m);
    if (!cfg || errs.n)
        fail_msg("unexpected errors for:\n%s\n---\n%s", text, sbuf_str(&m));
    sbuf_deinit(&m);
    config_errs_deinit(&errs);
    return cfg;
}

/* Parse must fail with exactly these error lines, in this order. */
static void expect_errors(const char *text, const char *const *want, size_t n)
{
    struct config_errs errs;
    struct sbuf m;
    config_errs_init(&errs);
    sbuf_init(&m);
    struct weft_config *cfg = config_parse_string("t.ini", text, &errs);
    config_errs_format(&errs, &m);
    if (cfg)
        fail_msg("parsed but should not have:\n%s", text);
    if (errs.n != n)
        fail_msg("want %zu errors, got %zu:\n%s", n, errs.n, sbuf_str(&m));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(errs.lines[i], want[i]);
    sbuf_deinit(&m);
    config_errs_deinit(&errs);
}

static void expect_error(const char *text, const char *want)
{
    expect_errors(text, &want, 1);
}

/* The effective value of section.key as config show would print it. */
static char *value_of(const struct weft_config *cfg, const char *section, const char *key)
{
    const struct config_key *k = config_schema_key(section, key);
    struct sbuf b;
    assert_non_null(k);
    sbuf_init(&b);
    config_value_format(k, config_field_const(cfg, k), &b);
    char *s = strdup(sbuf_str(&b));
    sbuf_deinit(&b);
    return s;
}

static void assert_value(const struct weft_config *cfg, const char *section, const char *key,
                         const char *want)
{
    char *got = value_of(cfg, section, key);
    assert_string_equal(got, want);
    free(got);
}

/* "n" copies of c, NUL-terminated, in buf (cap > n). */
static char *fill(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static char *read_source_file(const char *rel)
{
    const char *dir = getenv("WEFT_SOURCE_DIR");
    char path[1024];
    if (!dir)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    struct sbuf b;
    char chunk[4096];
    size_t n;
    sbuf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sbuf_append(&b, chunk, n);
    fclose(f);
    char *s = strdup(sbuf_str(&b));
    sbuf_deinit(&b);
    return s;
}

/* ---- the table itself -------------------------------------------------- */

static void test_schema_is_consistent(void **state)
{
    (void)state;
    assert_true(config_keys_count > 0);
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        assert_true(config_schema_section(k->section) >= 0);
        assert_ptr_equal(config_schema_key(k->section, k->name), k);
        assert_string_not_equal(config_type_name(k->type), "?");
        assert_non_null(k->def);
        assert_non_null(k->doc);
        assert_true(strlen(k->doc) > 10);
        if (k->type == CONFIG_T_INT) {
            assert_true(k->size == 4 || k->size == 8);
            assert_true(k->min <= k->max);
            if (k->size == 4)
                assert_true(k->min >= INT32_MIN && k->max <= INT32_MAX);
        } else {
            assert_int_equal(k->size, config_type_size(k->type));
        }
        if (k->type == CONFIG_T_ENUM)
            assert_non_null(k->choices);
        /* An empty default must say what it means, for docs and weft.ini. */
        if (!*k->def && k->type != CONFIG_T_DOMAINS)
            assert_non_null(k->def_doc);
    }
    /* Sections print in table order: each section's keys are contiguous. */
    for (size_t s = 0; s < config_sections_count; s++) {
        size_t first = SIZE_MAX, last = 0, n = 0;
        for (size_t i = 0; i < config_keys_count; i++) {
            if (strcmp(config_keys[i].section, config_sections[s].name) == 0) {
                first = first == SIZE_MAX ? i : first;
                last = i;
                n++;
            }
        }
        assert_true(n > 0);
        assert_int_equal(last - first + 1, n);
    }
}

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct config_errs errs;
    char host[256];
    config_errs_init(&errs);
    struct weft_config *cfg = config_load_default(&errs);
    assert_non_null(cfg);
    assert_int_equal(errs.n, 0);
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    host[sizeof(host) - 1] = '\0';

    assert_string_equal(cfg->source, "<default>");
    assert_string_equal(cfg->node.name, host);
    assert_string_equal(cfg->node.data_dir, "./weft-data");
    assert_string_equal(cfg->node.trust_domain, "weft.local");
    assert_int_equal(cfg->log.level, LOG_LEVEL_INFO);
    assert_int_equal(cfg->log.format, LOG_FORMAT_TEXT);
    assert_int_equal(cfg->log.debug_domains, 0);
    assert_string_equal(cfg->admin.socket, "./weft-data/admin.sock");
    assert_null(cfg->admin.listen);
    assert_int_equal(cfg->admin.socket_mode, 0660);
    assert_false(cfg->admin.debug);
    config_free(cfg);

    /* An empty file, and empty values for computed keys, mean the same. */
    cfg = parse_ok("[node]\nname =\n[admin]\nsocket =\nlisten =\n");
    assert_string_equal(cfg->node.name, host);
    assert_string_equal(cfg->admin.socket, "./weft-data/admin.sock");
    assert_null(cfg->admin.listen);
    config_free(cfg);

    /* The socket follows data_dir, with or without a trailing slash. */
    cfg = parse_ok("[node]\ndata_dir = /var/lib/weft/\n");
    assert_string_equal(cfg->admin.socket, "/var/lib/weft/admin.sock");
    config_free(cfg);
    config_errs_deinit(&errs);
}

static void test_every_key_set(void **state)
{
    (void)state;
    struct weft_config *cfg = parse_ok("[node]\n"
                                       "name = gw-01\n"
                                       "data_dir = /var/lib/weft\n"
                                       "trust_domain = plant.example\n"
                                       "[log]\n"
                                       "level = debug\n"
                                       "format = json\n"
                                       "debug = tls, core\n"
                                       "[admin]\n"
                                       "socket = /run/weft/admin.sock\n"
                                       "listen = 127.0.0.1:9901\n"
                                       "socket_mode = 0600\n"
                                       "debug = yes\n");
    assert_string_equal(cfg->source, "t.ini");
    assert_string_equal(cfg->node.name, "gw-01");
    assert_string_equal(cfg->node.data_dir, "/var/lib/weft");
    assert_string_equal(cfg->node.trust_domain, "plant.example");
    assert_int_equal(cfg->log.level, LOG_LEVEL_DEBUG);
    assert_int_equal(cfg->log.format, LOG_FORMAT_JSON);
    assert_int_equal(cfg->log.debug_domains, (1u << LOG_CORE) | (1u << LOG_TLS));
    assert_string_equal(cfg->admin.socket, "/run/weft/admin.sock");
    assert_string_equal(cfg->admin.listen, "127.0.0.1:9901");
    assert_int_equal(cfg->admin.socket_mode, 0600);
    assert_true(cfg->admin.debug);
    config_free(cfg);
}

/* ---- [gossip] timing overrides ------------------------------------------ */

static void round_trip(const struct weft_config *cfg);

static void test_gossip_timing(void **state)
{
    (void)state;
    struct swim_config sc, lan;
    const char *key = NULL;
    struct weft_err e;
    swim_config_profile(&lan, SWIM_PROFILE_LAN);

    /* Defaults: unset, so the profile's values are in effect. */
    struct weft_config *cfg = parse_ok("");
    assert_int_equal(cfg->gossip.probe_interval_ms, CONFIG_UNSET);
    assert_int_equal(cfg->gossip.awareness_max, CONFIG_UNSET);
    gossip_timing_effective(&cfg->gossip, &sc);
    assert_int_equal(sc.probe_interval_ms, lan.probe_interval_ms);
    assert_int_equal(sc.suspicion_mult, lan.suspicion_mult);
    assert_value(cfg, "gossip", "probe_timeout", "");
    config_free(cfg);

    /* Overrides on top of a profile, durations with units; empty = unset. */
    cfg = parse_ok("[gossip]\nprofile = wan\nprobe_interval = 2s\nprobe_timeout = 1500ms\n"
                   "gossip_nodes = 5\npush_pull_interval = 0\nsuspicion_mult = 3\n"
                   "gossip_to_dead =\n");
    assert_int_equal(cfg->gossip.probe_interval_ms, 2000);
    assert_int_equal(cfg->gossip.gossip_nodes, 5);
    assert_int_equal(cfg->gossip.gossip_to_dead_ms, CONFIG_UNSET);
    assert_value(cfg, "gossip", "probe_timeout", "1s500ms");
    assert_int_equal(gossip_timing_check(&cfg->gossip, &sc, &key, &e), 0);
    assert_int_equal(sc.probe_interval_ms, 2000);
    assert_int_equal(sc.probe_timeout_ms, 1500);
    assert_int_equal(sc.gossip_nodes, 5);
    assert_int_equal(sc.push_pull_interval_ms, 0);
    assert_int_equal(sc.suspicion_mult, 3);
    assert_int_equal(sc.gossip_interval_ms, 500);  /* wan's */
    assert_int_equal(sc.gossip_to_dead_ms, 60000); /* wan's */
    round_trip(cfg);
    config_free(cfg);

    /* Ranges of the single keys. */
    expect_error("[gossip]\ngossip_nodes = 0\n",
                 "t.ini:2: gossip.gossip_nodes: '0' is out of range (1..64)");
    expect_error("[gossip]\nprobe_interval = 5ms\n",
                 "t.ini:2: gossip.probe_interval: '5ms' is out of range (10ms..1m)");
    expect_error("[gossip]\nretransmit_mult = x\n",
                 "t.ini:2: gossip.retransmit_mult: 'x' is not an integer");

    /* The effective set: a timeout at or above the profile's interval is
     * refused, blaming the override that breaks it, at its line. */
    expect_error("[gossip]\nprofile = lan\n\nprobe_timeout = 2s\n",
                 "t.ini:4: gossip.probe_timeout: with profile lan: swim: probe timeout 2000 ms "
                 "must be in (0, probe interval 1000 ms)");
    expect_error("[gossip]\nprofile = wan\nprobe_interval = 2s\n",
                 "t.ini:3: gossip.probe_interval: with profile wan: swim: probe timeout 3000 ms "
                 "must be in (0, probe interval 2000 ms)");
    /* Both set, neither alone at fault: the first one set is named. */
    expect_error("[gossip]\nprobe_interval = 300ms\nprobe_timeout = 400ms\n",
                 "t.ini:2: gossip.probe_interval: with profile lan: swim: probe timeout 400 ms "
                 "must be in (0, probe interval 300 ms)");
    /* Raising both together is fine. */
    cfg = parse_ok("[gossip]\nprobe_interval = 300ms\nprobe_timeout = 100ms\n");
    config_free(cfg);
}

/* ---- every type, through the real keys --------------------------------- */

struct good_case {
    const char *section, *key, *text, *shown;
};

static void test_values_good(void **state)
{
    (void)state;
    static const struct good_case cases[] = {
        /* string with rules: node.name */
        {"node", "name", "a", "a"},
        {"node", "name", "gw-01.plant_A", "gw-01.plant_A"},
        {"node", "name", "0abc", "0abc"},
        /* 63 characters */
        {"node", "name", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123",
         "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"},
        {"node", "trust_domain", "plant.example", "plant.example"},
        {"node", "trust_domain", "a-b.c0", "a-b.c0"},
        {"node", "trust_domain", "local", "local"},
        /* path */
        {"node", "data_dir", "/var/lib/weft", "/var/lib/weft"},
        {"node", "data_dir", "relative/dir with space", "relative/dir with space"},
        {"admin", "socket", "/run/weft/a.sock", "/run/weft/a.sock"},
        /* enum */
        {"log", "level", "debug", "debug"},
        {"log", "level", "info", "info"},
        {"log", "level", "warn", "warn"},
        {"log", "level", "error", "error"},
        {"log", "format", "text", "text"},
        {"log", "format", "json", "json"},
        /* domain list */
        {"log", "debug", "", ""},
        {"log", "debug", "config", "config"},
        {"log", "debug", "tls,core", "core, tls"},
        {"log", "debug", "platform , agent,admin", "admin, agent, platform"},
        {"log", "debug", "core, config, store, admin, agent, tls, platform",
         "core, config, store, admin, agent, tls, platform"},
        /* address, loopback only */
        {"admin", "listen", "127.0.0.1:9901", "127.0.0.1:9901"},
        {"admin", "listen", "127.1.2.3:1", "127.1.2.3:1"},
        {"admin", "listen", "[::1]:65535", "[::1]:65535"},
        {"admin", "listen", "localhost:8080", "localhost:8080"},
        {"admin", "listen", "", ""},
        /* octal mode */
        {"admin", "socket_mode", "0660", "0660"},
        {"admin", "socket_mode", "0600", "0600"},
        {"admin", "socket_mode", "0770", "0770"},
        {"admin", "socket_mode", "640", "0640"},
        /* bool */
        {"admin", "debug", "true", "true"},
        {"admin", "debug", "yes", "true"},
        {"admin", "debug", "on", "true"},
        {"admin", "debug", "1", "true"},
        {"admin", "debug", "false", "false"},
        {"admin", "debug", "no", "false"},
        {"admin", "debug", "off", "false"},
        {"admin", "debug", "0", "false"},
        /* duration: the gossip reconnect loop */
        {"gossip", "reconnect_interval", "2s", "2s"},
        {"gossip", "reconnect_interval", "500ms", "500ms"},
        {"gossip", "reconnect_timeout", "1h30m", "1h30m"},
        /* an inline comment needs a blank before ';' */
        {"log", "level", "warn ; quieter", "warn"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char text[512];
        snprintf(text, sizeof(text), "[%s]\n%s = %s\n", cases[i].section, cases[i].key,
                 cases[i].text);
        struct weft_config *cfg = parse_ok(text);
        assert_value(cfg, cases[i].section, cases[i].key, cases[i].shown);
        config_free(cfg);
    }
}

struct bad_case {
    const char *section, *key, *text, *error; /* error without "t.ini:2: " */
};

static void test_values_bad(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        /* node.name */
        {"node", "name", "-gw", "node.name: '-gw' must start with a letter or a digit"},
        {"node", "name", "gw 01", "node.name: 'gw 01' contains ' ' (allowed: A-Z a-z 0-9 . _ -)"},
        {"node", "name", "gw/01", "node.name: 'gw/01' contains '/' (allowed: A-Z a-z 0-9 . _ -)"},
        {"node", "name", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
         "node.name: 'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234' is "
         "longer than 63 characters"},
        /* node.trust_domain */
        {"node", "trust_domain", "spiffe://plant.example",
         "node.trust_domain: 'spiffe://plant.example': write the bare name, without a scheme "
         "such as spiffe://"},
        {"node", "trust_domain", "plant.example/ns",
         "node.trust_domain: 'plant.example/ns' must not contain a path"},
        {"node", "trust_domain", "plant.example:443",
         "node.trust_domain: 'plant.example:443' must not contain a port"},
        {"node", "trust_domain", "Plant.example",
         "node.trust_domain: 'Plant.example' must be lowercase"},
        {"node", "trust_domain", "plant..example",
         "node.trust_domain: 'plant..example' has an empty label (leading, trailing or double "
         "dot)"},
        {"node", "trust_domain", "plant.example.",
         "node.trust_domain: 'plant.example.' has an empty label (leading, trailing or double "
         "dot)"},
        {"node", "trust_domain", "-plant.example",
         "node.trust_domain: '-plant.example' has a label that starts or ends with '-'"},
        {"node", "trust_domain", "pl_ant.example",
         "node.trust_domain: 'pl_ant.example' contains '_' (allowed: letters, digits, '-', '.')"},
        {"node", "trust_domain", "", "node.trust_domain: must not be empty"},
        /* path */
        {"node", "data_dir", "", "node.data_dir: must not be empty"},
        {"node", "data_dir", "~/weft",
         "node.data_dir: '~/weft': '~' is not expanded here; write the full path"},
        {"node", "data_dir", "/var/\tlib",
         "node.data_dir: '/var/\tlib' contains a control "
         "character"},
        /* enum, with trailing garbage */
        {"log", "level", "verbose", "log.level: 'verbose' is not one of: debug, info, warn, error"},
        {"log", "level", "INFO", "log.level: 'INFO' is not one of: debug, info, warn, error"},
        {"log", "level", "info debug",
         "log.level: 'info debug' is not one of: debug, info, warn, error"},
        {"log", "level", "info;loud",
         "log.level: 'info;loud' is not one of: debug, info, warn, error (a comment needs a "
         "blank before ';')"},
        {"log", "level", "", "log.level: '' is not one of: debug, info, warn, error"},
        {"log", "format", "xml", "log.format: 'xml' is not one of: text, json"},
        /* domain list */
        {"log", "debug", "gossip",
         "log.debug: 'gossip' is not a log domain (core, config, store, admin, agent, tls, "
         "platform, proxy)"},
        {"log", "debug", "core,,tls", "log.debug: 'core,,tls' has an empty item"},
        {"log", "debug", "core,", "log.debug: 'core,' has an empty item"},
        {"log", "debug", "tls, tls", "log.debug: 'tls' is listed twice"},
        {"log", "debug", "core tls",
         "log.debug: 'core tls' is not a log domain (core, config, store, admin, agent, tls, "
         "platform, proxy)"},
        /* address */
        {"admin", "listen", "0.0.0.0:9901",
         "admin.listen: '0.0.0.0:9901' is not a loopback address (use 127.0.0.1, [::1] or "
         "localhost): the admin API has no authentication"},
        {"admin", "listen", "[::]:9901",
         "admin.listen: '[::]:9901' is not a loopback address (use 127.0.0.1, [::1] or "
         "localhost): the admin API has no authentication"},
        {"admin", "listen", "example.com:9901",
         "admin.listen: 'example.com:9901' is not a loopback address (use 127.0.0.1, [::1] or "
         "localhost): the admin API has no authentication"},
        {"admin", "listen", "127.0.0.1",
         "admin.listen: '127.0.0.1' has no port (expected host:port)"},
        {"admin", "listen", "127.0.0.1:0", "admin.listen: '127.0.0.1:0': port must be 1-65535"},
        {"admin", "listen", "127.0.0.1:65536",
         "admin.listen: '127.0.0.1:65536': port must be 1-65535"},
        {"admin", "listen", "127.0.0.1:99x",
         "admin.listen: '127.0.0.1:99x': port '99x' is not a number"},
        {"admin", "listen", "127.0.0.1:", "admin.listen: '127.0.0.1:': port '' is not a number"},
        {"admin", "listen", ":9901", "admin.listen: ':9901' has no host (expected host:port)"},
        {"admin", "listen", "::1:9901",
         "admin.listen: '::1:9901': write IPv6 addresses in brackets, e.g. [::1]:9901"},
        {"admin", "listen", "[::1]9901",
         "admin.listen: '[::1]9901' has no port (expected [address]:port)"},
        {"admin", "listen", "[::1:9901",
         "admin.listen: '[::1:9901': missing ']' after the IPv6 address"},
        {"admin", "listen", "[zz]:9901", "admin.listen: '[zz]:9901': 'zz' is not an IPv6 address"},
        {"admin", "listen", "127.0.0.256:9901",
         "admin.listen: '127.0.0.256:9901': '127.0.0.256' is not an IPv4 address"},
        {"admin", "listen", "local_host:9901",
         "admin.listen: 'local_host:9901': 'local_host' contains '_' (allowed: letters, digits, "
         "'-', '.')"},
        /* octal mode */
        {"admin", "socket_mode", "0666",
         "admin.socket_mode: '0666' gives access to others; use e.g. 0660 or 0600"},
        {"admin", "socket_mode", "0661",
         "admin.socket_mode: '0661' gives access to others; use e.g. 0660 or 0600"},
        {"admin", "socket_mode", "0460",
         "admin.socket_mode: '0460' must let the owner read and write (0600)"},
        {"admin", "socket_mode", "0689",
         "admin.socket_mode: '0689' is not an octal mode (expected e.g. 0660)"},
        {"admin", "socket_mode", "0660x",
         "admin.socket_mode: '0660x' is not an octal mode (expected e.g. 0660)"},
        {"admin", "socket_mode", "60",
         "admin.socket_mode: '60' is not an octal mode (expected e.g. 0660)"},
        {"admin", "socket_mode", "1660",
         "admin.socket_mode: '1660': only permission bits (at most 0777) are allowed"},
        {"admin", "socket_mode", "rw-rw----",
         "admin.socket_mode: 'rw-rw----' is not an octal mode (expected e.g. 0660)"},
        /* bool */
        {"admin", "debug", "maybe",
         "admin.debug: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)"},
        {"admin", "debug", "TRUE",
         "admin.debug: 'TRUE' is not a boolean (true/false, yes/no, on/off, 1/0)"},
        {"admin", "debug", "true false",
         "admin.debug: 'true false' is not a boolean (true/false, yes/no, on/off, 1/0)"},
        {"admin", "debug", "",
         "admin.debug: '' is not a boolean (true/false, yes/no, on/off, 1/0)"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char text[512], want[512];
        snprintf(text, sizeof(text), "[%s]\n%s = %s\n", cases[i].section, cases[i].key,
                 cases[i].text);
        snprintf(want, sizeof(want), "t.ini:2: %s", cases[i].error);
        expect_error(text, want);
    }
}

/* ---- the types no key uses yet, through made-up rows ------------------- */

struct fake_cfg {
    int64_t ms;
    uint64_t bytes;
    int64_t big;
    int32_t small;
};

static const struct config_key fake_duration = {.section = "t",
                                                .name = "d",
                                                .type = CONFIG_T_DURATION,
                                                .def = "1s",
                                                .offset = offsetof(struct fake_cfg, ms),
                                                .size = sizeof(int64_t),
                                                .min = 100,
                                                .max = 3600000,
                                                .doc = "a duration"};
static const struct config_key fake_size = {.section = "t",
                                            .name = "s",
                                            .type = CONFIG_T_SIZE,
                                            .def = "4MiB",
                                            .offset = offsetof(struct fake_cfg, bytes),
                                            .size = sizeof(uint64_t),
                                            .min = 1024,
                                            .max = 1 << 30,
                                            .doc = "a size"};
static const struct config_key fake_size_unbounded = {.section = "t",
                                                      .name = "s",
                                                      .type = CONFIG_T_SIZE,
                                                      .def = "0",
                                                      .offset = offsetof(struct fake_cfg, bytes),
                                                      .size = sizeof(uint64_t),
                                                      .doc = "a size"};
static const struct config_key fake_int64 = {.section = "t",
                                             .name = "i",
                                             .type = CONFIG_T_INT,
                                             .def = "0",
                                             .offset = offsetof(struct fake_cfg, big),
                                             .size = sizeof(int64_t),
                                             .min = INT64_MIN,
                                             .max = INT64_MAX,
                                             .doc = "an int"};
static const struct config_key fake_int32 = {.section = "t",
                                             .name = "n",
                                             .type = CONFIG_T_INT,
                                             .def = "5",
                                             .offset = offsetof(struct fake_cfg, small),
                                             .size = sizeof(int32_t),
                                             .min = -10,
                                             .max = 1000,
                                             .doc = "a bounded int"};

/* Parse text into the fake struct; returns the error ("" if none). */
static const char *fake_parse(const struct config_key *k, struct fake_cfg *f, const char *text,
                              struct weft_err *e)
{
    err_clear(e);
    if (config_value_parse(k, text, (char *)f + k->offset, e) != 0)
        assert_true(err_is_set(e));
    return e->msg;
}

static char *fake_show(const struct config_key *k, const struct fake_cfg *f)
{
    static char out[64];
    struct sbuf b;
    sbuf_init(&b);
    config_value_format(k, (const char *)f + k->offset, &b);
    snprintf(out, sizeof(out), "%s", sbuf_str(&b));
    sbuf_deinit(&b);
    return out;
}

static void test_type_duration(void **state)
{
    (void)state;
    struct fake_cfg f = {0};
    struct weft_err e;
    assert_string_equal(fake_parse(&fake_duration, &f, "500ms", &e), "");
    assert_int_equal(f.ms, 500);
    assert_string_equal(fake_show(&fake_duration, &f), "500ms");
    assert_string_equal(fake_parse(&fake_duration, &f, "1h", &e), "");
    assert_int_equal(f.ms, 3600000);
    assert_string_equal(fake_parse(&fake_duration, &f, "1m30s", &e), "");
    assert_int_equal(f.ms, 90000);
    assert_string_equal(fake_show(&fake_duration, &f), "1m30s");

    assert_string_equal(fake_parse(&fake_duration, &f, "50ms", &e),
                        "'50ms' is out of range (100ms..1h)");
    assert_string_equal(fake_parse(&fake_duration, &f, "2h", &e),
                        "'2h' is out of range (100ms..1h)");
    assert_int_equal(f.ms, 90000); /* a refused value leaves the field alone */
    assert_non_null(strstr(fake_parse(&fake_duration, &f, "500", &e), "'500'"));
    assert_non_null(strstr(fake_parse(&fake_duration, &f, "30s x", &e), "30s x"));
    assert_non_null(strstr(fake_parse(&fake_duration, &f, "fast", &e), "'fast'"));
    assert_true(strlen(fake_parse(&fake_duration, &f, "", &e)) > 0);
}

static void test_type_size(void **state)
{
    (void)state;
    struct fake_cfg f = {0};
    struct weft_err e;
    assert_string_equal(fake_parse(&fake_size, &f, "4MiB", &e), "");
    assert_int_equal(f.bytes, 4u << 20);
    assert_string_equal(fake_show(&fake_size, &f), "4MiB");
    assert_string_equal(fake_parse(&fake_size, &f, "1500", &e), "");
    assert_int_equal(f.bytes, 1500);
    assert_string_equal(fake_show(&fake_size, &f), "1500");

    assert_string_equal(fake_parse(&fake_size, &f, "1000", &e),
                        "'1000' is out of range (1KiB..1GiB)");
    assert_string_equal(fake_parse(&fake_size, &f, "2GiB", &e),
                        "'2GiB' is out of range (1KiB..1GiB)");
    assert_non_null(strstr(fake_parse(&fake_size, &f, "4 MiB", &e), "4 MiB"));
    assert_non_null(strstr(fake_parse(&fake_size, &f, "4MiBx", &e), "4MiBx"));
    assert_non_null(strstr(fake_parse(&fake_size, &f, "-1", &e), "-1"));
    /* min = max = 0: no bounds */
    assert_string_equal(fake_parse(&fake_size_unbounded, &f, "0", &e), "");
    assert_int_equal(f.bytes, 0);
}

static void test_type_int(void **state)
{
    (void)state;
    struct fake_cfg f = {0};
    struct weft_err e;
    assert_string_equal(fake_parse(&fake_int32, &f, "1000", &e), "");
    assert_int_equal(f.small, 1000);
    assert_string_equal(fake_parse(&fake_int32, &f, "-10", &e), "");
    assert_int_equal(f.small, -10);
    assert_string_equal(fake_show(&fake_int32, &f), "-10");
    assert_string_equal(fake_parse(&fake_int32, &f, "1001", &e),
                        "'1001' is out of range (-10..1000)");
    assert_string_equal(fake_parse(&fake_int32, &f, "-11", &e),
                        "'-11' is out of range (-10..1000)");
    assert_string_equal(fake_parse(&fake_int32, &f, "99999999999", &e),
                        "'99999999999' is out of range (-10..1000)");
    assert_string_equal(fake_parse(&fake_int32, &f, "12abc", &e), "'12abc' is not an integer");
    assert_string_equal(fake_parse(&fake_int32, &f, "1 2", &e), "'1 2' is not an integer");
    assert_string_equal(fake_parse(&fake_int32, &f, "+5", &e), "'+5' is not an integer");
    assert_string_equal(fake_parse(&fake_int32, &f, "0x10", &e), "'0x10' is not an integer");
    assert_string_equal(fake_parse(&fake_int32, &f, "", &e), "'' is not an integer");
    assert_int_equal(f.small, -10);

    assert_string_equal(fake_parse(&fake_int64, &f, "-9223372036854775808", &e), "");
    assert_true(f.big == INT64_MIN);
    assert_string_equal(fake_show(&fake_int64, &f), "-9223372036854775808");
    assert_string_equal(fake_parse(&fake_int64, &f, "9223372036854775807", &e), "");
    assert_true(f.big == INT64_MAX);
    assert_string_equal(fake_parse(&fake_int64, &f, "9223372036854775808", &e),
                        "'9223372036854775808' is out of range");
    assert_string_equal(fake_parse(&fake_int64, &f, "99999999999999999999999", &e),
                        "'99999999999999999999999' is out of range");
}

/* ---- structure errors and line numbers --------------------------------- */

static void test_unknown_section_and_key(void **state)
{
    (void)state;
    expect_error("[node]\nname = a\n\n[telemetry]\nbind = 0.0.0.0:7946\njoin = x\n",
                 "t.ini:4: [telemetry]: unknown section");
    expect_error("[gossip]\nenabled = true\njoin = x\n",
                 "t.ini:3: gossip.join: 'x' has no port (expected host:port)");
    expect_error("[gossip]\ntags = role=edge\n", "t.ini:2: gossip.tags: tag 'role' is weft's own");
    expect_error("[gossip]\ntags = a=b,ctl=1\n", "t.ini:2: gossip.tags: tag 'ctl' is weft's own");
    expect_error("[gossip]\ntags = id=x\n", "t.ini:2: gossip.tags: tag 'id' is weft's own");
    expect_error("[gossip]\ntags = mesh=0\n", "t.ini:2: gossip.tags: tag 'mesh' is weft's own");
    expect_error("[node]\n; comment\nnmae = gw\n", "t.ini:3: node.nmae: unknown key");
    expect_error("[node]\nlevel = info\n",
                 "t.ini:2: node.level: unknown key (there is one in [log])");
    expect_error("[node]\ndebug = true\n",
                 "t.ini:2: node.debug: unknown key (there is one in [log], [admin])");
    expect_error("[log]\nLevel = info\n", "t.ini:2: log.Level: unknown key");
    /* After an unknown section, a known one is read normally again. */
    const char *const two[] = {"t.ini:1: [nope]: unknown section",
                               "t.ini:4: log.bogus: unknown key"};
    expect_errors("[nope]\nx = 1\n[log]\nbogus = 1\n", two, 2);
}

/* Found by fuzz_config: "key =;x" gave the value ";x", which config show
 * could not write back (it became a comment). Such values are refused. */
static void test_value_starting_with_comment_char(void **state)
{
    (void)state;
    expect_error("[node]\ndata_dir =;x\n", "t.ini:2: node.data_dir: ';x': a value must not "
                                           "start with ';' (a comment needs a blank before ';')");
    expect_error("[admin]\nsocket =#x\n", "t.ini:2: admin.socket: '#x': a value must not start "
                                          "with '#'");
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_error("[log]\nlevel = info\nformat = text\nlevel = debug\n",
                 "t.ini:4: log.level: duplicate key (first set at line 2)");
    /* A section may not be opened twice; its keys are still checked. */
    const char *const want[] = {"t.ini:4: [log]: duplicate section (first at line 1)",
                                "t.ini:5: log.level: duplicate key (first set at line 2)"};
    expect_errors("[log]\nlevel = info\n[node]\n[log]\nlevel = warn\n", want, 2);
    /* A refused value still counts as set. */
    expect_errors("[log]\nlevel = loud\nlevel = warn\n",
                  (const char *const[]){"t.ini:2: log.level: 'loud' is not one of: debug, info, "
                                        "warn, error",
                                        "t.ini:3: log.level: duplicate key (first set at line 2)"},
                  2);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_error("[node\nname = a\n", "t.ini:1: syntax error: missing ']' in section header");
    expect_error("[node]\nname = a\njust some words\n",
                 "t.ini:3: syntax error: 'just some words' is not 'key = value', '[section]' or a "
                 "comment");
    expect_error("[node]\n= a\n", "t.ini:2: syntax error: missing key name before '='");
    expect_error("name = a\n[node]\n", "t.ini:1: syntax error: 'name' comes before any [section]");
    expect_error("[node] junk\nname = a\n", "t.ini:1: syntax error: unexpected 'junk' after ']'");
    expect_error("[]\nname = a\n", "t.ini:1: syntax error: empty section name");
    expect_error("[log]\nlevel ;= info\n",
                 "t.ini:2: syntax error: 'level' is not 'key = value', '[section]' or a comment");
    /* Comments after a header are fine; spaces inside the brackets too. */
    struct weft_config *cfg = parse_ok("[ log ] ; the log\nlevel = warn\n");
    assert_int_equal(cfg->log.level, LOG_LEVEL_WARN);
    config_free(cfg);
}

static void test_line_counting(void **state)
{
    (void)state;
    /* Comments (both kinds), blank lines, CRLF, indentation, a BOM. */
    expect_error("\xEF\xBB\xBF"
                 "; weft\r\n"
                 "# another comment\r\n"
                 "\r\n"
                 "[node]\r\n"
                 "    name = gw-01 ; indented, with a comment\r\n"
                 "\t\r\n"
                 "   ; indented comment\r\n"
                 "  data_dir = /srv/weft\r\n"
                 "\r\n"
                 "[log]\r\n"
                 "level = chatty\r\n",
                 "t.ini:11: log.level: 'chatty' is not one of: debug, info, warn, error");
    /* Indented keys are keys, not continuations of the previous value. */
    struct weft_config *cfg = parse_ok("[node]\n  name = gw-01\n  data_dir = /srv/weft\n");
    assert_string_equal(cfg->node.name, "gw-01");
    assert_string_equal(cfg->node.data_dir, "/srv/weft");
    config_free(cfg);
    /* No newline at the end of the file. */
    expect_error("[log]\n\nformat = yaml", "t.ini:3: log.format: 'yaml' is not one of: text, json");
    /* "key: value" is inih's other spelling. */
    cfg = parse_ok("[admin]\nlisten: [::1]:9901\n");
    assert_string_equal(cfg->admin.listen, "[::1]:9901");
    config_free(cfg);
}

static void test_long_lines(void **state)
{
    (void)state;
    char big[400], text[1024];
    /* 250 bytes of value: inih would split it; we report it once. */
    snprintf(text, sizeof(text), "[node]\n; c\ndata_dir = /%s\nname = ok\n", fill(big, 'x', 250));
    expect_error(text, "t.ini:3: line too long (max 197 bytes)");

    /* The lines after it keep their numbers. */
    snprintf(text, sizeof(text), "[node]\n\ndata_dir = /%s\n\n[log]\nlevel = loud\n",
             fill(big, 'y', 300));
    const char *const want[] = {"t.ini:3: line too long (max 197 bytes)",
                                "t.ini:6: log.level: 'loud' is not one of: debug, info, warn, "
                                "error"};
    expect_errors(text, want, 2);

    /* A long comment or a long section header: also one error only. */
    snprintf(text, sizeof(text), "; %s\n[log]\nlevel = info\n", fill(big, 'c', 220));
    expect_error(text, "t.ini:1: line too long (max 197 bytes)");
    snprintf(text, sizeof(text), "[log]\n[%s]\nkey = 1\nother = 2\n", fill(big, 's', 230));
    expect_error(text, "t.ini:2: line too long (max 197 bytes)");

    /* The limit: 197 bytes fit (with "\n", "\r\n" or at EOF), 198 do not. */
    snprintf(text, sizeof(text), "[admin]\nsocket = /s\n[node]\ndata_dir = /%s\n",
             fill(big, 'z', 197 - 12));
    struct weft_config *cfg = parse_ok(text);
    assert_int_equal(strlen(cfg->node.data_dir), 197 - 11);
    config_free(cfg);
    snprintf(text, sizeof(text), "[admin]\r\nsocket = /s\r\n[node]\r\ndata_dir = /%s\r\n",
             fill(big, 'z', 197 - 12));
    cfg = parse_ok(text);
    config_free(cfg);
    snprintf(text, sizeof(text), "[admin]\nsocket = /s\n[node]\ndata_dir = /%s",
             fill(big, 'z', 197 - 12));
    cfg = parse_ok(text);
    config_free(cfg);
    snprintf(text, sizeof(text), "[admin]\nsocket = /s\n[node]\ndata_dir = /%s\n",
             fill(big, 'z', 198 - 12));
    expect_error(text, "t.ini:4: line too long (max 197 bytes)");
}

static void test_many_errors_one_pass(void **state)
{
    (void)state;
    const char *text = "; a config with one mistake of each kind\n" /* 1 */
                       "[node]\n"                                   /* 2 */
                       "name = -bad\n"                              /* 3 */
                       "colour = blue\n"                            /* 4 */
                       "\n"                                         /* 5 */
                       "[log]\n"                                    /* 6 */
                       "level = info debug\n"                       /* 7 */
                       "level = warn\n"                             /* 8 */
                       "what is this\n"                             /* 9 */
                       "[telemetry]\n"                              /* 10 */
                       "port = 9\n"                                 /* 11 */
                       "[admin]\n"                                  /* 12 */
                       "listen = 10.0.0.1:9901\n"                   /* 13 */
                       "socket_mode = 0777\n"                       /* 14 */
                       "debug = sure\n";                            /* 15 */
    const char *const want[] = {
        "t.ini:3: node.name: '-bad' must start with a letter or a digit",
        "t.ini:4: node.colour: unknown key",
        "t.ini:7: log.level: 'info debug' is not one of: debug, info, warn, error",
        "t.ini:8: log.level: duplicate key (first set at line 7)",
        "t.ini:9: syntax error: 'what is this' is not 'key = value', '[section]' or a comment",
        "t.ini:10: [telemetry]: unknown section",
        ("t.ini:13: admin.listen: '10.0.0.1:9901' is not a loopback address (use 127.0.0.1, "
         "[::1] or localhost): the admin API has no authentication"),
        "t.ini:14: admin.socket_mode: '0777' gives access to others; use e.g. 0660 or 0600",
        "t.ini:15: admin.debug: 'sure' is not a boolean (true/false, yes/no, on/off, 1/0)",
    };
    expect_errors(text, want, ARRAY_LEN(want));
}

static void test_socket_path_length(void **state)
{
    (void)state;
    char dir[200], text[512];
    /* data_dir itself is fine, the socket under it is not. */
    snprintf(text, sizeof(text), "[node]\n\ndata_dir = /%s\n", fill(dir, 'd', 100));
    char want[512];
    snprintf(want, sizeof(want),
             "t.ini:3: node.data_dir: the admin socket under it, '/%s/admin.sock', is longer "
             "than a unix socket path may be (107 bytes); shorten data_dir or set [admin] socket",
             dir);
    expect_error(text, want);
    /* ... which setting the socket fixes. */
    snprintf(text, sizeof(text), "[node]\ndata_dir = /%s\n[admin]\nsocket = /run/a.sock\n", dir);
    struct weft_config *cfg = parse_ok(text);
    config_free(cfg);
    /* A socket path set too long is reported on its own line. */
    snprintf(text, sizeof(text), "[admin]\nsocket = /%s\n", fill(dir, 's', 107));
    snprintf(want, sizeof(want),
             "t.ini:2: admin.socket: '/%s' is longer than a unix socket path may be (107 bytes)",
             dir);
    expect_error(text, want);
    /* A bad data_dir gives one error, not a second one about the socket. */
    expect_error("[node]\ndata_dir =\n", "t.ini:2: node.data_dir: must not be empty");
}

/* ---- files ------------------------------------------------------------- */

static void test_load_file(void **state)
{
    (void)state;
    struct config_errs errs;
    char path[] = "/tmp/test_config_XXXXXX";
    config_errs_init(&errs);
    assert_null(config_load_file("/nonexistent/weft.ini", &errs));
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.lines[0], "/nonexistent/weft.ini: cannot open: No such file or "
                                       "directory");
    config_errs_deinit(&errs);

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("[log]\nlevel = warn\n[admin]\ndebug = on\n", f);
    fclose(f);
    struct weft_config *cfg = config_load_file(path, &errs);
    assert_non_null(cfg);
    assert_string_equal(cfg->source, path);
    assert_int_equal(cfg->log.level, LOG_LEVEL_WARN);
    assert_true(cfg->admin.debug);
    config_free(cfg);

    /* Errors name the file. */
    f = fopen(path, "w");
    fputs("[log]\n\nlevel = nope\n", f);
    fclose(f);
    assert_null(config_load_file(path, &errs));
    assert_int_equal(errs.n, 1);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: log.level: 'nope' is not one of: debug, info, warn, error",
             path);
    assert_string_equal(errs.lines[0], want);
    config_errs_deinit(&errs);

    /* Not text. */
    f = fopen(path, "w");
    fwrite("[log]\nlevel = info\0\n", 1, 20, f);
    fclose(f);
    assert_null(config_load_file(path, &errs));
    assert_int_equal(errs.n, 1);
    snprintf(want, sizeof(want), "%s:2: syntax error: NUL byte (not a text file?)", path);
    assert_string_equal(errs.lines[0], want);
    config_errs_deinit(&errs);
    unlink(path);
}

static void test_errs_format(void **state)
{
    (void)state;
    struct config_errs errs;
    struct sbuf out;
    config_errs_init(&errs);
    sbuf_init(&out);
    assert_null(config_parse_string("x.ini", "[log]\nlevel = a\nformat = b\n", &errs));
    config_errs_format(&errs, &out);
    assert_string_equal(sbuf_str(&out),
                        "x.ini:2: log.level: 'a' is not one of: debug, info, warn, error\n"
                        "x.ini:3: log.format: 'b' is not one of: text, json\n");
    sbuf_deinit(&out);
    config_errs_deinit(&errs);
    config_errs_deinit(&errs); /* safe twice */
}

/* ---- show, diff, reload ------------------------------------------------ */

static const char *const custom_text = "[node]\n"
                                       "name = gw-07\n"
                                       "data_dir = /var/lib/weft\n"
                                       "trust_domain = plant.example\n"
                                       "[log]\n"
                                       "level = warn\n"
                                       "format = json\n"
                                       "debug = store,tls\n"
                                       "[admin]\n"
                                       "listen = [::1]:9901\n"
                                       "socket_mode = 0600\n"
                                       "debug = on\n";

static void round_trip(const struct weft_config *cfg)
{
    struct sbuf shown, again;
    struct config_errs errs;
    sbuf_init(&shown);
    sbuf_init(&again);
    config_errs_init(&errs);
    config_show(cfg, &shown);
    assert_false(shown.oom);
    struct weft_config *back = config_parse_string(cfg->source, sbuf_str(&shown), &errs);
    if (!back) {
        struct sbuf m;
        sbuf_init(&m);
        config_errs_format(&errs, &m);
        fail_msg("config show output does not parse:\n%s\n---\n%s", sbuf_str(&shown), sbuf_str(&m));
    }
    assert_int_equal(config_diff(cfg, back, NULL, NULL), 0);
    config_show(back, &again);
    assert_string_equal(sbuf_str(&shown), sbuf_str(&again));
    config_free(back);
    config_errs_deinit(&errs);
    sbuf_deinit(&shown);
    sbuf_deinit(&again);
}

/* A credential in the config ([identity] token) is never printed by show. */
static void test_show_hides_secret(void **state)
{
    (void)state;
    struct weft_config *cfg = parse_ok("[identity]\ntoken = weft1:s3cr3tpart:abc\n");
    struct sbuf out;
    sbuf_init(&out);
    config_show(cfg, &out);
    assert_non_null(strstr(sbuf_str(&out), "\n; token is set (hidden)\n"));
    assert_null(strstr(sbuf_str(&out), "s3cr3tpart"));
    sbuf_deinit(&out);
    config_free(cfg);
}

static void test_show(void **state)
{
    (void)state;
    struct weft_config *cfg = parse_ok(custom_text);
    struct sbuf out;
    sbuf_init(&out);
    config_show(cfg, &out);
    assert_string_equal(sbuf_str(&out), "; weft config, effective values (from t.ini)\n"
                                        "\n"
                                        "[node]\n"
                                        "name = gw-07\n"
                                        "data_dir = /var/lib/weft\n"
                                        "trust_domain = plant.example\n"
                                        "\n"
                                        "[log]\n"
                                        "level = warn\n"
                                        "format = json\n"
                                        "debug = store, tls\n"
                                        "\n"
                                        "[admin]\n"
                                        "socket = /var/lib/weft/admin.sock\n"
                                        "listen = [::1]:9901\n"
                                        "socket_mode = 0600\n"
                                        "debug = true\n"
                                        "\n"
                                        "[gossip]\n"
                                        "enabled = false\n"
                                        "bind = 0.0.0.0:7946\n"
                                        "advertise =\n"
                                        "join =\n"
                                        "profile = lan\n"
                                        "key_file =\n"
                                        "tags =\n"
                                        "rejoin = true\n"
                                        "reconnect_interval = 30s\n"
                                        "reconnect_timeout = 1d\n"
                                        "probe_interval =\n"
                                        "probe_timeout =\n"
                                        "gossip_interval =\n"
                                        "gossip_nodes =\n"
                                        "gossip_to_dead =\n"
                                        "push_pull_interval =\n"
                                        "indirect_checks =\n"
                                        "retransmit_mult =\n"
                                        "suspicion_mult =\n"
                                        "suspicion_max_mult =\n"
                                        "awareness_max =\n"
                                        "\n"
                                        "[identity]\n"
                                        "bundle =\n"
                                        "ca =\n"
                                        "token =\n"
                                        "start_wait = 20s\n"
                                        "check_interval = 1h\n"
                                        "\n"
                                        "[control]\n"
                                        "listen =\n"
                                        "max_conns = 64\n"
                                        "handshake_timeout = 10s\n"
                                        "request_timeout = 30s\n"
                                        "max_frame = 64KiB\n"
                                        "\n"
                                        "[ca]\n"
                                        "dir =\n"
                                        "node_lifetime = 90d\n"
                                        "svc_lifetime = 1d\n"
                                        "\n"
                                        "[mesh]\n"
                                        "writers =\n"
                                        "gc_horizon = 3d\n"
                                        "\n"
                                        "[proxy]\n"
                                        "inbound =\n"
                                        "advertise =\n"
                                        "default_action = allow\n"
                                        "max_connections = 4096\n"
                                        "handshake_timeout = 10s\n"
                                        "connect_timeout = 5s\n"
                                        "idle_timeout = 1h\n"
                                        "buffer = 64KiB\n"
                                        "drain_timeout = 15s\n"
                                        "\n"
                                        "[debug]\n"
                                        "clock_offset = 0\n");
    round_trip(cfg);
    config_free(cfg);

    /* Defaults: every key listed, unset ones empty. */
    struct config_errs errs;
    config_errs_init(&errs);
    cfg = config_load_default(&errs);
    assert_non_null(cfg);
    sbuf_reset(&out);
    config_show(cfg, &out);
    for (size_t i = 0; i < config_keys_count; i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\n%s =", config_keys[i].name);
        assert_non_null(strstr(sbuf_str(&out), needle));
    }
    assert_non_null(strstr(sbuf_str(&out), "\nlisten =\n"));
    assert_non_null(strstr(sbuf_str(&out), "\n[log]\nlevel = info\nformat = text\ndebug =\n"));
    round_trip(cfg);
    config_free(cfg);
    config_errs_deinit(&errs);

    /* Values as long as a line allows still round-trip. */
    char big[256], text[512];
    snprintf(text, sizeof(text), "[node]\ndata_dir=/%s\n[admin]\nsocket = /s\n",
             fill(big, 'q', 197 - 10));
    cfg = parse_ok(text);
    round_trip(cfg);
    config_free(cfg);
    sbuf_deinit(&out);
}

static void test_diff(void **state)
{
    (void)state;
    struct weft_config *a = parse_ok(custom_text);
    struct weft_config *b = parse_ok(custom_text);
    struct sbuf changed, restart;
    sbuf_init(&changed);
    sbuf_init(&restart);
    assert_int_equal(config_diff(a, b, &changed, &restart), 0);
    assert_string_equal(sbuf_str(&changed), "");
    assert_string_equal(sbuf_str(&restart), "");
    config_free(b);

    /* Only reloadable keys changed. */
    b = parse_ok("[node]\nname = gw-07\ndata_dir = /var/lib/weft\ntrust_domain = plant.example\n"
                 "[log]\nlevel = debug\nformat = json\ndebug =\n"
                 "[admin]\nlisten = [::1]:9901\nsocket_mode = 0600\ndebug = on\n");
    assert_int_equal(config_diff(a, b, &changed, &restart), 2);
    assert_string_equal(sbuf_str(&changed), "log.level, log.debug");
    assert_string_equal(sbuf_str(&restart), "");
    config_free(b);

    /* Restart keys (the computed socket follows data_dir). */
    sbuf_reset(&changed);
    b = parse_ok("[node]\nname = gw-08\ndata_dir = /srv/weft\ntrust_domain = plant.example\n"
                 "[log]\nlevel = warn\nformat = text\ndebug = store, tls\n"
                 "[admin]\nsocket_mode = 0600\ndebug = on\n");
    assert_int_equal(config_diff(a, b, &changed, &restart), 5);
    assert_string_equal(sbuf_str(&changed),
                        "node.name, node.data_dir, log.format, admin.socket, admin.listen");
    assert_string_equal(sbuf_str(&restart), "node.name, node.data_dir, admin.socket, admin.listen");
    /* NULL sbufs: just the count. */
    assert_int_equal(config_diff(a, b, NULL, NULL), 5);

    /* The merged config keeps the running restart keys, takes the rest. */
    assert_int_equal(config_reload_merge(b, a), 0);
    assert_string_equal(b->node.name, "gw-07");
    assert_string_equal(b->node.data_dir, "/var/lib/weft");
    assert_string_equal(b->admin.socket, "/var/lib/weft/admin.sock");
    assert_string_equal(b->admin.listen, "[::1]:9901");
    assert_int_equal(b->log.format, LOG_FORMAT_TEXT);
    sbuf_reset(&changed);
    sbuf_reset(&restart);
    assert_int_equal(config_diff(a, b, &changed, &restart), 1);
    assert_string_equal(sbuf_str(&changed), "log.format");
    assert_string_equal(sbuf_str(&restart), "");
    config_free(a);
    config_free(b);
    sbuf_deinit(&changed);
    sbuf_deinit(&restart);
}

/* ---- [service NAME] sections ------------------------------------------ */

static void test_service_sections(void **state)
{
    (void)state;
    struct weft_config *cfg = parse_ok("[node]\nname = gw-01\n"
                                       "[service web]\n"
                                       "port = 8080\n"
                                       "[service inventory]\n"
                                       "address = ::1\n"
                                       "port = 9000\n"
                                       "protocol = http\n"
                                       "check = http\n"
                                       "check_path = /healthz?full=1\n"
                                       "check_interval = 5s\n"
                                       "check_timeout = 500ms\n"
                                       "healthy_threshold = 1\n"
                                       "unhealthy_threshold = 5\n"
                                       "tags = prod, zone=eu-1, version=1.2.3\n"
                                       "[service metrics]\n"
                                       "port = 9100\n"
                                       "check = http\n");
    assert_int_equal(cfg->services.n, 3);
    const struct config_service *web = config_service_at(cfg, 0);
    assert_string_equal(web->name, "web");
    assert_string_equal(web->address, "127.0.0.1");
    assert_int_equal(web->port, 8080);
    assert_int_equal(web->protocol, CONFIG_SVC_TCP);
    assert_int_equal(web->check, CONFIG_CHECK_TCP);
    assert_null(web->check_path);
    assert_int_equal(web->check_interval_ms, 10000);
    assert_int_equal(web->check_timeout_ms, 2000);
    assert_int_equal(web->healthy_threshold, 2);
    assert_int_equal(web->unhealthy_threshold, 3);
    assert_null(web->tags);
    const struct config_service *inv = config_service_find(cfg, "inventory");
    assert_ptr_equal(inv, config_service_at(cfg, 1));
    assert_string_equal(inv->address, "::1");
    assert_int_equal(inv->port, 9000);
    assert_int_equal(inv->protocol, CONFIG_SVC_HTTP);
    assert_int_equal(inv->check, CONFIG_CHECK_HTTP);
    assert_string_equal(inv->check_path, "/healthz?full=1");
    assert_int_equal(inv->check_interval_ms, 5000);
    assert_int_equal(inv->check_timeout_ms, 500);
    assert_int_equal(inv->healthy_threshold, 1);
    assert_int_equal(inv->unhealthy_threshold, 5);
    assert_string_equal(inv->tags, "prod, zone=eu-1, version=1.2.3");
    /* An http check without a path checks "/". */
    assert_string_equal(config_service_find(cfg, "metrics")->check_path, "/");
    assert_null(config_service_find(cfg, "nope"));
    assert_false(config_service_equal(web, inv));
    assert_true(config_service_equal(inv, inv));
    round_trip(cfg);
    config_free(cfg);

    /* No [service] at all: an empty list. */
    cfg = parse_ok("");
    assert_int_equal(cfg->services.n, 0);
    assert_null(cfg->services.items);
    config_free(cfg);

    /* The name rule; blanks between kind and name do not matter. */
    cfg = parse_ok("[service  a.b_c-9]\nport = 1\n[ service Z ]\nport = 65535\n");
    assert_string_equal(config_service_at(cfg, 0)->name, "a.b_c-9");
    assert_string_equal(config_service_at(cfg, 1)->name, "Z");
    config_free(cfg);
}

static void test_service_errors(void **state)
{
    (void)state;
    /* Headers. */
    expect_error("[service]\nport = 1\n", "t.ini:1: [service]: needs a name: [service NAME]");
    expect_error("[service -web]\nport = x\n",
                 "t.ini:1: [service -web]: '-web' must start with a letter or a digit");
    expect_error("[service a..b]\nport = 1\n", "t.ini:1: [service a..b]: 'a..b' must not contain "
                                               "'..'");
    expect_error("[service a b]\nport = 1\n",
                 "t.ini:1: [service a b]: 'a b' contains ' ' (allowed: A-Z a-z 0-9 . _ -)");
    expect_error("[service a/b]\n", "t.ini:1: [service a/b]: 'a/b' contains '/' (allowed: A-Z "
                                    "a-z 0-9 . _ -)");
    expect_error("[node gw]\nname = x\n", "t.ini:1: [node gw]: [node] takes no name");
    expect_error("[bogus web]\nport = 1\n", "t.ini:1: [bogus web]: unknown section");
    char name[80], text[256], want[256];
    snprintf(text, sizeof(text), "[service %s]\nport = 1\n", fill(name, 'n', 64));
    snprintf(want, sizeof(want), "t.ini:1: [service %s]: '%s' is longer than 63 characters", name,
             name);
    expect_error(text, want);
    /* A duplicate: one error, its keys are not looked at. */
    expect_error("[service web]\nport = 80\n\n[service web]\nport = x\nbogus = 1\n",
                 "t.ini:4: [service web]: duplicate section (first at line 1)");
    /* Keys: each error names the section, the key and the line. */
    const char *const want_keys[] = {
        "t.ini:2: [service web] port: '0' is out of range (1..65535)",
        "t.ini:3: [service web] protocol: 'udp' is not one of: tcp, http",
        "t.ini:4: [service web] colour: unknown key",
        "t.ini:5: [service web] port: duplicate key (first set at line 2)",
        "t.ini:6: [service web] address: 'localhost' is not an IP address (host names are not "
        "resolved)",
        "t.ini:7: [service web] check: 'ping' is not one of: none, tcp, http",
        "t.ini:8: [service web] check_path: 'healthz' must start with '/'",
        "t.ini:9: [service web] check_interval: '500ms' is out of range (1s..1h)",
        "t.ini:10: [service web] healthy_threshold: '0' is out of range (1..100)",
        "t.ini:11: [service web] unhealthy_threshold: '101' is out of range (1..100)",
        "t.ini:12: [service web] tags: 'a b': a tag or tag key is 1-63 of A-Z a-z 0-9 . _ -",
        "t.ini:13: [service web] level: unknown key (there is one in [log])",
    };
    expect_errors("[service web]\n"             /* 1 */
                  "port = 0\n"                  /* 2 */
                  "protocol = udp\n"            /* 3 */
                  "colour = blue\n"             /* 4 */
                  "port = 80\n"                 /* 5 */
                  "address = localhost\n"       /* 6 */
                  "check = ping\n"              /* 7 */
                  "check_path = healthz\n"      /* 8 */
                  "check_interval = 500ms\n"    /* 9 */
                  "healthy_threshold = 0\n"     /* 10 */
                  "unhealthy_threshold = 101\n" /* 11 */
                  "tags = a b\n"                /* 12 */
                  "level = info\n",             /* 13 */
                  want_keys, ARRAY_LEN(want_keys));
    /* A missing required key is reported on the header's line. */
    expect_error("[log]\nlevel = info\n\n[service db]\naddress = 10.0.0.1\n",
                 "t.ini:4: [service db] port: missing (required)");
    /* A key in a fixed section that belongs to [service NAME]. */
    expect_error("[node]\nport = 80\n", "t.ini:2: node.port: unknown key (there is one in "
                                        "[service NAME])");
    /* Whole-section rules: timeout below the interval, check_path with http only. */
    expect_error("[service web]\nport = 80\ncheck_interval = 2s\ncheck_timeout = 2s\n",
                 "t.ini:4: [service web] check_timeout: check_timeout (2s) must be less than "
                 "check_interval (2s)");
    expect_error("[service web]\nport = 80\ncheck_interval = 1s\n",
                 "t.ini:3: [service web] check_interval: check_timeout (2s) must be less than "
                 "check_interval (1s)");
    expect_error("[service web]\nport = 80\ncheck_path = /x\n",
                 "t.ini:3: [service web] check_path: '/x' is only used with check = http");
    expect_error("[service web]\nport = 80\ncheck = http\ncheck_path = /a b\n",
                 "t.ini:4: [service web] check_path: '/a b' contains ' ' (printable, no blanks)");
    /* ... but not when there is no check. */
    struct weft_config *cfg =
        parse_ok("[service web]\nport = 80\ncheck = none\ncheck_interval = 1s\n");
    assert_int_equal(config_service_at(cfg, 0)->check, CONFIG_CHECK_NONE);
    config_free(cfg);
    /* Tags. */
    expect_error("[service web]\nport = 1\ntags = a, a=1\n",
                 "t.ini:3: [service web] tags: tag 'a' is listed twice");
    expect_error("[service web]\nport = 1\ntags = a,,b\n",
                 "t.ini:3: [service web] tags: empty tag in the list");
    expect_error("[service web]\nport = 1\ntags = k=\n",
                 "t.ini:3: [service web] tags: 'k=' has an empty value (write the word alone)");
    expect_error("[service web]\nport = 1\ntags = k=a=b\n",
                 "t.ini:3: [service web] tags: tag 'k': the value may not hold blanks or '='");
    expect_error(
        "[service web]\nport = 1\ntags = =v\n",
        "t.ini:3: [service web] tags: '=v': a tag or tag key is 1-63 of A-Z a-z 0-9 . _ -");
    cfg = parse_ok("[service web]\nport = 1\ntags = a,b=c/d:e,_x\n");
    config_free(cfg);
    /* Every section is checked in the same pass. */
    const char *const two[] = {"t.ini:2: [service a] port: 'x' is not an integer",
                               "t.ini:3: [service b] port: missing (required)"};
    expect_errors("[service a]\nport = x\n[service b]\n", two, 2);
}

static void test_service_limit(void **state)
{
    (void)state;
    struct sbuf text;
    sbuf_init(&text);
    for (int i = 0; i < CONFIG_SERVICES_MAX; i++)
        sbuf_printf(&text, "[service s%d]\nport = %d\n", i, 1000 + i);
    struct weft_config *cfg = parse_ok(sbuf_str(&text));
    assert_int_equal(cfg->services.n, CONFIG_SERVICES_MAX);
    assert_int_equal(config_service_at(cfg, CONFIG_SERVICES_MAX - 1)->port,
                     1000 + CONFIG_SERVICES_MAX - 1);
    round_trip(cfg);
    config_free(cfg);
    sbuf_printf(&text, "[service one-more]\nport = 1\n");
    char want[128];
    snprintf(want, sizeof(want), "t.ini:%d: [service one-more]: more than %d services",
             2 * CONFIG_SERVICES_MAX + 1, CONFIG_SERVICES_MAX);
    expect_error(sbuf_str(&text), want);
    sbuf_deinit(&text);
}

static void test_service_show_and_reload(void **state)
{
    (void)state;
    struct weft_config *a = parse_ok("[service web]\nport = 80\ntags = x\n"
                                     "[service db]\nport = 5432\n");
    struct sbuf out, changed, restart;
    sbuf_init(&out);
    sbuf_init(&changed);
    sbuf_init(&restart);
    config_show(a, &out);
    assert_non_null(strstr(sbuf_str(&out), "\n[service web]\n"
                                           "address = 127.0.0.1\n"
                                           "port = 80\n"
                                           "protocol = tcp\n"
                                           "check = tcp\n"
                                           "check_path =\n"
                                           "check_interval = 10s\n"
                                           "check_timeout = 2s\n"
                                           "healthy_threshold = 2\n"
                                           "unhealthy_threshold = 3\n"
                                           "tags = x\n"
                                           "\n[service db]\n"));
    round_trip(a);

    /* Same services in another order: no change. */
    struct weft_config *b = parse_ok("[service db]\nport = 5432\n[service web]\ntags = x\n"
                                     "port = 80\n");
    assert_int_equal(config_diff(a, b, &changed, &restart), 0);
    config_free(b);

    /* Added, removed, changed: all reloadable. */
    b = parse_ok("[log]\nlevel = debug\n[service web]\nport = 81\ncheck = none\n"
                 "[service api]\nport = 9000\n");
    assert_int_equal(config_diff(a, b, &changed, &restart), 6);
    assert_string_equal(sbuf_str(&changed), "log.level, [service web] port, [service web] check, "
                                            "[service web] tags, [service db] (removed), "
                                            "[service api] (added)");
    assert_string_equal(sbuf_str(&restart), "");
    /* The merge keeps the fresh services (they reload). */
    assert_int_equal(config_reload_merge(b, a), 0);
    assert_int_equal(b->services.n, 2);
    assert_int_equal(config_service_find(b, "web")->port, 81);
    assert_non_null(config_service_find(b, "api"));
    assert_null(config_service_find(b, "db"));
    config_free(b);
    config_free(a);
    sbuf_deinit(&out);
    sbuf_deinit(&changed);
    sbuf_deinit(&restart);
}

/* The copy a non-reloadable kind would get on SIGHUP (no such kind yet). */
static void test_list_copy(void **state)
{
    (void)state;
    const struct config_kind *kd = &config_kinds[config_schema_kind("service")];
    struct weft_config *a = parse_ok("[service web]\nport = 80\ntags = t\ncheck = http\n"
                                     "[service db]\nport = 5432\n");
    struct weft_config *b = parse_ok("[service x]\nport = 1\n");
    assert_int_equal(config_list_copy(kd, &b->services, &a->services), 0);
    assert_int_equal(b->services.n, 2);
    assert_true(config_service_equal(config_service_at(a, 0), config_service_at(b, 0)));
    assert_true(config_service_equal(config_service_at(a, 1), config_service_at(b, 1)));
    assert_ptr_not_equal(config_service_at(a, 0)->tags, config_service_at(b, 0)->tags);
    assert_int_equal(config_diff(a, b, NULL, NULL), 0);
    config_free(b);
    b = parse_ok("");
    assert_int_equal(config_list_copy(kd, &a->services, &b->services), 0);
    assert_int_equal(a->services.n, 0);
    config_free(a);
    config_free(b);
}

/* ---- [proxy] ------------------------------------------------------------ */

static void test_proxy_section(void **state)
{
    (void)state;
    /* Defaults: inbound off, advertise derived by the agent. */
    struct weft_config *cfg = parse_ok("");
    assert_null(cfg->proxy.inbound);
    assert_null(cfg->proxy.advertise);
    assert_int_equal(cfg->proxy.default_action, CONFIG_ACTION_ALLOW);
    assert_int_equal(cfg->proxy.max_connections, 4096);
    assert_int_equal(cfg->proxy.handshake_timeout_ms, 10000);
    assert_int_equal(cfg->proxy.connect_timeout_ms, 5000);
    assert_int_equal(cfg->proxy.idle_timeout_ms, 3600000);
    assert_int_equal(cfg->proxy.buffer, 65536);
    assert_int_equal(cfg->proxy.drain_timeout_ms, 15000);
    config_free(cfg);

    /* Every key, at its upper bounds. */
    cfg = parse_ok("[proxy]\ninbound = 0.0.0.0:15443\nadvertise = 10.0.0.5:15443\n"
                   "default_action = deny\nmax_connections = 1000000\nhandshake_timeout = 5m\n"
                   "connect_timeout = 5m\nidle_timeout = 7d\nbuffer = 16MiB\ndrain_timeout = 1h\n");
    assert_string_equal(cfg->proxy.inbound, "0.0.0.0:15443");
    assert_string_equal(cfg->proxy.advertise, "10.0.0.5:15443");
    assert_int_equal(cfg->proxy.default_action, CONFIG_ACTION_DENY);
    assert_int_equal(cfg->proxy.max_connections, 1000000);
    assert_int_equal(cfg->proxy.handshake_timeout_ms, 300000);
    assert_int_equal(cfg->proxy.connect_timeout_ms, 300000);
    assert_int_equal(cfg->proxy.idle_timeout_ms, INT64_C(7) * 86400000);
    assert_int_equal(cfg->proxy.buffer, 16777216);
    assert_int_equal(cfg->proxy.drain_timeout_ms, 3600000);
    round_trip(cfg);
    config_free(cfg);

    /* Lower bounds; IPv6; every key but inbound without inbound is fine
     * (outbound upstreams use buffer and drain_timeout too). */
    cfg = parse_ok("[proxy]\nadvertise = [fd00::5]:15443\nmax_connections = 1\n"
                   "handshake_timeout = 100ms\nconnect_timeout = 10ms\nidle_timeout = 1s\n"
                   "buffer = 4KiB\ndrain_timeout = 0\n");
    assert_null(cfg->proxy.inbound);
    assert_string_equal(cfg->proxy.advertise, "[fd00::5]:15443");
    assert_int_equal(cfg->proxy.max_connections, 1);
    assert_int_equal(cfg->proxy.handshake_timeout_ms, 100);
    assert_int_equal(cfg->proxy.connect_timeout_ms, 10);
    assert_int_equal(cfg->proxy.idle_timeout_ms, 1000);
    assert_int_equal(cfg->proxy.buffer, 4096);
    assert_int_equal(cfg->proxy.drain_timeout_ms, 0);
    round_trip(cfg);
    config_free(cfg);

    /* Each bound, one past it; every error in one pass. */
    const char *const low[] = {
        "t.ini:2: proxy.max_connections: '0' is out of range (1..1000000)",
        "t.ini:3: proxy.handshake_timeout: '99ms' is out of range (100ms..5m)",
        "t.ini:4: proxy.connect_timeout: '9ms' is out of range (10ms..5m)",
        "t.ini:5: proxy.idle_timeout: '999ms' is out of range (1s..7d)",
        "t.ini:6: proxy.buffer: '4095' is out of range (4KiB..16MiB)",
        "t.ini:7: proxy.default_action: 'reject' is not one of: allow, deny",
        "t.ini:8: proxy.inbound: '0.0.0.0' has no port (expected host:port)",
    };
    expect_errors("[proxy]\nmax_connections = 0\nhandshake_timeout = 99ms\n"
                  "connect_timeout = 9ms\nidle_timeout = 999ms\nbuffer = 4095\n"
                  "default_action = reject\ninbound = 0.0.0.0\n",
                  low, ARRAY_LEN(low));
    const char *const high[] = {
        "t.ini:2: proxy.max_connections: '1000001' is out of range (1..1000000)",
        "t.ini:3: proxy.handshake_timeout: '301s' is out of range (100ms..5m)",
        "t.ini:4: proxy.connect_timeout: '6m' is out of range (10ms..5m)",
        "t.ini:5: proxy.idle_timeout: '8d' is out of range (1s..7d)",
        "t.ini:6: proxy.buffer: '17MiB' is out of range (4KiB..16MiB)",
        "t.ini:7: proxy.drain_timeout: '61m' is out of range (0..1h)",
    };
    expect_errors("[proxy]\nmax_connections = 1000001\nhandshake_timeout = 301s\n"
                  "connect_timeout = 6m\nidle_timeout = 8d\nbuffer = 17MiB\n"
                  "drain_timeout = 61m\n",
                  high, ARRAY_LEN(high));

    /* advertise: what other nodes dial, so an IP literal and no wildcard. */
    expect_error("[proxy]\nadvertise = 0.0.0.0:15443\n",
                 "t.ini:2: proxy.advertise: '0.0.0.0:15443' is a wildcard address: other nodes "
                 "cannot dial it");
    expect_error("[proxy]\nadvertise = [::]:15443\n",
                 "t.ini:2: proxy.advertise: '[::]:15443' is a wildcard address: other nodes "
                 "cannot dial it");
    expect_error("[proxy]\nadvertise = gw-01.plant.example:15443\n",
                 "t.ini:2: proxy.advertise: 'gw-01.plant.example:15443' is not an IP address "
                 "(host names are not resolved)");
    expect_error("[proxy]\nadvertise = 10.0.0.5\n",
                 "t.ini:2: proxy.advertise: '10.0.0.5' has no port (expected host:port)");
}

/* ---- [upstream NAME] sections ------------------------------------------ */

static void test_upstream_sections(void **state)
{
    (void)state;
    struct weft_config *cfg = parse_ok("[service sensors]\nport = 7000\n"
                                       "[upstream inventory]\n"
                                       "listen = 127.0.0.1:9001\n"
                                       "service = inventory\n"
                                       "[upstream db]\n"
                                       "listen = [::1]:9002\n"
                                       "service = db\n"
                                       "from = sensors\n"
                                       "lb = p2c\n"
                                       "connect_timeout = 10ms\n"
                                       "connect_retries = 10\n"
                                       "idle_timeout = 7d\n"
                                       "max_connections = 1000000\n"
                                       "max_pending = 100000\n"
                                       "outlier_failures = 1000\n"
                                       "outlier_ejection = 1h\n"
                                       "outlier_max_ejection = 24h\n"
                                       "outlier_max_percent = 100\n"
                                       "[upstream payments]\n"
                                       "listen = 127.0.0.1:9003\n"
                                       "address = api.example.com:443\n"
                                       "tls_ca = /etc/weft/public-ca.pem\n"
                                       "[upstream legacy]\n"
                                       "listen = 127.0.0.1:9004\n"
                                       "address = 10.1.2.3:5432\n"
                                       "lb = least_conn\n"
                                       "connect_retries = 0\n"
                                       "max_connections = 1\n"
                                       "max_pending = 1\n"
                                       "outlier_failures = 1\n"
                                       "outlier_ejection = 100ms\n"
                                       "outlier_max_ejection = 100ms\n"
                                       "outlier_max_percent = 0\n"
                                       "idle_timeout = 1s\n"
                                       "connect_timeout = 5m\n"
                                       "[upstream vendor]\n"
                                       "listen = 0.0.0.0:9005\n"
                                       "address = 192.0.2.7:8443\n"
                                       "tls_ca = /etc/weft/vendor-ca.pem\n"
                                       "tls_sni = vendor.example\n"
                                       "[upstream vendor6]\n"
                                       "listen = 127.0.0.1:9006\n"
                                       "address = [2001:db8::7]:8443\n"
                                       "tls_ca = ca.pem\n"
                                       "tls_sni = vendor6.example\n"
                                       "lb = random\n");
    assert_int_equal(cfg->upstreams.n, 6);
    /* Defaults. */
    const struct config_upstream *inv = config_upstream_at(cfg, 0);
    assert_string_equal(inv->name, "inventory");
    assert_string_equal(inv->listen, "127.0.0.1:9001");
    assert_string_equal(inv->service, "inventory");
    assert_null(inv->address);
    assert_null(inv->from);
    assert_int_equal(inv->lb, CONFIG_LB_ROUND_ROBIN);
    assert_int_equal(inv->connect_timeout_ms, 5000);
    assert_int_equal(inv->connect_retries, 2);
    assert_int_equal(inv->idle_timeout_ms, 3600000);
    assert_int_equal(inv->max_connections, 1024);
    assert_int_equal(inv->max_pending, 128);
    assert_int_equal(inv->outlier_failures, 5);
    assert_int_equal(inv->outlier_ejection_ms, 10000);
    assert_int_equal(inv->outlier_max_ejection_ms, 300000);
    assert_int_equal(inv->outlier_max_percent, 50);
    assert_null(inv->tls_ca);
    assert_null(inv->tls_sni);
    /* Every key at its upper bound. */
    const struct config_upstream *db = config_upstream_find(cfg, "db");
    assert_ptr_equal(db, config_upstream_at(cfg, 1));
    assert_string_equal(db->listen, "[::1]:9002");
    assert_string_equal(db->from, "sensors");
    assert_int_equal(db->lb, CONFIG_LB_P2C);
    assert_int_equal(db->connect_timeout_ms, 10);
    assert_int_equal(db->connect_retries, 10);
    assert_int_equal(db->idle_timeout_ms, INT64_C(7) * 86400000);
    assert_int_equal(db->max_connections, 1000000);
    assert_int_equal(db->max_pending, 100000);
    assert_int_equal(db->outlier_failures, 1000);
    assert_int_equal(db->outlier_ejection_ms, 3600000);
    assert_int_equal(db->outlier_max_ejection_ms, 86400000);
    assert_int_equal(db->outlier_max_percent, 100);
    /* Egress with TLS to a DNS name: the name is the SNI. */
    const struct config_upstream *pay = config_upstream_find(cfg, "payments");
    assert_null(pay->service);
    assert_string_equal(pay->address, "api.example.com:443");
    assert_string_equal(pay->tls_ca, "/etc/weft/public-ca.pem");
    assert_string_equal(pay->tls_sni, "api.example.com");
    /* Plain egress, every key at its lower bound. */
    const struct config_upstream *leg = config_upstream_find(cfg, "legacy");
    assert_null(leg->tls_ca);
    assert_null(leg->tls_sni);
    assert_int_equal(leg->lb, CONFIG_LB_LEAST_CONN);
    assert_int_equal(leg->connect_retries, 0);
    assert_int_equal(leg->max_connections, 1);
    assert_int_equal(leg->max_pending, 1);
    assert_int_equal(leg->outlier_failures, 1);
    assert_int_equal(leg->outlier_ejection_ms, 100);
    assert_int_equal(leg->outlier_max_ejection_ms, 100);
    assert_int_equal(leg->outlier_max_percent, 0);
    assert_int_equal(leg->idle_timeout_ms, 1000);
    assert_int_equal(leg->connect_timeout_ms, 300000);
    /* An explicit SNI to an IP address; none by default to an IPv6 one. */
    assert_string_equal(config_upstream_find(cfg, "vendor")->tls_sni, "vendor.example");
    assert_string_equal(config_upstream_find(cfg, "vendor6")->tls_sni, "vendor6.example");
    assert_int_equal(config_upstream_find(cfg, "vendor6")->lb, CONFIG_LB_RANDOM);
    assert_null(config_upstream_find(cfg, "nope"));
    assert_true(config_upstream_equal(pay, pay));
    assert_false(config_upstream_equal(inv, db));
    round_trip(cfg);
    config_free(cfg);

    /* No [upstream] at all: an empty list. */
    cfg = parse_ok("");
    assert_int_equal(cfg->upstreams.n, 0);
    assert_null(cfg->upstreams.items);
    config_free(cfg);
}

static void test_upstream_errors(void **state)
{
    (void)state;
    /* Headers, as for [service NAME]. */
    expect_error("[upstream]\nlisten = 127.0.0.1:1\n",
                 "t.ini:1: [upstream]: needs a name: [upstream NAME]");
    expect_error("[upstream .x]\n",
                 "t.ini:1: [upstream .x]: '.x' must start with a letter or a digit");
    expect_error("[upstream a]\nlisten = 127.0.0.1:1\nservice = a\n[upstream a]\n",
                 "t.ini:4: [upstream a]: duplicate section (first at line 1)");
    /* Each value, one past its bound; every error in one pass, and the
     * whole-section rules are not looked at while a value is refused. */
    const char *const want[] = {
        "t.ini:2: [upstream a] lb: 'fastest' is not one of: round_robin, least_conn, random, p2c",
        "t.ini:3: [upstream a] connect_timeout: '9ms' is out of range (10ms..5m)",
        "t.ini:4: [upstream a] connect_retries: '11' is out of range (0..10)",
        "t.ini:5: [upstream a] idle_timeout: '8d' is out of range (1s..7d)",
        "t.ini:6: [upstream a] max_connections: '0' is out of range (1..1000000)",
        "t.ini:7: [upstream a] max_pending: '100001' is out of range (1..100000)",
        "t.ini:8: [upstream a] outlier_failures: '0' is out of range (1..1000)",
        "t.ini:9: [upstream a] outlier_ejection: '99ms' is out of range (100ms..1h)",
        "t.ini:10: [upstream a] outlier_max_ejection: '25h' is out of range (100ms..1d)",
        "t.ini:11: [upstream a] outlier_max_percent: '101' is out of range (0..100)",
        "t.ini:12: [upstream a] service: '-x' must start with a letter or a digit",
        "t.ini:13: [upstream a] from: 'a..b' must not contain '..'",
        "t.ini:14: [upstream a] listen: 'localhost' has no port (expected host:port)",
        "t.ini:15: [upstream a] address: '300.1.1.1:80': '300.1.1.1' is not an IPv4 address",
        "t.ini:16: [upstream a] tls_sni: '10.0.0.1' is an IP address: SNI carries host names "
        "only (RFC 6066)",
        "t.ini:17: [upstream a] tls_ca: '~/ca.pem': '~' is not expanded here; write the full "
        "path",
        "t.ini:18: [upstream a] inbound: unknown key (there is one in [proxy])",
        "t.ini:19: [upstream a] max_connections: duplicate key (first set at line 6)",
    };
    expect_errors("[upstream a]\n"               /* 1 */
                  "lb = fastest\n"               /* 2 */
                  "connect_timeout = 9ms\n"      /* 3 */
                  "connect_retries = 11\n"       /* 4 */
                  "idle_timeout = 8d\n"          /* 5 */
                  "max_connections = 0\n"        /* 6 */
                  "max_pending = 100001\n"       /* 7 */
                  "outlier_failures = 0\n"       /* 8 */
                  "outlier_ejection = 99ms\n"    /* 9 */
                  "outlier_max_ejection = 25h\n" /* 10 */
                  "outlier_max_percent = 101\n"  /* 11 */
                  "service = -x\n"               /* 12 */
                  "from = a..b\n"                /* 13 */
                  "listen = localhost\n"         /* 14 */
                  "address = 300.1.1.1:80\n"     /* 15 */
                  "tls_sni = 10.0.0.1\n"         /* 16 */
                  "tls_ca = ~/ca.pem\n"          /* 17 */
                  "inbound = 0.0.0.0:1\n"        /* 18 */
                  "max_connections = 5\n",       /* 19 */
                  want, ARRAY_LEN(want));
    /* ... and one past the other end of each range. */
    const char *const other_end[] = {
        "t.ini:2: [upstream a] connect_timeout: '301s' is out of range (10ms..5m)",
        "t.ini:3: [upstream a] connect_retries: '-1' is out of range (0..10)",
        "t.ini:4: [upstream a] idle_timeout: '999ms' is out of range (1s..7d)",
        "t.ini:5: [upstream a] max_connections: '1000001' is out of range (1..1000000)",
        "t.ini:6: [upstream a] max_pending: '0' is out of range (1..100000)",
        "t.ini:7: [upstream a] outlier_failures: '1001' is out of range (1..1000)",
        "t.ini:8: [upstream a] outlier_ejection: '61m' is out of range (100ms..1h)",
        "t.ini:9: [upstream a] outlier_max_ejection: '99ms' is out of range (100ms..1d)",
        "t.ini:10: [upstream a] outlier_max_percent: '-1' is out of range (0..100)",
    };
    expect_errors("[upstream a]\nconnect_timeout = 301s\nconnect_retries = -1\n"
                  "idle_timeout = 999ms\nmax_connections = 1000001\nmax_pending = 0\n"
                  "outlier_failures = 1001\noutlier_ejection = 61m\noutlier_max_ejection = 99ms\n"
                  "outlier_max_percent = -1\nlisten = 127.0.0.1:1\nservice = a\n",
                  other_end, ARRAY_LEN(other_end));
    /* listen is required: on the header's line. */
    expect_error("[log]\nlevel = info\n\n[upstream db]\nservice = db\n",
                 "t.ini:4: [upstream db] listen: missing (required)");
    /* Exactly one of service and address, on the header's line. */
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\n",
                 "t.ini:1: [upstream a]: needs service (a mesh service) or address (a "
                 "destination outside the mesh)");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\nservice =\naddress =\n",
                 "t.ini:1: [upstream a]: needs service (a mesh service) or address (a "
                 "destination outside the mesh)");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\naddress = a.example:80\n",
                 "t.ini:1: [upstream a]: service (line 3) and address (line 4) exclude each "
                 "other: set one");
    /* from with service only; tls_ca with address only; tls_sni with tls_ca only. */
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\naddress = a.example:80\nfrom = web\n",
                 "t.ini:4: [upstream a] from: 'web' is only used with service (egress presents "
                 "no mesh identity)");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\ntls_ca = /ca.pem\n",
                 "t.ini:4: [upstream a] tls_ca: '/ca.pem' is only used with address (egress); "
                 "calls to a mesh service always use the mesh's mTLS");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\naddress = a.example:80\n"
                 "tls_sni = a.example\n",
                 "t.ini:4: [upstream a] tls_sni: 'a.example' is only used with tls_ca");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\ntls_sni = a.example\n",
                 "t.ini:4: [upstream a] tls_sni: 'a.example' is only used with tls_ca");
    /* An IP address is never a name to check the certificate for. */
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\naddress = 192.0.2.7:8443\n"
                 "tls_ca = /ca.pem\n",
                 "t.ini:4: [upstream a] tls_ca: origination needs a server name to check in the "
                 "server's certificate; address 192.0.2.7:8443 is an IP address: set tls_sni");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\ntls_ca = /ca.pem\n"
                 "address = [2001:db8::7]:8443\n",
                 "t.ini:3: [upstream a] tls_ca: origination needs a server name to check in the "
                 "server's certificate; address [2001:db8::7]:8443 is an IP address: set tls_sni");
    /* The first ejection at most the cap: the key set is blamed. */
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\noutlier_ejection = 10m\nservice = a\n",
                 "t.ini:3: [upstream a] outlier_ejection: outlier_ejection (10m) must not exceed "
                 "outlier_max_ejection (5m)");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\n"
                 "outlier_max_ejection = 5s\n",
                 "t.ini:4: [upstream a] outlier_max_ejection: outlier_ejection (10s) must not "
                 "exceed outlier_max_ejection (5s)");
    expect_error("[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\n"
                 "outlier_max_ejection = 1s\noutlier_ejection = 2s\n",
                 "t.ini:5: [upstream a] outlier_ejection: outlier_ejection (2s) must not exceed "
                 "outlier_max_ejection (1s)");
    struct weft_config *cfg = parse_ok("[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\n"
                                       "outlier_ejection = 1m\noutlier_max_ejection = 1m\n");
    config_free(cfg);
    /* Keys of [upstream NAME] elsewhere say where they belong. */
    expect_error("[node]\ntls_ca = /x\n",
                 "t.ini:2: node.tls_ca: unknown key (there is one in [upstream NAME])");
    expect_error("[service web]\nport = 1\nlb = p2c\n",
                 "t.ini:3: [service web] lb: unknown key (there is one in [upstream NAME])");
    /* Every section is checked in the same pass (missing keys come first:
     * they are found with the defaults, before the whole-section rules). */
    const char *const two[] = {
        "t.ini:3: [upstream b] listen: missing (required)",
        "t.ini:1: [upstream a]: needs service (a mesh service) or address (a destination "
        "outside the mesh)",
    };
    expect_errors("[upstream a]\nlisten = 127.0.0.1:1\n[upstream b]\nservice = b\n", two, 2);
}

static void test_upstream_limit(void **state)
{
    (void)state;
    struct sbuf text;
    sbuf_init(&text);
    for (int i = 0; i < CONFIG_UPSTREAMS_MAX; i++)
        sbuf_printf(&text, "[upstream u%d]\nlisten = 127.0.0.1:%d\nservice = s%d\n", i, 9000 + i,
                    i);
    struct weft_config *cfg = parse_ok(sbuf_str(&text));
    assert_int_equal(cfg->upstreams.n, CONFIG_UPSTREAMS_MAX);
    round_trip(cfg);
    config_free(cfg);
    sbuf_printf(&text, "[upstream one-more]\nlisten = 127.0.0.1:1\nservice = x\n");
    char want[128];
    snprintf(want, sizeof(want), "t.ini:%d: [upstream one-more]: more than %d upstreams",
             3 * CONFIG_UPSTREAMS_MAX + 1, CONFIG_UPSTREAMS_MAX);
    expect_error(sbuf_str(&text), want);
    sbuf_deinit(&text);
}

/* No two listeners on one address and port (listen.c). */
static void test_listen_collisions(void **state)
{
    (void)state;
    const char *const want[] = {
        "t.ini:16: [upstream b] listen: '127.0.0.1:9001' collides with [upstream a] listen "
        "127.0.0.1:9001 (line 13)",
        "t.ini:19: [upstream c] listen: '127.0.0.1:15443' collides with proxy.inbound "
        "0.0.0.0:15443 (line 6)",
        "t.ini:22: [upstream d] listen: '127.0.0.1:9901' collides with admin.listen "
        "127.0.0.1:9901 (line 2)",
        "t.ini:25: [upstream e] listen: '[::]:7000' collides with control.listen 0.0.0.0:7000 "
        "(line 4)",
        "t.ini:28: [upstream f] listen: '127.0.0.1:8080' collides with [service web] "
        "127.0.0.1:8080 (line 10)",
        "t.ini:31: [upstream g] listen: '127.0.0.1:7946' collides with gossip.bind "
        "127.0.0.1:7946 (line 9)",
        "t.ini:40: [upstream j] listen: '[0:0::1]:9001' collides with [upstream i] listen "
        "[::1]:9001 (line 37)",
        "t.ini:46: [upstream l] listen: 'localhost:9010' collides with [upstream k] listen "
        "LOCALHOST:9010 (line 43)",
    };
    expect_errors("[admin]\nlisten = 127.0.0.1:9901\n"                         /* 1-2 */
                  "[control]\nlisten = 0.0.0.0:7000\n"                         /* 3-4 */
                  "[proxy]\ninbound = 0.0.0.0:15443\n"                         /* 5-6 */
                  "[gossip]\nenabled = true\nbind = 127.0.0.1:7946\n"          /* 7-9 */
                  "[service web]\nport = 8080\n"                               /* 10-11 */
                  "[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\n"       /* 12-14 */
                  "[upstream b]\nlisten = 127.0.0.1:9001\nservice = b\n"       /* 15-17 */
                  "[upstream c]\nlisten = 127.0.0.1:15443\nservice = c\n"      /* 18-20 */
                  "[upstream d]\nlisten = 127.0.0.1:9901\nservice = d\n"       /* 21-23 */
                  "[upstream e]\nlisten = [::]:7000\nservice = e\n"            /* 24-26 */
                  "[upstream f]\nlisten = 127.0.0.1:8080\nservice = f\n"       /* 27-29 */
                  "[upstream g]\nlisten = 127.0.0.1:7946\nservice = g\n"       /* 30-32 */
                  "[upstream h]\nlisten = 127.0.0.2:9001\nservice = h\n"       /* 33-35 */
                  "[upstream i]\nlisten = [::1]:9001\naddress = x.example:1\n" /* 36-38 */
                  "[upstream j]\nlisten = [0:0::1]:9001\nservice = j\n"        /* 39-41 */
                  "[upstream k]\nlisten = LOCALHOST:9010\nservice = k\n"       /* 42-44 */
                  "[upstream l]\nlisten = localhost:9010\nservice = l\n",      /* 45-47 */
                  want, ARRAY_LEN(want));
    /* Blamed on the later line, whichever section it is in. */
    expect_error("[upstream a]\nlisten = 127.0.0.1:15443\nservice = a\n"
                 "[proxy]\ninbound = 0.0.0.0:15443\n",
                 "t.ini:5: proxy.inbound: '0.0.0.0:15443' collides with [upstream a] listen "
                 "127.0.0.1:15443 (line 2)");
    expect_error("[upstream a]\nlisten = 127.0.0.1:8080\nservice = web\n"
                 "[service web]\nport = 8080\n",
                 "t.ini:2: [upstream a] listen: '127.0.0.1:8080' collides with [service web] "
                 "127.0.0.1:8080 (line 4)");
    /* A default counts when it is in use: gossip's bind with gossip on. */
    expect_error("[gossip]\nenabled = true\n[upstream a]\nlisten = 0.0.0.0:7946\nservice = a\n",
                 "t.ini:4: [upstream a] listen: '0.0.0.0:7946' collides with gossip.bind "
                 "0.0.0.0:7946 (its default)");
    /* One error per listener, naming the earliest it collides with. */
    const char *const chain[] = {
        "t.ini:4: control.listen: '0.0.0.0:7000' collides with admin.listen 127.0.0.1:7000 "
        "(line 2)",
        "t.ini:6: [upstream a] listen: '127.0.0.1:7000' collides with admin.listen "
        "127.0.0.1:7000 (line 2)",
    };
    expect_errors("[admin]\nlisten = 127.0.0.1:7000\n[control]\nlisten = 0.0.0.0:7000\n"
                  "[upstream a]\nlisten = 127.0.0.1:7000\nservice = a\n",
                  chain, ARRAY_LEN(chain));
    /* Not collisions: gossip off; other ports or hosts; a wildcard upstream
     * on a service's port (the service may be in another namespace); v4 and
     * v6 loopback. */
    struct weft_config *cfg = parse_ok("[gossip]\nbind = 0.0.0.0:9001\n"
                                       "[proxy]\ninbound = 10.0.0.5:15443\n"
                                       "[service web]\naddress = 10.0.0.9\nport = 8080\n"
                                       "[upstream a]\nlisten = 127.0.0.1:9001\nservice = a\n"
                                       "[upstream b]\nlisten = 127.0.0.1:9002\nservice = b\n"
                                       "[upstream c]\nlisten = [::1]:9001\nservice = c\n"
                                       "[upstream d]\nlisten = 10.0.0.6:15443\nservice = d\n"
                                       "[upstream e]\nlisten = 0.0.0.0:8080\nservice = web\n");
    config_free(cfg);
}

static void test_upstream_show_and_reload(void **state)
{
    (void)state;
    struct weft_config *a =
        parse_ok("[proxy]\ninbound = 0.0.0.0:15443\n"
                 "[upstream inv]\nlisten = 127.0.0.1:9001\nservice = inventory\n"
                 "[upstream ext]\nlisten = 127.0.0.1:9002\n"
                 "address = api.example.com:443\ntls_ca = /ca.pem\n");
    struct sbuf out, changed, restart;
    sbuf_init(&out);
    sbuf_init(&changed);
    sbuf_init(&restart);
    config_show(a, &out);
    assert_non_null(strstr(sbuf_str(&out), "\n[upstream inv]\n"
                                           "listen = 127.0.0.1:9001\n"
                                           "service = inventory\n"
                                           "address =\n"
                                           "from =\n"
                                           "lb = round_robin\n"
                                           "connect_timeout = 5s\n"
                                           "connect_retries = 2\n"
                                           "idle_timeout = 1h\n"
                                           "max_connections = 1024\n"
                                           "max_pending = 128\n"
                                           "outlier_failures = 5\n"
                                           "outlier_ejection = 10s\n"
                                           "outlier_max_ejection = 5m\n"
                                           "outlier_max_percent = 50\n"
                                           "tls_ca =\n"
                                           "tls_sni =\n"
                                           "\n[upstream ext]\n"
                                           "listen = 127.0.0.1:9002\n"
                                           "service =\n"
                                           "address = api.example.com:443\n"));
    /* The computed SNI is shown, so the text says what is in effect. */
    assert_non_null(strstr(sbuf_str(&out), "tls_ca = /ca.pem\ntls_sni = api.example.com\n"));
    round_trip(a);

    /* Upstreams reload (added, removed, changed); [proxy] inbound needs a restart. */
    struct weft_config *b =
        parse_ok("[proxy]\ninbound = 0.0.0.0:15444\n"
                 "[upstream new]\nlisten = 127.0.0.1:9003\nservice = x\n"
                 "[upstream inv]\nlisten = 127.0.0.1:9001\nservice = inventory\n"
                 "lb = least_conn\n");
    assert_int_equal(config_diff(a, b, &changed, &restart), 4);
    assert_string_equal(sbuf_str(&changed), "proxy.inbound, [upstream inv] lb, "
                                            "[upstream ext] (removed), [upstream new] (added)");
    assert_string_equal(sbuf_str(&restart), "proxy.inbound");
    assert_int_equal(config_reload_merge(b, a), 0);
    assert_string_equal(b->proxy.inbound, "0.0.0.0:15443");
    assert_int_equal(b->upstreams.n, 2);
    assert_int_equal(config_upstream_find(b, "inv")->lb, CONFIG_LB_LEAST_CONN);
    assert_null(config_upstream_find(b, "ext"));
    config_free(b);

    /* A new address changes the computed SNI with it. */
    sbuf_reset(&changed);
    b = parse_ok("[proxy]\ninbound = 0.0.0.0:15443\n"
                 "[upstream inv]\nlisten = 127.0.0.1:9001\nservice = inventory\n"
                 "[upstream ext]\nlisten = 127.0.0.1:9002\n"
                 "address = api2.example.com:443\ntls_ca = /ca.pem\n");
    assert_int_equal(config_diff(a, b, &changed, NULL), 2);
    assert_string_equal(sbuf_str(&changed), "[upstream ext] address, [upstream ext] tls_sni");
    config_free(b);
    config_free(a);
    sbuf_deinit(&out);
    sbuf_deinit(&changed);
    sbuf_deinit(&restart);
}

/* One name rule for nodes, services and objects: pki/spiffe.c's NAME. */
static void test_name_rule_agrees_with_spiffe(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "a",         "web",
        "Web-01",    "a.b",
        "a_b",       "9",
        "x.y.z-1_2", "a-",
        "a.",        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    static const char *const bad[] = {
        "",
        "-a",
        ".a",
        "_a",
        "a..b",
        "a b",
        "a/b",
        "a%2f",
        "a\tb",
        "é",
        "a:b",
        "..",
        ".",
        "a*",
        "*",
        "a\\b",
        "a@b",
        "a\x01",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    struct weft_err e1, e2;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        if (config_name_check(ok[i], &e1) != 0)
            fail_msg("config refuses '%s': %s", ok[i], e1.msg);
        assert_int_equal(spiffe_name_check(SPIFFE_SVC, ok[i], &e2), 0);
        assert_int_equal(spiffe_name_check(SPIFFE_NODE, ok[i], &e2), 0);
        const char *v = ok[i];
        assert_int_equal(config_check_node_name(&v, &e1), 0);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (config_name_check(bad[i], &e1) != -1)
            fail_msg("config accepts name #%zu", i);
        assert_int_equal(spiffe_name_check(SPIFFE_SVC, bad[i], &e2), -1);
        assert_int_equal(spiffe_name_check(SPIFFE_NODE, bad[i], &e2), -1);
    }
    /* node.name follows it too ("" there means the host name). */
    expect_error("[node]\nname = a..b\n", "t.ini:2: node.name: 'a..b' must not contain '..'");
    /* Bytes that are not printable are escaped in messages. */
    assert_int_equal(config_name_check("a\x1b[2Jb", &e1), -1);
    assert_null(strchr(e1.msg, '\x1b'));
    assert_non_null(strstr(e1.msg, "\\x1b"));
}

static void test_mesh_writers(void **state)
{
    (void)state;
    struct weft_config *cfg =
        parse_ok("[mesh]\nwriters = gw-01, spiffe://plant.example/node/gw-02 ,gw.03\n");
    assert_string_equal(cfg->mesh.writers, "gw-01, spiffe://plant.example/node/gw-02 ,gw.03");
    round_trip(cfg);
    config_free(cfg);
    cfg = parse_ok("");
    assert_null(cfg->mesh.writers);
    config_free(cfg);
    expect_error("[mesh]\nwriters = a,,b\n", "t.ini:2: mesh.writers: empty entry in the list");
    expect_error("[mesh]\nwriters = -a\n",
                 "t.ini:2: mesh.writers: '-a' must start with a letter or a digit");
    expect_error("[mesh]\nwriters = spiffe://plant/svc/web\n",
                 "t.ini:2: mesh.writers: 'spiffe://plant/svc/web' is not a node ID "
                 "(spiffe://TRUST-DOMAIN/node/NAME)");
    expect_error("[mesh]\nwriters = spiffe://Plant/node/a\n",
                 "t.ini:2: mesh.writers: 'spiffe://Plant/node/a': 'Plant' must be lowercase");
    expect_error("[mesh]\nwriters = spiffe://plant/node/a..b\n",
                 "t.ini:2: mesh.writers: 'spiffe://plant/node/a..b': 'a..b' must not contain "
                 "'..'");
    /* Reloadable. */
    struct weft_config *a = parse_ok("[mesh]\nwriters = a\n");
    struct weft_config *b = parse_ok("[mesh]\nwriters = a, b\n");
    struct sbuf changed, restart;
    sbuf_init(&changed);
    sbuf_init(&restart);
    assert_int_equal(config_diff(a, b, &changed, &restart), 1);
    assert_string_equal(sbuf_str(&changed), "mesh.writers");
    assert_string_equal(sbuf_str(&restart), "");
    sbuf_deinit(&changed);
    sbuf_deinit(&restart);
    config_free(a);
    config_free(b);
}

static void test_errs_limit(void **state)
{
    (void)state;
    struct config_errs errs;
    struct sbuf out;
    config_errs_init(&errs);
    config_errs_set_limit(&errs, 2);
    sbuf_init(&out);
    assert_null(
        config_parse_string("x.ini", "[log]\nlevel = a\nformat = b\ndebug = c\nx = 1\n", &errs));
    assert_int_equal(errs.n, 2);
    assert_int_equal(errs.dropped, 2);
    config_errs_format(&errs, &out);
    assert_string_equal(sbuf_str(&out),
                        "x.ini:2: log.level: 'a' is not one of: debug, info, warn, error\n"
                        "x.ini:3: log.format: 'b' is not one of: text, json\n"
                        "(2 more errors not shown)\n");
    config_errs_deinit(&errs);
    assert_int_equal(errs.limit, 2); /* kept for reuse */
    assert_int_equal(errs.dropped, 0);
    sbuf_deinit(&out);
}

/* ---- the reference files ----------------------------------------------- */

/* Every "key =" line of weft.ini, set or commented out, as "section.key". */
static bool ini_mentions(const char *text, const char *section, const char *key)
{
    char cur[64] = "";
    const char *line = text;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *s = line;
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        if (len && *s == '[') {
            const char *rb = memchr(s, ']', len);
            if (rb && (size_t)(rb - s - 1) < sizeof(cur)) {
                memcpy(cur, s + 1, (size_t)(rb - s - 1));
                cur[rb - s - 1] = '\0';
            }
        } else {
            while (len && (*s == ';' || *s == '#' || *s == ' ')) {
                s++;
                len--;
            }
            size_t kl = strlen(key);
            if (strcmp(cur, section) == 0 && len > kl && strncmp(s, key, kl) == 0) {
                const char *r = s + kl;
                while (*r == ' ')
                    r++;
                if (*r == '=')
                    return true;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

/*
 * weft.ini with every commented-out key (";key = default", no blank after
 * the ';') made live: the defaults it documents, as a config of their own.
 * shown[i] tells which rows were commented out (and so claim a default).
 */
static char *uncomment_keys(const char *text, bool *shown)
{
    struct sbuf out;
    const char *line = text;
    char cur[64] = "";
    sbuf_init(&out);
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        bool key = false;
        if (line[0] == '[') {
            const char *rb = strchr(line, ']');
            if (rb && (size_t)(rb - line - 1) < sizeof(cur)) {
                memcpy(cur, line + 1, (size_t)(rb - line - 1));
                cur[rb - line - 1] = '\0';
            }
        } else if (line[0] == ';') {
            for (size_t i = 0; i < config_keys_count && !key; i++) {
                size_t kl = strlen(config_keys[i].name);
                const char *r = line + 1 + kl;
                if (strcmp(config_keys[i].section, cur) != 0 ||
                    strncmp(line + 1, config_keys[i].name, kl) != 0)
                    continue;
                while (*r == ' ')
                    r++;
                key = shown[i] = *r == '=';
            }
        }
        sbuf_append(&out, key ? line + 1 : line, key ? len - 1 : len);
        line = end ? end + 1 : NULL;
    }
    char *s = strdup(sbuf_str(&out));
    sbuf_deinit(&out);
    return s;
}

static void test_reference_config(void **state)
{
    (void)state;
    char *text = read_source_file("configs/weft.ini");
    if (!text)
        skip();
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (!ini_mentions(text, k->section, k->name))
            fail_msg("configs/weft.ini does not mention [%s] %s", k->section, k->name);
    }

    /* The defaults it shows (commented-out keys) are the real ones. */
    bool shown[CONFIG_KEYS_MAX] = {false};
    char *live = uncomment_keys(text, shown);
    struct weft_config *cfg_shown = parse_ok(live);
    struct weft_config *def = parse_ok("");
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (shown[i] &&
            !config_value_equal(k, config_field_const(def, k), config_field_const(cfg_shown, k)))
            fail_msg("configs/weft.ini shows a wrong default for %s.%s", k->section, k->name);
    }
    config_free(cfg_shown);
    config_free(def);
    free(live);
    free(text);

    struct config_errs errs;
    struct sbuf m;
    char path[1024];
    config_errs_init(&errs);
    sbuf_init(&m);
    snprintf(path, sizeof(path), "%s/configs/weft.ini", getenv("WEFT_SOURCE_DIR"));
    struct weft_config *cfg = config_load_file(path, &errs);
    config_errs_format(&errs, &m);
    if (!cfg)
        fail_msg("configs/weft.ini does not parse:\n%s", sbuf_str(&m));
    config_free(cfg);
    sbuf_deinit(&m);
    config_errs_deinit(&errs);
}

/*
 * The commented-out examples of each [KIND NAME] section in weft.ini: from
 * the first ";[KIND ...]" to the next real section or the first
 * commented-out header of another kind, with every ";[KIND ...]" and
 * ";key =" made live. Returns the text (caller frees) or NULL; shown[k]
 * tells which keys of the kind the examples set.
 */
static char *kind_example(const char *text, const struct config_kind *kd, bool *shown)
{
    char head[64];
    snprintf(head, sizeof(head), "\n;[%s ", kd->name);
    const char *line = strstr(text, head);
    if (!line)
        return NULL;
    line++;
    struct sbuf out;
    sbuf_init(&out);
    while (line && *line && *line != '[') {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        bool live = line[0] == ';' && line[1] == '[';
        if (live && strncmp(line, head + 1, strlen(head + 1)) != 0)
            break; /* another kind's example */
        for (size_t k = 0; k < kd->nkeys && !live && line[0] == ';'; k++) {
            size_t kl = strlen(kd->keys[k].name);
            const char *r = line + 1 + kl;
            if (strncmp(line + 1, kd->keys[k].name, kl) != 0)
                continue;
            while (*r == ' ')
                r++;
            if (*r == '=')
                live = shown[k] = true;
        }
        if (live)
            sbuf_append(&out, line + 1, len - 1);
        line = end ? end + 1 : NULL;
    }
    char *s = strdup(sbuf_str(&out));
    sbuf_deinit(&out);
    return s;
}

static void check_kind_example(const char *text, const struct config_kind *kd)
{
    bool shown[CONFIG_KIND_KEYS_MAX] = {false};
    char *live = kind_example(text, kd, shown);
    if (!live)
        fail_msg("configs/weft.ini has no commented-out example ;[%s NAME]", kd->name);
    for (size_t k = 0; k < kd->nkeys; k++) {
        if (!shown[k])
            fail_msg("configs/weft.ini's ;[%s ...] example does not show %s", kd->name,
                     kd->keys[k].name);
    }
    struct weft_config *cfg = parse_ok(live);
    struct config_list *l = config_kind_list(cfg, kd);
    assert_true(l->n >= 1);
    /* Defaults: each example section again with only the keys that have
     * no default value (required, or empty = none), as shown; the others
     * must show their defaults. */
    for (size_t j = 0; j < l->n; j++) {
        const void *item = config_kind_item(kd, l, j);
        struct sbuf min;
        sbuf_init(&min);
        sbuf_printf(&min, "[%s %s]\n", kd->name, config_item_name(kd, item));
        for (size_t k = 0; k < kd->nkeys; k++) {
            if (!*kd->keys[k].def) {
                sbuf_printf(&min, "%s = ", kd->keys[k].name);
                config_value_format(&kd->keys[k], config_item_field_const(item, &kd->keys[k]),
                                    &min);
                sbuf_puts(&min, "\n");
            }
        }
        struct weft_config *def = parse_ok(sbuf_str(&min));
        void *d = config_kind_list(def, kd)->items;
        for (size_t k = 0; k < kd->nkeys; k++) {
            const struct config_key *row = &kd->keys[k];
            if (!config_value_equal(row, config_item_field_const(d, row),
                                    config_item_field_const(item, row)))
                fail_msg("configs/weft.ini shows a wrong default for [%s] %s", kd->name, row->name);
        }
        config_free(def);
        sbuf_deinit(&min);
    }
    config_free(cfg);
    free(live);
}

static void test_reference_kinds(void **state)
{
    (void)state;
    char *text = read_source_file("configs/weft.ini");
    if (!text)
        skip();
    for (size_t i = 0; i < config_kinds_count; i++)
        check_kind_example(text, &config_kinds[i]);
    free(text);
    text = read_source_file("docs/configuration.md");
    for (size_t i = 0; i < config_kinds_count; i++) {
        const struct config_kind *kd = &config_kinds[i];
        for (size_t k = 0; k < kd->nkeys; k++) {
            char needle[128];
            snprintf(needle, sizeof(needle), "`%s.%s`", kd->name, kd->keys[k].name);
            if (!strstr(text, needle))
                fail_msg("docs/configuration.md does not document %s", needle);
        }
    }
    free(text);
}

/* The rows of every kind, as test_schema_is_consistent checks the fixed ones. */
static void test_kinds_are_consistent(void **state)
{
    (void)state;
    assert_true(config_kinds_count > 0);
    for (size_t i = 0; i < config_kinds_count; i++) {
        const struct config_kind *kd = &config_kinds[i];
        assert_int_equal(config_schema_kind(kd->name), (int)i);
        assert_int_equal(config_schema_section(kd->name), -1);
        assert_true(kd->nkeys > 0 && kd->nkeys <= CONFIG_KIND_KEYS_MAX);
        assert_true(kd->max > 0);
        assert_true(kd->name_offset + sizeof(char *) <= kd->item_size);
        assert_true(kd->list_offset + sizeof(struct config_list) <= sizeof(struct weft_config));
        for (size_t k = 0; k < kd->nkeys; k++) {
            const struct config_key *row = &kd->keys[k];
            assert_string_equal(row->section, kd->name);
            assert_ptr_equal(config_kind_key(kd, row->name), row);
            assert_true(row->offset + row->size <= kd->item_size);
            assert_true(row->offset != kd->name_offset);
            assert_true(strlen(row->doc) > 10);
            if (row->type == CONFIG_T_INT)
                assert_true(row->size == 4 || row->size == 8);
            else
                assert_int_equal(row->size, config_type_size(row->type));
            if (!*row->def && row->type != CONFIG_T_DOMAINS)
                assert_non_null(row->def_doc);
            if (row->flags & CONFIG_KEY_REQUIRED)
                assert_string_equal(row->def, "");
        }
    }
}

static void test_reference_docs(void **state)
{
    (void)state;
    char *text = read_source_file("docs/configuration.md");
    if (!text)
        skip();
    for (size_t i = 0; i < config_keys_count; i++) {
        char needle[128];
        snprintf(needle, sizeof(needle), "`%s.%s`", config_keys[i].section, config_keys[i].name);
        if (!strstr(text, needle))
            fail_msg("docs/configuration.md does not document %s", needle);
    }
    free(text);
}

/*
 * configs/examples/ (every .ini): agent configs that load, and deny by default
 * wherever they open the inbound proxy (issue 6: the shipped examples do).
 */
static void test_examples(void **state)
{
    (void)state;
    const char *src = getenv("WEFT_SOURCE_DIR");
    char dir[1024], path[1400];
    size_t files = 0;
    if (!src)
        skip();
    snprintf(dir, sizeof(dir), "%s/configs/examples", src);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    for (struct dirent *de; (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".ini") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct config_errs errs;
        struct sbuf m;
        config_errs_init(&errs);
        sbuf_init(&m);
        struct weft_config *cfg = config_load_file(path, &errs);
        config_errs_format(&errs, &m);
        if (!cfg)
            fail_msg("%s does not load:\n%s", path, sbuf_str(&m));
        if (cfg->proxy.inbound && cfg->proxy.default_action != CONFIG_ACTION_DENY)
            fail_msg("%s opens [proxy] inbound without default_action = deny", path);
        round_trip(cfg);
        config_free(cfg);
        sbuf_deinit(&m);
        config_errs_deinit(&errs);
        files++;
    }
    closedir(d);
    assert_true(files >= 2);
}

int main(void)
{
    /* As cli_main does: the effective [gossip] timing is checked at load. */
    config_set_check(gossip_timing_config_check);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_is_consistent),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key_set),
        cmocka_unit_test(test_gossip_timing),
        cmocka_unit_test(test_values_good),
        cmocka_unit_test(test_values_bad),
        cmocka_unit_test(test_type_duration),
        cmocka_unit_test(test_type_size),
        cmocka_unit_test(test_type_int),
        cmocka_unit_test(test_unknown_section_and_key),
        cmocka_unit_test(test_value_starting_with_comment_char),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_line_counting),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_many_errors_one_pass),
        cmocka_unit_test(test_socket_path_length),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_errs_format),
        cmocka_unit_test(test_show),
        cmocka_unit_test(test_show_hides_secret),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_service_sections),
        cmocka_unit_test(test_service_errors),
        cmocka_unit_test(test_service_limit),
        cmocka_unit_test(test_service_show_and_reload),
        cmocka_unit_test(test_list_copy),
        cmocka_unit_test(test_proxy_section),
        cmocka_unit_test(test_upstream_sections),
        cmocka_unit_test(test_upstream_errors),
        cmocka_unit_test(test_upstream_limit),
        cmocka_unit_test(test_listen_collisions),
        cmocka_unit_test(test_upstream_show_and_reload),
        cmocka_unit_test(test_name_rule_agrees_with_spiffe),
        cmocka_unit_test(test_errs_limit),
        cmocka_unit_test(test_mesh_writers),
        cmocka_unit_test(test_reference_config),
        cmocka_unit_test(test_reference_docs),
        cmocka_unit_test(test_reference_kinds),
        cmocka_unit_test(test_kinds_are_consistent),
        cmocka_unit_test(test_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
