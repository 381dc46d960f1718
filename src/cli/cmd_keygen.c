/*
 * cmd_keygen: `weft keygen`, a new gossip encryption key as `serf keygen`
 * makes it: 32 bytes from the operating system's random source, printed in
 * standard base64 (44 characters). Nothing is allocated.
 */
#include "cli/cli.h"

#include "agent/agent.h"
#include "gossip/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const struct cli_cmd cli_cmd_keygen = {
    "keygen", "print a new gossip encryption key",
    "Usage: weft keygen\n\n"
    "Print a new AES-256 gossip encryption key: 32 random bytes from the\n"
    "operating system (/dev/urandom), in base64, as `serf keygen` does. Put it\n"
    "in [gossip] key_file, give it to `serf agent -encrypt`, or rotate it in\n"
    "with `weft keyring install`.\n\n"
    "Exit: 0 printed, 1 no randomness available, 2 usage.\n",
    cmd_keygen};

/* n bytes from the OS, or -1 with errno. */
static int keygen_random(uint8_t *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            close(fd);
            return -1;
        }
        off += (size_t)r;
    }
    close(fd);
    return 0;
}

int cmd_keygen(int argc, char **argv)
{
    (void)argv;
    uint8_t key[32];
    char b64[KEYRING_B64_MAX];
    if (argc > 1)
        return cli_usage(&cli_cmd_keygen, 1);
    if (keygen_random(key, sizeof(key)) != 0) {
        fprintf(stderr, "weft keygen: reading random data: %s\n", strerror(errno));
        return WEFT_EXIT_FAIL;
    }
    keyring_b64_encode(key, sizeof(key), b64, sizeof(b64), NULL);
    memset(key, 0, sizeof(key));
    printf("%s\n", b64);
    return WEFT_EXIT_OK;
}
