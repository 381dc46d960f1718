#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "config/config.h"
#include "core/jsonv.h"
#include "gossip/gossip_timing.h"

#include <getopt.h>

#include <stdio.h>
#include <string.h>

/* In the order `weft --help` lists them. */
// clang-format off
static const struct cli_cmd *const commands[] = {
    &cli_cmd_agent,
    &cli_cmd_status,
    &cli_cmd_members,
    &cli_cmd_join,
    &cli_cmd_leave,
    &cli_cmd_event,
    &cli_cmd_events,
    &cli_cmd_query,
    &cli_cmd_keyring,
    &cli_cmd_keygen,
    &cli_cmd_certs,
    &cli_cmd_metrics,
    &cli_cmd_ping,
    &cli_cmd_apply,
    &cli_cmd_get,
    &cli_cmd_delete,
    &cli_cmd_history,
    &cli_cmd_services,
    &cli_cmd_proxy,
    &cli_cmd_service,
    &cli_cmd_config,
    &cli_cmd_ca,
    &cli_cmd_version,
};
// clang-format on
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void cli_print_overview(FILE *f)
{
    fprintf(f, "weft: a service mesh for edge machines, in one binary.\n\n"
               "Usage: weft COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n`weft COMMAND --help` for each command's options.\n"
               "Exit codes: 0 ok, 1 failure (or invalid config), 2 usage error,\n"
               "3 no agent answered on the admin socket.\n");
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int cli_usage(const struct cli_cmd *cmd, int to_stderr)
{
    fputs(cmd->usage, to_stderr ? stderr : stdout);
    return to_stderr ? WEFT_EXIT_USAGE : WEFT_EXIT_OK;
}

int cli_main(int argc, char **argv)
{
    /* Every config load (agent, config check, show) checks the effective
     * [gossip] timing: the profile with the file's overrides. */
    config_set_check(gossip_timing_config_check);
    if (argc < 2) {
        cli_print_overview(stderr);
        return WEFT_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc >= 3) {
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (strcmp(argv[2], commands[i]->name) == 0)
                    return cli_usage(commands[i], 0);
        }
        cli_print_overview(stdout);
        return WEFT_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(name, commands[i]->name) == 0) {
            if (cli_wants_help(argc - 1, argv + 1))
                return cli_usage(commands[i], 0);
            return commands[i]->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "weft: unknown command '%s'\n\n", name);
    cli_print_overview(stderr);
    return WEFT_EXIT_USAGE;
}

int cli_agent_args_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_agent_args *a)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"admin", required_argument, NULL, 'a'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof(*a));
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'j')
            a->json = 1;
        else if (c == 'a')
            a->admin = optarg;
        else if (c == 'c')
            a->config = optarg;
        else
            return cli_usage(cmd, 1);
    }
    return -1;
}

int cli_call_print(const struct cli_agent_args *a, const char *method, const char *path,
                   const char *body, int64_t timeout_ms, cli_print_fn print)
{
    struct sbuf resp;
    struct jsonv *v = NULL;
    sbuf_init(&resp);
    int rc = client_call_timeout(a->admin, a->config, method, path, body, timeout_ms, &resp, &v);
    if (rc == WEFT_EXIT_OK) {
        if (a->json)
            fputs(sbuf_str(&resp), stdout);
        else
            print(v);
    }
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}

int cli_get_command(const struct cli_cmd *cmd, int argc, char **argv, const char *path,
                    cli_print_fn print)
{
    struct cli_agent_args a;
    int rc = cli_agent_args_parse(cmd, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (optind != argc)
        return cli_usage(cmd, 1);
    return cli_call_print(&a, "GET", path, NULL, 0, print);
}
