/*
 * cmd_ping: `weft ping HOST:PORT` — one mTLS round trip from the running
 * agent to another agent's control listener (POST /v1/control/ping): the
 * agent connects with its node certificate, checks the peer's chain against
 * its trust roots and its node SPIFFE ID, and calls `ping`. A diagnostic
 * for trust between two nodes (and the probe of the root rotation test).
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/json.h"
#include "core/jsonv.h"

#include "agent/agent.h"

#include <getopt.h>
#include <stdio.h>

const struct cli_cmd cli_cmd_ping = {
    "ping", "mTLS round trip to another agent's control listener",
    "Usage: weft ping [--json] [--admin ADDR] [-c FILE] HOST:PORT\n\n"
    "Ask the running agent to call `ping` on the control listener ([control]\n"
    "listen) at HOST:PORT over mutual TLS with its node certificate: the peer\n"
    "must present a node certificate that chains to this node's trust roots,\n"
    "and must accept ours. Prints the peer's SPIFFE ID and\n"
    "the round-trip time including the handshake.\n\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 the peer answered, 1 it did not (the reason is printed), 2 usage,\n"
    "3 no agent answered.\n",
    cmd_ping};

static void ping_print(const struct jsonv *v)
{
    printf("pong from %s (%s) in %.1f ms\n", jsonv_str(jsonv_get(v, "peer"), "?"),
           jsonv_str(jsonv_get(v, "addr"), "?"), (double)jsonv_int(jsonv_get(v, "us"), 0) / 1000.0);
}

int cmd_ping(int argc, char **argv)
{
    struct cli_agent_args a;
    int rc = cli_agent_args_parse(&cli_cmd_ping, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc)
        return cli_usage(&cli_cmd_ping, 1);
    struct sbuf body;
    struct json_w j;
    sbuf_init(&body);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "addr", argv[optind]);
    json_obj_end(&j);
    rc = cli_call_print(&a, "POST", "/v1/control/ping", sbuf_str(&body), 0, ping_print);
    sbuf_deinit(&body);
    return rc;
}
