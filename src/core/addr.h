/*
 * addr: "host:port" into a socket address, numerically. Accepts IPv4
 * ("127.0.0.1:9901"), bracketed IPv6 ("[::1]:9901") and "localhost" (taken as
 * 127.0.0.1). No name resolution: a static binary has no NSS to resolve with,
 * and weft's admin and gossip addresses are numeric by design.
 */
#ifndef WEFT_CORE_ADDR_H
#define WEFT_CORE_ADDR_H

#include <sys/socket.h>

#include "core/err.h"

/** Parse s; returns 0 and fills *ss and *len, or -1 with a message in e. */
int addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, struct weft_err *e);

#endif
