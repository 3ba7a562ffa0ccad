#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "gcommit.h"
#include "geo_store.h"
#include "log.h"
#include "timefmt.h"

#define GEO_CLAIM_FIND (2 * GEO_CLAIM_MAX) /* the ids of q_claim_select */
#define GEO_REQUEUE_BATCH 500
#define GEO_EXPIRE_BATCH 1000

/* ------------------------------------------------------------ statements */

#define TASK_COLS                                                                                  \
	"id, task_id, name, status_code, ip, state, attempts, last_error, country_code,"           \
	" country_name, city, time_zone, latitude, longitude, accuracy_radius,"                    \
	" submitted_at, resolved_at"

DB_QUERY(q_get, "SELECT " TASK_COLS " FROM geo_tasks WHERE task_id = ?");

/* The list filters; the variants lead with the filter that has an index
 * so the range scan starts there (the others are checked per row). */
#define LIST_REST                                                                                  \
	" AND id > ? AND (? IS NULL OR state = ?) AND (? IS NULL OR country_code = ?)"             \
	" AND (? IS NULL OR status_code = ?) AND (? IS NULL OR submitted_at >= ?)"                 \
	" AND (? IS NULL OR submitted_at < ?) ORDER BY id LIMIT ?"
DB_QUERY(q_list_any, "SELECT " TASK_COLS " FROM geo_tasks WHERE 1 = 1" LIST_REST);
DB_QUERY(q_list_state, "SELECT " TASK_COLS " FROM geo_tasks WHERE state = ?" LIST_REST);
DB_QUERY(q_list_country, "SELECT " TASK_COLS " FROM geo_tasks WHERE country_code = ?" LIST_REST);
DB_QUERY(q_list_status, "SELECT " TASK_COLS " FROM geo_tasks WHERE status_code = ?" LIST_REST);

/* A claim finds due tasks with a plain read, outside any transaction, and
 * then locks them by primary key.  A locking read of the due range itself
 * would take InnoDB's gap lock past the range's last row under REPEATABLE
 * READ, which is where every new task's row goes: each POST
 * /event/submit/ would wait for the claim to commit.  Point lookups on the
 * primary key lock the rows they find and no gap (FORCE INDEX: the
 * optimiser would rather scan the due range), unless a row found was
 * deleted meanwhile (cairn never deletes tasks); unused ids are bound
 * NULL, which matches no row.  It finds twice the batch and locks a batch
 * of them in id order (no ORDER BY, so LIMIT stops the scan): a worker
 * whose rival holds the first batch locked takes the next one.  An idle
 * queue costs the one plain read. */
#define DUE                                                                                        \
	" state = 'queued' AND next_attempt_at <= NOW(6)"                                          \
	" AND (lease_until IS NULL OR lease_until < NOW(6))"
#define IDS8 "?, ?, ?, ?, ?, ?, ?, ?"
#define IDS64 IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8
DB_QUERY(q_due_ids, "SELECT id FROM geo_tasks WHERE" DUE " ORDER BY next_attempt_at, id LIMIT ?");
DB_QUERY(q_claim_select,
	 "SELECT id, ip, attempts FROM geo_tasks FORCE INDEX (PRIMARY)"
	 " WHERE id IN (" IDS64 ", " IDS64 ") AND" DUE " LIMIT ? FOR UPDATE SKIP LOCKED");
DB_QUERY(q_cache_lock, "SELECT state, COALESCE(task_id, 0), expires_at > NOW(6),"
		       " TIMESTAMPDIFF(MICROSECOND, NOW(6), expires_at)"
		       " FROM geo_cache WHERE ip = ? FOR UPDATE");
/* A claim resolves the tasks that need no call together, RESOLVE_IN at a
 * time: one statement per reason (skipped) or cache state, its unused ids
 * bound NULL (which match no row).  STRAIGHT_JOIN keeps the plan a range
 * on the tasks' ids, then their cache rows by key, even where the
 * statistics of a small cache would make a scan of it look cheaper. */
#define RESOLVE_IN 16
#define RESOLVE_IDS " WHERE t.id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
DB_QUERY(q_task_skip,
	 "UPDATE geo_tasks t SET t.state = 'skipped', t.last_error = ?, t.resolved_at = NOW(6),"
	 " t.lease_until = NULL, t.lease_holder = ?" RESOLVE_IDS);
DB_QUERY(q_task_cached_ok,
	 "UPDATE geo_tasks t STRAIGHT_JOIN geo_cache c ON c.ip = t.ip SET t.state = 'done',"
	 " t.country_code = c.country_code, t.country_name = c.country_name, t.city = c.city,"
	 " t.latitude = c.latitude, t.longitude = c.longitude, t.time_zone = c.time_zone,"
	 " t.accuracy_radius = c.accuracy_radius, t.last_error = NULL, t.resolved_at = NOW(6),"
	 " t.lease_until = NULL, t.lease_holder = ?" RESOLVE_IDS);
DB_QUERY(q_task_cached_negative,
	 "UPDATE geo_tasks t STRAIGHT_JOIN geo_cache c ON c.ip = t.ip SET t.state = 'failed',"
	 " t.last_error = c.error, t.resolved_at = NOW(6), t.lease_until = NULL,"
	 " t.lease_holder = ?" RESOLVE_IDS);
DB_QUERY(q_task_defer,
	 "UPDATE geo_tasks SET next_attempt_at = NOW(6) + INTERVAL ? MICROSECOND WHERE id = ?");
DB_QUERY(q_cache_pending,
	 "INSERT INTO geo_cache (ip, state, task_id, expires_at, updated_at)"
	 " VALUES (?, 'pending', ?, NOW(6) + INTERVAL ? SECOND, NOW(6))"
	 " ON DUPLICATE KEY UPDATE state = 'pending', task_id = VALUES(task_id),"
	 " expires_at = VALUES(expires_at), error = NULL, updated_at = VALUES(updated_at)");
DB_QUERY(q_task_lease, "UPDATE geo_tasks SET lease_holder = ?, lease_token = ?,"
		       " lease_until = NOW(6) + INTERVAL ? SECOND WHERE id = ?");

#define LEASED " WHERE id = ? AND lease_holder = ? AND lease_token = ? AND state = 'queued'"
DB_QUERY(
	q_task_done,
	"UPDATE geo_tasks SET state = 'done', attempts = attempts + 1, country_code = ?,"
	" country_name = ?, city = ?, latitude = ?, longitude = ?, time_zone = ?,"
	" accuracy_radius = ?, last_error = NULL, resolved_at = NOW(6), lease_until = NULL" LEASED);
DB_QUERY(q_task_failed,
	 "UPDATE geo_tasks SET state = 'failed', attempts = attempts + 1, last_error = ?,"
	 " resolved_at = NOW(6), lease_until = NULL" LEASED);
DB_QUERY(q_task_retry,
	 "UPDATE geo_tasks SET attempts = attempts + 1, last_error = ?,"
	 " next_attempt_at = NOW(6) + INTERVAL ? MICROSECOND, lease_until = NULL" LEASED);
DB_QUERY(q_task_release, "UPDATE geo_tasks SET next_attempt_at = NOW(6) + INTERVAL ? MICROSECOND,"
			 " lease_until = NULL" LEASED);
DB_QUERY(q_cache_ok,
	 "INSERT INTO geo_cache (ip, state, task_id, expires_at, error, country_code,"
	 " country_name, city, latitude, longitude, time_zone, accuracy_radius, updated_at)"
	 " VALUES (?, 'ok', NULL, NOW(6) + INTERVAL ? SECOND, NULL, ?, ?, ?, ?, ?, ?, ?, NOW(6))"
	 " ON DUPLICATE KEY UPDATE state = 'ok', task_id = NULL, expires_at = VALUES(expires_at),"
	 " error = NULL, country_code = VALUES(country_code), country_name = VALUES(country_name),"
	 " city = VALUES(city), latitude = VALUES(latitude), longitude = VALUES(longitude),"
	 " time_zone = VALUES(time_zone), accuracy_radius = VALUES(accuracy_radius),"
	 " updated_at = VALUES(updated_at)");
DB_QUERY(q_cache_negative,
	 "INSERT INTO geo_cache (ip, state, task_id, expires_at, error, updated_at)"
	 " VALUES (?, 'negative', NULL, NOW(6) + INTERVAL ? SECOND, ?, NOW(6))"
	 " ON DUPLICATE KEY UPDATE state = 'negative', task_id = NULL,"
	 " expires_at = VALUES(expires_at), error = VALUES(error), country_code = NULL,"
	 " country_name = NULL, city = NULL, latitude = NULL, longitude = NULL,"
	 " time_zone = NULL, accuracy_radius = NULL, updated_at = VALUES(updated_at)");
DB_QUERY(q_cache_hold, "UPDATE geo_cache SET expires_at = NOW(6) + INTERVAL ? MICROSECOND"
		       " WHERE ip = ? AND state = 'pending' AND task_id = ?");
DB_QUERY(q_cache_forget,
	 "DELETE FROM geo_cache WHERE ip = ? AND state = 'pending' AND task_id = ?");
DB_QUERY(q_wake, "UPDATE geo_tasks SET next_attempt_at = NOW(6)"
		 " WHERE ip = ? AND state = 'queued' AND next_attempt_at > NOW(6)");
DB_QUERY(q_stat,
	 "INSERT INTO geo_stats (name, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)");

DB_QUERY(q_permit,
	 "UPDATE geo_budget SET tat = GREATEST(tat, NOW(6)) + INTERVAL ? MICROSECOND"
	 " WHERE id = 1 AND breaker = 'closed' AND tat <= NOW(6) + INTERVAL ? MICROSECOND");
DB_QUERY(q_permit_probe,
	 "UPDATE geo_budget SET breaker = 'half_open', probe_until = NOW(6) + INTERVAL ? SECOND,"
	 " tat = GREATEST(tat, NOW(6)) + INTERVAL ? MICROSECOND"
	 " WHERE id = 1 AND tat <= NOW(6) + INTERVAL ? MICROSECOND"
	 " AND ((breaker = 'open' AND open_until <= NOW(6))"
	 " OR (breaker = 'half_open' AND probe_until <= NOW(6)))");
DB_QUERY(q_budget_read, "SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), tat), breaker,"
			" TIMESTAMPDIFF(MICROSECOND, NOW(6), COALESCE(open_until, NOW(6))),"
			" TIMESTAMPDIFF(MICROSECOND, NOW(6), COALESCE(probe_until, NOW(6)))"
			" FROM geo_budget WHERE id = 1");
DB_QUERY(q_budget_defer,
	 "UPDATE geo_budget SET tat = GREATEST(tat, NOW(6) + INTERVAL ? MICROSECOND) WHERE id = 1");
/* The assignments read breaker and failures before they are changed
 * (MariaDB assigns left to right): open_until and opened_count first. */
DB_QUERY(
	q_breaker_failure,
	"UPDATE geo_budget SET"
	" open_until = CASE WHEN breaker = 'half_open' OR (breaker = 'closed' AND failures + 1 >= ?)"
	"   THEN NOW(6) + INTERVAL ? SECOND ELSE open_until END,"
	" opened_count = opened_count +"
	"   IF(breaker = 'half_open' OR (breaker = 'closed' AND failures + 1 >= ?), 1, 0),"
	" probe_until = IF(breaker = 'half_open', NULL, probe_until),"
	" breaker = CASE WHEN breaker = 'half_open' OR (breaker = 'closed' AND failures + 1 >= ?)"
	"   THEN 'open' ELSE breaker END,"
	" failures = failures + 1 WHERE id = 1");
DB_QUERY(q_breaker_success,
	 "UPDATE geo_budget SET breaker = 'closed', failures = 0, open_until = NULL,"
	 " probe_until = NULL WHERE id = 1 AND (breaker <> 'closed' OR failures <> 0)");

/* Every DELETE or UPDATE with a LIMIT orders by a unique key, so a replica
 * replaying it as a statement picks the same rows (MariaDB still notes it
 * as unsafe under binlog_format = STATEMENT, and logs it as rows under
 * MIXED, its default). */
DB_QUERY(q_requeue_forget, "DELETE FROM geo_cache WHERE state = 'negative' ORDER BY ip LIMIT 1000");
DB_QUERY(q_requeue,
	 "UPDATE geo_tasks SET state = 'queued', attempts = 0, next_attempt_at = NOW(6),"
	 " resolved_at = NULL, lease_until = NULL WHERE state = 'failed' ORDER BY id LIMIT 500");
DB_QUERY(q_cache_expire, "DELETE FROM geo_cache WHERE expires_at < NOW(6) - INTERVAL 60 SECOND"
			 " ORDER BY expires_at, ip LIMIT 1000");

DB_QUERY(q_m_queue,
	 "SELECT COUNT(*), COALESCE(SUM(next_attempt_at <= NOW(6)), 0),"
	 " COALESCE(SUM(lease_until > NOW(6)), 0) FROM geo_tasks WHERE state = 'queued'");
DB_QUERY(q_m_oldest, "SELECT TIMESTAMPDIFF(MICROSECOND, submitted_at, NOW(6)) FROM geo_tasks"
		     " WHERE state = 'queued' ORDER BY id LIMIT 1");
DB_QUERY(q_m_failed, "SELECT COUNT(*) FROM geo_tasks WHERE state = 'failed'");
DB_QUERY(q_m_stats, "SELECT name, n FROM geo_stats ORDER BY name");
DB_QUERY(q_m_breaker, "SELECT breaker, failures, opened_count FROM geo_budget WHERE id = 1");

/* -------------------------------------------------------------- helpers */

static void
bind_ip(struct db_stmt *st, unsigned i, const struct geo_ip *ip)
{
	db_bind_text(st, i, ip->b, ip->len);
}

static void
bind_opt_str(struct db_stmt *st, unsigned i, bool has, const char *s)
{
	if (has)
		db_bind_str(st, i, s);
	else
		db_bind_null(st, i);
}

static int
exec_affected(struct db_stmt *st, uint64_t *affected, struct diag *d)
{
	if (db_exec(st, d) < 0)
		return -1;
	if (affected != NULL)
		*affected = db_affected(st);
	return 0;
}

/* Adds n to counter name (in the caller's transaction, or on its own). */
static int
stat_add(struct db *db, const char *name, int64_t n, struct diag *d)
{
	struct db_stmt *st;

	if (n == 0)
		return 0;
	st = db_prepare(db, &q_stat, d);
	if (st == NULL)
		return -1;
	db_bind_str(st, 0, name);
	db_bind_int(st, 1, n);
	return db_exec(st, d);
}

/* ------------------------------------------------------------ HTTP side */

/* A task as gcommit carries it: this header, then the name. */
struct grouped_task {
	unsigned char task_id[GEO_UUID_BYTES];
	unsigned char ip[16];
	uint8_t ip_len; /* 0: no address */
	bool has_name, has_status;
	int64_t status_code;
	uint32_t name_len;
};

/* The prepared INSERT of n tasks (1 .. GCOMMIT_GROUP_MAX), made on first
 * use. */
static struct db_query insert_q[GCOMMIT_GROUP_MAX + 1];
static int group_kind = -1;

static struct db_query *
insert_query(size_t n)
{
	return db_values_query(&insert_q[n],
			       "INSERT INTO geo_tasks (task_id, name, status_code, ip,"
			       " state, next_attempt_at, submitted_at) VALUES ",
			       "(?, ?, ?, ?, 'queued', NOW(6), NOW(6))", n);
}

/* gcommit_write_fn: rows[0..n) as one INSERT. */
static int
write_tasks(struct db *db, struct gcommit_row *rows, size_t n, struct diag *d)
{
	struct grouped_task t[GCOMMIT_GROUP_MAX];
	struct db_stmt *st = db_prepare(db, insert_query(n), d);

	if (st == NULL)
		return -1;
	for (size_t j = 0; j < n; j++) {
		unsigned p = (unsigned)(4 * j);

		memcpy(&t[j], rows[j].p, sizeof t[j]); /* the bytes need not be aligned */
		db_bind_text(st, p, t[j].task_id, GEO_UUID_BYTES);
		if (t[j].has_name)
			db_bind_text(st, p + 1, (const char *)rows[j].p + sizeof t[j],
				     t[j].name_len);
		else
			db_bind_null(st, p + 1);
		if (t[j].has_status)
			db_bind_int(st, p + 2, t[j].status_code);
		else
			db_bind_null(st, p + 2);
		if (t[j].ip_len > 0)
			db_bind_text(st, p + 3, t[j].ip, t[j].ip_len);
		else
			db_bind_null(st, p + 3);
	}
	return db_exec(st, d);
}

void
geo_store_init(void)
{
	group_kind = gcommit_kind("geo", write_tasks);
}

int
geo_store_insert(struct db *db, const unsigned char task_id[GEO_UUID_BYTES],
		 const struct geo_submit *s, const struct geo_ip *ip, struct diag *d)
{
	unsigned char row[sizeof(struct grouped_task) + GEO_NAME_MAX * 4];
	struct grouped_task t;
	size_t name_len = s->has_name ? s->name_len : 0;
	struct gcommit_row r = {row, sizeof t + name_len, 0};

	if (name_len > GEO_NAME_MAX * 4) {
		diag_set(d, DIAG_INTERNAL, "task name over %d bytes", GEO_NAME_MAX * 4);
		return -1;
	}
	memset(&t, 0, sizeof t);
	memcpy(t.task_id, task_id, GEO_UUID_BYTES);
	if (ip != NULL) {
		memcpy(t.ip, ip->b, ip->len);
		t.ip_len = (uint8_t)ip->len;
	}
	t.has_name = s->has_name;
	t.has_status = s->has_status;
	t.status_code = s->status_code;
	t.name_len = (uint32_t)name_len;
	memcpy(row, &t, sizeof t);
	if (name_len > 0)
		memcpy(row + sizeof t, s->name, name_len);
	if (group_kind >= 0)
		return gcommit_write(db, group_kind, r.p, r.len, NULL, d);
	return write_tasks(db, &r, 1, d);
}

static void
row_to_task(struct db_stmt *st, struct geo_task *t)
{
	size_t len;
	const char *p;

	memset(t, 0, sizeof *t);
	t->id = db_int(st, 0);
	p = db_text(st, 1, &len);
	if (p != NULL && len == GEO_UUID_BYTES)
		memcpy(t->task_id, p, GEO_UUID_BYTES);
	t->name = db_text(st, 2, &t->name_len);
	t->status_code = db_text(st, 3, NULL);
	p = db_text(st, 4, &len);
	t->has_ip = p != NULL && geo_ip_from_bytes(p, len, &t->ip);
	t->state = db_text(st, 5, NULL);
	if (t->state == NULL)
		t->state = "queued";
	t->attempts = db_int(st, 6);
	t->error = db_text(st, 7, NULL);
	t->country_code = db_text(st, 8, NULL);
	t->country_name = db_text(st, 9, NULL);
	t->city = db_text(st, 10, NULL);
	t->time_zone = db_text(st, 11, NULL);
	t->latitude = db_text(st, 12, NULL);
	t->longitude = db_text(st, 13, NULL);
	t->accuracy_radius = db_text(st, 14, NULL);
	t->submitted_at = db_text(st, 15, NULL);
	t->resolved_at = db_text(st, 16, NULL);
}

int
geo_store_get(struct db *db, const unsigned char task_id[GEO_UUID_BYTES], geo_task_fn fn, void *arg,
	      struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_get, d);
	struct geo_task t;
	int rc;

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, task_id, GEO_UUID_BYTES);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		row_to_task(st, &t);
		fn(&t, arg);
	}
	db_release(st);
	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int
geo_store_list(struct db *db, const struct geo_filter *f, int64_t after_id, int limit,
	       geo_task_fn fn, void *arg, struct diag *d)
{
	struct db_query *q = &q_list_any;
	struct db_stmt *st;
	struct geo_task t;
	unsigned i = 0;
	int rc;

	if (f->state != NULL)
		q = &q_list_state;
	else if (f->country != NULL)
		q = &q_list_country;
	else if (f->has_status)
		q = &q_list_status;
	st = db_prepare(db, q, d);
	if (st == NULL)
		return -1;
	if (q == &q_list_state)
		db_bind_str(st, i++, f->state);
	else if (q == &q_list_country)
		db_bind_text(st, i++, f->country, f->country_len);
	else if (q == &q_list_status)
		db_bind_int(st, i++, f->status_code);
	db_bind_int(st, i++, after_id);
	for (int k = 0; k < 2; k++)
		bind_opt_str(st, i++, f->state != NULL, f->state);
	for (int k = 0; k < 2; k++) {
		if (f->country != NULL)
			db_bind_text(st, i++, f->country, f->country_len);
		else
			db_bind_null(st, i++);
	}
	for (int k = 0; k < 2; k++) {
		if (f->has_status)
			db_bind_int(st, i++, f->status_code);
		else
			db_bind_null(st, i++);
	}
	for (int k = 0; k < 2; k++)
		bind_opt_str(st, i++, f->has_from, f->from);
	for (int k = 0; k < 2; k++)
		bind_opt_str(st, i++, f->has_to, f->to);
	db_bind_int(st, i, limit);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		row_to_task(st, &t);
		if (fn(&t, arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* -------------------------------------------------------------- claims */

struct claim_args {
	const char *holder;
	int64_t token;
	unsigned lease_seconds;
	unsigned batch;
	struct geo_claimed *calls;
	size_t max_calls;
	int64_t defer_us;
	struct geo_claim_result *r;
	/* the due tasks' ids (find_due), then the rows locked (lock_due) */
	int64_t due[GEO_CLAIM_FIND];
	size_t ndue;
	struct geo_claimed rows[GEO_CLAIM_MAX];
	bool has_ip[GEO_CLAIM_MAX];
	size_t nrows;
	/* those resolved without a call, not yet written (write_resolved) */
	struct resolved {
		struct db_query *q;      /* q_task_skip or q_task_cached_{ok,negative} */
		const char *why;         /* q_task_skip's reason, a static string */
		const struct geo_ip *ip; /* the cached ones' address (rows[]) */
		int64_t id;
	} resolved[GEO_CLAIM_MAX];
	size_t nresolved;
};

/* The ids of up to twice a->batch due tasks, read without locks (a
 * db_autocommit unit: a connection that died while idle is replaced). */
static int
find_due(struct db *db, void *arg, struct diag *d)
{
	struct claim_args *a = arg;
	struct db_stmt *st = db_prepare(db, &q_due_ids, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, 2 * a->batch);
	if (db_execute(st, d) < 0)
		return -1;
	a->ndue = 0;
	while ((rc = db_fetch(st, d)) == 1 && a->ndue < GEO_CLAIM_FIND)
		a->due[a->ndue++] = db_int(st, 0);
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* Locks up to a->batch of the found tasks that are still due and that no
 * other claim has locked, and reads them. */
static int
lock_due(struct db *db, struct claim_args *a, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_claim_select, d);
	int rc;

	if (st == NULL)
		return -1;
	for (unsigned i = 0; i < GEO_CLAIM_FIND; i++) {
		if (i < a->ndue)
			db_bind_int(st, i, a->due[i]);
		else
			db_bind_null(st, i);
	}
	db_bind_int(st, GEO_CLAIM_FIND, a->batch);
	if (db_execute(st, d) < 0)
		return -1;
	a->nrows = 0;
	while ((rc = db_fetch(st, d)) == 1 && a->nrows < GEO_CLAIM_MAX) {
		struct geo_claimed *c = &a->rows[a->nrows];
		size_t len;
		const char *ip = db_text(st, 1, &len);

		c->id = db_int(st, 0);
		c->attempts = (unsigned)db_int(st, 2);
		a->has_ip[a->nrows] = ip != NULL && geo_ip_from_bytes(ip, len, &c->ip);
		a->nrows++;
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* Notes task c as resolved by q (with reason why for q_task_skip); the
 * claim writes it before it commits, or before its address's cache row
 * changes (cache_hit_waiting). */
static void
resolve_later(struct claim_args *a, struct db_query *q, const struct geo_claimed *c,
	      const char *why)
{
	struct resolved *t = &a->resolved[a->nresolved++];

	t->q = q;
	t->why = why;
	t->ip = q == &q_task_skip ? NULL : &c->ip;
	t->id = c->id;
}

/* True if a noted cache hit copies ip's cache row: it must be written
 * before this claim makes that row pending (an expired row of the same
 * address, met again later in the claim). */
static bool
cache_hit_waiting(const struct claim_args *a, const struct geo_ip *ip)
{
	for (size_t i = 0; i < a->nresolved; i++) {
		const struct geo_ip *x = a->resolved[i].ip;

		if (x != NULL && x->len == ip->len && memcmp(x->b, ip->b, ip->len) == 0)
			return true;
	}
	return false;
}

static bool
same_resolution(const struct resolved *x, const struct resolved *y)
{
	return x->q == y->q &&
	       (x->why == NULL ? y->why == NULL : y->why != NULL && strcmp(x->why, y->why) == 0);
}

/* Writes the tasks resolve_later noted, RESOLVE_IN of one resolution per
 * statement, and forgets them. */
static int
write_resolved(struct db *db, struct claim_args *a, struct diag *d)
{
	bool written[GEO_CLAIM_MAX] = {false};

	for (size_t i = 0; i < a->nresolved; i++) {
		const struct resolved *first = &a->resolved[i];
		struct db_stmt *st;
		unsigned p = 0, n = 0;

		if (written[i])
			continue;
		st = db_prepare(db, first->q, d);
		if (st == NULL)
			return -1;
		if (first->why != NULL)
			db_bind_str(st, p++, first->why);
		db_bind_str(st, p++, a->holder);
		for (size_t j = i; j < a->nresolved && n < RESOLVE_IN; j++) {
			if (!written[j] && same_resolution(first, &a->resolved[j])) {
				db_bind_int(st, p + n++, a->resolved[j].id);
				written[j] = true;
			}
		}
		while (n < RESOLVE_IN)
			db_bind_null(st, p + n++);
		if (db_exec(st, d) < 0)
			return -1;
	}
	a->nresolved = 0;
	return 0;
}

static int
defer_task(struct db *db, int64_t id, int64_t delay_us, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_task_defer, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, delay_us < 1000 ? 1000 : delay_us);
	db_bind_int(st, 1, id);
	return db_exec(st, d);
}

/* The address's cache row, locked. 0 absent; 1 found. */
struct cache_row {
	char state[16];
	int64_t task;
	bool live;
	int64_t remaining_us;
};

static int
lock_cache(struct db *db, const struct geo_ip *ip, struct cache_row *row, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_cache_lock, d);
	int rc;

	if (st == NULL)
		return -1;
	bind_ip(st, 0, ip);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		db_text_copy(st, 0, row->state, sizeof row->state);
		row->task = db_int(st, 1);
		row->live = db_int(st, 2) != 0;
		row->remaining_us = db_int(st, 3);
	}
	db_release(st);
	return rc;
}

/* Leases task c to the caller and takes its address's pending row. */
static int
lease_task(struct db *db, struct claim_args *a, const struct geo_claimed *c, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_cache_pending, d);

	if (st == NULL)
		return -1;
	bind_ip(st, 0, &c->ip);
	db_bind_int(st, 1, c->id);
	db_bind_int(st, 2, a->lease_seconds);
	if (db_exec(st, d) < 0)
		return -1;
	st = db_prepare(db, &q_task_lease, d);
	if (st == NULL)
		return -1;
	db_bind_str(st, 0, a->holder);
	db_bind_int(st, 1, a->token);
	db_bind_int(st, 2, a->lease_seconds);
	db_bind_int(st, 3, c->id);
	if (db_exec(st, d) < 0)
		return -1;
	a->calls[a->r->ncalls++] = *c;
	return 0;
}

static int
claim_txn(struct db *db, void *arg, struct diag *d)
{
	struct claim_args *a = arg;
	struct geo_claim_result *r = a->r;
	int64_t cached_ok = 0, cached_negative = 0;

	/* the transaction may run again after a deadlock: start clean */
	memset(r, 0, sizeof *r);
	a->nresolved = 0;
	if (lock_due(db, a, d) < 0)
		return -1;
	r->selected = (unsigned)a->nrows;
	for (size_t i = 0; i < a->nrows; i++) {
		const struct geo_claimed *c = &a->rows[i];
		const char *why;
		struct cache_row row;
		int rc;

		why = a->has_ip[i] ? geo_ip_reserved(&c->ip) : "no source address";
		if (why != NULL) {
			resolve_later(a, &q_task_skip, c, why);
			r->skipped++;
			continue;
		}
		rc = lock_cache(db, &c->ip, &row, d);
		if (rc < 0)
			return -1;
		if (rc == 1 && row.live && strcmp(row.state, "ok") == 0) {
			resolve_later(a, &q_task_cached_ok, c, NULL);
			r->cached++;
			cached_ok++;
			continue;
		}
		if (rc == 1 && row.live && strcmp(row.state, "negative") == 0) {
			resolve_later(a, &q_task_cached_negative, c, NULL);
			r->cached++;
			cached_negative++;
			continue;
		}
		if (rc == 1 && row.live && strcmp(row.state, "pending") == 0 && row.task != c->id) {
			/* another task owns this address's call: wait for its answer
			 * (its completion wakes this one) */
			if (defer_task(db, c->id, row.remaining_us, d) < 0)
				return -1;
			r->deferred++;
			continue;
		}
		if (r->ncalls < a->max_calls) {
			if ((cache_hit_waiting(a, &c->ip) && write_resolved(db, a, d) < 0) ||
			    lease_task(db, a, c, d) < 0)
				return -1;
		} else if (a->defer_us > 0) {
			if (defer_task(db, c->id, a->defer_us, d) < 0)
				return -1;
			r->deferred++;
		}
	}
	if (write_resolved(db, a, d) < 0 || stat_add(db, "cache_hits", cached_ok, d) < 0 ||
	    stat_add(db, "cache_negative_hits", cached_negative, d) < 0 ||
	    stat_add(db, "resolved_done", cached_ok, d) < 0 ||
	    stat_add(db, "resolved_failed", cached_negative, d) < 0 ||
	    stat_add(db, "resolved_skipped", r->skipped, d) < 0)
		return -1;
	return 0;
}

int
geo_store_claim(struct db *db, const char *holder, int64_t token, unsigned lease_seconds,
		unsigned batch, struct geo_claimed *calls, size_t max_calls, int64_t defer_us,
		struct geo_claim_result *r, struct diag *d)
{
	struct claim_args a;

	memset(&a, 0, sizeof a);
	a.holder = holder;
	a.token = token;
	a.lease_seconds = lease_seconds;
	a.batch = batch < 1 ? 1 : batch > GEO_CLAIM_MAX ? GEO_CLAIM_MAX : batch;
	a.calls = calls;
	a.max_calls = max_calls;
	a.defer_us = defer_us;
	a.r = r;
	if (db_autocommit(db, find_due, &a, d) < 0)
		return -1;
	if (a.ndue == 0) {
		memset(r, 0, sizeof *r);
		return 0;
	}
	return db_txn(db, claim_txn, &a, d);
}

/* ----------------------------------------------------------- completions */

static const char *const outcome_names[GEO_OUT_COUNT] = {
	"ok",           "bad_address",  "not_found", "rate_limited",
	"server_error", "bad_response", "timeout",   "connect_error",
};

const char *
geo_outcome_name(enum geo_outcome o)
{
	return (unsigned)o < GEO_OUT_COUNT ? outcome_names[o] : "unknown";
}

bool
geo_outcome_retryable(enum geo_outcome o)
{
	return o != GEO_OUT_OK && o != GEO_OUT_BAD_ADDRESS && o != GEO_OUT_NOT_FOUND;
}

struct complete_args {
	const struct geo_claimed *t;
	const char *holder;
	int64_t token;
	const struct geo_result *res;
	bool lost;
};

static void
bind_lease(struct db_stmt *st, unsigned i, const struct complete_args *a)
{
	db_bind_int(st, i, a->t->id);
	db_bind_str(st, i + 1, a->holder);
	db_bind_int(st, i + 2, a->token);
}

/* lat and lon: the caller's buffers, alive until the statement ran */
static void
bind_geo(struct db_stmt *st, unsigned i, const struct geo_info *g, char lat[32], char lon[32])
{
	snprintf(lat, 32, "%.6f", g->latitude);
	snprintf(lon, 32, "%.6f", g->longitude);
	bind_opt_str(st, i, g->has_country_code, g->country_code);
	bind_opt_str(st, i + 1, g->has_country_name, g->country_name);
	bind_opt_str(st, i + 2, g->has_city, g->city);
	bind_opt_str(st, i + 3, g->has_latitude, lat);
	bind_opt_str(st, i + 4, g->has_longitude, lon);
	bind_opt_str(st, i + 5, g->has_time_zone, g->time_zone);
	if (g->has_accuracy_radius)
		db_bind_int(st, i + 6, g->accuracy_radius);
	else
		db_bind_null(st, i + 6);
}

static int
cache_exec(struct db *db, struct db_query *q, const struct geo_claimed *t, int64_t us,
	   struct diag *d)
{
	struct db_stmt *st = db_prepare(db, q, d);
	unsigned i = 0;

	if (st == NULL)
		return -1;
	if (q == &q_cache_hold)
		db_bind_int(st, i++, us);
	bind_ip(st, i++, &t->ip);
	db_bind_int(st, i, t->id);
	return db_exec(st, d);
}

static int
wake_same_address(struct db *db, const struct geo_ip *ip, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_wake, d);

	if (st == NULL)
		return -1;
	bind_ip(st, 0, ip);
	return db_exec(st, d);
}

static int
complete_txn(struct db *db, void *arg, struct diag *d)
{
	struct complete_args *a = arg;
	const struct geo_result *res = a->res;
	bool retry = geo_outcome_retryable(res->outcome);
	bool failed = !retry ? res->outcome != GEO_OUT_OK : res->give_up;
	struct db_stmt *st;
	uint64_t affected;
	char stat[64], lat[32], lon[32];

	a->lost = false;
	if (res->outcome == GEO_OUT_OK) {
		st = db_prepare(db, &q_task_done, d);
		if (st == NULL)
			return -1;
		bind_geo(st, 0, &res->info, lat, lon);
		bind_lease(st, 7, a);
	} else if (failed) {
		st = db_prepare(db, &q_task_failed, d);
		if (st == NULL)
			return -1;
		db_bind_str(st, 0, res->error);
		bind_lease(st, 1, a);
	} else {
		st = db_prepare(db, &q_task_retry, d);
		if (st == NULL)
			return -1;
		db_bind_str(st, 0, res->error);
		db_bind_int(st, 1, res->retry_us < 0 ? 0 : res->retry_us);
		bind_lease(st, 2, a);
	}
	if (exec_affected(st, &affected, d) < 0)
		return -1;
	if (affected == 0) {
		/* another worker took the task over: its answer counts, not ours */
		a->lost = true;
		return stat_add(db, "leases_lost", 1, d);
	}
	if (res->outcome == GEO_OUT_OK || !retry) {
		long long ttl = config_int(res->outcome == GEO_OUT_OK ? "geo.cache_ttl"
								      : "geo.negative_ttl");

		/* wake first, then the cache row: the same lock order as a claim
		 * (task rows, then the cache row), so the two never deadlock */
		if (wake_same_address(db, &a->t->ip, d) < 0)
			return -1;
		if (ttl == 0) {
			if (cache_exec(db, &q_cache_forget, a->t, 0, d) < 0)
				return -1;
		} else if (res->outcome == GEO_OUT_OK) {
			st = db_prepare(db, &q_cache_ok, d);
			if (st == NULL)
				return -1;
			bind_ip(st, 0, &a->t->ip);
			db_bind_int(st, 1, ttl);
			bind_geo(st, 2, &res->info, lat, lon);
			if (db_exec(st, d) < 0)
				return -1;
		} else {
			st = db_prepare(db, &q_cache_negative, d);
			if (st == NULL)
				return -1;
			bind_ip(st, 0, &a->t->ip);
			db_bind_int(st, 1, ttl);
			db_bind_str(st, 2, res->error);
			if (db_exec(st, d) < 0)
				return -1;
		}
	} else if (res->give_up) {
		if (cache_exec(db, &q_cache_forget, a->t, 0, d) < 0 ||
		    wake_same_address(db, &a->t->ip, d) < 0)
			return -1;
	} else {
		/* keep the address owned until this task's next try */
		int64_t hold = res->retry_us + config_int("geo.lease_seconds") * 1000000;

		if (cache_exec(db, &q_cache_hold, a->t, hold, d) < 0)
			return -1;
	}
	snprintf(stat, sizeof stat, "calls_%s", geo_outcome_name(res->outcome));
	if (stat_add(db, stat, 1, d) < 0)
		return -1;
	if (res->outcome == GEO_OUT_OK)
		return stat_add(db, "resolved_done", 1, d);
	if (failed)
		return stat_add(db, "resolved_failed", 1, d);
	return 0;
}

int
geo_store_complete(struct db *db, const struct geo_claimed *t, const char *holder, int64_t token,
		   const struct geo_result *res, struct diag *d)
{
	struct complete_args a = {t, holder, token, res, false};

	if (db_txn(db, complete_txn, &a, d) < 0)
		return -1;
	return a.lost ? 1 : 0;
}

struct release_args {
	const struct geo_claimed *t;
	const char *holder;
	int64_t token;
	int64_t delay_us;
};

static int
release_txn(struct db *db, void *arg, struct diag *d)
{
	struct release_args *a = arg;
	struct db_stmt *st = db_prepare(db, &q_task_release, d);
	uint64_t affected;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->delay_us < 0 ? 0 : a->delay_us);
	db_bind_int(st, 1, a->t->id);
	db_bind_str(st, 2, a->holder);
	db_bind_int(st, 3, a->token);
	if (exec_affected(st, &affected, d) < 0)
		return -1;
	if (affected == 0)
		return 0;
	/* the address is free at once: another task may call for it */
	return cache_exec(db, &q_cache_hold, a->t, 0, d);
}

int
geo_store_release(struct db *db, const struct geo_claimed *t, const char *holder, int64_t token,
		  int64_t delay_us, struct diag *d)
{
	struct release_args a = {t, holder, token, delay_us};

	return db_txn(db, release_txn, &a, d);
}

/* --------------------------------------------------------------- budget */

struct permit_args {
	int64_t interval_us;
	unsigned probe_seconds;
	struct geo_permit *p;
};

static int
permit_txn(struct db *db, void *arg, struct diag *d)
{
	struct permit_args *a = arg;
	struct geo_permit *p = a->p;
	struct db_stmt *st;
	uint64_t affected;
	int64_t tat_us = 0, open_us = 0, probe_us = 0;
	int rc;

	memset(p, 0, sizeof *p);
	st = db_prepare(db, &q_permit, d);
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->interval_us);
	db_bind_int(st, 1, a->interval_us);
	if (exec_affected(st, &affected, d) < 0)
		return -1;
	if (affected == 1) {
		p->granted = true;
	} else {
		st = db_prepare(db, &q_permit_probe, d);
		if (st == NULL)
			return -1;
		db_bind_int(st, 0, a->probe_seconds);
		db_bind_int(st, 1, a->interval_us);
		db_bind_int(st, 2, a->interval_us);
		if (exec_affected(st, &affected, d) < 0)
			return -1;
		p->granted = p->probe = affected == 1;
	}
	st = db_prepare(db, &q_budget_read, d);
	if (st == NULL)
		return -1;
	p->mono_before_us = timefmt_monotonic_us();
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	p->mono_after_us = timefmt_monotonic_us();
	if (rc == 1) {
		const char *b = db_text(st, 1, NULL);

		tat_us = db_int(st, 0);
		open_us = db_int(st, 2);
		probe_us = db_int(st, 3);
		if (b != NULL && strcmp(b, "open") == 0)
			p->breaker = GEO_BREAKER_OPEN;
		else if (b != NULL && strcmp(b, "half_open") == 0)
			p->breaker = GEO_BREAKER_HALF_OPEN;
	}
	db_release(st);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		diag_set(d, DIAG_INTERNAL, "geo_budget has no row 1 (migration 0006 not applied?)");
		return -1;
	}
	if (p->granted) {
		p->send_in_us = tat_us;
	} else {
		int64_t wait = tat_us - a->interval_us;

		if (p->breaker == GEO_BREAKER_OPEN && open_us > wait)
			wait = open_us;
		if (p->breaker == GEO_BREAKER_HALF_OPEN && probe_us > wait)
			wait = probe_us;
		p->wait_us = wait < 1000 ? 1000 : wait;
	}
	return stat_add(db, p->granted ? "permits_granted" : "permits_waited", 1, d);
}

int
geo_store_permit(struct db *db, int64_t interval_us, unsigned probe_seconds, struct geo_permit *p,
		 struct diag *d)
{
	struct permit_args a = {interval_us, probe_seconds, p};

	return db_txn(db, permit_txn, &a, d);
}

int
geo_store_budget_defer(struct db *db, int64_t delay_us, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_budget_defer, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, delay_us < 0 ? 0 : delay_us);
	return db_exec(st, d);
}

int
geo_store_breaker_report(struct db *db, bool success, unsigned threshold, unsigned cooldown,
			 struct diag *d)
{
	struct db_stmt *st = db_prepare(db, success ? &q_breaker_success : &q_breaker_failure, d);

	if (st == NULL)
		return -1;
	if (!success) {
		db_bind_int(st, 0, threshold);
		db_bind_int(st, 1, cooldown);
		db_bind_int(st, 2, threshold);
		db_bind_int(st, 3, threshold);
	}
	return db_exec(st, d);
}

/* ------------------------------------------------------------ operators */

struct requeue_args {
	uint64_t tasks, forgotten;
};

static int
requeue_txn(struct db *db, void *arg, struct diag *d)
{
	struct requeue_args *a = arg;
	struct db_stmt *st = db_prepare(db, &q_requeue_forget, d);

	if (st == NULL || exec_affected(st, &a->forgotten, d) < 0)
		return -1;
	st = db_prepare(db, &q_requeue, d);
	if (st == NULL || exec_affected(st, &a->tasks, d) < 0)
		return -1;
	return 0;
}

int
geo_store_requeue_step(struct db *db, uint64_t *tasks, uint64_t *forgotten, struct diag *d)
{
	struct requeue_args a = {0, 0};
	int rc = db_txn(db, requeue_txn, &a, d);

	*tasks = a.tasks;
	*forgotten = a.forgotten;
	return rc;
}

int
geo_store_cache_expire_step(struct db *db, bool first, int *more, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_cache_expire, d);
	uint64_t affected;

	*more = 0;
	if (st == NULL || exec_affected(st, &affected, d) < 0)
		return -1;
	*more = affected >= GEO_EXPIRE_BATCH;
	return 0;
}

/* ------------------------------------------------------------- metrics */

static int
scalar_row(struct db *db, struct db_query *q, int64_t *out, size_t n, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, q, d);
	int rc;

	for (size_t i = 0; i < n; i++)
		out[i] = 0;
	if (st == NULL || db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	for (size_t i = 0; rc == 1 && i < n; i++)
		out[i] = db_int(st, (unsigned)i);
	db_release(st);
	return rc < 0 ? -1 : rc;
}

struct stat_row {
	char name[64];
	int64_t n;
};

#define GEO_STATS_MAX 64

static int64_t
stat_get(const struct stat_row *rows, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].name, name) == 0)
			return rows[i].n;
	return 0;
}

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static int
render(struct db *db, struct buf *b, struct diag *d)
{
	int64_t queue[3], oldest[1], failed[1];
	struct stat_row rows[GEO_STATS_MAX];
	size_t nrows = 0;
	char breaker[16] = "closed";
	int64_t failures = 0, opened = 0;
	struct db_stmt *st;
	int rc;

	if (scalar_row(db, &q_m_queue, queue, 3, d) < 0)
		return -1;
	rc = scalar_row(db, &q_m_oldest, oldest, 1, d);
	if (rc < 0 || scalar_row(db, &q_m_failed, failed, 1, d) < 0)
		return -1;
	if (rc == 0)
		oldest[0] = 0;
	st = db_prepare(db, &q_m_stats, d);
	if (st == NULL || db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		if (nrows == GEO_STATS_MAX)
			continue;
		snprintf(rows[nrows].name, sizeof rows[nrows].name, "%s",
			 db_text(st, 0, NULL) ? db_text(st, 0, NULL) : "");
		rows[nrows].n = db_int(st, 1);
		nrows++;
	}
	db_release(st);
	if (rc < 0)
		return -1;
	st = db_prepare(db, &q_m_breaker, d);
	if (st == NULL || db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		snprintf(breaker, sizeof breaker, "%s",
			 db_text(st, 0, NULL) ? db_text(st, 0, NULL) : "");
		failures = db_int(st, 1);
		opened = db_int(st, 2);
	}
	db_release(st);
	if (rc < 0)
		return -1;

	help(b, "cairn_geo_up", "gauge",
	     "1 when the geo numbers below were read from the database.");
	buf_puts(b, "cairn_geo_up 1\n");
	help(b, "cairn_geo_tasks", "gauge",
	     "Tasks now queued and failed (done and skipped: cairn_geo_tasks_resolved_total).");
	buf_printf(b, "cairn_geo_tasks{state=\"queued\"} %lld\n", (long long)queue[0]);
	buf_printf(b, "cairn_geo_tasks{state=\"failed\"} %lld\n", (long long)failed[0]);
	help(b, "cairn_geo_queue_due", "gauge", "Queued tasks whose next attempt is due now.");
	buf_printf(b, "cairn_geo_queue_due %lld\n", (long long)queue[1]);
	help(b, "cairn_geo_queue_claimed", "gauge", "Queued tasks a worker holds a lease on.");
	buf_printf(b, "cairn_geo_queue_claimed %lld\n", (long long)queue[2]);
	help(b, "cairn_geo_queue_oldest_age_seconds", "gauge",
	     "Age of the oldest queued task (0 when the queue is empty).");
	buf_printf(b, "cairn_geo_queue_oldest_age_seconds %.3f\n", (double)oldest[0] / 1e6);
	help(b, "cairn_geo_tasks_resolved_total", "counter", "Tasks resolved, by final state.");
	buf_printf(b, "cairn_geo_tasks_resolved_total{state=\"done\"} %lld\n",
		   (long long)stat_get(rows, nrows, "resolved_done"));
	buf_printf(b, "cairn_geo_tasks_resolved_total{state=\"failed\"} %lld\n",
		   (long long)stat_get(rows, nrows, "resolved_failed"));
	buf_printf(b, "cairn_geo_tasks_resolved_total{state=\"skipped\"} %lld\n",
		   (long long)stat_get(rows, nrows, "resolved_skipped"));
	help(b, "cairn_geo_provider_calls_total", "counter",
	     "Calls to the geo provider, by outcome.");
	for (int o = 0; o < GEO_OUT_COUNT; o++) {
		char name[64];

		snprintf(name, sizeof name, "calls_%s", outcome_names[o]);
		buf_printf(b, "cairn_geo_provider_calls_total{outcome=\"%s\"} %lld\n",
			   outcome_names[o], (long long)stat_get(rows, nrows, name));
	}
	help(b, "cairn_geo_cache_hits_total", "counter",
	     "Tasks answered from the address cache without a call.");
	buf_printf(b, "cairn_geo_cache_hits_total{result=\"positive\"} %lld\n",
		   (long long)stat_get(rows, nrows, "cache_hits"));
	buf_printf(b, "cairn_geo_cache_hits_total{result=\"negative\"} %lld\n",
		   (long long)stat_get(rows, nrows, "cache_negative_hits"));
	help(b, "cairn_geo_permits_total", "counter",
	     "Requests for a call permit from the shared budget: granted, or refused and waited.");
	buf_printf(b, "cairn_geo_permits_total{result=\"granted\"} %lld\n",
		   (long long)stat_get(rows, nrows, "permits_granted"));
	buf_printf(b, "cairn_geo_permits_total{result=\"waited\"} %lld\n",
		   (long long)stat_get(rows, nrows, "permits_waited"));
	help(b, "cairn_geo_leases_lost_total", "counter",
	     "Call results dropped because another worker had taken the task over.");
	buf_printf(b, "cairn_geo_leases_lost_total %lld\n",
		   (long long)stat_get(rows, nrows, "leases_lost"));
	help(b, "cairn_geo_breaker_state", "gauge",
	     "The provider circuit breaker (1 = current state).");
	buf_printf(b, "cairn_geo_breaker_state{state=\"closed\"} %d\n",
		   strcmp(breaker, "closed") == 0);
	buf_printf(b, "cairn_geo_breaker_state{state=\"open\"} %d\n", strcmp(breaker, "open") == 0);
	buf_printf(b, "cairn_geo_breaker_state{state=\"half_open\"} %d\n",
		   strcmp(breaker, "half_open") == 0);
	help(b, "cairn_geo_breaker_consecutive_failures", "gauge",
	     "Failed provider calls in a row, as the breaker counts them.");
	buf_printf(b, "cairn_geo_breaker_consecutive_failures %lld\n", (long long)failures);
	help(b, "cairn_geo_breaker_opened_total", "counter", "Times the breaker opened.");
	buf_printf(b, "cairn_geo_breaker_opened_total %lld\n", (long long)opened);
	return 0;
}

int
geo_store_metrics(struct db *db, struct buf *out, struct diag *d)
{
	struct buf b;
	int rc;

	buf_init(&b, 1u << 20);
	rc = render(db, &b, d);
	if (rc == 0 && buf_append(out, b.data ? b.data : "", b.len) < 0) {
		diag_set(d, DIAG_TOO_LARGE, "metrics too large");
		rc = -1;
	}
	if (rc < 0)
		buf_puts(out, "# HELP cairn_geo_up 1 when the geo numbers below were read from the"
			      " database.\n# TYPE cairn_geo_up gauge\ncairn_geo_up 0\n");
	buf_free(&b);
	return rc;
}
