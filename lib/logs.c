#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "cursor.h"
#include "idem.h"
#include "json.h"
#include "log.h"
#include "logs.h"
#include "logs_parse.h"
#include "logs_store.h"
#include "mem.h"
#include "metrics.h"
#include "text.h"

#define QUERY_LIMIT_DEFAULT 1000
#define QUERY_LIMIT_MAX 10000
#define SERVICES_LIMIT_DEFAULT 100
#define SERVICES_LIMIT_MAX 1000
#define ECHO_MAX 200 /* bytes of a client value echoed in a message */
#define Q_MAX 1024   /* bytes of the /logs q= substring */
#define DAY_US (INT64_C(86400) * 1000000)

#define MSG_NOT_JSON "Invalid request, must be in JSON format"
#define MSG_UNAUTHORIZED "Unauthorized"

static int metric_records = -1, metric_batches_ok = -1, metric_rejected_auth = -1,
	   metric_rejected_invalid = -1, metric_purged = -1;

void
logs_init(void)
{
	logs_store_init();
	metric_records = metrics_counter("cairn_logs_records_total", "",
					 "Log records stored by /intake.", 0);
	metric_batches_ok = metrics_counter("cairn_logs_batches_total", "result=\"stored\"",
					    "Log batches by outcome.", 0);
	metric_rejected_auth =
		metrics_counter("cairn_logs_batches_total", "result=\"unauthorized\"",
				"Log batches by outcome.", 0);
	metric_rejected_invalid = metrics_counter("cairn_logs_batches_total", "result=\"invalid\"",
						  "Log batches by outcome.", 0);
	metric_purged = metrics_counter("cairn_logs_purged_total", "",
					"Log records deleted by purge requests.", 0);
}

/* ================================================================ helpers */

/* reply_code_message() with "<prefix><value>", the value cut to ECHO_MAX bytes. */
static int
compat_echo(struct ctx *c, int status, const char *prefix, const char *v, size_t len)
{
	return reply_code_message(
		c, status,
		arena_printf(c->arena, "%s%.*s", prefix, text_utf8_cut(v, len, ECHO_MAX), v));
}

/* A query parameter for a compat route: a repeated one is the compat 400.
 * 1 found, 0 absent, -1 answered. */
static int
compat_query(struct ctx *c, const char *name, const char **v, size_t *len)
{
	if (query_count(&c->query, name) > 1) {
		const char *msg =
			arena_printf(c->arena, "Invalid request: parameter %s given twice", name);

		reply_code_message(c, 400, msg);
		return -1;
	}
	return query_get(&c->query, name, v, len);
}

/* ================================================================ intake */

static int
unauthorized(struct ctx *c)
{
	metrics_add(metric_rejected_auth, 1);
	return reply_code_message(c, 403, MSG_UNAUTHORIZED);
}

struct intake {
	int64_t service_id;
	struct logs_batch batch;
	bool stored;
};

static int
intake_txn(struct ctx *c, void *arg)
{
	struct intake *in = arg;

	in->stored = false;
	if (logs_store_insert(c->db, c->arena, in->service_id, &in->batch, &c->diag) < 0)
		return -1;
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "code");
	jsonw_int(&c->w, 200);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, "Success");
	jsonw_key(&c->w, "count");
	jsonw_int(&c->w, (int64_t)in->batch.n);
	jsonw_object_end(&c->w);
	in->stored = true;
	return 0;
}

/* auth_resolve, once more after a lost connection (nothing was written). */
static int
resolve(struct ctx *c, const char *key, size_t len)
{
	int rc = auth_resolve(c->db, key, len, &c->auth, &c->diag);

	if (rc < 0 && db_error_reconnectable(&c->diag))
		rc = auth_resolve(c->db, key, len, &c->auth, &c->diag);
	return rc;
}

int
logs_http_intake(struct ctx *c)
{
	struct http *h = c->http;
	json_object *root, *jkey;
	const char *bkey = NULL, *hkey = NULL, *key;
	size_t bkey_len = 0, hkey_len = 0, key_len;
	char *ips;
	bool ips_set = false;
	struct intake in;
	struct logs_limits lim;
	char msg[256];
	int (*run)(struct ctx *, idem_fn, void *);
	int rc;

	/* 0. over limits.max_body: the compat 413 (the route has ROUTE_OWN_413) */
	if (c->body_too_large)
		return reply_code_message(c, 413, "Request body too large");

	/* 1. JSON: a non-JSON content type or body is the compat 400, not 415 */
	if (!ctx_is_json(c) ||
	    json_parse(c->arena, h->body ? h->body : "", h->body_len, &root, &c->diag) < 0)
		return reply_code_message(c, 400, MSG_NOT_JSON);

	/* 2. the key: body "key" and/or the headers, one key if several */
	jkey = json_member(root, "key");
	if (jkey != NULL) {
		if (!json_object_is_type(jkey, json_type_string))
			return unauthorized(c);
		bkey = json_object_get_string(jkey);
		bkey_len = (size_t)json_object_get_string_len(jkey);
	}
	if (ctx_request_key(c, &hkey, &hkey_len) < 0)
		return unauthorized(c);
	if (bkey != NULL && hkey != NULL &&
	    (bkey_len != hkey_len || memcmp(bkey, hkey, bkey_len) != 0))
		return unauthorized(c);
	key = bkey != NULL ? bkey : hkey;
	key_len = bkey != NULL ? bkey_len : hkey_len;
	if (key == NULL || key_len == 0)
		return unauthorized(c);

	/* 3. an enabled service's key, from an allowed address */
	/* a database error is the pipeline's: it runs the request once more
	 * after a lost connection, and answers the compat 503 (ROUTE_LOGS_ERRORS) */
	rc = resolve(c, key, key_len);
	if (rc < 0)
		return -1;
	if (rc == 1 || c->auth.kind != AUTH_SERVICE_KEY)
		return unauthorized(c);
	ips = arena_alloc(c->arena, LOGS_ALLOWED_IPS_CAP);
	rc = logs_store_service_ips(c->db, c->auth.id, ips, &ips_set, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return unauthorized(c);
	if (ips_set && !logs_ip_allowed(ips, strlen(ips), h->remote_addr))
		return unauthorized(c);

	/* 4. the whole batch is valid before anything is written */
	lim.max_batch = (size_t)config_int("logs.max_batch");
	lim.max_body = (size_t)config_int("logs.max_body_bytes");
	memset(&in, 0, sizeof in);
	in.service_id = c->auth.id;
	if (logs_intake_validate(root, &lim, c->arena, &in.batch, msg, sizeof msg) < 0) {
		metrics_add(metric_rejected_invalid, 1);
		return reply_code_message(c, 400, msg);
	}

	/* 5. one transaction, with the Idempotency-Key when given (a batch of
	 * one statement needs none of its own); a connection lost before
	 * COMMIT (the server rolled back) is the pipeline's to retry */
	run = logs_store_insert_single(c->db, &in.batch) ? idem_run_single : idem_run;
	rc = run(c, intake_txn, &in);
	if (rc < 0)
		return -1;
	if (in.stored) {
		metrics_add(metric_records, (int64_t)in.batch.n);
		metrics_add(metric_batches_ok, 1);
	}
	return 0;
}

/* ================================================================ listing */

enum page_format { PAGE_COMPAT, PAGE_LOGS, PAGE_NDJSON };

struct page {
	struct ctx *c;
	enum page_format fmt;
	int limit; /* rows to write; the one after only tells "more" */
	int count;
	bool more;
	bool started;
	bool gone; /* a write failed: the client went away */
	char last_ts[TIMEFMT_SQL_LEN + 1];
	int64_t last_id;
};

static int
ndjson_sink(void *h, const char *p, size_t n)
{
	return http_write(h, p, n);
}

/* Sends the status and headers and switches to streaming. */
static void
page_start(struct page *pg)
{
	struct ctx *c = pg->c;

	pg->started = true;
	if (pg->fmt == PAGE_NDJSON) {
		http_set_status(c->http, 200);
		reply_header(c, "Content-Type", "application/x-ndjson");
		reply_stream(c);
		return;
	}
	reply_json_begin(c, 200);
	reply_stream(c);
	jsonw_object_begin(&c->w);
	if (pg->fmt == PAGE_COMPAT) {
		jsonw_key(&c->w, "code");
		jsonw_int(&c->w, 200);
		jsonw_key(&c->w, "data");
	} else {
		jsonw_key(&c->w, "records");
	}
	jsonw_array_begin(&c->w);
}

/* "YYYY-MM-DD HH:MM:SS.ffffff" -> "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
static void
write_rfc3339(struct jsonw *w, const char *sql_time)
{
	char t[TIMEFMT_RFC_LEN + 1];

	if (sql_time == NULL || strlen(sql_time) != TIMEFMT_SQL_LEN) {
		jsonw_null(w);
		return;
	}
	memcpy(t, sql_time, TIMEFMT_SQL_LEN);
	t[10] = 'T';
	t[TIMEFMT_SQL_LEN] = 'Z';
	t[TIMEFMT_RFC_LEN] = '\0';
	jsonw_string(w, t);
}

static void
write_record(struct jsonw *w, const struct logs_row *r, enum page_format fmt)
{
	jsonw_object_begin(w);
	if (fmt != PAGE_COMPAT) {
		char id[24];

		snprintf(id, sizeof id, "%lld", (long long)r->id);
		jsonw_key(w, "id");
		jsonw_string(w, id);
	}
	jsonw_key(w, "service");
	jsonw_string(w, r->service);
	jsonw_key(w, "level");
	jsonw_string(w, logs_level_name(r->level));
	jsonw_key(w, "timestamp");
	if (fmt == PAGE_COMPAT)
		jsonw_string_n(w, r->ts ? r->ts : "", r->ts ? strnlen(r->ts, 19) : 0);
	else
		write_rfc3339(w, r->ts);
	if (fmt != PAGE_COMPAT) {
		jsonw_key(w, "received_at");
		write_rfc3339(w, r->received_at);
	}
	jsonw_key(w, "body");
	jsonw_string_n(w, r->body, r->body_len);
	jsonw_object_end(w);
}

static int
page_row(const struct logs_row *r, void *arg)
{
	struct page *pg = arg;

	if (pg->count == pg->limit) {
		pg->more = true;
		return -1;
	}
	if (!pg->started)
		page_start(pg);
	if (pg->fmt == PAGE_NDJSON) {
		struct jsonw w;

		jsonw_init(&w, ndjson_sink, pg->c->http);
		write_record(&w, r, pg->fmt);
		/* each line has its own writer: c->w never sees the error */
		pg->gone = jsonw_error(&w) != 0 || http_write(pg->c->http, "\n", 1) < 0;
	} else {
		write_record(&pg->c->w, r, pg->fmt);
		pg->gone = jsonw_error(&pg->c->w) != 0;
	}
	pg->count++;
	snprintf(pg->last_ts, sizeof pg->last_ts, "%s", r->ts ? r->ts : "");
	pg->last_id = r->id;
	return pg->gone ? -1 : 0;
}

static const char *
page_cursor(struct page *pg)
{
	char id[24];
	const char *f[2] = {pg->last_ts, id};

	snprintf(id, sizeof id, "%lld", (long long)pg->last_id);
	return cursor_encode(pg->c->arena, f, 2);
}

/* Closes a JSON page (compat or /logs) with count and next_cursor. */
static void
page_finish(struct page *pg)
{
	struct ctx *c = pg->c;

	if (!pg->started)
		page_start(pg);
	if (pg->fmt == PAGE_NDJSON)
		return;
	jsonw_array_end(&c->w);
	if (pg->fmt == PAGE_COMPAT) {
		jsonw_key(&c->w, "count");
		jsonw_int(&c->w, pg->count);
		jsonw_key(&c->w, "message");
		jsonw_string(&c->w, "Success");
	}
	jsonw_key(&c->w, "next_cursor");
	if (pg->more)
		jsonw_string(&c->w, page_cursor(pg));
	else
		jsonw_null(&c->w);
	jsonw_object_end(&c->w);
}

/* Decodes a cursor into (ts, id). */
static bool
cursor_parse(struct ctx *c, const char *v, size_t len, int64_t *ts, int64_t *id)
{
	char *f[2];
	struct diag d;

	return cursor_decode(c->arena, v, len, f, 2, &d) == 0 &&
	       timefmt_parse(f[0], strlen(f[0]), 0, ts, &d) == 0 &&
	       text_parse_id(f[1], strlen(f[1]), id);
}

/* limit (1..max) from its text. */
static bool
limit_parse(const char *v, size_t len, int max, int *out)
{
	int64_t n;

	if (!text_parse_id(v, len, &n) || n > max)
		return false;
	*out = (int)n;
	return true;
}

/* ================================================================ compat queries */

/* limit and cursor of a compat query into f. 0, or -1 answered. */
static int
compat_page_args(struct ctx *c, struct logs_filter *f, int *limit)
{
	const char *v;
	size_t len;
	int rc;

	*limit = QUERY_LIMIT_DEFAULT;
	rc = compat_query(c, "limit", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1 && !limit_parse(v, len, QUERY_LIMIT_MAX, limit)) {
		compat_echo(c, 400, "Invalid request: bad limit ", v, len);
		return -1;
	}
	rc = compat_query(c, "cursor", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (!cursor_parse(c, v, len, &f->cursor_ts, &f->cursor_id)) {
			reply_code_message(c, 400, "Invalid request: bad cursor");
			return -1;
		}
		f->has_cursor = true;
	}
	return 0;
}

/* The optional :date parameter: sets the day's range. 0, or -1 answered. */
static int
compat_date(struct ctx *c, struct logs_filter *f)
{
	size_t len;
	const char *date = ctx_param(c, "date", &len);
	int64_t day;

	f->from = LOGS_TIME_MIN;
	f->to = LOGS_TIME_MAX;
	if (date == NULL)
		return 0;
	if (timefmt_parse_date(date, len, &day, &c->diag) < 0) {
		compat_echo(c, 400, "Invalid request: bad date format ", date, len);
		return -1;
	}
	f->from = day;
	f->to = day + DAY_US - 1;
	return 0;
}

/* Looks a service up by its path name: 0 found, 1 answered 404, -1 error. */
static int
compat_service(struct ctx *c, const char *name, size_t len, struct logs_service *s)
{
	int rc = 1;

	if (logs_service_name_valid(name, len))
		rc = logs_store_service_get(c->db, name, len, s, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		compat_echo(c, 404, "Invalid request: bad service ", name, len);
	return rc;
}

static int
compat_run(struct ctx *c, struct logs_filter *f, int limit)
{
	struct page pg;

	memset(&pg, 0, sizeof pg);
	pg.c = c;
	pg.fmt = PAGE_COMPAT;
	pg.limit = limit;
	f->limit = limit + 1;
	if (logs_store_search(c->db, f, page_row, &pg, &c->diag) < 0)
		return -1;
	page_finish(&pg);
	return 0;
}

static void
filter_init(struct logs_filter *f)
{
	memset(f, 0, sizeof *f);
	f->level_min = 0;
	f->level_max = LOGS_LEVEL_MAX;
	f->from = LOGS_TIME_MIN;
	f->to = LOGS_TIME_MAX;
}

int
logs_http_query_service(struct ctx *c)
{
	struct logs_filter f;
	struct logs_service *s = arena_alloc(c->arena, sizeof *s);
	size_t len;
	const char *name = ctx_param(c, "service", &len);
	int limit, rc;

	filter_init(&f);
	if (compat_date(c, &f) < 0 || compat_page_args(c, &f, &limit) < 0)
		return 0;
	rc = compat_service(c, name, len, s);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	f.service_id = s->id;
	return compat_run(c, &f, limit);
}

int
logs_http_query_level(struct ctx *c)
{
	struct logs_filter f;
	size_t len;
	const char *name = ctx_param(c, "level", &len);
	enum logs_level level;
	int limit;

	filter_init(&f);
	if (logs_level_lookup(name, len, &level) < 0)
		return compat_echo(c, 400, "Invalid request: bad log level ", name, len);
	if (compat_date(c, &f) < 0 || compat_page_args(c, &f, &limit) < 0)
		return 0;
	f.level_min = f.level_max = (int)level;
	return compat_run(c, &f, limit);
}

int
logs_http_query_date(struct ctx *c)
{
	struct logs_filter f;
	int limit;

	filter_init(&f);
	if (compat_date(c, &f) < 0 || compat_page_args(c, &f, &limit) < 0)
		return 0;
	return compat_run(c, &f, limit);
}

/* ================================================================ GET /logs */

/* A level parameter (name, any case). 0 absent, 1 set, -1 answered. */
static int
level_param(struct ctx *c, const char *name, int *level)
{
	const char *v;
	size_t len;
	enum logs_level l;
	int rc = ctx_query(c, name, &v, &len);

	if (rc <= 0)
		return rc;
	if (logs_level_lookup(v, len, &l) < 0) {
		reply_error(c, 400, "bad_level",
			    "%s must be one of not_set, debug, info, warning, error, critical",
			    name);
		return -1;
	}
	*level = (int)l;
	return 1;
}

/* A time parameter (API.md §0 formats or epoch seconds). */
static int
time_param(struct ctx *c, const char *name, int64_t *t)
{
	const char *v;
	size_t len;
	int rc = ctx_query(c, name, &v, &len);

	if (rc <= 0)
		return rc;
	if (timefmt_parse(v, len, TIMEFMT_EPOCH, t, &c->diag) < 0) {
		reply_error(c, 400, "bad_time",
			    "%s must be 'YYYY-MM-DD HH:MM:SS', RFC 3339 or epoch seconds", name);
		return -1;
	}
	return 1;
}

/* Reads every /logs parameter into f. 0, or -1 answered. */
static int
search_args(struct ctx *c, struct logs_filter *f, int *limit, bool ndjson)
{
	const char *v;
	size_t len;
	int rc, level = 0, min_level = 0, has_level, has_min;
	int64_t from = 0, to = 0;
	int has_from, has_to;

	filter_init(f);
	rc = ctx_query(c, "service", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		struct logs_service *s = arena_alloc(c->arena, sizeof *s);

		rc = logs_service_name_valid(v, len)
			     ? logs_store_service_get(c->db, v, len, s, &c->diag)
			     : 1;
		if (rc < 0)
			return -2;
		if (rc == 1) {
			reply_error(c, 404, "unknown_service", "no service named '%.*s'",
				    text_utf8_cut(v, len, ECHO_MAX), v);
			return -1;
		}
		f->service_id = s->id;
	}
	has_level = level_param(c, "level", &level);
	if (has_level < 0)
		return -1;
	has_min = level_param(c, "min_level", &min_level);
	if (has_min < 0)
		return -1;
	if (has_level)
		f->level_min = f->level_max = level;
	if (has_min && min_level > f->level_min)
		f->level_min = min_level;
	has_from = time_param(c, "from", &from);
	if (has_from < 0)
		return -1;
	has_to = time_param(c, "to", &to);
	if (has_to < 0)
		return -1;
	if (has_from)
		f->from = from;
	if (has_to)
		f->to = to - 1; /* to is exclusive */
	if (has_from && has_to && from > to) {
		reply_error(c, 400, "bad_range", "from must not be after to");
		return -1;
	}
	rc = ctx_query(c, "q", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (len > Q_MAX || memchr(v, '\0', len) != NULL || !text_valid_utf8(v, len)) {
			reply_error(c, 400, "bad_q",
				    "q must be valid UTF-8 without NUL, at most %d bytes", Q_MAX);
			return -1;
		}
		f->q = v;
		f->q_len = len;
	}
	rc = ctx_query(c, "order", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (len == 4 && memcmp(v, "desc", 4) == 0) {
			f->desc = true;
		} else if (!(len == 3 && memcmp(v, "asc", 3) == 0)) {
			reply_error(c, 400, "bad_order", "order must be asc or desc");
			return -1;
		}
	}
	*limit = ndjson ? 0 : QUERY_LIMIT_DEFAULT;
	rc = ctx_query(c, "limit", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1 && !limit_parse(v, len, QUERY_LIMIT_MAX, limit)) {
		reply_error(c, 400, "bad_limit", "limit must be 1 to %d", QUERY_LIMIT_MAX);
		return -1;
	}
	rc = ctx_query(c, "cursor", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (!cursor_parse(c, v, len, &f->cursor_ts, &f->cursor_id)) {
			reply_error(c, 400, "bad_cursor", "bad cursor");
			return -1;
		}
		f->has_cursor = true;
	}
	return 0;
}

static bool
wants_ndjson(struct ctx *c)
{
	const char *accept = ctx_header(c, "HTTP_ACCEPT");

	return accept != NULL && strcasestr(accept, "application/x-ndjson") != NULL;
}

/* NDJSON: every matching record (or the first `limit`), fetched in
 * keyset pages of QUERY_LIMIT_MAX rows so no statement runs unbounded. */
static int
search_ndjson(struct ctx *c, struct logs_filter *f, int limit)
{
	struct page pg;
	int64_t left = limit > 0 ? limit : INT64_MAX;

	memset(&pg, 0, sizeof pg);
	pg.c = c;
	pg.fmt = PAGE_NDJSON;
	for (;;) {
		int want = left < QUERY_LIMIT_MAX ? (int)left : QUERY_LIMIT_MAX;

		pg.count = 0;
		pg.limit = want;
		f->limit = want;
		if (logs_store_search(c->db, f, page_row, &pg, &c->diag) < 0)
			return -1;
		left -= pg.count;
		if (pg.count < want || left == 0 || pg.gone)
			break;
		f->has_cursor = true;
		if (timefmt_parse(pg.last_ts, strlen(pg.last_ts), 0, &f->cursor_ts, &c->diag) < 0)
			return -1;
		f->cursor_id = pg.last_id;
	}
	page_finish(&pg);
	return 0;
}

int
logs_http_search(struct ctx *c)
{
	struct logs_filter f;
	struct page pg;
	bool ndjson = wants_ndjson(c);
	int limit, rc;

	rc = search_args(c, &f, &limit, ndjson);
	if (rc == -2)
		return -1;
	if (rc < 0)
		return 0;
	if (ndjson)
		return search_ndjson(c, &f, limit);
	memset(&pg, 0, sizeof pg);
	pg.c = c;
	pg.fmt = PAGE_LOGS;
	pg.limit = limit;
	f.limit = limit + 1;
	if (logs_store_search(c->db, &f, page_row, &pg, &c->diag) < 0)
		return -1;
	page_finish(&pg);
	return 0;
}

/* ================================================================ purge */

int
logs_http_purge(struct ctx *c)
{
	size_t nlen, dlen, vlen;
	const char *name = ctx_param(c, "service", &nlen);
	const char *date = ctx_param(c, "date", &dlen);
	const char *v;
	struct logs_service *s = arena_alloc(c->arena, sizeof *s);
	bool dry_run = false;
	int64_t day, deleted;
	int rc;

	rc = compat_query(c, "dry_run", &v, &vlen);
	if (rc < 0)
		return 0;
	if (rc == 1) {
		if ((vlen == 1 && v[0] == '1') || (vlen == 4 && memcmp(v, "true", 4) == 0))
			dry_run = true;
		else if (!((vlen == 1 && v[0] == '0') || (vlen == 5 && memcmp(v, "false", 5) == 0)))
			return compat_echo(c, 400, "Invalid request: bad dry_run ", v, vlen);
	}
	if (timefmt_parse_date(date, dlen, &day, &c->diag) < 0)
		return compat_echo(c, 400, "Invalid request: bad date format ", date, dlen);
	rc = compat_service(c, name, nlen, s);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (logs_store_purge(c->db, s->id, day, dry_run, &deleted, &c->diag) < 0)
		return -1;
	if (!dry_run) {
		metrics_add(metric_purged, deleted);
		log_info("purge: deleted %lld records of service %s before %.*s by %s",
			 (long long)deleted, s->name, (int)dlen, date, c->auth.caller);
	}
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "code");
	jsonw_int(&c->w, 200);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, "Success");
	jsonw_key(&c->w, "deleted");
	jsonw_int(&c->w, deleted);
	jsonw_object_end(&c->w);
	return 0;
}

/* ================================================================ services */

/* Masks (already checked one by one) as the stored JSON array text. */
static int
masks_to_json(const char *const *masks, const size_t *lens, size_t n, struct buf *out)
{
	buf_reset(out);
	if (buf_putc(out, '[') < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((i > 0 && buf_putc(out, ',') < 0) || jsonw_escape(out, masks[i], lens[i]) < 0)
			return -1;
	}
	return buf_putc(out, ']');
}

/* allowed_ips from a JSON value (string or array of strings) into out.
 * 0 ok (*set false for null), -1 with msg. */
static int
parse_allowed_ips(json_object *v, struct buf *out, bool *set, char *msg, size_t cap)
{
	const char *masks[LOGS_IPMASK_MAX_ENTRIES];
	size_t lens[LOGS_IPMASK_MAX_ENTRIES], n = 0;

	*set = false;
	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		masks[0] = json_object_get_string(v);
		lens[0] = (size_t)json_object_get_string_len(v);
		n = 1;
	} else if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		if (n == 0 || n > LOGS_IPMASK_MAX_ENTRIES) {
			snprintf(msg, cap, "allowed_ips must list 1 to %d masks",
				 LOGS_IPMASK_MAX_ENTRIES);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_string)) {
				snprintf(msg, cap, "allowed_ips[%zu] must be a string", i);
				return -1;
			}
			masks[i] = json_object_get_string(e);
			lens[i] = (size_t)json_object_get_string_len(e);
		}
	} else {
		snprintf(msg, cap, "allowed_ips must be a string or an array of strings");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!logs_ipmask_valid(masks[i], lens[i])) {
			snprintf(
				msg, cap,
				"allowed_ips: '%.*s' is neither a wildcard mask like 192.168.%% nor a CIDR",
				(int)(lens[i] > 64 ? 64 : lens[i]), masks[i]);
			return -1;
		}
	*set = true;
	return masks_to_json(masks, lens, n, out) < 0 ? -1 : 0;
}

static void
write_time(struct jsonw *w, const char *sql_time)
{
	if (sql_time == NULL || sql_time[0] == '\0')
		jsonw_null(w);
	else
		write_rfc3339(w, sql_time);
}

static void
write_service(struct jsonw *w, const struct logs_service *s, const char *key)
{
	jsonw_object_begin(w);
	jsonw_key(w, "name");
	jsonw_string(w, s->name);
	jsonw_key(w, "privileged");
	jsonw_bool(w, s->privileged);
	jsonw_key(w, "allowed_ips");
	if (s->has_allowed_ips) {
		json_object *arr = json_tokener_parse(s->allowed_ips);

		if (arr != NULL && json_object_is_type(arr, json_type_array))
			jsonw_value(w, arr);
		else
			jsonw_string(w, s->allowed_ips); /* written by hand, not an array */
		json_object_put(arr);
	} else {
		jsonw_null(w);
	}
	jsonw_key(w, "retention_days");
	if (s->retention_days > 0)
		jsonw_int(w, s->retention_days);
	else
		jsonw_null(w);
	if (key != NULL) {
		jsonw_key(w, "key");
		jsonw_string(w, key);
	}
	jsonw_key(w, "created_at");
	write_time(w, s->created_at);
	if (key == NULL) {
		jsonw_key(w, "disabled_at");
		write_time(w, s->disabled_at);
	}
	jsonw_object_end(w);
}

int
logs_http_service_create(struct ctx *c)
{
	static const char *const known[] = {"name", "privileged", "allowed_ips", "retention_days"};
	const char *name, *unknown;
	size_t name_len;
	bool privileged = false, ips_set;
	int64_t retention = 0;
	struct buf ips;
	char msg[200], key[AUTH_KEY_CHARS + 1];
	struct logs_service *s;
	json_object *v;
	int rc;

	if (!json_object_is_type(c->json, json_type_object))
		return reply_error(c, 400, "invalid_body", "the body must be a JSON object");
	unknown = json_unknown_member(c->json, known, sizeof known / sizeof known[0]);
	if (unknown != NULL)
		return reply_error(c, 400, "unknown_field", "unknown field '%.*s'",
				   text_utf8_cut(unknown, strlen(unknown), ECHO_MAX), unknown);
	rc = json_get_string(c->json, "name", &name, &name_len, &c->diag);
	if (rc != 0 || !logs_service_name_valid(name, name_len))
		return reply_error(c, 400, "invalid_field",
				   "name is required: 1 to 64 of A-Z a-z 0-9 _ . -");
	v = json_member(c->json, "privileged");
	if (v != NULL) {
		if (!json_object_is_type(v, json_type_boolean))
			return reply_error(c, 400, "invalid_field",
					   "privileged must be true or false");
		privileged = json_object_get_boolean(v);
	}
	v = json_member(c->json, "retention_days");
	if (v != NULL) {
		rc = json_get_int64(c->json, "retention_days", 1, LOGS_RETENTION_MAX, &retention,
				    &c->diag);
		if (rc != 0)
			return reply_error(c, 400, "invalid_field",
					   "retention_days must be an integer from 1 to %d",
					   LOGS_RETENTION_MAX);
	}
	buf_init(&ips, LOGS_ALLOWED_IPS_CAP - 1);
	if (parse_allowed_ips(json_member(c->json, "allowed_ips"), &ips, &ips_set, msg,
			      sizeof msg) < 0) {
		buf_free(&ips);
		return reply_error(c, 400, "invalid_field", "%s", msg);
	}
	s = arena_alloc(c->arena, sizeof *s);
	rc = logs_store_service_create(c->db, name, name_len, privileged, ips_set ? ips.data : NULL,
				       retention, key, s, &c->diag);
	buf_free(&ips);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 409, "conflict", "a service named '%s' exists already", name);
	log_info("service %s created by %s", s->name, c->auth.caller);
	reply_json_begin(c, 201);
	write_service(&c->w, s, key);
	return 0;
}

struct service_page {
	struct ctx *c;
	int limit, count;
	bool more;
	int64_t last_id;
};

static int
service_row(const struct logs_service *s, void *arg)
{
	struct service_page *sp = arg;

	if (sp->count == sp->limit) {
		sp->more = true;
		return -1;
	}
	if (sp->count == 0) {
		reply_json_begin(sp->c, 200);
		reply_stream(sp->c);
		jsonw_object_begin(&sp->c->w);
		jsonw_key(&sp->c->w, "services");
		jsonw_array_begin(&sp->c->w);
	}
	write_service(&sp->c->w, s, NULL);
	sp->count++;
	sp->last_id = s->id;
	return jsonw_error(&sp->c->w) ? -1 : 0;
}

int
logs_http_service_list(struct ctx *c)
{
	struct service_page sp = {c, SERVICES_LIMIT_DEFAULT, 0, false, 0};
	int64_t after = 0;
	char *cursor, id[24];

	if (ctx_page(c, SERVICES_LIMIT_DEFAULT, SERVICES_LIMIT_MAX, &sp.limit, &cursor) < 0)
		return 0;
	if (cursor != NULL && !text_parse_id(cursor, strlen(cursor), &after))
		return reply_error(c, 400, "bad_cursor", "the cursor is not one this server gave");
	if (logs_store_service_list(c->db, after, sp.limit + 1, service_row, &sp, &c->diag) < 0)
		return -1;
	if (sp.count == 0) {
		reply_json_begin(c, 200);
		jsonw_object_begin(&c->w);
		jsonw_key(&c->w, "services");
		jsonw_array_begin(&c->w);
	}
	jsonw_array_end(&c->w);
	jsonw_key(&c->w, "next_cursor");
	snprintf(id, sizeof id, "%lld", (long long)sp.last_id);
	reply_next_cursor(c, sp.more, id);
	jsonw_object_end(&c->w);
	return 0;
}

int
logs_http_service_rotate(struct ctx *c)
{
	size_t len;
	const char *name = ctx_param(c, "name", &len);
	char key[AUTH_KEY_CHARS + 1];
	int rc = 1;

	if (logs_service_name_valid(name, len))
		rc = logs_store_service_rotate(c->db, name, len, key, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 404, "not_found", "no service named '%.*s'",
				   text_utf8_cut(name, len, ECHO_MAX), name);
	if (rc == 2)
		return reply_error(c, 409, "service_disabled",
				   "service '%s' is disabled; its key cannot be rotated", name);
	log_info("service %s: key rotated by %s", name, c->auth.caller);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "name");
	jsonw_string(&c->w, name);
	jsonw_key(&c->w, "key");
	jsonw_string(&c->w, key);
	jsonw_object_end(&c->w);
	return 0;
}

int
logs_http_service_disable(struct ctx *c)
{
	size_t len;
	const char *name = ctx_param(c, "name", &len);
	struct logs_service *s = arena_alloc(c->arena, sizeof *s);
	int rc = 1;

	if (logs_service_name_valid(name, len))
		rc = logs_store_service_disable(c->db, name, len, s, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 404, "not_found", "no service named '%.*s'",
				   text_utf8_cut(name, len, ECHO_MAX), name);
	log_info("service %s disabled by %s", name, c->auth.caller);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "name");
	jsonw_string(&c->w, s->name);
	jsonw_key(&c->w, "disabled_at");
	write_time(&c->w, s->disabled_at);
	jsonw_object_end(&c->w);
	return 0;
}

/* ================================================================ cairnctl */

static const char cli_usage[] =
	"usage: cairnctl service add NAME [--privileged] [--allowed-ips MASK[,MASK...]]\n"
	"                                 [--retention-days N]\n"
	"       cairnctl service list\n"
	"       cairnctl service rotate NAME\n"
	"       cairnctl service disable NAME\n"
	"       cairnctl purge SERVICE YYYY-MM-DD [--dry-run]\n"
	"Options go before or after the arguments; \"--\" ends them (a NAME starting\n"
	"with '-').  Exit status 0, 1 failure (database, unknown or taken name),\n"
	"2 usage error (nothing done).\n";

static int
cli_fail(const struct diag *d)
{
	fprintf(stderr, "cairnctl: %s\n", d->msg);
	return CLI_EXIT_FAILURE;
}

/* "-- " before a name that starts with '-', for a command line we suggest. */
static const char *
cli_dashes(const char *name)
{
	return name[0] == '-' ? "-- " : "";
}

static int
cli_print_service(const struct logs_service *s, void *arg)
{
	(void)arg;
	printf("%s\t%s\t%s\t", s->name, s->privileged ? "yes" : "no",
	       s->has_allowed_ips ? s->allowed_ips : "-");
	if (s->retention_days > 0)
		printf("%lld", (long long)s->retention_days);
	else
		printf("-");
	printf("\t%s\t%s\n", s->created_at, s->disabled_at[0] ? s->disabled_at : "-");
	return 0;
}

/* --allowed-ips "M1,M2 M3" into masks/lens (pointing into arg): the HTTP
 * API's rules, 1 to LOGS_IPMASK_MAX_ENTRIES valid masks.  0, or -1 after
 * the message. */
static int
cli_masks(const char *arg, const char **masks, size_t *lens, size_t *n)
{
	const char *p = arg;
	int rc = 0;

	*n = 0;
	while (*p != '\0' && rc == 0) {
		size_t len = strcspn(p, ", ");

		if (len > 0 && *n == LOGS_IPMASK_MAX_ENTRIES) {
			fprintf(stderr, "cairnctl: --allowed-ips must list 1 to %d masks\n",
				LOGS_IPMASK_MAX_ENTRIES);
			rc = -1;
		} else if (len > 0 && !logs_ipmask_valid(p, len)) {
			fprintf(stderr,
				"cairnctl: --allowed-ips: '%.*s' is neither a wildcard mask like "
				"192.168.%% nor a CIDR\n",
				(int)(len > 64 ? 64 : len), p);
			rc = -1;
		} else if (len > 0) {
			masks[*n] = p;
			lens[(*n)++] = len;
		}
		p += len;
		while (*p == ',' || *p == ' ')
			p++;
	}
	if (rc == 0 && *n == 0) {
		fprintf(stderr, "cairnctl: --allowed-ips must list 1 to %d masks\n",
			LOGS_IPMASK_MAX_ENTRIES);
		rc = -1;
	}
	return rc;
}

/* Whether name follows the naming rule; says so on stderr when not (a
 * usage error: nothing is looked up). */
static bool
cli_name_valid(const char *name)
{
	if (logs_service_name_valid(name, strlen(name)))
		return true;
	fprintf(stderr, "cairnctl: the service name must be 1 to 64 of A-Z a-z 0-9 _ . -\n");
	return false;
}

/* Parses the line of a command whose one argument is a service name and
 * checks the name: CLI_EXIT_OK, or the exit status after saying why. */
static int
cli_parse_name(int argc, char **argv, const char **name)
{
	struct cli_pos pos = {name, 1, 1, 0};
	int rc = cli_parse(cli_usage, NULL, argc, argv, &pos);

	if (rc == CLI_EXIT_OK && !cli_name_valid(*name))
		rc = CLI_EXIT_USAGE;
	return rc;
}

static int
cli_add(struct db *db, int argc, char **argv)
{
	const char *name, *ips_arg = NULL, *retention_arg = NULL;
	bool privileged = false;
	const struct cli_opt opts[] = {
		{.name = "--privileged", .flag = &privileged},
		{.name = "--allowed-ips", .value = &ips_arg},
		{.name = "--retention-days", .value = &retention_arg},
		{.name = NULL},
	};
	struct cli_pos pos = {&name, 1, 1, 0};
	int64_t retention = 0;
	const char *masks[LOGS_IPMASK_MAX_ENTRIES];
	size_t lens[LOGS_IPMASK_MAX_ENTRIES], n = 0;
	char key[AUTH_KEY_CHARS + 1];
	struct logs_service *s;
	struct buf ips;
	struct diag d;
	int rc = cli_parse(cli_usage, opts, argc, argv, &pos);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (retention_arg != NULL &&
	    (!text_parse_id(retention_arg, strlen(retention_arg), &retention) ||
	     retention > LOGS_RETENTION_MAX)) {
		fprintf(stderr, "cairnctl: --retention-days must be 1 to %d\n", LOGS_RETENTION_MAX);
		return CLI_EXIT_USAGE;
	}
	if (!cli_name_valid(name))
		return CLI_EXIT_USAGE;
	if (ips_arg != NULL && cli_masks(ips_arg, masks, lens, &n) < 0)
		return CLI_EXIT_USAGE;
	buf_init(&ips, LOGS_ALLOWED_IPS_CAP - 1);
	if (n > 0 && masks_to_json(masks, lens, n, &ips) < 0) {
		buf_free(&ips);
		fprintf(stderr, "cairnctl: --allowed-ips is too long\n");
		return CLI_EXIT_USAGE;
	}
	s = mem_calloc(1, sizeof *s);
	rc = logs_store_service_create(db, name, strlen(name), privileged, n > 0 ? ips.data : NULL,
				       retention, key, s, &d);
	buf_free(&ips);
	mem_free(s);
	if (rc < 0)
		return cli_fail(&d);
	if (rc == 1) {
		fprintf(stderr, "cairnctl: a service named '%s' exists already\n", name);
		return CLI_EXIT_FAILURE;
	}
	fprintf(stderr, "created %sservice '%s'; its key (shown only now):\n",
		privileged ? "privileged " : "", name);
	cli_show_secret(key,
			"service '%s' was created, but its key could not be shown: get a new "
			"key with cairnctl service rotate %s%s",
			name, cli_dashes(name), name);
	return CLI_EXIT_OK;
}

static int
cli_list(struct db *db, int argc, char **argv)
{
	struct diag d;
	int rc = cli_parse(cli_usage, NULL, argc, argv, NULL);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli_list_header(db,
			    "name\tprivileged\tallowed_ips\tretention_days\tcreated_at\t"
			    "disabled_at\n",
			    &d) < 0 ||
	    logs_store_service_list(db, 0, 1000000, cli_print_service, NULL, &d) < 0)
		return cli_fail(&d);
	return CLI_EXIT_OK;
}

static int
cli_rotate(struct db *db, int argc, char **argv)
{
	const char *name;
	char key[AUTH_KEY_CHARS + 1];
	struct diag d;
	int rc = cli_parse_name(argc, argv, &name);

	if (rc != CLI_EXIT_OK)
		return rc;
	rc = logs_store_service_rotate(db, name, strlen(name), key, &d);
	if (rc < 0)
		return cli_fail(&d);
	if (rc > 0) {
		fprintf(stderr, "cairnctl: %s '%s'\n",
			rc == 1 ? "no service named" : "disabled service", name);
		return CLI_EXIT_FAILURE;
	}
	fprintf(stderr, "new key of service '%s' (shown only now):\n", name);
	cli_show_secret(key,
			"the key of service '%s' was rotated (the old one no longer works), but "
			"the new key could not be shown: rotate it again with cairnctl service "
			"rotate %s%s",
			name, cli_dashes(name), name);
	return CLI_EXIT_OK;
}

static int
cli_disable(struct db *db, int argc, char **argv)
{
	const char *name;
	struct logs_service *s;
	struct diag d;
	int rc = cli_parse_name(argc, argv, &name);

	if (rc != CLI_EXIT_OK)
		return rc;
	s = mem_calloc(1, sizeof *s);
	rc = logs_store_service_disable(db, name, strlen(name), s, &d);
	if (rc == 0)
		printf("service '%s' disabled at %s\n", name, s->disabled_at);
	mem_free(s);
	if (rc < 0)
		return cli_fail(&d);
	if (rc == 1) {
		fprintf(stderr, "cairnctl: no service named '%s'\n", name);
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}

int
logs_cli_service(struct db *db, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"add", cli_add, NULL},       {"list", cli_list, NULL},
		{"rotate", cli_rotate, NULL}, {"disable", cli_disable, NULL},
		{NULL, NULL, NULL},
	};

	return cli_dispatch(db, cli_usage, subs, argc, argv);
}

int
logs_cli_purge(struct db *db, int argc, char **argv)
{
	const char *args[2];
	bool dry_run = false;
	const struct cli_opt opts[] = {
		{.name = "--dry-run", .flag = &dry_run},
		{.name = NULL},
	};
	struct cli_pos pos = {args, 2, 2, 0};
	const char *name, *date;
	struct logs_service *s;
	int64_t day, deleted;
	struct diag d;
	int rc = cli_parse(cli_usage, opts, argc, argv, &pos);

	if (rc != CLI_EXIT_OK)
		return rc;
	name = args[0];
	date = args[1];
	if (timefmt_parse_date(date, strlen(date), &day, &d) < 0) {
		fprintf(stderr, "cairnctl: the date must be YYYY-MM-DD, not '%s'\n", date);
		return CLI_EXIT_USAGE;
	}
	if (!cli_name_valid(name))
		return CLI_EXIT_USAGE;
	s = mem_calloc(1, sizeof *s);
	rc = logs_store_service_get(db, name, strlen(name), s, &d);
	if (rc == 0)
		rc = logs_store_purge(db, s->id, day, dry_run, &deleted, &d);
	mem_free(s);
	if (rc < 0)
		return cli_fail(&d);
	if (rc == 1) {
		fprintf(stderr, "cairnctl: no service named '%s'\n", name);
		return CLI_EXIT_FAILURE;
	}
	printf("%s %lld records of '%s' before %s\n", dry_run ? "would delete" : "deleted",
	       (long long)deleted, name, date);
	return CLI_EXIT_OK;
}
