/*
 * cmd_proxy: the data plane as the running agent sees it (GET /v1/proxy,
 * docs/proxy.md "Status and metrics"): each upstream with its counters and
 * endpoints, and the inbound's counters per service.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/jsonv.h"

#include <stdio.h>

const struct cli_cmd cli_cmd_proxy = {
    "proxy", "the data plane: upstreams, their endpoints, inbound counters",
    "Usage: weft proxy [--json] [--admin ADDR] [-c FILE]\n\n"
    "Each [upstream NAME]: what it listens on and calls, connections open and\n"
    "done, bytes, failures, and every instance it may pick (address, healthy,\n"
    "ejected, open connections). Then the inbound: connections and refusals\n"
    "per local service (policy denials, revoked callers).\n\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 ok, 1 the agent answered with an error, 2 usage, 3 no agent answered.\n",
    cmd_proxy};

static unsigned long long num(const struct jsonv *o, const char *k)
{
    return (unsigned long long)jsonv_int(jsonv_get(o, k), 0);
}

static void proxy_print(const struct jsonv *v)
{
    if (!jsonv_bool(jsonv_get(v, "enabled"), false)) {
        printf("proxy: off (no [proxy] inbound and no [upstream NAME])\n");
        return;
    }
    printf("inbound: %s (advertised %s)%s, %llu connection(s) open\n",
           jsonv_str(jsonv_get(v, "inbound"), "off"), jsonv_str(jsonv_get(v, "advertise"), "-"),
           jsonv_bool(jsonv_get(v, "draining"), false) ? ", draining" : "", num(v, "open"));
    const struct jsonv *ups = jsonv_get(v, "upstreams");
    for (size_t i = 0; i < jsonv_len(ups); i++) {
        const struct jsonv *u = jsonv_at(ups, i);
        const char *svc = jsonv_str(jsonv_get(u, "service"), NULL);
        printf("\nupstream %s: %s -> %s %s", jsonv_str(jsonv_get(u, "name"), "?"),
               jsonv_str(jsonv_get(u, "listen"), "?"), svc ? "service" : "address",
               svc ? svc : jsonv_str(jsonv_get(u, "address"), "?"));
        const char *from = jsonv_str(jsonv_get(u, "from"), NULL);
        if (svc)
            printf(" (as %s, lb %s)", from ? from : "the node", jsonv_str(jsonv_get(u, "lb"), "?"));
        printf("\n");
        printf("  active %llu  pending %llu  opened %llu  closed %llu  bytes in %llu out %llu\n",
               num(u, "active"), num(u, "pending"), num(u, "opened"), num(u, "closed"),
               num(u, "bytes_in"), num(u, "bytes_out"));
        printf("  connect failures %llu  timeouts %llu  retries %llu  no endpoint %llu  "
               "overflow %llu  ejections %llu\n",
               num(u, "connect_failures"), num(u, "timeouts"), num(u, "retries"),
               num(u, "no_endpoint"), num(u, "overflow"), num(u, "ejections"));
        const struct jsonv *eps = jsonv_get(u, "endpoints");
        for (size_t k = 0; k < jsonv_len(eps); k++) {
            const struct jsonv *e = jsonv_at(eps, k);
            printf("  - %-32s %-22s %-9s %s active %llu\n", jsonv_str(jsonv_get(e, "key"), "?"),
                   jsonv_str(jsonv_get(e, "address"), "?"),
                   jsonv_bool(jsonv_get(e, "healthy"), false) ? "healthy" : "unhealthy",
                   jsonv_bool(jsonv_get(e, "ejected"), false) ? "ejected" : "in rotation",
                   num(e, "active"));
        }
    }
    const struct jsonv *ins = jsonv_get(v, "inbound_services");
    if (jsonv_len(ins))
        printf("\n%-20s %8s %8s %8s %8s %8s\n", "INBOUND SERVICE", "ACTIVE", "OPENED", "DENIED",
               "REVOKED", "FAILED");
    for (size_t i = 0; i < jsonv_len(ins); i++) {
        const struct jsonv *s = jsonv_at(ins, i);
        printf("%-20s %8llu %8llu %8llu %8llu %8llu\n", jsonv_str(jsonv_get(s, "service"), "?"),
               num(s, "active"), num(s, "opened"), num(s, "denied"), num(s, "revoked"),
               num(s, "connect_failures"));
    }
}

int cmd_proxy(int argc, char **argv)
{
    return cli_get_command(&cli_cmd_proxy, argc, argv, "/v1/proxy", proxy_print);
}
