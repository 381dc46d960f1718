/*
 * test_log: the logger, writing into a pipe the test reads back.
 *
 * Linked with tests/fakes/fakeclock.c, so timestamps are fixed and the rate
 * limiter's windows pass only when the test advances the clock. Covers level
 * and debug-domain filtering, the text and JSON line formats (JSON lines are
 * read back with core/jsonv), journald priority prefixes when JOURNAL_STREAM
 * names the fd's dev:ino, and log_ratelim's burst / suppress / report cycle.
 *
 * The logger is process state, so every test starts from setup()'s defaults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jsonv.h"
#include "core/log.h"
#include "fakes/fakeclock.h"

/* Timestamp of every line written at fake monotonic time 0. */
#define TS0 "2023-11-14T22:13:20.000Z"

struct logpipe {
    int rfd;
    int wfd;
    char buf[65536];
    size_t len;
};

static int setup(void **state)
{
    static struct logpipe lp;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    /* Non-blocking reads: "nothing was logged" reads as empty, not a hang. */
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0)
        return -1;
    memset(&lp, 0, sizeof(lp));
    lp.rfd = fds[0];
    lp.wfd = fds[1];
    unsetenv("JOURNAL_STREAM");
    fakeclock_set_ms(0);
    fakeclock_set_wall_ms(FAKECLOCK_WALL_START_MS);
    log_set_level(LOG_LEVEL_INFO);
    log_set_debug_domains(0);
    log_set_format(LOG_FORMAT_TEXT);
    log_set_fd(lp.wfd);
    *state = &lp;
    return 0;
}

static int teardown(void **state)
{
    struct logpipe *lp = *state;
    log_set_fd(2);
    unsetenv("JOURNAL_STREAM");
    close(lp->rfd);
    close(lp->wfd);
    return 0;
}

/* Everything logged since the last call, as a C string (lp->buf). */
static const char *drain(struct logpipe *lp)
{
    lp->len = 0;
    for (;;) {
        ssize_t n = read(lp->rfd, lp->buf + lp->len, sizeof(lp->buf) - 1 - lp->len);
        if (n <= 0)
            break;
        lp->len += (size_t)n;
    }
    lp->buf[lp->len] = '\0';
    return lp->buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_names(void **state)
{
    enum log_level l;
    enum log_domain d;
    for (int i = 0; i < LOG_LEVEL_MAX; i++) {
        assert_int_equal(log_level_parse(log_level_name((enum log_level)i), &l), 0);
        assert_int_equal(l, i);
    }
    assert_string_equal(log_level_name(LOG_LEVEL_WARN), "warn");
    assert_string_equal(log_level_name(LOG_LEVEL_MAX), "?");
    assert_int_equal(log_level_parse("warning", &l), -1);
    assert_int_equal(log_level_parse("", &l), -1);
    for (int i = 0; i < LOG_DOMAIN_MAX; i++) {
        assert_int_equal(log_domain_parse(log_domain_name((enum log_domain)i), &d), 0);
        assert_int_equal(d, i);
    }
    assert_string_equal(log_domain_name(LOG_TLS), "tls");
    assert_string_equal(log_domain_name(LOG_DOMAIN_MAX), "?");
    assert_int_equal(log_domain_parse("gossip", &d), -1);
}

static void test_levels(void **state)
{
    struct logpipe *lp = *state;

    log_set_level(LOG_LEVEL_WARN);
    log_debug(LOG_CORE, "d");
    log_info(LOG_CORE, "i");
    assert_string_equal(drain(lp), "");
    assert_false(log_is_enabled(LOG_LEVEL_INFO, LOG_CORE));
    assert_true(log_is_enabled(LOG_LEVEL_WARN, LOG_CORE));

    log_warn(LOG_CORE, "w %d", 1);
    log_error(LOG_CONFIG, "e %s", "two");
    assert_string_equal(drain(lp), TS0 " warn  core: test_levels: w 1\n" TS0
                                       " error config: test_levels: e two\n");

    log_set_level(LOG_LEVEL_DEBUG);
    log_debug(LOG_STORE, "now visible");
    assert_string_equal(drain(lp), TS0 " debug store: test_levels: now visible\n");

    log_set_level(LOG_LEVEL_ERROR);
    log_warn(LOG_CORE, "hidden");
    log_error(LOG_CORE, "shown");
    assert_string_equal(drain(lp), TS0 " error core: test_levels: shown\n");
}

static void test_debug_domains(void **state)
{
    struct logpipe *lp = *state;

    log_set_debug_domains(1u << LOG_TLS | 1u << LOG_ADMIN);
    assert_true(log_is_enabled(LOG_LEVEL_DEBUG, LOG_TLS));
    assert_true(log_is_enabled(LOG_LEVEL_DEBUG, LOG_ADMIN));
    assert_false(log_is_enabled(LOG_LEVEL_DEBUG, LOG_CORE));
    assert_false(log_is_enabled(LOG_LEVEL_DEBUG, LOG_DOMAIN_MAX));

    log_debug(LOG_TLS, "handshake %d", 1);
    log_debug(LOG_CORE, "not this");
    log_debug(LOG_ADMIN, "request");
    log_info(LOG_CORE, "info still");
    assert_string_equal(drain(lp), TS0 " debug tls: test_debug_domains: handshake 1\n" TS0
                                       " debug admin: test_debug_domains: request\n" TS0
                                       " info  core: test_debug_domains: info still\n");

    /* The mask only adds debug: a higher level still hides info elsewhere. */
    log_set_level(LOG_LEVEL_ERROR);
    log_info(LOG_TLS, "hidden");
    log_debug(LOG_TLS, "debug shown");
    assert_string_equal(drain(lp), TS0 " debug tls: test_debug_domains: debug shown\n");

    log_set_debug_domains(0);
    log_debug(LOG_TLS, "off again");
    assert_string_equal(drain(lp), "");
}

/* Read one JSON log line back; returns the tree (caller frees). */
static struct jsonv *parse_line(const char *line)
{
    struct weft_err e = {{0}};
    size_t n = strlen(line);
    assert_true(n > 0 && line[n - 1] == '\n');
    assert_int_equal(count_lines(line), 1);
    struct jsonv *v = jsonv_parse(line, n, &e);
    if (!v)
        fail_msg("log line is not valid JSON (%s): %s", e.msg, line);
    return v;
}

static void test_json_format(void **state)
{
    struct logpipe *lp = *state;
    static const char msg[] = "quote \" backslash \\ nl \n tab \t cr \r ctl \x01\x1f del \x7f "
                              "utf8 caf\xc3\xa9 \xf0\x9f\x98\x80 end";

    log_set_format(LOG_FORMAT_JSON);
    fakeclock_set_ms(1234);
    log_warn(LOG_STORE, "%s", msg);
    struct jsonv *v = parse_line(drain(lp));
    assert_int_equal(jsonv_len(v), 5);
    assert_string_equal(jsonv_str(jsonv_get(v, "ts"), NULL), "2023-11-14T22:13:21.234Z");
    assert_string_equal(jsonv_str(jsonv_get(v, "level"), NULL), "warn");
    assert_string_equal(jsonv_str(jsonv_get(v, "domain"), NULL), "store");
    assert_string_equal(jsonv_str(jsonv_get(v, "func"), NULL), "test_json_format");
    assert_string_equal(jsonv_str(jsonv_get(v, "msg"), NULL), msg);
    jsonv_free(v);

    /* Over-long messages are cut, but the line stays one valid JSON object. */
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_info(LOG_CORE, "%s", big);
    v = parse_line(drain(lp));
    const char *m = jsonv_str(jsonv_get(v, "msg"), NULL);
    assert_non_null(m);
    assert_true(strlen(m) > 1000 && strlen(m) < sizeof(big) - 1);
    jsonv_free(v);

    /* Worst case for escaping: every byte becomes six. */
    memset(big, '\x01', sizeof(big) - 1);
    log_error(LOG_CORE, "%s", big);
    v = parse_line(drain(lp));
    m = jsonv_str(jsonv_get(v, "msg"), NULL);
    assert_non_null(m);
    assert_true(strlen(m) > 100);
    assert_int_equal(m[0], '\x01');
    jsonv_free(v);
}

/* Point JOURNAL_STREAM at fd (as systemd does for the service's stderr). */
static void set_journal_stream(int fd)
{
    struct stat st;
    char val[64];
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(val, sizeof(val), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    assert_int_equal(setenv("JOURNAL_STREAM", val, 1), 0);
}

static void test_journald(void **state)
{
    struct logpipe *lp = *state;

    set_journal_stream(lp->wfd);
    log_set_fd(lp->wfd); /* detection is redone on set_fd */
    log_set_level(LOG_LEVEL_DEBUG);
    log_debug(LOG_CORE, "d");
    log_info(LOG_CONFIG, "i %d", 1);
    log_warn(LOG_TLS, "w");
    log_error(LOG_STORE, "e");
    /* syslog priorities, no timestamp (journald adds its own). */
    assert_string_equal(drain(lp), "<7>core: test_journald: d\n"
                                   "<6>config: test_journald: i 1\n"
                                   "<4>tls: test_journald: w\n"
                                   "<3>store: test_journald: e\n");

    /* JOURNAL_STREAM naming another stream (same device, other inode):
     * plain text lines. */
    struct stat st;
    char val[64];
    assert_int_equal(fstat(lp->wfd, &st), 0);
    snprintf(val, sizeof(val), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    assert_int_equal(setenv("JOURNAL_STREAM", val, 1), 0);
    log_set_fd(lp->wfd);
    log_warn(LOG_TLS, "w");
    assert_string_equal(drain(lp), TS0 " warn  tls: test_journald: w\n");

    /* Malformed or absent: plain text. */
    assert_int_equal(setenv("JOURNAL_STREAM", "garbage", 1), 0);
    log_set_fd(lp->wfd);
    log_warn(LOG_TLS, "w");
    assert_string_equal(drain(lp), TS0 " warn  tls: test_journald: w\n");
    unsetenv("JOURNAL_STREAM");
    log_set_fd(lp->wfd);
    log_warn(LOG_TLS, "w");
    assert_string_equal(drain(lp), TS0 " warn  tls: test_journald: w\n");
}

static void test_ratelim(void **state)
{
    struct logpipe *lp = *state;
    /* At most 3 lines per second. The clock starts at 0, a valid instant. */
    static struct log_ratelim rl = LOG_RATELIM_INIT(1000, 3);
    const char *out;

    for (int i = 0; i < 10; i++)
        log_ratelim(&rl, LOG_LEVEL_WARN, LOG_CORE, "peer %s: bad packet %d", "10.0.0.1", i);
    out = drain(lp);
    assert_int_equal(count_lines(out), 3);
    assert_string_equal(out, TS0 " warn  core: test_ratelim: peer 10.0.0.1: bad packet 0\n" TS0
                                 " warn  core: test_ratelim: peer 10.0.0.1: bad packet 1\n" TS0
                                 " warn  core: test_ratelim: peer 10.0.0.1: bad packet 2\n");

    /* Still inside the window, up to its last millisecond: suppressed. */
    fakeclock_advance_ms(500);
    log_ratelim(&rl, LOG_LEVEL_WARN, LOG_CORE, "peer %s: bad packet %d", "10.0.0.1", 10);
    fakeclock_advance_ms(499);
    log_ratelim(&rl, LOG_LEVEL_WARN, LOG_CORE, "peer %s: bad packet %d", "10.0.0.1", 11);
    assert_string_equal(drain(lp), "");

    /* Disabled levels neither print nor count. */
    log_ratelim(&rl, LOG_LEVEL_DEBUG, LOG_CORE, "peer %s: debug %d", "10.0.0.1", 0);

    /* The window has passed: the next line reports what was dropped. */
    fakeclock_advance_ms(1);
    log_ratelim(&rl, LOG_LEVEL_WARN, LOG_CORE, "peer %s: bad packet %d", "10.0.0.1", 12);
    assert_string_equal(drain(lp), "2023-11-14T22:13:21.000Z warn  core: test_ratelim: peer "
                                   "10.0.0.1: bad packet 12 (9 similar messages suppressed)\n");

    /* A new burst: two more plain lines, then suppression again. */
    for (int i = 13; i < 17; i++)
        log_ratelim(&rl, LOG_LEVEL_WARN, LOG_CORE, "peer %s: bad packet %d", "10.0.0.1", i);
    out = drain(lp);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "bad packet 13\n"));
    assert_non_null(strstr(out, "bad packet 14\n"));
    assert_null(strstr(out, "suppressed"));

    /* A long quiet spell, then one line carrying the old count. */
    fakeclock_advance_ms(60000);
    log_ratelim(&rl, LOG_LEVEL_WARN, LOG_CORE, "peer %s: bad packet %d", "10.0.0.1", 17);
    out = drain(lp);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "bad packet 17 (2 similar messages suppressed)\n"));
    log_ratelim(&rl, LOG_LEVEL_WARN, LOG_CORE, "peer %s: bad packet %d", "10.0.0.1", 18);
    out = drain(lp);
    assert_non_null(strstr(out, "bad packet 18\n"));
}

static void test_ratelim_json(void **state)
{
    struct logpipe *lp = *state;
    struct log_ratelim rl = LOG_RATELIM_INIT(100, 1);

    log_set_format(LOG_FORMAT_JSON);
    fakeclock_set_ms(5000);
    log_ratelim(&rl, LOG_LEVEL_ERROR, LOG_ADMIN, "client \"%s\"", "x");
    log_ratelim(&rl, LOG_LEVEL_ERROR, LOG_ADMIN, "client \"%s\"", "y");
    struct jsonv *v = parse_line(drain(lp));
    assert_string_equal(jsonv_str(jsonv_get(v, "msg"), NULL), "client \"x\"");
    jsonv_free(v);
    fakeclock_advance_ms(100);
    log_ratelim(&rl, LOG_LEVEL_ERROR, LOG_ADMIN, "client \"%s\"", "z");
    v = parse_line(drain(lp));
    assert_string_equal(jsonv_str(jsonv_get(v, "msg"), NULL),
                        "client \"z\" (1 similar messages suppressed)");
    assert_string_equal(jsonv_str(jsonv_get(v, "func"), NULL), "test_ratelim_json");
    jsonv_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journald, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ratelim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ratelim_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
