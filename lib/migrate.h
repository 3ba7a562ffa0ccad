/* migrate: the numbered SQL migrations in paths.sql.
 *
 * Files are named NNNN_description.sql and applied in order, each recorded
 * in schema_migrations (version, name, checksum, applied_at).  A file that
 * was applied and has changed since is an error, never a silent re-run. */
#ifndef CAIRN_MIGRATE_H
#define CAIRN_MIGRATE_H

#include <stdio.h>

#include "db.h"
#include "diag.h"

/* Applies what is pending, reporting each file on out (may be NULL).  One
 * run at a time across every host: a lease row in schema_migrate_lock
 * (created here, as schema_migrations is), renewed before each file; a
 * second run waits up to 10 minutes for the first, saying so on out. */
int migrate_apply(struct db *db, const char *dir, FILE *out, struct diag *d);
/* Prints applied and pending migrations; *pending gets their count.
 * Read-only: a database without schema_migrations (never migrated) has
 * every migration pending, and is left as it was. */
int migrate_status(struct db *db, const char *dir, FILE *out, int *pending, struct diag *d);
/* The highest version in dir (0 if none), or -1 when dir is unreadable. */
int migrate_latest(const char *dir, struct diag *d);
/* The highest applied version (0 if none). */
int migrate_applied(struct db *db, int *version, struct diag *d);

#endif
