/*
 * migrate: schema migrations. Each step is SQL applied in its own
 * transaction together with the bump of schema_version, so a crash leaves the
 * database at one version or the next, never in between.
 */
#ifndef WEFT_STORE_MIGRATE_H
#define WEFT_STORE_MIGRATE_H

#include <sqlite3.h>

#include "core/err.h"

/** The newest version this binary knows. */
int migrate_latest(void);
/**
 * Bring db up to migrate_latest(). A database newer than this binary is
 * refused (downgrades are not supported). Fills *version. Returns 0 or -1.
 */
int migrate_run(sqlite3 *db, int *version, struct weft_err *e);

#endif
