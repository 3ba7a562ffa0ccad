/* tags_store: the SQL of the tags module (API.md §2).  Nothing else in
 * the module touches the database.
 *
 * Tables (sql/0003_tags.sql): tags (one row per tag, the counter),
 * tag_history (one raw row per /update), tag_history_hourly (rolled-up
 * hourly totals, kept forever) and tag_purges (deleted tags whose history
 * is still being removed).  Names are bound as bytes and compared exactly.
 *
 * Return convention: 0 done, 1 "no such tag" (or the other documented
 * outcome), -1 database failure with d set. */
#ifndef CAIRN_TAGS_STORE_H
#define CAIRN_TAGS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "diag.h"
#include "tags_bucket.h"

#define TAGS_STORE_PURGE_CHUNK 5000

/* One row of GET /tags.  The strings borrow the statement's buffers and
 * are valid only during the callback. */
struct tags_row {
	const char *name;
	size_t name_len;
	const char *count;        /* decimal */
	const char *created_at;   /* "YYYY-MM-DD HH:MM:SS.ffffff" */
	const char *last_used_at; /* NULL when never updated */
};

/* 0 created; 1 a tag of that name exists. */
int tags_store_create(struct db *db, const char *name, size_t len, struct diag *d);

/* Adds n to the tag's counter and writes one history row of amount n, as
 * one transaction: its own under db_autocommit, or the caller's when one
 * is open (idem_run_single with an Idempotency-Key).  *count gets the new
 * value, taken by the UPDATE itself.  0 done; 1 no such tag (nothing
 * written); -1 with d->code DIAG_TOO_LARGE when the counter would pass
 * 2^64-1. */
int tags_store_increment(struct db *db, const char *name, size_t len, int64_t n, uint64_t *count,
			 struct diag *d);

/* The tag's id and counter (decimal, count_out of at least 24 bytes, may
 * be NULL).  0 found; 1 no such tag. */
int tags_store_get(struct db *db, const char *name, size_t len, int64_t *id, char *count_out,
		   struct diag *d);

/* Raw history of a tag in (at, id) order after pos (pos->at and pos->id;
 * TAGS_TIME_MIN and 0 for the start), at most limit rows.  fn gets the
 * row's time text ("YYYY-MM-DD HH:MM:SS.ffffff"), id and amount; fn
 * returning -1 stops the walk (not an error). */
typedef int (*tags_history_fn)(const char *at, size_t at_len, int64_t id, int64_t amount,
			       void *arg);
int tags_store_history(struct db *db, int64_t tag_id, const struct tags_history_pos *pos,
		       int64_t limit, tags_history_fn fn, void *arg, struct diag *d);

/* For a page of limit rows after pos: *more tells whether a row follows
 * the page, and then *last holds the page's last row (time and id). */
int tags_store_history_page_end(struct db *db, int64_t tag_id, const struct tags_history_pos *pos,
				int64_t limit, bool *more, struct tags_history_pos *last,
				struct diag *d);

/* The non-empty buckets of a series, in order: fn gets the bucket index
 * (0..s->count-1) and the summed amount as decimal text.  Raw rows count
 * in the bucket holding their time; an hourly rollup counts in the bucket
 * holding the start of its hour (for minute buckets: the hour's first
 * minute). */
typedef int (*tags_series_fn)(int64_t index, const char *sum, size_t sum_len, void *arg);
int tags_store_series(struct db *db, int64_t tag_id, const struct tags_series *s, tags_series_fn fn,
		      void *arg, struct diag *d);

/* Tags with name > after (bytes; after_len 0 for the start) in name
 * order, at most limit; fn returning -1 stops the walk. */
typedef int (*tags_list_fn)(const struct tags_row *row, void *arg);
int tags_store_list(struct db *db, const char *after, size_t after_len, int64_t limit,
		    tags_list_fn fn, void *arg, struct diag *d);

/* Deletes the tag and queues its history for removal, in one
 * transaction; count_out (24 bytes) gets its last counter. 0; 1 no such
 * tag. */
int tags_store_delete(struct db *db, const char *name, size_t len, char *count_out, struct diag *d);

/* One rollup batch, in one transaction: locks the oldest `batch` raw rows
 * older than the start of the hour `days` days ago, adds them to their
 * hourly totals and deletes them.  Either all of that commits or none,
 * so an interrupted run folds nothing twice.  *folded: rows folded (0
 * when nothing is due). */
int tags_store_rollup_batch(struct db *db, int64_t days, int64_t batch, uint64_t *folded,
			    struct diag *d);

/* One purge chunk: deletes up to TAGS_STORE_PURGE_CHUNK history rows of a
 * deleted tag (raw first, then hourly), and forgets the tag once none is
 * left.  *more is set while anything is left to purge. */
int tags_store_purge_chunk(struct db *db, int *more, uint64_t *deleted, struct diag *d);

#endif
