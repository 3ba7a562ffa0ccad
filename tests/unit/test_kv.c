/* Unit tests for kv_pattern.h: key, TTL, limit and content-type
 * validators, the filter-pattern translation to LIKE (checked against the
 * reference matcher), entity tags and the precondition headers
 * (API.md §5). */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "kv_pattern.h"

struct bytes {
	const char *s;
	size_t len;
};

#define B(lit) {lit, sizeof(lit) - 1}

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

/* ------------------------------------------------------------------ keys */

START_TEST(test_key_ok)
{
	static const struct bytes ok[] = {
		B("a"), B("..."), B(".a"), B("a."), B("a/b"), B("a b"), B("caf\xC3\xA9"),
		B("%_\\$*!"), B("\xF0\x9F\x98\x80"), B(" "), B("a "),
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		ck_assert_int_eq(kv_key_check(ok[i].s, ok[i].len), KV_KEY_OK);
}
END_TEST

START_TEST(test_key_length)
{
	char k[KV_KEY_MAX + 2];

	memset(k, 'x', sizeof k);
	ck_assert_int_eq(kv_key_check(k, KV_KEY_MAX), KV_KEY_OK);
	ck_assert_int_eq(kv_key_check(k, KV_KEY_MAX + 1), KV_KEY_TOO_LONG);
	ck_assert_int_eq(kv_key_check(k, 0), KV_KEY_EMPTY);
	/* 255 bytes of 2-byte characters... plus one byte too many */
	for (size_t i = 0; i + 1 < KV_KEY_MAX; i += 2) {
		k[i] = '\xC3';
		k[i + 1] = '\xA9';
	}
	k[KV_KEY_MAX - 1] = 'x';
	ck_assert_int_eq(kv_key_check(k, KV_KEY_MAX), KV_KEY_OK);
	k[KV_KEY_MAX] = 'y';
	ck_assert_int_eq(kv_key_check(k, KV_KEY_MAX + 1), KV_KEY_TOO_LONG);
}
END_TEST

START_TEST(test_key_bad)
{
	ck_assert_int_eq(kv_key_check(".", 1), KV_KEY_DOT);
	ck_assert_int_eq(kv_key_check("..", 2), KV_KEY_DOT);
	ck_assert_int_eq(kv_key_check("a\0b", 3), KV_KEY_CONTROL);
	ck_assert_int_eq(kv_key_check("a\nb", 3), KV_KEY_CONTROL);
	ck_assert_int_eq(kv_key_check("a\x7f", 2), KV_KEY_CONTROL);
	ck_assert_int_eq(kv_key_check("\xC3", 1), KV_KEY_NOT_UTF8);
	ck_assert_int_eq(kv_key_check("\xC0\xAF", 2), KV_KEY_NOT_UTF8);
	ck_assert_int_eq(kv_key_check("\xED\xA0\x80", 3), KV_KEY_NOT_UTF8);
	ck_assert_ptr_nonnull(kv_key_error_text(KV_KEY_TOO_LONG));
	ck_assert(strstr(kv_key_error_text(KV_KEY_TOO_LONG), "255") != NULL);
}
END_TEST

/* ------------------------------------------------------------------- TTL */

START_TEST(test_ttl)
{
	static const struct bytes bad[] = {
		B(""), B("0"), B("00"), B("-1"), B("+1"), B("abc"), B("1.5"), B("1e3"), B(" 5"),
		B("5 "), B("315360001"), B("99999999999999999999999"), B("0x10"), B("1\0"),
	};
	int64_t v = 0;

	ck_assert(kv_ttl_parse("1", 1, &v));
	ck_assert_int_eq(v, 1);
	ck_assert(kv_ttl_parse("315360000", 9, &v));
	ck_assert_int_eq(v, KV_TTL_MAX);
	ck_assert(kv_ttl_parse("007", 3, &v));
	ck_assert_int_eq(v, 7);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!kv_ttl_parse(bad[i].s, bad[i].len, &v), "accepted case %zu", i);
}
END_TEST

START_TEST(test_limit_flag_content_type)
{
	int n = 0;

	ck_assert(kv_limit_parse("1", 1, KV_LIST_MAX, &n) && n == 1);
	ck_assert(kv_limit_parse("10000", 5, KV_LIST_MAX, &n) && n == 10000);
	ck_assert(!kv_limit_parse("10001", 5, KV_LIST_MAX, &n));
	ck_assert(!kv_limit_parse("0", 1, KV_LIST_MAX, &n));
	ck_assert(!kv_limit_parse("01", 2, KV_LIST_MAX, &n));
	ck_assert(!kv_limit_parse("-1", 2, KV_LIST_MAX, &n));
	ck_assert(!kv_limit_parse("", 0, KV_LIST_MAX, &n));

	ck_assert_int_eq(kv_flag_parse("1", 1), 1);
	ck_assert_int_eq(kv_flag_parse("true", 4), 1);
	ck_assert_int_eq(kv_flag_parse("0", 1), 0);
	ck_assert_int_eq(kv_flag_parse("false", 5), 0);
	ck_assert_int_eq(kv_flag_parse("", 0), -1);
	ck_assert_int_eq(kv_flag_parse("yes", 3), -1);
	ck_assert_int_eq(kv_flag_parse("2", 1), -1);

	ck_assert(kv_content_type_valid("application/octet-stream", 24));
	ck_assert(kv_content_type_valid("text/plain; charset=utf-8", 25));
	ck_assert(!kv_content_type_valid("", 0));
	ck_assert(!kv_content_type_valid("a\tb", 3));
	ck_assert(!kv_content_type_valid("caf\xC3\xA9", 5));
	char big[KV_CONTENT_TYPE_MAX + 1];

	memset(big, 'a', sizeof big);
	ck_assert(kv_content_type_valid(big, KV_CONTENT_TYPE_MAX));
	ck_assert(!kv_content_type_valid(big, KV_CONTENT_TYPE_MAX + 1));
}
END_TEST

/* -------------------------------------------------------------- patterns */

struct translation {
	const char *pat, *like, *prefix;
	bool per_char;
};

static const struct translation translations[] = {
	{"abc", "abc", "abc%", false},
	{"a*", "a%", "a%", false},
	{"*", "%", "%", false},
	{"a**b", "a%b", "a%", false},
	{"***", "%", "%", false},
	{"a$c", "a_c", "a%", true},
	{"$", "_", "%", true},
	{"*$*", "%_%", "%", true},
	{"50%_off!", "50!%!_off!!", "50!%!_off!!%", false},
	{"a\\b*", "a\\b%", "a\\b%", false},
	{"user:*:x%", "user:%:x!%", "user:%", false},
	{"caf\xC3\xA9$", "caf\xC3\xA9_", "caf\xC3\xA9%", true},
};

START_TEST(test_filter_translation)
{
	const struct translation *t = &translations[_i];
	struct kv_filter f;
	struct diag d;

	ck_assert_int_eq(kv_filter_compile(arena, t->pat, strlen(t->pat), &f, &d), 0);
	ck_assert_str_eq(f.like, t->like);
	ck_assert_uint_eq(f.like_len, strlen(t->like));
	ck_assert_str_eq(f.prefix, t->prefix);
	ck_assert_uint_eq(f.prefix_len, strlen(t->prefix));
	ck_assert(f.per_char == t->per_char);
}
END_TEST

START_TEST(test_filter_rejects)
{
	char big[KV_FILTER_MAX + 1];
	struct kv_filter f;
	struct diag d;

	memset(big, 'a', sizeof big);
	ck_assert_int_eq(kv_filter_compile(arena, big, KV_FILTER_MAX, &f, &d), 0);
	ck_assert_int_eq(kv_filter_compile(arena, big, KV_FILTER_MAX + 1, &f, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_int_eq(kv_filter_compile(arena, "a\xC3", 2, &f, &d), -1);
	ck_assert_int_eq(kv_filter_compile(arena, "a\nb", 3, &f, &d), -1);
	ck_assert_int_eq(kv_filter_compile(arena, "a\0b", 3, &f, &d), -1);
}
END_TEST

struct glob_case {
	const char *pat, *key;
	bool match;
};

static const struct glob_case globs[] = {
	{"a*", "abc", true},
	{"a*", "a", true},
	{"a*", "ba", false},
	{"*", "x", true},
	{"*a", "bba", true},
	{"*a", "ab", false},
	{"a*b*c", "aXbYc", true},
	{"a*b*c", "abc", true},
	{"a*b*c", "aXbY", false},
	{"a*b*c", "acb", false},
	{"*ab*ab", "xabyab", true},
	{"*ab*ab", "abab", true},
	{"*ab*ab", "aab", false},
	{"$", "a", true},
	{"$", "\xC3\xA9", true},                 /* one character, two bytes */
	{"$", "\xF0\x9F\x98\x80", true},         /* four bytes */
	{"$", "ab", false},
	{"$", "", false},
	{"$$", "\xE6\x97\xA5\xE6\x9C\xAC", true},
	{"$$", "\xE6\x97\xA5", false},
	{"a$c", "a\xC3\xA9" "c", true},
	{"a$c", "ac", false},
	{"a$c", "abbc", false},
	{"*$", "x", true},
	{"$*$", "x", false},
	{"abc", "abc", true},
	{"abc", "abcd", false},
	{"abc", "ab", false},
	{"a", "a ", false},                      /* no trailing-space padding */
	{"a ", "a", false},
	{"A", "a", false},                       /* no case folding */
	{"a%b", "a%b", true},                    /* LIKE's specials are literals */
	{"a%b", "axb", false},
	{"a%b", "ab", false},
	{"a_b", "a_b", true},
	{"a_b", "axb", false},
	{"a\\b", "a\\b", true},
	{"a\\b", "ab", false},
	{"a\\*", "a\\xyz", true},
	{"a!b", "a!b", true},
	{"a!!b", "a!b", false},
	{"$", "$", true},                        /* keys holding wildcards */
	{"*", "*", true},
	{"x$", "x*", true},
	{"caf\xC3\xA9", "cafe", false},
	{"caf$", "caf\xC3\xA9", true},
	{"caf$", "cafe", true},
};

START_TEST(test_glob_reference)
{
	const struct glob_case *g = &globs[_i];

	ck_assert_msg(kv_glob_match(g->pat, strlen(g->pat), g->key, strlen(g->key)) == g->match,
		      "pattern '%s' key '%s'", g->pat, g->key);
}
END_TEST

/* The translation must mean what the pattern means: the LIKE pattern (per
 * character when per_char, else per byte) decides like the reference, and
 * the prefix (per byte) never rejects a key the pattern matches. */
START_TEST(test_translation_agrees)
{
	const struct glob_case *g = &globs[_i];
	struct kv_filter f;
	struct diag d;
	size_t klen = strlen(g->key);

	ck_assert_int_eq(kv_filter_compile(arena, g->pat, strlen(g->pat), &f, &d), 0);
	ck_assert_msg(kv_like_match(f.like, f.like_len, g->key, klen, f.per_char) == g->match,
		      "pattern '%s' like '%s' key '%s'", g->pat, f.like, g->key);
	if (!f.per_char)
		ck_assert(kv_like_match(f.like, f.like_len, g->key, klen, false) == g->match);
	if (g->match)
		ck_assert_msg(kv_like_match(f.prefix, f.prefix_len, g->key, klen, false),
			      "prefix '%s' rejects key '%s'", f.prefix, g->key);
}
END_TEST

START_TEST(test_like_per_byte)
{
	/* why '$' needs the per-character LIKE: '_' is one byte on VARBINARY */
	ck_assert(!kv_like_match("_", 1, "\xC3\xA9", 2, false));
	ck_assert(kv_like_match("__", 2, "\xC3\xA9", 2, false));
	ck_assert(kv_like_match("_", 1, "\xC3\xA9", 2, true));
	ck_assert(kv_like_match("a!%", 3, "a%", 2, false));
	ck_assert(!kv_like_match("a!%", 3, "ab", 2, false));
	ck_assert(kv_like_match("a!", 2, "a!", 2, false)); /* trailing escape is literal */
}
END_TEST

/* ------------------------------------------------------------ entity tags */

START_TEST(test_etag)
{
	char e[KV_ETAG_LEN + 1];
	uint64_t v = 0;

	kv_etag_format(0x1234abcdULL, e);
	ck_assert_str_eq(e, "\"000000001234abcd\"");
	ck_assert(kv_etag_parse(e, strlen(e), &v));
	ck_assert_uint_eq(v, 0x1234abcdULL);
	kv_etag_format((1ULL << 62) - 1, e);
	ck_assert(kv_etag_parse(e, strlen(e), &v));
	ck_assert_uint_eq(v, (1ULL << 62) - 1);
	ck_assert(!kv_etag_parse("\"000000001234ABCD\"", 18, &v));
	ck_assert(!kv_etag_parse("000000001234abcd", 16, &v));
	ck_assert(!kv_etag_parse("\"00000001234abcd\"", 17, &v));
	ck_assert(!kv_etag_parse("\"000000001234abcg\"", 18, &v));
	ck_assert(!kv_etag_parse("W/\"000000001234abcd\"", 20, &v));
}
END_TEST

START_TEST(test_if_match)
{
	uint64_t v = 0;

	ck_assert_int_eq(kv_if_match_parse(NULL, &v), KV_COND_NONE);
	ck_assert_int_eq(kv_if_match_parse("*", &v), KV_COND_ANY);
	ck_assert_int_eq(kv_if_match_parse("  * ", &v), KV_COND_ANY);
	ck_assert_int_eq(kv_if_match_parse("\"00000000000000ff\"", &v), KV_COND_VERSION);
	ck_assert_uint_eq(v, 255);
	ck_assert_int_eq(kv_if_match_parse(" \"0000000000000001\" , \"x\"", &v), KV_COND_VERSION);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(kv_if_match_parse("\"0000000000000001\", \"0000000000000001\"", &v),
			 KV_COND_VERSION);
	/* strong comparison: a weak tag never matches; foreign tags never match */
	ck_assert_int_eq(kv_if_match_parse("W/\"00000000000000ff\"", &v), KV_COND_NEVER);
	ck_assert_int_eq(kv_if_match_parse("\"abc\"", &v), KV_COND_NEVER);
	ck_assert_int_eq(kv_if_match_parse("\"\"", &v), KV_COND_NEVER);
	/* version 0 is never issued (and is the store's "no condition") */
	ck_assert_int_eq(kv_if_match_parse("\"0000000000000000\"", &v), KV_COND_NEVER);
	v = 0;
	ck_assert_int_eq(kv_if_match_parse("\"0000000000000000\", \"0000000000000007\"", &v),
			 KV_COND_VERSION);
	ck_assert_uint_eq(v, 7);
	/* malformed or unsupported */
	ck_assert_int_eq(kv_if_match_parse("", &v), KV_COND_BAD);
	ck_assert_int_eq(kv_if_match_parse("abc", &v), KV_COND_BAD);
	ck_assert_int_eq(kv_if_match_parse("\"abc", &v), KV_COND_BAD);
	ck_assert_int_eq(kv_if_match_parse("\"a\"b\"", &v), KV_COND_BAD);
	ck_assert_int_eq(kv_if_match_parse("*, \"0000000000000001\"", &v), KV_COND_BAD);
	ck_assert_int_eq(kv_if_match_parse("\"0000000000000001\", \"0000000000000002\"", &v),
			 KV_COND_BAD);
}
END_TEST

START_TEST(test_if_none_match)
{
	ck_assert_int_eq(kv_if_none_match_parse(NULL), KV_COND_NONE);
	ck_assert_int_eq(kv_if_none_match_parse("*"), KV_COND_ANY);
	ck_assert_int_eq(kv_if_none_match_parse(" *"), KV_COND_ANY);
	ck_assert_int_eq(kv_if_none_match_parse("\"0000000000000001\""), KV_COND_BAD);
	ck_assert_int_eq(kv_if_none_match_parse(""), KV_COND_BAD);

	ck_assert(!kv_if_none_match_hit(NULL, 1));
	ck_assert(kv_if_none_match_hit("*", 1));
	ck_assert(kv_if_none_match_hit("\"0000000000000001\"", 1));
	ck_assert(kv_if_none_match_hit("W/\"0000000000000001\"", 1)); /* weak comparison */
	ck_assert(kv_if_none_match_hit("\"x\", \"0000000000000001\"", 1));
	ck_assert(!kv_if_none_match_hit("\"0000000000000002\"", 1));
	ck_assert(!kv_if_none_match_hit("garbage", 1));
	ck_assert(!kv_if_none_match_hit("", 1));
}
END_TEST

START_TEST(test_query_escape)
{
	ck_assert_str_eq(kv_query_escape(arena, "aZ09-._~", 8), "aZ09-._~");
	ck_assert_str_eq(kv_query_escape(arena, "a b&c=d%*$", 10), "a%20b%26c%3Dd%25%2A%24");
	ck_assert_str_eq(kv_query_escape(arena, "\xC3\xA9/", 3), "%C3%A9%2F");
	ck_assert_str_eq(kv_query_escape(arena, "", 0), "");
}
END_TEST

static Suite *
kv_suite(void)
{
	Suite *s = suite_create("kv");
	TCase *tc;

	tc = tcase_create("validators");
	tcase_add_test(tc, test_key_ok);
	tcase_add_test(tc, test_key_length);
	tcase_add_test(tc, test_key_bad);
	tcase_add_test(tc, test_ttl);
	tcase_add_test(tc, test_limit_flag_content_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("patterns");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_loop_test(tc, test_filter_translation, 0,
			    (int)(sizeof translations / sizeof translations[0]));
	tcase_add_test(tc, test_filter_rejects);
	tcase_add_loop_test(tc, test_glob_reference, 0, (int)(sizeof globs / sizeof globs[0]));
	tcase_add_loop_test(tc, test_translation_agrees, 0, (int)(sizeof globs / sizeof globs[0]));
	tcase_add_test(tc, test_like_per_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("etags");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_etag);
	tcase_add_test(tc, test_if_match);
	tcase_add_test(tc, test_if_none_match);
	tcase_add_test(tc, test_query_escape);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(kv_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
