/* Unit tests for jsonw.h: the streaming JSON writer. */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "diag.h"
#include "json.h"
#include "jsonw.h"
#include "text.h"

/* Entries in a static table, as a loop test's end. */
#define TEST_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

static struct buf out;
static struct jsonw w;

static void
setup(void)
{
	buf_init(&out, 1u << 20);
	jsonw_init(&w, jsonw_buf_sink, &out);
}

static void
teardown(void)
{
	buf_free(&out);
}

/* The output so far, "" before the first write. */
static const char *
text(void)
{
	return out.data ? out.data : "";
}

/* Writes one string value and compares the bytes, quotes included. */
static void
check_string(const char *in, size_t len, const char *want, size_t want_len)
{
	buf_reset(&out);
	jsonw_init(&w, jsonw_buf_sink, &out);
	jsonw_string_n(&w, in, len);
	ck_assert_int_eq(jsonw_error(&w), 0);
	ck_assert_uint_eq(out.len, want_len);
	ck_assert_mem_eq(out.data, want, want_len);
}

#define CHECK_STRING(in, want) check_string(in, sizeof(in) - 1, want, sizeof(want) - 1)

/* ------------------------------------------------------------ structure */

START_TEST(test_nesting_commas)
{
	jsonw_object_begin(&w);
	jsonw_key(&w, "a");
	jsonw_int(&w, 1);
	jsonw_key(&w, "b");
	jsonw_array_begin(&w);
	jsonw_bool(&w, true);
	jsonw_bool(&w, false);
	jsonw_null(&w);
	jsonw_string(&w, "x");
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	jsonw_array_begin(&w);
	jsonw_array_end(&w);
	jsonw_array_end(&w);
	jsonw_key(&w, "c");
	jsonw_object_begin(&w);
	jsonw_key(&w, "d");
	jsonw_array_begin(&w);
	jsonw_int(&w, -2);
	jsonw_array_end(&w);
	jsonw_key(&w, "e");
	jsonw_raw(&w, "1.50", 4);
	jsonw_object_end(&w);
	jsonw_key(&w, "f");
	jsonw_string(&w, "");
	jsonw_object_end(&w);
	ck_assert_int_eq(jsonw_error(&w), 0);
	ck_assert_str_eq(text(), "{\"a\":1,\"b\":[true,false,null,\"x\",{},[]],"
				 "\"c\":{\"d\":[-2],\"e\":1.50},\"f\":\"\"}");
}
END_TEST

START_TEST(test_empty_containers)
{
	jsonw_array_begin(&w);
	jsonw_array_end(&w);
	ck_assert_str_eq(text(), "[]");
	buf_reset(&out);
	jsonw_init(&w, jsonw_buf_sink, &out);
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	ck_assert_str_eq(text(), "{}");
}
END_TEST

START_TEST(test_ints)
{
	jsonw_array_begin(&w);
	jsonw_int(&w, 0);
	jsonw_int(&w, 1);
	jsonw_int(&w, -1);
	jsonw_int(&w, INT64_MAX);
	jsonw_int(&w, INT64_MIN);
	jsonw_array_end(&w);
	ck_assert_str_eq(text(), "[0,1,-1,9223372036854775807,-9223372036854775808]");
}
END_TEST

START_TEST(test_array_of_objects)
{
	jsonw_array_begin(&w);
	for (int i = 0; i < 3; i++) {
		jsonw_object_begin(&w);
		jsonw_key(&w, "i");
		jsonw_int(&w, i);
		jsonw_key(&w, "s");
		jsonw_array_begin(&w);
		jsonw_array_end(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	ck_assert_str_eq(text(), "[{\"i\":0,\"s\":[]},{\"i\":1,\"s\":[]},{\"i\":2,\"s\":[]}]");
}
END_TEST

START_TEST(test_output_is_valid_json)
{
	struct diag d;

	jsonw_object_begin(&w);
	jsonw_key_n(&w, "k\x01" "ey", 4);
	jsonw_string_n(&w, "v\0al\x01\x7F\xFF\xC3\xA9", 9);
	jsonw_key(&w, "deep");
	for (int i = 0; i < 30; i++)
		jsonw_array_begin(&w);
	for (int i = 0; i < 30; i++)
		jsonw_array_end(&w);
	jsonw_object_end(&w);
	ck_assert_int_eq(jsonw_error(&w), 0);
	ck_assert_int_eq(json_validate(out.data, out.len, &d), 0);
	ck_assert_str_eq(text(), "{\"k\\u0001ey\":\"v\\u0000al\\u0001\\u007f\xEF\xBF\xBD\xC3\xA9\","
				 "\"deep\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
				 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}");
}
END_TEST

/* ------------------------------------------------------------- escaping */

START_TEST(test_escape_basic)
{
	CHECK_STRING("plain", "\"plain\"");
	CHECK_STRING("", "\"\"");
	CHECK_STRING("a\"b", "\"a\\\"b\"");
	CHECK_STRING("a\\b", "\"a\\\\b\"");
	CHECK_STRING("a/b", "\"a/b\"");
	CHECK_STRING("\n\r\t", "\"\\n\\r\\t\"");
}
END_TEST

START_TEST(test_escape_controls)
{
	/* every C0 control and DEL as \u00XX (or a short form), never raw */
	for (int c = 0; c < 0x20; c++) {
		char in[1] = {(char)c};
		char want[16];

		if (c == '\n' || c == '\r' || c == '\t')
			continue;
		snprintf(want, sizeof want, "\"\\u%04x\"", c);
		check_string(in, 1, want, strlen(want));
	}
	CHECK_STRING("\x7F", "\"\\u007f\"");
	CHECK_STRING("a\0b", "\"a\\u0000b\"");
	CHECK_STRING("\b\f", "\"\\u0008\\u000c\"");
}
END_TEST

START_TEST(test_escape_utf8_kept)
{
	CHECK_STRING("\xC3\xA9", "\"\xC3\xA9\"");
	CHECK_STRING("\xE2\x82\xAC", "\"\xE2\x82\xAC\"");
	CHECK_STRING("\xF0\x9D\x84\x9E", "\"\xF0\x9D\x84\x9E\"");
	CHECK_STRING("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\"");
	CHECK_STRING("\xEF\xBF\xBD", "\"\xEF\xBF\xBD\"");
	/* U+2028 and U+2029 are valid JSON as they are */
	CHECK_STRING("\xE2\x80\xA8", "\"\xE2\x80\xA8\"");
}
END_TEST

START_TEST(test_escape_invalid_utf8)
{
	CHECK_STRING("\xFF", "\"\xEF\xBF\xBD\"");
	CHECK_STRING("\x80", "\"\xEF\xBF\xBD\"");
	CHECK_STRING("a\xC3", "\"a\xEF\xBF\xBD\"");
	CHECK_STRING("\xC3(", "\"\xEF\xBF\xBD(\"");
	CHECK_STRING("x\xFEy", "\"x\xEF\xBF\xBDy\"");
}
END_TEST

static const char *const bad_utf8[] = {
	"\xC0\x80",
	"\xED\xA0\x80",
	"\xF4\x90\x80\x80",
	"\xE2\x82",
	"\xF0\x9D\x84",
	"\xF8\x88\x80\x80\x80",
	"a\xE2\x82\xAC\xE2\x82z",
	"\"\xC3\\",
};

START_TEST(test_escape_invalid_utf8_valid_output)
{
	/* however the bad bytes are grouped, the result is valid JSON and
	 * valid UTF-8, and keeps the good characters around them */
	const char *in = bad_utf8[_i];
	struct diag d;

	jsonw_string(&w, in);
	ck_assert_int_eq(jsonw_error(&w), 0);
	ck_assert(text_valid_utf8(out.data, out.len));
	ck_assert_int_eq(json_validate(out.data, out.len, &d), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\xEF\xBF\xBD"));
	if (strchr(in, 'z') != NULL) {
		ck_assert_ptr_nonnull(strstr(out.data, "a\xE2\x82\xAC"));
		ck_assert_ptr_nonnull(strstr(out.data, "z\""));
	}
}
END_TEST

/* ------------------------------------------------------------ jsonw_value */

START_TEST(test_value)
{
	json_object *o = json_tokener_parse("{\"a\":[1,\"x/y\",2.5,true,null],"
					    "\"b\":{\"c\":\"\\u00e9\\n\"}}");

	ck_assert_ptr_nonnull(o);
	jsonw_array_begin(&w);
	jsonw_int(&w, 1);
	jsonw_value(&w, o);
	jsonw_object_begin(&w);
	jsonw_key(&w, "v");
	jsonw_value(&w, json_object_object_get(o, "a"));
	jsonw_key(&w, "n");
	jsonw_value(&w, NULL);
	jsonw_object_end(&w);
	jsonw_array_end(&w);
	ck_assert_int_eq(jsonw_error(&w), 0);
	ck_assert_str_eq(text(), "[1,{\"a\":[1,\"x/y\",2.5,true,null],"
				 "\"b\":{\"c\":\"\xC3\xA9\\n\"}},"
				 "{\"v\":[1,\"x/y\",2.5,true,null],\"n\":null}]");
	json_object_put(o);
}
END_TEST

START_TEST(test_value_parsed_round_trip)
{
	struct arena *a = arena_new(4096);
	json_object *o;
	struct diag d;
	const char *doc = "{\"name\":\"x\",\"scopes\":[\"kv:read\",\"admin\"],"
			  "\"n\":-9223372036854775808}";

	ck_assert_int_eq(json_parse(a, doc, strlen(doc), &o, &d), 0);
	jsonw_value(&w, o);
	ck_assert_str_eq(text(), doc);
	arena_free(a);
}
END_TEST

/* ------------------------------------------------------------ sink errors */

struct failing_sink {
	int calls;
	int fail_at;    /* the call that fails (1-based) */
	struct buf b;
};

static int
failing(void *ctx, const char *p, size_t n)
{
	struct failing_sink *f = ctx;

	f->calls++;
	if (f->calls >= f->fail_at)
		return -1;
	return buf_append(&f->b, p, n);
}

START_TEST(test_sink_error)
{
	struct failing_sink f = {0, 3, {0}};
	struct jsonw fw;

	buf_init(&f.b, 1024);
	jsonw_init(&fw, failing, &f);
	jsonw_object_begin(&fw);   /* call 1 */
	jsonw_key(&fw, "a");       /* calls 2 and 3 (fails) */
	ck_assert_int_ne(jsonw_error(&fw), 0);
	int calls = f.calls;

	/* every later call is a no-op */
	jsonw_int(&fw, 5);
	jsonw_string(&fw, "more");
	jsonw_array_begin(&fw);
	jsonw_array_end(&fw);
	jsonw_value(&fw, NULL);
	jsonw_raw(&fw, "1", 1);
	jsonw_object_end(&fw);
	ck_assert_int_eq(f.calls, calls);
	ck_assert_int_ne(jsonw_error(&fw), 0);
	ck_assert_str_eq(f.b.data, "{\"a\"");
	buf_free(&f.b);
}
END_TEST

START_TEST(test_sink_error_first_call)
{
	struct failing_sink f = {0, 1, {0}};
	struct jsonw fw;

	buf_init(&f.b, 1024);
	jsonw_init(&fw, failing, &f);
	jsonw_int(&fw, 1);
	ck_assert_int_ne(jsonw_error(&fw), 0);
	jsonw_int(&fw, 2);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_uint_eq(f.b.len, 0);
	buf_free(&f.b);
}
END_TEST

START_TEST(test_sink_error_long_string)
{
	/* a string longer than the writer's stack buffer goes out in pieces;
	 * a failure in the middle stops the rest */
	struct failing_sink f = {0, 2, {0}};
	struct jsonw fw;
	char *s = malloc(5000);

	memset(s, 'z', 5000);
	buf_init(&f.b, 1u << 20);
	jsonw_init(&fw, failing, &f);
	jsonw_string_n(&fw, s, 5000);
	ck_assert_int_ne(jsonw_error(&fw), 0);
	ck_assert_int_eq(f.calls, 2);
	ck_assert_uint_lt(f.b.len, 5000);
	buf_free(&f.b);
	free(s);
}
END_TEST

START_TEST(test_buf_sink_over_max)
{
	struct buf small;
	struct jsonw sw;

	buf_init(&small, 16);
	jsonw_init(&sw, jsonw_buf_sink, &small);
	jsonw_object_begin(&sw);
	jsonw_key(&sw, "k");
	jsonw_string(&sw, "a value that does not fit");
	ck_assert_int_ne(jsonw_error(&sw), 0);
	/* what fitted is kept, NUL-terminated, within the limit */
	ck_assert_str_eq(small.data, "{\"k\":");
	ck_assert_uint_le(small.len, 16);
	jsonw_object_end(&sw);
	ck_assert_str_eq(small.data, "{\"k\":");
	buf_free(&small);
}
END_TEST

START_TEST(test_escape_into_buf)
{
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(jsonw_escape(&b, "a\"\n", 3), 0);
	ck_assert_str_eq(b.data, "\"a\\\"\\n\"");
	ck_assert_int_eq(jsonw_escape(&b, "x", 1), 0);
	ck_assert_str_eq(b.data, "\"a\\\"\\n\"\"x\"");
	buf_free(&b);

	buf_init(&b, 4);
	ck_assert_int_eq(jsonw_escape(&b, "toolong", 7), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_long_string)
{
	/* longer than the internal buffer, escapes straddling its flushes */
	size_t n = 3000;
	char *in = malloc(n);
	char *want = malloc(n * 6 + 3);
	size_t o = 0;

	want[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		switch (i % 4) {
		case 0: in[i] = 'a'; want[o++] = 'a'; break;
		case 1: in[i] = '\x01'; memcpy(want + o, "\\u0001", 6); o += 6; break;
		case 2: in[i] = '"'; memcpy(want + o, "\\\"", 2); o += 2; break;
		default: in[i] = '\n'; memcpy(want + o, "\\n", 2); o += 2; break;
		}
	}
	want[o++] = '"';
	check_string(in, n, want, o);

	/* multibyte characters across the flush boundary stay whole */
	o = 0;
	want[o++] = '"';
	for (size_t i = 0; i + 2 <= n; i += 2) {
		memcpy(in + i, "\xC3\xA9", 2);
		memcpy(want + o, "\xC3\xA9", 2);
		o += 2;
	}
	want[o++] = '"';
	check_string(in, n, want, o);
	free(in);
	free(want);
}
END_TEST

START_TEST(test_too_deep)
{
	/* nesting beyond the writer's limit is an error, not an overrun */
	for (int i = 0; i < 200; i++)
		jsonw_array_begin(&w);
	ck_assert_int_ne(jsonw_error(&w), 0);
}
END_TEST

static Suite *
jsonw_suite(void)
{
	Suite *s = suite_create("jsonw");
	TCase *tc;

	tc = tcase_create("structure");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_nesting_commas);
	tcase_add_test(tc, test_empty_containers);
	tcase_add_test(tc, test_ints);
	tcase_add_test(tc, test_array_of_objects);
	tcase_add_test(tc, test_output_is_valid_json);
	tcase_add_test(tc, test_too_deep);
	suite_add_tcase(s, tc);

	tc = tcase_create("escape");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_escape_basic);
	tcase_add_test(tc, test_escape_controls);
	tcase_add_test(tc, test_escape_utf8_kept);
	tcase_add_test(tc, test_escape_invalid_utf8);
	tcase_add_loop_test(tc, test_escape_invalid_utf8_valid_output, 0, TEST_LEN(bad_utf8));
	tcase_add_test(tc, test_escape_into_buf);
	tcase_add_test(tc, test_long_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("value");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_value);
	tcase_add_test(tc, test_value_parsed_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("sink");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sink_error);
	tcase_add_test(tc, test_sink_error_first_call);
	tcase_add_test(tc, test_sink_error_long_string);
	tcase_add_test(tc, test_buf_sink_over_max);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jsonw_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
