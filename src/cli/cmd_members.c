/*
 * cmd_members: `weft members`, `weft join`, `weft leave` — the gossip
 * cluster as the running agent sees it, over the admin API (/v1/members,
 * /v1/join, /v1/leave). The agent must run with [gossip] enabled = true.
 */
#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "core/jsonv.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define AGENT_FLAGS_HELP                                                                           \
    "The agent is found by --admin ADDR (a unix socket path, or host:port),\n"                     \
    "else $WEFT_ADMIN, else the [admin] socket of -c FILE, else\n"                                 \
    "./weft-data/admin.sock.\n"

const struct cli_cmd cli_cmd_members = {
    "members", "list the gossip cluster's members",
    "Usage: weft members [--status S] [--json] [--admin ADDR] [-c FILE]\n\n"
    "List the members of the gossip cluster as the running agent sees them:\n"
    "name, address, status (alive, suspect, failed, left) and Serf tags.\n" AGENT_FLAGS_HELP "\n"
    "  --status S    only members with status S\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 ok, 1 the agent answered with an error (e.g. gossip is off), 3 no agent answered.\n",
    cmd_members};

const struct cli_cmd cli_cmd_join = {
    "join", "join the gossip cluster through members",
    "Usage: weft join [--admin ADDR] [-c FILE] IP:PORT...\n\n"
    "Ask the running agent to join the cluster through these members (a\n"
    "push/pull with each; IP addresses only).\n" AGENT_FLAGS_HELP "\n"
    "Exit: 0 asked, 1 the agent answered with an error, 2 usage, 3 no agent answered.\n",
    cmd_join};

const struct cli_cmd cli_cmd_leave = {
    "leave", "leave the gossip cluster gracefully and stop the agent",
    "Usage: weft leave [--admin ADDR] [-c FILE]\n\n"
    "Ask the running agent to leave the cluster gracefully (members see it\n"
    "\"left\", not \"failed\"); the agent then exits with status 0.\n" AGENT_FLAGS_HELP "\n"
    "Exit: 0 leaving, 1 the agent answered with an error, 3 no agent answered.\n",
    cmd_leave};

/* The shared flags; returns 0, or the usage exit code. */
static int parse_flags(int argc, char **argv, const struct cli_cmd *cmd, const char **admin,
                       const char **config, int *json, const char **status)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"status", required_argument, NULL, 's'},
                                         {"admin", required_argument, NULL, 'a'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'j' && json)
            *json = 1;
        else if (c == 's' && status)
            *status = optarg;
        else if (c == 'a')
            *admin = optarg;
        else if (c == 'c')
            *config = optarg;
        else
            return cli_usage(cmd, 1);
    }
    return 0;
}

static void members_print(const struct jsonv *v, const char *status)
{
    const struct jsonv *ms = jsonv_get(v, "members");
    printf("%-24s %-22s %-8s %s\n", "NAME", "ADDRESS", "STATUS", "TAGS");
    for (size_t i = 0; i < jsonv_len(ms); i++) {
        const struct jsonv *m = jsonv_at(ms, i);
        const char *st = jsonv_str(jsonv_get(m, "status"), "?");
        if (status && strcmp(status, st) != 0)
            continue;
        char addr[96];
        snprintf(addr, sizeof(addr), "%s:%lld", jsonv_str(jsonv_get(m, "addr"), "?"),
                 (long long)jsonv_int(jsonv_get(m, "port"), 0));
        printf("%-24s %-22s %-8s ", jsonv_str(jsonv_get(m, "name"), "?"), addr, st);
        const struct jsonv *tags = jsonv_get(m, "tags");
        for (size_t t = 0; t < jsonv_len(tags); t++)
            printf("%s%s=%s", t ? "," : "", jsonv_key_at(tags, t),
                   jsonv_str(jsonv_at(tags, t), ""));
        printf("\n");
    }
}

int cmd_members(int argc, char **argv)
{
    const char *admin = NULL, *config = NULL, *status = NULL;
    int json = 0;
    int rc = parse_flags(argc, argv, &cli_cmd_members, &admin, &config, &json, &status);
    if (rc)
        return rc;
    if (optind != argc)
        return cli_usage(&cli_cmd_members, 1);
    if (status && strcmp(status, "alive") != 0 && strcmp(status, "suspect") != 0 &&
        strcmp(status, "failed") != 0 && strcmp(status, "left") != 0) {
        fprintf(stderr, "weft members: --status is alive, suspect, failed or left\n");
        return cli_usage(&cli_cmd_members, 1);
    }
    struct sbuf resp;
    struct jsonv *v = NULL;
    sbuf_init(&resp);
    rc = client_call(admin, config, "GET", "/v1/members", NULL, &resp, &v);
    if (rc == WEFT_EXIT_OK) {
        if (json)
            fputs(sbuf_str(&resp), stdout);
        else
            members_print(v, status);
    }
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}

int cmd_join(int argc, char **argv)
{
    const char *admin = NULL, *config = NULL;
    int rc = parse_flags(argc, argv, &cli_cmd_join, &admin, &config, NULL, NULL);
    if (rc)
        return rc;
    if (optind == argc)
        return cli_usage(&cli_cmd_join, 1);
    char path[2048];
    size_t n = (size_t)snprintf(path, sizeof(path), "/v1/join?addrs=");
    /* Addresses are IP:port or [v6]:port: nothing a query string must escape. */
    for (int i = optind; i < argc && n < sizeof(path); i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "%s%s", i > optind ? "," : "", argv[i]);
    if (n >= sizeof(path)) {
        fprintf(stderr, "weft join: too many addresses\n");
        return cli_usage(&cli_cmd_join, 1);
    }
    struct sbuf resp;
    struct jsonv *v = NULL;
    sbuf_init(&resp);
    rc = client_call(admin, config, "POST", path, NULL, &resp, &v);
    if (rc == WEFT_EXIT_OK)
        printf("joining through %lld member(s)\n",
               (long long)jsonv_int(jsonv_get(v, "joining"), 0));
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}

int cmd_leave(int argc, char **argv)
{
    const char *admin = NULL, *config = NULL;
    int rc = parse_flags(argc, argv, &cli_cmd_leave, &admin, &config, NULL, NULL);
    if (rc)
        return rc;
    if (optind != argc)
        return cli_usage(&cli_cmd_leave, 1);
    struct sbuf resp;
    struct jsonv *v = NULL;
    sbuf_init(&resp);
    rc = client_call(admin, config, "POST", "/v1/leave", NULL, &resp, &v);
    if (rc == WEFT_EXIT_OK)
        printf("leaving the cluster; the agent stops once the leave has been gossiped\n");
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}
