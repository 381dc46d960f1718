#include "cli/cli.h"

#include "agent/agent.h"
#include "http/http_parse.h"
#include "platform/platform.h"
#include "tls/tls.h"
#include "weft_version.h"

#include <event2/event.h>
#include <sqlite3.h>

#include <stdio.h>

const struct cli_cmd cli_cmd_version = {
    "version", "print version, git revision, dependencies and build flags",
    "Usage: weft version\n\n"
    "Print weft's version and git revision, the versions of the libraries linked\n"
    "in (libevent, mbedTLS, SQLite, inih, llhttp) and how this binary was built.\n",
    cmd_version};

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return cli_usage(&cli_cmd_version, 1);
    printf("weft %s (revision %s)\n", WEFT_VERSION, WEFT_GIT_REVISION);
    printf("dependencies: libevent %s, mbedTLS %s, SQLite %s, inih %s, llhttp %s\n",
           event_get_version(), tls_lib_version(), sqlite3_libversion(), WEFT_INIH_VERSION,
           http_llhttp_version());
    printf("build: %s, %s, %s, %s, sanitizers: %s, platform: %s\n", WEFT_BUILD_TYPE,
           WEFT_BUILD_STATIC ? "static" : "dynamic", WEFT_BUILD_ARCH, WEFT_BUILD_COMPILER,
           WEFT_BUILD_SANITIZE, pf_name());
    return WEFT_EXIT_OK;
}
