/* logs_store: the data layer of the logs capability (the only place with
 * its SQL; tables in sql/0001_foundation.sql and sql/0002_logs.sql).
 *
 * Return values: 0 success, -1 database error (d set), and where said,
 * 1 (or 2) for "no such service" and similar outcomes the caller turns
 * into 404/409.  Times cross this interface as microseconds (API side) or
 * as the database's "YYYY-MM-DD HH:MM:SS.ffffff" text (rows). */
#ifndef CAIRN_LOGS_STORE_H
#define CAIRN_LOGS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "auth.h"
#include "db.h"
#include "diag.h"
#include "logs_parse.h"
#include "timefmt.h"

/* allowed_ips as stored: a JSON array of at most LOGS_IPMASK_MAX_ENTRIES
 * ASCII masks of at most LOGS_IPMASK_MAX_LEN bytes, written compactly, so
 * with quotes and commas at most 6,701 bytes (HTTP, cairnctl and the stored
 * procedure of sql/0010 all store that form; a longer value written by hand
 * reads as invalid, which allows no address). */
#define LOGS_ALLOWED_IPS_CAP 8192
#define LOGS_RETENTION_MAX 100000

struct logs_service {
	int64_t id;
	char name[LOGS_SERVICE_NAME_MAX + 1];
	bool privileged;
	bool has_allowed_ips;
	char allowed_ips[LOGS_ALLOWED_IPS_CAP]; /* JSON array text when set */
	int64_t retention_days;                 /* 0: forever */
	char created_at[TIMEFMT_SQL_LEN + 1];
	char disabled_at[TIMEFMT_SQL_LEN + 1]; /* "" while enabled */
};

/* ------------------------------------------------------------- services */

/* By name (disabled ones included). 0 found, 1 unknown, -1 error. */
int logs_store_service_get(struct db *db, const char *name, size_t len, struct logs_service *out,
			   struct diag *d);
/* The allowed_ips of an enabled service: *set false when any address may
 * push.  0 found, 1 unknown or disabled, -1 error.  out has
 * LOGS_ALLOWED_IPS_CAP bytes.  Answers are cached in the process as keys
 * are (auth_resolve): a change is seen within auth.cache_ms, at once
 * after auth_invalidate(). */
int logs_store_service_ips(struct db *db, int64_t id, char *out, bool *set, struct diag *d);
/* Creates a service with a new key (key_out, shown once).  allowed_ips:
 * NULL or a JSON array text already validated; retention_days 0 = forever.
 * 0 created (out filled), 1 the name exists, -1 error. */
int logs_store_service_create(struct db *db, const char *name, size_t len, bool privileged,
			      const char *allowed_ips, int64_t retention_days,
			      char key_out[AUTH_KEY_CHARS + 1], struct logs_service *out,
			      struct diag *d);
/* A new key for an enabled service: 0 done, 1 unknown, 2 disabled, -1. */
int logs_store_service_rotate(struct db *db, const char *name, size_t len,
			      char key_out[AUTH_KEY_CHARS + 1], struct diag *d);
/* Disables (idempotent: out->disabled_at is the first time). 0, 1 unknown, -1. */
int logs_store_service_disable(struct db *db, const char *name, size_t len,
			       struct logs_service *out, struct diag *d);
/* Calls fn for up to limit services with id > after_id in id order; fn
 * returning -1 stops early (not an error). */
int logs_store_service_list(struct db *db, int64_t after_id, int limit,
			    int (*fn)(const struct logs_service *s, void *arg), void *arg,
			    struct diag *d);

/* -------------------------------------------------------------- records */

/* Declares the grouped single-record write (gcommit); the FastCGI
 * program calls it before its pool forks.  Without it every batch is
 * written by its own statements. */
void logs_store_init(void);

/* Inserts the batch for the service inside the caller's transaction (or
 * alone when logs_store_insert_single), with multi-row prepared INSERTs
 * of a few fixed sizes (at most LOGS_INSERT_MAX_ROWS rows and about
 * LOGS_INSERT_MAX_BYTES of bodies per statement, or the server's
 * max_allowed_packet where that is less); never one statement per
 * record.  A one-record batch outside a transaction is written together
 * with other workers' one-record batches when they come at once
 * (gcommit), still committed before this returns 0. */
#define LOGS_INSERT_MAX_ROWS 1000
#define LOGS_INSERT_MAX_BYTES (4u << 20)
int logs_store_insert(struct db *db, struct arena *a, int64_t service_id,
		      const struct logs_batch *batch, struct diag *d);
/* The batch is one statement on db's connection (the common sizes 1 and
 * 1000 are): it may be written without a transaction around it.  False
 * when db is not connected: the statements depend on the server. */
bool logs_store_insert_single(const struct db *db, const struct logs_batch *b);

/* A search: the filters of GET /logs, which the compat queries reuse. */
struct logs_filter {
	int64_t service_id;       /* 0: any service */
	int level_min, level_max; /* inclusive, 0..LOGS_LEVEL_MAX */
	int64_t from, to;         /* inclusive microsecond bounds */
	const char *q;            /* body substring ("" or NULL: none) */
	size_t q_len;
	bool desc;
	bool has_cursor; /* resume after (cursor_ts, cursor_id) */
	int64_t cursor_ts, cursor_id;
	int limit; /* rows to fetch */
};

/* One row; the strings live until the next row. */
struct logs_row {
	int64_t id;
	const char *service;
	int level;
	const char *ts; /* "YYYY-MM-DD HH:MM:SS.ffffff" */
	const char *received_at;
	const char *body;
	size_t body_len;
};

/* Streams the matching rows to fn in (ts, id) order; fn returning -1
 * stops early (not an error).  Rows are fetched unbuffered, one at a time. */
int logs_store_search(struct db *db, const struct logs_filter *f,
		      int (*fn)(const struct logs_row *r, void *arg), void *arg, struct diag *d);

/* Deletes (or, dry_run, counts) the service's records with ts < before,
 * in chunks of logs.purge_batch rows, each chunk its own short
 * autocommitted statement.  *deleted gets the total. */
int logs_store_purge(struct db *db, int64_t service_id, int64_t before, bool dry_run,
		     int64_t *deleted, struct diag *d);

/* The retention job (cairn-worker): one bounded chunk for one service
 * with retention_days; *more while there is more to do now. */
int logs_retention_step(struct db *db, bool first, int *more, struct diag *d);

#endif
