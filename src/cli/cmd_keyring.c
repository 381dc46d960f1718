/*
 * cmd_keyring: `weft keyring list|install KEY|use KEY|remove KEY`, the
 * cluster-wide gossip key rotation of `serf keys`, through the running
 * agent's POST /v1/keyring (the agent sends Serf's internal key query to
 * every member and gathers the answers). Output follows `serf keys`: per-key
 * node counts for list, a "failed:" line per node that refused; the exit
 * code is 1 when any node failed or did not answer. Nothing is kept.
 */
#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "core/json.h"
#include "core/jsonv.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define AGENT_FLAGS_HELP                                                                           \
    "The agent is found by --admin ADDR (a unix socket path, or host:port),\n"                     \
    "else $WEFT_ADMIN, else the [admin] socket of -c FILE, else\n"                                 \
    "./weft-data/admin.sock.\n"

const struct cli_cmd cli_cmd_keyring = {
    "keyring", "list or rotate the gossip encryption keys cluster-wide",
    "Usage: weft keyring [--json] [--admin ADDR] [-c FILE] COMMAND\n\n"
    "Manage the gossip encryption keyring of every member of the cluster, weft\n"
    "and serf agents alike, as `serf keys` does (Serf's internal key queries).\n\n"
    "Commands:\n"
    "  list          the keys installed on the members, with how many nodes hold each\n"
    "  install KEY   add KEY (base64, 16/24/32 bytes) to every keyring, for decryption\n"
    "  use KEY       make KEY, already installed everywhere, the primary (encrypting) key\n"
    "  remove KEY    remove KEY from every keyring (the primary key cannot be removed)\n\n"
    "Rotation: install NEW, use NEW, remove OLD. Each agent saves its changed\n"
    "keyring to its [gossip] key_file, so a restart keeps the rotated keys.\n" AGENT_FLAGS_HELP "\n"
    "  --json        print the API's JSON as it is\n"
    "Exit: 0 every node answered and succeeded, 1 a node failed or did not answer\n"
    "(or the agent refused), 2 usage, 3 no agent answered.\n",
    cmd_keyring};

/* The words serf keys prints for each operation. */
static const struct {
    const char *op;
    const char *start;
    const char *done;
    const char *fail;
} keyring_words[] = {
    {"list", "Asking all members for installed keys...", "Keys gathered, listing cluster keys...",
     "Failed to gather member keys"},
    {"install", "Installing key on all members...", "Successfully installed key!",
     "Error installing key"},
    {"use", "Changing primary key on all members...", "Successfully changed primary key!",
     "Error changing primary key"},
    {"remove", "Removing key on all members...", "Successfully removed key!", "Error removing key"},
};

/* "failed:  NODE  MESSAGE", columns aligned as columnize does. */
static void keyring_print_failures(const struct jsonv *msgs, FILE *f)
{
    size_t w = 0;
    for (size_t i = 0; i < jsonv_len(msgs); i++) {
        size_t l = strlen(jsonv_key_at(msgs, i));
        if (l > w)
            w = l;
    }
    for (size_t i = 0; i < jsonv_len(msgs); i++)
        fprintf(f, "failed:  %-*s  %s\n", (int)w, jsonv_key_at(msgs, i),
                jsonv_str(jsonv_at(msgs, i), ""));
}

static int keyring_print(const struct jsonv *v, size_t wi)
{
    bool ok = jsonv_bool(jsonv_get(v, "ok"), false);
    if (!ok) {
        const struct jsonv *msgs = jsonv_get(v, "messages");
        if (jsonv_len(msgs) > 0)
            keyring_print_failures(msgs, stderr);
        fprintf(stderr, "\n%s: %s\n", keyring_words[wi].fail,
                jsonv_str(jsonv_get(v, "failure"), "failed"));
        return WEFT_EXIT_FAIL;
    }
    printf("==> %s\n", keyring_words[wi].done);
    if (wi != 0)
        return WEFT_EXIT_OK;
    printf("\n");
    const struct jsonv *keys = jsonv_get(v, "keys");
    long long total = (long long)jsonv_int(jsonv_get(v, "num_nodes"), 0);
    for (size_t i = 0; i < jsonv_len(keys); i++)
        printf("%s  [%lld/%lld]\n", jsonv_key_at(keys, i),
               (long long)jsonv_int(jsonv_at(keys, i), 0), total);
    return WEFT_EXIT_OK;
}

int cmd_keyring(int argc, char **argv)
{
    struct cli_agent_args a;
    int prc = cli_agent_args_parse(&cli_cmd_keyring, argc, argv, &a);
    if (prc >= 0)
        return prc;
    if (optind >= argc)
        return cli_usage(&cli_cmd_keyring, 1);
    const char *op = argv[optind];
    size_t wi;
    for (wi = 0; wi < sizeof(keyring_words) / sizeof(keyring_words[0]); wi++)
        if (strcmp(op, keyring_words[wi].op) == 0)
            break;
    if (wi == sizeof(keyring_words) / sizeof(keyring_words[0])) {
        fprintf(stderr, "weft keyring: unknown command '%s'\n", op);
        return cli_usage(&cli_cmd_keyring, 1);
    }
    int want_args = wi == 0 ? 1 : 2;
    if (argc - optind != want_args) {
        fprintf(stderr, "weft keyring %s: %s\n", op, wi == 0 ? "takes no key" : "needs one KEY");
        return cli_usage(&cli_cmd_keyring, 1);
    }

    struct sbuf body, resp;
    struct json_w j;
    struct jsonv *v = NULL;
    sbuf_init(&body);
    sbuf_init(&resp);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "op", op);
    if (wi != 0)
        json_kv_str(&j, "key", argv[optind + 1]);
    json_obj_end(&j);
    if (!a.json)
        printf("==> %s\n", keyring_words[wi].start);
    fflush(stdout);
    int rc = client_call(a.admin, a.config, "POST", "/v1/keyring", sbuf_str(&body), &resp, &v);
    if (rc == WEFT_EXIT_OK) {
        if (a.json) {
            fputs(sbuf_str(&resp), stdout);
            rc = jsonv_bool(jsonv_get(v, "ok"), false) ? WEFT_EXIT_OK : WEFT_EXIT_FAIL;
        } else {
            rc = keyring_print(v, wi);
        }
    }
    jsonv_free(v);
    sbuf_deinit(&resp);
    sbuf_deinit(&body);
    return rc;
}
