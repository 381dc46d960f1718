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

/* One change of a [KIND NAME] section: "[kind name] what". */
static void append_item(struct sbuf *b, const struct config_kind *kd, const void *item,
                        const char *what)
{
    if (b)
        sbuf_printf(b, "%s[%s %s] %s", b->len ? ", " : "", kd->name, config_item_name(kd, item),
                    what);
}

static void note_item(struct sbuf *changed, struct sbuf *restart, const struct config_kind *kd,
                      const void *item, const char *what)
{
    append_item(changed, kd, item, what);
    if (!(kd->flags & CONFIG_KEY_RELOAD))
        append_item(restart, kd, item, what);
}

/* Items matched by name: removed, changed key by key, added. */
static int diff_kind(const struct weft_config *old, const struct weft_config *new,
                     const struct config_kind *kd, struct sbuf *changed, struct sbuf *restart)
{
    const struct config_list *lo = config_kind_list_const(old, kd);
    const struct config_list *ln = config_kind_list_const(new, kd);
    int n = 0;
    for (size_t j = 0; j < lo->n; j++) {
        const void *a = config_kind_item(kd, lo, j);
        const void *b = config_list_find(kd, ln, config_item_name(kd, a));
        if (!b) {
            note_item(changed, restart, kd, a, "(removed)");
            n++;
            continue;
        }
        for (size_t k = 0; k < kd->nkeys; k++) {
            const struct config_key *row = &kd->keys[k];
            if (config_value_equal(row, config_item_field_const(a, row),
                                   config_item_field_const(b, row)))
                continue;
            note_item(changed, restart, kd, a, row->name);
            n++;
        }
    }
    for (size_t j = 0; j < ln->n; j++) {
        const void *b = config_kind_item(kd, ln, j);
        if (!config_list_find(kd, lo, config_item_name(kd, b))) {
            note_item(changed, restart, kd, b, "(added)");
            n++;
        }
    }
    return n;
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
    for (size_t i = 0; i < config_kinds_count; i++)
        n += diff_kind(old, new, &config_kinds[i], changed, restart);
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
    for (size_t i = 0; i < config_kinds_count; i++) {
        const struct config_kind *kd = &config_kinds[i];
        if (kd->flags & CONFIG_KEY_RELOAD)
            continue;
        if (config_list_copy(kd, config_kind_list(fresh, kd),
                             config_kind_list_const(running, kd)) != 0)
            return -1;
    }
    return 0;
}
