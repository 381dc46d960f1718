/* Portable fallback: no splice; the proxy copies through its buffers. */
#include "platform/platform.h"

#include <errno.h>

int pf_splice_pipe(int fds[2])
{
    (void)fds;
    errno = ENOSYS;
    return -1;
}

long pf_splice(int from, int to, size_t len)
{
    (void)from;
    (void)to;
    (void)len;
    errno = ENOSYS;
    return -1;
}
