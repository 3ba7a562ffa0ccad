/* Unit tests for text.h, query.h and cursor.h: the byte-level checks every
 * parser of outside input relies on (API.md §0, "Names and ids", "Query
 * parameters", "Lists"). */
#include "autoconfig.h"

#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"
#include "diag.h"
#include "query.h"
#include "text.h"

/* Entries in a static table, as a loop test's end. */
#define TEST_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A byte string with an explicit length, so cases may hold NUL. */
struct bytes {
	const char *s;
	size_t len;
};

#define B(lit) {lit, sizeof(lit) - 1}

/* ------------------------------------------------------------- text_utf8 */

static const struct bytes utf8_good[] = {
	B(""),
	B("plain ascii"),
	B("a\0b"),                  /* NUL is valid UTF-8 (controls are separate) */
	B("\xC3\xA9"),              /* U+00E9 */
	B("\xC2\x80"),              /* U+0080, smallest 2-byte */
	B("\xDF\xBF"),              /* U+07FF, largest 2-byte */
	B("\xE0\xA0\x80"),          /* U+0800, smallest 3-byte */
	B("\xE2\x82\xAC"),          /* U+20AC */
	B("\xED\x9F\xBF"),          /* U+D7FF, just below the surrogates */
	B("\xEE\x80\x80"),          /* U+E000, just above */
	B("\xEF\xBF\xBF"),          /* U+FFFF */
	B("\xF0\x90\x80\x80"),      /* U+10000, smallest 4-byte */
	B("\xF0\x9D\x84\x9E"),      /* U+1D11E */
	B("\xF4\x8F\xBF\xBF"),      /* U+10FFFF, the last code point */
	B("a\xC3\xA9z\xF0\x9F\x98\x80!"),
};

static const struct bytes utf8_bad[] = {
	B("\x80"),                  /* lone continuation byte */
	B("\xBF"),
	B("a\x80z"),
	B("\xC0\x80"),              /* overlong NUL */
	B("\xC1\xBF"),              /* overlong U+007F */
	B("\xE0\x80\x80"),          /* overlong 3-byte */
	B("\xE0\x9F\xBF"),          /* overlong U+07FF */
	B("\xF0\x80\x80\x80"),      /* overlong 4-byte */
	B("\xF0\x8F\xBF\xBF"),      /* overlong U+FFFF */
	B("\xED\xA0\x80"),          /* U+D800 high surrogate */
	B("\xED\xAF\xBF"),          /* U+DBFF */
	B("\xED\xB0\x80"),          /* U+DC00 low surrogate */
	B("\xED\xBF\xBF"),          /* U+DFFF */
	B("\xED\xA0\xBD\xED\xB8\x80"), /* CESU-8 surrogate pair */
	B("\xF4\x90\x80\x80"),      /* U+110000 */
	B("\xF5\x80\x80\x80"),
	B("\xF7\xBF\xBF\xBF"),
	B("\xF8\x88\x80\x80\x80"),  /* old 5-byte form */
	B("\xFE"),
	B("\xFF"),
	B("\xC3"),                  /* truncated 2-byte */
	B("a\xC3"),
	B("\xE2\x82"),              /* truncated 3-byte */
	B("\xF0\x9D\x84"),          /* truncated 4-byte */
	B("\xC3\x41"),              /* bad continuation */
	B("\xE2\x28\xA1"),
	B("\xF0\x9D\x28\x9E"),
	B("\xC3\xA9\xC3"),          /* good then truncated */
};

START_TEST(test_utf8_good)
{
	const struct bytes *c = &utf8_good[_i];

	ck_assert_msg(text_valid_utf8(c->s, c->len), "case %d should be valid", _i);
}
END_TEST

START_TEST(test_utf8_bad)
{
	const struct bytes *c = &utf8_bad[_i];

	ck_assert_msg(!text_valid_utf8(c->s, c->len), "case %d should be invalid", _i);
}
END_TEST

START_TEST(test_utf8_uses_len)
{
	/* the length, not a NUL, ends the input */
	ck_assert(text_valid_utf8("\xC3\xA9\xFF", 2));
	ck_assert(!text_valid_utf8("\xC3\xA9\xFF", 3));
	ck_assert(!text_valid_utf8("\xC3\xA9", 1));
}
END_TEST

START_TEST(test_utf8_chars)
{
	ck_assert_uint_eq(text_utf8_chars("", 0), 0);
	ck_assert_uint_eq(text_utf8_chars("abc", 3), 3);
	ck_assert_uint_eq(text_utf8_chars("a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E", 10), 4);
	ck_assert_uint_eq(text_utf8_chars("a\0b", 3), 3);
}
END_TEST

START_TEST(test_has_control)
{
	ck_assert(!text_has_control("", 0));
	ck_assert(!text_has_control("plain text ~!", 13));
	ck_assert(!text_has_control("\xC3\xA9\xE2\x82\xAC", 5));
	ck_assert(!text_has_control("\x80\xFF", 2)); /* not C0 */
	ck_assert(text_has_control("a\0b", 3));
	ck_assert(text_has_control("\x01", 1));
	ck_assert(text_has_control("tab\there", 8));
	ck_assert(text_has_control("nl\n", 3));
	ck_assert(text_has_control("cr\r", 3));
	ck_assert(text_has_control("\x1F", 1));
	ck_assert(text_has_control("del\x7F", 4));
	ck_assert(!text_has_control(" ", 1));
	/* C1: U+0080..U+009F; U+00A0 (no-break space) and up are not */
	ck_assert(text_has_control("a\xC2\x80", 3));
	ck_assert(text_has_control("a\xC2\x85" "b", 4));
	ck_assert(text_has_control("\xC2\x9F", 2));
	ck_assert(!text_has_control("\xC2\xA0\xC2\xBF\xC3\x80", 6));
	ck_assert(!text_has_control("a\xC2", 2)); /* a lead byte alone: UTF-8's check */
	/* only the first len bytes count */
	ck_assert(!text_has_control("ab\n", 2));
}
END_TEST

START_TEST(test_valid_name)
{
	ck_assert(text_valid_name("a", 1, 1));
	ck_assert(text_valid_name("my-service.v2", 13, 255));
	ck_assert(text_valid_name("with space", 10, 255));
	ck_assert(text_valid_name(" padded ", 8, 255)); /* names are exact bytes */
	ck_assert(!text_valid_name("", 0, 255));
	ck_assert(!text_valid_name("ab", 2, 1));
	/* the limit counts code points, not bytes */
	ck_assert(text_valid_name("\xC3\xA9\xC3\xA9", 4, 2));
	ck_assert(!text_valid_name("\xC3\xA9\xC3\xA9\xC3\xA9", 6, 2));
	ck_assert(text_valid_name("\xF0\x9F\x98\x80", 4, 1));
	ck_assert(!text_valid_name("a\0b", 3, 255));
	ck_assert(!text_valid_name("a\tb", 3, 255));
	ck_assert(!text_valid_name("a\nb", 3, 255));
	ck_assert(!text_valid_name("a\x7F", 2, 255));
	ck_assert(!text_valid_name("a\xFF", 2, 255));
	ck_assert(!text_valid_name("\xED\xA0\x80", 3, 255));
	ck_assert(!text_valid_name("\xC0\xAF", 2, 255));
}
END_TEST

START_TEST(test_valid_name_exact_limit)
{
	char s[300];

	memset(s, 'x', sizeof s);
	ck_assert(text_valid_name(s, 255, 255));
	ck_assert(!text_valid_name(s, 256, 255));
	ck_assert(text_valid_name(s, 120, 120));
	ck_assert(!text_valid_name(s, 121, 120));
}
END_TEST

/* ------------------------------------------------------------ text_parse_id */

struct id_case {
	const char *s;
	bool ok;
	int64_t v;
};

static const struct id_case id_cases[] = {
	{"1", true, 1},
	{"7", true, 7},
	{"42", true, 42},
	{"1000000", true, 1000000},
	{"9223372036854775807", true, INT64_MAX},
	{"9223372036854775806", true, INT64_MAX - 1},
	{"999999999999999999", true, INT64_C(999999999999999999)},
	{"1000000000000000000", true, INT64_C(1000000000000000000)},
	{"0", false, 0},
	{"00", false, 0},
	{"01", false, 0},
	{"007", false, 0},
	{"+1", false, 0},
	{"-1", false, 0},
	{"-0", false, 0},
	{" 1", false, 0},
	{"1 ", false, 0},
	{"1.0", false, 0},
	{"1e3", false, 0},
	{"0x10", false, 0},
	{"12a", false, 0},
	{"", false, 0},
	{"9223372036854775808", false, 0},   /* 2^63 */
	{"9223372036854775809", false, 0},
	{"9999999999999999999", false, 0},   /* 19 digits, above 2^63-1 */
	{"10000000000000000000", false, 0},  /* 20 digits */
	{"18446744073709551615", false, 0},  /* 2^64-1 */
	{"18446744073709551616", false, 0},  /* 2^64: must not wrap */
	{"36893488147419103233", false, 0},  /* 2^65+1: wraps to 1 in uint64 */
	{"\xD9\xA1", false, 0},              /* ARABIC-INDIC DIGIT ONE */
};

START_TEST(test_format_ints)
{
	char out[TEXT_INT_LEN + 2], ref[32];
	const uint64_t u[] = {0, 1, 9, 10, 99, 100, 1000000, UINT64_MAX / 10, UINT64_MAX};
	const int64_t i[] = {0, -1, 1, -10, INT64_MAX, INT64_MIN, INT64_MIN + 1};

	for (size_t k = 0; k < sizeof u / sizeof u[0]; k++) {
		snprintf(ref, sizeof ref, "%" PRIu64, u[k]);
		ck_assert_uint_eq(text_format_u64(u[k], out), strlen(ref));
		ck_assert_str_eq(out, ref);
	}
	for (size_t k = 0; k < sizeof i / sizeof i[0]; k++) {
		snprintf(ref, sizeof ref, "%" PRId64, i[k]);
		ck_assert_uint_eq(text_format_i64(i[k], out), strlen(ref));
		ck_assert_str_eq(out, ref);
	}
}
END_TEST

/* Fixed-width fields: zero-padded, the low digits kept, no NUL written. */
START_TEST(test_put_digits)
{
	char out[8] = "xxxxxxx";

	ck_assert_ptr_eq(text_put_digits(out, 42, 6), out + 6);
	ck_assert_str_eq(out, "000042x");
	text_put_digits(out, 123456789, 4);
	ck_assert_str_eq(out, "678942x");
	text_put_digits(out, 0, 1);
	ck_assert_str_eq(out, "078942x");
}
END_TEST

START_TEST(test_parse_id)
{
	const struct id_case *c = &id_cases[_i];
	int64_t v = -12345;
	bool ok = text_parse_id(c->s, strlen(c->s), &v);

	ck_assert_msg(ok == c->ok, "'%s': expected %s", c->s, c->ok ? "ok" : "rejected");
	if (c->ok)
		ck_assert_int_eq(v, c->v);
}
END_TEST

START_TEST(test_parse_id_len)
{
	int64_t v = 0;

	/* only len bytes are read */
	ck_assert(text_parse_id("12345", 2, &v));
	ck_assert_int_eq(v, 12);
	ck_assert(!text_parse_id("1\0", 2, &v));
	ck_assert(!text_parse_id("5", 0, &v));
}
END_TEST

/* --------------------------------------------------------- text_pct_decode */

struct pct_case {
	const char *in;
	bool plus;
	long len;           /* -1: malformed */
	const char *out;    /* len bytes */
};

static const struct pct_case pct_cases[] = {
	{"", false, 0, ""},
	{"abc", false, 3, "abc"},
	{"%41", false, 1, "A"},
	{"%61%62c", false, 3, "abc"},
	{"%2f%2F", false, 2, "//"},
	{"%aB%Ab", false, 2, "\xAB\xAB"},
	{"%00", false, 1, "\0"},
	{"a%00b", false, 3, "a\0b"},
	{"%e9", false, 1, "\xE9"},        /* bytes, not validated here */
	{"%C3%A9", false, 2, "\xC3\xA9"},
	{"a+b", false, 3, "a+b"},
	{"a+b", true, 3, "a b"},
	{"%2B", true, 1, "+"},
	{"%2b+%20", true, 3, "+  "},
	{"++", true, 2, "  "},
	{"%25", false, 1, "%"},
	{"%2525", false, 3, "%25"},       /* decoded once only */
	{"%", false, -1, NULL},
	{"%4", false, -1, NULL},
	{"%zz", false, -1, NULL},
	{"%4g", false, -1, NULL},
	{"%g4", false, -1, NULL},
	{"abc%", false, -1, NULL},
	{"abc%4", false, -1, NULL},
	{"%%41", false, -1, NULL},
	{"% 41", false, -1, NULL},
	{"%+1", true, -1, NULL},
	{"%-1", false, -1, NULL},
	{"%\xC3\xA9", false, -1, NULL},
};

START_TEST(test_pct_decode)
{
	const struct pct_case *c = &pct_cases[_i];
	size_t n = strlen(c->in);
	char out[64];
	long r;

	memset(out, '#', sizeof out);
	r = text_pct_decode(c->in, n, out, c->plus);
	ck_assert_msg(r == c->len, "'%s': got %ld, want %ld", c->in, r, c->len);
	if (c->len > 0)
		ck_assert_mem_eq(out, c->out, (size_t)c->len);
	/* never writes past the decoded length */
	if (c->len >= 0)
		ck_assert_int_eq(out[c->len], '#');
}
END_TEST

START_TEST(test_pct_decode_len)
{
	char out[8];

	/* an escape cut by len is malformed even if the bytes follow */
	ck_assert_int_eq(text_pct_decode("%41", 2, out, false), -1);
	ck_assert_int_eq(text_pct_decode("ab%41", 2, out, false), 2);
	ck_assert_mem_eq(out, "ab", 2);
}
END_TEST

/* ------------------------------------------------------------------ query */

static struct arena *qa;

static void
arena_setup(void)
{
	qa = arena_new(4096);
}

static void
arena_teardown(void)
{
	arena_free(qa);
	qa = NULL;
}

static int
parse_qs(const char *qs, struct query *q, struct diag *d)
{
	diag_clear(d);
	return query_parse(qa, qs, strlen(qs), q, d);
}

START_TEST(test_query_basic)
{
	struct query q;
	struct diag d;
	const char *v = NULL;
	size_t len = 99;

	ck_assert_int_eq(parse_qs("a=1&b=x+y&c", &q, &d), 0);
	ck_assert_uint_eq(q.n, 3);
	ck_assert_str_eq(q.items[0].name, "a");
	ck_assert_uint_eq(q.items[0].name_len, 1);
	ck_assert_str_eq(q.items[0].value, "1");
	ck_assert_uint_eq(q.items[0].value_len, 1);
	ck_assert_str_eq(q.items[1].name, "b");
	ck_assert_str_eq(q.items[1].value, "x y");
	ck_assert_uint_eq(q.items[1].value_len, 3);
	ck_assert_str_eq(q.items[2].name, "c");
	ck_assert_str_eq(q.items[2].value, "");
	ck_assert_uint_eq(q.items[2].value_len, 0);

	ck_assert_int_eq(query_get(&q, "b", &v, &len), 1);
	ck_assert_str_eq(v, "x y");
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(query_get(&q, "c", &v, &len), 1);
	ck_assert_str_eq(v, "");
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(query_count(&q, "a"), 1);
}
END_TEST

START_TEST(test_query_empty)
{
	struct query q;
	struct diag d;
	const char *v = "untouched";
	size_t len = 7;

	ck_assert_int_eq(parse_qs("", &q, &d), 0);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_eq(query_get(&q, "a", &v, &len), 0);
	ck_assert_str_eq(v, "untouched");
	ck_assert_uint_eq(len, 7);
	ck_assert_uint_eq(query_count(&q, "a"), 0);

	/* empty pieces between separators are not parameters */
	ck_assert_int_eq(parse_qs("&&a=1&&", &q, &d), 0);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_int_eq(query_get(&q, "a", &v, &len), 1);
	ck_assert_str_eq(v, "1");
}
END_TEST

START_TEST(test_query_empty_values)
{
	struct query q;
	struct diag d;
	const char *v;
	size_t len;

	ck_assert_int_eq(parse_qs("a=&b&c==", &q, &d), 0);
	ck_assert_uint_eq(q.n, 3);
	ck_assert_int_eq(query_get(&q, "a", &v, &len), 1);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(query_get(&q, "b", &v, &len), 1);
	ck_assert_uint_eq(len, 0);
	/* only the first '=' separates */
	ck_assert_int_eq(query_get(&q, "c", &v, &len), 1);
	ck_assert_str_eq(v, "=");
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_query_decoding)
{
	struct query q;
	struct diag d;
	const char *v;
	size_t len;

	ck_assert_int_eq(parse_qs("a%20b=c%26d%3De&k%2By=%2B+x&%C3%A9=%E2%82%AC", &q, &d), 0);
	ck_assert_uint_eq(q.n, 3);
	ck_assert_int_eq(query_get(&q, "a b", &v, &len), 1);
	ck_assert_str_eq(v, "c&d=e");
	ck_assert_int_eq(query_get(&q, "k+y", &v, &len), 1);
	ck_assert_str_eq(v, "+ x");
	ck_assert_int_eq(query_get(&q, "\xC3\xA9", &v, &len), 1);
	ck_assert_str_eq(v, "\xE2\x82\xAC");
	/* names compare exactly: no case folding */
	ck_assert_int_eq(query_get(&q, "A B", &v, &len), 0);
}
END_TEST

START_TEST(test_query_repeated)
{
	struct query q;
	struct diag d;
	const char *v;
	size_t len;

	ck_assert_int_eq(parse_qs("tag=a&x=1&tag=b&tag=", &q, &d), 0);
	ck_assert_uint_eq(q.n, 4);
	ck_assert_int_eq(query_get(&q, "tag", &v, &len), -1);
	ck_assert_uint_eq(query_count(&q, "tag"), 3);
	ck_assert_int_eq(query_get(&q, "x", &v, &len), 1);
	ck_assert_str_eq(v, "1");
	/* repetition counts after decoding: "a" and "%61" are one name */
	ck_assert_int_eq(parse_qs("a=1&%61=2", &q, &d), 0);
	ck_assert_int_eq(query_get(&q, "a", &v, &len), -1);
	ck_assert_uint_eq(query_count(&q, "a"), 2);
	/* the same value twice is still twice */
	ck_assert_int_eq(parse_qs("limit=5&limit=5", &q, &d), 0);
	ck_assert_int_eq(query_get(&q, "limit", &v, &len), -1);
}
END_TEST

static const char *const query_bad[] = {
	"a=%",
	"a=%4",
	"a=%zz",
	"a=1&b=%G0",
	"%=1",
	"a%=1",
	"a=1&%",
	"x=abc%2",
};

START_TEST(test_query_malformed)
{
	struct query q;
	struct diag d;

	ck_assert_int_eq(parse_qs(query_bad[_i], &q, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert(d.msg[0] != '\0');
}
END_TEST

START_TEST(test_query_nul)
{
	struct query q;
	struct diag d;
	const char *v;
	size_t len;

	ck_assert_int_eq(parse_qs("v=a%00b&n%00m=1", &q, &d), 0);
	ck_assert_uint_eq(q.n, 2);
	ck_assert_int_eq(query_get(&q, "v", &v, &len), 1);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(v, "a\0b", 4); /* and NUL-terminated */
	ck_assert_uint_eq(q.items[1].name_len, 3);
	ck_assert_mem_eq(q.items[1].name, "n\0m", 4);
	/* a name with a NUL is not the name before it */
	ck_assert_int_eq(query_get(&q, "n", &v, &len), 0);
}
END_TEST

START_TEST(test_query_len)
{
	struct query q;
	struct diag d;
	const char *v;
	size_t len;
	const char *qs = "a=1&b=2";

	diag_clear(&d);
	ck_assert_int_eq(query_parse(qa, qs, 3, &q, &d), 0);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_int_eq(query_get(&q, "b", &v, &len), 0);
}
END_TEST

static char *
make_params(size_t n)
{
	char *s = malloc(n * 16 + 1);
	size_t o = 0;

	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(s + o, "%sp%zu=%zu", i ? "&" : "", i, i);
	return s;
}

START_TEST(test_query_max_params)
{
	struct query q;
	struct diag d;
	const char *v;
	size_t len;
	char *s = make_params(QUERY_MAX_PARAMS);

	ck_assert_int_eq(parse_qs(s, &q, &d), 0);
	ck_assert_uint_eq(q.n, QUERY_MAX_PARAMS);
	ck_assert_int_eq(query_get(&q, "p255", &v, &len), 1);
	ck_assert_str_eq(v, "255");
	free(s);

	s = make_params(QUERY_MAX_PARAMS + 1);
	ck_assert_int_eq(parse_qs(s, &q, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	free(s);
}
END_TEST

/* ----------------------------------------------------------------- cursor */

static void
round_trip(const char *const *fields, size_t n)
{
	struct diag d;
	char *out[CURSOR_MAX_FIELDS];
	char *enc = cursor_encode(qa, fields, n);

	ck_assert_ptr_nonnull(enc);
	/* base64url without padding */
	ck_assert_uint_eq(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789-_"), strlen(enc));
	diag_clear(&d);
	ck_assert_int_eq(cursor_decode(qa, enc, strlen(enc), out, n, &d), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(out[i], fields[i]);
}

START_TEST(test_cursor_round_trip)
{
	static const char *const one[] = {"123"};
	static const char *const two[] = {"2024-01-02 03:04:05.123456", "42"};
	static const char *const three[] = {"a", "bc", "def"};
	static const char *const four[] = {"x", "9223372036854775807", "\xC3\xA9t\xC3\xA9",
					   "k/e+y="};
	static const char *const empty_first[] = {"", "7"};

	round_trip(one, 1);
	round_trip(two, 2);
	round_trip(three, 3);
	round_trip(four, 4);
	round_trip(empty_first, 2);
}
END_TEST

START_TEST(test_cursor_lengths)
{
	/* every raw length modulo 3 (padding-free tails of 2 and 3 chars) */
	char field[40];

	for (size_t n = 1; n < sizeof field; n++) {
		const char *f[1] = {field};

		memset(field, 'a' + (int)(n % 26), n);
		field[n] = '\0';
		round_trip(f, 1);
	}
}
END_TEST

START_TEST(test_cursor_exact)
{
	static const char *const f1[] = {"1"};
	static const char *const f2[] = {"12"};
	static const char *const f3[] = {"123"};
	static const char *const fab[] = {"a", "b"};
	static const char *const furl[] = {"\xFB\xEF"};

	ck_assert_str_eq(cursor_encode(qa, f1, 1), "MQ");
	ck_assert_str_eq(cursor_encode(qa, f2, 1), "MTI");
	ck_assert_str_eq(cursor_encode(qa, f3, 1), "MTIz");
	ck_assert_str_eq(cursor_encode(qa, fab, 2), "YR9i");
	/* the URL-safe alphabet: '-' and '_' instead of '+' and '/' */
	ck_assert_str_eq(cursor_encode(qa, furl, 1), "--8");
	round_trip(furl, 1);
}
END_TEST

static const char *const cursor_bad_text[] = {
	"MQ==",     /* padding is not part of the alphabet */
	"MQ=",
	"M+I",      /* standard base64 characters */
	"M/I",
	"M I",
	"MTI.",
	"M",        /* a length of 4k+1 cannot be base64 */
	"MTIzN",
	"",
	"\xC3\xA9",
};

START_TEST(test_cursor_bad_base64)
{
	struct diag d;
	char *out[1];
	const char *t = cursor_bad_text[_i];

	diag_clear(&d);
	ck_assert_int_eq(cursor_decode(qa, t, strlen(t), out, 1, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
}
END_TEST

START_TEST(test_cursor_field_count)
{
	static const char *const two[] = {"5", "6"};
	struct diag d;
	char *out[4];
	char *enc = cursor_encode(qa, two, 2);

	ck_assert_int_eq(cursor_decode(qa, enc, strlen(enc), out, 1, &d), -1);
	ck_assert_int_eq(cursor_decode(qa, enc, strlen(enc), out, 3, &d), -1);
	ck_assert_int_eq(cursor_decode(qa, enc, strlen(enc), out, 2, &d), 0);
	ck_assert_str_eq(out[0], "5");
	ck_assert_str_eq(out[1], "6");
}
END_TEST

START_TEST(test_cursor_nul)
{
	struct diag d;
	char *out[2];

	/* "1\0" encoded: the decoded bytes hold a NUL */
	ck_assert_int_eq(cursor_decode(qa, "MQA", 3, out, 1, &d), -1);
	/* "\0\0\0" */
	ck_assert_int_eq(cursor_decode(qa, "AAAA", 4, out, 1, &d), -1);
	/* a NUL in the text itself */
	ck_assert_int_eq(cursor_decode(qa, "MQ\0A", 4, out, 1, &d), -1);
	ck_assert_int_eq(cursor_decode(qa, "MTIz", 4, out, 1, &d), 0);
	ck_assert_str_eq(out[0], "123");
}
END_TEST

START_TEST(test_cursor_too_long)
{
	struct diag d;
	char field[1000];
	char *out[1];
	const char *f[1] = {field};
	char *enc;

	/* 768 raw bytes are exactly CURSOR_MAX_LEN characters */
	memset(field, 'q', 768);
	field[768] = '\0';
	enc = cursor_encode(qa, f, 1);
	ck_assert_uint_eq(strlen(enc), CURSOR_MAX_LEN);
	ck_assert_int_eq(cursor_decode(qa, enc, strlen(enc), out, 1, &d), 0);
	ck_assert_str_eq(out[0], field);

	memset(field, 'q', 769);
	field[769] = '\0';
	enc = cursor_encode(qa, f, 1);
	ck_assert_uint_gt(strlen(enc), CURSOR_MAX_LEN);
	ck_assert_int_eq(cursor_decode(qa, enc, strlen(enc), out, 1, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc;

	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, test_utf8_good, 0, TEST_LEN(utf8_good));
	tcase_add_loop_test(tc, test_utf8_bad, 0, TEST_LEN(utf8_bad));
	tcase_add_test(tc, test_utf8_uses_len);
	tcase_add_test(tc, test_utf8_chars);
	tcase_add_test(tc, test_has_control);
	tcase_add_test(tc, test_valid_name);
	tcase_add_test(tc, test_valid_name_exact_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("id");
	tcase_add_loop_test(tc, test_parse_id, 0, TEST_LEN(id_cases));
	tcase_add_test(tc, test_parse_id_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_format_ints);
	tcase_add_test(tc, test_put_digits);
	suite_add_tcase(s, tc);

	tc = tcase_create("pct");
	tcase_add_loop_test(tc, test_pct_decode, 0, TEST_LEN(pct_cases));
	tcase_add_test(tc, test_pct_decode_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_query_basic);
	tcase_add_test(tc, test_query_empty);
	tcase_add_test(tc, test_query_empty_values);
	tcase_add_test(tc, test_query_decoding);
	tcase_add_test(tc, test_query_repeated);
	tcase_add_loop_test(tc, test_query_malformed, 0, TEST_LEN(query_bad));
	tcase_add_test(tc, test_query_nul);
	tcase_add_test(tc, test_query_len);
	tcase_add_test(tc, test_query_max_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("cursor");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_cursor_round_trip);
	tcase_add_test(tc, test_cursor_lengths);
	tcase_add_test(tc, test_cursor_exact);
	tcase_add_loop_test(tc, test_cursor_bad_base64, 0, TEST_LEN(cursor_bad_text));
	tcase_add_test(tc, test_cursor_field_count);
	tcase_add_test(tc, test_cursor_nul);
	tcase_add_test(tc, test_cursor_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(text_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
