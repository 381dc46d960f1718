/*
 * platform: what differs per OS, behind one header. The build picks
 * platform/linux/ on Linux and platform/posix/ (portable no-ops) elsewhere;
 * nothing under src/ tests an OS macro.
 */
#ifndef WEFT_PLATFORM_H
#define WEFT_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Send a state string to the service manager ("READY=1", "STATUS=...") over
 * the socket in $NOTIFY_SOCKET (systemd's documented datagram protocol).
 * Returns 1 if sent, 0 if there is no service manager, -1 on error (errno set).
 */
int pf_sd_notify(const char *state);

/**
 * The watchdog interval the service manager expects, in microseconds, from
 * $WATCHDOG_USEC (only if $WATCHDOG_PID is unset or is our pid); 0 if none.
 * weft sends WATCHDOG=1 every half of it.
 */
uint64_t pf_sd_watchdog_usec(void);

/*
 * Zero-copy relaying between two plain TCP sockets through a pipe
 * (Linux splice(2)): bytes never enter user space. Elsewhere these fail
 * with ENOSYS and the proxy copies through its buffers instead.
 */
/** A non-blocking, close-on-exec pipe for pf_splice. Returns 0, or -1 with errno. */
int pf_splice_pipe(int fds[2]);
/**
 * Move up to len bytes from fd `from` to fd `to` (one of them a pipe),
 * without blocking. Returns the count, 0 at the end of `from`, or -1 with
 * errno (EAGAIN: not ready; ENOSYS: no splice on this platform).
 */
long pf_splice(int from, int to, size_t len);

/**
 * Raise the soft limit on open descriptors to the hard limit (a proxy
 * holds two per connection; systemd's default soft limit is 1024).
 * Returns the soft limit now in effect, or 0 if it could not be read.
 */
uint64_t pf_nofile_raise(void);

/** Name of the platform layer compiled in ("linux" or "posix"). */
const char *pf_name(void);

#endif
