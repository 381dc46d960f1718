#include "cli/cli.h"

#include "agent/agent.h"
#include "cli/client.h"
#include "config/config.h"
#include "core/jsonv.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const struct cli_cmd cli_cmd_config = {
    "config", "check a config file, or show the effective config",
    "Usage: weft config check FILE...\n"
    "       weft config show [FILE]\n"
    "       weft config show --running [--admin ADDR] [-c FILE]\n\n"
    "check: validate each FILE; print every error as\n"
    "         FILE:LINE: section.key: what is wrong\n"
    "       and exit 1 if any file has one, 0 if all are valid.\n"
    "show:  print the effective config (every key, defaults filled in) of FILE,\n"
    "       or of the embedded default; with --running, the config the running\n"
    "       agent uses (asked over its admin API).\n",
    cmd_config};

static int config_check(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2)
        return cli_usage(&cli_cmd_config, 1);
    for (int i = 1; i < argc; i++) {
        struct config_errs errs;
        config_errs_init(&errs);
        struct weft_config *cfg = config_load_file(argv[i], &errs);
        if (!cfg) {
            struct sbuf m;
            sbuf_init(&m);
            config_errs_format(&errs, &m);
            fputs(sbuf_str(&m), stderr);
            sbuf_deinit(&m);
            bad = 1;
        } else {
            printf("%s: ok\n", argv[i]);
        }
        config_free(cfg);
        config_errs_deinit(&errs);
    }
    return bad ? WEFT_EXIT_FAIL : WEFT_EXIT_OK;
}

static int config_show_running(const char *admin, const char *config)
{
    struct sbuf resp;
    struct jsonv *v;
    sbuf_init(&resp);
    int rc = client_call(admin, config, "GET", "/v1/config", NULL, &resp, &v);
    if (rc == WEFT_EXIT_OK)
        fputs(jsonv_str(jsonv_get(v, "text"), ""), stdout);
    jsonv_free(v);
    sbuf_deinit(&resp);
    return rc;
}

static int config_show_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"running", no_argument, NULL, 'r'},
                                         {"admin", required_argument, NULL, 'a'},
                                         {"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *admin = NULL, *config = NULL;
    int running = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'r')
            running = 1;
        else if (c == 'a')
            admin = optarg;
        else if (c == 'c')
            config = optarg;
        else
            return cli_usage(&cli_cmd_config, 1);
    }
    if (running) {
        if (optind != argc)
            return cli_usage(&cli_cmd_config, 1);
        return config_show_running(admin, config);
    }
    if (admin || argc - optind > 1 || (config && optind != argc))
        return cli_usage(&cli_cmd_config, 1);
    const char *file = config ? config : (optind < argc ? argv[optind] : NULL);

    struct config_errs errs;
    config_errs_init(&errs);
    struct weft_config *cfg = file ? config_load_file(file, &errs) : config_load_default(&errs);
    struct sbuf out;
    sbuf_init(&out);
    int rc = WEFT_EXIT_OK;
    if (!cfg) {
        config_errs_format(&errs, &out);
        fputs(sbuf_str(&out), stderr);
        rc = WEFT_EXIT_FAIL;
    } else {
        config_show(cfg, &out);
        fputs(sbuf_str(&out), stdout);
    }
    sbuf_deinit(&out);
    config_free(cfg);
    config_errs_deinit(&errs);
    return rc;
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(&cli_cmd_config, 1);
    if (strcmp(argv[1], "check") == 0)
        return config_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return config_show_cmd(argc - 1, argv + 1);
    fprintf(stderr, "weft config: unknown subcommand '%s'\n", argv[1]);
    return cli_usage(&cli_cmd_config, 1);
}
