#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_store.h"
#include "gcommit.h"
#include "jsonw.h"

/* ---------------------------------------------------------------- writes */

/* One round trip: the procedure (sql/0007) inserts the event and its
 * tag rows as one transaction -- its own, or the Idempotency-Key's when
 * one is open -- and answers the new id. */
DB_QUERY(q_add, "CALL event_add(?, ?, ?)");
/* The same for several events, described in JSON (sql/0008). */
DB_QUERY(q_add_group, "CALL event_add_group(?)");

/* An event as it is written (and as gcommit carries it): this header,
 * then its tags joined by EVENTS_TAG_SEP (tags_len bytes). */
struct row_head {
	int64_t start_us;
	int64_t stop_us; /* when has_stop */
	uint32_t tags_len;
	bool has_stop;
};

static int group_kind = -1;

/* The procedure ran, so its transaction may have committed, but its
 * answer did not come: the outcome is unknown (503), and nothing may
 * write the events again. */
static int
committed_without_answer(struct diag *d, const char *procedure)
{
	if (d->code == 0 || !db_error_unavailable(d))
		diag_set(d, DIAG_UNAVAILABLE, "%s ran but its answer was lost; outcome unknown",
			 procedure);
	return -1;
}

static int
add_one(struct db *db, struct gcommit_row *row, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_add, d);
	struct row_head h;
	int rc;

	if (st == NULL)
		return -1;
	memcpy(&h, row->p, sizeof h); /* the bytes need not be aligned */
	db_bind_int(st, 0, h.start_us);
	if (h.has_stop)
		db_bind_int(st, 1, h.stop_us);
	else
		db_bind_null(st, 1);
	db_bind_text(st, 2, (const char *)row->p + sizeof h, h.tags_len);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1)
		row->id = db_int(st, 0);
	db_release(st);
	if (rc != 1)
		return committed_without_answer(d, "event_add");
	return 0;
}

/* Writes a number as a JSON string (see sql/0008 on why a string). */
static void
json_int_string(struct jsonw *w, int64_t v)
{
	char num[24];

	snprintf(num, sizeof num, "%lld", (long long)v);
	jsonw_string(w, num);
}

/* rows[0..n) as event_add_group's argument (sql/0008) into b; 0, or -1
 * when b is full. */
static int
group_json(struct buf *b, const struct gcommit_row *rows, size_t n)
{
	struct jsonw w;

	jsonw_init(&w, jsonw_buf_sink, b);
	jsonw_array_begin(&w);
	for (size_t j = 0; j < n; j++) {
		struct row_head h;
		const char *tags = (const char *)rows[j].p + sizeof h;

		memcpy(&h, rows[j].p, sizeof h);
		jsonw_object_begin(&w);
		jsonw_key(&w, "s");
		json_int_string(&w, h.start_us);
		if (h.has_stop) {
			jsonw_key(&w, "e");
			json_int_string(&w, h.stop_us);
		}
		jsonw_key(&w, "j");
		jsonw_string_n(&w, tags, h.tags_len);
		jsonw_key(&w, "t");
		jsonw_array_begin(&w);
		for (size_t at = 0; at < h.tags_len;) {
			const char *sep = memchr(tags + at, EVENTS_TAG_SEP, h.tags_len - at);
			size_t len = sep ? (size_t)(sep - (tags + at)) : h.tags_len - at;

			jsonw_string_n(&w, tags + at, len);
			at += len + 1;
		}
		jsonw_array_end(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	return jsonw_error(&w) ? -1 : 0;
}

/* The most event_add_group's JSON takes: each row (at most
 * GCOMMIT_ROW_MAX bytes) twice, every byte at most six (\u001f), and the
 * keys. */
#define GROUP_JSON_MAX (GCOMMIT_GROUP_MAX * (12 * GCOMMIT_ROW_MAX + 128))

static int
add_group(struct db *db, struct gcommit_row *rows, size_t n, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_add_group, d);
	struct buf b;
	int rc;

	if (st == NULL)
		return -1;
	buf_init(&b, GROUP_JSON_MAX);
	if (group_json(&b, rows, n) < 0) {
		diag_set(d, DIAG_INTERNAL, "event group JSON over %d bytes", GROUP_JSON_MAX);
		buf_free(&b);
		return -1;
	}
	db_bind_text(st, 0, b.data, b.len);
	rc = db_execute(st, d);
	buf_free(&b);
	if (rc < 0)
		return -1; /* nothing written: gcommit writes each event alone */
	rc = db_fetch(st, d);
	if (rc == 1) {
		int64_t first = db_int(st, 0), step = db_int(st, 1);

		for (size_t j = 0; j < n; j++)
			rows[j].id = first + (int64_t)j * step;
	}
	db_release(st);
	if (rc != 1)
		return committed_without_answer(d, "event_add_group");
	return 0;
}

/* gcommit_write_fn: one event by event_add, several by event_add_group.
 * A server without consecutive ids, or one that logs statements, refuses
 * a group (sql/0008), and gcommit then writes each event alone;
 * events_store_add sends it none. */
static int
write_events(struct db *db, struct gcommit_row *rows, size_t n, struct diag *d)
{
	return n == 1 ? add_one(db, &rows[0], d) : add_group(db, rows, n, d);
}

void
events_store_init(void)
{
	group_kind = gcommit_kind("events", write_events);
}

int
events_store_add(struct db *db, struct arena *a, const struct events_new *ev, int64_t *id,
		 struct diag *d)
{
	struct row_head h = {ev->start_us, ev->has_stop ? ev->stop_us : 0, 0, ev->has_stop};
	struct gcommit_row r;
	char *row, *joined;

	for (size_t i = 0; i < ev->ntags; i++)
		h.tags_len += (uint32_t)(ev->tags[i].len + (i > 0));
	row = arena_alloc(a, sizeof h + h.tags_len);
	memcpy(row, &h, sizeof h);
	joined = row + sizeof h;
	for (size_t i = 0; i < ev->ntags; i++) {
		if (i > 0)
			*joined++ = EVENTS_TAG_SEP;
		memcpy(joined, ev->tags[i].s, ev->tags[i].len);
		joined += ev->tags[i].len;
	}
	if (group_kind >= 0 && db_consecutive_ids(db) && !db_statement_binlog(db))
		return gcommit_write(db, group_kind, row, sizeof h + h.tags_len, id, d);
	r = (struct gcommit_row){row, sizeof h + h.tags_len, 0};
	if (add_one(db, &r, d) < 0)
		return -1;
	*id = r.id;
	return 0;
}

DB_QUERY(q_delete, "DELETE FROM events WHERE id = ?");

int
events_store_delete(struct db *db, int64_t id, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_delete, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, id);
	if (db_exec(st, d) < 0)
		return -1;
	return db_affected(st) > 0 ? 0 : 1;
}

DB_QUERY(q_stop,
	 "UPDATE events SET stop_us = ? WHERE id = ? AND stop_us IS NULL AND start_us <= ?");
DB_QUERY(q_stop_state, "SELECT start_us, stop_us FROM events WHERE id = ?");

struct stop_args {
	int64_t id, stop_us;
	bool explicit;
	enum events_stop_result res;
};

static int
stop_txn(struct db *db, void *arg, struct diag *d)
{
	struct stop_args *a = arg;
	struct db_stmt *st = db_prepare(db, &q_stop, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->stop_us);
	db_bind_int(st, 1, a->id);
	db_bind_int(st, 2, a->stop_us);
	if (db_exec(st, d) < 0)
		return -1;
	if (db_affected(st) == 1) {
		a->res = EVENTS_STOPPED;
		return 0;
	}
	/* nothing changed: say why */
	st = db_prepare(db, &q_stop_state, d);
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->id);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 0)
		a->res = EVENTS_STOP_MISSING;
	else if (rc == 1 && db_is_null(st, 1))
		a->res = EVENTS_STOP_EARLY;
	else if (rc == 1 && a->explicit && db_int(st, 1) != a->stop_us)
		a->res = EVENTS_STOP_CONFLICT;
	else if (rc == 1)
		a->res = EVENTS_STOPPED;
	db_release(st);
	return rc < 0 ? -1 : 0;
}

int
events_store_stop(struct db *db, int64_t id, int64_t stop_us, bool explicit,
		  enum events_stop_result *res, struct diag *d)
{
	struct stop_args a = {id, stop_us, explicit, EVENTS_STOP_MISSING};

	if (db_txn(db, stop_txn, &a, d) < 0)
		return -1;
	*res = a.res;
	return 0;
}

DB_QUERY(q_remove_start, "DELETE FROM events WHERE start_us = ?");

int
events_store_remove_starts(struct db *db, const int64_t *starts, size_t n, bool *hit,
			   uint64_t *deleted, struct diag *d)
{
	*deleted = 0;
	for (size_t i = 0; i < n; i++) {
		struct db_stmt *st = db_prepare(db, &q_remove_start, d);

		if (st == NULL)
			return -1;
		db_bind_int(st, 0, starts[i]);
		if (db_exec(st, d) < 0)
			return -1;
		hit[i] = db_affected(st) > 0;
		*deleted += db_affected(st);
	}
	return 0;
}

DB_QUERY(q_purge, "DELETE FROM events ORDER BY id LIMIT ?");

struct purge_args {
	int batch;
	uint64_t deleted;
};

static int
purge_txn(struct db *db, void *arg, struct diag *d)
{
	struct purge_args *a = arg;
	struct db_stmt *st = db_prepare(db, &q_purge, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, a->batch);
	if (db_exec(st, d) < 0)
		return -1;
	a->deleted = db_affected(st);
	return 0;
}

int
events_store_purge_step(struct db *db, int batch, uint64_t *deleted, struct diag *d)
{
	struct purge_args a = {batch, 0};

	if (db_txn(db, purge_txn, &a, d) < 0)
		return -1;
	*deleted = a.deleted;
	return 0;
}

/* ----------------------------------------------------------------- reads */

/* Every read returns these columns; the tags come with the row (the copy
 * in events.tags), so a page costs no lookup per event. */
#define EV_COLS "e.id, e.start_us, e.stop_us, e.created_at, e.tags"

/* The time and state filters on alias a.  A NULL (or 0) parameter turns a
 * condition off; MariaDB folds the constant conditions away when it plans
 * each execution, so `open` uses the index on stop_us.  Parameters: to,
 * to, from, from, open, stopped. */
#define EV_FILTERS(a)                                                                              \
	" AND (? IS NULL OR " a ".start_us < ?)"                                                   \
	" AND (? IS NULL OR " a ".stop_us IS NULL OR " a ".stop_us >= ?)"                          \
	" AND (? = 0 OR " a ".stop_us IS NULL)"                                                    \
	" AND (? = 0 OR " a ".stop_us IS NOT NULL)"
#define EV_NFILTERS 6

/* any_tag= beside tag=: parameters: on, then EVENTS_FILTER_TAGS tags
 * (NULL for unused slots, which match nothing). */
#define EV_ANY(a)                                                                                  \
	" AND (? = 0 OR EXISTS (SELECT 1 FROM event_tags o WHERE o.event_id = " a ".id"            \
	" AND o.tag IN (?, ?, ?, ?, ?, ?, ?, ?)))"

/* No tag filter: the events in id order. Parameters: after, filters, limit. */
DB_QUERY(q_list_all, "SELECT " EV_COLS
		     " FROM events e WHERE e.id > ?" EV_FILTERS("e") " ORDER BY e.id LIMIT ?");

/* tag= (AND): one join per tag on event_tags (tag, event_id).  The
 * optimizer's index dives count each tag's range and start from the
 * rarest, reading it in id order, so a page of one tag reads one page of
 * index entries whatever the table size.  Parameters: the n tags, after,
 * filters, any, limit. */
#define EV_JOIN(k) " JOIN event_tags t" #k " ON t" #k ".event_id = e.id AND t" #k ".tag = ?"
#define EV_AND_HEAD "SELECT " EV_COLS " FROM events e"
#define EV_AND_TAIL " WHERE e.id > ?" EV_FILTERS("e") EV_ANY("e") " ORDER BY e.id LIMIT ?"
static struct db_query q_list_and[EVENTS_FILTER_TAGS] = {
	{EV_AND_HEAD EV_JOIN(1) EV_AND_TAIL, -1},
	{EV_AND_HEAD EV_JOIN(1) EV_JOIN(2) EV_AND_TAIL, -1},
	{EV_AND_HEAD EV_JOIN(1) EV_JOIN(2) EV_JOIN(3) EV_AND_TAIL, -1},
	{EV_AND_HEAD EV_JOIN(1) EV_JOIN(2) EV_JOIN(3) EV_JOIN(4) EV_AND_TAIL, -1},
	{EV_AND_HEAD EV_JOIN(1) EV_JOIN(2) EV_JOIN(3) EV_JOIN(4) EV_JOIN(5) EV_AND_TAIL, -1},
	{EV_AND_HEAD EV_JOIN(1) EV_JOIN(2) EV_JOIN(3) EV_JOIN(4) EV_JOIN(5) EV_JOIN(6) EV_AND_TAIL,
	 -1},
	{EV_AND_HEAD EV_JOIN(1) EV_JOIN(2) EV_JOIN(3) EV_JOIN(4) EV_JOIN(5) EV_JOIN(6) EV_JOIN(7)
		 EV_AND_TAIL,
	 -1},
	{EV_AND_HEAD EV_JOIN(1) EV_JOIN(2) EV_JOIN(3) EV_JOIN(4) EV_JOIN(5) EV_JOIN(6) EV_JOIN(7)
		 EV_JOIN(8) EV_AND_TAIL,
	 -1},
};

/* any_tag= alone (OR): the union of each tag's first `limit` matching
 * events in id order, then the first `limit` of that union.  Each branch
 * reads at most a page from its tag's index range (an IN list would read
 * every entry of every tag to sort them).  Parameters per branch: tag
 * (NULL: unused), after, filters, limit; then the final limit. */
#define EV_BRANCH                                                                                  \
	"(SELECT t.event_id FROM event_tags t JOIN events f ON f.id = t.event_id"                  \
	" WHERE t.tag = ? AND t.event_id > ?" EV_FILTERS("f") " ORDER BY t.event_id LIMIT ?)"
#define EV_BRANCH_PARAMS (3 + EV_NFILTERS)
DB_QUERY(q_list_any, "SELECT " EV_COLS " FROM (SELECT u.event_id FROM (" EV_BRANCH
		     " UNION " EV_BRANCH " UNION " EV_BRANCH " UNION " EV_BRANCH " UNION " EV_BRANCH
		     " UNION " EV_BRANCH " UNION " EV_BRANCH " UNION " EV_BRANCH
		     ") u ORDER BY u.event_id LIMIT ?) p JOIN events e ON e.id = p.event_id"
		     " ORDER BY e.id");

DB_QUERY(q_get, "SELECT " EV_COLS " FROM events e WHERE e.id = ?");

static unsigned
bind_filters(struct db_stmt *st, unsigned i, const struct events_filter *f)
{
	for (int k = 0; k < 2; k++) {
		if (f->has_to)
			db_bind_int(st, i++, f->to_us);
		else
			db_bind_null(st, i++);
	}
	for (int k = 0; k < 2; k++) {
		if (f->has_from)
			db_bind_int(st, i++, f->from_us);
		else
			db_bind_null(st, i++);
	}
	db_bind_int(st, i++, f->open == 1);
	db_bind_int(st, i++, f->open == 0);
	return i;
}

static void
row_to_event(struct db_stmt *st, struct events_event *e)
{
	e->id = db_int(st, 0);
	e->start_us = db_int(st, 1);
	e->open = db_is_null(st, 2);
	e->stop_us = e->open ? -1 : db_int(st, 2);
	db_text_copy(st, 3, e->created_at, sizeof e->created_at);
	e->tags = db_text(st, 4, &e->tags_len);
	if (e->tags == NULL) {
		e->tags = "";
		e->tags_len = 0;
	}
}

static int
fetch_events(struct db_stmt *st, events_event_fn fn, void *arg, struct diag *d)
{
	struct events_event e;
	int rc;

	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		row_to_event(st, &e);
		if (fn(&e, arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

int
events_store_list(struct db *db, const struct events_filter *f, events_event_fn fn, void *arg,
		  struct diag *d)
{
	struct db_stmt *st;
	unsigned i = 0;

	if (f->nall > EVENTS_FILTER_TAGS || f->nany > EVENTS_FILTER_TAGS) {
		diag_set(d, DIAG_INVALID, "at most %d tags per filter", EVENTS_FILTER_TAGS);
		return -1;
	}
	if (f->nall > 0) {
		st = db_prepare(db, &q_list_and[f->nall - 1], d);
		if (st == NULL)
			return -1;
		for (size_t k = 0; k < f->nall; k++)
			db_bind_text(st, i++, f->all[k].s, f->all[k].len);
		db_bind_int(st, i++, f->after_id);
		i = bind_filters(st, i, f);
		db_bind_int(st, i++, f->nany > 0);
		for (size_t k = 0; k < EVENTS_FILTER_TAGS; k++) {
			if (k < f->nany)
				db_bind_text(st, i++, f->any[k].s, f->any[k].len);
			else
				db_bind_null(st, i++);
		}
		db_bind_int(st, i, f->limit);
	} else if (f->nany > 0) {
		st = db_prepare(db, &q_list_any, d);
		if (st == NULL)
			return -1;
		for (size_t k = 0; k < EVENTS_FILTER_TAGS; k++) {
			if (k < f->nany)
				db_bind_text(st, i++, f->any[k].s, f->any[k].len);
			else
				db_bind_null(st, i++);
			db_bind_int(st, i++, f->after_id);
			i = bind_filters(st, i, f);
			db_bind_int(st, i++, f->limit);
		}
		db_bind_int(st, i, f->limit);
	} else {
		st = db_prepare(db, &q_list_all, d);
		if (st == NULL)
			return -1;
		db_bind_int(st, i++, f->after_id);
		i = bind_filters(st, i, f);
		db_bind_int(st, i, f->limit);
	}
	return fetch_events(st, fn, arg, d);
}

int
events_store_get(struct db *db, struct arena *a, int64_t id, struct events_event *out,
		 struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_get, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, id);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		row_to_event(st, out);
		out->tags = arena_strndup(a, out->tags, out->tags_len);
	}
	db_release(st);
	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

DB_QUERY(q_tags,
	 "SELECT tag, COUNT(*) FROM event_tags WHERE tag > ? GROUP BY tag ORDER BY tag LIMIT ?");

int
events_store_tags(struct db *db, const char *after, size_t after_len, int limit,
		  int (*fn)(const char *tag, size_t len, int64_t count, void *arg), void *arg,
		  struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_tags, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_text(st, 0, after, after_len);
	db_bind_int(st, 1, limit);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		size_t len;
		const char *tag = db_text(st, 0, &len);

		if (fn(tag ? tag : "", tag ? len : 0, db_int(st, 1), arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}
