/*
 * cmd_certs: `weft certs`, which certificates the running agent holds (GET
 * /v1/certs): its node and service identities with their SPIFFE IDs, serials
 * and expiry, and the trust roots. Never a key: the API has none to give.
 */
#include "cli/cli.h"

#include "core/jsonv.h"

#include <stdio.h>

const struct cli_cmd cli_cmd_certs = {
    "certs", "list the agent's certificates and when they expire",
    "Usage: weft certs [--json] [--admin ADDR] [-c FILE]\n\n"
    "Ask the running agent which certificates it holds: its node and service\n"
    "identities (SPIFFE ID, serial, expiry) and the trust roots.\n"
    "The agent is found by --admin ADDR (a unix socket path, or host:port),\n"
    "else $WEFT_ADMIN, else the [admin] socket of -c FILE, else\n"
    "./weft-data/admin.sock.\n\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 ok, 1 the agent answered with an error, 3 no agent answered.\n",
    cmd_certs};

/* "89d 23h", "expired 2d 1h ago": time left for people. */
static void certs_left(int64_t s, char *buf, size_t cap)
{
    int64_t a = s < 0 ? -s : s;
    char d[48];
    if (a >= 86400)
        snprintf(d, sizeof(d), "%lldd %lldh", (long long)(a / 86400),
                 (long long)(a % 86400 / 3600));
    else
        snprintf(d, sizeof(d), "%lldh %lldm", (long long)(a / 3600), (long long)(a % 3600 / 60));
    if (s <= 0)
        snprintf(buf, cap, "EXPIRED %s ago", d);
    else
        snprintf(buf, cap, "%s left", d);
}

static void certs_print(const struct jsonv *v)
{
    const struct jsonv *ids = jsonv_get(v, "identities");
    const struct jsonv *roots = jsonv_get(v, "trust_roots");
    char left[64];
    if (jsonv_len(ids) == 0) {
        printf("no identity: the agent has no [identity] bundle configured\n");
        return;
    }
    printf("identities (from the %s):\n", jsonv_str(jsonv_get(v, "source"), "?"));
    printf("  %-5s %-40s %-20s %-16s %s\n", "KIND", "SPIFFE ID", "NOT AFTER", "LEFT", "SERIAL");
    for (size_t i = 0; i < jsonv_len(ids); i++) {
        const struct jsonv *it = jsonv_at(ids, i);
        certs_left(jsonv_int(jsonv_get(it, "seconds_left"), 0), left, sizeof(left));
        printf("  %-5s %-40s %-20s %-16s %s\n", jsonv_str(jsonv_get(it, "kind"), "?"),
               jsonv_str(jsonv_get(it, "spiffe_id"), "?"),
               jsonv_str(jsonv_get(it, "not_after"), "?"), left,
               jsonv_str(jsonv_get(it, "serial"), "?"));
    }
    printf("trust roots:\n");
    for (size_t i = 0; i < jsonv_len(roots); i++) {
        const struct jsonv *r = jsonv_at(roots, i);
        certs_left(jsonv_int(jsonv_get(r, "seconds_left"), 0), left, sizeof(left));
        printf("  %s\n    sha256:%s, not after %s (%s)\n", jsonv_str(jsonv_get(r, "subject"), "?"),
               jsonv_str(jsonv_get(r, "fingerprint"), "?"),
               jsonv_str(jsonv_get(r, "not_after"), "?"), left);
    }
}

int cmd_certs(int argc, char **argv)
{
    return cli_get_command(&cli_cmd_certs, argc, argv, "/v1/certs", certs_print);
}
