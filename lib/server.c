#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "cursor.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "server.h"
#include "text.h"
#include "timefmt.h"

static int metric_db_reconnects = -1, metric_db_retries = -1;

void
server_declare_metrics(void)
{
	auth_declare_metrics();
	metric_db_reconnects =
		metrics_counter("cairn_db_reconnects_total", "",
				"Database connections re-established after a loss.", 0);
	metric_db_retries = metrics_counter(
		"cairn_db_retries_total", "",
		"Transactions run again after a deadlock, lock wait timeout or lost connection.",
		0);
}

int
server_init(struct server *s, const struct route *routes, size_t nroutes, struct diag *d)
{
	memset(s, 0, sizeof *s);
	s->routes = routes;
	s->nroutes = nroutes;
	if (auth_scopes_parse(config_str("auth.anonymous_scopes"), &s->anonymous_scopes, d) < 0)
		return -1;
	s->max_body = (size_t)config_int("limits.max_body");
	s->debug_routes = config_bool("debug.routes");
	s->db = db_new();
	s->arena = arena_new(64 * 1024);
	return 0;
}

void
server_fini(struct server *s)
{
	db_free(s->db);
	arena_free(s->arena);
	s->db = NULL;
	s->arena = NULL;
}

/* ------------------------------------------------------------- responses */

static int
http_sink(void *h, const char *p, size_t n)
{
	return http_write(h, p, n);
}

int
reply_header(struct ctx *c, const char *name, const char *value)
{
	return http_add_header(c->http, name, value);
}

void
reply_json_begin(struct ctx *c, int status)
{
	http_set_status(c->http, status);
	http_add_header(c->http, "Content-Type", "application/json");
	jsonw_init(&c->w, http_sink, c->http);
}

int
reply_stream(struct ctx *c)
{
	return http_stream_begin(c->http);
}

int
reply_error(struct ctx *c, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (http_discard(c->http) < 0) {
		http_abort(c->http); /* already streaming: the body must look cut */
		return 0;
	}
	reply_json_begin(c, status);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "error");
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "code");
	jsonw_string(&c->w, code);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, msg);
	jsonw_object_end(&c->w);
	jsonw_object_end(&c->w);
	return 0;
}

int
reply_body(struct ctx *c, int status, const char *content_type, const char *body, size_t len)
{
	http_set_status(c->http, status);
	if (content_type != NULL)
		http_add_header(c->http, "Content-Type", content_type);
	return http_write(c->http, body, len);
}

int
reply_text(struct ctx *c, int status, const char *text)
{
	return reply_body(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

int
reply_code_message(struct ctx *c, int status, const char *msg)
{
	if (http_discard(c->http) < 0) {
		http_abort(c->http); /* as reply_error */
		return 0;
	}
	reply_json_begin(c, status);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "code");
	jsonw_int(&c->w, status);
	jsonw_key(&c->w, "message");
	jsonw_string(&c->w, msg);
	jsonw_object_end(&c->w);
	return 0;
}

/* -------------------------------------------------------------- requests */

const char *
ctx_param(struct ctx *c, const char *name, size_t *len)
{
	const struct route_param *p = router_param(&c->match, name);

	if (p == NULL)
		return NULL;
	if (len != NULL)
		*len = p->len;
	return p->value;
}

int
ctx_query(struct ctx *c, const char *name, const char **value, size_t *len)
{
	int rc = query_get(&c->query, name, value, len);

	if (rc < 0) {
		reply_error(c, 400, "duplicate_parameter",
			    "query parameter '%s' given more than once", name);
		return -1;
	}
	return rc;
}

const char *
ctx_header(struct ctx *c, const char *cgi_name)
{
	return http_header(c->http, cgi_name);
}

int
ctx_request_key(struct ctx *c, const char **key, size_t *len)
{
	if (http_header_conflicts(c->http, "HTTP_AUTHORIZATION") ||
	    http_header_conflicts(c->http, "HTTP_X_API_KEY"))
		return -1;
	return auth_extract(ctx_header(c, "HTTP_AUTHORIZATION"), ctx_header(c, "HTTP_X_API_KEY"),
			    key, len);
}

int
ctx_page(struct ctx *c, int def, int max, int *limit, char **after)
{
	const char *v;
	size_t len;
	int64_t n;
	int rc;

	*limit = def;
	*after = NULL;
	rc = ctx_query(c, "limit", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (!text_parse_id(v, len, &n) || n > max) {
			reply_error(c, 400, "bad_limit", "limit must be an integer from 1 to %d",
				    max);
			return -1;
		}
		*limit = (int)n;
	}
	rc = ctx_query(c, "cursor", &v, &len);
	if (rc < 0)
		return -1;
	if (rc == 1 && cursor_decode(c->arena, v, len, after, 1, &c->diag) < 0) {
		reply_error(c, 400, "bad_cursor", "the cursor is not one this server gave");
		return -1;
	}
	return 0;
}

void
reply_next_cursor(struct ctx *c, bool more, const char *last)
{
	if (more) {
		const char *f[1] = {last};

		jsonw_string(&c->w, cursor_encode(c->arena, f, 1));
	} else {
		jsonw_null(&c->w);
	}
}

bool
ctx_is_json(struct ctx *c)
{
	const char *ct = c->http->content_type;
	size_t n;

	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	if (*ct == '\0')
		return true;
	if (*ct != ';')
		return false;
	/* parameters: only charset=utf-8 is acceptable */
	while (*ct == ';') {
		ct++;
		while (*ct == ' ')
			ct++;
		const char *pe = ct + strcspn(ct, ";");
		const char *v;

		if (strncasecmp(ct, "charset=", 8) == 0) {
			v = ct + 8;
			size_t vl = (size_t)(pe - v);

			while (vl > 0 && v[vl - 1] == ' ')
				vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (!((vl == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
			      (vl == 4 && strncasecmp(v, "utf8", 4) == 0)))
				return false;
		}
		ct = pe;
	}
	return true;
}

/* -------------------------------------------------------------- pipeline */

static bool
method_takes_body(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

/* The route answers the pipeline's database errors in the compat log
 * routes' body (ROUTE_LOGS_ERRORS). */
static bool
logs_errors(const struct ctx *c)
{
	return c->match.route != NULL && (c->match.route->flags & ROUTE_LOGS_ERRORS);
}

static void
reply_failure(struct ctx *c)
{
	bool busy = db_error_busy(&c->diag);

	if (db_error_too_large(&c->diag)) {
		/* within cairn's limits, but not the server's: the operator
		 * raises max_allowed_packet or lowers the limit (README) */
		log_warn("request larger than the database takes: %s", c->diag.msg);
		if (logs_errors(c))
			reply_code_message(c, 413, "Request body too large");
		else
			reply_error(c, 413, "too_large",
				    "the request is larger than the database accepts");
		return;
	}
	if (busy || db_error_unavailable(&c->diag)) {
		const char *why = busy ? "busy" : "unavailable";

		if (db_error_read_only(&c->diag))
			why = "read-only";
		if (db_error_out_of_space(&c->diag)) {
			why = "out of space";
			log_error("database out of space; writes fail until space is freed: %s",
				  c->diag.msg);
		} else {
			log_warn("database %s: %s", why, c->diag.msg);
		}
		if (logs_errors(c))
			reply_code_message(c, 503, "Storage unavailable");
		else
			reply_error(c, 503, "unavailable", "the database is %s; retry later", why);
		char ra[24];

		snprintf(ra, sizeof ra, "%lld", config_int("db.retry_after"));
		http_add_header(c->http, "Retry-After", ra);
		return;
	}
	log_error("internal error (%d %s): %s", c->diag.code, c->diag.sqlstate, c->diag.msg);
	reply_error(c, 500, "internal", "internal error");
}

/* Authenticates and checks the route's scope. 0: go on; -1: answered. */
static int
authenticate(struct ctx *c)
{
	const struct route *r = c->match.route;
	const char *key;
	size_t len;

	if (r->flags & ROUTE_SELF_AUTH)
		return 0;
	if (ctx_request_key(c, &key, &len) < 0) {
		reply_error(c, 401, "unauthorized",
			    "malformed credentials, or two different keys in one request");
		return -1;
	}
	if (key == NULL) {
		auth_anonymous(&c->auth, c->server->anonymous_scopes);
	} else {
		int rc = auth_resolve(c->db, key, len, &c->auth, &c->diag);

		if (rc < 0) {
			if (db_error_reconnectable(&c->diag))
				rc = auth_resolve(c->db, key, len, &c->auth, &c->diag);
			if (rc < 0) {
				reply_failure(c);
				return -1;
			}
		}
		if (rc == 1) {
			reply_error(c, 401, "unauthorized", "unknown or revoked key");
			return -1;
		}
	}
	if (!auth_allows(&c->auth, r->scope)) {
		char need[160];

		auth_scopes_format(r->scope, need, sizeof need);
		if (c->auth.kind == AUTH_ANONYMOUS)
			reply_error(c, 401, "unauthorized", "this route needs a key with scope %s",
				    need);
		else
			reply_error(c, 403, "forbidden", "the key lacks the scope %s", need);
		return -1;
	}
	return 0;
}

static void
run(struct ctx *c)
{
	struct server *s = c->server;
	struct http *h = c->http;
	enum router_result rr;

	rr = router_match(s->routes, s->nroutes, h->method, h->path, s->debug_routes, c->arena,
			  &c->match);
	switch (rr) {
	case ROUTER_FOUND: break;
	case ROUTER_BAD_PATH:
		reply_error(
			c, 400, "bad_path",
			"the path has a malformed escape, a control character or invalid UTF-8");
		return;
	case ROUTER_BAD_METHOD:
		reply_error(c, 405, "method_not_allowed", "%s is not allowed here", h->method);
		http_add_header(h, "Allow", c->match.allow);
		return;
	case ROUTER_NOT_FOUND:
	default: reply_error(c, 404, "not_found", "no such route"); return;
	}
	if (query_parse(c->arena, h->query, strlen(h->query), &c->query, &c->diag) < 0) {
		reply_error(c, 400, "bad_query", "%s", c->diag.msg);
		return;
	}
	if (method_takes_body(h->method) &&
	    http_read_body(h, c->arena, s->max_body, &c->diag) < 0) {
		if (c->diag.code == DIAG_TOO_LARGE && (c->match.route->flags & ROUTE_OWN_413)) {
			c->body_too_large = true;
		} else if (c->diag.code == DIAG_TOO_LARGE) {
			reply_error(c, 413, "too_large", "%s", c->diag.msg);
			return;
		} else {
			reply_error(c, 400, "bad_body", "%s", c->diag.msg);
			return;
		}
	}
	if (authenticate(c) < 0)
		return;
	if ((c->match.route->flags & ROUTE_JSON) && !c->body_too_large) {
		if (!ctx_is_json(c)) {
			reply_error(c, 415, "unsupported_media_type",
				    "the body must be application/json (charset utf-8)");
			return;
		}
		if (json_parse(c->arena, h->body ? h->body : "", h->body_len, &c->json, &c->diag) <
		    0) {
			reply_error(c, 400, "invalid_json", "%s", c->diag.msg);
			return;
		}
	}
	for (int attempt = 0;; attempt++) {
		diag_clear(&c->diag);
		if (c->match.route->handler(c) == 0)
			return;
		if (attempt == 0 && db_error_reconnectable(&c->diag) && !h->streaming) {
			log_info("database connection lost; running the request again");
			http_discard(h);
			continue;
		}
		if (h->streaming) {
			/* the 200 is out: the client must see the body cut */
			log_error("failed while streaming (%d): %s", c->diag.code, c->diag.msg);
			http_abort(h);
			return;
		}
		reply_failure(c);
		return;
	}
}

void
server_handle(struct server *s, struct http *h)
{
	uint64_t t0 = timefmt_monotonic_us();
	struct ctx c;

	memset(&c, 0, sizeof c);
	c.server = s;
	c.arena = s->arena;
	c.http = h;
	c.db = s->db;
	c.match.index = SIZE_MAX;
	jsonw_init(&c.w, http_sink, h);
	log_set_request_id(h->request_id);
	metrics_inflight(1);
	run(&c);
	if (http_finish(h) < 0)
		log_info("client went away before the response was written");
	if (h->status >= 500)
		log_warn("%s %s -> %d", h->method, h->path, h->status);
	metrics_request(c.match.route ? c.match.index : SIZE_MAX, h->status,
			timefmt_monotonic_us() - t0);
	metrics_inflight(-1);
	unsigned long rec = db_reconnects(s->db), ret = db_retries(s->db);

	metrics_add(metric_db_reconnects, (int64_t)(rec - s->db_reconnects_seen));
	metrics_add(metric_db_retries, (int64_t)(ret - s->db_retries_seen));
	s->db_reconnects_seen = rec;
	s->db_retries_seen = ret;
	arena_reset(s->arena);
	log_set_request_id(NULL);
}

int
server_serve(struct server *s, int listen_fd, volatile sig_atomic_t *stop)
{
	struct http_fcgi *f = http_fcgi_new(listen_fd);
	struct http h;
	int failures = 0;

	if (f == NULL) {
		log_error("cannot set up a FastCGI request on fd %d", listen_fd);
		return -1;
	}
	memset(&h, 0, sizeof h);
	while (!*stop) {
		if (http_fcgi_accept(f, &h) < 0) {
			if (*stop)
				break;
			if (++failures > 100) {
				log_error("accept keeps failing: %s", strerror(errno));
				break;
			}
			usleep(10000);
			continue;
		}
		failures = 0;
		pool_child_busy(1);
		server_handle(s, &h);
		http_fcgi_finish(f);
		pool_child_busy(0);
	}
	http_fcgi_free(f);
	http_free(&h);
	return 0;
}
