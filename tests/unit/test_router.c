/* Unit tests for router.h: matching raw paths against a static table
 * (API.md §0 "Transport", "Unknown routes"). */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "router.h"

/* Entries in a static table, as a loop test's end. */
#define TEST_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int
h_route(struct ctx *c)
{
	(void)c;
	return 0;
}

/* The collection and its items have handlers of their own, as in the real
 * table; the trailing-slash rule tells them apart by handler. */
static int
h_collection(struct ctx *c)
{
	(void)c;
	return 1;
}

static int
h_item(struct ctx *c)
{
	(void)c;
	return 2;
}

/* Literal routes before parameter routes, as the real table does. */
enum {
	R_HEALTHZ,
	R_KEYS_PUT,
	R_KEYS_GET,
	R_KEYS_HEAD,
	R_KEYS_DELETE,
	R_KEY_GET,
	R_KEY_PUT,
	R_KEY_DELETE,
	R_EVENTS_LIST,
	R_EVENT_SUBMIT,
	R_EVENT_GET,
	R_APIKEYS_GET,
	R_APIKEYS_POST,
	R_APIKEY_DELETE,
	R_DEBUG_ECHO,
	R_HEALTHZ_DEBUG_DELETE,
	R_TWO_PARAMS,
	R_DEEP,
	R_QUERY,
	R_QUERY_DATE,
	R_SERVICES_POST,
	R_SERVICE_ROTATE,
	R_SERVICE_DELETE,
	R_COUNT
};

static const struct route table[] = {
	[R_HEALTHZ] = {"GET", "/healthz", h_route, 0, 0},
	[R_KEYS_PUT] = {"PUT", "/keys", h_collection, 0, 0},
	[R_KEYS_GET] = {"GET", "/keys", h_collection, 0, 0},
	[R_KEYS_HEAD] = {"HEAD", "/keys", h_collection, 0, 0},
	[R_KEYS_DELETE] = {"DELETE", "/keys", h_collection, 0, 0},
	[R_KEY_GET] = {"GET", "/keys/:key", h_item, 0, 0},
	[R_KEY_PUT] = {"PUT", "/keys/:key", h_item, 0, 0},
	[R_KEY_DELETE] = {"DELETE", "/keys/:key", h_item, 0, 0},
	[R_EVENTS_LIST] = {"GET", "/event/", h_route, 0, 0},
	[R_EVENT_SUBMIT] = {"POST", "/event/submit/", h_route, 0, ROUTE_JSON},
	[R_EVENT_GET] = {"GET", "/event/:task_id", h_route, 0, 0},
	[R_APIKEYS_GET] = {"GET", "/admin/api-keys", h_collection, 0, 0},
	[R_APIKEYS_POST] = {"POST", "/admin/api-keys", h_collection, 0, ROUTE_JSON},
	[R_APIKEY_DELETE] = {"DELETE", "/admin/api-keys/:id", h_item, 0, 0},
	[R_DEBUG_ECHO] = {"POST", "/_debug/echo", h_route, 0, ROUTE_JSON | ROUTE_DEBUG},
	[R_HEALTHZ_DEBUG_DELETE] = {"DELETE", "/healthz", h_route, 0, ROUTE_DEBUG},
	[R_TWO_PARAMS] = {"GET", "/a/:x/b/:y", h_route, 0, 0},
	[R_DEEP] = {"GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", h_route, 0, 0},
	/* one handler, its last parameter optional (as /query/service/...) */
	[R_QUERY] = {"GET", "/query/:service", h_route, 0, 0},
	[R_QUERY_DATE] = {"GET", "/query/:service/:date", h_route, 0, 0},
	/* a collection whose method also has a longer item route (as
	 * POST /services and POST /services/:name/rotate-key) */
	[R_SERVICES_POST] = {"POST", "/services", h_collection, 0, ROUTE_JSON},
	[R_SERVICE_ROTATE] = {"POST", "/services/:name/rotate-key", h_item, 0, 0},
	[R_SERVICE_DELETE] = {"DELETE", "/services/:name", h_item, 0, 0},
};

#define NROUTES (sizeof table / sizeof table[0])

static struct arena *ra;

static void
setup(void)
{
	ra = arena_new(4096);
}

static void
teardown(void)
{
	arena_free(ra);
	ra = NULL;
}

static enum router_result
match(const char *method, const char *path, int debug, struct route_match *m)
{
	return router_match(table, NROUTES, method, path, debug, ra, m);
}

/* --------------------------------------------------------- found routes */

struct found_case {
	const char *method;
	const char *path;
	int route;
	const char *param;   /* name, or NULL for none */
	const char *value;   /* decoded */
	size_t value_len;
};

static const struct found_case found_cases[] = {
	{"GET", "/healthz", R_HEALTHZ, NULL, NULL, 0},
	{"GET", "/healthz/", R_HEALTHZ, NULL, NULL, 0},
	{"GET", "/keys", R_KEYS_GET, NULL, NULL, 0},
	{"PUT", "/keys", R_KEYS_PUT, NULL, NULL, 0},
	{"DELETE", "/keys", R_KEYS_DELETE, NULL, NULL, 0},
	{"HEAD", "/keys", R_KEYS_HEAD, NULL, NULL, 0},       /* explicit HEAD route */
	{"GET", "/keys/abc", R_KEY_GET, "key", "abc", 3},
	{"PUT", "/keys/abc", R_KEY_PUT, "key", "abc", 3},
	{"DELETE", "/keys/abc", R_KEY_DELETE, "key", "abc", 3},
	{"HEAD", "/keys/abc", R_KEY_GET, "key", "abc", 3},    /* HEAD served by GET */
	{"GET", "/keys/abc/", R_KEY_GET, "key", "abc", 3},   /* trailing slash accepted */
	/* percent-decoding per segment, after splitting */
	{"GET", "/keys/a%2Fb", R_KEY_GET, "key", "a/b", 3},
	{"GET", "/keys/a%2fb", R_KEY_GET, "key", "a/b", 3},
	{"DELETE", "/keys/%2F", R_KEY_DELETE, "key", "/", 1},
	{"GET", "/keys/%2e", R_KEY_GET, "key", ".", 1},
	{"GET", "/keys/%2E%2E", R_KEY_GET, "key", "..", 2},
	{"GET", "/keys/.", R_KEY_GET, "key", ".", 1},       /* no dot-segment removal */
	{"GET", "/keys/..", R_KEY_GET, "key", "..", 2},
	{"GET", "/keys/a%20b", R_KEY_GET, "key", "a b", 3},
	{"GET", "/keys/a+b", R_KEY_GET, "key", "a+b", 3},   /* '+' is not a space in paths */
	{"GET", "/keys/%2B", R_KEY_GET, "key", "+", 1},
	{"GET", "/keys/%25", R_KEY_GET, "key", "%", 1},
	{"GET", "/keys/%2525", R_KEY_GET, "key", "%25", 3},  /* decoded once */
	{"GET", "/keys/%3F%23", R_KEY_GET, "key", "?#", 2},
	{"GET", "/keys/%C3%A9", R_KEY_GET, "key", "\xC3\xA9", 2},
	{"GET", "/keys/\xC3\xA9", R_KEY_GET, "key", "\xC3\xA9", 2},
	{"GET", "/keys/%F0%9F%98%80", R_KEY_GET, "key", "\xF0\x9F\x98\x80", 4},
	{"GET", "/keys/%2Fetc%2Fpasswd", R_KEY_GET, "key", "/etc/passwd", 11},
	/* the collection listed with a trailing slash, asked without */
	{"GET", "/event/", R_EVENTS_LIST, NULL, NULL, 0},
	{"GET", "/event", R_EVENTS_LIST, NULL, NULL, 0},
	{"HEAD", "/event", R_EVENTS_LIST, NULL, NULL, 0},
	{"POST", "/event/submit/", R_EVENT_SUBMIT, NULL, NULL, 0},
	{"POST", "/event/submit", R_EVENT_SUBMIT, NULL, NULL, 0},
	{"GET", "/event/abc-123", R_EVENT_GET, "task_id", "abc-123", 7},
	{"GET", "/event/abc-123/", R_EVENT_GET, "task_id", "abc-123", 7},
	{"GET", "/admin/api-keys", R_APIKEYS_GET, NULL, NULL, 0},
	{"POST", "/admin/api-keys", R_APIKEYS_POST, NULL, NULL, 0},
	{"DELETE", "/admin/api-keys/17", R_APIKEY_DELETE, "id", "17", 2},
	{"DELETE", "/admin/api-keys/17/", R_APIKEY_DELETE, "id", "17", 2},
	{"GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", R_DEEP, NULL, NULL, 0},
	/* an empty optional last parameter falls back to the shorter route of
	 * the same handler */
	{"GET", "/query/web", R_QUERY, "service", "web", 3},
	{"GET", "/query/web/", R_QUERY, "service", "web", 3},
	{"HEAD", "/query/web/", R_QUERY, "service", "web", 3},
	/* a longer route of the same method is no item at "/services/" */
	{"POST", "/services/", R_SERVICES_POST, NULL, NULL, 0},
	{"POST", "/services/web/rotate-key/", R_SERVICE_ROTATE, "name", "web", 3},
};

START_TEST(test_found)
{
	const struct found_case *c = &found_cases[_i];
	struct route_match m;
	enum router_result r = match(c->method, c->path, 0, &m);

	ck_assert_msg(r == ROUTER_FOUND, "%s %s: result %d", c->method, c->path, (int)r);
	ck_assert_ptr_eq(m.route, &table[c->route]);
	ck_assert_uint_eq(m.index, (size_t)c->route);
	if (c->param == NULL) {
		ck_assert_uint_eq(m.nparams, 0);
		return;
	}
	ck_assert_uint_eq(m.nparams, 1);
	const struct route_param *p = router_param(&m, c->param);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->name_len, strlen(c->param));
	ck_assert_mem_eq(p->name, c->param, p->name_len);
	ck_assert_uint_eq(p->len, c->value_len);
	ck_assert_mem_eq(p->value, c->value, c->value_len);
	ck_assert_int_eq(p->value[p->len], '\0');
}
END_TEST

START_TEST(test_two_params)
{
	struct route_match m;
	const struct route_param *x, *y;

	ck_assert_int_eq(match("GET", "/a/%31/b/two%2F2", 0, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, R_TWO_PARAMS);
	ck_assert_uint_eq(m.nparams, 2);
	x = router_param(&m, "x");
	y = router_param(&m, "y");
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_str_eq(x->value, "1");
	ck_assert_str_eq(y->value, "two/2");
	ck_assert_ptr_null(router_param(&m, "z"));
	ck_assert_ptr_null(router_param(&m, ""));
	ck_assert_ptr_null(router_param(&m, "xy"));
	/* an empty middle segment is not a parameter */
	ck_assert_int_eq(match("GET", "/a//b/2", 0, &m), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(test_param_in_arena)
{
	struct route_match m;
	char path[] = "/keys/hello";

	ck_assert_int_eq(match("GET", path, 0, &m), ROUTER_FOUND);
	/* the value is a copy, not a pointer into the path */
	memcpy(path, "/XXXX/XXXXX", sizeof path);
	ck_assert_str_eq(router_param(&m, "key")->value, "hello");
}
END_TEST

/* ------------------------------------------------------------ not found */

struct miss_case {
	const char *method;
	const char *path;
};

static const struct miss_case not_found_cases[] = {
	{"GET", ""},
	{"GET", "/"},
	{"GET", "keys"},                 /* no leading slash */
	{"GET", "//keys"},
	{"GET", "/keys//"},
	{"GET", "/keys//x"},
	{"GET", "/nope"},
	{"GET", "/healthzz"},
	{"GET", "/HEALTHZ"},             /* literals compare exactly */
	{"GET", "/keys/a/b"},            /* a raw '/' still splits */
	/* an empty last segment never fills a parameter and never falls back
	 * to the collection route */
	{"DELETE", "/keys/"},
	{"GET", "/keys/"},
	{"PUT", "/keys/"},
	{"HEAD", "/keys/"},
	{"DELETE", "/admin/api-keys/"},
	{"DELETE", "/services/"},
	{"POST", "/services//rotate-key"},
	/* one trailing slash is toggled, never two */
	{"POST", "/event/submit//"},
	{"GET", "/event//"},
	{"GET", "/healthz//"},
	{"GET", "/query/web//"},
	{"GET", "/query//"},
	/* an encoded slash is data, never a separator */
	{"POST", "/event%2Fsubmit/"},
	{"GET", "/keys%2Fabc"},
	{"GET", "/event%2F"},
	/* too many segments */
	{"GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17"},
	{"GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z"},
	/* debug routes are invisible without with_debug */
	{"POST", "/_debug/echo"},
	{"GET", "/_debug/echo"},
};

START_TEST(test_not_found)
{
	const struct miss_case *c = &not_found_cases[_i];
	struct route_match m;
	enum router_result r = match(c->method, c->path, 0, &m);

	ck_assert_msg(r == ROUTER_NOT_FOUND, "%s '%s': result %d (route %s %s)", c->method,
		      c->path, (int)r, m.route ? m.route->method : "-",
		      m.route ? m.route->pattern : "-");
	ck_assert_ptr_null(m.route);
}
END_TEST

START_TEST(test_null_path)
{
	struct route_match m;

	ck_assert_int_eq(match("GET", NULL, 0, &m), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(test_many_segments)
{
	/* a long path of many segments: no route, no overrun */
	size_t n = 5000;
	char *p = malloc(2 * n + 1);
	struct route_match m;

	for (size_t i = 0; i < n; i++) {
		p[2 * i] = '/';
		p[2 * i + 1] = 'a';
	}
	p[2 * n] = '\0';
	ck_assert_int_eq(match("GET", p, 0, &m), ROUTER_NOT_FOUND);
	memset(p, '/', 2 * n);
	ck_assert_int_eq(match("GET", p, 0, &m), ROUTER_NOT_FOUND);
	free(p);
}
END_TEST

/* -------------------------------------------------------------- bad path */

static const char *const bad_paths[] = {
	"/keys/%00",
	"/keys/a%00b",
	"/keys/%01",
	"/keys/%1f",
	"/keys/%0A",
	"/keys/%0d%0a",
	"/keys/%09",
	"/keys/%7F",
	"/keys/a\x01",
	"/keys/a\tb",
	"/keys/\x7F",
	"/keys/%C3",             /* truncated UTF-8 */
	"/keys/%C3%28",
	"/keys/%C0%AF",          /* overlong '/' */
	"/keys/%C0%80",          /* overlong NUL */
	"/keys/%ED%A0%80",       /* surrogate */
	"/keys/%F4%90%80%80",    /* above U+10FFFF */
	"/keys/%FF",
	"/keys/\xFF",
	"/keys/\xC3",
	"/keys/%",               /* bad escapes */
	"/keys/%4",
	"/keys/%zz",
	"/keys/%4g",
	"/keys/abc%",
	"/keys/%%41",
	"/nope/%00",             /* forbidden bytes are 400 even off the table */
	"/%zz",
	"/healthz%00",
	"/ke%00ys",
	"/keys/ok/%00",
};

START_TEST(test_bad_path)
{
	struct route_match m;
	enum router_result r = match("GET", bad_paths[_i], 0, &m);

	ck_assert_msg(r == ROUTER_BAD_PATH, "'%s': result %d", bad_paths[_i], (int)r);
	ck_assert_ptr_null(m.route);
}
END_TEST

/* ---------------------------------------------------------- 405 and Allow */

struct allow_case {
	const char *method;
	const char *path;
	int debug;
	const char *allow;
};

static const struct allow_case allow_cases[] = {
	{"POST", "/keys", 0, "PUT, GET, HEAD, DELETE"},
	{"PATCH", "/keys", 0, "PUT, GET, HEAD, DELETE"},
	{"POST", "/keys/x", 0, "GET, HEAD, PUT, DELETE"},
	{"POST", "/keys/x/", 0, "GET, HEAD, PUT, DELETE"},
	{"POST", "/healthz", 0, "GET, HEAD"},        /* GET implies HEAD */
	{"POST", "/healthz/", 0, "GET, HEAD"},
	{"DELETE", "/healthz", 0, "GET, HEAD"},      /* the debug DELETE is hidden */
	{"POST", "/event", 0, "GET, HEAD"},
	{"DELETE", "/event/", 0, "GET, HEAD"},
	/* "/event/submit" is also a task id for GET /event/:task_id, so both
	 * spellings list both routes' methods */
	{"PUT", "/event/submit/", 0, "POST, GET, HEAD"},
	{"PUT", "/event/submit", 0, "GET, HEAD, POST"},
	{"PUT", "/admin/api-keys", 0, "GET, HEAD, POST"},
	{"GET", "/admin/api-keys/5", 0, "DELETE"},
	{"get", "/healthz", 0, "GET, HEAD"},         /* methods are case-sensitive */
	{"GET", "/_debug/echo", 1, "POST"},
};

START_TEST(test_bad_method)
{
	const struct allow_case *c = &allow_cases[_i];
	struct route_match m;
	enum router_result r;

	r = match(c->method, c->path, c->debug, &m);
	ck_assert_msg(r == ROUTER_BAD_METHOD, "%s %s: result %d", c->method, c->path, (int)r);
	ck_assert_str_eq(m.allow, c->allow);
	ck_assert_ptr_null(m.route);
}
END_TEST

START_TEST(test_allow_empty_when_not_found)
{
	struct route_match m;

	ck_assert_int_eq(match("GET", "/nope", 0, &m), ROUTER_NOT_FOUND);
	ck_assert_str_eq(m.allow, "");
	ck_assert_int_eq(match("GET", "/keys/%00", 0, &m), ROUTER_BAD_PATH);
	ck_assert_str_eq(m.allow, "");
}
END_TEST

START_TEST(test_allow_reset_between_calls)
{
	struct route_match m;

	ck_assert_int_eq(match("POST", "/keys", 0, &m), ROUTER_BAD_METHOD);
	ck_assert_int_eq(match("POST", "/healthz", 0, &m), ROUTER_BAD_METHOD);
	ck_assert_str_eq(m.allow, "GET, HEAD");
}
END_TEST

/* ----------------------------------------------------------------- HEAD */

START_TEST(test_head)
{
	static const struct route head_first[] = {
		{"HEAD", "/x", h_route, 0, 0},
		{"GET", "/x", h_route, 0, 0},
	};
	static const struct route head_last[] = {
		{"GET", "/x/:id", h_route, 0, 0},
		{"HEAD", "/x/:id", h_route, 0, 0},
	};
	static const struct route get_only[] = {
		{"POST", "/x/:id", h_route, 0, 0},
		{"GET", "/x/:id", h_route, 0, 0},
	};
	struct route_match m;

	/* an explicit HEAD route wins wherever it is in the table */
	ck_assert_int_eq(router_match(head_first, 2, "HEAD", "/x", 0, ra, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, 0);
	ck_assert_int_eq(router_match(head_last, 2, "HEAD", "/x/7", 0, ra, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, 1);
	ck_assert_str_eq(router_param(&m, "id")->value, "7");
	ck_assert_int_eq(router_match(head_last, 2, "GET", "/x/7", 0, ra, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, 0);
	/* otherwise the GET route serves it, with its parameters */
	ck_assert_int_eq(router_match(get_only, 2, "HEAD", "/x/%41", 0, ra, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, 1);
	ck_assert_uint_eq(m.nparams, 1);
	ck_assert_str_eq(router_param(&m, "id")->value, "A");
	ck_assert_int_eq(router_match(get_only, 2, "HEAD", "/x/%41/", 0, ra, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, 1);
	ck_assert_str_eq(router_param(&m, "id")->value, "A");
	ck_assert_int_eq(router_match(get_only, 2, "PUT", "/x/1", 0, ra, &m), ROUTER_BAD_METHOD);
	ck_assert_str_eq(m.allow, "POST, GET, HEAD");
}
END_TEST

/* ---------------------------------------------------------------- debug */

START_TEST(test_debug)
{
	struct route_match m;

	ck_assert_int_eq(match("POST", "/_debug/echo", 0, &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("POST", "/_debug/echo", 1, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, R_DEBUG_ECHO);
	ck_assert_int_eq(match("POST", "/_debug/echo/", 1, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, R_DEBUG_ECHO);

	ck_assert_int_eq(match("DELETE", "/healthz", 0, &m), ROUTER_BAD_METHOD);
	ck_assert_str_eq(m.allow, "GET, HEAD");
	ck_assert_int_eq(match("DELETE", "/healthz", 1, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, R_HEALTHZ_DEBUG_DELETE);
	ck_assert_int_eq(match("POST", "/healthz", 1, &m), ROUTER_BAD_METHOD);
	ck_assert_str_eq(m.allow, "GET, HEAD, DELETE");
	/* non-debug routes are the same either way */
	ck_assert_int_eq(match("GET", "/healthz", 1, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, R_HEALTHZ);
}
END_TEST

/* ---------------------------------------------------------------- misc */

START_TEST(test_first_entry_wins)
{
	static const struct route t[] = {
		{"GET", "/event/latest", h_route, 0, 0},
		{"GET", "/event/:id", h_route, 0, 0},
	};
	struct route_match m;

	ck_assert_int_eq(router_match(t, 2, "GET", "/event/latest", 0, ra, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, 0);
	ck_assert_uint_eq(m.nparams, 0);
	ck_assert_int_eq(router_match(t, 2, "GET", "/event/lates", 0, ra, &m), ROUTER_FOUND);
	ck_assert_uint_eq(m.index, 1);
	ck_assert_str_eq(router_param(&m, "id")->value, "lates");
}
END_TEST

START_TEST(test_empty_table)
{
	struct route_match m;

	ck_assert_int_eq(router_match(table, 0, "GET", "/healthz", 1, ra, &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(router_match(table, 0, "GET", "/%zz", 1, ra, &m), ROUTER_BAD_PATH);
}
END_TEST

START_TEST(test_allow_fits)
{
	/* every method of a path fits in allow */
	static const struct route t[] = {
		{"GET", "/x", h_route, 0, 0},
		{"POST", "/x", h_route, 0, 0},
		{"PUT", "/x", h_route, 0, 0},
		{"PATCH", "/x", h_route, 0, 0},
		{"DELETE", "/x", h_route, 0, 0},
		{"OPTIONS", "/x", h_route, 0, 0},
	};
	struct route_match m;

	ck_assert_int_eq(router_match(t, 6, "TRACE", "/x", 0, ra, &m), ROUTER_BAD_METHOD);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_found, 0, TEST_LEN(found_cases));
	tcase_add_test(tc, test_two_params);
	tcase_add_test(tc, test_param_in_arena);
	tcase_add_loop_test(tc, test_not_found, 0, TEST_LEN(not_found_cases));
	tcase_add_test(tc, test_null_path);
	tcase_add_test(tc, test_many_segments);
	tcase_add_loop_test(tc, test_bad_path, 0, TEST_LEN(bad_paths));
	tcase_add_loop_test(tc, test_bad_method, 0, TEST_LEN(allow_cases));
	tcase_add_test(tc, test_allow_empty_when_not_found);
	tcase_add_test(tc, test_allow_reset_between_calls);
	tcase_add_test(tc, test_head);
	tcase_add_test(tc, test_debug);
	tcase_add_test(tc, test_first_entry_wins);
	tcase_add_test(tc, test_empty_table);
	tcase_add_test(tc, test_allow_fits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
