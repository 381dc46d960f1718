/*
 * reload: what a SIGHUP needs from config/ — which keys changed, which of
 * those only a restart applies, and a merged config to swap in.
 *
 * The agent's reload is: load a fresh config (config_load_file validates it
 * whole; on any error keep the running one and log every error), then
 * config_diff(running, fresh) to log what changed and what needs a restart,
 * then config_reload_merge(fresh, running) so the keys that cannot change
 * live keep their running value, then swap. The running config thus always
 * says what is in effect, and `config show --running` tells the truth.
 */
#include "config/config.h"

#include "config/schema.h"

static void append_key(struct sbuf *b, const struct config_key *k)
{
    if (b)
        sbuf_printf(b, "%s%s.%s", b->len ? ", " : "", k->section, k->name);
}

int config_diff(const struct weft_config *old, const struct weft_config *new, struct sbuf *changed,
                struct sbuf *restart)
{
    int n = 0;
    if (!old || !new)
        return 0;
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (config_value_equal(k, config_field_const(old, k), config_field_const(new, k)))
            continue;
        n++;
        append_key(changed, k);
        if (!(k->flags & CONFIG_KEY_RELOAD))
            append_key(restart, k);
    }
    return n;
}

int config_reload_merge(struct weft_config *fresh, const struct weft_config *running)
{
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->flags & CONFIG_KEY_RELOAD)
            continue;
        if (config_value_copy(k, config_field(fresh, k), config_field_const(running, k)) != 0)
            return -1;
    }
    return 0;
}
