/* Linux: splice(2) between sockets and a pipe (platform.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "platform/platform.h"

#include <fcntl.h>
#include <unistd.h>

int pf_splice_pipe(int fds[2])
{
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

long pf_splice(int from, int to, size_t len)
{
    return (long)splice(from, NULL, to, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}
