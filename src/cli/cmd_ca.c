/*
 * cmd_ca: `weft ca init|issue|show`, the offline CA's admin commands. They
 * run on the machine that holds the CA directory, need no agent, and never
 * print or log a key. The work is in pki/ (ca.c, bundle.c); this file parses
 * arguments and prints one-line errors. `weft ca token` is the exception: it
 * asks the running agent that holds the CA ([ca] dir) for a one-time
 * enrollment token (POST /v1/ca/token), and so is `weft ca rotate`
 * (cmd_ca_rotate.c).
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/json.h"
#include "core/jsonv.h"

#include "agent/agent.h"
#include "pki/bundle.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "tls/tls.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cli_cmd cli_cmd_ca = {
    "ca", "certificate authority: create it, issue node bundles, enrollment tokens",
    "Usage: weft ca init --trust-domain TD --out DIR [--days N]\n"
    "       weft ca issue --ca DIR --node NAME [--services A,B,...] [--out DIR]\n"
    "                     [--node-days N] [--svc-hours N]\n"
    "       weft ca show --ca DIR\n"
    "       weft ca token --node NAME [--services A,B,...] [--ttl 1h] [--addr HOST:PORT]\n"
    "                     [--admin ADDR] [-c FILE]\n"
    "       weft ca rotate status|add|activate|retire [--days N] [--force] [--json]\n"
    "                     [--admin ADDR] [-c FILE]\n"
    "       weft ca revoke|unrevoke --node NAME [--reason TEXT] [--admin ADDR] [-c FILE]\n\n"
    "init:  create a CA in DIR (made 0700): an ECDSA P-256 root key, ca.key\n"
    "       (0600), and a self-signed root certificate for spiffe://TD, ca.crt\n"
    "       (0644), valid for N days (default 3650). Never overwrites a CA.\n"
    "issue: write NAME's enrollment bundle into DIR (default ./weft-bundle-NAME,\n"
    "       made 0700): node.key/node.crt (spiffe://TD/node/NAME, default 90\n"
    "       days), svc-A.key/svc-A.crt per service (spiffe://TD/svc/A, default\n"
    "       24 hours), bundle.crt (the CA certificates) and manifest.ini.\n"
    "       Keys are 0600, the rest 0644; existing files are never replaced.\n"
    "show:  the CA's trust domain, subject, SHA-256 fingerprint and validity\n"
    "       (reads ca.crt only).\n"
    "token: ask the running agent that holds the CA ([ca] dir) for a one-time\n"
    "       enrollment token for node NAME and its services, valid for --ttl\n"
    "       (1m-7d, default 1h). Prints the token alone on stdout; put it in the\n"
    "       new node's [identity] token. It carries the CA's SHA-256 fingerprint\n"
    "       and control address (--addr, default the agent's [control] listen).\n"
    "rotate: replace the CA's root without a failed connection, through the\n"
    "       running agent that holds the CA. add: make a new root (--days,\n"
    "       default 3650); nodes learn it at their next check-in and trust both.\n"
    "       activate: sign with the new root (refused until every node trusts\n"
    "       it); nodes re-issue their certificates at their next check-in.\n"
    "       retire: drop the old root (refused until every node's certificates\n"
    "       come from the new one). status: the phase and each node's state.\n"
    "       --force takes a step although some nodes are not ready.\n"
    "revoke: through the running agent that holds the CA, publish a signed\n"
    "       statement that node NAME is revoked: every node refuses its control\n"
    "       calls and its records, the CA its renewals. unrevoke lifts it.\n\n"
    "Names: 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit, no \"..\".\n"
    "Trust domain: a lowercase DNS name (example.org).\n"
    "Exit codes: 0 ok, 1 failure (bad name, existing files, ...), 2 usage error.\n",
    cmd_ca};

static int ca_fail(const char *sub, const struct weft_err *e)
{
    fprintf(stderr, "weft ca %s: %s\n", sub, e->msg);
    return WEFT_EXIT_FAIL;
}

/* A decimal int option; a malformed one is a usage error (returns -1). */
static int parse_int(const char *sub, const char *opt, const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < INT_MIN || v > INT_MAX) {
        fprintf(stderr, "weft ca %s: %s '%s' is not a number\n", sub, opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int ca_init_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"trust-domain", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"days", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    const char *td = NULL, *out = NULL;
    int days = PKI_CA_DAYS_DEFAULT, c;
    struct weft_err e = {{0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 't')
            td = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'd') {
            if (parse_int("init", "--days", optarg, &days) != 0)
                return cli_usage(&cli_cmd_ca, 1);
        } else
            return cli_usage(&cli_cmd_ca, 1);
    }
    if (!td || !out || optind != argc) {
        fprintf(stderr, "weft ca init: --trust-domain and --out are required\n");
        return cli_usage(&cli_cmd_ca, 1);
    }
    if (pki_ca_init(out, td, days, &e) != 0)
        return ca_fail("init", &e);
    struct pki_ca_info info;
    if (pki_ca_info_read(out, &info, &e) != 0)
        return ca_fail("init", &e);
    printf("created CA for trust domain %s in %s\n"
           "fingerprint: sha256:%s\n"
           "not_after: %s\n",
           info.trust_domain, out, info.fingerprint, info.not_after);
    return WEFT_EXIT_OK;
}

/* Split "a,b,c" in place into names (at most max). Returns the count or -1. */
static int split_services(char *list, const char **names, int max)
{
    int n = 0;
    char *p = list;
    for (;;) {
        char *comma = strchr(p, ',');
        if (n == max)
            return -1;
        names[n++] = p;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

static int ca_issue_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"ca", required_argument, NULL, 'c'},
                                         {"node", required_argument, NULL, 'n'},
                                         {"services", required_argument, NULL, 's'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"node-days", required_argument, NULL, 'd'},
                                         {"svc-hours", required_argument, NULL, 'H'},
                                         {NULL, 0, NULL, 0}};
    struct pki_bundle_opts o = {0};
    const char *services[PKI_BUNDLE_SERVICES_MAX];
    char *svc_list = NULL, defout[512];
    struct weft_err e = {{0}};
    int c, rc;
    o.node_days = PKI_NODE_DAYS_DEFAULT;
    o.svc_hours = PKI_SVC_HOURS_DEFAULT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.ca_dir = optarg;
            break;
        case 'n':
            o.node = optarg;
            break;
        case 's':
            svc_list = optarg;
            break;
        case 'o':
            o.out_dir = optarg;
            break;
        case 'd':
            if (parse_int("issue", "--node-days", optarg, &o.node_days) != 0)
                return cli_usage(&cli_cmd_ca, 1);
            break;
        case 'H':
            if (parse_int("issue", "--svc-hours", optarg, &o.svc_hours) != 0)
                return cli_usage(&cli_cmd_ca, 1);
            break;
        default:
            return cli_usage(&cli_cmd_ca, 1);
        }
    }
    if (!o.ca_dir || !o.node || optind != argc) {
        fprintf(stderr, "weft ca issue: --ca and --node are required\n");
        return cli_usage(&cli_cmd_ca, 1);
    }
    if (svc_list) {
        char *copy = strdup(svc_list);
        if (!copy) {
            fprintf(stderr, "weft ca issue: out of memory\n");
            return WEFT_EXIT_FAIL;
        }
        int n = split_services(copy, services, PKI_BUNDLE_SERVICES_MAX);
        if (n < 0) {
            fprintf(stderr, "weft ca issue: more than %d services\n", PKI_BUNDLE_SERVICES_MAX);
            free(copy);
            return WEFT_EXIT_FAIL;
        }
        o.services = services;
        o.nservices = (size_t)n;
        svc_list = copy;
    }
    if (!o.out_dir) {
        /* The node name is checked by pki_bundle_write before any use. */
        snprintf(defout, sizeof(defout), "weft-bundle-%s", o.node);
        o.out_dir = defout;
    }
    rc = pki_bundle_write(&o, &e);
    if (rc == 0) {
        printf("wrote the bundle of node %s (%zu service%s) to %s\n", o.node, o.nservices,
               o.nservices == 1 ? "" : "s", o.out_dir);
    }
    free(svc_list);
    return rc == 0 ? WEFT_EXIT_OK : ca_fail("issue", &e);
}

static int ca_show_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"ca", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    struct weft_err e = {{0}};
    struct pki_ca_info info;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            dir = optarg;
        else
            return cli_usage(&cli_cmd_ca, 1);
    }
    if (!dir || optind != argc) {
        fprintf(stderr, "weft ca show: --ca is required\n");
        return cli_usage(&cli_cmd_ca, 1);
    }
    if (pki_ca_info_read(dir, &info, &e) != 0)
        return ca_fail("show", &e);
    printf("trust_domain: %s\n"
           "subject: %s\n"
           "fingerprint: sha256:%s\n"
           "not_before: %s\n"
           "not_after: %s\n",
           info.trust_domain, info.subject, info.fingerprint, info.not_before, info.not_after);
    return WEFT_EXIT_OK;
}

static int ca_token_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"node", required_argument, NULL, 'n'},
                                         {"services", required_argument, NULL, 's'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"addr", required_argument, NULL, 'a'},
                                         {"admin", required_argument, NULL, 'A'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *node = NULL, *svcs = "", *ttl = "1h", *addr = NULL, *admin = NULL, *cfg = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            node = optarg;
            break;
        case 's':
            svcs = optarg;
            break;
        case 't':
            ttl = optarg;
            break;
        case 'a':
            addr = optarg;
            break;
        case 'A':
            admin = optarg;
            break;
        case 'c':
            cfg = optarg;
            break;
        default:
            return cli_usage(&cli_cmd_ca, 1);
        }
    }
    if (!node || optind != argc) {
        fprintf(stderr, "weft ca token: --node is required\n");
        return cli_usage(&cli_cmd_ca, 1);
    }
    struct sbuf body, resp;
    struct json_w j;
    struct jsonv *reply = NULL;
    sbuf_init(&body);
    sbuf_init(&resp);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "node", node);
    json_kv_str(&j, "services", svcs);
    json_kv_str(&j, "ttl", ttl);
    if (addr)
        json_kv_str(&j, "addr", addr);
    json_obj_end(&j);
    int rc = client_call(admin, cfg, "POST", "/v1/ca/token", sbuf_str(&body), &resp, &reply);
    if (rc == WEFT_EXIT_OK) {
        printf("%s\n", jsonv_str(jsonv_get(reply, "token"), ""));
        fprintf(stderr, "one-time token for node %s (services: %s), valid until %s, CA %s\n",
                jsonv_str(jsonv_get(reply, "node"), "?"),
                *jsonv_str(jsonv_get(reply, "services"), "")
                    ? jsonv_str(jsonv_get(reply, "services"), "")
                    : "none",
                jsonv_str(jsonv_get(reply, "expires"), "?"),
                jsonv_str(jsonv_get(reply, "addr"), "?"));
    }
    jsonv_free(reply);
    if (resp.data)
        memset(resp.data, 0, resp.cap);
    sbuf_deinit(&resp);
    sbuf_deinit(&body);
    return rc;
}

int cmd_ca(int argc, char **argv)
{
    int rc;
    if (argc < 2)
        return cli_usage(&cli_cmd_ca, 1);
    if (strcmp(argv[1], "init") == 0)
        rc = ca_init_cmd(argc - 1, argv + 1);
    else if (strcmp(argv[1], "issue") == 0)
        rc = ca_issue_cmd(argc - 1, argv + 1);
    else if (strcmp(argv[1], "show") == 0)
        rc = ca_show_cmd(argc - 1, argv + 1);
    else if (strcmp(argv[1], "token") == 0)
        rc = ca_token_cmd(argc - 1, argv + 1);
    else if (strcmp(argv[1], "rotate") == 0)
        rc = cmd_ca_rotate(argc - 1, argv + 1);
    else if (strcmp(argv[1], "revoke") == 0 || strcmp(argv[1], "unrevoke") == 0)
        rc = cmd_ca_revoke(argc - 1, argv + 1, argv[1][0] == 'r');
    else {
        fprintf(stderr, "weft ca: unknown subcommand '%s'\n", argv[1]);
        return cli_usage(&cli_cmd_ca, 1);
    }
    tls_lib_deinit();
    return rc;
}
