/*
 * agent_keys: the agent's side of gossip key rotation (agent_keys.c).
 *   POST /v1/keyring  {"op": "list"|"install"|"use"|"remove", "key": B64}
 *       sends Serf's internal key query to every member (ourselves too) and
 *       answers, once every live member has answered or at the query's
 *       deadline, with Serf's KeyResponse summary:
 *       {"op", "ok", "failure", "num_nodes", "num_resp", "num_err",
 *        "messages": {node: message}, "keys": {key: count},
 *        "primary_keys": {key: count}}     (primary_keys: list only)
 *   agent_keys_changed(): a key query changed the live keyring -> rewrite
 *       [gossip] key_file atomically (serf's -keyring-file behaviour).
 */
#ifndef WEFT_AGENT_KEYS_H
#define WEFT_AGENT_KEYS_H

#include "core/err.h"
#include "gossip/keyring.h"

struct weft;

/** Register POST /v1/keyring (409 "gossip is off" without gossip). Returns 0 or -1. */
int agent_keys_register(struct weft *w);

/** Answer (503) and free the keyring requests still in flight; before gossip_net_free. */
void agent_keys_stop(struct weft *w);

/** The live keyring changed (arg is the struct weft; gossip_net_config's
 * on_keys_changed): save it to [gossip] key_file. */
void agent_keys_changed(void *arg, const struct keyring *kr);

/**
 * Replace the key file at path with kr (one base64 key per line, primary
 * first) atomically: a temporary file in the same directory, mode 0600,
 * fsync, rename over path, fsync of the directory. A crash leaves either
 * the old file or the new one. Returns 0, or -1 with a message in e (the
 * old file is then untouched).
 */
int agent_keys_save(const char *path, const struct keyring *kr, struct weft_err *e);

#endif
