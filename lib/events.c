#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "events.h"
#include "events_epoch.h"
#include "events_store.h"
#include "idem.h"
#include "json.h"
#include "metrics.h"
#include "text.h"
#include "timefmt.h"

/* A buffered list response switches to streaming past this size, so small
 * pages keep a Content-Length and large ones use constant memory. */
#define EVENTS_STREAM_AFTER (64u * 1024u)

static const char msg_add[] = "This endpoint should create an event in db";
static const char msg_list[] = "This endpoint list all events in db";
static const char msg_remove[] = "This endpoint should remove events in db";
static const char msg_purge[] = "This endpoint should remove events in db (purge all events)";

static int metric_created = -1, metric_deleted = -1;

void
events_init(void)
{
	metric_created = metrics_counter("cairn_events_created_total", "",
					 "Events created with /add_event.", 0);
	metric_deleted = metrics_counter("cairn_events_deleted_total", "",
					 "Events deleted (by id, by start or by purge).", 0);
	events_store_init();
}

static void
count(int metric, int64_t n)
{
	if (metric >= 0 && n > 0)
		metrics_add(metric, n);
}

/* ---------------------------------------------------------------- output */

static void
write_epoch(struct jsonw *w, int64_t usec)
{
	char text[EVENTS_EPOCH_LEN + 1];
	size_t n = events_epoch_format(usec, text);

	jsonw_raw(w, text, n);
}

static void
write_id(struct jsonw *w, int64_t id)
{
	char text[TEXT_INT_LEN + 2];
	size_t n = text_format_i64(id, text);

	jsonw_string_n(w, text, n);
}

static void
write_tags(struct jsonw *w, const char *tags, size_t len)
{
	const char *p = tags, *end = tags + len;

	jsonw_array_begin(w);
	while (len > 0 && p <= end) {
		const char *sep = memchr(p, EVENTS_TAG_SEP, (size_t)(end - p));
		const char *stop = sep ? sep : end;

		jsonw_string_n(w, p, (size_t)(stop - p));
		p = stop + 1;
	}
	jsonw_array_end(w);
}

/* The compat shape {"_id","start_epoch","stop_epoch","tags"} (stop -1 while
 * open); with_created adds "created_at" (the routes that are new). */
static void
write_event(struct jsonw *w, const struct events_event *e, bool with_created)
{
	jsonw_object_begin(w);
	jsonw_key(w, "_id");
	write_id(w, e->id);
	if (with_created) {
		int64_t us;
		struct diag ignored;
		char rfc[TIMEFMT_RFC_LEN + 1];

		jsonw_key(w, "created_at");
		if (timefmt_parse(e->created_at, strlen(e->created_at), 0, &us, &ignored) == 0) {
			timefmt_rfc3339(us, rfc);
			jsonw_string(w, rfc);
		} else {
			jsonw_null(w);
		}
	}
	jsonw_key(w, "start_epoch");
	write_epoch(w, e->start_us);
	jsonw_key(w, "stop_epoch");
	if (e->open)
		jsonw_int(w, -1);
	else
		write_epoch(w, e->stop_us);
	jsonw_key(w, "tags");
	write_tags(w, e->tags, e->tags_len);
	jsonw_object_end(w);
}

/* Streams once the buffered body is large; memory stays bounded. */
static int
maybe_stream(struct ctx *c)
{
	if (!c->http->streaming && c->http->out.len > EVENTS_STREAM_AFTER)
		return reply_stream(c);
	return jsonw_error(&c->w) ? -1 : 0;
}

/* Answers 400 or 404 for the :id parameter; 0 with *id set when valid. */
static int
path_id(struct ctx *c, int64_t *id)
{
	size_t len;
	const char *text = ctx_param(c, "id", &len);

	if (text == NULL || !text_parse_id(text, len, id)) {
		reply_error(c, 400, "bad_id", "the event id must be a positive integer");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ /add_event */

struct add_args {
	int64_t now_us;
	bool created;
};

static int
add_body(struct ctx *c, void *arg)
{
	struct add_args *a = arg;
	struct events_new ev;
	struct events_err err;
	int64_t id;

	a->created = false;
	if (events_validate_new(c->json, a->now_us, &ev, &err) < 0)
		return reply_error(c, 400, err.code, "%s", err.msg);
	if (events_store_add(c->db, c->arena, &ev, &id, &c->diag) < 0)
		return -1;
	reply_json_begin(c, 201);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "_id");
	write_id(&c->w, id);
	jsonw_key(&c->w, "body");
	jsonw_value(&c->w, c->json);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, msg_add);
	jsonw_key(&c->w, "method");
	jsonw_string(&c->w, "POST");
	jsonw_object_end(&c->w);
	a->created = true;
	return 0;
}

int
events_http_add(struct ctx *c)
{
	struct add_args a = {timefmt_now_us(), false};

	if (idem_run_single(c, add_body, &a) < 0)
		return -1;
	if (a.created && c->http->status == 201)
		count(metric_created, 1);
	return 0;
}

/* ---------------------------------------------------------- /list_events */

/* Collects every value of a repeatable tag parameter. 0, or -1 answered. */
static int
tag_params(struct ctx *c, const char *name, struct events_tag *out, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < c->query.n; i++) {
		const struct query_param *p = &c->query.items[i];

		if (strcmp(p->name, name) != 0 || p->name_len != strlen(name))
			continue;
		if (*n == EVENTS_FILTER_TAGS) {
			reply_error(c, 400, "too_many_tags", "at most %d %s= parameters",
				    EVENTS_FILTER_TAGS, name);
			return -1;
		}
		if (!text_valid_name(p->value, p->value_len, EVENTS_TAG_MAX_CHARS)) {
			reply_error(c, 400, "invalid_tag",
				    "%s must be 1 to %d characters without control characters",
				    name, EVENTS_TAG_MAX_CHARS);
			return -1;
		}
		out[*n].s = p->value;
		out[*n].len = p->value_len;
		(*n)++;
	}
	return 0;
}

/* from= / to=: epoch seconds (as events_epoch_parse) or a time of API.md
 * §0. 0 absent, 1 set, -1 answered. */
static int
time_param(struct ctx *c, const char *name, int64_t *usec)
{
	const char *v;
	size_t len;
	int rc = ctx_query(c, name, &v, &len);

	if (rc <= 0)
		return rc;
	if (events_epoch_parse(v, len, usec) == 0 || timefmt_parse(v, len, 0, usec, &c->diag) == 0)
		return 1;
	reply_error(c, 400, "bad_time",
		    "%s must be epoch seconds, YYYY-MM-DD HH:MM:SS (UTC) or RFC 3339", name);
	return -1;
}

static int
list_filter(struct ctx *c, struct events_filter *f, int *limit)
{
	const char *v;
	size_t len;
	char *field;
	int rc;

	memset(f, 0, sizeof *f);
	f->open = -1;
	if (tag_params(c, "tag", f->all, &f->nall) < 0 ||
	    tag_params(c, "any_tag", f->any, &f->nany) < 0)
		return -1;
	rc = time_param(c, "from", &f->from_us);
	if (rc < 0)
		return -1;
	f->has_from = rc == 1;
	rc = time_param(c, "to", &f->to_us);
	if (rc < 0)
		return -1;
	f->has_to = rc == 1;
	rc = ctx_query(c, "open", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (len == 4 && memcmp(v, "true", 4) == 0) {
			f->open = 1;
		} else if (len == 5 && memcmp(v, "false", 5) == 0) {
			f->open = 0;
		} else {
			reply_error(c, 400, "bad_open", "open must be true or false");
			return -1;
		}
	}
	if (ctx_page(c, EVENTS_LIST_DEFAULT, EVENTS_LIST_MAX, limit, &field) < 0)
		return -1;
	if (field != NULL && !text_parse_id(field, strlen(field), &f->after_id)) {
		reply_error(c, 400, "bad_cursor", "the cursor is not one this server gave");
		return -1;
	}
	/* one row more than the page tells whether a next page exists */
	f->limit = *limit + 1;
	return 0;
}

struct list_state {
	struct ctx *c;
	int count, limit;
	bool more;
	int64_t last_id;
};

static int
list_one(const struct events_event *e, void *arg)
{
	struct list_state *ls = arg;

	if (ls->count == ls->limit) {
		ls->more = true;
		return -1;
	}
	write_event(&ls->c->w, e, false);
	ls->count++;
	ls->last_id = e->id;
	return maybe_stream(ls->c);
}

int
events_http_list(struct ctx *c)
{
	struct events_filter f;
	struct list_state ls = {c, 0, 0, false, 0};
	char last[24];

	if (list_filter(c, &f, &ls.limit) < 0)
		return 0;
	/* begun before the query: a failure before streaming discards it */
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "array_events");
	jsonw_array_begin(&c->w);
	if (events_store_list(c->db, &f, list_one, &ls, &c->diag) < 0)
		return -1;
	jsonw_array_end(&c->w);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, msg_list);
	jsonw_key(&c->w, "method");
	jsonw_string(&c->w, "GET");
	jsonw_key(&c->w, "next_cursor");
	snprintf(last, sizeof last, "%lld", (long long)ls.last_id);
	reply_next_cursor(c, ls.more, last);
	jsonw_object_end(&c->w);
	return 0;
}

/* -------------------------------------------------------- /remove_events */

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct remove_args {
	const int64_t *starts; /* sorted, distinct */
	size_t n;
	bool *hit;
	uint64_t deleted;
};

static int
remove_txn(struct db *db, void *arg, struct diag *d)
{
	struct remove_args *a = arg;

	return events_store_remove_starts(db, a->starts, a->n, a->hit, &a->deleted, d);
}

/* /remove_events takes either of two scopes at the route; the body says
 * which one it needs.  0, or -1 answered (401 without a key, else 403). */
static int
need_scope(struct ctx *c, uint32_t scope, const char *name)
{
	if (auth_allows(&c->auth, scope))
		return 0;
	if (c->auth.kind == AUTH_ANONYMOUS)
		reply_error(c, 401, "unauthorized", "this request needs a key with scope %s", name);
	else
		reply_error(c, 403, "forbidden", "the key lacks the scope %s", name);
	return -1;
}

static void
write_values(struct jsonw *w, const struct events_remove *r, const int64_t *uniq, size_t nuniq,
	     const bool *hit, bool want)
{
	jsonw_array_begin(w);
	for (size_t i = 0; i < r->n; i++) {
		const int64_t *u = bsearch(&r->starts[i], uniq, nuniq, sizeof *uniq, cmp_i64);

		if (u != NULL && hit[u - uniq] == want)
			jsonw_value(w, json_object_array_get_idx(r->values, i));
	}
	jsonw_array_end(w);
}

static int
remove_purge(struct ctx *c)
{
	int batch = (int)config_int("events.purge_batch");
	uint64_t n, total = 0;

	if (need_scope(c, AUTH_EVENTS_ADMIN, "events:admin") < 0)
		return 0;
	/* bounded chunks, each its own short transaction; running it again
	 * after a lost connection only finishes the job */
	do {
		if (events_store_purge_step(c->db, batch, &n, &c->diag) < 0) {
			count(metric_deleted, (int64_t)total);
			return -1;
		}
		total += n;
	} while (n == (uint64_t)batch);
	count(metric_deleted, (int64_t)total);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "body");
	jsonw_value(&c->w, c->json);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, msg_purge);
	jsonw_key(&c->w, "method");
	jsonw_string(&c->w, "POST");
	jsonw_key(&c->w, "result");
	jsonw_string(&c->w, "all events are removed");
	jsonw_object_end(&c->w);
	return 0;
}

int
events_http_remove(struct ctx *c)
{
	struct events_remove r;
	struct events_err err;
	struct remove_args a;
	int64_t *uniq;
	size_t nuniq = 0;

	if (events_validate_remove(c->json, c->arena, &r, &err) < 0)
		return reply_error(c, 400, err.code, "%s", err.msg);
	if (r.purge)
		return remove_purge(c);
	if (need_scope(c, AUTH_EVENTS_WRITE, "events:write") < 0)
		return 0;
	/* each distinct start is deleted once; a value sent twice is reported
	 * as deleted both times when events had that start */
	uniq = arena_alloc(c->arena, (r.n + 1) * sizeof *uniq);
	memcpy(uniq, r.starts, r.n * sizeof *uniq);
	qsort(uniq, r.n, sizeof *uniq, cmp_i64);
	for (size_t i = 0; i < r.n; i++)
		if (nuniq == 0 || uniq[nuniq - 1] != uniq[i])
			uniq[nuniq++] = uniq[i];
	a.starts = uniq;
	a.n = nuniq;
	a.hit = arena_calloc(c->arena, nuniq + 1, sizeof *a.hit);
	if (db_txn(c->db, remove_txn, &a, &c->diag) < 0)
		return -1;
	count(metric_deleted, (int64_t)a.deleted);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "body");
	jsonw_value(&c->w, c->json);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, msg_remove);
	jsonw_key(&c->w, "method");
	jsonw_string(&c->w, "POST");
	jsonw_key(&c->w, "start_epoch_array_deleted");
	write_values(&c->w, &r, uniq, nuniq, a.hit, true);
	jsonw_key(&c->w, "start_epoch_array_not_deleted");
	write_values(&c->w, &r, uniq, nuniq, a.hit, false);
	jsonw_object_end(&c->w);
	return 0;
}

/* ----------------------------------------------------------- /events/... */

struct tags_state {
	struct ctx *c;
	int count, limit;
	bool more;
	const char *last;
	size_t last_len;
};

static int
tags_one(const char *tag, size_t len, int64_t n, void *arg)
{
	struct tags_state *ts = arg;

	if (ts->count == ts->limit) {
		ts->more = true;
		return -1;
	}
	jsonw_object_begin(&ts->c->w);
	jsonw_key(&ts->c->w, "tag");
	jsonw_string_n(&ts->c->w, tag, len);
	jsonw_key(&ts->c->w, "count");
	jsonw_int(&ts->c->w, n);
	jsonw_object_end(&ts->c->w);
	ts->count++;
	/* the row's bytes live until the next fetch: keep a copy */
	ts->last = arena_strndup(ts->c->arena, tag, len);
	ts->last_len = len;
	return maybe_stream(ts->c);
}

int
events_http_tags(struct ctx *c)
{
	struct tags_state ts = {c, 0, 0, false, "", 0};
	char *after;
	int limit;

	if (ctx_page(c, EVENTS_LIST_DEFAULT, EVENTS_LIST_MAX, &limit, &after) < 0)
		return 0;
	if (after != NULL && !text_valid_name(after, strlen(after), EVENTS_TAG_MAX_CHARS))
		return reply_error(c, 400, "bad_cursor", "the cursor is not one this server gave");
	ts.limit = limit;
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "tags");
	jsonw_array_begin(&c->w);
	if (events_store_tags(c->db, after ? after : "", after ? strlen(after) : 0, limit + 1,
			      tags_one, &ts, &c->diag) < 0)
		return -1;
	jsonw_array_end(&c->w);
	jsonw_key(&c->w, "next_cursor");
	reply_next_cursor(c, ts.more, ts.last);
	jsonw_object_end(&c->w);
	return 0;
}

/* Answers 200 with the event, or 404. */
static int
reply_event(struct ctx *c, int64_t id)
{
	struct events_event e;
	int rc = events_store_get(c->db, c->arena, id, &e, &c->diag);

	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 404, "not_found", "no event with id %lld", (long long)id);
	reply_json_begin(c, 200);
	write_event(&c->w, &e, true);
	return 0;
}

int
events_http_get(struct ctx *c)
{
	int64_t id;

	if (path_id(c, &id) < 0)
		return 0;
	return reply_event(c, id);
}

int
events_http_stop(struct ctx *c)
{
	struct events_err err;
	json_object *body = NULL;
	enum events_stop_result res;
	bool has_stop;
	int64_t id, stop_us = 0;

	if (path_id(c, &id) < 0)
		return 0;
	/* the body is optional, so the route is not ROUTE_JSON: a body that
	 * is there must be JSON all the same */
	if (c->http->body_len > 0) {
		if (!ctx_is_json(c))
			return reply_error(c, 415, "unsupported_media_type",
					   "the body must be application/json (charset utf-8)");
		if (json_parse(c->arena, c->http->body, c->http->body_len, &body, &c->diag) < 0)
			return reply_error(c, 400, "invalid_json", "%s", c->diag.msg);
		if (body == NULL) /* JSON null, which json-c reads as no object */
			return reply_error(c, 400, "invalid_body",
					   "the body must be a JSON object.");
	}
	if (events_validate_stop(body, &has_stop, &stop_us, &err) < 0)
		return reply_error(c, 400, err.code, "%s", err.msg);
	if (!has_stop) {
		stop_us = timefmt_now_us();
		if (stop_us < 0 || stop_us > EVENTS_EPOCH_MAX)
			return reply_error(c, 400, "invalid_epoch",
					   "the server clock is out of range");
	}
	if (events_store_stop(c->db, id, stop_us, has_stop, &res, &c->diag) < 0)
		return -1;
	switch (res) {
	case EVENTS_STOP_MISSING:
		return reply_error(c, 404, "not_found", "no event with id %lld", (long long)id);
	case EVENTS_STOP_EARLY:
		return reply_error(c, 400, "stop_before_start",
				   "stop_epoch must not be before start_epoch.");
	case EVENTS_STOP_CONFLICT:
		return reply_error(c, 409, "already_stopped",
				   "the event was already stopped at another time");
	case EVENTS_STOPPED:
	default: return reply_event(c, id);
	}
}

int
events_http_delete(struct ctx *c)
{
	int64_t id;
	int rc;

	if (path_id(c, &id) < 0)
		return 0;
	rc = events_store_delete(c->db, id, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 404, "not_found", "no event with id %lld", (long long)id);
	count(metric_deleted, 1);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "deleted");
	write_id(&c->w, id);
	jsonw_object_end(&c->w);
	return 0;
}
