#include "agent/agent.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>

const struct cli_cmd cli_cmd_agent = {
    "agent", "run the weft agent (the daemon)",
    "Usage: weft agent [-c FILE]\n\n"
    "Run the agent in the foreground until SIGTERM or SIGINT (exit 0).\n"
    "SIGHUP reloads FILE; an invalid file is refused and the running config kept.\n"
    "Under systemd (Type=notify) it reports READY=1, RELOADING=1, STOPPING=1 and\n"
    "pings the watchdog at half of WatchdogSec.\n\n"
    "  -c, --config FILE   config file (default: the embedded default: node named\n"
    "                      after the host, data in ./weft-data, admin socket\n"
    "                      ./weft-data/admin.sock)\n"
    "  -h, --help          this help\n",
    cmd_agent};

int cmd_agent(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else
            return cli_usage(&cli_cmd_agent, 1);
    }
    if (optind != argc)
        return cli_usage(&cli_cmd_agent, 1);
    return agent_run(config);
}
