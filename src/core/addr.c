#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, struct weft_err *e)
{
    char host[64];
    const char *port_s;
    size_t hl;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return err_set(e, "'%s': expected [IPv6]:port", s);
        hl = (size_t)(rb - s - 1);
        if (hl >= sizeof(host))
            return err_set(e, "'%s': address too long", s);
        memcpy(host, s + 1, hl);
        port_s = rb + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return err_set(e, "'%s': expected host:port", s);
        hl = (size_t)(colon - s);
        if (hl >= sizeof(host))
            return err_set(e, "'%s': address too long", s);
        memcpy(host, s, hl);
        port_s = colon + 1;
    }
    host[hl] = '\0';
    char *end;
    long port = strtol(port_s, &end, 10);
    if (!*port_s || *end || port < 0 || port > 65535)
        return err_set(e, "'%s': bad port", s);

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return err_set(e, "'%s': '%s' is not an IPv6 address", s, host);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return err_set(e, "'%s': '%s' is not an IPv4 address (names are not resolved)", s, host);
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof(*a4);
    return 0;
}
