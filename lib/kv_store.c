#include "autoconfig.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kv_store.h"
#include "timefmt.h"

/* A row is live until its expiry, by the database clock. */
#define LIVE "(expires_at IS NULL OR expires_at > NOW(6))"

/* Greater than every valid key: no UTF-8 byte is 0xFF. */
static const char key_space_end[] = "\xff";

DB_QUERY(q_get, "SELECT v, content_type, version, expires_at FROM kv_keys WHERE k = ? AND " LIVE);

/* Create or replace.  Over a live row the version goes up by one; over
 * an expired row (not yet swept) the write is a creation: new random
 * version and creation time.  LAST_INSERT_ID(x) hands the new version to
 * the client.  The assignments run left to right and IF() sees columns
 * already assigned, so expires_at, which LIVE reads, is assigned last. */
DB_QUERY(q_upsert,
	 "INSERT INTO kv_keys (k, v, content_type, version, expires_at, created_at, updated_at)"
	 " VALUES (?, ?, ?, ?, NOW(6) + INTERVAL ? SECOND, NOW(6), NOW(6))"
	 " ON DUPLICATE KEY UPDATE"
	 " version = LAST_INSERT_ID(IF(" LIVE ", version + 1, VALUES(version))),"
	 " created_at = IF(" LIVE ", created_at, VALUES(created_at)),"
	 " v = VALUES(v), content_type = VALUES(content_type),"
	 " updated_at = VALUES(updated_at), expires_at = VALUES(expires_at)");

/* Create only: over a live row every column keeps its value (0 rows
 * affected: the precondition failed); over an expired row it is a
 * creation.  expires_at last, as above. */
DB_QUERY(q_insert_absent,
	 "INSERT INTO kv_keys (k, v, content_type, version, expires_at, created_at, updated_at)"
	 " VALUES (?, ?, ?, ?, NOW(6) + INTERVAL ? SECOND, NOW(6), NOW(6))"
	 " ON DUPLICATE KEY UPDATE"
	 " version = IF(" LIVE ", version, VALUES(version)),"
	 " created_at = IF(" LIVE ", created_at, VALUES(created_at)),"
	 " v = IF(" LIVE ", v, VALUES(v)),"
	 " content_type = IF(" LIVE ", content_type, VALUES(content_type)),"
	 " updated_at = IF(" LIVE ", updated_at, VALUES(updated_at)),"
	 " expires_at = IF(" LIVE ", expires_at, VALUES(expires_at))");

/* Replace only a live key, at a given version unless that is 0. */
DB_QUERY(q_update_cond,
	 "UPDATE kv_keys SET version = LAST_INSERT_ID(version + 1), v = ?, content_type = ?,"
	 " expires_at = NOW(6) + INTERVAL ? SECOND, updated_at = NOW(6)"
	 " WHERE k = ? AND (? = 0 OR version = ?) AND " LIVE);

DB_QUERY(q_read_back, "SELECT version, expires_at FROM kv_keys WHERE k = ?");

DB_QUERY(q_delete, "DELETE FROM kv_keys WHERE k = ? AND (? = 0 OR version = ?) AND " LIVE);

/* Listing: the byte LIKE narrows the primary key range (its literal head)
 * and is exact for patterns without '$'; the per-character LIKE decides
 * for the others (kv_pattern.h). */
#define CHAR_LIKE "CONVERT(k USING utf8mb4) COLLATE utf8mb4_bin LIKE ? ESCAPE '!'"
DB_QUERY(q_next_bin, "SELECT k FROM kv_keys WHERE k >= ? AND k LIKE ? ESCAPE '!' AND " LIVE
		     " ORDER BY k LIMIT 1 OFFSET ?");
DB_QUERY(q_next_char, "SELECT k FROM kv_keys WHERE k >= ? AND k LIKE ? ESCAPE '!' AND " CHAR_LIKE
		      " AND " LIVE " ORDER BY k LIMIT 1 OFFSET ?");
DB_QUERY(q_list_bin,
	 "SELECT k, v FROM kv_keys WHERE k >= ? AND k < ? AND k LIKE ? ESCAPE '!' AND " LIVE
	 " ORDER BY k");
DB_QUERY(q_list_char,
	 "SELECT k, v FROM kv_keys WHERE k >= ? AND k < ? AND k LIKE ? ESCAPE '!' AND " CHAR_LIKE
	 " AND " LIVE " ORDER BY k");

DB_QUERY(q_clear_next, "SELECT k FROM kv_keys WHERE k >= ? ORDER BY k LIMIT 1 OFFSET ?");
DB_QUERY(q_clear_range, "DELETE FROM kv_keys WHERE k >= ? AND k < ? AND " LIVE);

/* ORDER BY a unique column set keeps DELETE .. LIMIT deterministic, so a
 * replica replaying it as a statement deletes the same rows (MariaDB still
 * notes any LIMIT as unsafe under binlog_format = STATEMENT, and logs it
 * as rows under MIXED, its default). */
DB_QUERY(q_sweep, "DELETE FROM kv_keys WHERE expires_at <= NOW(6) ORDER BY expires_at, k LIMIT ?");
DB_QUERY(q_stat_add,
	 "UPDATE kv_stats SET n = n + ?, updated_at = NOW(6) WHERE name = 'expired_total'");
DB_QUERY(q_count, "SELECT COUNT(*) FROM kv_keys WHERE " LIVE);
DB_QUERY(q_count_chunk, "SELECT COUNT(*), COALESCE(SUM" LIVE ", 0), MAX(k) FROM"
			" (SELECT k, expires_at FROM kv_keys WHERE k > ? ORDER BY k LIMIT ?) c");
DB_QUERY(q_stat_keys, "UPDATE kv_stats SET n = ?, updated_at = NOW(6) WHERE name = 'keys'");
DB_QUERY(q_stats, "SELECT name, n FROM kv_stats");

/* ------------------------------------------------------------------ helpers */

static int64_t
parse_expiry(struct db_stmt *st, unsigned col)
{
	size_t len;
	const char *s = db_text(st, col, &len);
	struct diag ignored;
	int64_t us;

	if (s == NULL || timefmt_parse(s, len, 0, &us, &ignored) < 0)
		return -1;
	return us;
}

/* A random first version in [1, 2^62): versions then only grow by one
 * per write, far from overflowing. */
static uint64_t
new_version(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)getpid() << 32;
	}
	v &= (1ull << 62) - 1;
	return v ? v : 1;
}

static void
bind_ttl(struct db_stmt *st, unsigned i, int64_t ttl)
{
	if (ttl > 0)
		db_bind_int(st, i, ttl);
	else
		db_bind_null(st, i); /* NOW(6) + INTERVAL NULL SECOND is NULL */
}

/* ---------------------------------------------------------------------- get */

int
kv_store_get(struct db *db, const char *key, size_t key_len,
	     void (*fn)(const struct kv_item *it, void *arg), void *arg, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_get, d);
	struct kv_item it;
	int rc;

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, key, key_len);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		memset(&it, 0, sizeof it);
		it.key = key;
		it.key_len = key_len;
		it.value = db_text(st, 0, &it.value_len);
		it.content_type = db_text(st, 1, NULL);
		if (it.content_type == NULL)
			it.content_type = "application/octet-stream";
		it.version = (uint64_t)db_int(st, 2);
		it.expires_us = parse_expiry(st, 3);
		fn(&it, arg);
	}
	db_release(st);
	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

/* ---------------------------------------------------------------------- put */

struct put_args {
	const struct kv_put *p;
	struct kv_put_result *r;
	uint64_t fresh; /* the version of a creation, chosen once per request */
};

static int
put_write(struct db *db, void *arg, struct diag *d)
{
	struct put_args *a = arg;
	const struct kv_put *p = a->p;
	struct kv_put_result *r = a->r;
	struct db_stmt *st;
	uint64_t n;

	if (p->mode == KV_PUT_ALWAYS || p->mode == KV_PUT_IF_ABSENT) {
		st = db_prepare(db, p->mode == KV_PUT_ALWAYS ? &q_upsert : &q_insert_absent, d);
		if (st == NULL)
			return -1;
		db_bind_text(st, 0, p->key, p->key_len);
		db_bind_text(st, 1, p->value, p->value_len);
		db_bind_str(st, 2, p->content_type);
		db_bind_int(st, 3, (int64_t)a->fresh);
		bind_ttl(st, 4, p->ttl);
		if (db_exec(st, d) < 0)
			return -1;
		n = db_affected(st);
		if (n == 0) {
			/* only q_insert_absent leaves a row unchanged */
			r->outcome = KV_PRECONDITION_FAILED;
			return 0;
		}
		/* 1: inserted; 2: an existing row updated */
		r->version = n == 1 || p->mode == KV_PUT_IF_ABSENT ? a->fresh : db_insert_id(st);
		r->outcome = r->version == a->fresh ? KV_CREATED : KV_REPLACED;
		return 0;
	}
	st = db_prepare(db, &q_update_cond, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, p->value, p->value_len);
	db_bind_str(st, 1, p->content_type);
	bind_ttl(st, 2, p->ttl);
	db_bind_text(st, 3, p->key, p->key_len);
	db_bind_int(st, 4, p->mode == KV_PUT_IF_VERSION ? (int64_t)p->if_version : 0);
	db_bind_int(st, 5, p->mode == KV_PUT_IF_VERSION ? (int64_t)p->if_version : 0);
	if (db_exec(st, d) < 0)
		return -1;
	if (db_affected(st) == 0) {
		r->outcome = KV_PRECONDITION_FAILED;
		return 0;
	}
	r->outcome = KV_REPLACED;
	r->version = db_insert_id(st);
	return 0;
}

/* With a TTL the answer carries the expiry the database computed; read it
 * back in the write's transaction (its own write is visible to it). */
static int
put_txn(struct db *db, void *arg, struct diag *d)
{
	struct put_args *a = arg;
	struct db_stmt *st;
	int rc;

	if (put_write(db, a, d) < 0)
		return -1;
	if (a->r->outcome == KV_PRECONDITION_FAILED)
		return 0;
	st = db_prepare(db, &q_read_back, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, a->p->key, a->p->key_len);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		a->r->version = (uint64_t)db_int(st, 0);
		a->r->expires_us = parse_expiry(st, 1);
	}
	db_release(st);
	if (rc == 0)
		diag_set(d, DIAG_INTERNAL, "the key written vanished within its transaction");
	return rc == 1 ? 0 : -1;
}

int
kv_store_put(struct db *db, const struct kv_put *p, struct kv_put_result *r, struct diag *d)
{
	struct put_args a = {p, r, new_version()};

	memset(r, 0, sizeof *r);
	r->expires_us = -1;
	if (p->ttl > 0)
		return db_txn(db, put_txn, &a, d);
	/* without a TTL the write is one autocommitted statement */
	return db_autocommit(db, put_write, &a, d);
}

/* ------------------------------------------------------------------- delete */

int
kv_store_delete(struct db *db, const char *key, size_t key_len, uint64_t if_version, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_delete, d);

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, key, key_len);
	db_bind_int(st, 1, (int64_t)if_version);
	db_bind_int(st, 2, (int64_t)if_version);
	if (db_exec(st, d) < 0)
		return -1;
	return db_affected(st) > 0 ? 0 : 1;
}

/* --------------------------------------------------------------------- list */

static const struct kv_filter match_all = {(char *)"%", 1, (char *)"%", 1, false};

int
kv_store_list_next(struct db *db, const char *from, size_t from_len, const struct kv_filter *f,
		   int limit, char next[KV_KEY_MAX + 1], size_t *next_len, struct diag *d)
{
	struct db_stmt *st;
	unsigned i = 0;
	int rc;

	if (f == NULL)
		f = &match_all;
	*next_len = 0;
	st = db_prepare(db, f->per_char ? &q_next_char : &q_next_bin, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, i++, from, from_len);
	if (f->per_char) {
		db_bind_text(st, i++, f->prefix, f->prefix_len);
		db_bind_text(st, i++, f->like, f->like_len);
	} else {
		db_bind_text(st, i++, f->like, f->like_len);
	}
	db_bind_int(st, i, limit);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		size_t len;
		const char *k = db_text(st, 0, &len);

		if (k != NULL && len <= KV_KEY_MAX) {
			memcpy(next, k, len);
			next[len] = '\0';
			*next_len = len;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

int
kv_store_list(struct db *db, const char *from, size_t from_len, const char *until, size_t until_len,
	      const struct kv_filter *f, int (*fn)(const struct kv_item *it, void *arg), void *arg,
	      struct diag *d)
{
	struct db_stmt *st;
	struct kv_item it;
	unsigned i = 0;
	int rc;

	if (f == NULL)
		f = &match_all;
	if (until == NULL) {
		until = key_space_end;
		until_len = 1;
	}
	st = db_prepare(db, f->per_char ? &q_list_char : &q_list_bin, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, i++, from, from_len);
	db_bind_text(st, i++, until, until_len);
	if (f->per_char) {
		db_bind_text(st, i++, f->prefix, f->prefix_len);
		db_bind_text(st, i, f->like, f->like_len);
	} else {
		db_bind_text(st, i, f->like, f->like_len);
	}
	if (db_execute(st, d) < 0)
		return -1;
	memset(&it, 0, sizeof it);
	it.expires_us = -1;
	while ((rc = db_fetch(st, d)) == 1) {
		it.key = db_text(st, 0, &it.key_len);
		it.value = db_text(st, 1, &it.value_len);
		if (it.key == NULL || it.value == NULL)
			continue;
		if (fn(&it, arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* -------------------------------------------------------------------- clear */

int
kv_store_clear(struct db *db, int batch, int64_t *deleted, struct diag *d)
{
	char from[KV_KEY_MAX + 1] = "", next[KV_KEY_MAX + 1];
	size_t from_len = 0, next_len;
	struct db_stmt *st;

	*deleted = 0;
	for (;;) {
		int rc;

		st = db_prepare(db, &q_clear_next, d);
		if (st == NULL)
			return -1;
		db_bind_text(st, 0, from, from_len);
		db_bind_int(st, 1, batch);
		if (db_execute(st, d) < 0)
			return -1;
		next_len = 0;
		rc = db_fetch(st, d);
		if (rc == 1) {
			const char *k = db_text(st, 0, &next_len);

			if (k == NULL || next_len > KV_KEY_MAX)
				next_len = 0;
			else
				memcpy(next, k, next_len);
		}
		db_release(st);
		if (rc < 0)
			return -1;
		st = db_prepare(db, &q_clear_range, d);
		if (st == NULL)
			return -1;
		db_bind_text(st, 0, from, from_len);
		if (next_len > 0)
			db_bind_text(st, 1, next, next_len);
		else
			db_bind_text(st, 1, key_space_end, 1);
		if (db_exec(st, d) < 0)
			return -1;
		*deleted += (int64_t)db_affected(st);
		if (next_len == 0)
			return 0;
		memcpy(from, next, next_len);
		from_len = next_len;
	}
}

/* -------------------------------------------------------------- housekeeping */

struct sweep_args {
	int batch;
	int64_t removed;
};

static int
sweep_txn(struct db *db, void *arg, struct diag *d)
{
	struct sweep_args *a = arg;
	struct db_stmt *st = db_prepare(db, &q_sweep, d);

	a->removed = 0;
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->batch);
	if (db_exec(st, d) < 0)
		return -1;
	a->removed = (int64_t)db_affected(st);
	if (a->removed == 0)
		return 0;
	st = db_prepare(db, &q_stat_add, d);
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->removed);
	return db_exec(st, d);
}

int
kv_store_sweep(struct db *db, int batch, int64_t *removed, struct diag *d)
{
	struct sweep_args a = {batch, 0};
	int rc = db_txn(db, sweep_txn, &a, d);

	*removed = rc == 0 ? a.removed : 0;
	return rc;
}

int
kv_store_count(struct db *db, int64_t *keys, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_count, d);
	int rc;

	*keys = 0;
	if (st == NULL)
		return -1;
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1)
		*keys = db_int(st, 0);
	db_release(st);
	if (rc < 0)
		return -1;
	return kv_store_set_keys(db, *keys, d);
}

int
kv_store_count_chunk(struct db *db, char after[KV_KEY_MAX], size_t *after_len, int chunk,
		     int64_t *scanned, int64_t *live, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_count_chunk, d);
	int rc;

	*scanned = 0;
	*live = 0;
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, after, *after_len);
	db_bind_int(st, 1, chunk);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		size_t len;
		const char *last = db_text(st, 2, &len);

		*scanned = db_int(st, 0);
		*live = db_int(st, 1);
		if (last != NULL && len <= KV_KEY_MAX) {
			memcpy(after, last, len);
			*after_len = len;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

int
kv_store_set_keys(struct db *db, int64_t keys, struct diag *d)
{
	/* a gauge set from a count, not a read-modify-write of a counter */
	struct db_stmt *st = db_prepare(db, &q_stat_keys, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, keys);
	return db_exec(st, d);
}

int
kv_store_stats(struct db *db, int64_t *keys, int64_t *expired_total, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_stats, d);
	int rc;

	*keys = 0;
	*expired_total = 0;
	if (st == NULL)
		return -1;
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		const char *name = db_text(st, 0, NULL);

		if (name == NULL)
			continue;
		if (strcmp(name, "keys") == 0)
			*keys = db_int(st, 1);
		else if (strcmp(name, "expired_total") == 0)
			*expired_total = db_int(st, 1);
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}
