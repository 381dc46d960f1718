/*
 * cmd_mesh: the mesh's config objects through the running agent
 * (docs/mesh.md): `weft apply FILE`, `weft get KIND [NAME]`, `weft delete
 * KIND NAME`, `weft history [KIND [NAME]]`. The agent validates, stamps,
 * stores durably and replicates; these commands only carry text and print.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/units.h"

#include "agent/agent.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESH_FLAGS_HELP                                                                            \
    "The agent is found by --admin ADDR (a unix socket path, or host:port),\n"                     \
    "else $WEFT_ADMIN, else the [admin] socket of -c FILE, else\n"                                 \
    "./weft-data/admin.sock.\n"

const struct cli_cmd cli_cmd_apply = {
    "apply", "write config objects from an INI file to the mesh",
    "Usage: weft apply [--wait] [--timeout D] [--json] [--admin ADDR] [-c FILE] FILE\n\n"
    "Validate every object of FILE (one per section, [KIND NAME]: policy,\n"
    "upstream-defaults; docs/mesh.md) and write them through the running agent:\n"
    "all or none (a file with any error is refused whole, each error printed as\n"
    "FILE:LINE: ...). Returns once the change is durable on this node; with\n"
    "--wait, once every live member holds the same state (at most --timeout,\n"
    "default 30s). Prints one line per object: created, updated or unchanged.\n" MESH_FLAGS_HELP
    "Exit: 0 written (and converged with --wait), 1 refused or not converged\n"
    "in time, 2 usage, 3 no agent answered.\n",
    cmd_apply};

const struct cli_cmd cli_cmd_get = {
    "get", "show the mesh's config objects",
    "Usage: weft get [--json] [--admin ADDR] [-c FILE] KIND [NAME]\n\n"
    "Print the objects of KIND (or the one called NAME) as the running agent\n"
    "holds them, as INI that `weft apply` takes back; each preceded by a\n"
    "comment saying who wrote it and when.\n" MESH_FLAGS_HELP
    "Exit: 0 ok (1 if NAME does not exist), 2 usage, 3 no agent answered.\n",
    cmd_get};

const struct cli_cmd cli_cmd_delete = {
    "delete", "delete a config object from the mesh",
    "Usage: weft delete [--admin ADDR] [-c FILE] KIND NAME\n\n"
    "Delete the object (a tombstone that replicates like a write and wins over\n"
    "older writes). Returns once durable on this node.\n" MESH_FLAGS_HELP
    "Exit: 0 deleted, 1 no such object, 2 usage, 3 no agent answered.\n",
    cmd_delete};

const struct cli_cmd cli_cmd_history = {
    "history", "who changed which config object, when",
    "Usage: weft history [--limit N] [--json] [--admin ADDR] [-c FILE] [KIND [NAME]]\n\n"
    "The versions of config objects this node accepted (its own writes and\n"
    "those replicated to it), oldest first: when, the writer's identity, the\n"
    "object, and whether it was written or deleted. The newest N (default 50).\n" MESH_FLAGS_HELP
    "Exit: 0 ok, 2 usage, 3 no agent answered.\n",
    cmd_history};

/* Read a whole file (at most 1 MiB) into out. Returns 0 or -1 (printed). */
static int mesh_read_file(const char *path, struct sbuf *out)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n;
    if (!f) {
        fprintf(stderr, "weft apply: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        sbuf_append(out, buf, n);
        if (out->len > 1024 * 1024) {
            fclose(f);
            fprintf(stderr, "weft apply: %s: larger than 1 MiB\n", path);
            return -1;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || out->oom) {
        fprintf(stderr, "weft apply: %s: read error\n", path);
        return -1;
    }
    return 0;
}

static void apply_print(const struct jsonv *reply)
{
    const struct jsonv *objs = jsonv_get(reply, "objects");
    for (size_t i = 0; i < jsonv_len(objs); i++) {
        const struct jsonv *o = jsonv_at(objs, i);
        printf("%s %s: %s\n", jsonv_str(jsonv_get(o, "kind"), "?"),
               jsonv_str(jsonv_get(o, "name"), "?"), jsonv_str(jsonv_get(o, "change"), "?"));
    }
    if (jsonv_bool(jsonv_get(reply, "converged"), false)) {
        uint64_t n = jsonv_uint(jsonv_get(reply, "members"), 0);
        printf("converged: %llu member%s hold digest %s\n", (unsigned long long)n,
               n == 1 ? "" : "s", jsonv_str(jsonv_get(reply, "digest"), "?"));
    }
}

int cmd_apply(int argc, char **argv)
{
    static const struct option opts[] = {
        {"wait", no_argument, NULL, 'w'},         {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},         {"admin", required_argument, NULL, 'A'},
        {"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
    const char *admin = NULL, *cfg = NULL;
    int wait = 0, json = 0, c;
    int64_t timeout_ms = 30000;
    struct weft_err e = {{0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            wait = 1;
            break;
        case 't':
            if (units_parse_duration_ms(optarg, &timeout_ms, &e) != 0 || timeout_ms < 1 ||
                timeout_ms > 600000) {
                fprintf(stderr, "weft apply: --timeout %s: want 1ms to 10m\n", optarg);
                return WEFT_EXIT_USAGE;
            }
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
            return cli_usage(&cli_cmd_apply, 1);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(&cli_cmd_apply, 1);
    struct sbuf text, body;
    struct json_w j;
    struct cli_agent_args a = {.admin = admin, .config = cfg, .json = json};
    sbuf_init(&text);
    sbuf_init(&body);
    int rc = WEFT_EXIT_FAIL;
    if (mesh_read_file(argv[optind], &text) != 0)
        goto out;
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "file", argv[optind]);
    json_kv_str(&j, "text", sbuf_str(&text));
    if (wait)
        json_kv_int(&j, "wait_ms", timeout_ms);
    json_obj_end(&j);
    rc = cli_call_print(&a, "POST", "/v1/mesh/apply", sbuf_str(&body), wait ? timeout_ms + 5000 : 0,
                        apply_print);
out:
    sbuf_deinit(&text);
    sbuf_deinit(&body);
    return rc;
}

/* "?kind=K&name=N" into q; name may be NULL. Returns 0, or -1 (printed). */
static int mesh_query(const char *cmd, const char *kind, const char *name, char *q, size_t cap)
{
    char k[128], n[400];
    if (cli_urlencode(kind, k, sizeof(k)) != 0 ||
        (name && cli_urlencode(name, n, sizeof(n)) != 0)) {
        fprintf(stderr, "weft %s: kind or name too long\n", cmd);
        return -1;
    }
    snprintf(q, cap, "?kind=%s%s%s", k, name ? "&name=" : "", name ? n : "");
    return 0;
}

int cmd_get(int argc, char **argv)
{
    struct cli_agent_args a;
    char path[600];
    int rc = cli_agent_args_parse(&cli_cmd_get, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc && optind + 2 != argc)
        return cli_usage(&cli_cmd_get, 1);
    const char *name = optind + 2 == argc ? argv[optind + 1] : NULL;
    snprintf(path, sizeof(path), "/v1/mesh/objects");
    if (mesh_query("get", argv[optind], name, path + strlen(path), sizeof(path) - strlen(path)))
        return WEFT_EXIT_USAGE;
    struct sbuf resp;
    struct jsonv *reply = NULL;
    sbuf_init(&resp);
    rc = client_call(a.admin, a.config, "GET", path, NULL, &resp, &reply);
    if (rc == WEFT_EXIT_OK) {
        const struct jsonv *objs = jsonv_get(reply, "objects");
        if (a.json) {
            printf("%s\n", sbuf_str(&resp));
        } else {
            for (size_t i = 0; i < jsonv_len(objs); i++) {
                const struct jsonv *o = jsonv_at(objs, i);
                printf("%s; written by %s at %s\n%s", i ? "\n" : "",
                       jsonv_str(jsonv_get(o, "writer"), "?"), jsonv_str(jsonv_get(o, "at"), "?"),
                       jsonv_str(jsonv_get(o, "ini"), ""));
            }
        }
        if (name && jsonv_len(objs) == 0) {
            fprintf(stderr, "weft get: no %s %s\n", argv[optind], name);
            rc = WEFT_EXIT_FAIL;
        }
    }
    jsonv_free(reply);
    sbuf_deinit(&resp);
    return rc;
}

static void delete_print(const struct jsonv *reply)
{
    printf("%s %s: deleted\n", jsonv_str(jsonv_get(reply, "kind"), "?"),
           jsonv_str(jsonv_get(reply, "name"), "?"));
}

int cmd_delete(int argc, char **argv)
{
    struct cli_agent_args a;
    char path[600];
    int rc = cli_agent_args_parse(&cli_cmd_delete, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (optind + 2 != argc)
        return cli_usage(&cli_cmd_delete, 1);
    snprintf(path, sizeof(path), "/v1/mesh/objects");
    if (mesh_query("delete", argv[optind], argv[optind + 1], path + strlen(path),
                   sizeof(path) - strlen(path)))
        return WEFT_EXIT_USAGE;
    return cli_call_print(&a, "DELETE", path, NULL, 0, delete_print);
}

static void history_print(const struct jsonv *reply)
{
    const struct jsonv *hs = jsonv_get(reply, "history");
    if (jsonv_len(hs))
        printf("%-24s %-8s %-40s %s\n", "WHEN", "CHANGE", "OBJECT", "BY");
    for (size_t i = 0; i < jsonv_len(hs); i++) {
        const struct jsonv *h = jsonv_at(hs, i);
        char obj[200];
        snprintf(obj, sizeof(obj), "%s %s", jsonv_str(jsonv_get(h, "kind"), "?"),
                 jsonv_str(jsonv_get(h, "name"), "?"));
        printf("%-24s %-8s %-40s %s\n", jsonv_str(jsonv_get(h, "at"), "?"),
               jsonv_bool(jsonv_get(h, "deleted"), false) ? "delete" : "write", obj,
               jsonv_str(jsonv_get(h, "writer"), "?"));
    }
}

int cmd_history(int argc, char **argv)
{
    static const struct option opts[] = {{"limit", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"admin", required_argument, NULL, 'A'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *admin = NULL, *cfg = NULL;
    long limit = 50;
    int json = 0, c;
    char *end, path[700];
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            limit = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || limit < 1 || limit > 10000) {
                fprintf(stderr, "weft history: --limit %s: want 1 to 10000\n", optarg);
                return WEFT_EXIT_USAGE;
            }
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
            return cli_usage(&cli_cmd_history, 1);
        }
    }
    if (argc - optind > 2)
        return cli_usage(&cli_cmd_history, 1);
    snprintf(path, sizeof(path), "/v1/mesh/history");
    if (optind < argc) {
        if (mesh_query("history", argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL,
                       path + strlen(path), sizeof(path) - strlen(path)))
            return WEFT_EXIT_USAGE;
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "&limit=%ld", limit);
    } else {
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "?limit=%ld", limit);
    }
    struct cli_agent_args a = {.admin = admin, .config = cfg, .json = json};
    return cli_call_print(&a, "GET", path, NULL, 0, history_print);
}
