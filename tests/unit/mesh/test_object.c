/*
 * test_object: config objects (src/mesh/object.c, policy.c,
 * upstream_defaults.c): every kind and key, every error with its line,
 * canonical bodies (equal for equivalent input), render -> parse round
 * trips, bodies from the store, the limits, the upstream-defaults cascade,
 * and configs/mesh-example.ini (through WEFT_SOURCE_DIR).
 *
 * Errors are compared whole: "FILE:LINE: [KIND NAME] key: message" is the
 * contract with `weft apply` users.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "mesh/object.h"
#include "mesh/policy.h"
#include "mesh/record.h"
#include "mesh/upstream_defaults.h"
#include "pki/spiffe.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ----------------------------------------------------------- */

static void parse_ok(const char *text, struct mesh_obj_file *f)
{
    struct config_errs errs;
    config_errs_init(&errs);
    if (mesh_obj_parse("o.ini", text, f, &errs) != 0) {
        struct sbuf m;
        sbuf_init(&m);
        config_errs_format(&errs, &m);
        fail_msg("unexpected errors for:\n%s\n---\n%s", text, sbuf_str(&m));
    }
    assert_int_equal(errs.n, 0);
    config_errs_deinit(&errs);
}

/* Parse must fail with exactly these error lines, in this order. */
static void expect_errors(const char *text, const char *const *want, size_t n)
{
    struct config_errs errs;
    struct mesh_obj_file f;
    struct sbuf m;
    config_errs_init(&errs);
    sbuf_init(&m);
    int rc = mesh_obj_parse("o.ini", text, &f, &errs);
    config_errs_format(&errs, &m);
    if (rc == 0)
        fail_msg("parsed but should not have:\n%s", text);
    assert_null(f.objs);
    assert_int_equal(f.n, 0);
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

/* The body of the only object of a one-object text (heap copy). */
static char *body_of(const char *text)
{
    struct mesh_obj_file f;
    parse_ok(text, &f);
    assert_int_equal(f.n, 1);
    char *b = strdup(f.objs[0].body);
    mesh_obj_file_deinit(&f);
    return b;
}

static void assert_same_body(const char *a, const char *b)
{
    char *ba = body_of(a), *bb = body_of(b);
    if (strcmp(ba, bb) != 0)
        fail_msg("bodies differ:\n%s---\n%s", ba, bb);
    free(ba);
    free(bb);
}

/* render -> parse gives the same objects and bodies; from_body too. */
static void round_trip(const struct mesh_obj_file *f)
{
    struct sbuf all;
    struct mesh_obj_file g;
    sbuf_init(&all);
    for (size_t i = 0; i < f->n; i++) {
        if (i)
            sbuf_puts(&all, "\n");
        mesh_obj_render(&f->objs[i], &all);
    }
    parse_ok(sbuf_str(&all), &g);
    assert_int_equal(g.n, f->n);
    for (size_t i = 0; i < f->n; i++) {
        const struct mesh_obj *a = &f->objs[i], *b = &g.objs[i];
        assert_int_equal(a->kind, b->kind);
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->body_len, b->body_len);
        assert_string_equal(a->body, b->body);
        assert_int_equal(strlen(a->body), a->body_len);

        struct mesh_obj o;
        struct weft_err e;
        err_clear(&e);
        if (mesh_obj_from_body(mesh_obj_kind_name(a->kind), a->name, a->body, a->body_len, &o,
                               &e) != 0)
            fail_msg("from_body refuses its own body: %s\n%s", e.msg, a->body);
        assert_int_equal(o.line, 0);
        assert_string_equal(o.body, a->body);
        mesh_obj_deinit(&o);
    }
    mesh_obj_file_deinit(&g);
    sbuf_deinit(&all);
}

static char *fill(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- kinds ------------------------------------------------------------- */

static void test_policy_objects(void **state)
{
    (void)state;
    struct mesh_obj_file f;
    parse_ok("; mesh policies\n"
             "[policy default]\n"
             "action = deny\n"
             "\n"
             "[policy sensors-to-inventory]\n"
             "action = allow\n"
             "from = sensors, spiffe://plant.example/node/gw-01 ; a node too\n"
             "to = inventory\n"
             "\n"
             "[policy no-legacy]\n"
             "to = *\n"
             "priority = 1000\n"
             "from = spiffe://plant.example/svc/legacy\n"
             "action = deny\n",
             &f);
    assert_int_equal(f.n, 3);
    const struct mesh_obj *d = &f.objs[0], *a = &f.objs[1], *n = &f.objs[2];
    assert_int_equal(d->kind, MESH_OBJ_POLICY);
    assert_string_equal(d->name, "default");
    assert_int_equal(d->line, 2);
    assert_true(mesh_policy_is_default(d));
    assert_int_equal(d->u.policy.action, MESH_ACTION_DENY);
    assert_string_equal(d->body, "action = deny\n");

    assert_false(mesh_policy_is_default(a));
    assert_int_equal(a->line, 5);
    assert_int_equal(a->u.policy.action, MESH_ACTION_ALLOW);
    assert_int_equal(a->u.policy.priority, MESH_POLICY_PRIORITY_DEFAULT);
    assert_int_equal(a->u.policy.n_from, 2);
    assert_string_equal(a->u.policy.from[0], "sensors");
    assert_string_equal(a->u.policy.from[1], "spiffe://plant.example/node/gw-01");
    assert_int_equal(a->u.policy.n_to, 1);
    assert_string_equal(a->u.policy.to[0], "inventory");
    assert_string_equal(a->body, "action = allow\n"
                                 "from = sensors, spiffe://plant.example/node/gw-01\n"
                                 "to = inventory\n"
                                 "priority = 100\n");
    /* Keys in any order: the body has the fixed order. */
    assert_string_equal(n->body, "action = deny\n"
                                 "from = spiffe://plant.example/svc/legacy\n"
                                 "to = *\n"
                                 "priority = 1000\n");
    round_trip(&f);
    mesh_obj_file_deinit(&f);
}

static void test_upstream_defaults_objects(void **state)
{
    (void)state;
    struct mesh_obj_file f;
    parse_ok("[upstream-defaults *]\n"
             "connect_timeout = 2000ms\n"
             "lb = least_conn\n"
             "[upstream-defaults inventory]\n"
             "max_connections = 64\n"
             "max_pending = 0\n"
             "connect_retries = 5\n"
             "idle_timeout = 90m\n"
             "lb = p2c\n"
             "connect_timeout = 10ms\n"
             "[upstream-defaults batch]\n"
             "idle_timeout = 0\n",
             &f);
    assert_int_equal(f.n, 3);
    const struct mesh_upstream_defaults *any = &f.objs[0].u.upstream;
    assert_string_equal(f.objs[0].name, "*");
    assert_int_equal(any->set, (1u << MESH_UD_CONNECT_TIMEOUT) | (1u << MESH_UD_LB));
    assert_int_equal(any->connect_timeout_ms, 2000);
    assert_int_equal(any->lb, MESH_LB_LEAST_CONN);
    assert_string_equal(f.objs[0].body, "connect_timeout = 2s\nlb = least_conn\n");
    assert_string_equal(f.objs[1].body, "connect_timeout = 10ms\n"
                                        "idle_timeout = 1h30m\n"
                                        "lb = p2c\n"
                                        "max_connections = 64\n"
                                        "max_pending = 0\n"
                                        "connect_retries = 5\n");
    assert_string_equal(f.objs[2].body, "idle_timeout = 0\n");
    round_trip(&f);

    /* The cascade: built-in < [upstream-defaults *] < the service's own. */
    const struct mesh_obj *objs[] = {&f.objs[1], &f.objs[0], &f.objs[2]};
    struct mesh_upstream_defaults u;
    mesh_upstream_defaults_resolve(objs, ARRAY_LEN(objs), "inventory", &u);
    assert_int_equal(u.connect_timeout_ms, 10);
    assert_int_equal(u.idle_timeout_ms, 90 * 60 * 1000);
    assert_int_equal(u.lb, MESH_LB_P2C);
    assert_int_equal(u.max_connections, 64);
    assert_int_equal(u.max_pending, 0);
    assert_int_equal(u.connect_retries, 5);
    mesh_upstream_defaults_resolve(objs, ARRAY_LEN(objs), "batch", &u);
    assert_int_equal(u.connect_timeout_ms, 2000); /* from * */
    assert_int_equal(u.lb, MESH_LB_LEAST_CONN);   /* from * */
    assert_int_equal(u.idle_timeout_ms, 0);       /* its own: never */
    assert_int_equal(u.max_connections, 1024);    /* built-in */
    assert_int_equal(u.connect_retries, 1);
    mesh_upstream_defaults_resolve(objs, ARRAY_LEN(objs), "other", &u);
    assert_int_equal(u.connect_timeout_ms, 2000);
    assert_int_equal(u.idle_timeout_ms, 3600 * 1000);
    mesh_upstream_defaults_resolve(NULL, 0, "other", &u);
    struct mesh_upstream_defaults b;
    mesh_upstream_defaults_builtin(&b);
    assert_memory_equal(&u, &b, sizeof(u));
    assert_int_equal(b.connect_timeout_ms, 5000);
    assert_int_equal(b.idle_timeout_ms, 3600 * 1000);
    assert_int_equal(b.lb, MESH_LB_ROUND_ROBIN);
    assert_string_equal(mesh_lb_name(MESH_LB_RANDOM), "random");
    mesh_obj_file_deinit(&f);
}

/* Equivalent input, equal bytes: what replication compares. */
static void test_canonical_bodies(void **state)
{
    (void)state;
    assert_same_body("[upstream-defaults *]\nconnect_timeout = 5s\n",
                     "[upstream-defaults *]\nconnect_timeout = 5000ms\n");
    assert_same_body("[upstream-defaults x]\nidle_timeout = 1h30m\nlb = random\n",
                     "[upstream-defaults x]\r\nlb: random\r\n  idle_timeout=90m ; comment\r\n");
    assert_same_body("[policy p]\naction = allow\nfrom = b, a\nto = c\n",
                     "[policy p]\nto=c\npriority = 100\nfrom=a,b\naction=allow\n");
    assert_same_body("[policy p]\naction = allow\nfrom = *\nto = *\npriority = 007\n",
                     "[ policy  p ]\naction = allow\nfrom =  *\nto = *\npriority = 7\n");
    /* ... and different content, different bytes. */
    char *a = body_of("[policy p]\naction = allow\nfrom = a\nto = b\n");
    char *b = body_of("[policy p]\naction = allow\nfrom = a\nto = b\npriority = 101\n");
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    /* An inherited key and the same value set explicitly are different objects. */
    a = body_of("[upstream-defaults x]\nlb = random\n");
    b = body_of("[upstream-defaults x]\nlb = random\nconnect_timeout = 5s\n");
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

/* A list whose ", " form would be longer than a line: written compactly. */
static void test_long_list_body(void **state)
{
    (void)state;
    struct sbuf text;
    struct mesh_obj_file f;
    sbuf_init(&text);
    sbuf_puts(&text, "[policy many]\naction = allow\nto = x\nfrom=");
    for (int i = 0; i < 60; i++)
        sbuf_printf(&text, "%s%c%c", i ? "," : "", 'a' + i / 26, 'a' + i % 26);
    sbuf_puts(&text, "\n");
    parse_ok(sbuf_str(&text), &f);
    assert_int_equal(f.objs[0].u.policy.n_from, 60);
    assert_non_null(strstr(f.objs[0].body, "\nfrom = aa,ab,ac,"));
    round_trip(&f);
    mesh_obj_file_deinit(&f);
    /* A short list keeps the spaced form. */
    char *b = body_of("[policy few]\naction = allow\nto = x\nfrom=b,a\n");
    assert_non_null(strstr(b, "\nfrom = a, b\n"));
    free(b);
    sbuf_deinit(&text);
}

/* ---- errors ------------------------------------------------------------ */

static void test_structure_errors(void **state)
{
    (void)state;
    expect_error("[route r]\nx = 1\n",
                 "o.ini:1: [route r]: unknown kind (known: policy, upstream-defaults)");
    expect_error("[policy]\naction = allow\n", "o.ini:1: [policy]: needs a name: [policy NAME]");
    expect_error("[policy -x]\naction = allow\n",
                 "o.ini:1: [policy -x]: '-x' must start with a letter or a digit");
    expect_error("[policy *]\naction = allow\n",
                 "o.ini:1: [policy *]: '*' must start with a letter or a digit");
    expect_error("[upstream-defaults a..b]\nlb = p2c\n",
                 "o.ini:1: [upstream-defaults a..b]: 'a..b' must not contain '..' (or '*' for "
                 "every service)");
    expect_error("[policy a]\naction = allow\nfrom = *\nto = *\n\n[policy a]\naction = deny\n",
                 "o.ini:6: [policy a]: duplicate object (first at line 1)");
    /* The same name in two kinds is two objects. */
    struct mesh_obj_file f;
    parse_ok("[policy web]\naction = deny\nfrom = *\nto = web\n[upstream-defaults web]\nlb = "
             "random\n",
             &f);
    assert_int_equal(f.n, 2);
    mesh_obj_file_deinit(&f);
    /* Syntax, from config/inifile.c. */
    expect_error("action = allow\n[policy a]\naction = allow\nfrom = *\nto = *\n",
                 "o.ini:1: syntax error: 'action' comes before any [section]");
    expect_error("[policy a\n", "o.ini:1: syntax error: missing ']' in section header");
    expect_error("[policy a]\naction allow\naction = deny\nfrom = *\nto = *\n",
                 "o.ini:2: syntax error: 'action allow' is not 'key = value', '[section]' or a "
                 "comment");
    char big[300], text[400];
    snprintf(text, sizeof(text), "[policy a]\naction = allow\nfrom = %s\nto = *\n",
             fill(big, 'f', 200));
    /* The lost line's key is then missing, too. */
    const char *const lost[] = {"o.ini:3: line too long (max 197 bytes)",
                                "o.ini:1: [policy a] from: missing (required)"};
    expect_errors(text, lost, 2);
    /* Nothing at all is refused too: `weft apply` of an empty file is a mistake. */
    expect_error("; nothing\n", "o.ini: no objects (expected [KIND NAME] sections)");
}

static void test_key_errors(void **state)
{
    (void)state;
    const char *const want[] = {
        "o.ini:2: [policy p] action: 'permit' is not one of: allow, deny",
        "o.ini:3: [policy p] colour: unknown key (keys: action, from, to, priority)",
        "o.ini:4: [policy p] priority: '1001' is out of range (0..1000)",
        "o.ini:5: [policy p] priority: duplicate key (first set at line 4)",
        "o.ini:6: [policy p] from: 'a' is listed twice",
        "o.ini:7: [policy p] to: 'to' names services, not IDs",
        "o.ini:9: [policy default] from: [policy default] holds only action (the mesh's "
        "default)",
        "o.ini:11: [upstream-defaults *] connect_timeout: '5': missing or unknown unit",
        "o.ini:12: [upstream-defaults *] idle_timeout: '500ms' is out of range (0 = never, or "
        "1s..30d)",
        "o.ini:13: [upstream-defaults *] lb: 'fastest' is not one of: round_robin, least_conn, "
        "random, p2c",
        "o.ini:14: [upstream-defaults *] max_connections: '0' is out of range (1..1000000)",
        "o.ini:15: [upstream-defaults *] max_pending: 'many' is not an integer",
        "o.ini:16: [upstream-defaults *] connect_retries: '6' is out of range (0..5)",
        "o.ini:17: [upstream-defaults *] connect_timeout: duplicate key (first set at line 11)",
        "o.ini:18: [upstream-defaults *] from: unknown key (keys: connect_timeout, "
        "idle_timeout, lb, max_connections, max_pending, connect_retries)",
        "o.ini:8: [policy default] action: missing (required)",
    };
    struct config_errs errs;
    struct mesh_obj_file f;
    config_errs_init(&errs);
    const char *text = "[policy p]\n"            /* 1 */
                       "action = permit\n"       /* 2 */
                       "colour = red\n"          /* 3 */
                       "priority = 1001\n"       /* 4 */
                       "priority = 1\n"          /* 5 */
                       "from = a, b, a\n"        /* 6 */
                       "to = spiffe://x/svc/y\n" /* 7 */
                       "[policy default]\n"      /* 8 */
                       "from = *\n"              /* 9 */
                       "[upstream-defaults *]\n" /* 10 */
                       "connect_timeout = 5\n"   /* 11 */
                       "idle_timeout = 500ms\n"  /* 12 */
                       "lb = fastest\n"          /* 13 */
                       "max_connections = 0\n"   /* 14 */
                       "max_pending = many\n"    /* 15 */
                       "connect_retries = 6\n"   /* 16 */
                       "connect_timeout = 1s\n"  /* 17 */
                       "from = *\n";             /* 18 */
    assert_int_equal(mesh_obj_parse("o.ini", text, &f, &errs), -1);
    if (errs.n != ARRAY_LEN(want)) {
        struct sbuf m;
        sbuf_init(&m);
        config_errs_format(&errs, &m);
        fail_msg("want %zu errors, got %zu:\n%s", ARRAY_LEN(want), errs.n, sbuf_str(&m));
    }
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        /* core/units' wording is its own: match the part that is ours. */
        if (strstr(want[i], "unknown unit"))
            assert_true(strncmp(errs.lines[i], want[i], strlen(want[i])) == 0);
        else
            assert_string_equal(errs.lines[i], want[i]);
    }
    config_errs_deinit(&errs);
}

static void test_value_errors(void **state)
{
    (void)state;
    /* Required keys: reported on the header's line. */
    const char *const missing[] = {"o.ini:2: [policy p] action: missing (required)",
                                   "o.ini:2: [policy p] to: missing (required)"};
    expect_errors("\n[policy p]\nfrom = *\n", missing, 2);
    expect_error("[upstream-defaults x]\n",
                 "o.ini:1: [upstream-defaults x]: sets no key (connect_timeout, idle_timeout, lb, "
                 "max_connections, max_pending, connect_retries)");
    /* Empty values and misplaced comments. */
    expect_error("[policy p]\naction =\nfrom = *\nto = *\n",
                 "o.ini:2: [policy p] action: empty value (leave the key out for its default)");
    expect_error("[policy p]\naction = allow;x\nfrom = *\nto = *\n",
                 "o.ini:2: [policy p] action: 'allow;x' is not one of: allow, deny (a comment "
                 "needs a blank before ';')");
    /* Lists. */
    expect_error("[policy p]\naction = allow\nfrom = a,,b\nto = *\n",
                 "o.ini:3: [policy p] from: empty entry in the list");
    expect_error("[policy p]\naction = allow\nfrom = *, a\nto = *\n",
                 "o.ini:3: [policy p] from: '*' (everyone) must stand alone");
    expect_error("[policy p]\naction = allow\nfrom = a b\nto = *\n",
                 "o.ini:3: [policy p] from: 'a b' contains ' ' (allowed: A-Z a-z 0-9 . _ -)");
    expect_error("[policy p]\naction = allow\nfrom = a\nto = b..c\n",
                 "o.ini:4: [policy p] to: 'b..c' must not contain '..'");
    expect_error("[policy p]\naction = allow\nfrom = spiffe://Plant/svc/a\nto = *\n",
                 "o.ini:3: [policy p] from: 'spiffe://Plant/svc/a': 'Plant' must be lowercase");
    expect_error("[policy p]\naction = allow\nfrom = spiffe://plant/ns/a\nto = *\n",
                 "o.ini:3: [policy p] from: 'spiffe://plant/ns/a' is not "
                 "spiffe://TRUST-DOMAIN/svc/NAME or /node/NAME");
    expect_error("[policy p]\naction = allow\nfrom = spiffe://plant/svc/a/b\nto = *\n",
                 "o.ini:3: [policy p] from: 'spiffe://plant/svc/a/b': 'a/b' contains '/' "
                 "(allowed: A-Z a-z 0-9 . _ -)");
    expect_error("[policy p]\naction = allow\nfrom = spiffe://plant\nto = *\n",
                 "o.ini:3: [policy p] from: 'spiffe://plant' is not "
                 "spiffe://TRUST-DOMAIN/svc/NAME or /node/NAME");
    struct sbuf text;
    sbuf_init(&text);
    sbuf_puts(&text, "[policy p]\naction = allow\nto = *\nfrom=");
    for (int i = 0; i < MESH_POLICY_LIST_MAX + 1; i++)
        sbuf_printf(&text, "%s%c", i ? "," : "", 'A' + i % 26 + (i >= 26 ? 32 : 0));
    sbuf_puts(&text, "\n");
    /* 65 one-letter names repeat letters: the count is checked first. */
    expect_error(sbuf_str(&text), "o.ini:4: [policy p] from: more than 64 entries");
    sbuf_deinit(&text);
    /* Bytes that are not printable never reach a message raw. */
    struct config_errs errs;
    struct mesh_obj_file f;
    config_errs_init(&errs);
    assert_int_equal(mesh_obj_parse("o.ini", "[policy a\x1b[2J]\naction = allow\n", &f, &errs), -1);
    assert_int_equal(errs.n, 1);
    assert_null(strchr(errs.lines[0], '\x1b'));
    assert_non_null(strstr(errs.lines[0], "\\x1b"));
    config_errs_deinit(&errs);
}

/* Every error is collected, up to MESH_OBJ_ERRS_MAX, then counted. */
static void test_error_cap(void **state)
{
    (void)state;
    struct sbuf text, m;
    struct config_errs errs;
    struct mesh_obj_file f;
    sbuf_init(&text);
    sbuf_init(&m);
    config_errs_init(&errs);
    for (int i = 0; i < 150; i++)
        sbuf_printf(&text, "[policy p%d]\naction = maybe\nfrom = *\nto = *\n", i);
    assert_int_equal(mesh_obj_parse("o.ini", sbuf_str(&text), &f, &errs), -1);
    assert_int_equal(errs.n, MESH_OBJ_ERRS_MAX);
    assert_int_equal(errs.dropped, 150 - MESH_OBJ_ERRS_MAX);
    assert_string_equal(errs.lines[99], "o.ini:398: [policy p99] action: 'maybe' is not one of: "
                                        "allow, deny");
    config_errs_format(&errs, &m);
    assert_non_null(strstr(sbuf_str(&m), "\n(50 more errors not shown)\n"));
    config_errs_deinit(&errs);
    sbuf_deinit(&m);
    sbuf_deinit(&text);
}

static void test_object_limit(void **state)
{
    (void)state;
    struct sbuf text;
    struct mesh_obj_file f;
    sbuf_init(&text);
    for (int i = 0; i < MESH_OBJ_FILE_MAX; i++)
        sbuf_printf(&text, "[upstream-defaults s%d]\nmax_connections = %d\n", i, i + 1);
    parse_ok(sbuf_str(&text), &f);
    assert_int_equal(f.n, MESH_OBJ_FILE_MAX);
    assert_int_equal(f.objs[MESH_OBJ_FILE_MAX - 1].u.upstream.max_connections, MESH_OBJ_FILE_MAX);
    mesh_obj_file_deinit(&f);
    mesh_obj_file_deinit(&f); /* safe twice */
    sbuf_puts(&text, "[policy one-more]\naction = deny\nfrom = *\nto = *\n");
    char want[128];
    snprintf(want, sizeof(want), "o.ini:%d: [policy one-more]: more than %d objects in one file",
             2 * MESH_OBJ_FILE_MAX + 1, MESH_OBJ_FILE_MAX);
    expect_error(sbuf_str(&text), want);
    sbuf_deinit(&text);
}

/* ---- bodies from the store --------------------------------------------- */

static void test_from_body(void **state)
{
    (void)state;
    struct mesh_obj o;
    struct weft_err e;
    const char *b = "action = allow\nfrom = a\nto = b\npriority = 100\n";
    assert_int_equal(mesh_obj_from_body("policy", "p", b, strlen(b), &o, &e), 0);
    assert_int_equal(o.kind, MESH_OBJ_POLICY);
    assert_string_equal(o.name, "p");
    assert_string_equal(o.body, b);
    struct sbuf r;
    sbuf_init(&r);
    mesh_obj_render(&o, &r);
    assert_string_equal(sbuf_str(&r), "[policy p]\naction = allow\nfrom = a\nto = b\n"
                                      "priority = 100\n");
    sbuf_deinit(&r);
    mesh_obj_deinit(&o);
    mesh_obj_deinit(&o); /* safe twice */

    /* A body that is valid but not canonical: o.body is the canonical one. */
    const char *loose = "to=b\nfrom=a\naction=allow\n";
    assert_int_equal(mesh_obj_from_body("policy", "p", loose, strlen(loose), &o, &e), 0);
    assert_string_equal(o.body, b);
    mesh_obj_deinit(&o);
    const char *star = "lb = p2c\n";
    assert_int_equal(mesh_obj_from_body("upstream-defaults", "*", star, strlen(star), &o, &e), 0);
    assert_string_equal(o.name, "*");
    mesh_obj_deinit(&o);

    /* Refusals, each with a message. */
    assert_int_equal(mesh_obj_from_body("route", "p", b, strlen(b), &o, &e), -1);
    assert_string_equal(e.msg, "unknown kind 'route'");
    assert_int_equal(mesh_obj_from_body("policy", "a]\n[policy b", b, strlen(b), &o, &e), -1);
    assert_int_equal(mesh_obj_from_body("policy", "*", b, strlen(b), &o, &e), -1);
    assert_int_equal(mesh_obj_from_body("policy", NULL, b, strlen(b), &o, &e), -1);
    const char *two = "action = allow\nfrom = a\nto = b\n[policy q]\naction = deny\n";
    assert_int_equal(mesh_obj_from_body("policy", "p", two, strlen(two), &o, &e), -1);
    assert_string_equal(e.msg, "<body>:5: [policy q]: a body holds no section header");
    const char *bad = "action = allow\nfrom = a\n";
    assert_int_equal(mesh_obj_from_body("policy", "p", bad, strlen(bad), &o, &e), -1);
    assert_string_equal(e.msg, "<body>:1: [policy p] to: missing (required)");
    assert_int_equal(mesh_obj_from_body("policy", "p", "action = allow\0x", 16, &o, &e), -1);
    assert_string_equal(e.msg, "[policy p]: body holds a NUL byte");
    char *huge = malloc(MESH_OBJ_BODY_MAX + 2);
    fill(huge, ';', MESH_OBJ_BODY_MAX + 1);
    assert_int_equal(mesh_obj_from_body("policy", "p", huge, MESH_OBJ_BODY_MAX + 1, &o, &e), -1);
    assert_string_equal(e.msg, "[policy p]: body of 16385 bytes is over 16384");
    free(huge);
    assert_null(o.body);
}

/* Object bodies fit the replicated records (helper A's mesh/record.h). */
static void test_fits_records(void **state)
{
    (void)state;
    assert_int_equal(MESH_OBJ_BODY_MAX, MESH_BODY_MAX);
    struct weft_err e;
    for (int k = 0; k < MESH_OBJ_KIND_COUNT; k++)
        assert_int_equal(mesh_kind_check(mesh_obj_kind_name((enum mesh_obj_kind)k), &e), 0);
    assert_int_equal(mesh_name_check("allow-sensors.v2_x", &e), 0);
    enum mesh_obj_kind k;
    assert_int_equal(mesh_obj_kind_parse("upstream-defaults", &k), 0);
    assert_int_equal(k, MESH_OBJ_UPSTREAM_DEFAULTS);
    assert_int_equal(mesh_obj_kind_parse("Policy", &k), -1);
    assert_string_equal(mesh_obj_kind_name(MESH_OBJ_KIND_COUNT), "?");
}

/* A full ID in `from` is accepted exactly when pki/spiffe.c parses it. */
static void test_ids_agree_with_pki(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "spiffe://plant.example/svc/inventory",
        "spiffe://plant.example/node/gw-01",
        "spiffe://a/svc/b",
        "spiffe://Plant/svc/a",
        "spiffe://plant/ns/a",
        "spiffe://plant/svc/",
        "spiffe://plant/svc/a/b",
        "spiffe://plant/svc/a..b",
        "spiffe://plant//svc/a",
        "spiffe://-plant/svc/a",
        "spiffe://plant.example:443/svc/a",
        "spiffe://plant/node/-a",
        "spiffe://plant/svc/a%20b",
        "spiffe:///svc/a",
        "spiffe://plant",
    };
    for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
        struct weft_err e;
        struct spiffe_id id;
        char text[256];
        struct config_errs errs;
        struct mesh_obj_file f;
        bool pki = spiffe_id_parse(ids[i], strlen(ids[i]), &id, &e) == 0;
        snprintf(text, sizeof(text), "[policy p]\naction = allow\nto = *\nfrom = %s\n", ids[i]);
        config_errs_init(&errs);
        bool ours = mesh_obj_parse("o.ini", text, &f, &errs) == 0;
        if (pki != ours)
            fail_msg("'%s': pki %s it, policy %s it", ids[i], pki ? "accepts" : "refuses",
                     ours ? "accepts" : "refuses");
        mesh_obj_file_deinit(&f);
        config_errs_deinit(&errs);
    }
}

/* ---- files ------------------------------------------------------------- */

static void test_load_file(void **state)
{
    (void)state;
    struct config_errs errs;
    struct mesh_obj_file f;
    config_errs_init(&errs);
    assert_int_equal(mesh_obj_load_file("/nonexistent/o.ini", &f, &errs), -1);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.lines[0], "/nonexistent/o.ini: cannot open: No such file or "
                                       "directory");
    config_errs_deinit(&errs);

    char path[] = "/tmp/test_object_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs("[policy p]\naction = allow\nfrom = *\n", fp);
    fclose(fp);
    assert_int_equal(mesh_obj_load_file(path, &f, &errs), -1);
    char want[128];
    snprintf(want, sizeof(want), "%s:1: [policy p] to: missing (required)", path);
    assert_string_equal(errs.lines[0], want);
    config_errs_deinit(&errs);
    unlink(path);
}

/* configs/mesh-example.ini: valid, denies by default, allows some. */
static void test_example_file(void **state)
{
    (void)state;
    const char *dir = getenv("WEFT_SOURCE_DIR");
    char path[1024];
    struct config_errs errs;
    struct mesh_obj_file f;
    if (!dir)
        skip();
    snprintf(path, sizeof(path), "%s/configs/mesh-example.ini", dir);
    config_errs_init(&errs);
    if (mesh_obj_load_file(path, &f, &errs) != 0) {
        struct sbuf m;
        sbuf_init(&m);
        config_errs_format(&errs, &m);
        fail_msg("configs/mesh-example.ini is refused:\n%s", sbuf_str(&m));
    }
    const struct mesh_obj *objs[MESH_OBJ_FILE_MAX];
    bool deny_default = false, allows = false, upstream = false;
    for (size_t i = 0; i < f.n; i++) {
        objs[i] = &f.objs[i];
        if (mesh_policy_is_default(&f.objs[i]))
            deny_default = f.objs[i].u.policy.action == MESH_ACTION_DENY;
        else if (f.objs[i].kind == MESH_OBJ_POLICY)
            allows |= f.objs[i].u.policy.action == MESH_ACTION_ALLOW;
        else
            upstream = true;
    }
    assert_true(deny_default);
    assert_true(allows);
    assert_true(upstream);
    /* Someone not named by any allow is denied by the default. */
    struct mesh_policy_decision d;
    mesh_policy_decide(objs, f.n, "plant.example", "spiffe://plant.example/svc/stranger",
                       "inventory", &d);
    assert_int_equal(d.action, MESH_ACTION_DENY);
    assert_non_null(d.by);
    assert_true(mesh_policy_is_default(d.by));
    round_trip(&f);
    mesh_obj_file_deinit(&f);
    config_errs_deinit(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_objects),   cmocka_unit_test(test_upstream_defaults_objects),
        cmocka_unit_test(test_canonical_bodies), cmocka_unit_test(test_long_list_body),
        cmocka_unit_test(test_structure_errors), cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_value_errors),     cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_object_limit),     cmocka_unit_test(test_from_body),
        cmocka_unit_test(test_fits_records),     cmocka_unit_test(test_ids_agree_with_pki),
        cmocka_unit_test(test_load_file),        cmocka_unit_test(test_example_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
