/* Unit tests for json.h: the strict validator, parsing into an arena, and
 * the typed getters (API.md §0 "Bodies"). */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "json.h"

/* Entries in a static table, as a loop test's end. */
#define TEST_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct bytes {
	const char *s;
	size_t len;
};

#define B(lit) {lit, sizeof(lit) - 1}

static struct arena *ja;

static void
setup(void)
{
	ja = arena_new(4096);
}

static void
teardown(void)
{
	arena_free(ja);
	ja = NULL;
}

/* ------------------------------------------------------------- validator */

static const struct bytes valid_docs[] = {
	B("{}"),
	B("[]"),
	B("0"),
	B("-0"),
	B("1.5e3"),
	B("1E+2"),
	B("2e-3"),
	B("-0.0"),
	B("0.1"),
	B("1e308"),
	B("1e-400"),                    /* underflows to 0: finite */
	B("\"x\""),
	B("true"),
	B("false"),
	B("null"),
	B("{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}"),
	B("{} \n\t\r"),                 /* trailing whitespace is fine */
	B("{}\n"),
	B(" \n{ \"a\" : 1 , \"b\" : [ ] } "),
	B("\"\\ud83d\\ude00\""),        /* a valid surrogate pair */
	B("\"\\uD834\\uDD1E\""),
	B("\"\\udbff\\udfff\""),        /* U+10FFFF */
	B("\"\\u00e9\\u20AC\""),
	B("\"\\ud7ff\\ue000\""),        /* around the surrogates */
	B("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""),
	B("\"a\\u0000b\""),             /* NUL in a value is allowed */
	B("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""),
	B("\"\x7F\""),                  /* DEL is not a JSON control */
	B("{\"a\":1,\"b\":1}"),
	B("{\"a\":1,\"ab\":2,\"A\":3}"),
	B("{\"a\":{\"x\":1},\"b\":{\"x\":1}}"), /* same key in different objects */
	B("[{\"k\":1},{\"k\":2}]"),
	B("{\"\":1}"),                  /* the empty key */
	B("-9223372036854775808"),
	B("9223372036854775807"),
	B("[-9223372036854775808,9223372036854775807]"),
	B("0.5e0"),
	B("12345678901234567890.5"),    /* not an integer: a finite double */
	B("1.7976931348623157e308"),
	/* valid JSON whatever the size: the route that reads one refuses it */
	B("1e400"),
	B("-1e400"),
	B("[1e999]"),
	B("9223372036854775808"),       /* one beyond int64 */
	B("-9223372036854775809"),
	B("18446744073709551616"),
	B("100000000000000000000"),
};

START_TEST(test_valid)
{
	const struct bytes *c = &valid_docs[_i];
	struct diag d;

	diag_clear(&d);
	ck_assert_msg(json_validate(c->s, c->len, &d) == 0, "case %d '%s': %s", _i, c->s, d.msg);
}
END_TEST

START_TEST(test_valid_parses)
{
	/* whatever the validator lets through, json-c builds a tree from */
	const struct bytes *c = &valid_docs[_i];
	json_object *obj = (json_object *)1;
	struct diag d;

	diag_clear(&d);
	ck_assert_msg(json_parse(ja, c->s, c->len, &obj, &d) == 0, "case %d '%s': %s", _i, c->s,
		      d.msg);
	if (strcmp(c->s, "null") == 0)
		ck_assert_ptr_null(obj);
	else
		ck_assert_ptr_nonnull(obj);
}
END_TEST

static const struct bytes invalid_docs[] = {
	B(""),
	B("   "),
	B("\xEF\xBB\xBF{}"),            /* byte-order mark */
	B("\xEF\xBB\xBF\"x\""),
	B(" \xEF\xBB\xBF{}"),
	B("\"\\ud800\""),               /* lone high surrogate */
	B("\"\\udbff\""),
	B("\"\\udc00\""),               /* lone low surrogate */
	B("\"\\udfff\""),
	B("\"\\ud800x\""),
	B("\"\\ud800\\u0041\""),        /* high followed by a non-surrogate */
	B("\"\\ud800\\ud800\""),        /* high followed by high */
	B("\"\\udc00\\ud800\""),        /* reversed pair */
	B("\"\\ud800\\n\""),
	B("{\"\\ud800\":1}"),           /* in a key too */
	B("{\"a\":1,\"a\":2}"),         /* duplicate keys */
	B("{\"a\":1,\"b\":2,\"a\":3}"),
	B("{\"n\\u0061me\":1,\"name\":2}"), /* equal after unescaping */
	B("{\"name\":1,\"n\\u0061me\":2}"),
	B("{\"/\":1,\"\\/\":2}"),
	B("{\"\\u00e9\":1,\"\xC3\xA9\":2}"),
	B("{\"\\ud83d\\ude00\":1,\"\xF0\x9F\x98\x80\":2}"),
	B("{\"x\":{\"b\":1,\"b\":2}}"), /* nested duplicate */
	B("[{\"b\":1,\"b\":1}]"),
	B("{\"\":1,\"\":2}"),
	B("{\"a\\u0000\":1}"),          /* NUL in a key */
	B("{\"\\u0000\":1}"),
	B("{} x"),                      /* trailing bytes */
	B("{}{}"),
	B("[1]]"),
	B("1 2"),
	B("{}\0"),
	B("\"x\"\x01"),
	B("NaN"),
	B("[NaN]"),
	B("Infinity"),
	B("-Infinity"),
	B("{\"a\":Infinity}"),
	B("01"),                        /* leading zeros */
	B("-01"),
	B("[00]"),
	B("{\"a\":007}"),
	B("1."),
	B(".5"),
	B("+1"),
	B("-"),
	B("1e"),
	B("1e+"),
	B("0x10"),
	B("\"\xFF\""),                  /* invalid UTF-8 in a string */
	B("\"\xC0\x80\""),              /* overlong */
	B("\"\xED\xA0\x80\""),          /* raw surrogate */
	B("\"\xF4\x90\x80\x80\""),      /* above U+10FFFF */
	B("\"\xC3\""),                  /* truncated */
	B("{\"\xFF\":1}"),
	B("\"a\x01" "b\""),             /* control characters in strings */
	B("\"a\nb\""),
	B("\"\t\""),
	B("\"\x1F\""),
	B("\"a\0b\""),
	B("\"\\x\""),                   /* bad escapes */
	B("\"\\u12\""),
	B("\"\\u12g4\""),
	B("\"\\U0041\""),
	B("\"\\'\""),
	B("\"abc"),                     /* unterminated */
	B("\"abc\\"),
	B("[1,]"),
	B("{\"a\":1,}"),
	B("[,1]"),
	B("{'a':1}"),
	B("{a:1}"),
	B("{\"a\" 1}"),
	B("{\"a\":}"),
	B("{1:2}"),
	B("[1 2]"),
	B("["),
	B("{"),
	B("{\"a\":[}"),
	B("tru"),
	B("nul"),
	B("True"),
	B("/* c */ {}"),
	B("\xFF"),
	B("\x00"),
};

START_TEST(test_invalid)
{
	const struct bytes *c = &invalid_docs[_i];
	struct diag d;

	diag_clear(&d);
	ck_assert_msg(json_validate(c->s, c->len, &d) == -1, "case %d should be rejected", _i);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert(d.msg[0] != '\0');
}
END_TEST

/* Nesting: n containers deep, arrays or objects. */
static char *
nested(int n, int objects)
{
	char *s = malloc((size_t)n * 6 + 8);
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		if (objects) {
			memcpy(s + o, "{\"a\":", 5);
			o += 5;
		} else {
			s[o++] = '[';
		}
	}
	s[o++] = '1';
	for (int i = 0; i < n; i++)
		s[o++] = objects ? '}' : ']';
	s[o] = '\0';
	return s;
}

START_TEST(test_depth)
{
	struct diag d;
	json_object *obj;
	int objects = _i;
	char *s;

	s = nested(JSON_MAX_DEPTH, objects);
	ck_assert_int_eq(json_validate(s, strlen(s), &d), 0);
	ck_assert_int_eq(json_parse(ja, s, strlen(s), &obj, &d), 0);
	ck_assert_ptr_nonnull(obj);
	free(s);

	s = nested(JSON_MAX_DEPTH + 1, objects);
	ck_assert_int_eq(json_validate(s, strlen(s), &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_int_eq(json_parse(ja, s, strlen(s), &obj, &d), -1);
	ck_assert_ptr_null(obj);
	free(s);

	/* far deeper: rejected, not a stack overflow */
	s = nested(100000, objects);
	ck_assert_int_eq(json_validate(s, strlen(s), &d), -1);
	free(s);
}
END_TEST

START_TEST(test_depth_mixed)
{
	struct diag d;
	char s[256];
	size_t o = 0;

	/* 16 arrays holding 16 objects: 32 levels */
	for (int i = 0; i < 16; i++)
		s[o++] = '[';
	for (int i = 0; i < 16; i++) {
		memcpy(s + o, "{\"k\":", 5);
		o += 5;
	}
	s[o++] = '0';
	for (int i = 0; i < 16; i++)
		s[o++] = '}';
	for (int i = 0; i < 16; i++)
		s[o++] = ']';
	ck_assert_int_eq(json_validate(s, o, &d), 0);
	/* and one more array around it */
	memmove(s + 1, s, o);
	s[0] = '[';
	s[o + 1] = ']';
	ck_assert_int_eq(json_validate(s, o + 2, &d), -1);
	/* depth counts nesting, not containers in sequence */
	const char *flat = "[[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],"
			   "[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[]]";

	ck_assert_int_eq(json_validate(flat, strlen(flat), &d), 0);
}
END_TEST

START_TEST(test_many_keys)
{
	/* more keys than the duplicate check's first allocation */
	char s[4096];
	size_t o = 0;
	struct diag d;

	s[o++] = '{';
	for (int i = 0; i < 200; i++)
		o += (size_t)sprintf(s + o, "%s\"k%d\":%d", i ? "," : "", i, i);
	s[o++] = '}';
	ck_assert_int_eq(json_validate(s, o, &d), 0);
	/* the same with one duplicate at the very end */
	o--;
	o += (size_t)sprintf(s + o, ",\"k\\u0031\\u0037\":0}"); /* "k17" */
	ck_assert_int_eq(json_validate(s, o, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_ptr_nonnull(strstr(d.msg, "k17"));
}
END_TEST

START_TEST(test_bom_message)
{
	struct diag d;

	ck_assert_int_eq(json_validate("\xEF\xBB\xBF{}", 5, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "byte 0"));
}
END_TEST

START_TEST(test_len_is_respected)
{
	struct diag d;

	/* the value ends at len even when more bytes follow */
	ck_assert_int_eq(json_validate("{}garbage", 2, &d), 0);
	ck_assert_int_eq(json_validate("[1,2]", 4, &d), -1);
}
END_TEST

/* ---------------------------------------------------------------- parse */

static json_object *
parse_ok(const char *s)
{
	json_object *obj = (json_object *)1;
	struct diag d;

	diag_clear(&d);
	ck_assert_msg(json_parse(ja, s, strlen(s), &obj, &d) == 0, "'%s': %s", s, d.msg);
	return obj;
}

START_TEST(test_parse_scalars)
{
	json_object *o;
	struct diag d;

	o = parse_ok("123");
	ck_assert(json_object_is_type(o, json_type_int));
	ck_assert_int_eq(json_object_get_int64(o), 123);
	o = parse_ok("-9223372036854775808");
	ck_assert_int_eq(json_object_get_int64(o), INT64_MIN);
	o = parse_ok("9223372036854775807\n");
	ck_assert_int_eq(json_object_get_int64(o), INT64_MAX);
	o = parse_ok("\"x\\u00e9\"");
	ck_assert(json_object_is_type(o, json_type_string));
	ck_assert_str_eq(json_object_get_string(o), "x\xC3\xA9");
	o = parse_ok("2.5");
	ck_assert(json_object_is_type(o, json_type_double));
	ck_assert_double_eq(json_object_get_double(o), 2.5);
	o = parse_ok("true");
	ck_assert(json_object_is_type(o, json_type_boolean));
	/* JSON null is a NULL tree */
	o = (json_object *)1;
	ck_assert_int_eq(json_parse(ja, "null", 4, &o, &d), 0);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(test_unknown_member)
{
	static const char *const known[] = {"name", "scopes"};
	json_object *o;

	o = parse_ok("{\"scopes\": [], \"name\": \"x\"}");
	ck_assert_ptr_null(json_unknown_member(o, known, 2));
	o = parse_ok("{}");
	ck_assert_ptr_null(json_unknown_member(o, known, 2));
	o = parse_ok("{\"name\": \"x\", \"scope\": []}");
	ck_assert_str_eq(json_unknown_member(o, known, 2), "scope");
	/* a name is matched whole: no prefix, no case folding */
	o = parse_ok("{\"Name\": 1}");
	ck_assert_str_eq(json_unknown_member(o, known, 2), "Name");
	o = parse_ok("{\"names\": 1}");
	ck_assert_str_eq(json_unknown_member(o, known, 2), "names");
	o = parse_ok("{\"name\": 1}");
	ck_assert_str_eq(json_unknown_member(o, known, 1) ? "?" : "none", "none");
	ck_assert_str_eq(json_unknown_member(o, known + 1, 1), "name");
}
END_TEST

START_TEST(test_parse_trailing_ws)
{
	json_object *o = parse_ok("{\"a\":1}\r\n\t ");

	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert_int_eq(json_object_get_int64(json_member(o, "a")), 1);
	o = parse_ok("[1,2] \n");
	ck_assert_uint_eq(json_object_array_length(o), 2);
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const struct bytes bad[] = {
		B("{\"a\":1,\"a\":2}"),
		B("{\"n\\u0061me\":1,\"name\":2}"),
		B("\xEF\xBB\xBF{}"),
		B("\"\\ud800\""),
		B("NaN"),
		B("{} x"),
		B("\"\xFF\""),
	};
	struct diag d;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_object *o = (json_object *)1;

		diag_clear(&d);
		ck_assert_msg(json_parse(ja, bad[i].s, bad[i].len, &o, &d) == -1, "case %zu", i);
		ck_assert_ptr_null(o);
		ck_assert_int_eq(d.code, DIAG_INVALID);
	}
}
END_TEST

/* json-c clamps an integer beyond int64; the tree holds a double with
 * the request's spelling instead, wherever it is */
START_TEST(test_parse_wide_integers)
{
	static const char doc[] = "{\"a\":[1,99999999999999999999,2.5,-9223372036854775809],"
				  "\"b\":9223372036854775807,\"c\":18446744073709551615,\"d\":1e400}";
	json_object *o = parse_ok(doc), *a = json_member(o, "a"), *v;
	struct diag d;
	int64_t n;

	ck_assert(json_object_is_type(json_object_array_get_idx(a, 0), json_type_int));
	v = json_object_array_get_idx(a, 1);
	ck_assert(json_object_is_type(v, json_type_double));
	ck_assert_str_eq(json_object_get_string(v), "99999999999999999999");
	ck_assert_double_eq(json_object_get_double(v), 1e20);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 2)), "2.5");
	v = json_object_array_get_idx(a, 3);
	ck_assert(json_object_is_type(v, json_type_double));
	ck_assert_str_eq(json_object_get_string(v), "-9223372036854775809");
	ck_assert(json_object_is_type(json_member(o, "b"), json_type_int));
	ck_assert_int_eq(json_object_get_int64(json_member(o, "b")), INT64_MAX);
	ck_assert_str_eq(json_object_get_string(json_member(o, "c")), "18446744073709551615");
	ck_assert_str_eq(json_object_get_string(json_member(o, "d")), "1e400");
	/* written back as sent */
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), doc);
	/* the getter names the member and its range */
	diag_clear(&d);
	ck_assert_int_eq(json_get_int64(o, "c", 0, 10, &n, &d), -1);
	ck_assert_str_eq(d.msg, "'c' must be from 0 to 10");
	ck_assert_int_eq(json_get_int64(o, "d", 0, 10, &n, &d), -1);
	ck_assert_str_eq(d.msg, "'d' must be an integer");
	/* a whole document */
	v = parse_ok("-100000000000000000000");
	ck_assert(json_object_is_type(v, json_type_double));
	ck_assert_str_eq(json_object_get_string(v), "-100000000000000000000");
}
END_TEST

START_TEST(test_parse_released_by_arena)
{
	json_object *o = parse_ok("{\"a\":[1,2,3],\"b\":\"x\"}");

	/* hold a reference: the arena's reset drops its own exactly once */
	json_object_get(o);
	arena_reset(ja);
	ck_assert_int_eq(json_object_put(o), 1); /* 1: that was the last one */
}
END_TEST

START_TEST(test_parse_nul_value)
{
	json_object *o = parse_ok("{\"s\":\"a\\u0000b\"}");
	const char *s;
	size_t len;
	struct diag d;

	ck_assert_int_eq(json_get_string(o, "s", &s, &len, &d), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(s, "a\0b", 3);
}
END_TEST

/* -------------------------------------------------------------- getters */

static const char getters_doc[] =
	"{\"name\":\"x\\u00e9\",\"n\":5,\"neg\":-9223372036854775808,"
	"\"max\":9223372036854775807,\"f\":1.5,\"whole\":2.0,\"b\":true,\"bf\":false,"
	"\"arr\":[1,\"two\"],\"obj\":{\"k\":1},\"nul\":null,\"empty\":\"\"}";

START_TEST(test_get_string)
{
	json_object *o = parse_ok(getters_doc);
	const char *s = NULL;
	size_t len = 0;
	struct diag d;

	ck_assert_int_eq(json_get_string(o, "name", &s, &len, &d), 0);
	ck_assert_str_eq(s, "x\xC3\xA9");
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(json_get_string(o, "empty", &s, &len, &d), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(json_get_string(o, "absent", &s, &len, &d), 1);
	diag_clear(&d);
	ck_assert_int_eq(json_get_string(o, "n", &s, &len, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_ptr_nonnull(strstr(d.msg, "'n'"));
	ck_assert_int_eq(json_get_string(o, "arr", &s, &len, &d), -1);
	ck_assert_int_eq(json_get_string(o, "b", &s, &len, &d), -1);
	/* null is not absent unless a getter says so */
	ck_assert_int_eq(json_get_string(o, "nul", &s, &len, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "'nul'"));
	/* keys compare exactly */
	ck_assert_int_eq(json_get_string(o, "Name", &s, &len, &d), 1);
}
END_TEST

START_TEST(test_get_int64)
{
	json_object *o = parse_ok(getters_doc);
	int64_t v = 0;
	struct diag d;

	ck_assert_int_eq(json_get_int64(o, "n", 0, 10, &v, &d), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(json_get_int64(o, "n", 5, 5, &v, &d), 0);
	v = 77;
	diag_clear(&d);
	ck_assert_int_eq(json_get_int64(o, "n", 6, 10, &v, &d), -1);
	ck_assert_int_eq(v, 77);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_ptr_nonnull(strstr(d.msg, "'n'"));
	ck_assert_int_eq(json_get_int64(o, "n", 0, 4, &v, &d), -1);
	ck_assert_int_eq(json_get_int64(o, "neg", INT64_MIN, INT64_MAX, &v, &d), 0);
	ck_assert_int_eq(v, INT64_MIN);
	ck_assert_int_eq(json_get_int64(o, "max", INT64_MIN, INT64_MAX, &v, &d), 0);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_int_eq(json_get_int64(o, "max", 0, INT64_MAX - 1, &v, &d), -1);
	ck_assert_int_eq(json_get_int64(o, "neg", INT64_MIN + 1, 0, &v, &d), -1);
	/* a fraction, even a whole one, is not an integer */
	ck_assert_int_eq(json_get_int64(o, "f", INT64_MIN, INT64_MAX, &v, &d), -1);
	ck_assert_int_eq(json_get_int64(o, "whole", INT64_MIN, INT64_MAX, &v, &d), -1);
	ck_assert_int_eq(json_get_int64(o, "name", INT64_MIN, INT64_MAX, &v, &d), -1);
	ck_assert_int_eq(json_get_int64(o, "b", INT64_MIN, INT64_MAX, &v, &d), -1);
	ck_assert_int_eq(json_get_int64(o, "nul", INT64_MIN, INT64_MAX, &v, &d), -1);
	ck_assert_int_eq(json_get_int64(o, "absent", INT64_MIN, INT64_MAX, &v, &d), 1);
}
END_TEST

START_TEST(test_get_int64_string_digits)
{
	/* "5" is a string, not an integer */
	json_object *o = parse_ok("{\"n\":\"5\"}");
	int64_t v;
	struct diag d;

	ck_assert_int_eq(json_get_int64(o, "n", 0, 10, &v, &d), -1);
}
END_TEST

START_TEST(test_get_bool)
{
	json_object *o = parse_ok(getters_doc);
	bool v = false;
	struct diag d;

	ck_assert_int_eq(json_get_bool(o, "b", &v, &d), 0);
	ck_assert(v);
	ck_assert_int_eq(json_get_bool(o, "bf", &v, &d), 0);
	ck_assert(!v);
	ck_assert_int_eq(json_get_bool(o, "n", &v, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "'n'"));
	ck_assert_int_eq(json_get_bool(o, "name", &v, &d), -1);
	ck_assert_int_eq(json_get_bool(o, "nul", &v, &d), -1);
	ck_assert_int_eq(json_get_bool(o, "absent", &v, &d), 1);
}
END_TEST

START_TEST(test_get_array)
{
	json_object *o = parse_ok(getters_doc);
	json_object *a = NULL;
	struct diag d;

	ck_assert_int_eq(json_get_array(o, "arr", &a, &d), 0);
	ck_assert_uint_eq(json_object_array_length(a), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 1)), "two");
	ck_assert_int_eq(json_get_array(o, "obj", &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "'obj'"));
	ck_assert_int_eq(json_get_array(o, "name", &a, &d), -1);
	ck_assert_int_eq(json_get_array(o, "nul", &a, &d), -1);
	ck_assert_int_eq(json_get_array(o, "absent", &a, &d), 1);
}
END_TEST

START_TEST(test_member)
{
	json_object *o = parse_ok(getters_doc);
	json_object *arr = json_member(o, "arr");
	const char *s;
	size_t len;
	int64_t v;
	bool b;
	struct diag d;

	ck_assert_ptr_nonnull(arr);
	ck_assert(json_object_is_type(arr, json_type_array));
	ck_assert_ptr_nonnull(json_member(o, "obj"));
	ck_assert_ptr_null(json_member(o, "absent"));
	ck_assert_ptr_null(json_member(o, "nul"));  /* JSON null is a NULL member */
	ck_assert_ptr_null(json_member(NULL, "a"));
	ck_assert_ptr_null(json_member(arr, "a")); /* not an object */
	/* the getters on a non-object find nothing */
	ck_assert_int_eq(json_get_string(arr, "a", &s, &len, &d), 1);
	ck_assert_int_eq(json_get_int64(NULL, "a", 0, 1, &v, &d), 1);
	ck_assert_int_eq(json_get_bool(arr, "a", &b, &d), 1);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("validate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_valid, 0, TEST_LEN(valid_docs));
	tcase_add_loop_test(tc, test_valid_parses, 0, TEST_LEN(valid_docs));
	tcase_add_loop_test(tc, test_invalid, 0, TEST_LEN(invalid_docs));
	tcase_add_loop_test(tc, test_depth, 0, 2);
	tcase_add_test(tc, test_depth_mixed);
	tcase_add_test(tc, test_many_keys);
	tcase_add_test(tc, test_bom_message);
	tcase_add_test(tc, test_len_is_respected);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse_scalars);
	tcase_add_test(tc, test_unknown_member);
	tcase_add_test(tc, test_parse_trailing_ws);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_parse_wide_integers);
	tcase_add_test(tc, test_parse_released_by_arena);
	tcase_add_test(tc, test_parse_nul_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("getters");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get_string);
	tcase_add_test(tc, test_get_int64);
	tcase_add_test(tc, test_get_int64_string_digits);
	tcase_add_test(tc, test_get_bool);
	tcase_add_test(tc, test_get_array);
	tcase_add_test(tc, test_member);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
