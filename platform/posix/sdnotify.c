/* Portable fallback: no service manager to talk to. */
#include "platform/platform.h"

int pf_sd_notify(const char *state)
{
    (void)state;
    return 0;
}

uint64_t pf_sd_watchdog_usec(void)
{
    return 0;
}

const char *pf_name(void)
{
    return "posix";
}
