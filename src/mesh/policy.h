/*
 * policy: access policy objects ([policy NAME]) and the one rule that
 * decides whether a caller may reach a service (docs/mesh.md, "Policy
 * evaluation").
 *
 *   [policy NAME]     action = allow|deny       (required)
 *                     from = LIST               (required) "*", service names,
 *                                               spiffe://TD/svc/NAME, spiffe://TD/node/NAME
 *                     to = LIST                 (required) "*" or service names
 *                     priority = 0-1000         (default 100)
 *   [policy default]  action = allow|deny       (only this key): the mesh's default
 *
 * Evaluation, for a caller (its SPIFFE ID, as its mTLS certificate proved)
 * and a target service:
 *   1. a policy matches when its `to` holds "*" or the service, and its
 *      `from` holds "*", the caller's exact ID, or a service name NAME with
 *      the caller's ID being spiffe://<our trust domain>/svc/NAME;
 *   2. of the matching policies, the highest priority decides; at equal
 *      priority deny wins over allow (then the smaller name, so the
 *      deciding object is deterministic too);
 *   3. if none matches, [policy default] decides; with no default object
 *      the answer is allow (a mesh without policies works; the shipped
 *      examples set `action = deny`).
 *
 * Pure: no allocation, no clock, no I/O; the proxy calls it per connection.
 */
#ifndef WEFT_MESH_POLICY_H
#define WEFT_MESH_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "mesh/object_types.h"

struct mesh_policy_decision {
    enum mesh_action action;
    /* The policy object that decided: a matching one, or [policy default];
     * NULL when nothing matched and there is no default (allow). */
    const struct mesh_obj *by;
};

/** "allow" or "deny". */
const char *mesh_action_name(enum mesh_action a);

/** Is o the mesh's default policy ([policy default])? */
bool mesh_policy_is_default(const struct mesh_obj *o);

/**
 * Does policy o (not the default) apply to this caller and service? Other
 * kinds never match.
 */
bool mesh_policy_matches(const struct mesh_obj *o, const char *trust_domain, const char *caller_id,
                         const char *service);

/**
 * Decide with the rule above over objs[0..n) (objects of other kinds are
 * skipped, so a whole object table may be passed). trust_domain is the
 * mesh's (bare service names in `from` mean IDs of this trust domain);
 * caller_id the caller's full SPIFFE ID; service the target's name.
 */
void mesh_policy_decide(const struct mesh_obj *const *objs, size_t n, const char *trust_domain,
                        const char *caller_id, const char *service,
                        struct mesh_policy_decision *out);

#endif
