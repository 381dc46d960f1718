#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "core/jsonv.h"
#include "core/units.h"

#include <getopt.h>
#include <stdio.h>

const struct cli_cmd cli_cmd_status = {
    "status", "ask a running agent how it is",
    "Usage: weft status [--json] [--admin ADDR] [-c FILE]\n\n"
    "Ask the running agent for its status over the admin API.\n"
    "The agent is found by --admin ADDR (a unix socket path, or host:port),\n"
    "else $WEFT_ADMIN, else the [admin] socket of -c FILE, else\n"
    "./weft-data/admin.sock.\n\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 ok, 1 the agent answered with an error, 3 no agent answered.\n",
    cmd_status};

static void status_print(const struct jsonv *v)
{
    char up[64], size[64];
    units_format_duration(jsonv_int(jsonv_get(v, "uptime_ms"), 0) / 1000 * 1000, up, sizeof(up));
    units_format_size((uint64_t)jsonv_int(jsonv_path(v, "store.size_bytes"), 0), size,
                      sizeof(size));
    printf("node:       %s (id %s)\n", jsonv_str(jsonv_get(v, "node"), "?"),
           jsonv_str(jsonv_get(v, "node_id"), "?"));
    printf("trust:      %s\n", jsonv_str(jsonv_get(v, "trust_domain"), "?"));
    printf("version:    %s (revision %s)\n", jsonv_str(jsonv_get(v, "version"), "?"),
           jsonv_str(jsonv_get(v, "revision"), "?"));
    printf("pid:        %lld, up %s, boot #%lld, ready in %.1f ms\n",
           (long long)jsonv_int(jsonv_get(v, "pid"), 0), up,
           (long long)jsonv_int(jsonv_get(v, "boot_count"), 0),
           (double)jsonv_int(jsonv_get(v, "ready_us"), 0) / 1000.0);
    printf("config:     %s (%lld reloads, %lld refused)\n",
           jsonv_str(jsonv_path(v, "config.source"), "?"),
           (long long)jsonv_int(jsonv_path(v, "config.reloads"), 0),
           (long long)jsonv_int(jsonv_path(v, "config.reload_failures"), 0));
    const char *lre = jsonv_str(jsonv_path(v, "config.last_reload_error"), NULL);
    if (lre)
        printf("            last refused reload:\n%s\n", lre);
    printf("store:      %s (schema %lld, %s)\n", jsonv_str(jsonv_path(v, "store.path"), "?"),
           (long long)jsonv_int(jsonv_path(v, "store.schema_version"), 0), size);
    const char *listen = jsonv_str(jsonv_path(v, "admin.listen"), NULL);
    printf("admin:      %s%s%s (%lld requests, %lld errors)\n",
           jsonv_str(jsonv_path(v, "admin.socket"), "?"), listen ? " and " : "",
           listen ? listen : "", (long long)jsonv_int(jsonv_path(v, "admin.requests"), 0),
           (long long)jsonv_int(jsonv_path(v, "admin.errors"), 0));
    printf("log:        %s, %s\n", jsonv_str(jsonv_path(v, "log.level"), "?"),
           jsonv_str(jsonv_path(v, "log.format"), "?"));
}

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"admin", required_argument, NULL, 'a'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *admin = NULL, *config = NULL;
    int json = 0, c, status = 0;
    char target[512];
    struct weft_err e = {{0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'a')
            admin = optarg;
        else if (c == 'c')
            config = optarg;
        else
            return cli_usage(&cli_cmd_status, 1);
    }
    if (optind != argc)
        return cli_usage(&cli_cmd_status, 1);
    if (client_target(admin, config, target, sizeof(target), &e) != 0) {
        fprintf(stderr, "weft: %s\n", e.msg);
        return WEFT_EXIT_FAIL;
    }
    struct sbuf resp;
    sbuf_init(&resp);
    if (client_request(target, "GET", "/v1/status", NULL, &status, &resp, &e) != 0) {
        fprintf(stderr, "weft: %s\n", e.msg);
        sbuf_deinit(&resp);
        return WEFT_EXIT_UNREACHABLE;
    }
    int rc = WEFT_EXIT_OK;
    struct jsonv *v = jsonv_parse(sbuf_str(&resp), resp.len, &e);
    if (status != 200) {
        fprintf(stderr, "weft: the agent answered %d: %s\n", status,
                v ? jsonv_str(jsonv_get(v, "error"), sbuf_str(&resp)) : sbuf_str(&resp));
        rc = WEFT_EXIT_FAIL;
    } else if (json) {
        fputs(sbuf_str(&resp), stdout);
    } else if (!v) {
        fprintf(stderr, "weft: unreadable reply from the agent: %s\n", e.msg);
        rc = WEFT_EXIT_FAIL;
    } else {
        status_print(v);
    }
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}
