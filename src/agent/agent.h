/*
 * agent: `weft agent`, the daemon. struct weft is the root object: it owns
 * the event loop, the config, the store and the admin API, and is passed
 * explicitly; nothing else is global besides the logger.
 *
 * Lifecycle:
 *   load config -> set up logging -> crypto init -> open store (lock, check,
 *   migrate) -> node id -> admin API -> signals + watchdog -> READY=1 -> loop
 *   SIGHUP: RELOADING=1, load a fresh config, validate, swap what may change
 *           live, report what needs a restart, keep the old one if invalid;
 *           READY=1.
 *   SIGTERM/SIGINT: STOPPING=1, stop accepting, drain, exit 0.
 */
#ifndef WEFT_AGENT_H
#define WEFT_AGENT_H

/* Exit codes, documented in docs/cli.md. */
enum weft_exit {
    WEFT_EXIT_OK = 0,
    WEFT_EXIT_FAIL = 1,        /* runtime failure, invalid config */
    WEFT_EXIT_USAGE = 2,       /* bad command line */
    WEFT_EXIT_UNREACHABLE = 3, /* no agent answers on the admin socket */
};

/**
 * Run the agent until SIGTERM/SIGINT. config_path NULL = the embedded
 * default. Returns a process exit code (enum weft_exit).
 */
int agent_run(const char *config_path);

#endif
