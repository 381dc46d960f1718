/*
 * gossip_timing: profile + [gossip] timing overrides, and their check (see
 * gossip_timing.h). One table maps each key to its config field and its
 * struct swim_config field. No allocation.
 */
#include "gossip/gossip_timing.h"

#include <stddef.h>
#include <string.h>

struct timing_key {
    const char *name;
    size_t cfg_off;  /* in struct config_gossip: int64_t (dur) or int32_t */
    size_t swim_off; /* in struct swim_config: int64_t (dur) or unsigned */
    bool dur;
};

#define DUR(n, f)                                                                                  \
    {                                                                                              \
        n, offsetof(struct config_gossip, f), offsetof(struct swim_config, f), true                \
    }
#define NUM(n, f)                                                                                  \
    {                                                                                              \
        n, offsetof(struct config_gossip, f), offsetof(struct swim_config, f), false               \
    }

static const struct timing_key keys[] = {
    DUR("probe_interval", probe_interval_ms),   DUR("probe_timeout", probe_timeout_ms),
    DUR("gossip_interval", gossip_interval_ms), NUM("gossip_nodes", gossip_nodes),
    DUR("gossip_to_dead", gossip_to_dead_ms),   DUR("push_pull_interval", push_pull_interval_ms),
    NUM("indirect_checks", indirect_checks),    NUM("retransmit_mult", retransmit_mult),
    NUM("suspicion_mult", suspicion_mult),      NUM("suspicion_max_mult", suspicion_max_mult),
    NUM("awareness_max", awareness_max),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *const gossip_timing_keys[] = {
    "probe_interval", "probe_timeout",      "gossip_interval", "gossip_nodes",
    "gossip_to_dead", "push_pull_interval", "indirect_checks", "retransmit_mult",
    "suspicion_mult", "suspicion_max_mult", "awareness_max",
};
const size_t gossip_timing_nkeys = NKEYS;
_Static_assert(sizeof(gossip_timing_keys) / sizeof(gossip_timing_keys[0]) == NKEYS,
               "gossip_timing_keys[] and keys[]");

/* The override of key i, or CONFIG_UNSET. */
static int64_t override_of(const struct config_gossip *gc, size_t i)
{
    const char *f = (const char *)gc + keys[i].cfg_off;
    if (keys[i].dur) {
        int64_t v;
        memcpy(&v, f, sizeof(v));
        return v;
    }
    int32_t v;
    memcpy(&v, f, sizeof(v));
    return v;
}

static void apply(struct swim_config *c, size_t i, int64_t v)
{
    char *f = (char *)c + keys[i].swim_off;
    if (keys[i].dur) {
        memcpy(f, &v, sizeof(v));
    } else {
        unsigned u = (unsigned)v;
        memcpy(f, &u, sizeof(u));
    }
}

bool gossip_timing_is_dur(size_t i)
{
    return i < NKEYS && keys[i].dur;
}

int64_t gossip_timing_value(const struct swim_config *c, size_t i)
{
    const char *f = (const char *)c + keys[i].swim_off;
    if (keys[i].dur) {
        int64_t v;
        memcpy(&v, f, sizeof(v));
        return v;
    }
    unsigned u;
    memcpy(&u, f, sizeof(u));
    return u;
}

/* The effective values, leaving out key `skip` (NKEYS: none). */
static void effective_but(const struct config_gossip *gc, size_t skip, struct swim_config *out)
{
    swim_config_profile(out, (enum swim_profile)gc->profile);
    for (size_t i = 0; i < NKEYS; i++) {
        int64_t v = override_of(gc, i);
        if (i != skip && v != CONFIG_UNSET)
            apply(out, i, v);
    }
}

void gossip_timing_effective(const struct config_gossip *gc, struct swim_config *out)
{
    effective_but(gc, NKEYS, out);
}

int gossip_timing_check(const struct config_gossip *gc, struct swim_config *out, const char **key,
                        struct weft_err *e)
{
    struct swim_config t;
    struct weft_err te;
    effective_but(gc, NKEYS, out);
    if (swim_config_check(out, e) == 0)
        return 0;
    *key = "profile";
    for (size_t i = 0; i < NKEYS; i++) {
        if (override_of(gc, i) == CONFIG_UNSET)
            continue;
        if (strcmp(*key, "profile") == 0)
            *key = keys[i].name; /* the first one set, unless one alone is at fault */
        effective_but(gc, i, &t);
        err_clear(&te);
        if (swim_config_check(&t, &te) == 0) {
            *key = keys[i].name;
            break;
        }
    }
    return err_prefix(e, "with profile %s", swim_profile_name((enum swim_profile)gc->profile));
}

int gossip_timing_config_check(const struct weft_config *cfg, const char **section,
                               const char **key, struct weft_err *e)
{
    struct swim_config c;
    *section = "gossip";
    return gossip_timing_check(&cfg->gossip, &c, key, e);
}
