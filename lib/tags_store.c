#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tags_store.h"
#include "timefmt.h"

/* MySQL errors of an arithmetic overflow in a column or expression. */
#define TAGS_ER_WARN_DATA_OUT_OF_RANGE 1264
#define TAGS_ER_DATA_OUT_OF_RANGE 1690

DB_QUERY(q_create, "INSERT INTO tags (name, count, created_at) VALUES (?, 0, NOW(6))");

/* One round trip: the procedure (sql/0007) adds n and writes the history
 * row as one transaction -- its own, or the Idempotency-Key's when one is
 * open -- and answers the count it wrote while it held the row's lock
 * (LAST_INSERT_ID(expr), no second read that could see another client's
 * increment), or NULL when no tag has the id. */
DB_QUERY(q_increment, "CALL tag_increment(?, ?)");
DB_QUERY(q_lookup, "SELECT id FROM tags WHERE name = ?");
DB_QUERY(q_get, "SELECT id, count FROM tags WHERE name = ?");
DB_QUERY(q_history, "SELECT at, id, amount FROM tag_history FORCE INDEX (tag_history_tag_at)"
		    " WHERE tag_id = ? AND (at > ? OR (at = ? AND id > ?))"
		    " ORDER BY at, id LIMIT ?");
/* The history queries name their index: with ORDER BY ... LIMIT an
 * optimizer may prefer tag_history_at for its order and walk every tag's
 * rows.  tag_history_tag_at is (tag_id, at, id, amount): ordered as the
 * pages need and covering, so no row is read from the clustered index. */

/* The last row of a page and the one after it, if they exist. */
DB_QUERY(q_history_page_end, "SELECT at, id FROM tag_history FORCE INDEX (tag_history_tag_at)"
			     " WHERE tag_id = ? AND (at > ? OR (at = ? AND id > ?))"
			     " ORDER BY at, id LIMIT 2 OFFSET ?");
/* Bucket k of a row: whole seconds since the series start, divided by the
 * bucket length.  The series start and the bucket lengths are whole
 * seconds and TO_SECONDS() drops the fraction, so for every row in range
 * this is floor((at - first) / size); integer arithmetic on TO_SECONDS
 * (seconds since year 0, no time zone involved) costs about half of
 * TIMESTAMPDIFF against a bound string.  Each side is grouped first, so
 * the derived table holds at most two rows per bucket whatever the number
 * of raw rows. */
DB_QUERY(q_series,
	 "SELECT k, SUM(s) FROM ("
	 " SELECT (TO_SECONDS(at) - ?) DIV ? AS k, SUM(amount) AS s"
	 "  FROM tag_history FORCE INDEX (tag_history_tag_at)"
	 "  WHERE tag_id = ? AND at >= ? AND at <= ? GROUP BY k"
	 " UNION ALL"
	 " SELECT (TO_SECONDS(hour) - ?) DIV ? AS k, SUM(amount) AS s"
	 "  FROM tag_history_hourly WHERE tag_id = ? AND hour >= ? AND hour <= ? GROUP BY k"
	 ") u GROUP BY k ORDER BY k");
DB_QUERY(q_list, "SELECT name, count, created_at, last_used_at FROM tags"
		 " WHERE name > ? ORDER BY name LIMIT ?");
DB_QUERY(q_lock_for_delete, "SELECT id, count FROM tags WHERE name = ? FOR UPDATE");
DB_QUERY(q_delete, "DELETE FROM tags WHERE id = ?");
DB_QUERY(q_purge_queue, "INSERT INTO tag_purges (tag_id, deleted_at) VALUES (?, NOW(6))");

/* Rollup.  The cutoff is the start of the hour history_days ago, on the
 * database clock, so an hour is either wholly raw or wholly rolled up
 * (rows inserted later with old times aside).  FOR UPDATE locks the batch
 * and, through next-key locks on tag_history_at, the gaps between, so the
 * rows "(at, id) <= the batch's last row" are exactly the locked ones
 * until commit: a second rollup (another worker, cairnctl) waits and then
 * sees them gone. */
DB_QUERY(
	q_rollup_lock,
	"SELECT at, id FROM tag_history FORCE INDEX (tag_history_at)"
	" WHERE at < CAST(DATE_FORMAT(NOW(6) - INTERVAL ? DAY, '%Y-%m-%d %H:00:00') AS DATETIME(6))"
	" ORDER BY at, id LIMIT ? FOR UPDATE");
DB_QUERY(q_rollup_sum,
	 "SELECT tag_id, DATE_FORMAT(at, '%Y-%m-%d %H:00:00') AS h, SUM(amount), COUNT(*)"
	 " FROM tag_history FORCE INDEX (tag_history_at)"
	 " WHERE at <= ? AND (at < ? OR id <= ?)"
	 " GROUP BY tag_id, h");
/* One row at a time: a multi-row INSERT ... SELECT ... ON DUPLICATE KEY
 * UPDATE is unsafe for statement-based replication. */
DB_QUERY(q_rollup_add,
	 "INSERT INTO tag_history_hourly (tag_id, hour, amount, updates) VALUES (?, ?, ?, ?)"
	 " ON DUPLICATE KEY UPDATE amount = amount + VALUES(amount),"
	 " updates = updates + VALUES(updates)");
/* The same rows; the plain range on `at` comes first so the optimizer
 * scans tag_history_at (a DELETE takes no index hint, and a full scan
 * would lock every row it passes until commit). */
DB_QUERY(q_rollup_delete, "DELETE FROM tag_history WHERE at <= ? AND (at < ? OR id <= ?)");

DB_QUERY(q_purge_next, "SELECT tag_id FROM tag_purges ORDER BY tag_id LIMIT 1");
DB_QUERY(q_purge_raw, "DELETE FROM tag_history WHERE tag_id = ? ORDER BY at, id LIMIT 5000");
DB_QUERY(q_purge_hourly,
	 "DELETE FROM tag_history_hourly WHERE tag_id = ? ORDER BY hour LIMIT 5000");
DB_QUERY(q_purge_done, "DELETE FROM tag_purges WHERE tag_id = ?");

/* -------------------------------------------------------------- counters */

int
tags_store_create(struct db *db, const char *name, size_t len, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_create, d);

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, name, len);
	if (db_exec(st, d) < 0)
		return d->code == DB_ER_DUP_ENTRY ? 1 : -1;
	return 0;
}

/* Tag ids by name, per process: ids are never reused, so a cached id is
 * either right or names a deleted tag, which the UPDATE then misses (the
 * entry is dropped and the name looked up again).  Direct-mapped; a
 * collision only costs a lookup. */
#define TAGS_ID_CACHE_SLOTS 64

static struct tags_id_slot {
	int64_t id; /* 0: empty */
	size_t len;
	char name[TAGS_NAME_MAX * 4];
} id_cache[TAGS_ID_CACHE_SLOTS];

static struct tags_id_slot *
id_slot(const char *name, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return &id_cache[h % TAGS_ID_CACHE_SLOTS];
}

/* 0 with *id; 1 no such tag. */
static int
lookup_id(struct db *db, const char *name, size_t len, int64_t *id, bool *cached, struct diag *d)
{
	struct tags_id_slot *slot = id_slot(name, len);
	struct db_stmt *st;
	int rc;

	if (slot->id != 0 && slot->len == len && memcmp(slot->name, name, len) == 0) {
		*id = slot->id;
		*cached = true;
		return 0;
	}
	*cached = false;
	st = db_prepare(db, &q_lookup, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, name, len);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1)
		*id = db_int(st, 0);
	db_release(st);
	if (rc != 1)
		return rc < 0 ? -1 : 1;
	if (len <= sizeof slot->name) {
		slot->id = *id;
		slot->len = len;
		memcpy(slot->name, name, len);
	}
	return 0;
}

static void
forget_id(const char *name, size_t len)
{
	id_slot(name, len)->id = 0;
}

int
tags_store_increment(struct db *db, const char *name, size_t len, int64_t n, uint64_t *count,
		     struct diag *d)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct db_stmt *st;
		const char *v;
		int64_t id;
		bool cached;
		int rc = lookup_id(db, name, len, &id, &cached, d);

		if (rc != 0)
			return rc;
		st = db_prepare(db, &q_increment, d);
		if (st == NULL)
			return -1;
		db_bind_int(st, 0, id);
		db_bind_int(st, 1, n);
		if (db_execute(st, d) < 0) {
			if (d->code == TAGS_ER_DATA_OUT_OF_RANGE ||
			    d->code == TAGS_ER_WARN_DATA_OUT_OF_RANGE)
				diag_set(d, DIAG_TOO_LARGE, "the counter would pass 2^64-1");
			return -1;
		}
		rc = db_fetch(st, d);
		v = rc == 1 ? db_text(st, 0, NULL) : NULL;
		if (v != NULL)
			*count = strtoull(v, NULL, 10);
		db_release(st);
		if (rc < 0)
			return -1;
		if (v != NULL)
			return 0;
		/* the tag is gone (deleted since it was looked up or cached) */
		forget_id(name, len);
		if (!cached)
			return 1;
	}
	return 1;
}

int
tags_store_get(struct db *db, const char *name, size_t len, int64_t *id, char *count_out,
	       struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_get, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, name, len);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		const char *count = db_text(st, 1, NULL);

		*id = db_int(st, 0);
		if (count_out != NULL)
			snprintf(count_out, 24, "%s", count ? count : "0");
	}
	db_release(st);
	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

/* --------------------------------------------------------------- history */

static void
bind_after(struct db_stmt *st, unsigned first, int64_t tag_id, const struct tags_history_pos *pos,
	   char at[TIMEFMT_SQL_LEN + 1])
{
	timefmt_sql(pos->at, at);
	db_bind_int(st, first, tag_id);
	db_bind_str(st, first + 1, at);
	db_bind_str(st, first + 2, at);
	db_bind_int(st, first + 3, pos->id);
}

int
tags_store_history(struct db *db, int64_t tag_id, const struct tags_history_pos *pos, int64_t limit,
		   tags_history_fn fn, void *arg, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_history, d);
	char at[TIMEFMT_SQL_LEN + 1];
	int rc;

	if (st == NULL)
		return -1;
	bind_after(st, 0, tag_id, pos, at);
	db_bind_int(st, 4, limit);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		size_t tl;
		const char *t = db_text(st, 0, &tl);

		if (fn(t ? t : "", t ? tl : 0, db_int(st, 1), db_int(st, 2), arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

int
tags_store_history_page_end(struct db *db, int64_t tag_id, const struct tags_history_pos *pos,
			    int64_t limit, bool *more, struct tags_history_pos *last,
			    struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_history_page_end, d);
	char at[TIMEFMT_SQL_LEN + 1];
	int rc, rows = 0;

	*more = false;
	if (st == NULL)
		return -1;
	bind_after(st, 0, tag_id, pos, at);
	db_bind_int(st, 4, limit - 1);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		if (rows++ == 0) {
			const char *t = db_text(st, 0, NULL);
			struct diag ignored;

			last->id = db_int(st, 1);
			if (t == NULL || timefmt_parse(t, strlen(t), 0, &last->at, &ignored) < 0) {
				db_release(st);
				diag_set(d, DIAG_INTERNAL, "unreadable history time");
				return -1;
			}
		}
	}
	db_release(st);
	if (rc < 0)
		return -1;
	*more = rows == 2;
	return 0;
}

int
tags_store_series(struct db *db, int64_t tag_id, const struct tags_series *s, tags_series_fn fn,
		  void *arg, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_series, d);
	char first[TIMEFMT_SQL_LEN + 1], last[TIMEFMT_SQL_LEN + 1];
	int64_t size_seconds = s->size / 1000000;
	/* TO_SECONDS('1970-01-01 00:00:00'); s->first is whole seconds */
	int64_t first_seconds = s->first / 1000000 + INT64_C(62167219200);
	int rc;

	if (st == NULL)
		return -1;
	timefmt_sql(s->first, first);
	timefmt_sql(s->last, last);
	for (unsigned side = 0; side < 2; side++) {
		unsigned b = side * 5;

		db_bind_int(st, b, first_seconds);
		db_bind_int(st, b + 1, size_seconds);
		db_bind_int(st, b + 2, tag_id);
		db_bind_str(st, b + 3, first);
		db_bind_str(st, b + 4, last);
	}
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		size_t sl;
		const char *sum = db_text(st, 1, &sl);

		if (sum == NULL || db_is_null(st, 0))
			continue;
		if (fn(db_int(st, 0), sum, sl, arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* ----------------------------------------------------------------- list */

int
tags_store_list(struct db *db, const char *after, size_t after_len, int64_t limit, tags_list_fn fn,
		void *arg, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_list, d);
	struct tags_row row;
	int rc;

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, after, after_len);
	db_bind_int(st, 1, limit);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		const char *count = db_text(st, 1, NULL), *created = db_text(st, 2, NULL);

		row.name = db_text(st, 0, &row.name_len);
		row.count = count ? count : "0";
		row.created_at = created ? created : "";
		row.last_used_at = db_text(st, 3, NULL);
		if (row.name == NULL || row.name_len == 0)
			continue;
		if (fn(&row, arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* --------------------------------------------------------------- delete */

struct delete_args {
	const char *name;
	size_t len;
	char *count_out;
	int found;
};

static int
delete_txn(struct db *db, void *arg, struct diag *d)
{
	struct delete_args *a = arg;
	struct db_stmt *st = db_prepare(db, &q_lock_for_delete, d);
	int64_t id = 0;
	int rc;

	a->found = 0;
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, a->name, a->len);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		const char *count = db_text(st, 1, NULL);

		id = db_int(st, 0);
		snprintf(a->count_out, 24, "%s", count ? count : "0");
	}
	db_release(st);
	if (rc <= 0)
		return rc;
	st = db_prepare(db, &q_delete, d);
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, id);
	if (db_exec(st, d) < 0)
		return -1;
	st = db_prepare(db, &q_purge_queue, d);
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, id);
	if (db_exec(st, d) < 0)
		return -1;
	a->found = 1;
	return 0;
}

int
tags_store_delete(struct db *db, const char *name, size_t len, char *count_out, struct diag *d)
{
	struct delete_args a = {name, len, count_out, 0};

	if (db_txn(db, delete_txn, &a, d) < 0)
		return -1;
	return a.found ? 0 : 1;
}

/* --------------------------------------------------------------- rollup */

struct rollup_group {
	int64_t tag_id;
	char hour[20]; /* "YYYY-MM-DD HH:00:00" */
	int64_t amount;
	int64_t updates;
};

struct rollup_args {
	int64_t days;
	int64_t batch;
	struct rollup_group *groups; /* batch entries: a group holds >= 1 row */
	uint64_t folded;
};

static int
rollup_txn(struct db *db, void *arg, struct diag *d)
{
	struct rollup_args *a = arg;
	char last_at[TIMEFMT_SQL_LEN + 1] = "";
	int64_t last_id = 0;
	uint64_t locked = 0;
	size_t ngroups = 0;
	struct db_stmt *st;
	int rc;

	a->folded = 0;
	/* 1. lock the batch; remember its last row */
	st = db_prepare(db, &q_rollup_lock, d);
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->days);
	db_bind_int(st, 1, a->batch);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		db_text_copy(st, 0, last_at, sizeof last_at);
		last_id = db_int(st, 1);
		locked++;
	}
	db_release(st);
	if (rc < 0)
		return -1;
	if (locked == 0)
		return 0;

	/* 2. their hourly sums */
	st = db_prepare(db, &q_rollup_sum, d);
	if (st == NULL)
		return -1;
	db_bind_str(st, 0, last_at);
	db_bind_str(st, 1, last_at);
	db_bind_int(st, 2, last_id);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		if (ngroups == (size_t)a->batch) {
			db_release(st);
			diag_set(d, DIAG_INTERNAL, "rollup: more groups than locked rows");
			return -1;
		}
		a->groups[ngroups].tag_id = db_int(st, 0);
		db_text_copy(st, 1, a->groups[ngroups].hour, sizeof a->groups[ngroups].hour);
		a->groups[ngroups].amount = db_int(st, 2);
		a->groups[ngroups].updates = db_int(st, 3);
		ngroups++;
	}
	db_release(st);
	if (rc < 0)
		return -1;

	/* 3. add them to the hourly totals */
	for (size_t i = 0; i < ngroups; i++) {
		st = db_prepare(db, &q_rollup_add, d);
		if (st == NULL)
			return -1;
		db_bind_int(st, 0, a->groups[i].tag_id);
		db_bind_str(st, 1, a->groups[i].hour);
		db_bind_int(st, 2, a->groups[i].amount);
		db_bind_int(st, 3, a->groups[i].updates);
		if (db_exec(st, d) < 0)
			return -1;
	}

	/* 4. delete exactly the rows folded */
	st = db_prepare(db, &q_rollup_delete, d);
	if (st == NULL)
		return -1;
	db_bind_str(st, 0, last_at);
	db_bind_str(st, 1, last_at);
	db_bind_int(st, 2, last_id);
	if (db_exec(st, d) < 0)
		return -1;
	if (db_affected(st) != locked) {
		diag_set(d, DIAG_INTERNAL, "rollup: locked %" PRIu64 " rows but deleted %" PRIu64,
			 locked, db_affected(st));
		return -1;
	}
	a->folded = locked;
	return 0;
}

int
tags_store_rollup_batch(struct db *db, int64_t days, int64_t batch, uint64_t *folded,
			struct diag *d)
{
	struct rollup_args a = {days, batch, NULL, 0};
	int rc;

	a.groups = mem_calloc((size_t)batch, sizeof *a.groups);
	rc = db_txn(db, rollup_txn, &a, d);
	mem_free(a.groups);
	*folded = rc == 0 ? a.folded : 0;
	return rc;
}

/* ---------------------------------------------------------------- purge */

static int
purge_delete(struct db *db, struct db_query *q, int64_t tag_id, uint64_t *affected, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, q, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, tag_id);
	if (db_exec(st, d) < 0)
		return -1;
	*affected = db_affected(st);
	return 0;
}

int
tags_store_purge_chunk(struct db *db, int *more, uint64_t *deleted, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_purge_next, d);
	int64_t tag_id = 0;
	uint64_t n;
	int rc;

	*more = 0;
	*deleted = 0;
	if (st == NULL)
		return -1;
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1)
		tag_id = db_int(st, 0);
	db_release(st);
	if (rc <= 0)
		return rc;
	/* each statement is its own short transaction (autocommit); a chunk
	 * cut short is simply done again by the next step */
	*more = 1;
	if (purge_delete(db, &q_purge_raw, tag_id, &n, d) < 0)
		return -1;
	*deleted += n;
	if (n >= TAGS_STORE_PURGE_CHUNK)
		return 0;
	if (purge_delete(db, &q_purge_hourly, tag_id, &n, d) < 0)
		return -1;
	*deleted += n;
	if (n >= TAGS_STORE_PURGE_CHUNK)
		return 0;
	return purge_delete(db, &q_purge_done, tag_id, &n, d);
}
