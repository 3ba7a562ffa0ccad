/* Unit tests for server_handle(): whole requests through the in-memory
 * transport and the real route table, with no database running (the
 * database config points at a socket that does not exist, so every
 * request that needs it fails at once). */
#include "autoconfig.h"

#include <check.h>
#include <json-c/json.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "diag.h"
#include "http.h"
#include "routes.h"
#include "server.h"

/* Entries in a static table, as a loop test's end. */
#define TEST_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

static struct server srv;
static bool srv_up;
static struct http http;
static struct http_memory mem;

/* The last response, split. */
static struct {
	int status;
	char reason[64];
	const char *head;     /* from the first header line to the blank line */
	size_t head_len;
	const char *body;
	size_t body_len;
} resp;

static void
setup(void)
{
	struct diag d;

	config_reset();
	ck_assert_int_eq(config_set("db.socket", "/nonexistent/sock", &d), 0);
	ck_assert_int_eq(config_set("db.connect_timeout", "1", &d), 0);
	memset(&http, 0, sizeof http);
	memset(&mem, 0, sizeof mem);
	srv_up = false;
}

static void
teardown(void)
{
	if (srv_up)
		server_fini(&srv);
	srv_up = false;
	http_free(&http);
	buf_free(&mem.output);
	config_reset();
}

/* Sets a config key before the server starts. */
static void
set(const char *key, const char *value)
{
	struct diag d;

	ck_assert_msg(!srv_up, "set %s after the server started", key);
	ck_assert_msg(config_set(key, value, &d) == 0, "%s", d.msg);
}

/* The value of a response header, or NULL. */
static const char *
header(const char *name)
{
	static char value[512];
	size_t nlen = strlen(name);
	const char *p = resp.head, *end = resp.head + resp.head_len;

	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		ck_assert_ptr_nonnull(eol);
		if ((size_t)(eol - p) > nlen + 1 && strncasecmp(p, name, nlen) == 0 &&
		    p[nlen] == ':' && p[nlen + 1] == ' ') {
			size_t vlen = (size_t)(eol - p) - nlen - 2;

			ck_assert_uint_lt(vlen, sizeof value);
			memcpy(value, p + nlen + 2, vlen);
			value[vlen] = '\0';
			return value;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Runs one request: params are "NAME", "value" pairs ending in NULL. */
static void
request_body(const char *const *params, const char *body, size_t body_len)
{
	struct diag d;
	const char *out, *sep;
	char *end;

	if (!srv_up) {
		ck_assert_msg(server_init(&srv, routes_table, routes_count, &d) == 0, "%s", d.msg);
		srv_up = true;
	}
	buf_free(&mem.output);
	memset(&mem, 0, sizeof mem);
	mem.params = params;
	mem.body = body;
	mem.body_len = body_len;
	http_begin(&http, &http_memory_transport, &mem);
	server_handle(&srv, &http);

	ck_assert_ptr_nonnull(mem.output.data);
	out = mem.output.data;
	ck_assert_msg(strncmp(out, "Status: ", 8) == 0, "output: %.80s", out);
	resp.status = (int)strtol(out + 8, &end, 10);
	ck_assert_int_eq(*end, ' ');
	sep = strstr(out, "\r\n");
	ck_assert_ptr_nonnull(sep);
	ck_assert_uint_lt((size_t)(sep - end - 1), sizeof resp.reason);
	memcpy(resp.reason, end + 1, (size_t)(sep - end - 1));
	resp.reason[sep - end - 1] = '\0';
	resp.head = sep + 2;
	sep = strstr(out, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	resp.head_len = (size_t)(sep + 2 - resp.head);
	resp.body = sep + 4;
	resp.body_len = mem.output.len - (size_t)(resp.body - out);

	/* buffered responses always say how long they are */
	const char *cl = header("Content-Length");

	ck_assert_ptr_nonnull(cl);
	if (!http.head)
		ck_assert_uint_eq(strtoull(cl, NULL, 10), resp.body_len);
	else
		ck_assert_uint_eq(resp.body_len, 0);
}

static void
request(const char *const *params)
{
	request_body(params, NULL, 0);
}

/* Checks the JSON error envelope {"error":{"code","message"}}. */
static void
check_envelope(int status, const char *code)
{
	json_object *root, *err, *v;

	ck_assert_int_eq(resp.status, status);
	ck_assert_str_eq(header("Content-Type"), "application/json");
	root = json_tokener_parse(resp.body);
	ck_assert_msg(root != NULL, "body is not JSON: %.*s", (int)resp.body_len, resp.body);
	ck_assert_int_eq(json_object_object_length(root), 1);
	ck_assert(json_object_object_get_ex(root, "error", &err));
	ck_assert(json_object_is_type(err, json_type_object));
	ck_assert_int_eq(json_object_object_length(err), 2);
	ck_assert(json_object_object_get_ex(err, "code", &v));
	ck_assert(json_object_is_type(v, json_type_string));
	ck_assert_str_eq(json_object_get_string(v), code);
	ck_assert(json_object_object_get_ex(err, "message", &v));
	ck_assert(json_object_is_type(v, json_type_string));
	ck_assert_int_gt(json_object_get_string_len(v), 0);
	json_object_put(root);
}

#define JSON_CT "CONTENT_TYPE", "application/json"

/* ---------------------------------------------------------------- service */

/* ROUTE_ALIAS names the route just before it in the table: the same
 * method and handler, and never the first entry or an alias of an alias. */
START_TEST(test_route_aliases_follow_their_route)
{
	size_t aliases = 0;

	ck_assert(!(routes_table[0].flags & ROUTE_ALIAS));
	for (size_t i = 1; i < routes_count; i++) {
		const struct route *r = &routes_table[i], *of = r - 1;

		if (!(r->flags & ROUTE_ALIAS))
			continue;
		aliases++;
		ck_assert_msg(!(of->flags & ROUTE_ALIAS), "%s: alias of an alias", r->pattern);
		ck_assert_str_eq(r->method, of->method);
		ck_assert_msg(r->handler == of->handler, "%s: not %s's handler", r->pattern,
			      of->pattern);
	}
	ck_assert_uint_eq(aliases, 1); /* POST /insert */
}
END_TEST

START_TEST(test_healthz)
{
	static const char *const p[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/healthz", NULL};
	static const char want[] = "Status: 200 OK\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: 15\r\n"
				   "\r\n"
				   "{\"status\":\"ok\"}";

	request(p);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.reason, "OK");
	ck_assert_uint_eq(mem.output.len, sizeof want - 1);
	ck_assert_str_eq(mem.output.data, want);
}
END_TEST

START_TEST(test_healthz_variants)
{
	static const char *const slash[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/healthz/",
					    NULL};
	static const char *const query[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/healthz",
					    "QUERY_STRING", "a=1&a=2", NULL};
	static const char *const no_method[] = {"PATH_INFO", "/healthz", NULL};
	static const char *const with_body[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/healthz",
						"CONTENT_LENGTH", "5", NULL};

	request(slash);
	ck_assert_int_eq(resp.status, 200);
	/* a route that takes no parameters ignores them, repeated or not */
	request(query);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_eq(resp.body_len, 15);
	request(no_method);
	ck_assert_int_eq(resp.status, 200);
	/* a body on a GET is ignored */
	request_body(with_body, "hello", 5);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_eq(resp.body_len, 15);
}
END_TEST

START_TEST(test_head_healthz)
{
	static const char *const p[] = {"REQUEST_METHOD", "HEAD", "PATH_INFO", "/healthz", NULL};
	static const char want[] = "Status: 200 OK\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: 15\r\n"
				   "\r\n";

	request(p);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(mem.output.data, want);
	ck_assert_uint_eq(resp.body_len, 0);
}
END_TEST

/* ----------------------------------------------------------------- errors */

START_TEST(test_not_found)
{
	static const char *const p[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/nope", NULL};
	static const char *const root[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/", NULL};
	static const char *const no_path[] = {"REQUEST_METHOD", "GET", NULL};
	static const char *const deep[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
					   "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", NULL};

	request(p);
	check_envelope(404, "not_found");
	ck_assert_str_eq(resp.reason, "Not Found");
	ck_assert_ptr_null(header("Allow"));
	request(root);
	check_envelope(404, "not_found");
	request(no_path);
	check_envelope(404, "not_found");
	request(deep);
	check_envelope(404, "not_found");
}
END_TEST

START_TEST(test_head_not_found)
{
	static const char *const p[] = {"REQUEST_METHOD", "HEAD", "PATH_INFO", "/nope", NULL};

	request(p);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_uint_eq(resp.body_len, 0);
	ck_assert_uint_gt(strtoull(header("Content-Length"), NULL, 10), 0);
}
END_TEST

START_TEST(test_method_not_allowed)
{
	static const char *const del[] = {"REQUEST_METHOD", "DELETE", "PATH_INFO", "/healthz",
					  NULL};
	static const char *const post[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/healthz",
					   JSON_CT, "CONTENT_LENGTH", "2", NULL};
	static const char *const put[] = {"REQUEST_METHOD", "PUT", "PATH_INFO", "/admin/api-keys",
					  NULL};
	static const char *const get_one[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
					      "/admin/api-keys/5", NULL};

	request(del);
	check_envelope(405, "method_not_allowed");
	ck_assert_str_eq(resp.reason, "Method Not Allowed");
	ck_assert_str_eq(header("Allow"), "GET, HEAD");
	request_body(post, "{}", 2);
	check_envelope(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow"), "GET, HEAD");
	request(put);
	check_envelope(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow"), "POST, GET, HEAD");
	request(get_one);
	check_envelope(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow"), "DELETE");
}
END_TEST

START_TEST(test_bad_path)
{
	static const char *const paths[] = {
		"/healthz%zz", "/healthz%", "/admin/api-keys/%00", "/%C3", "/a%0Ab", "/x/%ED%A0%80",
	};

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		const char *p[] = {"REQUEST_METHOD", "GET", "PATH_INFO", paths[i], NULL};

		request(p);
		check_envelope(400, "bad_path");
	}
}
END_TEST

/* ------------------------------------------------------------ credentials */

START_TEST(test_unauthorized)
{
	static const char body[] = "{\"name\":\"k\",\"scopes\":[\"admin\"]}";
	static const char *const post[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/admin/api-keys",
					   JSON_CT, "CONTENT_LENGTH", "31", NULL};
	static const char *const get[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/admin/api-keys",
					  NULL};
	static const char *const basic[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/admin/api-keys",
					    "HTTP_AUTHORIZATION", "Basic dXNlcjpwYXNz", NULL};
	static const char *const empty_bearer[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
						   "/admin/api-keys", "HTTP_AUTHORIZATION",
						   "Bearer   ", NULL};
	static const char *const two_keys[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
					       "/admin/api-keys", "HTTP_AUTHORIZATION", "Bearer a",
					       "HTTP_X_API_KEY", "b", NULL};
	/* a header repeated on two lines reaches cairn as two params */
	static const char *const two_lines[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
						"/admin/api-keys", "HTTP_X_API_KEY", "a",
						"HTTP_X_API_KEY", "b", NULL};
	static const char *const two_bearers[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
						  "/admin/api-keys", "HTTP_AUTHORIZATION", "Bearer a",
						  "HTTP_AUTHORIZATION", "Bearer b", NULL};
	static const char *const del[] = {"REQUEST_METHOD", "DELETE", "PATH_INFO",
					  "/admin/api-keys/5", NULL};

	ck_assert_uint_eq(sizeof body - 1, 31);
	request_body(post, body, sizeof body - 1);
	check_envelope(401, "unauthorized");
	ck_assert_str_eq(resp.reason, "Unauthorized");
	request(get);
	check_envelope(401, "unauthorized");
	request(basic);
	check_envelope(401, "unauthorized");
	request(empty_bearer);
	check_envelope(401, "unauthorized");
	request(two_keys);
	check_envelope(401, "unauthorized");
	request(two_lines);
	check_envelope(401, "unauthorized");
	request(two_bearers);
	check_envelope(401, "unauthorized");
	request(del);
	check_envelope(401, "unauthorized");
}
END_TEST

START_TEST(test_overlong_key)
{
	/* a key longer than any real one is unknown without asking the
	 * database */
	char auth[400];
	const char *p[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/admin/api-keys",
			   "HTTP_AUTHORIZATION", auth, NULL};

	memcpy(auth, "Bearer ", 7);
	memset(auth + 7, 'k', 300);
	auth[307] = '\0';
	request(p);
	check_envelope(401, "unauthorized");
}
END_TEST

/* ------------------------------------------------------------------ bodies */

START_TEST(test_body_too_large_claimed)
{
	static const char *const p[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/admin/api-keys",
					JSON_CT, "CONTENT_LENGTH", "1025", NULL};
	static const char *const huge[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
					   "/admin/api-keys", JSON_CT, "CONTENT_LENGTH",
					   "99999999999999", NULL};

	set("limits.max_body", "1024");
	/* the claim alone is enough: nothing needs to be sent */
	request_body(p, "{}", 2);
	check_envelope(413, "too_large");
	ck_assert_str_eq(resp.reason, "Payload Too Large");
	ck_assert_uint_eq(mem.body_pos, 0);
	request(huge);
	check_envelope(413, "too_large");
}
END_TEST

START_TEST(test_body_too_large_sent)
{
	static const char *const claimed[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
					      "/admin/api-keys", JSON_CT, "CONTENT_LENGTH", "2048",
					      NULL};
	static const char *const unclaimed[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
						"/admin/api-keys", JSON_CT, NULL};
	static const char *const bad_claim[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
						"/admin/api-keys", JSON_CT, "CONTENT_LENGTH", "-1",
						NULL};
	char *big = malloc(100000);

	memset(big, ' ', 100000);
	set("limits.max_body", "1024");
	request_body(claimed, big, 2048);
	check_envelope(413, "too_large");
	/* without a Content-Length the app counts for itself */
	request_body(unclaimed, big, 100000);
	check_envelope(413, "too_large");
	ck_assert_uint_le(mem.body_pos, 1025 + 8192);
	request_body(unclaimed, big, 1025);
	check_envelope(413, "too_large");
	request_body(bad_claim, big, 5000);
	check_envelope(413, "too_large");
	free(big);
}
END_TEST

START_TEST(test_body_at_limit)
{
	static const char *const p[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/admin/api-keys",
					JSON_CT, "CONTENT_LENGTH", "1024", NULL};
	static const char *const unclaimed[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
						"/admin/api-keys", JSON_CT, NULL};
	char body[1024];

	memset(body, ' ', sizeof body);
	set("limits.max_body", "1024");
	/* exactly max_body is allowed: the request gets as far as auth */
	request_body(p, body, sizeof body);
	check_envelope(401, "unauthorized");
	request_body(unclaimed, body, sizeof body);
	check_envelope(401, "unauthorized");
}
END_TEST

START_TEST(test_body_longer_than_claimed)
{
	/* the extra bytes are never read: the JSON is the claimed prefix */
	static const char json[] = "{\"name\":\"\",\"scopes\":[\"admin\"]}";
	char cl[24];
	const char *p[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/admin/api-keys", JSON_CT,
			   "CONTENT_LENGTH", cl, NULL};
	size_t n = 200000;
	char *body = malloc(n);

	memset(body, 'X', n);
	memcpy(body, json, sizeof json - 1);
	snprintf(cl, sizeof cl, "%zu", sizeof json - 1);
	set("auth.anonymous_scopes", "admin");
	request_body(p, body, n);
	/* the empty name is refused before the database is needed */
	check_envelope(400, "invalid_field");
	ck_assert_uint_eq(mem.body_pos, sizeof json - 1);

	/* a claim of 0 reads nothing */
	snprintf(cl, sizeof cl, "0");
	request_body(p, body, n);
	check_envelope(400, "invalid_json");
	ck_assert_uint_eq(mem.body_pos, 0);
	free(body);
}
END_TEST

START_TEST(test_body_shorter_than_claimed)
{
	static const char *const p[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/admin/api-keys",
					JSON_CT, "CONTENT_LENGTH", "100", NULL};

	request_body(p, "{}", 2);
	check_envelope(400, "bad_body");
}
END_TEST

/* ------------------------------------------------------ JSON and queries */

struct json_case {
	const char *content_type;   /* NULL: absent */
	const char *body;
	int status;
	const char *code;
};

static const struct json_case json_cases[] = {
	{NULL, "{}", 415, "unsupported_media_type"},
	{"text/plain", "{}", 415, "unsupported_media_type"},
	{"application/json; charset=latin1", "{}", 415, "unsupported_media_type"},
	{"application/jsonx", "{}", 415, "unsupported_media_type"},
	{"application/json", "{\"a\":1,\"a\":2}", 400, "invalid_json"},
	{"application/json; charset=utf-8", "{\"n\\u0061me\":\"a\",\"name\":\"b\"}", 400,
	 "invalid_json"},
	{"application/json", "\xEF\xBB\xBF{}", 400, "invalid_json"},
	{"application/json", "{\"name\":\"\\ud800\"}", 400, "invalid_json"},
	{"application/json", "{\"name\":\"\xFF\"}", 400, "invalid_json"},
	{"application/json", "", 400, "invalid_json"},
	{"application/json", "{} x", 400, "invalid_json"},
	{"application/json", "[]", 400, "invalid_body"},
	{"application/json", "{\"scopes\":[\"admin\"]}", 400, "invalid_field"},
	{"application/json", "{\"name\":5,\"scopes\":[\"admin\"]}", 400, "invalid_field"},
	{"application/json", "{\"name\":\"k\"}", 400, "invalid_field"},
	{"application/json", "{\"name\":\"k\",\"scopes\":\"admin\"}", 400, "invalid_field"},
	{"application/json", "{\"name\":\"k\",\"scopes\":[\"nope\"]}", 400, "invalid_scope"},
	{"application/json", "{\"name\":\"k\",\"scopes\":[1]}", 400, "invalid_scope"},
	{"application/json", "{\"name\":\"a\\u0001b\",\"scopes\":[\"admin\"]}", 400,
	 "invalid_field"},
	{"APPLICATION/JSON; Charset=\"UTF-8\"", "{\"name\":\"k\",\"scopes\":[]}\n", 400,
	 "invalid_field"},
};

START_TEST(test_json_body_checks)
{
	const struct json_case *c = &json_cases[_i];
	char cl[24];
	const char *p[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/admin/api-keys",
			   "CONTENT_LENGTH", cl, c->content_type ? "CONTENT_TYPE" : NULL,
			   c->content_type, NULL};

	snprintf(cl, sizeof cl, "%zu", strlen(c->body));
	set("auth.anonymous_scopes", "admin");
	request_body(p, c->body, strlen(c->body));
	check_envelope(c->status, c->code);
}
END_TEST

struct query_case {
	const char *query;
	int status;
	const char *code;
};

static const struct query_case query_cases[] = {
	{"limit=1&limit=2", 400, "duplicate_parameter"},
	{"limit=5&limit=5", 400, "duplicate_parameter"},
	{"cursor=MQ&cursor=MQ", 400, "duplicate_parameter"},
	{"limit=0", 400, "bad_limit"},
	{"limit=1001", 400, "bad_limit"},
	{"limit=-1", 400, "bad_limit"},
	{"limit=01", 400, "bad_limit"},
	{"limit=", 400, "bad_limit"},
	{"limit=9223372036854775808", 400, "bad_limit"},
	{"cursor=!!", 400, "bad_cursor"},
	{"cursor=", 400, "bad_cursor"},
	{"cursor=MA", 400, "bad_cursor"},        /* "0" is not an id */
	{"cursor=YR9i", 400, "bad_cursor"},      /* two fields */
	{"limit=%zz", 400, "bad_query"},
	{"limit=5&%", 400, "bad_query"},
};

START_TEST(test_query_checks)
{
	const struct query_case *c = &query_cases[_i];
	const char *p[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/admin/api-keys",
			   "QUERY_STRING", c->query, NULL};

	set("auth.anonymous_scopes", "admin");
	request(p);
	check_envelope(c->status, c->code);
}
END_TEST

START_TEST(test_revoke_bad_id)
{
	static const char *const ids[] = {"0", "01", "-1", "abc", "1.5", "9223372036854775808",
					  "%31%32x"};

	set("auth.anonymous_scopes", "admin");
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char path[64];
		const char *p[] = {"REQUEST_METHOD", "DELETE", "PATH_INFO", path, NULL};

		snprintf(path, sizeof path, "/admin/api-keys/%s", ids[i]);
		request(p);
		check_envelope(400, "bad_id");
	}
}
END_TEST

START_TEST(test_no_delete_all)
{
	static const char *const p[] = {"REQUEST_METHOD", "DELETE", "PATH_INFO", "/admin/api-keys/",
					NULL};

	set("auth.anonymous_scopes", "admin");
	request(p);
	check_envelope(404, "not_found");
}
END_TEST

/* --------------------------------------------------------------- database */

static void
check_unavailable(const char *retry_after)
{
	check_envelope(503, "unavailable");
	ck_assert_str_eq(resp.reason, "Service Unavailable");
	ck_assert_ptr_nonnull(header("Retry-After"));
	ck_assert_str_eq(header("Retry-After"), retry_after);
}

START_TEST(test_db_unavailable_auth)
{
	static const char *const bearer[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
					     "/admin/api-keys", "HTTP_AUTHORIZATION", "Bearer x",
					     NULL};
	static const char *const xkey[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/admin/api-keys",
					   "HTTP_X_API_KEY", "x", NULL};
	static const char *const both[] = {"REQUEST_METHOD", "DELETE", "PATH_INFO",
					   "/admin/api-keys/3", "HTTP_AUTHORIZATION", "bearer x",
					   "HTTP_X_API_KEY", " x ", NULL};

	request(bearer);
	check_unavailable("5");
	request(xkey);
	check_unavailable("5");
	request(both);
	check_unavailable("5");
	/* and again on the same server: nothing is left half-open */
	request(bearer);
	check_unavailable("5");
}
END_TEST

START_TEST(test_db_unavailable_handler)
{
	static const char body[] = "{\"name\":\"k\",\"scopes\":[\"kv:read\"]}";
	static const char *const create[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
					     "/admin/api-keys", JSON_CT, "CONTENT_LENGTH", "33",
					     NULL};
	static const char *const list[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/admin/api-keys",
					   "QUERY_STRING", "limit=5", NULL};
	static const char *const revoke[] = {"REQUEST_METHOD", "DELETE", "PATH_INFO",
					     "/admin/api-keys/7", NULL};

	ck_assert_uint_eq(sizeof body - 1, 33);
	set("auth.anonymous_scopes", "admin");
	set("db.retry_after", "7");
	request_body(create, body, sizeof body - 1);
	check_unavailable("7");
	request(list);
	check_unavailable("7");
	request(revoke);
	check_unavailable("7");
}
END_TEST

START_TEST(test_db_unavailable_head)
{
	static const char *const p[] = {"REQUEST_METHOD", "HEAD", "PATH_INFO", "/admin/api-keys",
					"HTTP_AUTHORIZATION", "Bearer x", NULL};

	request(p);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_str_eq(header("Retry-After"), "5");
	ck_assert_uint_eq(resp.body_len, 0);
}
END_TEST

START_TEST(test_readyz_unavailable)
{
	static const char *const p[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/readyz", NULL};
	json_object *root, *v;

	request(p);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_ptr_nonnull(header("Retry-After"));
	root = json_tokener_parse(resp.body);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "unavailable");
	ck_assert(json_object_object_get_ex(root, "reason", &v));
	ck_assert_str_eq(json_object_get_string(v), "database unreachable");
	json_object_put(root);
}
END_TEST

/* ------------------------------------------------------------------ debug */

START_TEST(test_debug_routes_off)
{
	static const char *const post[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
					   "/_debug/idempotent", JSON_CT, "CONTENT_LENGTH", "2",
					   NULL};
	static const char *const get[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
					  "/_debug/idempotent", NULL};

	set("debug.routes", "false");
	request_body(post, "{}", 2);
	check_envelope(404, "not_found");
	request(get);
	check_envelope(404, "not_found");
}
END_TEST

START_TEST(test_debug_routes_on)
{
	static const char *const get[] = {"REQUEST_METHOD", "GET", "PATH_INFO",
					  "/_debug/idempotent", NULL};
	static const char *const bad_json[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
					       "/_debug/idempotent", JSON_CT, "CONTENT_LENGTH", "1",
					       NULL};
	static const char *const bad_key[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
					      "/_debug/idempotent", JSON_CT, "CONTENT_LENGTH", "2",
					      "HTTP_IDEMPOTENCY_KEY", "bad\x01key", NULL};
	static const char *const ok[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
					 "/_debug/idempotent", JSON_CT, "CONTENT_LENGTH", "2",
					 NULL};

	set("debug.routes", "true");
	request(get);
	check_envelope(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow"), "POST");
	request_body(bad_json, "{", 1);
	check_envelope(400, "invalid_json");
	request_body(bad_key, "{}", 2);
	check_envelope(400, "bad_idempotency_key");
	/* a good request reaches the database, which is not there */
	request_body(ok, "{}", 2);
	check_unavailable("5");
}
END_TEST

/* ------------------------------------------------------------------- reuse */

START_TEST(test_many_requests)
{
	static const char *const ok[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/healthz", NULL};
	static const char *const missing[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/missing",
					      NULL};
	static const char *const wrong[] = {"REQUEST_METHOD", "PATCH", "PATH_INFO", "/healthz",
					    NULL};

	for (int i = 0; i < 300; i++) {
		switch (i % 3) {
		case 0:
			request(ok);
			ck_assert_int_eq(resp.status, 200);
			ck_assert_str_eq(resp.body, "{\"status\":\"ok\"}");
			break;
		case 1:
			request(missing);
			check_envelope(404, "not_found");
			break;
		default:
			request(wrong);
			check_envelope(405, "method_not_allowed");
			ck_assert_str_eq(header("Allow"), "GET, HEAD");
			break;
		}
	}
}
END_TEST

/* ------------------------------------------------------------ idempotency */

/* The Idempotency-Key header is checked before any database work: a bad
 * one is 400 bad_idempotency_key; a good one reaches the transaction, which
 * answers 503 here (no database). */
START_TEST(test_idempotency_key_checks)
{
	static const char body[] = "{\"n\":1}";
	static const char *const bad_keys[] = {
		"", "has space", "tab\tkey", "\x7f", "caf\xc3\xa9",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char max_key[] =
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *p[] = {"REQUEST_METHOD", "POST", "PATH_INFO", "/_debug/idempotent", JSON_CT,
			   "CONTENT_LENGTH", "7", "HTTP_IDEMPOTENCY_KEY", NULL, NULL};
	const size_t value = 9; /* the slot of the header's value */

	ck_assert_uint_eq(sizeof max_key - 1, 128);
	set("debug.routes", "true");
	set("auth.anonymous_scopes", "admin");
	for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
		p[value] = bad_keys[i];
		if (bad_keys[i][0] == '\0')
			continue; /* an empty header is the same as none to FastCGI */
		request_body(p, body, sizeof body - 1);
		check_envelope(400, "bad_idempotency_key");
	}
	p[value] = max_key;
	request_body(p, body, sizeof body - 1);
	ck_assert_int_eq(resp.status, 503);
	p[value] = "order-42";
	request_body(p, body, sizeof body - 1);
	ck_assert_int_eq(resp.status, 503);
}
END_TEST

/* A streamed response aborted part way: the transport is told, nothing
 * more is written, and the end of the exchange adds nothing. */
START_TEST(test_stream_abort)
{
	static const char *const params[] = {"REQUEST_METHOD", "GET", NULL, NULL};
	size_t sent;

	mem.params = params;
	http_begin(&http, &http_memory_transport, &mem);
	http_add_header(&http, "Content-Type", "application/x-ndjson");
	ck_assert_int_eq(http_stream_begin(&http), 0);
	ck_assert_int_eq(http_write(&http, "{}\n", 3), 0);
	sent = mem.output.len;
	ck_assert(!mem.aborted);
	http_abort(&http);
	ck_assert(mem.aborted);
	ck_assert_int_eq(http_write(&http, "{}\n", 3), -1);
	ck_assert_int_eq(http_finish(&http), 0);
	ck_assert_uint_eq(mem.output.len, sent);
	http_begin(&http, &http_memory_transport, &mem); /* the next request */
	ck_assert(!http.aborted);
}
END_TEST

static Suite *
pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc;

	tc = tcase_create("service");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_route_aliases_follow_their_route);
	tcase_add_test(tc, test_healthz);
	tcase_add_test(tc, test_healthz_variants);
	tcase_add_test(tc, test_head_healthz);
	tcase_add_test(tc, test_many_requests);
	tcase_add_test(tc, test_stream_abort);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_head_not_found);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_bad_path);
	tcase_add_test(tc, test_unauthorized);
	tcase_add_test(tc, test_overlong_key);
	tcase_add_test(tc, test_no_delete_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("bodies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_body_too_large_claimed);
	tcase_add_test(tc, test_body_too_large_sent);
	tcase_add_test(tc, test_body_at_limit);
	tcase_add_test(tc, test_body_longer_than_claimed);
	tcase_add_test(tc, test_body_shorter_than_claimed);
	tcase_add_loop_test(tc, test_json_body_checks, 0, TEST_LEN(json_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("queries");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_query_checks, 0, TEST_LEN(query_cases));
	tcase_add_test(tc, test_revoke_bad_id);
	suite_add_tcase(s, tc);

	tc = tcase_create("database");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_db_unavailable_auth);
	tcase_add_test(tc, test_db_unavailable_handler);
	tcase_add_test(tc, test_db_unavailable_head);
	tcase_add_test(tc, test_readyz_unavailable);
	suite_add_tcase(s, tc);

	tc = tcase_create("idempotency");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_idempotency_key_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("debug");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_debug_routes_off);
	tcase_add_test(tc, test_debug_routes_on);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pipeline_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	mysql_library_end();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
