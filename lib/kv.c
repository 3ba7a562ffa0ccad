#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "cursor.h"
#include "kv.h"
#include "kv_pattern.h"
#include "kv_store.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "text.h"
#include "timefmt.h"

#define KV_DEFAULT_CONTENT_TYPE "application/octet-stream"
#define KV_COMPAT_CONTENT_TYPE "text/plain; charset=utf-8"
/* Raw values are data, never an active document: no scripts, no plugins,
 * no frames, an opaque origin (sandbox). */
#define KV_RAW_CSP "default-src 'none'; frame-ancestors 'none'; sandbox"

/* ------------------------------------------------------------------ metrics */

enum kv_op {
	OP_GET_HIT,
	OP_GET_MISS,
	OP_GET_INVALID,
	OP_HEAD_HIT,
	OP_HEAD_MISS,
	OP_PUT_CREATED,
	OP_PUT_REPLACED,
	OP_PUT_PRECONDITION,
	OP_PUT_INVALID,
	OP_DELETE_DELETED,
	OP_DELETE_MISS,
	OP_DELETE_PRECONDITION,
	OP_DELETE_INVALID,
	OP_LIST_OK,
	OP_LIST_INVALID,
	OP_CLEAR_OK,
	KV_NOPS
};

static const char *const op_labels[KV_NOPS] = {
	"op=\"get\",result=\"hit\"",        "op=\"get\",result=\"miss\"",
	"op=\"get\",result=\"invalid\"",    "op=\"head\",result=\"hit\"",
	"op=\"head\",result=\"miss\"",      "op=\"put\",result=\"created\"",
	"op=\"put\",result=\"replaced\"",   "op=\"put\",result=\"precondition_failed\"",
	"op=\"put\",result=\"invalid\"",    "op=\"delete\",result=\"deleted\"",
	"op=\"delete\",result=\"miss\"",    "op=\"delete\",result=\"precondition_failed\"",
	"op=\"delete\",result=\"invalid\"", "op=\"list\",result=\"ok\"",
	"op=\"list\",result=\"invalid\"",   "op=\"clear\",result=\"ok\"",
};

static int op_ids[KV_NOPS];

void
kv_init(void)
{
	for (int i = 0; i < KV_NOPS; i++)
		op_ids[i] = metrics_counter("cairn_kv_ops_total", op_labels[i],
					    "Key-value operations by kind and outcome.", 0);
	status_collector(kv_metrics_collect);
}

static void
count(enum kv_op op)
{
	metrics_add(op_ids[op], 1);
}

int
kv_metrics_collect(struct db *db, struct buf *out, struct diag *d)
{
	int64_t keys, expired;

	if (kv_store_stats(db, &keys, &expired, d) < 0)
		return -1;
	if (buf_printf(
		    out,
		    "# HELP cairn_kv_keys Live keys at the last count by the background worker.\n"
		    "# TYPE cairn_kv_keys gauge\n"
		    "cairn_kv_keys %lld\n"
		    "# HELP cairn_kv_expired_total Expired keys removed by the background sweep.\n"
		    "# TYPE cairn_kv_expired_total counter\n"
		    "cairn_kv_expired_total %lld\n",
		    (long long)keys, (long long)expired) < 0) {
		diag_set(d, DIAG_TOO_LARGE, "metrics buffer full");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ helpers */

static int
bad_ttl(struct ctx *c)
{
	return reply_error(c, 400, "bad_ttl", "Bad TTL Parameter");
}

/* Reads expire_in.  0 with *ttl (0 when absent); -1 when answered. */
static int
ttl_arg(struct ctx *c, int64_t *ttl)
{
	const char *v;
	size_t len;
	int rc = ctx_query(c, "expire_in", &v, &len);

	*ttl = 0;
	if (rc < 0)
		return -1;
	if (rc == 1 && !kv_ttl_parse(v, len, ttl)) {
		bad_ttl(c);
		return -1;
	}
	return 0;
}

/* The <key> of /keys/<key>, validated; NULL when answered with 400. */
static const char *
path_key(struct ctx *c, size_t *len)
{
	const char *k = ctx_param(c, "key", len);
	enum kv_key_error e = k ? kv_key_check(k, *len) : KV_KEY_EMPTY;

	if (e != KV_KEY_OK) {
		reply_error(c, 400, "bad_key", "%s", kv_key_error_text(e));
		return NULL;
	}
	return k;
}

static size_t
max_value(void)
{
	return (size_t)config_int("kv.max_value");
}

static void
etag_header(struct ctx *c, uint64_t version)
{
	char etag[KV_ETAG_LEN + 1];

	kv_etag_format(version, etag);
	reply_header(c, "ETag", etag);
}

static void
expiry_header(struct ctx *c, int64_t expires_us)
{
	char rfc[TIMEFMT_RFC_LEN + 1];

	if (expires_us < 0)
		return;
	timefmt_rfc3339(expires_us, rfc);
	reply_header(c, "X-Expires-At", rfc);
}

/* ---------------------------------------------------------------- GET/HEAD */

struct get_state {
	struct ctx *c;
	int raw;
};

/* Answers while the row is current (its bytes borrow the statement). */
static void
get_answer(const struct kv_item *it, void *arg)
{
	struct get_state *gs = arg;
	struct ctx *c = gs->c;

	if (kv_if_none_match_hit(ctx_header(c, "HTTP_IF_NONE_MATCH"), it->version)) {
		etag_header(c, it->version);
		expiry_header(c, it->expires_us);
		reply_body(c, 304, NULL, "", 0);
		return;
	}
	if (!gs->raw && !text_valid_utf8(it->value, it->value_len)) {
		/* A JSON string cannot carry these bytes without changing them.
		 * HEAD only asks whether the key exists: 200 without a length. */
		if (c->http->head) {
			etag_header(c, it->version);
			expiry_header(c, it->expires_us);
			reply_body(c, 200, "application/json", "", 0);
			return;
		}
		reply_error(
			c, 409, "binary_value",
			"the value is not valid UTF-8 and has no JSON form; fetch it with ?raw=1");
		return;
	}
	etag_header(c, it->version);
	expiry_header(c, it->expires_us);
	if (gs->raw) {
		/* the stored content type is the writer's choice: a text/html
		 * value must not run as a page of this origin */
		reply_header(c, "X-Content-Type-Options", "nosniff");
		reply_header(c, "Content-Security-Policy", KV_RAW_CSP);
		reply_body(c, 200, it->content_type, it->value, it->value_len);
		return;
	}
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key_n(&c->w, it->key, it->key_len);
	jsonw_string_n(&c->w, it->value, it->value_len);
	jsonw_object_end(&c->w);
}

int
kv_http_get(struct ctx *c)
{
	bool head = c->http->head;
	struct get_state gs = {c, 0};
	const char *key, *v;
	size_t len, vlen;
	int rc;

	key = path_key(c, &len);
	if (key == NULL) {
		count(OP_GET_INVALID);
		return 0;
	}
	rc = ctx_query(c, "raw", &v, &vlen);
	if (rc < 0) {
		count(OP_GET_INVALID);
		return 0;
	}
	if (rc == 1 && (gs.raw = kv_flag_parse(v, vlen)) < 0) {
		count(OP_GET_INVALID);
		return reply_error(c, 400, "bad_parameter", "raw must be 1, 0, true or false");
	}
	rc = kv_store_get(c->db, key, len, get_answer, &gs, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		count(head ? OP_HEAD_MISS : OP_GET_MISS);
		return reply_error(c, 404, "not_found", "no such key");
	}
	count(head ? OP_HEAD_HIT : c->http->status == 409 ? OP_GET_INVALID : OP_GET_HIT);
	return 0;
}

/* --------------------------------------------------------------------- PUT */

static void
put_reply(struct ctx *c, const char *key, size_t key_len, const struct kv_put_result *r)
{
	char etag[KV_ETAG_LEN + 1], rfc[TIMEFMT_RFC_LEN + 1];
	bool created = r->outcome == KV_CREATED;

	kv_etag_format(r->version, etag);
	reply_header(c, "ETag", etag);
	expiry_header(c, r->expires_us);
	if (created)
		reply_header(c, "Location",
			     arena_printf(c->arena, "/keys/%s",
					  kv_query_escape(c->arena, key, key_len)));
	reply_json_begin(c, created ? 201 : 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "key");
	jsonw_string_n(&c->w, key, key_len);
	jsonw_key(&c->w, "etag");
	jsonw_string(&c->w, etag);
	jsonw_key(&c->w, "expires_at");
	if (r->expires_us >= 0) {
		timefmt_rfc3339(r->expires_us, rfc);
		jsonw_string(&c->w, rfc);
	} else {
		jsonw_null(&c->w);
	}
	jsonw_object_end(&c->w);
}

/* Reads If-Match / If-None-Match into p->mode.  0: go on; 1: the
 * precondition can never hold (answered 412); -1: answered 400. */
static int
put_conditions(struct ctx *c, struct kv_put *p)
{
	const char *im = ctx_header(c, "HTTP_IF_MATCH");
	const char *inm = ctx_header(c, "HTTP_IF_NONE_MATCH");

	p->mode = KV_PUT_ALWAYS;
	if (im != NULL && inm != NULL) {
		reply_error(c, 400, "bad_precondition",
			    "send either If-Match or If-None-Match, not both");
		return -1;
	}
	if (inm != NULL) {
		if (kv_if_none_match_parse(inm) != KV_COND_ANY) {
			reply_error(c, 400, "bad_precondition",
				    "If-None-Match on PUT supports only *");
			return -1;
		}
		p->mode = KV_PUT_IF_ABSENT;
		return 0;
	}
	switch (kv_if_match_parse(im, &p->if_version)) {
	case KV_COND_NONE: return 0;
	case KV_COND_ANY: p->mode = KV_PUT_IF_EXISTS; return 0;
	case KV_COND_VERSION: p->mode = KV_PUT_IF_VERSION; return 0;
	case KV_COND_NEVER:
		reply_error(c, 412, "precondition_failed",
			    "If-Match names no current version of the key");
		return 1;
	case KV_COND_BAD:
	default:
		reply_error(c, 400, "bad_precondition",
			    "If-Match must be * or one entity tag as sent in ETag");
		return -1;
	}
}

/* Writes p under its If-Match / If-None-Match conditions (put_conditions)
 * and counts the outcome.  0: written (r set); 1: answered (400, 412);
 * -1: a database error. */
static int
conditional_put(struct ctx *c, struct kv_put *p, struct kv_put_result *r)
{
	int rc = put_conditions(c, p);

	if (rc != 0) {
		count(rc > 0 ? OP_PUT_PRECONDITION : OP_PUT_INVALID);
		return 1;
	}
	if (kv_store_put(c->db, p, r, &c->diag) < 0)
		return -1;
	if (r->outcome == KV_PRECONDITION_FAILED) {
		count(OP_PUT_PRECONDITION);
		reply_error(c, 412, "precondition_failed", "%s",
			    p->mode == KV_PUT_IF_ABSENT
				    ? "the key exists (If-None-Match: *)"
				    : "the key is absent or at another version (If-Match)");
		return 1;
	}
	count(r->outcome == KV_CREATED ? OP_PUT_CREATED : OP_PUT_REPLACED);
	return 0;
}

int
kv_http_put(struct ctx *c)
{
	struct kv_put p;
	struct kv_put_result r;
	const char *ct = c->http->content_type;
	int rc;

	memset(&p, 0, sizeof p);
	p.key = path_key(c, &p.key_len);
	if (p.key == NULL || ttl_arg(c, &p.ttl) < 0) {
		count(OP_PUT_INVALID);
		return 0;
	}
	p.value = c->http->body ? c->http->body : "";
	p.value_len = c->http->body_len;
	if (p.value_len > max_value()) {
		count(OP_PUT_INVALID);
		return reply_error(c, 413, "too_large", "the value is larger than %zu bytes",
				   max_value());
	}
	p.content_type = ct ? ct : KV_DEFAULT_CONTENT_TYPE;
	if (!kv_content_type_valid(p.content_type, strlen(p.content_type))) {
		count(OP_PUT_INVALID);
		return reply_error(c, 400, "bad_content_type",
				   "Content-Type must be 1 to %d printable ASCII characters",
				   KV_CONTENT_TYPE_MAX);
	}
	rc = conditional_put(c, &p, &r);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	put_reply(c, p.key, p.key_len, &r);
	return 0;
}

int
kv_http_put_compat(struct ctx *c)
{
	const struct query_param *pair = NULL;
	size_t npairs = 0;
	struct kv_put p;
	struct kv_put_result r;
	enum kv_key_error e;
	int rc;

	memset(&p, 0, sizeof p);
	if (ttl_arg(c, &p.ttl) < 0) {
		count(OP_PUT_INVALID);
		return 0;
	}
	for (size_t i = 0; i < c->query.n; i++) {
		const struct query_param *q = &c->query.items[i];

		if (q->name_len == 9 && memcmp(q->name, "expire_in", 9) == 0)
			continue;
		pair = q;
		npairs++;
	}
	if (npairs != 1) {
		count(OP_PUT_INVALID);
		return reply_error(
			c, 400, "bad_request",
			"give exactly one <key>=<value> pair besides expire_in (got %zu)", npairs);
	}
	e = kv_key_check(pair->name, pair->name_len);
	if (e != KV_KEY_OK) {
		count(OP_PUT_INVALID);
		return reply_error(c, 400, "bad_key", "%s", kv_key_error_text(e));
	}
	if (!text_valid_utf8(pair->value, pair->value_len)) {
		count(OP_PUT_INVALID);
		return reply_error(
			c, 400, "bad_value",
			"a value in the query string must be valid UTF-8 (send bytes with PUT /keys/<key>)");
	}
	if (pair->value_len > max_value()) {
		count(OP_PUT_INVALID);
		return reply_error(c, 413, "too_large", "the value is larger than %zu bytes",
				   max_value());
	}
	p.key = pair->name;
	p.key_len = pair->name_len;
	p.value = pair->value;
	p.value_len = pair->value_len;
	p.content_type = KV_COMPAT_CONTENT_TYPE;
	/* the same conditions as PUT /keys/<key>: a client that sends one
	 * must not have it ignored */
	rc = conditional_put(c, &p, &r);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key_n(&c->w, p.key, p.key_len);
	jsonw_string_n(&c->w, p.value, p.value_len);
	jsonw_object_end(&c->w);
	return 0;
}

/* ------------------------------------------------------------------ DELETE */

int
kv_http_delete(struct ctx *c)
{
	const char *key;
	size_t len;
	uint64_t version = 0;
	enum kv_cond cond;
	int rc;

	key = path_key(c, &len);
	if (key == NULL) {
		count(OP_DELETE_INVALID);
		return 0;
	}
	cond = kv_if_match_parse(ctx_header(c, "HTTP_IF_MATCH"), &version);
	if (cond == KV_COND_BAD) {
		count(OP_DELETE_INVALID);
		return reply_error(c, 400, "bad_precondition",
				   "If-Match must be * or one entity tag as sent in ETag");
	}
	if (cond == KV_COND_NEVER) {
		count(OP_DELETE_PRECONDITION);
		return reply_error(c, 412, "precondition_failed",
				   "If-Match names no current version of the key");
	}
	rc = kv_store_delete(c->db, key, len, cond == KV_COND_VERSION ? version : 0, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		/* with If-Match, an absent key fails the precondition (RFC 9110) */
		if (cond != KV_COND_NONE) {
			count(OP_DELETE_PRECONDITION);
			return reply_error(c, 412, "precondition_failed",
					   "the key is absent or at another version (If-Match)");
		}
		count(OP_DELETE_MISS);
		return reply_error(c, 404, "not_found", "no such key");
	}
	count(OP_DELETE_DELETED);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "deleted");
	jsonw_string_n(&c->w, key, len);
	jsonw_object_end(&c->w);
	return 0;
}

int
kv_http_clear(struct ctx *c)
{
	int64_t deleted;

	/* everything or nothing: a parameter here (filter=...) is a mistake
	 * that must not delete every key */
	if (c->query.n > 0)
		return reply_error(c, 400, "bad_parameter",
				   "DELETE /keys deletes every key and takes no parameters");
	if (kv_store_clear(c->db, (int)config_int("kv.clear_batch"), &deleted, &c->diag) < 0)
		return -1;
	count(OP_CLEAR_OK);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "deleted");
	jsonw_int(&c->w, deleted);
	jsonw_object_end(&c->w);
	return 0;
}

/* -------------------------------------------------------------------- lists */

struct list_args {
	const char *filter; /* as given, NULL when absent or empty */
	size_t filter_len;
	struct kv_filter f;
	bool given_limit;
	int limit;
	const char *from; /* first key of this page ("" at the start) */
	size_t from_len;
};

/* Reads filter, limit and cursor.  0: go on; -1: answered with 400. */
static int
list_args(struct ctx *c, struct list_args *a)
{
	const char *v;
	size_t len;
	int rc;

	memset(a, 0, sizeof *a);
	a->limit = KV_LIST_DEFAULT;
	a->from = "";
	rc = ctx_query(c, "filter", &v, &len);
	if (rc < 0)
		return -1;
	/* an empty filter is no filter (docs/kv.md) */
	if (rc == 1 && len > 0) {
		if (kv_filter_compile(c->arena, v, len, &a->f, &c->diag) < 0) {
			reply_error(c, 400, "bad_filter", "%s", c->diag.msg);
			return -1;
		}
		a->filter = v;
		a->filter_len = len;
	}
	rc = ctx_query(c, "limit", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (!kv_limit_parse(v, len, KV_LIST_MAX, &a->limit)) {
			reply_error(c, 400, "bad_limit", "limit must be 1 to %d", KV_LIST_MAX);
			return -1;
		}
		a->given_limit = true;
	}
	rc = ctx_query(c, "cursor", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		char *f[1];

		if (cursor_decode(c->arena, v, len, f, 1, &c->diag) < 0 ||
		    kv_key_check(f[0], strlen(f[0])) != KV_KEY_OK) {
			reply_error(c, 400, "bad_cursor", "bad cursor");
			return -1;
		}
		a->from = f[0];
		a->from_len = strlen(f[0]);
	}
	return 0;
}

static const char *
next_link(struct ctx *c, const struct list_args *a, const char *next)
{
	const char *fields[1] = {next};
	char *cur = cursor_encode(c->arena, fields, 1);
	char limit[32] = "";

	if (a->given_limit)
		snprintf(limit, sizeof limit, "limit=%d&", a->limit);
	return arena_printf(c->arena, "</keys?%s%s%s%scursor=%s>; rel=\"next\"",
			    a->filter ? "filter=" : "",
			    a->filter ? kv_query_escape(c->arena, a->filter, a->filter_len) : "",
			    a->filter ? "&" : "", limit, cur);
}

static int
list_row(const struct kv_item *it, void *arg)
{
	struct ctx *c = arg;

	jsonw_object_begin(&c->w);
	jsonw_key_n(&c->w, it->key, it->key_len);
	/* values that are not UTF-8 have no JSON string form (docs/kv.md) */
	if (text_valid_utf8(it->value, it->value_len))
		jsonw_string_n(&c->w, it->value, it->value_len);
	else
		jsonw_null(&c->w);
	jsonw_object_end(&c->w);
	return jsonw_error(&c->w) ? -1 : 0;
}

int
kv_http_list(struct ctx *c)
{
	struct list_args a;
	const struct kv_filter *f;
	char next[KV_KEY_MAX + 1];
	size_t next_len;

	if (list_args(c, &a) < 0) {
		count(OP_LIST_INVALID);
		return 0;
	}
	f = a.filter ? &a.f : NULL;
	/* the Link header goes out before the rows, so find the next page's
	 * first key first; nothing is streamed yet if this fails */
	if (kv_store_list_next(c->db, a.from, a.from_len, f, a.limit, next, &next_len, &c->diag) <
	    0)
		return -1;
	reply_json_begin(c, 200);
	if (next_len > 0)
		reply_header(c, "Link", next_link(c, &a, next));
	reply_stream(c);
	jsonw_array_begin(&c->w);
	if (kv_store_list(c->db, a.from, a.from_len, next_len > 0 ? next : NULL, next_len, f,
			  list_row, c, &c->diag) < 0)
		return -1;
	jsonw_array_end(&c->w);
	count(OP_LIST_OK);
	return 0;
}

/* GET's headers without its body (RFC 9110 §9.3.2): the Link to the next
 * page too, so a client can walk the pages with HEAD. */
int
kv_http_head_list(struct ctx *c)
{
	struct list_args a;
	char next[KV_KEY_MAX + 1];
	size_t next_len;

	if (list_args(c, &a) < 0) {
		count(OP_LIST_INVALID);
		return 0;
	}
	if (kv_store_list_next(c->db, a.from, a.from_len, a.filter ? &a.f : NULL, a.limit, next,
			       &next_len, &c->diag) < 0)
		return -1;
	count(OP_LIST_OK);
	reply_body(c, 200, "application/json", "", 0);
	if (next_len > 0)
		reply_header(c, "Link", next_link(c, &a, next));
	return 0;
}

/* --------------------------------------------------------------------- jobs */

int
kv_sweep_step(struct db *db, bool first, int *more, struct diag *d)
{
	int batch = (int)config_int("kv.sweep_batch");
	int64_t removed;

	*more = 0;
	if (kv_store_sweep(db, batch, &removed, d) < 0)
		return -1;
	if (removed > 0)
		log_info("kv: swept %lld expired keys", (long long)removed);
	*more = removed >= batch;
	return 0;
}

/* The kv-count job walks the keys in chunks of KV_COUNT_CHUNK, one a
 * step, and sets the gauge when a walk ends: no statement grows with the
 * table.  Keys written during a walk may or may not be counted.  A walk
 * is one run of the job, so the first step of a run starts it over. */
#define KV_COUNT_CHUNK 50000

static struct {
	char after[KV_KEY_MAX];
	size_t after_len;
	int64_t live;
} count_walk;

int
kv_count_step(struct db *db, bool first, int *more, struct diag *d)
{
	int64_t scanned, live;

	*more = 0;
	if (first) {
		count_walk.after_len = 0;
		count_walk.live = 0;
	}
	if (kv_store_count_chunk(db, count_walk.after, &count_walk.after_len, KV_COUNT_CHUNK,
				 &scanned, &live, d) < 0)
		return -1;
	count_walk.live += live;
	if (scanned == KV_COUNT_CHUNK) {
		*more = 1;
		return 0;
	}
	return kv_store_set_keys(db, count_walk.live, d);
}

/* ---------------------------------------------------------------------- CLI */

static const char cli_usage[] =
	"usage: cairnctl kv stats   count the live keys now; print them and the sweep total\n"
	"       cairnctl kv sweep   remove every expired key now\n";

static int
cli_stats(struct db *db)
{
	struct diag d;
	int64_t keys, expired;

	if (kv_store_count(db, &keys, &d) < 0 || kv_store_stats(db, &keys, &expired, &d) < 0) {
		fprintf(stderr, "cairnctl: %s\n", d.msg);
		return CLI_EXIT_FAILURE;
	}
	printf("live keys\t%lld\nexpired (swept)\t%lld\n", (long long)keys, (long long)expired);
	return CLI_EXIT_OK;
}

static int
cli_sweep(struct db *db)
{
	struct diag d;
	int batch = (int)config_int("kv.sweep_batch");
	int64_t removed, total = 0;

	do {
		if (kv_store_sweep(db, batch, &removed, &d) < 0) {
			fprintf(stderr, "cairnctl: %s\n", d.msg);
			return CLI_EXIT_FAILURE;
		}
		total += removed;
	} while (removed >= batch);
	printf("removed %lld expired keys\n", (long long)total);
	return CLI_EXIT_OK;
}

int
kv_cli(struct db *db, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"stats", NULL, cli_stats},
		{"sweep", NULL, cli_sweep},
		{NULL, NULL, NULL},
	};

	return cli_dispatch(db, cli_usage, subs, argc, argv);
}
