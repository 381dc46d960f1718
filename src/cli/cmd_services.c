/*
 * cmd_services: the mesh's service catalog (docs/mesh.md "Services"):
 * `weft services` lists every service instance every node publishes, with
 * its health; `weft service add|remove` registers a local service at run
 * time (POST/DELETE /v1/services), kept across restarts.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/json.h"
#include "core/jsonv.h"

#include "agent/agent.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cli_cmd cli_cmd_services = {
    "services", "the mesh's service catalog: every instance and its health",
    "Usage: weft services [--json] [--admin ADDR] [-c FILE]\n\n"
    "Every service instance of the mesh as the running agent knows it (each\n"
    "node publishes its own; the records replicate to all): service, node,\n"
    "address, port, protocol, health (passing, critical, unknown), the node's\n"
    "gossip status (MEMBER: alive, suspect, failed, left, unknown; a node that\n"
    "left or failed keeps its last health), identity.\n\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 ok, 1 the agent answered with an error, 2 usage, 3 no agent answered.\n",
    cmd_services};

const struct cli_cmd cli_cmd_service = {
    "service", "register or remove a local service at run time",
    "Usage: weft service add NAME --port P [--address IP] [--protocol tcp|http]\n"
    "                        [--check none|tcp|http] [--check-path /PATH]\n"
    "                        [--interval 10s] [--timeout 2s] [--healthy N]\n"
    "                        [--unhealthy N] [--tags 'a, k=v'] [--admin ADDR] [-c FILE]\n"
    "       weft service remove NAME [--admin ADDR] [-c FILE]\n\n"
    "add: the running agent checks the service and publishes it in the catalog\n"
    "(as a [service NAME] section would; kept across restarts). A configured\n"
    "service of the same name is refused: change the config and reload.\n"
    "remove: withdraw a service added this way.\n"
    "Exit: 0 ok, 1 refused, 2 usage, 3 no agent answered.\n",
    cmd_service};

static void services_print(const struct jsonv *v)
{
    const struct jsonv *ss = jsonv_get(v, "services");
    printf("%-20s %-16s %-16s %-6s %-8s %-9s %-8s %s\n", "SERVICE", "NODE", "ADDRESS", "PORT",
           "PROTOCOL", "HEALTH", "MEMBER", "IDENTITY");
    for (size_t i = 0; i < jsonv_len(ss); i++) {
        const struct jsonv *s = jsonv_at(ss, i);
        printf(
            "%-20s %-16s %-16s %-6lld %-8s %-9s %-8s %s\n", jsonv_str(jsonv_get(s, "service"), "?"),
            jsonv_str(jsonv_get(s, "node"), "?"), jsonv_str(jsonv_get(s, "address"), "?"),
            (long long)jsonv_int(jsonv_get(s, "port"), 0), jsonv_str(jsonv_get(s, "protocol"), "?"),
            jsonv_str(jsonv_get(s, "health"), "?"), jsonv_str(jsonv_get(s, "node_status"), "-"),
            jsonv_str(jsonv_get(s, "identity"), "?"));
    }
}

int cmd_services(int argc, char **argv)
{
    return cli_get_command(&cli_cmd_services, argc, argv, "/v1/services", services_print);
}

static void service_print(const struct jsonv *reply)
{
    const char *reg = jsonv_str(jsonv_get(reply, "registered"), NULL);
    printf("service %s %s\n", reg ? reg : jsonv_str(jsonv_get(reply, "removed"), "?"),
           reg ? "registered" : "removed");
}

static int service_add(int argc, char **argv)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"address", required_argument, NULL, 'a'},
                                         {"protocol", required_argument, NULL, 'P'},
                                         {"check", required_argument, NULL, 'k'},
                                         {"check-path", required_argument, NULL, 'K'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"healthy", required_argument, NULL, 'h'},
                                         {"unhealthy", required_argument, NULL, 'u'},
                                         {"tags", required_argument, NULL, 'T'},
                                         {"admin", required_argument, NULL, 'A'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *admin = NULL, *cfg = NULL;
    const char *str[128] = {0}; /* by option letter */
    long port = 0, healthy = 2, unhealthy = 3;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
        case 'h':
        case 'u': {
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0') {
                fprintf(stderr, "weft service add: '%s' is not a number\n", optarg);
                return WEFT_EXIT_USAGE;
            }
            *(c == 'p' ? &port : c == 'h' ? &healthy : &unhealthy) = v;
            break;
        }
        case 'a':
        case 'P':
        case 'k':
        case 'K':
        case 'i':
        case 't':
        case 'T':
            str[c] = optarg;
            break;
        case 'A':
            admin = optarg;
            break;
        case 'c':
            cfg = optarg;
            break;
        default:
            return cli_usage(&cli_cmd_service, 1);
        }
    }
    if (optind + 1 != argc || port == 0) {
        fprintf(stderr, "weft service add: NAME and --port are required\n");
        return cli_usage(&cli_cmd_service, 1);
    }
    struct sbuf body;
    struct json_w j;
    struct cli_agent_args a = {.admin = admin, .config = cfg};
    sbuf_init(&body);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "name", argv[optind]);
    json_kv_int(&j, "port", port);
    json_kv_int(&j, "healthy_threshold", healthy);
    json_kv_int(&j, "unhealthy_threshold", unhealthy);
    static const struct {
        int opt;
        const char *key;
    } map[] = {{'a', "address"},        {'P', "protocol"},      {'k', "check"}, {'K', "check_path"},
               {'i', "check_interval"}, {'t', "check_timeout"}, {'T', "tags"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (str[map[i].opt])
            json_kv_str(&j, map[i].key, str[map[i].opt]);
    json_obj_end(&j);
    int rc = cli_call_print(&a, "POST", "/v1/services", sbuf_str(&body), 0, service_print);
    sbuf_deinit(&body);
    return rc;
}

static int service_remove(int argc, char **argv)
{
    struct cli_agent_args a;
    char path[300], name[200];
    int rc = cli_agent_args_parse(&cli_cmd_service, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc)
        return cli_usage(&cli_cmd_service, 1);
    if (cli_urlencode(argv[optind], name, sizeof(name)) != 0) {
        fprintf(stderr, "weft service remove: name too long\n");
        return WEFT_EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "/v1/services?name=%s", name);
    return cli_call_print(&a, "DELETE", path, NULL, 0, service_print);
}

int cmd_service(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(&cli_cmd_service, 1);
    if (strcmp(argv[1], "add") == 0)
        return service_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "remove") == 0)
        return service_remove(argc - 1, argv + 1);
    fprintf(stderr, "weft service: unknown subcommand '%s'\n", argv[1]);
    return cli_usage(&cli_cmd_service, 1);
}
