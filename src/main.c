/* weft: argv goes to the subcommand table in cli/; nothing else lives here. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
