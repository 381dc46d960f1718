/*
 * cmd_ca_rotate: `weft ca rotate status|add|activate|retire`, root rotation,
 * and `weft ca revoke|unrevoke --node NAME` (POST /v1/ca/revoke),
 * through the running agent that holds the CA (GET /v1/ca/rotation, POST
 * /v1/ca/rotate; agent/agent_rotate.c). The steps and their gates are in
 * docs/identity.md "Root rotation".
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/json.h"
#include "core/jsonv.h"

#include "agent/agent.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The role of fp among the reply's roots ("active", "next", "previous"), or NULL. */
static const char *rot_role(const struct jsonv *roots, const char *fp)
{
    for (size_t i = 0; i < jsonv_len(roots); i++)
        if (strcmp(jsonv_str(jsonv_get(jsonv_at(roots, i), "fingerprint"), ""), fp) == 0)
            return jsonv_str(jsonv_get(jsonv_at(roots, i), "role"), "?");
    return NULL;
}

/* A list of fingerprints as roles ("active,next"), unknown ones as 12 hex digits. */
static void rot_print_fps(const struct jsonv *roots, const struct jsonv *fps, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < jsonv_len(fps); i++) {
        const char *fp = jsonv_str(jsonv_at(fps, i), "");
        const char *role = rot_role(roots, fp);
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s%.*s", i ? "," : "", role ? role : "", role ? 0 : 12,
                 fp);
    }
    if (!out[0])
        snprintf(out, cap, "-");
}

static void rot_print(const struct jsonv *v)
{
    const struct jsonv *roots = jsonv_get(v, "roots"), *nodes = jsonv_get(v, "nodes");
    char a[200], b[200];
    printf("phase: %s (next step: %s)\n", jsonv_str(jsonv_get(v, "phase"), "?"),
           jsonv_str(jsonv_get(v, "next_step"), "?"));
    printf("roots:\n");
    for (size_t i = 0; i < jsonv_len(roots); i++) {
        const struct jsonv *r = jsonv_at(roots, i);
        printf("  %-9s %s  %s  until %s\n", jsonv_str(jsonv_get(r, "role"), "?"),
               jsonv_str(jsonv_get(r, "fingerprint"), "?"), jsonv_str(jsonv_get(r, "subject"), "?"),
               jsonv_str(jsonv_get(r, "not_after"), "?"));
    }
    printf("nodes: %zu, waiting for %llu\n", jsonv_len(nodes),
           (unsigned long long)jsonv_uint(jsonv_get(v, "waiting_for"), 0));
    if (jsonv_len(nodes))
        printf("  %-24s %-21s %-22s %-22s %s\n", "NODE", "LAST CHECK-IN", "TRUSTS", "ISSUED BY",
               "READY");
    for (size_t i = 0; i < jsonv_len(nodes); i++) {
        const struct jsonv *n = jsonv_at(nodes, i);
        rot_print_fps(roots, jsonv_get(n, "trusts"), a, sizeof(a));
        rot_print_fps(roots, jsonv_get(n, "issued_by"), b, sizeof(b));
        printf("  %-24s %-21s %-22s %-22s %s\n", jsonv_str(jsonv_get(n, "node"), "?"),
               jsonv_str(jsonv_get(n, "seen"), "never"), a, b,
               jsonv_bool(jsonv_get(n, "ready"), false) ? "yes" : "no");
    }
}

int cmd_ca_rotate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"days", required_argument, NULL, 'd'},   {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},         {"admin", required_argument, NULL, 'A'},
        {"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
    const char *admin = NULL, *cfg = NULL;
    long days = 3650;
    int force = 0, json = 0, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            days = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || days < 1 || days > 36500) {
                fprintf(stderr, "weft ca rotate: --days '%s': want 1 to 36500\n", optarg);
                return WEFT_EXIT_USAGE;
            }
            break;
        case 'f':
            force = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'A':
            admin = optarg;
            break;
        case 'c':
            cfg = optarg;
            break;
        default:
            return cli_usage(&cli_cmd_ca, 1);
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "weft ca rotate: want one of status, add, activate, retire\n");
        return cli_usage(&cli_cmd_ca, 1);
    }
    const char *step = argv[optind];
    bool status = strcmp(step, "status") == 0;
    if (!status && strcmp(step, "add") != 0 && strcmp(step, "activate") != 0 &&
        strcmp(step, "retire") != 0) {
        fprintf(stderr, "weft ca rotate: unknown step '%s'\n", step);
        return cli_usage(&cli_cmd_ca, 1);
    }
    struct sbuf body;
    struct json_w j;
    struct cli_agent_args a = {.admin = admin, .config = cfg, .json = json};
    sbuf_init(&body);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "step", step);
    json_kv_int(&j, "days", days);
    json_kv_bool(&j, "force", force);
    json_obj_end(&j);
    int rc = status ? cli_call_print(&a, "GET", "/v1/ca/rotation", NULL, 0, rot_print)
                    : cli_call_print(&a, "POST", "/v1/ca/rotate", sbuf_str(&body), 0, rot_print);
    sbuf_deinit(&body);
    return rc;
}

static void revoke_print(const struct jsonv *v)
{
    printf("node %s: %s\n", jsonv_str(jsonv_get(v, "node"), "?"),
           jsonv_bool(jsonv_get(v, "revoked"), false) ? "revoked" : "no longer revoked");
}

int cmd_ca_revoke(int argc, char **argv, bool revoked)
{
    static const struct option opts[] = {
        {"node", required_argument, NULL, 'n'},   {"reason", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},         {"admin", required_argument, NULL, 'A'},
        {"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
    struct cli_agent_args a = {0};
    const char *node = NULL, *reason = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'n')
            node = optarg;
        else if (c == 'r')
            reason = optarg;
        else if (c == 'j')
            a.json = 1;
        else if (c == 'A')
            a.admin = optarg;
        else if (c == 'c')
            a.config = optarg;
        else
            return cli_usage(&cli_cmd_ca, 1);
    }
    if (!node || optind != argc) {
        fprintf(stderr, "weft ca %s: --node is required\n", revoked ? "revoke" : "unrevoke");
        return cli_usage(&cli_cmd_ca, 1);
    }
    struct sbuf body;
    struct json_w j;
    sbuf_init(&body);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "node", node);
    json_kv_str(&j, "reason", reason);
    json_kv_bool(&j, "revoked", revoked);
    json_obj_end(&j);
    int rc = cli_call_print(&a, "POST", "/v1/ca/revoke", sbuf_str(&body), 0, revoke_print);
    sbuf_deinit(&body);
    return rc;
}
