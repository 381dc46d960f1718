/*
 * cmd_event: `weft event` and `weft events` — send a Serf user event through
 * the running agent (POST /v1/event) and list the user events and queries
 * it received (GET /v1/events). The agent must run with [gossip] enabled.
 */
#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "core/jsonv.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define AGENT_FLAGS_HELP                                                                           \
    "The agent is found by --admin ADDR (a unix socket path, or host:port),\n"                     \
    "else $WEFT_ADMIN, else the [admin] socket of -c FILE, else\n"                                 \
    "./weft-data/admin.sock.\n"

const struct cli_cmd cli_cmd_event = {
    "event", "send a Serf user event to the cluster",
    "Usage: weft event [--coalesce] [--admin ADDR] [-c FILE] NAME [PAYLOAD]\n\n"
    "Send a Serf user event named NAME (with an optional PAYLOAD) to every\n"
    "member, as `serf event` does: gossiped, deduplicated by every receiver,\n"
    "stamped with the agent's event clock. NAME and PAYLOAD together are at\n"
    "most 512 bytes (Serf's default limit).\n" AGENT_FLAGS_HELP "\n"
    "  --coalesce    let receivers coalesce events of the same name (Serf's\n"
    "                flag; serf agents' handlers honour it)\n"
    "Exit: 0 sent, 1 the agent refused it (too large, gossip off), 2 usage,\n"
    "3 no agent answered.\n",
    cmd_event};

const struct cli_cmd cli_cmd_events = {
    "events", "list the user events and queries the agent received",
    "Usage: weft events [--json] [--admin ADDR] [-c FILE]\n\n"
    "List the last 256 Serf user events and user queries the running agent\n"
    "received (its own included), oldest first: type, Lamport time, name,\n"
    "payload and, for queries, the sender.\n" AGENT_FLAGS_HELP "\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 ok, 1 the agent answered with an error, 2 usage, 3 no agent answered.\n",
    cmd_events};

/* Percent-encode s into out (query string value). Returns 0 or -1 (too long). */
int cli_urlencode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (n + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

int cmd_event(int argc, char **argv)
{
    static const struct option opts[] = {{"coalesce", no_argument, NULL, 'C'},
                                         {"admin", required_argument, NULL, 'a'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *admin = NULL, *config = NULL;
    int coalesce = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'C')
            coalesce = 1;
        else if (c == 'a')
            admin = optarg;
        else if (c == 'c')
            config = optarg;
        else
            return cli_usage(&cli_cmd_event, 1);
    }
    if (argc - optind < 1 || argc - optind > 2 || !argv[optind][0])
        return cli_usage(&cli_cmd_event, 1);
    char name[512], path[600];
    if (cli_urlencode(argv[optind], name, sizeof(name)) != 0) {
        fprintf(stderr, "weft event: name too long\n");
        return cli_usage(&cli_cmd_event, 1);
    }
    snprintf(path, sizeof(path), "/v1/event?name=%s%s", name, coalesce ? "&coalesce=1" : "");
    const char *payload = argc - optind == 2 ? argv[optind + 1] : "";
    struct sbuf resp;
    struct jsonv *v = NULL;
    sbuf_init(&resp);
    int rc = client_call(admin, config, "POST", path, payload, &resp, &v);
    if (rc == WEFT_EXIT_OK)
        printf("event '%s' sent (ltime %lld)\n", argv[optind],
               (long long)jsonv_int(jsonv_get(v, "ltime"), 0));
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}

static void events_print(const struct jsonv *v)
{
    const struct jsonv *evs = jsonv_get(v, "events");
    printf("%-19s %-5s %-8s %-24s %-16s %s\n", "TIME", "TYPE", "LTIME", "NAME", "FROM", "PAYLOAD");
    for (size_t i = 0; i < jsonv_len(evs); i++) {
        const struct jsonv *e = jsonv_at(evs, i);
        time_t t = (time_t)(jsonv_int(jsonv_get(e, "time_ms"), 0) / 1000);
        struct tm tm;
        char ts[32] = "?";
        if (gmtime_r(&t, &tm))
            strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        const char *from = jsonv_str(jsonv_get(e, "from"), "");
        const char *pl = jsonv_str(jsonv_get(e, "payload"), NULL);
        printf("%-19s %-5s %-8lld %-24s %-16s %s%s\n", ts, jsonv_str(jsonv_get(e, "type"), "?"),
               (long long)jsonv_int(jsonv_get(e, "ltime"), 0), jsonv_str(jsonv_get(e, "name"), "?"),
               from[0] ? from : "-",
               pl ? pl : "base64:", pl ? "" : jsonv_str(jsonv_get(e, "payload_base64"), ""));
    }
}

int cmd_events(int argc, char **argv)
{
    return cli_get_command(&cli_cmd_events, argc, argv, "/v1/events", events_print);
}
