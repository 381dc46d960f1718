#include "store/migrate.h"

#include "core/log.h"

#include <stddef.h>
#include <stdio.h>

/*
 * Append-only: never edit a shipped step, add the next one. Index i holds the
 * SQL that takes the schema from version i to i + 1.
 */
static const char *const migrations[] = {
    /* 0 -> 1: the base. meta holds node-level facts (node id, boot count). */
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE debug_writes (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
    "  value TEXT NOT NULL, written_ms INTEGER NOT NULL);",
    /* 1 -> 2: the node's identity (docs/identity.md): its node and service
     * certificates with their private keys, and the trust roots. Times are
     * unix seconds; serial is hex, issuer_fp the SHA-256 of the issuer's DER. */
    "CREATE TABLE identities (kind TEXT NOT NULL CHECK (kind IN ('node', 'svc')),"
    "  name TEXT NOT NULL, spiffe_id TEXT NOT NULL UNIQUE, cert_pem TEXT NOT NULL,"
    "  key_pem TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
    "  serial TEXT NOT NULL, issuer_fp TEXT NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID;"
    "CREATE TABLE trust_roots (fingerprint TEXT PRIMARY KEY NOT NULL, cert_pem TEXT NOT NULL,"
    "  not_after INTEGER NOT NULL) WITHOUT ROWID;",
    /* 2 -> 3: the gossip members this node knew (docs/gossip.md "Persistence
     * and rejoin"): rewritten as a whole when the member table changes, read
     * at start to rejoin. addr is textual (IPv4 or IPv6), status one of the
     * four member states, updated_ms unix milliseconds of the write. */
    "CREATE TABLE gossip_members (name TEXT PRIMARY KEY NOT NULL, addr TEXT NOT NULL,"
    "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
    "  status TEXT NOT NULL CHECK (status IN ('alive', 'suspect', 'dead', 'left')),"
    "  updated_ms INTEGER NOT NULL) WITHOUT ROWID;",
    /* 3 -> 4: the online CA's record of which node may hold which service
     * certificates (docs/identity.md "The CA service and renewal"); only a
     * CA node writes it. source: how the enrollment was learnt ('proof': a
     * renewal that proved it held the service's key; 'token': online
     * enrollment). created: unix seconds. tokens: the one-time enrollment
     * tokens it handed out: the SHA-256 of the secret (never the secret),
     * the node and services (comma-separated) it grants, expiry and use
     * (unix seconds, NULL: unused). */
    "CREATE TABLE enrollments (node TEXT NOT NULL, service TEXT NOT NULL,"
    "  source TEXT NOT NULL, created INTEGER NOT NULL,"
    "  PRIMARY KEY (node, service)) WITHOUT ROWID;"
    "CREATE TABLE tokens (hash TEXT PRIMARY KEY NOT NULL, node TEXT NOT NULL,"
    "  services TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,"
    "  used INTEGER) WITHOUT ROWID;",
    /* 4 -> 5: what the online CA last heard from each node (docs/identity.md
     * "Root rotation"): the fingerprints of the roots it trusts and of the
     * roots its certificates chain to (comma-separated hex), and when (unix
     * seconds). Only a CA node writes it; rotation steps are gated on it. */
    "CREATE TABLE ca_nodes (node TEXT PRIMARY KEY NOT NULL, roots TEXT NOT NULL,"
    "  issuers TEXT NOT NULL, seen INTEGER NOT NULL) WITHOUT ROWID;",
    /* 5 -> 6: the mesh's replicated state (docs/mesh.md "Replication"):
     * the newest version of every record this node holds (tombstones
     * included, deleted = 1 with an empty body), and the history of every
     * version it accepted, newest last, for `weft history` (pruned to the
     * newest rows by store_mesh_put). hlc: the writer's hybrid logical
     * clock stamp; writer: its SPIFFE ID; received_ms: unix ms here. */
    "CREATE TABLE mesh_records (kind TEXT NOT NULL, name TEXT NOT NULL,"
    "  hlc INTEGER NOT NULL, writer TEXT NOT NULL,"
    "  deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)), body BLOB NOT NULL,"
    "  PRIMARY KEY (kind, name)) WITHOUT ROWID;"
    "CREATE TABLE mesh_history (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL, name TEXT NOT NULL, hlc INTEGER NOT NULL,"
    "  writer TEXT NOT NULL, deleted INTEGER NOT NULL, body BLOB NOT NULL,"
    "  received_ms INTEGER NOT NULL);"
    "CREATE INDEX mesh_history_key ON mesh_history (kind, name, seq);",
};

int migrate_latest(void)
{
    return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

static int exec(sqlite3 *db, const char *sql, struct weft_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int read_version(sqlite3 *db, int *version, struct weft_err *e)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &stmt, NULL) !=
        SQLITE_OK)
        return err_set(e, "reading schema version: %s", sqlite3_errmsg(db));
    int rc = sqlite3_step(stmt);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : err_set(e, "reading schema version: %s", sqlite3_errmsg(db));
}

int migrate_run(sqlite3 *db, int *version, struct weft_err *e)
{
    if (exec(db,
             "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY NOT NULL,"
             " applied_ms INTEGER NOT NULL)",
             e) != 0)
        return err_prefix(e, "creating schema_version");
    if (read_version(db, version, e) != 0)
        return -1;
    if (*version > migrate_latest())
        return err_set(e,
                       "database schema version %d is newer than this weft knows (%d): "
                       "downgrading is not supported",
                       *version, migrate_latest());
    while (*version < migrate_latest()) {
        int next = *version + 1;
        char bump[160];
        if (exec(db, "BEGIN IMMEDIATE", e) != 0)
            return err_prefix(e, "migration to %d", next);
        snprintf(bump, sizeof(bump),
                 "INSERT INTO schema_version (version, applied_ms) VALUES (%d, "
                 "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
                 next);
        if (exec(db, migrations[*version], e) != 0 || exec(db, bump, e) != 0) {
            exec(db, "ROLLBACK", NULL);
            return err_prefix(e, "migration to schema version %d", next);
        }
        if (exec(db, "COMMIT", e) != 0)
            return err_prefix(e, "migration to %d", next);
        log_info(LOG_STORE, "schema migrated to version %d", next);
        *version = next;
    }
    return 0;
}
