/*
 * log: levels, per-subsystem domains, text or JSON lines, rate limits.
 *
 * Every line names its domain and function. Under systemd (JOURNAL_STREAM
 * points at our stderr) text lines carry "<N>" priority prefixes so journald
 * keeps the level, and drop the timestamp journald adds itself.
 * Anything a peer or a client can trigger goes through log_ratelim().
 * Not thread-safe: weft runs one event loop per process.
 */
#ifndef WEFT_CORE_LOG_H
#define WEFT_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, LOG_LEVEL_MAX };

/* One domain per subsystem; [log] debug = a,b turns on debug for some only. */
enum log_domain {
    LOG_CORE,
    LOG_CONFIG,
    LOG_STORE,
    LOG_ADMIN,
    LOG_AGENT,
    LOG_TLS,
    LOG_PLATFORM,
    LOG_PROXY,
    LOG_DOMAIN_MAX
};

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/** Level names as in the config: "debug", "info", "warn", "error". */
const char *log_level_name(enum log_level l);
/** Parse a level name; returns -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);
/** Domain names: "core", "config", ... */
const char *log_domain_name(enum log_domain d);
/** Parse a domain name; returns -1 if unknown. */
int log_domain_parse(const char *s, enum log_domain *out);

/** Set the minimum level for every domain. */
void log_set_level(enum log_level l);
/** Domains (bit 1<<domain) that log at debug whatever the level. */
void log_set_debug_domains(uint32_t mask);
void log_set_format(enum log_format f);
/** Write to this fd (default 2). Journald detection is redone. */
void log_set_fd(int fd);
/** True if a message at this level and domain would be written. */
bool log_is_enabled(enum log_level l, enum log_domain d);

void log_write(enum log_level l, enum log_domain d, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_at(l, d, ...)                                                                          \
    do {                                                                                           \
        if (log_is_enabled((l), (d)))                                                              \
            log_write((l), (d), __func__, __VA_ARGS__);                                            \
    } while (0)
#define log_debug(d, ...) log_at(LOG_LEVEL_DEBUG, d, __VA_ARGS__)
#define log_info(d, ...) log_at(LOG_LEVEL_INFO, d, __VA_ARGS__)
#define log_warn(d, ...) log_at(LOG_LEVEL_WARN, d, __VA_ARGS__)
#define log_error(d, ...) log_at(LOG_LEVEL_ERROR, d, __VA_ARGS__)

/*
 * A rate limit for one kind of message: at most `burst` lines per `window_ms`;
 * the rest are counted and the next line that passes says how many were
 * suppressed. Declare one static per call site or per peer.
 */
struct log_ratelim {
    int64_t window_ms;
    unsigned burst;
    int64_t window_start_ms;
    unsigned in_window;
    unsigned suppressed;
};
#define LOG_RATELIM_INIT(window_ms_, burst_)                                                       \
    {                                                                                              \
        (window_ms_), (burst_), 0, 0, 0                                                            \
    }

void log_ratelim_write(struct log_ratelim *rl, enum log_level l, enum log_domain d,
                       const char *func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define log_ratelim(rl, l, d, ...)                                                                 \
    do {                                                                                           \
        if (log_is_enabled((l), (d)))                                                              \
            log_ratelim_write((rl), (l), (d), __func__, __VA_ARGS__);                              \
    } while (0)

#endif
