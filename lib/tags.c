#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "tags.h"
#include "tags_bucket.h"
#include "tags_store.h"
#include "timefmt.h"

#define TAGS_LIST_DEFAULT 100
#define TAGS_LIST_MAX 1000
#define TAGS_HISTORY_DEFAULT 1000 /* a page when only a cursor is given */
#define TAGS_HISTORY_MAX 10000

/* The compat bodies of API.md §2, byte for byte. */
#define TAGS_CREATED "Tag Created Successfully"
#define TAGS_EXISTS "Tag already exists!"
#define TAGS_INVALID "Invalid Data"
#define TAGS_NO_TAG "Tag does not exist!"
#define TAGS_NO_DATA "No Data Found!"

static int metric_created = -1, metric_updates = -1, metric_deleted = -1;

void
tags_init(void)
{
	metric_created = metrics_counter("cairn_tags_created_total", "", "Tags created.", 0);
	metric_updates =
		metrics_counter("cairn_tags_updates_total", "",
				"Counter increments committed by /update (replays excluded).", 0);
	metric_deleted = metrics_counter("cairn_tags_deleted_total", "",
					 "Tags deleted with DELETE /tags/<tag>.", 0);
}

/* ---------------------------------------------------------------- common */

/* The tag parameter, once, valid.  0 with the tag; -1 when answered:
 * 412 Invalid Data (plain text on compat routes, the envelope on the JSON
 * ones), or 400 for a repeated parameter. */
static int
tag_param(struct ctx *c, bool json, const char **tag, size_t *len)
{
	int rc = ctx_query(c, "tag", tag, len);

	if (rc < 0)
		return -1;
	if (rc == 1 && tags_name_valid(*tag, *len))
		return 0;
	if (json)
		reply_error(c, 412, "invalid_data", TAGS_INVALID);
	else
		reply_text(c, 412, TAGS_INVALID);
	return -1;
}

/* An RFC 3339 string for a DATETIME(6) text, or null. */
static void
write_time(struct jsonw *w, const char *sql_time)
{
	int64_t us;
	struct diag ignored;
	char rfc[TIMEFMT_RFC_LEN + 1];

	if (sql_time == NULL || sql_time[0] == '\0' ||
	    timefmt_parse(sql_time, strlen(sql_time), 0, &us, &ignored) < 0) {
		jsonw_null(w);
		return;
	}
	timefmt_rfc3339(us, rfc);
	jsonw_string(w, rfc);
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static char *
pct_encode(struct arena *a, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = arena_alloc(a, len * 3 + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

/* -------------------------------------------------------------- /create */

struct create_args {
	const char *tag;
	size_t len;
	int rc;
};

/* A transaction, not autocommit: a connection lost before COMMIT is
 * retried cleanly, one lost during COMMIT is a 503 (outcome unknown)
 * rather than a re-run that would answer 409 for the caller's own tag. */
static int
create_txn(struct db *db, void *arg, struct diag *d)
{
	struct create_args *a = arg;

	a->rc = tags_store_create(db, a->tag, a->len, d);
	return a->rc < 0 ? -1 : 0;
}

int
tags_http_create(struct ctx *c)
{
	struct create_args a;

	if (tag_param(c, false, &a.tag, &a.len) < 0)
		return 0;
	if (db_txn(c->db, create_txn, &a, &c->diag) < 0)
		return -1;
	if (a.rc == 1)
		return reply_text(c, 409, TAGS_EXISTS);
	metrics_add(metric_created, 1);
	return reply_text(c, 200, TAGS_CREATED);
}

/* -------------------------------------------------------------- /update */

struct update_args {
	const char *tag;
	size_t len;
	int64_t n;
	bool applied;
};

/* One CALL, autocommitted; with an Idempotency-Key inside the claim's
 * transaction, so the increment, the history row and the stored answer
 * commit together or not at all. */
static int
update_body(struct ctx *c, void *arg)
{
	struct update_args *a = arg;
	uint64_t count;
	char text[24];
	int rc;

	a->applied = false;
	rc = tags_store_increment(c->db, a->tag, a->len, a->n, &count, &c->diag);
	if (rc < 0) {
		if (c->diag.code == DIAG_TOO_LARGE)
			return reply_text(c, 412, TAGS_INVALID);
		return -1;
	}
	if (rc == 1)
		return reply_text(c, 404, TAGS_NO_TAG);
	a->applied = true;
	snprintf(text, sizeof text, "%" PRIu64, count);
	return reply_text(c, 200, text);
}

int
tags_http_update(struct ctx *c)
{
	struct update_args a = {NULL, 0, 1, false};
	const char *v;
	size_t vl;
	int rc;

	if (tag_param(c, false, &a.tag, &a.len) < 0)
		return 0;
	rc = ctx_query(c, "n", &v, &vl);
	if (rc < 0)
		return 0;
	if (rc == 1 && !tags_parse_n(v, vl, &a.n))
		return reply_text(c, 412, TAGS_INVALID);
	if (idem_run_single(c, update_body, &a) < 0)
		return -1;
	if (a.applied && c->http->status == 200)
		metrics_add(metric_updates, 1);
	return 0;
}

/* ----------------------------------------------------------------- /get */

int
tags_http_get(struct ctx *c)
{
	const char *tag;
	size_t len;
	int64_t id;
	char count[24];
	int rc;

	if (tag_param(c, false, &tag, &len) < 0)
		return 0;
	rc = tags_store_get(c->db, tag, len, &id, count, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_text(c, 404, TAGS_NO_TAG);
	return reply_text(c, 200, count);
}

/* ------------------------------------------------------ /history (compat) */

struct history_state {
	struct ctx *c;
	int64_t tag_id;
	struct tags_history_pos pos; /* where the page starts */
	int64_t limit;               /* rows in the page; INT64_MAX: all */
	int64_t seq;                 /* number of the last row written */
	int64_t rows;
	const char *link; /* the Link header, NULL on the last page */
};

static int
history_row(const char *at, size_t at_len, int64_t id, int64_t amount, void *arg)
{
	struct history_state *hs = arg;
	struct jsonw *w = &hs->c->w;
	char key[24];

	(void)id;
	if (hs->rows == 0) {
		reply_json_begin(hs->c, 200);
		if (hs->link != NULL)
			reply_header(hs->c, "Link", hs->link);
		reply_stream(hs->c);
		jsonw_object_begin(w);
	}
	hs->rows++;
	hs->seq++;
	snprintf(key, sizeof key, "%" PRId64, hs->seq);
	jsonw_key(w, key);
	jsonw_object_begin(w);
	jsonw_key(w, "date");
	jsonw_string_n(w, at, at_len);
	jsonw_key(w, "amount");
	jsonw_int(w, amount);
	jsonw_object_end(w);
	return jsonw_error(w) ? -1 : 0; /* the client went away: stop */
}

/* A page: where it ends and the rows, read in one transaction so both see
 * the same snapshot (the Link header goes out before the rows). */
static int
history_page_txn(struct db *db, void *arg, struct diag *d)
{
	struct history_state *hs = arg;
	struct tags_history_pos last;
	bool more;

	if (hs->c->http->streaming) {
		/* rows already went out: never write them twice */
		diag_set(d, DIAG_INTERNAL, "history page failed while streaming");
		return -1;
	}
	hs->rows = 0;
	hs->seq = hs->pos.seq;
	hs->link = NULL;
	if (tags_store_history_page_end(db, hs->tag_id, &hs->pos, hs->limit, &more, &last, d) < 0)
		return -1;
	if (more) {
		const char *tag;
		size_t len;

		last.seq = hs->pos.seq + hs->limit;
		ctx_query(hs->c, "tag", &tag, &len); /* checked before */
		hs->link = arena_printf(
			hs->c->arena, "</history?tag=%s&limit=%" PRId64 "&cursor=%s>; rel=\"next\"",
			pct_encode(hs->c->arena, tag, len), hs->limit,
			tags_history_cursor(hs->c->arena, &last));
	}
	return tags_store_history(db, hs->tag_id, &hs->pos, hs->limit, history_row, hs, d);
}

static int
history_compat(struct ctx *c, const char *tag, size_t len)
{
	struct history_state hs;
	const char *v;
	size_t vl;
	bool paged = false, with_cursor = false;
	int rc;

	memset(&hs, 0, sizeof hs);
	hs.c = c;
	hs.pos.at = TAGS_TIME_MIN;
	hs.limit = INT64_MAX;
	if (query_count(&c->query, "from") > 0 || query_count(&c->query, "to") > 0)
		return reply_error(
			c, 400, "bad_parameter",
			"from and to select a bucketed series: add bucket=minute|hour|day");
	rc = ctx_query(c, "limit", &v, &vl);
	if (rc < 0)
		return 0;
	if (rc == 1) {
		if (!tags_parse_limit(v, vl, TAGS_HISTORY_MAX, &hs.limit))
			return reply_error(c, 400, "bad_limit", "limit must be 1 to %d",
					   TAGS_HISTORY_MAX);
		paged = true;
	}
	rc = ctx_query(c, "cursor", &v, &vl);
	if (rc < 0)
		return 0;
	if (rc == 1) {
		if (tags_parse_history_cursor(c->arena, v, vl, &hs.pos, &c->diag) < 0)
			return reply_error(c, 400, "bad_cursor", "bad cursor");
		if (!paged)
			hs.limit = TAGS_HISTORY_DEFAULT;
		paged = with_cursor = true;
	}
	rc = tags_store_get(c->db, tag, len, &hs.tag_id, NULL, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_text(c, 404, TAGS_NO_DATA);
	if (paged) {
		if (db_txn(c->db, history_page_txn, &hs, &c->diag) < 0)
			return -1;
	} else {
		/* one statement: its own consistent snapshot, streamed */
		if (tags_store_history(c->db, hs.tag_id, &hs.pos, hs.limit, history_row, &hs,
				       &c->diag) < 0)
			return -1;
	}
	if (hs.rows == 0) {
		/* a page after the last one is empty, not missing */
		if (with_cursor)
			return reply_body(c, 200, "application/json", "{}", 2);
		return reply_text(c, 404, TAGS_NO_DATA);
	}
	jsonw_object_end(&c->w);
	return 0;
}

/* ------------------------------------------------------ /history (series) */

struct series_state {
	struct ctx *c;
	const struct tags_series *s;
	const char *tag;
	size_t len;
	int64_t next; /* the next bucket index to write */
	bool started;
};

static void
series_begin(struct series_state *ss)
{
	struct jsonw *w = &ss->c->w;

	reply_json_begin(ss->c, 200);
	reply_stream(ss->c);
	jsonw_object_begin(w);
	jsonw_key(w, "tag");
	jsonw_string_n(w, ss->tag, ss->len);
	jsonw_key(w, "bucket");
	jsonw_string(w, tags_bucket_name(ss->s->bucket));
	jsonw_key(w, "series");
	jsonw_array_begin(w);
	ss->started = true;
}

static void
series_point(struct series_state *ss, int64_t index, const char *sum, size_t sum_len)
{
	struct jsonw *w = &ss->c->w;
	char t[TIMEFMT_RFC_LEN + 1];

	timefmt_rfc3339(ss->s->first + index * ss->s->size, t);
	jsonw_object_begin(w);
	jsonw_key(w, "t");
	jsonw_string(w, t);
	jsonw_key(w, "count");
	if (sum != NULL)
		jsonw_raw(w, sum, sum_len); /* SUM() of unsigned integers: digits */
	else
		jsonw_int(w, 0);
	jsonw_object_end(w);
}

/* Writes the empty buckets before index, then bucket index itself. */
static int
series_row(int64_t index, const char *sum, size_t sum_len, void *arg)
{
	struct series_state *ss = arg;

	if (index < ss->next || index >= ss->s->count)
		return 0; /* outside the planned buckets: cannot happen */
	if (!ss->started)
		series_begin(ss);
	for (; ss->next < index; ss->next++)
		series_point(ss, ss->next, NULL, 0);
	series_point(ss, index, sum, sum_len);
	ss->next = index + 1;
	return jsonw_error(&ss->c->w) ? -1 : 0;
}

/* An optional time parameter: 0 absent, 1 parsed, -1 answered. */
static int
time_param(struct ctx *c, const char *name, int64_t *out)
{
	const char *v;
	size_t vl;
	int rc = ctx_query(c, name, &v, &vl);

	if (rc <= 0)
		return rc;
	if (tags_parse_time(v, vl, out, &c->diag) < 0) {
		reply_error(c, 400, "bad_time", "%s: %s", name, c->diag.msg);
		return -1;
	}
	return 1;
}

static int
history_series(struct ctx *c, const char *bucket, size_t blen)
{
	struct series_state ss;
	struct tags_series s;
	enum tags_bucket b;
	int64_t from, to, tag_id;
	int has_from, has_to, rc;

	memset(&ss, 0, sizeof ss);
	if (tag_param(c, true, &ss.tag, &ss.len) < 0)
		return 0;
	if (tags_bucket_parse(bucket, blen, &b) < 0)
		return reply_error(c, 400, "bad_bucket", "bucket must be minute, hour or day");
	has_from = time_param(c, "from", &from);
	if (has_from < 0)
		return 0;
	has_to = time_param(c, "to", &to);
	if (has_to < 0)
		return 0;
	if (tags_series_plan(b, has_from ? &from : NULL, has_to ? &to : NULL, timefmt_now_us(), &s,
			     &c->diag) < 0) {
		if (c->diag.code == DIAG_TOO_LARGE)
			return reply_error(c, 400, "too_many_buckets", "%s", c->diag.msg);
		return reply_error(c, 400, "bad_range", "%s", c->diag.msg);
	}
	rc = tags_store_get(c->db, ss.tag, ss.len, &tag_id, NULL, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 404, "not_found", TAGS_NO_TAG);
	ss.c = c;
	ss.s = &s;
	if (tags_store_series(c->db, tag_id, &s, series_row, &ss, &c->diag) < 0)
		return -1;
	if (!ss.started)
		series_begin(&ss);
	for (; ss.next < s.count && !jsonw_error(&c->w); ss.next++)
		series_point(&ss, ss.next, NULL, 0);
	jsonw_array_end(&c->w);
	jsonw_object_end(&c->w);
	return 0;
}

int
tags_http_history(struct ctx *c)
{
	const char *bucket, *tag;
	size_t blen, len;
	int rc = ctx_query(c, "bucket", &bucket, &blen);

	if (rc < 0)
		return 0;
	if (rc == 1)
		return history_series(c, bucket, blen);
	if (tag_param(c, false, &tag, &len) < 0)
		return 0;
	return history_compat(c, tag, len);
}

/* ---------------------------------------------------------------- /tags */

struct list_state {
	struct ctx *c;
	int64_t limit;
	int64_t count;
	bool more;
	char last[TAGS_NAME_MAX * 4 + 1];
	size_t last_len;
};

static void
list_begin(struct ctx *c)
{
	reply_json_begin(c, 200);
	reply_stream(c);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "tags");
	jsonw_array_begin(&c->w);
}

static int
list_row(const struct tags_row *r, void *arg)
{
	struct list_state *ls = arg;
	struct jsonw *w = &ls->c->w;

	if (ls->count == ls->limit) {
		ls->more = true; /* the extra row: a next page exists */
		return -1;
	}
	if (r->name_len >= sizeof ls->last)
		return 0; /* longer than any valid name: not written by cairn */
	if (ls->count == 0)
		list_begin(ls->c);
	jsonw_object_begin(w);
	jsonw_key(w, "tag");
	jsonw_string_n(w, r->name, r->name_len);
	jsonw_key(w, "count");
	jsonw_raw(w, r->count, strlen(r->count));
	jsonw_key(w, "created_at");
	write_time(w, r->created_at);
	jsonw_key(w, "last_used_at");
	write_time(w, r->last_used_at);
	jsonw_object_end(w);
	memcpy(ls->last, r->name, r->name_len);
	ls->last_len = r->name_len;
	ls->count++;
	return jsonw_error(w) ? -1 : 0;
}

int
tags_http_list(struct ctx *c)
{
	struct list_state *ls = arena_calloc(c->arena, 1, sizeof *ls);
	const char *v, *after = "";
	size_t vl, after_len = 0;
	int rc;

	ls->c = c;
	ls->limit = TAGS_LIST_DEFAULT;
	rc = ctx_query(c, "limit", &v, &vl);
	if (rc < 0)
		return 0;
	if (rc == 1 && !tags_parse_limit(v, vl, TAGS_LIST_MAX, &ls->limit))
		return reply_error(c, 400, "bad_limit", "limit must be 1 to %d", TAGS_LIST_MAX);
	rc = ctx_query(c, "cursor", &v, &vl);
	if (rc < 0)
		return 0;
	if (rc == 1 && tags_parse_list_cursor(c->arena, v, vl, &after, &after_len, &c->diag) < 0)
		return reply_error(c, 400, "bad_cursor", "bad cursor");
	/* one row more than the page tells whether a next page exists */
	if (tags_store_list(c->db, after, after_len, ls->limit + 1, list_row, ls, &c->diag) < 0)
		return -1;
	if (ls->count == 0)
		list_begin(c);
	jsonw_array_end(&c->w);
	jsonw_key(&c->w, "next_cursor");
	if (ls->more)
		jsonw_string(&c->w, tags_list_cursor(c->arena, ls->last, ls->last_len));
	else
		jsonw_null(&c->w);
	jsonw_object_end(&c->w);
	return 0;
}

/* -------------------------------------------------------- DELETE /tags/T */

int
tags_http_delete(struct ctx *c)
{
	size_t len;
	const char *tag = ctx_param(c, "tag", &len);
	char count[24];
	int rc;

	if (!tags_name_valid(tag, len))
		return reply_error(c, 412, "invalid_data", TAGS_INVALID);
	rc = tags_store_delete(c->db, tag, len, count, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 404, "not_found", TAGS_NO_TAG);
	metrics_add(metric_deleted, 1);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "deleted");
	jsonw_string_n(&c->w, tag, len);
	jsonw_key(&c->w, "count");
	jsonw_raw(&c->w, count, strlen(count));
	jsonw_object_end(&c->w);
	return 0;
}

/* ------------------------------------------------------------------ jobs */

int
tags_rollup_step(struct db *db, bool first, int *more, struct diag *d)
{
	int64_t batch = config_int("tags.rollup_batch");
	uint64_t folded;

	*more = 0;
	if (tags_store_rollup_batch(db, config_int("tags.history_days"), batch, &folded, d) < 0)
		return -1;
	*more = folded >= (uint64_t)batch;
	return 0;
}

int
tags_purge_step(struct db *db, bool first, int *more, struct diag *d)
{
	uint64_t deleted;

	return tags_store_purge_chunk(db, more, &deleted, d);
}

/* ------------------------------------------------------------------- CLI */

static const char cli_usage[] =
	"usage: cairnctl tags rollup   fold raw history older than tags.history_days into\n"
	"                              hourly totals now\n"
	"       cairnctl tags purge    remove the history of deleted tags now\n";

static int
cli_rollup(struct db *db)
{
	int64_t batch = config_int("tags.rollup_batch");
	uint64_t folded, total = 0, batches = 0;
	struct diag d;

	do {
		if (tags_store_rollup_batch(db, config_int("tags.history_days"), batch, &folded,
					    &d) < 0) {
			fprintf(stderr, "cairnctl: tags rollup: %s\n", d.msg);
			return CLI_EXIT_FAILURE;
		}
		total += folded;
		batches += folded > 0;
	} while (folded > 0);
	printf("folded %" PRIu64 " raw history rows into hourly totals (%" PRIu64 " batches)\n",
	       total, batches);
	return CLI_EXIT_OK;
}

static int
cli_purge(struct db *db)
{
	uint64_t deleted, total = 0;
	struct diag d;
	int more;

	do {
		if (tags_store_purge_chunk(db, &more, &deleted, &d) < 0) {
			fprintf(stderr, "cairnctl: tags purge: %s\n", d.msg);
			return CLI_EXIT_FAILURE;
		}
		total += deleted;
	} while (more);
	printf("deleted %" PRIu64 " history rows of deleted tags\n", total);
	return CLI_EXIT_OK;
}

int
tags_cli(struct db *db, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"rollup", NULL, cli_rollup},
		{"purge", NULL, cli_purge},
		{NULL, NULL, NULL},
	};

	return cli_dispatch(db, cli_usage, subs, argc, argv);
}
