/*
 * test_policy: mesh_policy_decide() (src/mesh/policy.c) as a decision
 * table: for each (caller ID, service), the action and the policy that
 * decided, over policies parsed from INI text the way `weft apply` reads
 * them. The rule is in policy.h: matching policies by priority, deny wins
 * ties, then [policy default], then allow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mesh/object.h"
#include "mesh/policy.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TD "plant.example"

static void load(const char *text, struct mesh_obj_file *f, const struct mesh_obj **ptrs)
{
    struct config_errs errs;
    config_errs_init(&errs);
    if (mesh_obj_parse("p.ini", text, f, &errs) != 0)
        fail_msg("policies refused: %s", errs.n ? errs.lines[0] : "?");
    config_errs_deinit(&errs);
    for (size_t i = 0; i < f->n; i++)
        ptrs[i] = &f->objs[i];
}

struct row {
    const char *caller;
    const char *service;
    enum mesh_action want;
    const char *by; /* NULL: no object decided */
};

static void check_rows(const struct mesh_obj *const *objs, size_t n, const struct row *rows,
                       size_t nrows)
{
    for (size_t i = 0; i < nrows; i++) {
        struct mesh_policy_decision d;
        memset(&d, 0xA5, sizeof(d));
        mesh_policy_decide(objs, n, TD, rows[i].caller, rows[i].service, &d);
        const char *by = d.by ? d.by->name : NULL;
        if (d.action != rows[i].want ||
            (rows[i].by ? !by || strcmp(by, rows[i].by) != 0 : by != NULL))
            fail_msg("row %zu: %s -> %s: got %s by %s, want %s by %s", i, rows[i].caller,
                     rows[i].service, mesh_action_name(d.action), by ? by : "(none)",
                     mesh_action_name(rows[i].want), rows[i].by ? rows[i].by : "(none)");
    }
}

static const char *const policies = "[policy default]\n"
                                    "action = deny\n"
                                    "[policy a-sensors]\n"
                                    "action = allow\n"
                                    "from = sensors, dashboard\n"
                                    "to = inventory\n"
                                    "[policy b-no-gw02]\n"
                                    "action = deny\n"
                                    "from = spiffe://" TD "/node/gw-02\n"
                                    "to = *\n"
                                    "[policy c-metrics-allow]\n"
                                    "action = allow\n"
                                    "from = *\n"
                                    "to = metrics\n"
                                    "priority = 50\n"
                                    "[policy d-metrics-deny]\n"
                                    "action = deny\n"
                                    "from = *\n"
                                    "to = metrics\n"
                                    "priority = 50\n"
                                    "[policy e-legacy-metrics]\n"
                                    "action = allow\n"
                                    "from = legacy\n"
                                    "to = metrics\n"
                                    "priority = 200\n"
                                    "[policy f-low]\n"
                                    "action = allow\n"
                                    "from = spiffe://" TD "/node/gw-01\n"
                                    "to = config\n"
                                    "priority = 0\n"
                                    "[policy g-dashboard-out]\n"
                                    "action = deny\n"
                                    "from = dashboard\n"
                                    "to = inventory\n"
                                    "priority = 100\n"
                                    "[upstream-defaults *]\n"
                                    "lb = p2c\n";

static void test_decision_table(void **state)
{
    (void)state;
    struct mesh_obj_file f;
    const struct mesh_obj *objs[16];
    load(policies, &f, objs);
    static const struct row rows[] = {
        /* a bare name matches the service identity of our trust domain */
        {"spiffe://" TD "/svc/sensors", "inventory", MESH_ACTION_ALLOW, "a-sensors"},
        /* ... only of our trust domain, only a service, only that name */
        {"spiffe://other.example/svc/sensors", "inventory", MESH_ACTION_DENY, "default"},
        {"spiffe://" TD "/node/sensors", "inventory", MESH_ACTION_DENY, "default"},
        {"spiffe://" TD "/svc/sensors2", "inventory", MESH_ACTION_DENY, "default"},
        {"spiffe://" TD "/svc/sensor", "inventory", MESH_ACTION_DENY, "default"},
        {"spiffe://" TD ".evil/svc/sensors", "inventory", MESH_ACTION_DENY, "default"},
        /* to must match as well */
        {"spiffe://" TD "/svc/sensors", "billing", MESH_ACTION_DENY, "default"},
        /* equal priority: deny (g) beats allow (a) */
        {"spiffe://" TD "/svc/dashboard", "inventory", MESH_ACTION_DENY, "g-dashboard-out"},
        /* a full node ID, to = * */
        {"spiffe://" TD "/node/gw-02", "inventory", MESH_ACTION_DENY, "b-no-gw02"},
        {"spiffe://" TD "/node/gw-02", "anything", MESH_ACTION_DENY, "b-no-gw02"},
        /* from = *: equal priority, deny wins */
        {"spiffe://" TD "/svc/sensors", "metrics", MESH_ACTION_DENY, "d-metrics-deny"},
        /* a higher priority allow beats them */
        {"spiffe://" TD "/svc/legacy", "metrics", MESH_ACTION_ALLOW, "e-legacy-metrics"},
        /* priority 0 still beats the default: the default is only for no match */
        {"spiffe://" TD "/node/gw-01", "config", MESH_ACTION_ALLOW, "f-low"},
        {"spiffe://" TD "/node/gw-01", "inventory", MESH_ACTION_DENY, "default"},
        /* a full ID matches exactly, never by prefix */
        {"spiffe://" TD "/node/gw-01x", "config", MESH_ACTION_DENY, "default"},
    };
    check_rows(objs, f.n, rows, ARRAY_LEN(rows));

    /* The order of the objects does not matter. */
    const struct mesh_obj *rev[16];
    for (size_t i = 0; i < f.n; i++)
        rev[i] = objs[f.n - 1 - i];
    check_rows(rev, f.n, rows, ARRAY_LEN(rows));
    mesh_obj_file_deinit(&f);
}

static void test_no_default(void **state)
{
    (void)state;
    struct mesh_obj_file f;
    const struct mesh_obj *objs[4];
    load("[policy deny-x]\naction = deny\nfrom = x\nto = *\n"
         "[policy allow-y]\naction = allow\nfrom = y\nto = z\n",
         &f, objs);
    static const struct row rows[] = {
        {"spiffe://" TD "/svc/x", "z", MESH_ACTION_DENY, "deny-x"},
        {"spiffe://" TD "/svc/y", "z", MESH_ACTION_ALLOW, "allow-y"},
        /* nothing matches, no [policy default]: allow, decided by nobody */
        {"spiffe://" TD "/svc/w", "z", MESH_ACTION_ALLOW, NULL},
    };
    check_rows(objs, f.n, rows, ARRAY_LEN(rows));
    /* No objects at all; NULL entries are skipped. */
    struct mesh_policy_decision d;
    mesh_policy_decide(NULL, 0, TD, "spiffe://" TD "/svc/w", "z", &d);
    assert_int_equal(d.action, MESH_ACTION_ALLOW);
    assert_null(d.by);
    const struct mesh_obj *holes[] = {NULL, objs[0], NULL};
    mesh_policy_decide(holes, 3, TD, "spiffe://" TD "/svc/x", "z", &d);
    assert_int_equal(d.action, MESH_ACTION_DENY);
    assert_ptr_equal(d.by, objs[0]);
    mesh_obj_file_deinit(&f);

    /* An allowing default. */
    load("[policy default]\naction = allow\n", &f, objs);
    mesh_policy_decide(objs, f.n, TD, "spiffe://" TD "/svc/w", "z", &d);
    assert_int_equal(d.action, MESH_ACTION_ALLOW);
    assert_ptr_equal(d.by, objs[0]);
    mesh_obj_file_deinit(&f);
}

/* Same priority, same action: the smaller name is reported. */
static void test_ties(void **state)
{
    (void)state;
    struct mesh_obj_file f;
    const struct mesh_obj *objs[4];
    load("[policy zz]\naction = allow\nfrom = *\nto = s\n"
         "[policy aa]\naction = allow\nfrom = a\nto = *\n"
         "[policy mm]\naction = allow\nfrom = a\nto = s\npriority = 99\n",
         &f, objs);
    static const struct row rows[] = {
        {"spiffe://" TD "/svc/a", "s", MESH_ACTION_ALLOW, "aa"},
        {"spiffe://" TD "/svc/b", "s", MESH_ACTION_ALLOW, "zz"},
    };
    check_rows(objs, f.n, rows, ARRAY_LEN(rows));
    const struct mesh_obj *rev[] = {objs[2], objs[1], objs[0]};
    check_rows(rev, 3, rows, ARRAY_LEN(rows));
    mesh_obj_file_deinit(&f);
}

static void test_matches(void **state)
{
    (void)state;
    struct mesh_obj_file f;
    const struct mesh_obj *objs[4];
    load("[policy default]\naction = deny\n"
         "[policy p]\naction = allow\nfrom = a\nto = s\n"
         "[upstream-defaults s]\nlb = random\n",
         &f, objs);
    const char *a = "spiffe://" TD "/svc/a";
    assert_false(mesh_policy_matches(objs[0], TD, a, "s")); /* the default never "matches" */
    assert_true(mesh_policy_matches(objs[1], TD, a, "s"));
    assert_false(mesh_policy_matches(objs[1], TD, a, "t"));
    assert_false(mesh_policy_matches(objs[1], NULL, a, "s")); /* no trust domain: no bare names */
    assert_false(mesh_policy_matches(objs[1], TD, NULL, "s"));
    assert_false(mesh_policy_matches(objs[1], TD, a, NULL));
    assert_false(mesh_policy_matches(objs[2], TD, a, "s")); /* another kind */
    assert_string_equal(mesh_action_name(MESH_ACTION_ALLOW), "allow");
    assert_string_equal(mesh_action_name(MESH_ACTION_DENY), "deny");
    mesh_obj_file_deinit(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_no_default),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
