/*
 * named: the item lists of [KIND NAME] sections (schema.h) — free, compare,
 * copy and look up items, generically through the kind's rows.
 *
 * A list's items array is allocated by the parse (parse.c) with room for
 * the kind's `max` items and owned by the struct weft_config; every item
 * owns its name and its string fields. Everything here goes through the
 * kind table, so a new kind needs nothing in this file.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/schema.h"

void config_item_free(const struct config_kind *kd, void *item)
{
    char **name = (char **)((char *)item + kd->name_offset);
    for (size_t k = 0; k < kd->nkeys; k++)
        config_value_free(&kd->keys[k], config_item_field(item, &kd->keys[k]));
    free(*name);
    memset(item, 0, kd->item_size);
}

void config_lists_free(struct weft_config *cfg)
{
    for (size_t i = 0; i < config_kinds_count; i++) {
        const struct config_kind *kd = &config_kinds[i];
        struct config_list *l = config_kind_list(cfg, kd);
        for (size_t j = 0; j < l->n; j++)
            config_item_free(kd, config_kind_item(kd, l, j));
        free(l->items);
        l->items = NULL;
        l->n = 0;
    }
}

bool config_item_equal(const struct config_kind *kd, const void *a, const void *b)
{
    const char *na = config_item_name(kd, a), *nb = config_item_name(kd, b);
    if (!na || !nb ? na != nb : strcmp(na, nb) != 0)
        return false;
    for (size_t k = 0; k < kd->nkeys; k++) {
        const struct config_key *row = &kd->keys[k];
        if (!config_value_equal(row, config_item_field_const(a, row),
                                config_item_field_const(b, row)))
            return false;
    }
    return true;
}

/* Copy one item into a zeroed dst. Returns 0, or -1 on OOM (dst is then freed). */
static int item_copy(const struct config_kind *kd, void *dst, const void *src)
{
    const char *name = config_item_name(kd, src);
    char **dname = (char **)((char *)dst + kd->name_offset);
    if (name && !(*dname = strdup(name)))
        return -1;
    for (size_t k = 0; k < kd->nkeys; k++) {
        const struct config_key *row = &kd->keys[k];
        if (config_value_copy(row, config_item_field(dst, row),
                              config_item_field_const(src, row)) != 0) {
            config_item_free(kd, dst);
            return -1;
        }
    }
    return 0;
}

int config_list_copy(const struct config_kind *kd, struct config_list *dst,
                     const struct config_list *src)
{
    struct config_list fresh = {NULL, 0};
    if (src->n) {
        fresh.items = calloc(kd->max, kd->item_size);
        if (!fresh.items)
            return -1;
        for (; fresh.n < src->n; fresh.n++) {
            if (item_copy(kd, config_kind_item(kd, &fresh, fresh.n),
                          config_kind_item(kd, src, fresh.n)) != 0) {
                for (size_t j = 0; j < fresh.n; j++)
                    config_item_free(kd, config_kind_item(kd, &fresh, j));
                free(fresh.items);
                return -1;
            }
        }
    }
    for (size_t j = 0; j < dst->n; j++)
        config_item_free(kd, config_kind_item(kd, dst, j));
    free(dst->items);
    *dst = fresh;
    return 0;
}

const void *config_list_find(const struct config_kind *kd, const struct config_list *l,
                             const char *name)
{
    for (size_t j = 0; j < l->n; j++) {
        const void *item = config_kind_item(kd, l, j);
        const char *n = config_item_name(kd, item);
        if (n && name && strcmp(n, name) == 0)
            return item;
    }
    return NULL;
}

/* The kind row of [service NAME]. */
static const struct config_kind *service_kind(void)
{
    int i = config_schema_kind("service");
    return i < 0 ? NULL : &config_kinds[i];
}

const struct config_service *config_service_find(const struct weft_config *cfg, const char *name)
{
    const struct config_kind *kd = service_kind();
    return kd ? config_list_find(kd, &cfg->services, name) : NULL;
}

bool config_service_equal(const struct config_service *a, const struct config_service *b)
{
    const struct config_kind *kd = service_kind();
    return kd && config_item_equal(kd, a, b);
}

/* The kind row of [upstream NAME]. */
static const struct config_kind *upstream_kind(void)
{
    int i = config_schema_kind("upstream");
    return i < 0 ? NULL : &config_kinds[i];
}

const struct config_upstream *config_upstream_find(const struct weft_config *cfg, const char *name)
{
    const struct config_kind *kd = upstream_kind();
    return kd ? config_list_find(kd, &cfg->upstreams, name) : NULL;
}

bool config_upstream_equal(const struct config_upstream *a, const struct config_upstream *b)
{
    const struct config_kind *kd = upstream_kind();
    return kd && config_item_equal(kd, a, b);
}
