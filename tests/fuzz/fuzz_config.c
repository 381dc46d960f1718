/*
 * fuzz_config: config_parse_string() on arbitrary bytes.
 *
 * The input, cut at its first NUL (config_load_file() refuses NUL bytes
 * before the parser sees them), is parsed as a config file named
 * "fuzz.ini". Then what config.h promises is checked:
 *
 *   refused   NULL comes with at least one error, and every error is one
 *             line that starts with "fuzz.ini:" (FILE:LINE: ... or FILE: ...);
 *   accepted  `config show` is a config file in its own right:
 *
 *               text --parse--> cfg1 --show--> show1 --parse--> cfg2 --show--> show2
 *
 *             show1 must parse without error, show2 must equal show1 byte
 *             for byte, and config_diff(cfg1, cfg2) must find no change
 *             (what SIGHUP would see if the agent re-read its own
 *             GET /v1/config).
 *
 * The node name may come from the host name (an empty or missing
 * [node] name): that is the same host for both parses, so the round trip
 * still holds.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/sbuf.h"
#include "fuzz.h"

/* The file name the errors carry. */
#define NAME "fuzz.ini"

/* Refused input: the errors must be there and look like errors. */
static void check_errors(const struct config_errs *errs)
{
    struct sbuf all;
    FUZZ_CHECK(errs->n > 0, "config_parse_string returned NULL without an error");
    for (size_t i = 0; i < errs->n; i++) {
        const char *line = errs->lines[i];
        FUZZ_CHECK(strncmp(line, NAME ":", strlen(NAME ":")) == 0, "error without the file: %s",
                   line);
        FUZZ_CHECK(!strchr(line, '\n'), "error spans lines: %s", line);
    }
    /* config_errs_format adds one '\n' per error: exercise it too. */
    sbuf_init(&all);
    config_errs_format(errs, &all);
    if (!all.oom) {
        size_t lines = 0;
        for (size_t i = 0; i < all.len; i++)
            lines += all.data[i] == '\n';
        FUZZ_CHECK(lines == errs->n, "config_errs_format wrote %zu lines for %zu errors", lines,
                   errs->n);
    }
    sbuf_deinit(&all);
}

/* Accepted input: show -> parse -> show is a fixed point. */
static void check_round_trip(const struct weft_config *cfg)
{
    struct sbuf show1, show2, changed, restart;
    struct config_errs errs;
    struct weft_config *cfg2 = NULL;

    sbuf_init(&show1);
    sbuf_init(&show2);
    sbuf_init(&changed);
    sbuf_init(&restart);
    config_errs_init(&errs);
    config_show(cfg, &show1);
    if (show1.oom)
        goto out;
    cfg2 = config_parse_string(NAME, sbuf_str(&show1), &errs);
    if (!cfg2) {
        struct sbuf msg;
        sbuf_init(&msg);
        config_errs_format(&errs, &msg);
        FUZZ_CHECK(cfg2, "config show output does not parse:\n%s--- show:\n%s", sbuf_str(&msg),
                   sbuf_str(&show1));
    }
    config_show(cfg2, &show2);
    if (show2.oom)
        goto out;
    FUZZ_CHECK(strcmp(sbuf_str(&show1), sbuf_str(&show2)) == 0,
               "config show is not stable:\n--- first:\n%s--- second:\n%s", sbuf_str(&show1),
               sbuf_str(&show2));
    int n = config_diff(cfg, cfg2, &changed, &restart);
    FUZZ_CHECK(n == 0, "config_diff finds %d changed keys after a round trip: %s (restart: %s)", n,
               sbuf_str(&changed), sbuf_str(&restart));
out:
    config_free(cfg2);
    config_errs_deinit(&errs);
    sbuf_deinit(&restart);
    sbuf_deinit(&changed);
    sbuf_deinit(&show2);
    sbuf_deinit(&show1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_errs errs;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    config_errs_init(&errs);
    struct weft_config *cfg = config_parse_string(NAME, text, &errs);
    if (cfg)
        check_round_trip(cfg);
    else
        check_errors(&errs);
    config_free(cfg);
    config_errs_deinit(&errs);
    free(text);
    return 0;
}
