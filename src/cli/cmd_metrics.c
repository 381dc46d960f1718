/*
 * cmd_metrics: `weft metrics`, the running agent's counters as Prometheus
 * text (GET /metrics, docs/metrics.md), printed as the agent wrote them:
 * the same text a Prometheus server scrapes, for people and for scripts.
 */
#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "core/jsonv.h"

#include <getopt.h>
#include <stdio.h>

const struct cli_cmd cli_cmd_metrics = {
    "metrics", "print the agent's metrics (Prometheus text)",
    "Usage: weft metrics [--admin ADDR] [-c FILE]\n\n"
    "Print the running agent's counters and gauges in the Prometheus text\n"
    "format (version 0.0.4), as GET /metrics serves them; docs/metrics.md\n"
    "lists every family.\n"
    "The agent is found by --admin ADDR (a unix socket path, or host:port),\n"
    "else $WEFT_ADMIN, else the [admin] socket of -c FILE, else\n"
    "./weft-data/admin.sock.\n\n"
    "Exit: 0 ok, 1 the agent answered with an error, 3 no agent answered.\n",
    cmd_metrics};

int cmd_metrics(int argc, char **argv)
{
    struct cli_agent_args a;
    char target[512];
    struct weft_err e = {{0}};
    struct sbuf resp;
    int status = 0, rc;
    if ((rc = cli_agent_args_parse(&cli_cmd_metrics, argc, argv, &a)) >= 0)
        return rc;
    if (optind != argc)
        return cli_usage(&cli_cmd_metrics, 1);
    if (client_target(a.admin, a.config, target, sizeof(target), &e) != 0) {
        fprintf(stderr, "weft: %s\n", e.msg);
        return WEFT_EXIT_FAIL;
    }
    sbuf_init(&resp);
    if (client_request(target, "GET", "/metrics", NULL, CLIENT_TIMEOUT_MS, &status, &resp, &e) !=
        0) {
        fprintf(stderr, "weft: %s\n", e.msg);
        sbuf_deinit(&resp);
        return WEFT_EXIT_UNREACHABLE;
    }
    rc = WEFT_EXIT_OK;
    if (status != 200) {
        /* Errors are JSON: {"error": "..."}. */
        struct jsonv *v = jsonv_parse(sbuf_str(&resp), resp.len, &e);
        fprintf(stderr, "weft: the agent answered %d: %s\n", status,
                v ? jsonv_str(jsonv_get(v, "error"), sbuf_str(&resp)) : sbuf_str(&resp));
        jsonv_free(v);
        rc = WEFT_EXIT_FAIL;
    } else if (fwrite(resp.data ? resp.data : "", 1, resp.len, stdout) != resp.len ||
               fflush(stdout) != 0) {
        fprintf(stderr, "weft: writing the metrics failed\n");
        rc = WEFT_EXIT_FAIL;
    }
    sbuf_deinit(&resp);
    return rc;
}
