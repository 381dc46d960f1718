#include "core/loop.h"

#include "core/log.h"

#include <event2/event.h>

static void loop_event_log(int severity, const char *msg)
{
    switch (severity) {
    case EVENT_LOG_DEBUG:
        log_debug(LOG_CORE, "libevent: %s", msg);
        break;
    case EVENT_LOG_MSG:
        log_info(LOG_CORE, "libevent: %s", msg);
        break;
    case EVENT_LOG_WARN:
        log_warn(LOG_CORE, "libevent: %s", msg);
        break;
    default:
        log_error(LOG_CORE, "libevent: %s", msg);
        break;
    }
}

void loop_lib_init(void)
{
    event_set_log_callback(loop_event_log);
}

struct event_base *loop_new(void)
{
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return NULL;
    /* One loop per process, never shared between threads: no locking. */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

int loop_timer_add(struct event *ev, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return event_add(ev, &tv);
}
