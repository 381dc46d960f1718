/*
 * cli: the `weft` command line. main() hands argv to cli_main(), which finds
 * the subcommand in one table. Every subcommand has --help; exit codes are
 * enum weft_exit (agent/agent.h), documented in docs/cli.md.
 */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include "core/sbuf.h"

#include <stdbool.h>
#include <stdint.h>

/* One subcommand: argv[0] is the subcommand's own name. */
struct cli_cmd {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv);
};

int cli_main(int argc, char **argv);

struct jsonv;
/* Prints a reply of the admin API for people. */
typedef void (*cli_print_fn)(const struct jsonv *reply);

/* The options every client command takes: [--json] [--admin ADDR] [-c FILE]. */
struct cli_agent_args {
    const char *admin;  /* NULL: $WEFT_ADMIN, the config's, the default */
    const char *config; /* -c FILE, or NULL */
    int json;
};
/**
 * Parse them (getopt from argv[1]); operands start at optind afterwards.
 * Returns -1 when the options are fine, else the usage exit code to return.
 */
int cli_agent_args_parse(const struct cli_cmd *cmd, int argc, char **argv,
                         struct cli_agent_args *a);

/**
 * One request to the agent (body may be NULL; timeout_ms 0: the default),
 * then the raw JSON (a->json) or print(reply). Returns the exit code.
 */
int cli_call_print(const struct cli_agent_args *a, const char *method, const char *path,
                   const char *body, int64_t timeout_ms, cli_print_fn print);

/**
 * The shape of every read-only client command:
 *   weft CMD [--json] [--admin ADDR] [-c FILE]
 * GET path from the agent, then print the raw JSON (--json) or print(reply).
 * Returns the exit code (enum weft_exit).
 */
int cli_get_command(const struct cli_cmd *cmd, int argc, char **argv, const char *path,
                    cli_print_fn print);

/* Percent-encode s as a query string value into out (cmd_event.c). Returns 0, -1 if too long. */
int cli_urlencode(const char *s, char *out, size_t cap);

/* True if argv has -h or --help before a "--". */
int cli_wants_help(int argc, char **argv);
/* Print usage to stdout (help asked) and return 0, or to stderr and return 2. */
int cli_usage(const struct cli_cmd *cmd, int to_stderr);

int cmd_agent(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_ca_rotate(int argc, char **argv);
int cmd_ca_revoke(int argc, char **argv, bool revoked);
int cmd_ping(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_services(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_service(int argc, char **argv);
int cmd_certs(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_members(int argc, char **argv);
int cmd_join(int argc, char **argv);
int cmd_leave(int argc, char **argv);
int cmd_keyring(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_event(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_query(int argc, char **argv);

extern const struct cli_cmd cli_cmd_agent, cli_cmd_version, cli_cmd_config, cli_cmd_status;
extern const struct cli_cmd cli_cmd_ca, cli_cmd_ping;
extern const struct cli_cmd cli_cmd_apply, cli_cmd_get, cli_cmd_delete, cli_cmd_history;
extern const struct cli_cmd cli_cmd_services, cli_cmd_service;
extern const struct cli_cmd cli_cmd_proxy;
extern const struct cli_cmd cli_cmd_certs, cli_cmd_metrics;
extern const struct cli_cmd cli_cmd_members, cli_cmd_join, cli_cmd_leave;
extern const struct cli_cmd cli_cmd_keyring, cli_cmd_keygen;
extern const struct cli_cmd cli_cmd_event, cli_cmd_events, cli_cmd_query;

#endif
