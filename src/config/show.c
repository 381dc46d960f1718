/*
 * show: the effective config as INI text (`weft config show`, GET /v1/config).
 *
 * Every section and every key of the table, in table order, then every
 * [KIND NAME] section (in file order, every key of its kind), with the value
 * in effect: defaults and computed values (node.name, admin.socket) filled
 * in, unset optional keys written empty ("listen ="). The text is a config
 * file in its own right: config_parse_string() reads it back to the same
 * values, which test_config checks. The one exception is a secret key
 * (CONFIG_KEY_SECRET: [identity] token): when set it is shown as a comment
 * saying so, because GET /v1/config must not hand out a credential.
 */
#include "config/config.h"

#include <string.h>

#include "config/inifile.h"
#include "config/schema.h"

/* What the line reader accepts (inifile.c). */
#define SHOW_LINE_MAX CONFIG_INI_LINE_MAX

/* The header is a comment: keep any odd byte of the source name out of it. */
static void put_comment_text(struct sbuf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        sbuf_append(out, c < 0x20 || c == 0x7f ? "?" : s, 1);
    }
}

/* One "key = value" line. */
static void show_key(struct sbuf *out, const struct config_key *k, const void *field,
                     struct sbuf *val)
{
    sbuf_reset(val);
    config_value_format(k, field, val);
    if (val->len == 0)
        sbuf_printf(out, "%s =\n", k->name);
    else if (k->flags & CONFIG_KEY_SECRET)
        /* A credential (an enrollment token): say that it is set, never what it is. */
        sbuf_printf(out, "; %s is set (hidden)\n", k->name);
    else if (strlen(k->name) + 3 + val->len > SHOW_LINE_MAX)
        /* It came from a line that fit, so the compact form fits. */
        sbuf_printf(out, "%s=%s\n", k->name, sbuf_str(val));
    else
        sbuf_printf(out, "%s = %s\n", k->name, sbuf_str(val));
}

void config_show(const struct weft_config *cfg, struct sbuf *out)
{
    struct sbuf val;
    sbuf_init(&val);
    sbuf_puts(out, "; weft config, effective values (from ");
    put_comment_text(out, cfg->source ? cfg->source : "?");
    sbuf_puts(out, ")\n");
    for (size_t s = 0; s < config_sections_count; s++) {
        const char *section = config_sections[s].name;
        sbuf_printf(out, "\n[%s]\n", section);
        for (size_t i = 0; i < config_keys_count; i++) {
            const struct config_key *k = &config_keys[i];
            if (strcmp(k->section, section) == 0)
                show_key(out, k, config_field_const(cfg, k), &val);
        }
    }
    /* [KIND NAME] sections, kind by kind, each in file order. */
    for (size_t i = 0; i < config_kinds_count; i++) {
        const struct config_kind *kd = &config_kinds[i];
        const struct config_list *l = config_kind_list_const(cfg, kd);
        for (size_t j = 0; j < l->n; j++) {
            const void *item = config_kind_item(kd, l, j);
            sbuf_printf(out, "\n[%s %s]\n", kd->name, config_item_name(kd, item));
            for (size_t k = 0; k < kd->nkeys; k++)
                show_key(out, &kd->keys[k], config_item_field_const(item, &kd->keys[k]), &val);
        }
    }
    if (val.oom)
        out->oom = true;
    sbuf_deinit(&val);
}
