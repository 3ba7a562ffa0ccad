#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "gcommit.h"
#include "log.h"
#include "logs_store.h"
#include "mem.h"

/* ================================================================ services */

#define SERVICE_COLS                                                                               \
	"id, name, privileged, allowed_ips, COALESCE(retention_days, 0), created_at,"              \
	" COALESCE(disabled_at, '')"

DB_QUERY(q_service_get, "SELECT " SERVICE_COLS " FROM log_services WHERE name = ?");
DB_QUERY(q_service_ips,
	 "SELECT allowed_ips FROM log_services WHERE id = ? AND disabled_at IS NULL");
DB_QUERY(q_service_insert,
	 "INSERT INTO log_services (name, key_hash, privileged, allowed_ips, retention_days,"
	 " created_at) VALUES (?, ?, ?, ?, ?, NOW(6))");
DB_QUERY(q_service_rotate,
	 "UPDATE log_services SET key_hash = ? WHERE name = ? AND disabled_at IS NULL");
DB_QUERY(q_service_disable,
	 "UPDATE log_services SET disabled_at = NOW(6) WHERE name = ? AND disabled_at IS NULL");
DB_QUERY(q_service_list,
	 "SELECT " SERVICE_COLS " FROM log_services WHERE id > ? ORDER BY id LIMIT ?");

static void
row_to_service(struct db_stmt *st, struct logs_service *s)
{
	size_t len;
	const char *ips = db_text(st, 3, &len);

	s->id = db_int(st, 0);
	db_text_copy(st, 1, s->name, sizeof s->name);
	s->privileged = db_int(st, 2) != 0;
	s->has_allowed_ips = ips != NULL;
	if (ips != NULL && len < sizeof s->allowed_ips)
		memcpy(s->allowed_ips, ips, len + 1);
	else
		snprintf(s->allowed_ips, sizeof s->allowed_ips, "%s", ips ? "invalid" : "");
	s->retention_days = db_int(st, 4);
	db_text_copy(st, 5, s->created_at, sizeof s->created_at);
	db_text_copy(st, 6, s->disabled_at, sizeof s->disabled_at);
}

int
logs_store_service_get(struct db *db, const char *name, size_t len, struct logs_service *out,
		       struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_service_get, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, name, len);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1)
		row_to_service(st, out);
	db_release(st);
	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

/* The allowed addresses of recently seen services, so that intake costs
 * no lookup beyond the key's: cached as keys are (auth_stamp), so a
 * service disabled through the API is seen at once and a change made
 * outside the pool within auth.cache_ms.  Direct-mapped by id. */
#define SERVICE_IPS_SLOTS 16

static struct service_ips_slot {
	int64_t id; /* 0: empty */
	struct auth_stamp stamp;
	int rc; /* as logs_store_service_ips: 0 enabled, 1 unknown or disabled */
	bool set;
	char ips[LOGS_ALLOWED_IPS_CAP];
} ips_cache[SERVICE_IPS_SLOTS];

static int
service_ips_lookup(struct db *db, int64_t id, char *out, bool *set, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_service_ips, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, id);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	*set = false;
	out[0] = '\0';
	if (rc == 1) {
		size_t len;
		const char *ips = db_text(st, 0, &len);

		*set = ips != NULL;
		if (ips != NULL && len < LOGS_ALLOWED_IPS_CAP)
			memcpy(out, ips, len + 1);
		else
			snprintf(out, LOGS_ALLOWED_IPS_CAP, "%s", ips ? "invalid" : "");
	}
	db_release(st);
	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int
logs_store_service_ips(struct db *db, int64_t id, char *out, bool *set, struct diag *d)
{
	struct service_ips_slot *slot = &ips_cache[(uint64_t)id % SERVICE_IPS_SLOTS];
	struct auth_stamp stamp;
	int rc;

	if (slot->id == id && id != 0 && auth_stamp_fresh(slot->stamp)) {
		*set = slot->set;
		memcpy(out, slot->ips, strlen(slot->ips) + 1);
		return slot->rc;
	}
	stamp = auth_stamp_now(); /* before the lookup, as for keys */
	rc = service_ips_lookup(db, id, out, set, d);
	if (rc < 0)
		return -1;
	slot->id = id;
	slot->stamp = stamp;
	slot->rc = rc;
	slot->set = *set;
	memcpy(slot->ips, out, strlen(out) + 1);
	return rc;
}

struct create_args {
	const char *name;
	size_t len;
	bool privileged;
	const char *allowed_ips;
	int64_t retention_days;
	const char *key;
	struct logs_service *out;
};

static int
create_txn(struct db *db, void *arg, struct diag *d)
{
	struct create_args *a = arg;
	unsigned char hash[AUTH_HASH_BYTES];
	struct db_stmt *st = db_prepare(db, &q_service_insert, d);
	int rc;

	if (st == NULL)
		return -1;
	auth_key_hash(a->key, AUTH_KEY_CHARS, hash);
	db_bind_text(st, 0, a->name, a->len);
	db_bind_text(st, 1, hash, sizeof hash);
	db_bind_int(st, 2, a->privileged ? 1 : 0);
	if (a->allowed_ips != NULL)
		db_bind_str(st, 3, a->allowed_ips);
	else
		db_bind_null(st, 3);
	if (a->retention_days > 0)
		db_bind_int(st, 4, a->retention_days);
	else
		db_bind_null(st, 4);
	if (db_exec(st, d) < 0)
		return -1;
	rc = logs_store_service_get(db, a->name, a->len, a->out, d);
	if (rc == 1)
		diag_set(d, DIAG_INTERNAL, "the new service vanished");
	return rc == 0 ? 0 : -1;
}

int
logs_store_service_create(struct db *db, const char *name, size_t len, bool privileged,
			  const char *allowed_ips, int64_t retention_days,
			  char key_out[AUTH_KEY_CHARS + 1], struct logs_service *out,
			  struct diag *d)
{
	struct create_args a = {name, len, privileged, allowed_ips, retention_days, key_out, out};

	if (auth_key_generate(key_out, d) < 0)
		return -1;
	if (db_txn(db, create_txn, &a, d) < 0)
		return d->code == DB_ER_DUP_ENTRY ? 1 : -1;
	return 0;
}

int
logs_store_service_rotate(struct db *db, const char *name, size_t len,
			  char key_out[AUTH_KEY_CHARS + 1], struct diag *d)
{
	unsigned char hash[AUTH_HASH_BYTES];
	struct logs_service s;
	struct db_stmt *st;
	int rc;

	if (auth_key_generate(key_out, d) < 0)
		return -1;
	auth_key_hash(key_out, AUTH_KEY_CHARS, hash);
	st = db_prepare(db, &q_service_rotate, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, hash, sizeof hash);
	db_bind_text(st, 1, name, len);
	if (db_exec(st, d) < 0)
		return -1;
	if (db_affected(st) == 1) {
		auth_invalidate(); /* the old key stops working at once */
		return 0;
	}
	rc = logs_store_service_get(db, name, len, &s, d);
	if (rc < 0)
		return -1;
	return rc == 1 ? 1 : 2;
}

int
logs_store_service_disable(struct db *db, const char *name, size_t len, struct logs_service *out,
			   struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_service_disable, d);

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, name, len);
	if (db_exec(st, d) < 0)
		return -1;
	if (db_affected(st) > 0)
		auth_invalidate(); /* its key stops working at once */
	return logs_store_service_get(db, name, len, out, d);
}

int
logs_store_service_list(struct db *db, int64_t after_id, int limit,
			int (*fn)(const struct logs_service *s, void *arg), void *arg,
			struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_service_list, d);
	struct logs_service *s;
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, after_id);
	db_bind_int(st, 1, limit);
	if (db_execute(st, d) < 0)
		return -1;
	s = mem_alloc(sizeof *s);
	while ((rc = db_fetch(st, d)) == 1) {
		row_to_service(st, s);
		if (fn(s, arg) < 0) {
			rc = 0;
			break;
		}
	}
	mem_free(s);
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* ================================================================ intake */

/* The statement sizes: the largest first.  Any batch is a run of full
 * LOGS_INSERT_MAX_ROWS statements and then at most one statement of each
 * power of two below 1024, so a batch of n rows takes at most
 * n / 1000 + 9 statements, and the common sizes (1, 1000) take one. */
static const unsigned insert_sizes[] = {
	LOGS_INSERT_MAX_ROWS, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1};
#define N_INSERT_SIZES (sizeof insert_sizes / sizeof insert_sizes[0])

/* The prepared INSERT of n rows, made on first use: n is one of
 * insert_sizes (batches) or at most GCOMMIT_GROUP_MAX (grouped single
 * records), so the table never fills. */
#define N_INSERT_QUERIES (N_INSERT_SIZES + GCOMMIT_GROUP_MAX)
static struct {
	size_t rows;
	struct db_query q;
} insert_q[N_INSERT_QUERIES];

static struct db_query *
insert_query(size_t n)
{
	size_t i = 0;

	while (insert_q[i].rows != 0 && insert_q[i].rows != n)
		i++;
	insert_q[i].rows = n;
	return db_values_query(&insert_q[i].q,
			       "INSERT INTO log_records"
			       " (service_id, level, ts, received_at, body) VALUES ",
			       "(?, ?, ?, NOW(6), ?)", n);
}

/* What one row adds to its INSERT as db_execute counts it (db.h): two
 * integers, the timestamp and the body. */
static size_t
row_bytes(const struct logs_record *rec)
{
	return 2 * DB_PACKET_INT + 2 * DB_PACKET_TEXT + TIMEFMT_SQL_LEN + rec->body_len;
}

/* The bytes of rows one statement may carry on db's connection: about
 * LOGS_INSERT_MAX_BYTES, less where the server's max_allowed_packet is
 * smaller; 0 when db is not connected (its server is unknown). */
static size_t
statement_budget(const struct db *db)
{
	size_t packet;

	if (!db_connected(db))
		return 0;
	packet = db_max_packet(db);
	if (packet == 0 || packet - DB_PACKET_BASE > LOGS_INSERT_MAX_BYTES)
		return LOGS_INSERT_MAX_BYTES;
	return packet - DB_PACKET_BASE;
}

/* The next statement of a batch from row i: the index into insert_sizes
 * of the largest size whose rows fit the budget (one row always does:
 * db_execute refuses it if it is too large alone). */
static size_t
next_statement(const struct logs_batch *b, size_t i, size_t budget)
{
	size_t fit = 0, bytes = 0, k = 0;

	while (i + fit < b->n && fit < LOGS_INSERT_MAX_ROWS) {
		bytes += row_bytes(&b->records[i + fit]);
		if (fit > 0 && bytes > budget)
			break;
		fit++; /* at least one row */
	}
	while (insert_sizes[k] > fit)
		k++;
	return k;
}

bool
logs_store_insert_single(const struct db *db, const struct logs_batch *b)
{
	size_t budget = statement_budget(db);

	if (b->n <= 1)
		return b->n == 1; /* one row is always one statement */
	return budget > 0 && insert_sizes[next_statement(b, 0, budget)] == b->n;
}

/* A single record as gcommit carries it: this header, then the body. */
struct grouped_record {
	int64_t service_id;
	int64_t ts;
	int32_t level;
	uint32_t body_len;
};

static int group_kind = -1;

/* gcommit_write_fn: rows[0..n) as one INSERT. */
static int
write_grouped(struct db *db, struct gcommit_row *rows, size_t n, struct diag *d)
{
	char ts[GCOMMIT_GROUP_MAX][TIMEFMT_SQL_LEN + 1];
	struct db_stmt *st = db_prepare(db, insert_query(n), d);

	if (st == NULL)
		return -1;
	for (size_t j = 0; j < n; j++) {
		struct grouped_record h;
		unsigned p = (unsigned)(4 * j);

		memcpy(&h, rows[j].p, sizeof h); /* the bytes need not be aligned */
		timefmt_sql(h.ts, ts[j]);
		db_bind_int(st, p, h.service_id);
		db_bind_int(st, p + 1, h.level);
		db_bind_text(st, p + 2, ts[j], TIMEFMT_SQL_LEN);
		db_bind_text(st, p + 3, (const char *)rows[j].p + sizeof h, h.body_len);
	}
	return db_exec(st, d);
}

void
logs_store_init(void)
{
	group_kind = gcommit_kind("logs", write_grouped);
}

static int
insert_grouped(struct db *db, int64_t service_id, const struct logs_record *rec, struct diag *d)
{
	unsigned char row[GCOMMIT_ROW_MAX];
	struct grouped_record h = {service_id, rec->ts, rec->level, (uint32_t)rec->body_len};

	memcpy(row, &h, sizeof h);
	memcpy(row + sizeof h, rec->body, rec->body_len);
	return gcommit_write(db, group_kind, row, sizeof h + rec->body_len, NULL, d);
}

int
logs_store_insert(struct db *db, struct arena *a, int64_t service_id, const struct logs_batch *b,
		  struct diag *d)
{
	char *ts;
	size_t i = 0, budget;

	if (b->n == 1 && group_kind >= 0 &&
	    b->records[0].body_len <= GCOMMIT_ROW_MAX - sizeof(struct grouped_record))
		return insert_grouped(db, service_id, &b->records[0], d);
	if (db_connect(db, d) < 0)
		return -1;
	budget = statement_budget(db);
	ts = arena_alloc(a, b->n * (TIMEFMT_SQL_LEN + 1));

	for (size_t r = 0; r < b->n; r++)
		timefmt_sql(b->records[r].ts, ts + r * (TIMEFMT_SQL_LEN + 1));
	while (i < b->n) {
		size_t k = next_statement(b, i, budget);
		size_t n = insert_sizes[k];
		struct db_stmt *st = db_prepare(db, insert_query(n), d);

		if (st == NULL)
			return -1;
		for (size_t j = 0; j < n; j++) {
			const struct logs_record *rec = &b->records[i + j];
			unsigned p = (unsigned)(4 * j);

			db_bind_int(st, p, service_id);
			db_bind_int(st, p + 1, rec->level);
			db_bind_text(st, p + 2, ts + (i + j) * (TIMEFMT_SQL_LEN + 1),
				     TIMEFMT_SQL_LEN);
			db_bind_text(st, p + 3, rec->body, rec->body_len);
		}
		if (db_exec(st, d) < 0)
			return -1;
		i += n;
	}
	return 0;
}

/* ================================================================ search */

/* Six shapes: the index that serves the primary filter (service, level,
 * or time alone) in either order.  The index is forced and log_records
 * joined first (STRAIGHT_JOIN): otherwise the optimizer may start from
 * the tiny log_services table and sort the whole range before LIMIT,
 * which would neither stream nor stay bounded.  Every other filter is a residual
 * predicate with a neutral value when absent, so the statements stay
 * fixed.  Keyset: rows strictly after (cursor ts, cursor id) in the
 * chosen order; without a cursor the bound values make the condition
 * true (id > 0, or id < 2^63-1). */
#define SEARCH_SELECT                                                                              \
	"SELECT r.id, s.name, r.level, r.ts, r.received_at, r.body FROM log_records r FORCE INDEX ("
#define SEARCH_JOIN ") STRAIGHT_JOIN log_services s ON s.id = r.service_id WHERE "
#define SEARCH_REST                                                                                \
	" r.ts >= ? AND r.ts <= ? AND r.level BETWEEN ? AND ?"                                     \
	" AND (? = '' OR INSTR(r.body, ?) > 0) AND "
#define SEARCH_ASC "(r.ts > ? OR r.id > ?) ORDER BY r.ts, r.id LIMIT ?"
#define SEARCH_DESC "(r.ts < ? OR r.id < ?) ORDER BY r.ts DESC, r.id DESC LIMIT ?"

DB_QUERY(q_search_service_asc, SEARCH_SELECT "log_records_service_ts" SEARCH_JOIN
					     "r.service_id = ? AND" SEARCH_REST SEARCH_ASC);
DB_QUERY(q_search_service_desc, SEARCH_SELECT "log_records_service_ts" SEARCH_JOIN
					      "r.service_id = ? AND" SEARCH_REST SEARCH_DESC);
DB_QUERY(q_search_level_asc,
	 SEARCH_SELECT "log_records_level_ts" SEARCH_JOIN "r.level = ? AND" SEARCH_REST SEARCH_ASC);
DB_QUERY(q_search_level_desc, SEARCH_SELECT "log_records_level_ts" SEARCH_JOIN
					    "r.level = ? AND" SEARCH_REST SEARCH_DESC);
DB_QUERY(q_search_ts_asc, SEARCH_SELECT "log_records_ts" SEARCH_JOIN SEARCH_REST SEARCH_ASC);
DB_QUERY(q_search_ts_desc, SEARCH_SELECT "log_records_ts" SEARCH_JOIN SEARCH_REST SEARCH_DESC);

int
logs_store_search(struct db *db, const struct logs_filter *f,
		  int (*fn)(const struct logs_row *r, void *arg), void *arg, struct diag *d)
{
	struct db_query *q;
	struct db_stmt *st;
	struct logs_row row;
	int64_t lo = f->from, hi = f->to;
	char lo_text[TIMEFMT_SQL_LEN + 1], hi_text[TIMEFMT_SQL_LEN + 1],
		c_text[TIMEFMT_SQL_LEN + 1];
	unsigned p = 0;
	int rc;

	/* the cursor narrows the time range, which the index serves */
	if (f->has_cursor && !f->desc && f->cursor_ts > lo)
		lo = f->cursor_ts;
	if (f->has_cursor && f->desc && f->cursor_ts < hi)
		hi = f->cursor_ts;
	if (lo < LOGS_TIME_MIN)
		lo = LOGS_TIME_MIN;
	if (hi > LOGS_TIME_MAX)
		hi = LOGS_TIME_MAX;
	if (lo > hi || f->level_min > f->level_max || f->limit <= 0)
		return 0;
	timefmt_sql(lo, lo_text);
	timefmt_sql(hi, hi_text);
	timefmt_sql(f->has_cursor ? f->cursor_ts : f->desc ? hi : lo, c_text);

	if (f->service_id > 0)
		q = f->desc ? &q_search_service_desc : &q_search_service_asc;
	else if (f->level_min == f->level_max)
		q = f->desc ? &q_search_level_desc : &q_search_level_asc;
	else
		q = f->desc ? &q_search_ts_desc : &q_search_ts_asc;
	st = db_prepare(db, q, d);
	if (st == NULL)
		return -1;
	if (f->service_id > 0)
		db_bind_int(st, p++, f->service_id);
	else if (f->level_min == f->level_max)
		db_bind_int(st, p++, f->level_min);
	db_bind_str(st, p++, lo_text);
	db_bind_str(st, p++, hi_text);
	db_bind_int(st, p++, f->level_min);
	db_bind_int(st, p++, f->level_max);
	db_bind_text(st, p++, f->q ? f->q : "", f->q ? f->q_len : 0);
	db_bind_text(st, p++, f->q ? f->q : "", f->q ? f->q_len : 0);
	db_bind_str(st, p++, c_text);
	db_bind_int(st, p++, f->has_cursor ? f->cursor_id : f->desc ? INT64_MAX : 0);
	db_bind_int(st, p++, f->limit);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		row.id = db_int(st, 0);
		row.service = db_text(st, 1, NULL);
		row.level = (int)db_int(st, 2);
		row.ts = db_text(st, 3, NULL);
		row.received_at = db_text(st, 4, NULL);
		row.body = db_text(st, 5, &row.body_len);
		if (row.service == NULL)
			row.service = "";
		if (row.body == NULL)
			row.body = "";
		if (fn(&row, arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* ================================================================ purge */

/* A chunk is bounded by the (ts, id) of its last row, found with a plain
 * (non-locking) read; the DELETE then names its rows by that bound instead
 * of DELETE ... LIMIT, which is unsafe for statement-based replication.
 * The DELETE is forced onto the (service_id, ts) index (the multi-table
 * form takes index hints): on the ts index alone it would scan and lock
 * every service's rows in the range, blocking their intake. */
DB_QUERY(q_purge_count, "SELECT COUNT(*) FROM log_records WHERE service_id = ? AND ts < ?");
DB_QUERY(q_purge_bound, "SELECT ts, id FROM log_records WHERE service_id = ? AND ts < ?"
			" ORDER BY ts, id LIMIT 1 OFFSET ?");
DB_QUERY(q_purge_upto,
	 "DELETE r FROM log_records r FORCE INDEX (log_records_service_ts)"
	 " WHERE r.service_id = ? AND r.ts < ? AND r.ts <= ? AND (r.ts < ? OR r.id <= ?)");
DB_QUERY(q_purge_rest, "DELETE r FROM log_records r FORCE INDEX (log_records_service_ts)"
		       " WHERE r.service_id = ? AND r.ts < ?");

/* Deletes one chunk; *n gets the rows deleted. */
static int
purge_chunk(struct db *db, int64_t service_id, const char *before, int64_t chunk, int64_t *n,
	    struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_purge_bound, d);
	char bound_ts[TIMEFMT_SQL_LEN + 1];
	int64_t bound_id = 0;
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, service_id);
	db_bind_str(st, 1, before);
	db_bind_int(st, 2, chunk - 1);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		db_text_copy(st, 0, bound_ts, sizeof bound_ts);
		bound_id = db_int(st, 1);
	}
	db_release(st);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		st = db_prepare(db, &q_purge_upto, d);
		if (st == NULL)
			return -1;
		db_bind_int(st, 0, service_id);
		db_bind_str(st, 1, before);
		db_bind_str(st, 2, bound_ts);
		db_bind_str(st, 3, bound_ts);
		db_bind_int(st, 4, bound_id);
	} else {
		/* fewer than a chunk left */
		st = db_prepare(db, &q_purge_rest, d);
		if (st == NULL)
			return -1;
		db_bind_int(st, 0, service_id);
		db_bind_str(st, 1, before);
	}
	if (db_exec(st, d) < 0)
		return -1;
	*n = (int64_t)db_affected(st);
	return 0;
}

int
logs_store_purge(struct db *db, int64_t service_id, int64_t before, bool dry_run, int64_t *deleted,
		 struct diag *d)
{
	char before_text[TIMEFMT_SQL_LEN + 1];
	int64_t chunk = config_int("logs.purge_batch"), n;

	*deleted = 0;
	timefmt_sql(before, before_text);
	if (dry_run) {
		struct db_stmt *st = db_prepare(db, &q_purge_count, d);
		int rc;

		if (st == NULL)
			return -1;
		db_bind_int(st, 0, service_id);
		db_bind_str(st, 1, before_text);
		if (db_execute(st, d) < 0)
			return -1;
		rc = db_fetch(st, d);
		if (rc == 1)
			*deleted = db_int(st, 0);
		db_release(st);
		return rc < 0 ? -1 : 0;
	}
	do {
		if (purge_chunk(db, service_id, before_text, chunk, &n, d) < 0)
			return -1;
		*deleted += n;
	} while (n >= chunk);
	return 0;
}

/* ================================================================ retention */

DB_QUERY(q_retention_next, "SELECT id, NOW(6) - INTERVAL retention_days DAY FROM log_services"
			   " WHERE retention_days IS NOT NULL AND id > ? ORDER BY id LIMIT 1");

/* The service the run is working on (process-local: each run starts
 * again from the first service). */
static int64_t retention_cursor;

int
logs_retention_step(struct db *db, bool first, int *more, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_retention_next, d);
	char cutoff[TIMEFMT_SQL_LEN + 1];
	int64_t id = 0, n, chunk = config_int("logs.purge_batch");
	int rc;

	*more = 0;
	if (first)
		retention_cursor = 0;
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, retention_cursor);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		id = db_int(st, 0);
		db_text_copy(st, 1, cutoff, sizeof cutoff);
	}
	db_release(st);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0; /* every service done */
	if (purge_chunk(db, id, cutoff, chunk, &n, d) < 0)
		return -1;
	if (n > 0)
		log_info("retention: deleted %lld records of service %lld", (long long)n,
			 (long long)id);
	if (n < chunk)
		retention_cursor = id; /* this service is done; next one */
	*more = 1;
	return 0;
}
