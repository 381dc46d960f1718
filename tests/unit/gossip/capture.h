/*
 * capture: the serf 0.9.4 captures of tests/data/serf-0.9.4/ (two stock
 * serf agents on loopback): one line per UDP datagram or TCP segment,
 * "frame time proto sport dport hex". Loaded whole into memory for a test;
 * TCP segments are joined per direction into streams.
 */
#ifndef WEFT_TEST_GOSSIP_CAPTURE_H
#define WEFT_TEST_GOSSIP_CAPTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP_MAX 128

struct cap_rec {
    int frame;
    int tcp;
    int sport, dport;
    uint8_t *data; /* malloc'd */
    size_t len;
};

struct capture {
    struct cap_rec rec[CAP_MAX];
    size_t n;
};

static inline char *cap_path(const char *name)
{
    const char *src = getenv("WEFT_SOURCE_DIR");
    static char path[4096];
    snprintf(path, sizeof(path), "%s/tests/data/serf-0.9.4/%s", src ? src : ".", name);
    return path;
}

static inline int cap_load(struct capture *c, const char *name)
{
    FILE *f = fopen(cap_path(name), "r");
    if (!f)
        return -1;
    static char line[1 << 17];
    memset(c, 0, sizeof(*c));
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char proto[8];
        double t;
        int fr, sp, dp, off = 0;
        if (sscanf(line, "%d %lf %7s %d %d %n", &fr, &t, proto, &sp, &dp, &off) != 5 ||
            c->n == CAP_MAX)
            continue;
        const char *h = line + off;
        size_t hl = strcspn(h, " \r\n");
        struct cap_rec *r = &c->rec[c->n++];
        r->frame = fr;
        r->tcp = strcmp(proto, "TCP") == 0;
        r->sport = sp;
        r->dport = dp;
        r->len = hl / 2;
        r->data = malloc(r->len + 1);
        for (size_t i = 0; i < r->len; i++) {
            unsigned v;
            sscanf(h + 2 * i, "%2x", &v);
            r->data[i] = (uint8_t)v;
        }
    }
    fclose(f);
    return 0;
}

static inline void cap_free(struct capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->rec[i].data);
    c->n = 0;
}

static inline char *cap_read_text(const char *name)
{
    FILE *f = fopen(cap_path(name), "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

#endif
