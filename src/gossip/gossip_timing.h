/*
 * gossip_timing: the effective SWIM timing of a config — [gossip] profile's
 * numbers with the [gossip] timing keys (probe_interval, ...) on top — and
 * its check, both at config load (config_set_check) and at agent start.
 *
 * No allocation: everything is filled into caller-owned structs.
 */
#ifndef WEFT_GOSSIP_GOSSIP_TIMING_H
#define WEFT_GOSSIP_GOSSIP_TIMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/err.h"
#include "gossip/swim.h"

/** The profile's values with gc's overrides (CONFIG_UNSET: the profile's) into *out. */
void gossip_timing_effective(const struct config_gossip *gc, struct swim_config *out);
/**
 * gossip_timing_effective + swim_config_check. Returns 0, or -1 with the
 * message in e and *key the [gossip] key to blame: the override whose
 * removal makes the set valid, else the first one set ("profile" if none).
 */
int gossip_timing_check(const struct config_gossip *gc, struct swim_config *out, const char **key,
                        struct weft_err *e);
/** A config_check_all_fn (config.h): gossip_timing_check on cfg->gossip. */
int gossip_timing_config_check(const struct weft_config *cfg, const char **section,
                               const char **key, struct weft_err *e);
/** The [gossip] timing key names, in config order, and how many there are. */
extern const char *const gossip_timing_keys[];
extern const size_t gossip_timing_nkeys;
/** Whether key i is a duration (its value in ms), else a count. */
bool gossip_timing_is_dur(size_t i);
/** The effective value of key i (ms for durations) from *c. */
int64_t gossip_timing_value(const struct swim_config *c, size_t i);

#endif
