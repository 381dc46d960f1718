#include "cli/cli.h"

#include "core/jsonv.h"
#include "core/units.h"

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

/* "41.2 KiB": sizes for people, one decimal. */
static void status_human_size(int64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%lld B", (long long)bytes);
    else
        snprintf(buf, cap, "%.1f %s", v, units[u]);
}

static void status_print(const struct jsonv *v)
{
    char up[64], size[64];
    int64_t up_ms = jsonv_int(jsonv_get(v, "uptime_ms"), 0);
    /* Whole seconds once past one; "0" reads oddly for a fresh agent. */
    units_format_duration(up_ms >= 1000 ? up_ms / 1000 * 1000 : up_ms, up, sizeof(up));
    status_human_size(jsonv_int(jsonv_path(v, "store.size_bytes"), 0), size, sizeof(size));
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
    const struct jsonv *id = jsonv_get(v, "identity");
    if (id && jsonv_type(id) == JSONV_OBJECT) {
        int64_t left = jsonv_int(jsonv_get(id, "soonest_seconds_left"), 0);
        char in[64];
        units_format_duration(left > 0 ? left / 60 * 60000 : 0, in, sizeof(in));
        printf("identity:   %s (%lld services, %lld expired; soonest expiry %s, %s %s)\n",
               jsonv_str(jsonv_get(id, "node"), "?"),
               (long long)jsonv_int(jsonv_get(id, "services"), 0),
               (long long)jsonv_int(jsonv_get(id, "expired"), 0),
               jsonv_str(jsonv_get(id, "soonest_not_after"), "?"), left > 0 ? "in" : "expired",
               left > 0 ? in : "");
    } else {
        printf("identity:   none ([identity] bundle not set)\n");
    }
    printf("log:        %s, %s\n", jsonv_str(jsonv_path(v, "log.level"), "?"),
           jsonv_str(jsonv_path(v, "log.format"), "?"));
}

int cmd_status(int argc, char **argv)
{
    return cli_get_command(&cli_cmd_status, argc, argv, "/v1/status", status_print);
}
