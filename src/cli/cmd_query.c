/*
 * cmd_query: `weft query` — run a Serf query through the running agent
 * (POST /v1/query): the agent gossips it, collects acks and responses until
 * the query's deadline, then answers; we print who acked and who answered.
 */
#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "core/jsonv.h"
#include "core/units.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* The agent's limit on a query's timeout (POST /v1/query, agent_serf.c). */
#define QUERY_TIMEOUT_MAX_MS 60000
/* The reply comes at the query's deadline: the client waits that long plus
 * this margin (the agent's own latency, a busy machine). Without --timeout
 * the deadline is the agent's (Serf's default, within the agent's limit). */
#define QUERY_REPLY_MARGIN_MS 5000

const struct cli_cmd cli_cmd_query = {
    "query", "run a Serf query and print the acks and responses",
    "Usage: weft query [--timeout D] [--no-ack] [--json] [--admin ADDR] [-c FILE]\n"
    "                  NAME [PAYLOAD]\n\n"
    "Send a Serf query named NAME (with an optional PAYLOAD) to every member,\n"
    "as `serf query` does, and wait until its deadline for the acks (every\n"
    "member that got it) and the responses (members whose handlers answered;\n"
    "weft agents answer the query `weft-info` with a small JSON object).\n"
    "The agent must run with [gossip] enabled.\n\n"
    "  --timeout D   the deadline (e.g. 2s, 500ms; at most 60s); default: Serf's,\n"
    "                GossipInterval * 16 * ceil(log10(members + 1))\n"
    "  --no-ack      do not ask members to ack\n"
    "  --json        print the API's JSON as it is\n"
    "  --admin ADDR, -c FILE   which agent (see weft members --help)\n"
    "Exit: 0 the query ran (even with no answer), 1 the agent refused it,\n"
    "2 usage, 3 no agent answered.\n",
    cmd_query};

static void query_print(const struct jsonv *v)
{
    const struct jsonv *acks = jsonv_get(v, "acks");
    const struct jsonv *rs = jsonv_get(v, "responses");
    for (size_t i = 0; i < jsonv_len(acks); i++)
        printf("ack from '%s'\n", jsonv_str(jsonv_at(acks, i), "?"));
    for (size_t i = 0; i < jsonv_len(rs); i++) {
        const struct jsonv *r = jsonv_at(rs, i);
        const char *pl = jsonv_str(jsonv_get(r, "payload"), NULL);
        printf("response from '%s': %s%s\n", jsonv_str(jsonv_get(r, "from"), "?"),
               pl ? pl : "base64:", pl ? "" : jsonv_str(jsonv_get(r, "payload_base64"), ""));
    }
    printf("total acks: %lld, total responses: %lld\n",
           (long long)jsonv_int(jsonv_get(v, "num_acks"), 0),
           (long long)jsonv_int(jsonv_get(v, "num_responses"), 0));
}

int cmd_query(int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'}, {"no-ack", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},          {"admin", required_argument, NULL, 'a'},
        {"config", required_argument, NULL, 'c'},  {NULL, 0, NULL, 0}};
    const char *admin = NULL, *config = NULL, *timeout = NULL;
    int json = 0, noack = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 't')
            timeout = optarg;
        else if (c == 'n')
            noack = 1;
        else if (c == 'j')
            json = 1;
        else if (c == 'a')
            admin = optarg;
        else if (c == 'c')
            config = optarg;
        else
            return cli_usage(&cli_cmd_query, 1);
    }
    if (argc - optind < 1 || argc - optind > 2 || !argv[optind][0])
        return cli_usage(&cli_cmd_query, 1);
    int64_t ms = 0;
    if (timeout) {
        struct weft_err e = {{0}};
        if (units_parse_duration_ms(timeout, &ms, &e) != 0 || ms <= 0 ||
            ms > QUERY_TIMEOUT_MAX_MS) {
            fprintf(stderr, "weft query: --timeout %s: want a duration in (0, %ds]\n", timeout,
                    QUERY_TIMEOUT_MAX_MS / 1000);
            return cli_usage(&cli_cmd_query, 1);
        }
    }
    char name[512], path[700];
    if (cli_urlencode(argv[optind], name, sizeof(name)) != 0) {
        fprintf(stderr, "weft query: name too long\n");
        return cli_usage(&cli_cmd_query, 1);
    }
    int n = snprintf(path, sizeof(path), "/v1/query?name=%s", name);
    if (ms)
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&timeout=%lldms", (long long)ms);
    if (noack)
        snprintf(path + n, sizeof(path) - (size_t)n, "&ack=0");
    const char *payload = argc - optind == 2 ? argv[optind + 1] : "";
    struct sbuf resp;
    struct jsonv *v = NULL;
    sbuf_init(&resp);
    int64_t wait = (ms ? ms : QUERY_TIMEOUT_MAX_MS) + QUERY_REPLY_MARGIN_MS;
    int rc = client_call_timeout(admin, config, "POST", path, payload, wait, &resp, &v);
    if (rc == WEFT_EXIT_OK) {
        if (json)
            fputs(sbuf_str(&resp), stdout);
        else
            query_print(v);
    }
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}
