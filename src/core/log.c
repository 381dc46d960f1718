#include "core/log.h"

#include "core/clock.h"
#include "core/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The logger is process state by nature (like stderr itself). */
static struct {
    enum log_level level;
    uint32_t debug_mask;
    enum log_format format;
    int fd;
    bool journald;
    bool journald_checked;
} g_log = {LOG_LEVEL_INFO, 0, LOG_FORMAT_TEXT, 2, false, false};

static const char *const level_names[LOG_LEVEL_MAX] = {"debug", "info", "warn", "error"};
static const char *const domain_names[LOG_DOMAIN_MAX] = {"core",  "config", "store",    "admin",
                                                         "agent", "tls",    "platform", "proxy"};
/* syslog priorities journald understands: debug 7, info 6, warning 4, err 3. */
static const int journald_prio[LOG_LEVEL_MAX] = {7, 6, 4, 3};

const char *log_level_name(enum log_level l)
{
    return (unsigned)l < LOG_LEVEL_MAX ? level_names[l] : "?";
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < LOG_LEVEL_MAX; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_domain_name(enum log_domain d)
{
    return (unsigned)d < LOG_DOMAIN_MAX ? domain_names[d] : "?";
}

int log_domain_parse(const char *s, enum log_domain *out)
{
    for (int i = 0; i < LOG_DOMAIN_MAX; i++) {
        if (strcmp(s, domain_names[i]) == 0) {
            *out = (enum log_domain)i;
            return 0;
        }
    }
    return -1;
}

void log_set_level(enum log_level l)
{
    g_log.level = l;
}

void log_set_debug_domains(uint32_t mask)
{
    g_log.debug_mask = mask;
}

void log_set_format(enum log_format f)
{
    g_log.format = f;
}

void log_set_fd(int fd)
{
    g_log.fd = fd;
    g_log.journald_checked = false;
}

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected to us. */
static bool log_fd_is_journal(int fd)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool log_is_enabled(enum log_level l, enum log_domain d)
{
    if (l >= g_log.level)
        return true;
    return l == LOG_LEVEL_DEBUG && (unsigned)d < 32 && (g_log.debug_mask & (1u << d));
}

/* Append s to the buffer as a JSON string body (no quotes); stops before
 * overflowing, at a character boundary. */
static size_t json_escape_into(char *out, size_t cap, size_t n, const char *s)
{
    char tmp[6];
    size_t len;
    while (*s) {
        size_t used = json_escape_step(s, tmp, &len);
        if (n + len + 1 > cap)
            break;
        memcpy(out + n, tmp, len);
        n += len;
        s += used;
    }
    out[n] = '\0';
    return n;
}

static void log_vwrite(enum log_level l, enum log_domain d, const char *func, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));
static void log_vwrite(enum log_level l, enum log_domain d, const char *func, const char *fmt,
                       va_list ap)
{
    char msg[2048];
    char line[4096];
    char ts[40];
    size_t n;
    int saved = errno;

    if (!g_log.journald_checked) {
        g_log.journald = log_fd_is_journal(g_log.fd);
        g_log.journald_checked = true;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);

    int64_t now_ms = clock_wall_ms();
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)(now_ms % 1000));

    if (g_log.format == LOG_FORMAT_JSON) {
        /* Under journald the priority prefix keeps the level for JSON too. */
        n = 0;
        if (g_log.journald)
            n = (size_t)snprintf(line, sizeof(line), "<%d>", journald_prio[l]);
        n += (size_t)snprintf(line + n, sizeof(line) - n,
                              "{\"ts\":\"%s\",\"level\":\"%s\",\"domain\":\"%s\",\"func\":\"%s\","
                              "\"msg\":\"",
                              ts, log_level_name(l), log_domain_name(d), func);
        n = json_escape_into(line, sizeof(line) - 3, n, msg);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
    } else if (g_log.journald) {
        n = (size_t)snprintf(line, sizeof(line), "<%d>%s: %s: %s\n", journald_prio[l],
                             log_domain_name(d), func, msg);
    } else {
        n = (size_t)snprintf(line, sizeof(line), "%s %-5s %s: %s: %s\n", ts, log_level_name(l),
                             log_domain_name(d), func, msg);
    }
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    /* One write per line, so lines from concurrent processes never interleave. */
    ssize_t w = write(g_log.fd, line, n);
    (void)w;
    errno = saved;
}

void log_write(enum log_level l, enum log_domain d, const char *func, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(l, d, func, fmt, ap);
    va_end(ap);
}

void log_ratelim_write(struct log_ratelim *rl, enum log_level l, enum log_domain d,
                       const char *func, const char *fmt, ...)
{
    int64_t now = clock_mono_ms();
    /* A fresh limiter (nothing counted yet) starts its window now. Not
     * "window_start_ms == 0": 0 is a valid monotonic time (fake clocks). */
    if (rl->in_window == 0 || now - rl->window_start_ms >= rl->window_ms) {
        rl->window_start_ms = now;
        rl->in_window = 0;
    }
    if (rl->in_window >= rl->burst) {
        rl->suppressed++;
        return;
    }
    rl->in_window++;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (rl->suppressed) {
        log_write(l, d, func, "%s (%u similar messages suppressed)", msg, rl->suppressed);
        rl->suppressed = 0;
    } else {
        log_write(l, d, func, "%s", msg);
    }
}
