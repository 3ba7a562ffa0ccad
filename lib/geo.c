#include "autoconfig.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "cursor.h"
#include "geo.h"
#include "geo_parse.h"
#include "geo_store.h"
#include "idem.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "text.h"
#include "timefmt.h"

#define GEO_LIST_DEFAULT 100
#define GEO_LIST_MAX 1000

/* ---------------------------------------------------------------- JSend */

/* 4xx {"status":"fail","data":{field: message, ...}}. Returns 0. */
static int
jsend_fail(struct ctx *c, int status, const struct geo_fail *f)
{
	http_discard(c->http);
	reply_json_begin(c, status);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "status");
	jsonw_string(&c->w, "fail");
	jsonw_key(&c->w, "data");
	jsonw_object_begin(&c->w);
	for (size_t i = 0; i < f->n; i++) {
		jsonw_key(&c->w, f->field[i]);
		jsonw_string(&c->w, f->msg[i]);
	}
	jsonw_object_end(&c->w);
	jsonw_object_end(&c->w);
	return 0;
}

static int
jsend_fail1(struct ctx *c, int status, const char *field, const char *msg)
{
	struct geo_fail f = {1, {field}, {msg}};

	return jsend_fail(c, status, &f);
}

static void
fail_add(struct geo_fail *f, const char *field, const char *msg)
{
	if (f->n < GEO_FAIL_MAX) {
		f->field[f->n] = field;
		f->msg[f->n] = msg;
		f->n++;
	}
}

/* --------------------------------------------------------------- submit */

struct submit_args {
	struct geo_submit sub;
	bool has_ip;
	struct geo_ip ip;
};

/* The write, one INSERT: autocommitted, or inside the Idempotency-Key's
 * transaction (idem_run_single); it may run twice after a deadlock, with a
 * fresh id each time. */
static int
submit_body(struct ctx *c, void *arg)
{
	struct submit_args *a = arg;
	unsigned char id[GEO_UUID_BYTES];
	char text[GEO_UUID_CHARS + 1], location[64];

	for (int tries = 0;; tries++) {
		if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id) {
			diag_set(&c->diag, DIAG_INTERNAL, "getrandom failed");
			return -1;
		}
		geo_uuid_set_v4(id);
		if (geo_store_insert(c->db, id, &a->sub, a->has_ip ? &a->ip : NULL, &c->diag) == 0)
			break;
		/* a repeated random UUID is all but impossible; try once more */
		if (c->diag.code != DB_ER_DUP_ENTRY || tries > 0)
			return -1;
	}
	geo_uuid_format(id, text);
	snprintf(location, sizeof location, "/event/%s", text);
	reply_json_begin(c, 202);
	reply_header(c, "Location", location);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "data");
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "task_id");
	jsonw_string(&c->w, text);
	jsonw_object_end(&c->w);
	jsonw_key(&c->w, "status");
	jsonw_string(&c->w, "success");
	jsonw_object_end(&c->w);
	return 0;
}

/* idem_run replays status and body but not headers: give a replayed 202
 * its Location again, from the task id in the body. */
static void
restore_location(struct ctx *c)
{
	struct http *h = c->http;
	json_object *root, *data, *id;
	struct diag d;

	if (h->status != 202 || h->streaming ||
	    (h->headers.data != NULL && strstr(h->headers.data, "Location: ") != NULL))
		return;
	if (json_parse(c->arena, h->out.data ? h->out.data : "", h->out.len, &root, &d) < 0)
		return;
	data = json_member(root, "data");
	id = json_member(data, "task_id");
	if (id == NULL || !json_object_is_type(id, json_type_string))
		return;
	reply_header(c, "Location",
		     arena_printf(c->arena, "/event/%s", json_object_get_string(id)));
}

int
geo_http_submit(struct ctx *c)
{
	struct submit_args a;
	struct geo_fail fail;
	json_object *body = NULL;
	struct diag d;
	const char *addr = c->http->remote_addr;
	int rc;

	memset(&a, 0, sizeof a);
	/* §0: a JSON route answers 415 for another content type; §4's JSend
	 * 400 is for JSON that is not an object */
	if (!ctx_is_json(c))
		return reply_error(c, 415, "unsupported_media_type",
				   "the body must be application/json (charset utf-8)");
	if (json_parse(c->arena, c->http->body ? c->http->body : "", c->http->body_len, &body, &d) <
	    0)
		return jsend_fail1(c, 400, "body",
				   arena_printf(c->arena, "must be a JSON object (%s)", d.msg));
	if (geo_submit_validate(body, &a.sub, &fail) < 0)
		return jsend_fail(c, 400, &fail);
	/* REMOTE_ADDR as nginx passes it; realip decides whom to believe */
	a.has_ip = addr != NULL && geo_ip_parse(addr, strlen(addr), &a.ip);
	rc = idem_run_single(c, submit_body, &a);
	if (rc == 0)
		restore_location(c);
	return rc;
}

/* ----------------------------------------------------------------- read */

static void
write_time(struct jsonw *w, const char *sql_time)
{
	int64_t us;
	struct diag ignored;
	char rfc[TIMEFMT_RFC_LEN + 1];

	if (sql_time == NULL || timefmt_parse(sql_time, strlen(sql_time), 0, &us, &ignored) < 0) {
		jsonw_null(w);
		return;
	}
	timefmt_rfc3339(us, rfc);
	jsonw_string(w, rfc);
}

static void
write_opt_string(struct jsonw *w, const char *s)
{
	if (s == NULL)
		jsonw_null(w);
	else
		jsonw_string(w, s);
}

/* A decimal from the database ("48.856600", "-3") as a JSON number
 * without trailing fraction zeros. */
static void
write_decimal(struct jsonw *w, const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0') {
		jsonw_null(w);
		return;
	}
	n = strlen(s);
	if (strchr(s, '.') != NULL) {
		while (n > 0 && s[n - 1] == '0')
			n--;
		if (n > 0 && s[n - 1] == '.')
			n--;
	}
	if (n == 0 || (n == 1 && s[0] == '-'))
		jsonw_raw(w, "0", 1);
	else
		jsonw_raw(w, s, n);
}

static void
write_task(struct jsonw *w, const struct geo_task *t)
{
	char id[GEO_UUID_CHARS + 1], ip[GEO_IP_TEXT_MAX];

	geo_uuid_format(t->task_id, id);
	jsonw_object_begin(w);
	jsonw_key(w, "task_id");
	jsonw_string(w, id);
	jsonw_key(w, "name");
	if (t->name != NULL)
		jsonw_string_n(w, t->name, t->name_len);
	else
		jsonw_null(w);
	jsonw_key(w, "status_code");
	write_decimal(w, t->status_code);
	jsonw_key(w, "ip");
	if (t->has_ip) {
		geo_ip_format(&t->ip, ip);
		jsonw_string(w, ip);
	} else {
		jsonw_null(w);
	}
	jsonw_key(w, "state");
	jsonw_string(w, t->state);
	jsonw_key(w, "attempts");
	jsonw_int(w, t->attempts);
	jsonw_key(w, "geo");
	if (strcmp(t->state, "done") == 0) {
		jsonw_object_begin(w);
		jsonw_key(w, "country_code");
		write_opt_string(w, t->country_code);
		jsonw_key(w, "country_name");
		write_opt_string(w, t->country_name);
		jsonw_key(w, "city");
		write_opt_string(w, t->city);
		jsonw_key(w, "latitude");
		write_decimal(w, t->latitude);
		jsonw_key(w, "longitude");
		write_decimal(w, t->longitude);
		jsonw_key(w, "time_zone");
		write_opt_string(w, t->time_zone);
		jsonw_key(w, "accuracy_radius");
		write_decimal(w, t->accuracy_radius);
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
	jsonw_key(w, "error");
	write_opt_string(w, t->error);
	jsonw_key(w, "submitted_at");
	write_time(w, t->submitted_at);
	jsonw_key(w, "resolved_at");
	write_time(w, t->resolved_at);
	jsonw_object_end(w);
}

static int
get_one(const struct geo_task *t, void *arg)
{
	struct ctx *c = arg;

	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "status");
	jsonw_string(&c->w, "success");
	jsonw_key(&c->w, "data");
	write_task(&c->w, t);
	jsonw_object_end(&c->w);
	return 0;
}

int
geo_http_get(struct ctx *c)
{
	size_t len;
	const char *text = ctx_param(c, "task_id", &len);
	unsigned char id[GEO_UUID_BYTES];
	int rc;

	/* a malformed id names no task: the same 404 as an unknown one */
	if (!geo_uuid_parse(text, len, id))
		return jsend_fail1(c, 404, "task_id", "not found");
	rc = geo_store_get(c->db, id, get_one, c, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return jsend_fail1(c, 404, "task_id", "not found");
	return 0;
}

/* ----------------------------------------------------------------- list */

/* A query parameter taken once: 1 found, 0 absent, -1 repeated (fail
 * recorded). */
static int
param(struct ctx *c, const char *name, const char **v, size_t *len, struct geo_fail *f)
{
	int rc = query_get(&c->query, name, v, len);

	if (rc < 0)
		fail_add(f, name, "given more than once");
	return rc;
}

static bool
parse_int64(const char *s, size_t len, int64_t *out)
{
	bool neg = len > 0 && s[0] == '-';
	uint64_t v = 0;

	if (neg) {
		s++;
		len--;
	}
	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static void
time_param(struct ctx *c, const char *name, bool *has, char out[TIMEFMT_SQL_LEN + 1],
	   struct geo_fail *f)
{
	const char *v;
	size_t len;
	int64_t us;
	struct diag d;

	if (param(c, name, &v, &len, f) != 1)
		return;
	if (timefmt_parse(v, len, TIMEFMT_EPOCH, &us, &d) < 0) {
		fail_add(f, name,
			 "must be a time: YYYY-MM-DD HH:MM:SS (UTC), RFC 3339 or epoch seconds");
		return;
	}
	*has = true;
	timefmt_sql(us, out);
}

struct list_state {
	struct ctx *c;
	int count, limit;
	bool more;
	int64_t last_id;
};

static void
list_open(struct ctx *c)
{
	reply_json_begin(c, 200);
	reply_stream(c);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "status");
	jsonw_string(&c->w, "success");
	jsonw_key(&c->w, "data");
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "events");
	jsonw_array_begin(&c->w);
}

static int
list_one(const struct geo_task *t, void *arg)
{
	struct list_state *ls = arg;

	if (ls->count == ls->limit) {
		ls->more = true;
		return -1;
	}
	if (ls->count == 0)
		list_open(ls->c);
	write_task(&ls->c->w, t);
	ls->count++;
	ls->last_id = t->id;
	return jsonw_error(&ls->c->w) ? -1 : 0;
}

int
geo_http_list(struct ctx *c)
{
	static const char *const states[] = {"queued", "done", "failed", "skipped"};
	struct geo_filter f;
	struct geo_fail fail;
	struct list_state ls = {c, 0, GEO_LIST_DEFAULT, false, 0};
	int64_t after = 0, n;
	const char *v;
	size_t len;

	memset(&f, 0, sizeof f);
	memset(&fail, 0, sizeof fail);
	if (param(c, "state", &v, &len, &fail) == 1) {
		for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
			if (strlen(states[i]) == len && memcmp(states[i], v, len) == 0)
				f.state = states[i];
		if (f.state == NULL)
			fail_add(&fail, "state", "must be queued, done, failed or skipped");
	}
	if (param(c, "country", &v, &len, &fail) == 1) {
		if (!text_valid_name(v, len, GEO_CODE_MAX)) {
			fail_add(&fail, "country", "must be a country code of 1 to 8 characters");
		} else {
			f.country = v;
			f.country_len = len;
		}
	}
	if (param(c, "status_code", &v, &len, &fail) == 1) {
		if (parse_int64(v, len, &f.status_code))
			f.has_status = true;
		else
			fail_add(&fail, "status_code", "must be an integer");
	}
	time_param(c, "from", &f.has_from, f.from, &fail);
	time_param(c, "to", &f.has_to, f.to, &fail);
	if (param(c, "limit", &v, &len, &fail) == 1) {
		if (!text_parse_id(v, len, &n) || n > GEO_LIST_MAX)
			fail_add(&fail, "limit", "must be an integer from 1 to 1000");
		else
			ls.limit = (int)n;
	}
	if (param(c, "cursor", &v, &len, &fail) == 1) {
		char *fields[1];
		struct diag d;

		if (cursor_decode(c->arena, v, len, fields, 1, &d) < 0 ||
		    !text_parse_id(fields[0], strlen(fields[0]), &after))
			fail_add(&fail, "cursor", "bad cursor");
	}
	if (fail.n > 0)
		return jsend_fail(c, 400, &fail);
	/* one row more than the page says whether there is a next page */
	if (geo_store_list(c->db, &f, after, ls.limit + 1, list_one, &ls, &c->diag) < 0)
		return -1;
	if (ls.count == 0)
		list_open(c);
	jsonw_array_end(&c->w);
	jsonw_key(&c->w, "next_cursor");
	if (ls.more) {
		char id[24];
		const char *fields[1] = {id};

		snprintf(id, sizeof id, "%lld", (long long)ls.last_id);
		jsonw_string(&c->w, cursor_encode(c->arena, fields, 1));
	} else {
		jsonw_null(&c->w);
	}
	jsonw_object_end(&c->w);
	jsonw_object_end(&c->w);
	return 0;
}

/* -------------------------------------------------------------- metrics */

void
geo_init(void)
{
	geo_store_init();
	status_collector(geo_store_metrics);
}

/* ------------------------------------------------------------------ CLI */

static const char cli_usage[] =
	"usage: cairnctl geo requeue\n"
	"  requeue   put every failed geo task back in the queue (attempts 0)\n";

static int
cli_requeue(struct db *db)
{
	struct diag d;
	uint64_t tasks = 0, forgotten = 0, t, f;

	do {
		if (geo_store_requeue_step(db, &t, &f, &d) < 0) {
			fprintf(stderr, "cairnctl: geo requeue: %s\n", d.msg);
			return CLI_EXIT_FAILURE;
		}
		tasks += t;
		forgotten += f;
	} while (t > 0 || f > 0);
	printf("requeued %llu failed tasks; forgot %llu cached failures\n",
	       (unsigned long long)tasks, (unsigned long long)forgotten);
	return CLI_EXIT_OK;
}

int
geo_cli(struct db *db, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"requeue", NULL, cli_requeue},
		{NULL, NULL, NULL},
	};

	return cli_dispatch(db, cli_usage, subs, argc, argv);
}
