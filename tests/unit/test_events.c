/* Unit tests for events_epoch.h: exact epoch parsing and printing, and the
 * validators of the /add_event, /remove_events and /events/<id>/stop
 * bodies (API.md §3). */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "events_epoch.h"
#include "json.h"

static struct arena *arena;

static void
arena_setup(void)
{
	arena = arena_new(4096);
}

static void
arena_teardown(void)
{
	arena_free(arena);
	arena = NULL;
}

/* Parses JSON text strictly (as the server does) into the test arena. */
static json_object *
parse(const char *text)
{
	json_object *o = NULL;
	struct diag d;

	ck_assert_msg(json_parse(arena, text, strlen(text), &o, &d) == 0, "bad test JSON %s: %s",
		      text, d.msg);
	return o;
}

/* ----------------------------------------------------------- epoch text */

static const struct {
	const char *text;
	int64_t usec;
} epoch_good[] = {
	{"1650108997.592079", INT64_C(1650108997592079)},
	{"1650101244.100029", INT64_C(1650101244100029)},
	{"1650059272.843029", INT64_C(1650059272843029)},
	{"1650108997", INT64_C(1650108997000000)},
	{"1650108997.5", INT64_C(1650108997500000)},
	{"1650108997.000001", INT64_C(1650108997000001)},
	{"1650108997.592079000", INT64_C(1650108997592079)},
	{"0", 0},
	{"0.0", 0},
	{"0.000001", 1},
	{"007", INT64_C(7000000)},
	/* more than six fraction digits: rounded half up at the seventh */
	{"1650108997.5920794", INT64_C(1650108997592079)},
	{"1650108997.5920795", INT64_C(1650108997592080)},
	{"1650108997.59207949999", INT64_C(1650108997592079)},
	{"1650108997.9999995", INT64_C(1650108998000000)},
	{"0.0000005", 1},
	{"0.0000004999", 0},
	{"253402300799.999999", INT64_C(253402300799999999)},
	{"253402300799.9999994", INT64_C(253402300799999999)},
	{"253402300799", INT64_C(253402300799000000)},
};

static const char *const epoch_bad[] = {
	"",
	".5",
	"5.",
	"-1",
	"+1",
	"-0",
	"1e9",
	"1E9",
	"1.5e3",
	"1650108997.592079e0",
	"0x10",
	"NaN",
	"nan",
	"Infinity",
	"inf",
	" 1",
	"1 ",
	"1\n",
	"1,5",
	"1..5",
	"1.2.3",
	"١٢",          /* Arabic-Indic digits */
	"253402300800",
	"253402300799.9999995",
	"999999999999999999999999",
	"99999999999999999999999999999999999999999999999999999999999999999",
	"1650108997.0000000000000000000000000000000000000000000000000000000000001",
};

START_TEST(test_epoch_good)
{
	int64_t us = -1;
	const char *t = epoch_good[_i].text;

	ck_assert_msg(events_epoch_parse(t, strlen(t), &us) == 0, "'%s' refused", t);
	ck_assert_msg(us == epoch_good[_i].usec, "'%s' -> %lld, want %lld", t, (long long)us,
		      (long long)epoch_good[_i].usec);
}
END_TEST

START_TEST(test_epoch_bad)
{
	int64_t us = 42;
	const char *t = epoch_bad[_i];

	ck_assert_msg(events_epoch_parse(t, strlen(t), &us) == -1, "'%s' accepted", t);
	ck_assert_int_eq(us, 42);
}
END_TEST

/* The length bounds the parse: no reading past it, NUL inside refused. */
START_TEST(test_epoch_uses_len)
{
	int64_t us;

	ck_assert_int_eq(events_epoch_parse("1650108997.592079999", 17, &us), 0);
	ck_assert_int_eq(us, INT64_C(1650108997592079));
	ck_assert_int_eq(events_epoch_parse("12\0003", 4, &us), -1);
	ck_assert_int_eq(events_epoch_parse(NULL, 0, &us), -1);
}
END_TEST

START_TEST(test_epoch_format)
{
	char out[EVENTS_EPOCH_LEN + 1];

	ck_assert_uint_eq(events_epoch_format(INT64_C(1650108997592079), out), 17);
	ck_assert_str_eq(out, "1650108997.592079");
	events_epoch_format(INT64_C(1650108997000000), out);
	ck_assert_str_eq(out, "1650108997.000000");
	events_epoch_format(1, out);
	ck_assert_str_eq(out, "0.000001");
	events_epoch_format(0, out);
	ck_assert_str_eq(out, "0.000000");
	ck_assert_uint_eq(events_epoch_format(EVENTS_EPOCH_MAX, out), EVENTS_EPOCH_LEN);
	ck_assert_str_eq(out, "253402300799.999999");
}
END_TEST

/* Printing then parsing gives the same microsecond, across the range. */
START_TEST(test_epoch_round_trip)
{
	char out[EVENTS_EPOCH_LEN + 1];
	int64_t v = 0, back;
	uint64_t x = 88172645463325252u;

	for (int i = 0; i < 200000; i++) {
		size_t n = events_epoch_format(v, out);

		ck_assert_int_eq(events_epoch_parse(out, n, &back), 0);
		ck_assert_msg(back == v, "%s -> %lld, want %lld", out, (long long)back, (long long)v);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (int64_t)(x % (uint64_t)(EVENTS_EPOCH_MAX + 1));
	}
}
END_TEST

/* ---------------------------------------------------------- epoch JSON */

START_TEST(test_epoch_json_exact)
{
	/* a double could not hold these; the original spelling is what counts */
	static const struct {
		const char *json;
		int64_t usec;
	} cases[] = {
		{"[1650108997.592079]", INT64_C(1650108997592079)},
		{"[1650108997.592078]", INT64_C(1650108997592078)},
		{"[\"1650101244.100029\"]", INT64_C(1650101244100029)},
		{"[1650108997]", INT64_C(1650108997000000)},
		{"[\"1650108997\"]", INT64_C(1650108997000000)},
		{"[0]", 0},
		{"[1650108997.5920795]", INT64_C(1650108997592080)},
		{"[253402300799.999999]", INT64_C(253402300799999999)},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_object *a = parse(cases[i].json);
		int64_t us = -1;

		ck_assert_msg(events_epoch_json(json_object_array_get_idx(a, 0), &us) == 0,
			      "%s refused", cases[i].json);
		ck_assert_msg(us == cases[i].usec, "%s -> %lld", cases[i].json, (long long)us);
	}
}
END_TEST

START_TEST(test_epoch_json_bad)
{
	static const char *const cases[] = {
		"[-1]", "[-1.5]", "[-0.0]", "[-0.000001]", "[1e9]", "[1.65e9]", "[1650108997E0]",
		"[\"1e9\"]", "[\"-1\"]", "[\"\"]", "[\" 1\"]", "[\"NaN\"]", "[\"0x10\"]",
		"[true]", "[false]", "[null]", "[[1]]", "[{\"a\":1}]",
		"[253402300800]", "[9223372036854775807]", "[\"abc\"]",
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_object *a = parse(cases[i]);
		int64_t us = 42;

		ck_assert_msg(events_epoch_json(json_object_array_get_idx(a, 0), &us) == -1,
			      "%s accepted", cases[i]);
		ck_assert_int_eq(us, 42);
	}
}
END_TEST

/* ------------------------------------------------------------- add body */

#define NOW INT64_C(1700000000123456)

static int
validate_new(const char *json, struct events_new *ev, struct events_err *err)
{
	memset(err, 0, sizeof *err);
	return events_validate_new(parse(json), NOW, ev, err);
}

START_TEST(test_new_ok)
{
	struct events_new ev;
	struct events_err err;

	ck_assert_int_eq(validate_new("{\"tags\": [\"a\", \"b\"], \"start_epoch\": 1650108997.592079,"
				      " \"stop_epoch\": 1650109000}", &ev, &err), 0);
	ck_assert_uint_eq(ev.ntags, 2);
	ck_assert_int_eq(ev.tags[0].len, 1);
	ck_assert(memcmp(ev.tags[0].s, "a", 1) == 0);
	ck_assert(memcmp(ev.tags[1].s, "b", 1) == 0);
	ck_assert_int_eq(ev.start_us, INT64_C(1650108997592079));
	ck_assert(ev.has_stop);
	ck_assert_int_eq(ev.stop_us, INT64_C(1650109000000000));
}
END_TEST

START_TEST(test_new_defaults)
{
	struct events_new ev;
	struct events_err err;

	/* empty tags are fine; start defaults to now; no stop = open */
	ck_assert_int_eq(validate_new("{\"tags\": []}", &ev, &err), 0);
	ck_assert_uint_eq(ev.ntags, 0);
	ck_assert_int_eq(ev.start_us, NOW);
	ck_assert(!ev.has_stop);
	/* null counts as absent */
	ck_assert_int_eq(validate_new("{\"tags\": [\"x\"], \"start_epoch\": null, \"stop_epoch\": null}",
				      &ev, &err), 0);
	ck_assert_int_eq(ev.start_us, NOW);
	ck_assert(!ev.has_stop);
	/* unknown members are ignored */
	ck_assert_int_eq(validate_new("{\"tags\": [], \"note\": {\"x\": [1]}}", &ev, &err), 0);
	/* stop equal to start is allowed */
	ck_assert_int_eq(validate_new("{\"tags\": [], \"start_epoch\": \"5.5\", \"stop_epoch\": 5.500000}",
				      &ev, &err), 0);
	ck_assert_int_eq(ev.stop_us, ev.start_us);
}
END_TEST

START_TEST(test_new_dedupe)
{
	struct events_new ev;
	struct events_err err;

	ck_assert_int_eq(validate_new("{\"tags\": [\"b\", \"a\", \"b\", \"a \", \"A\"]}", &ev, &err), 0);
	ck_assert_uint_eq(ev.ntags, 4);
	ck_assert(ev.tags[0].len == 1 && ev.tags[0].s[0] == 'b');
	ck_assert(ev.tags[1].len == 1 && ev.tags[1].s[0] == 'a');
	ck_assert(ev.tags[2].len == 2 && memcmp(ev.tags[2].s, "a ", 2) == 0);
	ck_assert(ev.tags[3].len == 1 && ev.tags[3].s[0] == 'A');
}
END_TEST

static const struct {
	const char *json;
	const char *code;
	const char *msg; /* exact, or NULL */
} new_bad[] = {
	{"{}", "tags_required", "tags Array is mandatory."},
	{"{\"tags\": null}", "tags_required", "tags Array is mandatory."},
	{"[]", "tags_required", "tags Array is mandatory."},
	{"\"tags\"", "tags_required", "tags Array is mandatory."},
	{"{\"tags\": \"a\"}", "tags_not_array", "tags invalid format, must be an Array."},
	{"{\"tags\": {\"a\": 1}}", "tags_not_array", "tags invalid format, must be an Array."},
	{"{\"tags\": 1}", "tags_not_array", "tags invalid format, must be an Array."},
	{"{\"tags\": true}", "tags_not_array", "tags invalid format, must be an Array."},
	{"{\"tags\": [1]}", "invalid_tag", "tags[0] must be a string."},
	{"{\"tags\": [\"a\", null]}", "invalid_tag", "tags[1] must be a string."},
	{"{\"tags\": [\"a\", [\"b\"]]}", "invalid_tag", "tags[1] must be a string."},
	{"{\"tags\": [\"\"]}", "invalid_tag", NULL},
	{"{\"tags\": [\"a\\u0001\"]}", "invalid_tag", NULL},
	{"{\"tags\": [\"a\\nb\"]}", "invalid_tag", NULL},
	{"{\"tags\": [], \"start_epoch\": -1}", "invalid_epoch", NULL},
	{"{\"tags\": [], \"start_epoch\": 1e9}", "invalid_epoch", NULL},
	{"{\"tags\": [], \"start_epoch\": \"now\"}", "invalid_epoch", NULL},
	{"{\"tags\": [], \"start_epoch\": true}", "invalid_epoch", NULL},
	{"{\"tags\": [], \"stop_epoch\": [1]}", "invalid_epoch", NULL},
	{"{\"tags\": [], \"start_epoch\": 10, \"stop_epoch\": 9.999999}", "stop_before_start",
	 "stop_epoch must not be before start_epoch."},
	{"{\"tags\": [], \"stop_epoch\": 1}", "stop_before_start", NULL},
};

START_TEST(test_new_bad)
{
	struct events_new ev;
	struct events_err err;

	ck_assert_msg(validate_new(new_bad[_i].json, &ev, &err) == -1, "%s accepted",
		      new_bad[_i].json);
	ck_assert_str_eq(err.code, new_bad[_i].code);
	if (new_bad[_i].msg != NULL)
		ck_assert_str_eq(err.msg, new_bad[_i].msg);
}
END_TEST

START_TEST(test_new_tag_limits)
{
	struct events_new ev;
	struct events_err err;
	char *json = malloc(64 * 1024), *p;
	char name[EVENTS_TAG_MAX_CHARS * 2 + 1];

	/* 191 two-byte characters is the longest tag; 192 is too long */
	for (int i = 0; i < EVENTS_TAG_MAX_CHARS; i++)
		memcpy(name + 2 * i, "\xC3\xA9", 2);
	name[2 * EVENTS_TAG_MAX_CHARS] = '\0';
	snprintf(json, 64 * 1024, "{\"tags\": [\"%s\"]}", name);
	ck_assert_int_eq(validate_new(json, &ev, &err), 0);
	snprintf(json, 64 * 1024, "{\"tags\": [\"%sx\"]}", name);
	ck_assert_int_eq(validate_new(json, &ev, &err), -1);
	ck_assert_str_eq(err.code, "invalid_tag");

	/* EVENTS_MAX_TAGS distinct tags, then one more; duplicates are free */
	p = json + sprintf(json, "{\"tags\": [");
	for (int i = 0; i < EVENTS_MAX_TAGS; i++)
		p += sprintf(p, "%s\"t%d\", \"t%d\"", i ? ", " : "", i, i);
	strcpy(p, "]}");
	ck_assert_int_eq(validate_new(json, &ev, &err), 0);
	ck_assert_uint_eq(ev.ntags, EVENTS_MAX_TAGS);
	strcpy(p, ", \"one more\"]}");
	ck_assert_int_eq(validate_new(json, &ev, &err), -1);
	ck_assert_str_eq(err.code, "too_many_tags");
	free(json);
}
END_TEST

/* ---------------------------------------------------------- remove body */

static int
validate_remove(const char *json, struct events_remove *r, struct events_err *err)
{
	memset(err, 0, sizeof *err);
	return events_validate_remove(parse(json), arena, r, err);
}

START_TEST(test_remove_ok)
{
	struct events_remove r;
	struct events_err err;

	ck_assert_int_eq(validate_remove("{\"start_epoch_array\": [1650059272.843029,"
					 " \"1650101244.100029\", 7]}", &r, &err), 0);
	ck_assert(!r.purge);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_int_eq(r.starts[0], INT64_C(1650059272843029));
	ck_assert_int_eq(r.starts[1], INT64_C(1650101244100029));
	ck_assert_int_eq(r.starts[2], INT64_C(7000000));
	ck_assert_ptr_nonnull(r.values);
	ck_assert_int_eq(validate_remove("{\"start_epoch_array\": []}", &r, &err), 0);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(test_remove_purge)
{
	struct events_remove r;
	struct events_err err;

	ck_assert_int_eq(validate_remove("{\"purge\": true}", &r, &err), 0);
	ck_assert(r.purge);
	/* purge wins over a bad array */
	ck_assert_int_eq(validate_remove("{\"purge\": true, \"start_epoch_array\": 5}", &r, &err), 0);
	ck_assert(r.purge);
	/* false falls through to the array */
	ck_assert_int_eq(validate_remove("{\"purge\": false, \"start_epoch_array\": [1]}", &r, &err), 0);
	ck_assert(!r.purge);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(validate_remove("{\"purge\": false}", &r, &err), -1);
	ck_assert_str_eq(err.msg, "start_epoch_array must be defined.");
}
END_TEST

static const struct {
	const char *json;
	const char *code;
	const char *msg;
} remove_bad[] = {
	{"{}", "start_epoch_array_required", "start_epoch_array must be defined."},
	{"[]", "start_epoch_array_required", "start_epoch_array must be defined."},
	{"{\"start_epoch_array\": null}", "start_epoch_array_required",
	 "start_epoch_array must be defined."},
	{"{\"start_epoch_array\": 1650059272.843029}", "start_epoch_array_not_array",
	 "start_epoch_array invalid format, must be an Array."},
	{"{\"start_epoch_array\": \"1,2\"}", "start_epoch_array_not_array",
	 "start_epoch_array invalid format, must be an Array."},
	{"{\"start_epoch_array\": [1, \"x\"]}", "invalid_epoch", NULL},
	{"{\"start_epoch_array\": [1, \"1e9\"]}", "invalid_epoch", NULL},
	{"{\"start_epoch_array\": [null]}", "invalid_epoch", NULL},
	{"{\"start_epoch_array\": [-5]}", "invalid_epoch", NULL},
	{"{\"start_epoch_array\": [true]}", "invalid_epoch", NULL},
	{"{\"purge\": null}", "invalid_purge", "purge must be true or false."},
	{"{\"purge\": 1}", "invalid_purge", "purge must be true or false."},
	{"{\"purge\": \"true\"}", "invalid_purge", "purge must be true or false."},
	{"{\"purge\": [true], \"start_epoch_array\": []}", "invalid_purge", NULL},
};

START_TEST(test_remove_bad)
{
	struct events_remove r;
	struct events_err err;

	ck_assert_msg(validate_remove(remove_bad[_i].json, &r, &err) == -1, "%s accepted",
		      remove_bad[_i].json);
	ck_assert_str_eq(err.code, remove_bad[_i].code);
	if (remove_bad[_i].msg != NULL)
		ck_assert_str_eq(err.msg, remove_bad[_i].msg);
}
END_TEST

/* A bad value anywhere refuses the whole request, naming its index. */
START_TEST(test_remove_names_index)
{
	struct events_remove r;
	struct events_err err;

	ck_assert_int_eq(validate_remove("{\"start_epoch_array\": [1, 2, \"3\", {}]}", &r, &err), -1);
	ck_assert_msg(strstr(err.msg, "start_epoch_array[3]") != NULL, "%s", err.msg);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(test_remove_limit)
{
	struct events_remove r;
	struct events_err err;
	size_t cap = (EVENTS_REMOVE_MAX + 2) * 4 + 64;
	char *json = malloc(cap), *p;

	p = json + sprintf(json, "{\"start_epoch_array\": [");
	for (int i = 0; i < EVENTS_REMOVE_MAX; i++)
		p += sprintf(p, "%s1", i ? "," : "");
	strcpy(p, "]}");
	ck_assert_int_eq(validate_remove(json, &r, &err), 0);
	ck_assert_uint_eq(r.n, EVENTS_REMOVE_MAX);
	strcpy(p, ",1]}");
	ck_assert_int_eq(validate_remove(json, &r, &err), -1);
	ck_assert_str_eq(err.code, "too_many_values");
	free(json);
}
END_TEST

/* ------------------------------------------------------------ stop body */

START_TEST(test_stop_body)
{
	struct events_err err;
	bool has;
	int64_t us = 0;

	ck_assert_int_eq(events_validate_stop(NULL, &has, &us, &err), 0);
	ck_assert(!has);
	ck_assert_int_eq(events_validate_stop(parse("{}"), &has, &us, &err), 0);
	ck_assert(!has);
	ck_assert_int_eq(events_validate_stop(parse("{\"stop_epoch\": null}"), &has, &us, &err), 0);
	ck_assert(!has);
	ck_assert_int_eq(events_validate_stop(parse("{\"stop_epoch\": 1650108997.592079}"), &has,
					      &us, &err), 0);
	ck_assert(has);
	ck_assert_int_eq(us, INT64_C(1650108997592079));
	ck_assert_int_eq(events_validate_stop(parse("{\"stop_epoch\": \"12.5\"}"), &has, &us, &err), 0);
	ck_assert_int_eq(us, INT64_C(12500000));
	ck_assert_int_eq(events_validate_stop(parse("{\"stop_epoch\": -3}"), &has, &us, &err), -1);
	ck_assert_str_eq(err.code, "invalid_epoch");
	ck_assert_int_eq(events_validate_stop(parse("[1]"), &has, &us, &err), -1);
	ck_assert_str_eq(err.code, "invalid_body");
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *
events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc;

	tc = tcase_create("epoch");
	tcase_add_loop_test(tc, test_epoch_good, 0, (int)(sizeof epoch_good / sizeof epoch_good[0]));
	tcase_add_loop_test(tc, test_epoch_bad, 0, (int)(sizeof epoch_bad / sizeof epoch_bad[0]));
	tcase_add_test(tc, test_epoch_uses_len);
	tcase_add_test(tc, test_epoch_format);
	tcase_add_test(tc, test_epoch_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("epoch_json");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_epoch_json_exact);
	tcase_add_test(tc, test_epoch_json_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("add_event");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_new_ok);
	tcase_add_test(tc, test_new_defaults);
	tcase_add_test(tc, test_new_dedupe);
	tcase_add_loop_test(tc, test_new_bad, 0, (int)(sizeof new_bad / sizeof new_bad[0]));
	tcase_add_test(tc, test_new_tag_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("remove_events");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_remove_ok);
	tcase_add_test(tc, test_remove_purge);
	tcase_add_loop_test(tc, test_remove_bad, 0, (int)(sizeof remove_bad / sizeof remove_bad[0]));
	tcase_add_test(tc, test_remove_names_index);
	tcase_add_test(tc, test_remove_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("stop");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_stop_body);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(events_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
