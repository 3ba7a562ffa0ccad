/* Unit tests for tags_bucket.h: the request-value checks of the tags
 * module (API.md §2) and the arithmetic of bucketed history, across day,
 * month, year and epoch boundaries. */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cursor.h"
#include "diag.h"
#include "tags_bucket.h"
#include "timefmt.h"

struct bytes {
	const char *s;
	size_t len;
};

#define B(lit) {lit, sizeof(lit) - 1}

/* A time from its RFC 3339 or SQL text; the test fails on bad text. */
static int64_t
T(const char *s)
{
	struct diag d;
	int64_t us;

	ck_assert_msg(timefmt_parse(s, strlen(s), 0, &us, &d) == 0, "bad test time %s", s);
	return us;
}

static char *
repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *out = malloc(ul * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(out + i * ul, unit, ul);
	out[ul * n] = '\0';
	return out;
}

/* ---------------------------------------------------------------- names */

static const struct bytes names_good[] = {
	B("a"), B("a "), B(" a"), B("caf\xC3\xA9"), B("cafe\xCC\x81"), B("a/b?c&d=e"),
	B("\xF0\x9F\x98\x80"), B("%00"), B("+"),
};

static const struct bytes names_bad[] = {
	B(""), B("a\0b"), B("\0"), B("a\x01"), B("\t"), B("a\nb"), B("\x7F"), B("\xFF"),
	B("\xC3"), B("\xC0\xAF"), B("\xED\xA0\x80"), B("\xF4\x90\x80\x80"),
};

START_TEST(test_name_good)
{
	ck_assert(tags_name_valid(names_good[_i].s, names_good[_i].len));
}
END_TEST

START_TEST(test_name_bad)
{
	ck_assert(!tags_name_valid(names_bad[_i].s, names_bad[_i].len));
}
END_TEST

START_TEST(test_name_lengths)
{
	/* characters, not bytes: 191 of any width is fine, 192 is not */
	static const char *const units[] = {"x", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		char *ok = repeat(units[i], TAGS_NAME_MAX);
		char *bad = repeat(units[i], TAGS_NAME_MAX + 1);

		ck_assert_msg(tags_name_valid(ok, strlen(ok)), "191 x unit %zu", i);
		ck_assert_msg(!tags_name_valid(bad, strlen(bad)), "192 x unit %zu", i);
		free(ok);
		free(bad);
	}
	ck_assert(!tags_name_valid(NULL, 0));
}
END_TEST

/* -------------------------------------------------------------- n, limit */

START_TEST(test_n)
{
	static const struct {
		const char *s;
		int ok;
		int64_t v;
	} cases[] = {
		{"1", 1, 1},
		{"5", 1, 5},
		{"999999999", 1, 999999999},
		{"1000000000", 1, 1000000000},
		{"1000000001", 0, 0},
		{"9999999999", 0, 0},
		{"99999999999999999999999", 0, 0},
		{"0", 0, 0},
		{"00", 0, 0},
		{"01", 0, 0},
		{"-1", 0, 0},
		{"+1", 0, 0},
		{" 1", 0, 0},
		{"1 ", 0, 0},
		{"abc", 0, 0},
		{"1a", 0, 0},
		{"1.0", 0, 0},
		{"1e3", 0, 0},
		{"0x10", 0, 0},
		{"", 0, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t v = -7;
		bool ok = tags_parse_n(cases[i].s, strlen(cases[i].s), &v);

		ck_assert_msg(ok == (bool)cases[i].ok, "n=%s", cases[i].s);
		if (ok)
			ck_assert_int_eq(v, cases[i].v);
		else
			ck_assert_int_eq(v, -7); /* untouched on failure */
	}
	ck_assert(!tags_parse_n("1\0", 2, &(int64_t){0}));
	ck_assert(!tags_parse_n(NULL, 0, &(int64_t){0}));
}
END_TEST

START_TEST(test_limit)
{
	int64_t v;

	ck_assert(tags_parse_limit("1", 1, 1000, &v) && v == 1);
	ck_assert(tags_parse_limit("1000", 4, 1000, &v) && v == 1000);
	ck_assert(!tags_parse_limit("1001", 4, 1000, &v));
	ck_assert(!tags_parse_limit("0", 1, 1000, &v));
	ck_assert(!tags_parse_limit("010", 3, 1000, &v));
	ck_assert(!tags_parse_limit("9223372036854775807", 19, 1000, &v));
	ck_assert(tags_parse_limit("9223372036854775807", 19, INT64_MAX, &v) && v == INT64_MAX);
	ck_assert(!tags_parse_limit("9223372036854775808", 19, INT64_MAX, &v));
	ck_assert(!tags_parse_limit("5", 1, 0, &v));
	/* small maxima (found by fuzz_tags: "3" passed with max 1) */
	ck_assert(tags_parse_limit("1", 1, 1, &v) && v == 1);
	ck_assert(!tags_parse_limit("3", 1, 1, &v));
	ck_assert(!tags_parse_limit("10", 2, 9, &v));
	ck_assert(tags_parse_limit("9", 1, 9, &v) && v == 9);
	ck_assert(!tags_parse_limit("12", 2, 11, &v));
}
END_TEST

/* ---------------------------------------------------------------- times */

START_TEST(test_time)
{
	struct diag d;
	int64_t us;

	ck_assert_int_eq(tags_parse_time("2026-03-01 00:00:00", 19, &us, &d), 0);
	ck_assert_int_eq(us, T("2026-03-01T00:00:00Z"));
	ck_assert_int_eq(tags_parse_time("2026-03-01T01:00:00+01:00", 25, &us, &d), 0);
	ck_assert_int_eq(us, T("2026-03-01T00:00:00Z"));
	ck_assert_int_eq(tags_parse_time("1772323200.5", 12, &us, &d), 0);
	ck_assert_int_eq(us, T("2026-03-01T00:00:00.5Z"));
	ck_assert_int_eq(tags_parse_time("0", 1, &us, &d), 0);
	ck_assert_int_eq(us, 0);
	/* an offset may not carry a time out of the DATETIME range */
	ck_assert_int_eq(tags_parse_time("1000-01-01T00:30:00+01:00", 25, &us, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_int_eq(tags_parse_time("9999-12-31T23:30:00-01:00", 25, &us, &d), -1);
	ck_assert_int_eq(tags_parse_time("1000-01-01T00:00:00Z", 20, &us, &d), 0);
	ck_assert_int_eq(us, TAGS_TIME_MIN);
	ck_assert_int_eq(tags_parse_time("9999-12-31T23:59:59.999999Z", 27, &us, &d), 0);
	ck_assert_int_eq(us, TAGS_TIME_MAX);
	static const char *const bad[] = {"", "yesterday", "2026-03-01", "-5", "1e9",
					  "2026-02-30 00:00:00", "2026-03-01T00:00:00",
					  "253402300800"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(tags_parse_time(bad[i], strlen(bad[i]), &us, &d) == -1, "%s", bad[i]);
}
END_TEST

/* -------------------------------------------------------------- buckets */

START_TEST(test_bucket_names)
{
	enum tags_bucket b;

	ck_assert_int_eq(tags_bucket_parse("minute", 6, &b), 0);
	ck_assert_int_eq(b, TAGS_BUCKET_MINUTE);
	ck_assert_int_eq(tags_bucket_parse("hour", 4, &b), 0);
	ck_assert_int_eq(b, TAGS_BUCKET_HOUR);
	ck_assert_int_eq(tags_bucket_parse("day", 3, &b), 0);
	ck_assert_int_eq(b, TAGS_BUCKET_DAY);
	ck_assert_str_eq(tags_bucket_name(TAGS_BUCKET_MINUTE), "minute");
	ck_assert_str_eq(tags_bucket_name(TAGS_BUCKET_DAY), "day");
	static const struct bytes bad[] = {B(""), B("Minute"), B("minutes"), B("days"),
					   B("day\0"), B("d"), B("week"), B(" hour")};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(tags_bucket_parse(bad[i].s, bad[i].len, &b), -1);
	ck_assert_int_eq(tags_bucket_usec(TAGS_BUCKET_MINUTE), INT64_C(60000000));
	ck_assert_int_eq(tags_bucket_usec(TAGS_BUCKET_HOUR), INT64_C(3600000000));
	ck_assert_int_eq(tags_bucket_usec(TAGS_BUCKET_DAY), INT64_C(86400000000));
}
END_TEST

START_TEST(test_floor)
{
	const int64_t day = TAGS_USEC_DAY, hour = TAGS_USEC_HOUR, minute = TAGS_USEC_MINUTE;

	ck_assert_int_eq(tags_floor(0, day), 0);
	ck_assert_int_eq(tags_floor(1, day), 0);
	ck_assert_int_eq(tags_floor(day - 1, day), 0);
	ck_assert_int_eq(tags_floor(day, day), day);
	/* before the epoch: floor, not truncation toward zero */
	ck_assert_int_eq(tags_floor(-1, day), -day);
	ck_assert_int_eq(tags_floor(-day, day), -day);
	ck_assert_int_eq(tags_floor(-day - 1, day), -2 * day);
	ck_assert_int_eq(tags_floor(T("1969-12-31T23:59:59.999999Z"), minute),
			 T("1969-12-31T23:59:00Z"));
	/* across a midnight, a month end and a leap day */
	ck_assert_int_eq(tags_floor(T("2024-02-29T23:59:59.999999Z"), day), T("2024-02-29T00:00:00Z"));
	ck_assert_int_eq(tags_floor(T("2024-03-01T00:00:00Z"), day), T("2024-03-01T00:00:00Z"));
	ck_assert_int_eq(tags_floor(T("2025-12-31T23:59:30Z"), hour), T("2025-12-31T23:00:00Z"));
	ck_assert_int_eq(tags_floor(T("2026-01-01T00:00:00.000001Z"), minute),
			 T("2026-01-01T00:00:00Z"));
	ck_assert_int_eq(tags_floor(TAGS_TIME_MIN, day), TAGS_TIME_MIN);
	ck_assert_int_eq(tags_floor(TAGS_TIME_MAX, day), T("9999-12-31T00:00:00Z"));
}
END_TEST

static void
plan_ok(enum tags_bucket b, const char *from, const char *to, const char *now,
	const char *first, int64_t count)
{
	int64_t f = from ? T(from) : 0, t = to ? T(to) : 0;
	struct tags_series s;
	struct diag d;

	ck_assert_msg(tags_series_plan(b, from ? &f : NULL, to ? &t : NULL, now ? T(now) : 0, &s,
				       &d) == 0,
		      "plan %s..%s: %s", from ? from : "-", to ? to : "-", d.msg);
	ck_assert_int_eq(s.first, T(first));
	ck_assert_int_eq(s.count, count);
	ck_assert_int_eq(s.size, tags_bucket_usec(b));
	ck_assert_int_eq(s.last, s.first + s.count * s.size - 1);
	ck_assert_int_eq(s.bucket, b);
}

static void
plan_fails(enum tags_bucket b, const char *from, const char *to, const char *now, int code)
{
	int64_t f = from ? T(from) : 0, t = to ? T(to) : 0;
	struct tags_series s;
	struct diag d;

	d.code = 0;
	ck_assert_int_eq(tags_series_plan(b, from ? &f : NULL, to ? &t : NULL, now ? T(now) : 0,
					  &s, &d),
			 -1);
	ck_assert_int_eq(d.code, code);
	ck_assert(d.msg[0] != '\0');
}

START_TEST(test_plan_across_midnight)
{
	/* minutes 23:58, 23:59, 00:00, 00:01 */
	plan_ok(TAGS_BUCKET_MINUTE, "2025-12-31T23:58:30Z", "2026-01-01T00:01:10Z", NULL,
		"2025-12-31T23:58:00Z", 4);
	/* hours: 22:00 .. 01:00 across the new year */
	plan_ok(TAGS_BUCKET_HOUR, "2025-12-31T22:59:59.999999Z", "2026-01-01T01:00:00Z", NULL,
		"2025-12-31T22:00:00Z", 4);
	/* days: the leap day and the month end */
	plan_ok(TAGS_BUCKET_DAY, "2024-02-28T12:00:00Z", "2024-03-01T00:00:00Z", NULL,
		"2024-02-28T00:00:00Z", 3);
	plan_ok(TAGS_BUCKET_DAY, "2023-02-28T12:00:00Z", "2023-03-01T00:00:00Z", NULL,
		"2023-02-28T00:00:00Z", 2);
	/* `to` one microsecond before midnight stays in the old day */
	plan_ok(TAGS_BUCKET_DAY, "2026-01-01T00:00:00Z", "2026-01-01T23:59:59.999999Z", NULL,
		"2026-01-01T00:00:00Z", 1);
	plan_ok(TAGS_BUCKET_DAY, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", NULL,
		"2026-01-01T00:00:00Z", 2);
	/* from == to: one bucket */
	plan_ok(TAGS_BUCKET_MINUTE, "2026-01-01T00:00:05Z", "2026-01-01T00:00:05Z", NULL,
		"2026-01-01T00:00:00Z", 1);
	/* before the epoch */
	plan_ok(TAGS_BUCKET_DAY, "1969-12-31T23:00:00Z", "1970-01-01T01:00:00Z", NULL,
		"1969-12-31T00:00:00Z", 2);
}
END_TEST

START_TEST(test_plan_defaults)
{
	/* 60 buckets ending with the one holding `to` */
	plan_ok(TAGS_BUCKET_HOUR, NULL, "2026-03-01T00:30:00Z", NULL, "2026-02-26T13:00:00Z", 60);
	plan_ok(TAGS_BUCKET_DAY, NULL, "2024-03-01T00:00:00Z", NULL, "2024-01-02T00:00:00Z", 60);
	plan_ok(TAGS_BUCKET_DAY, NULL, "2023-03-01T23:59:59Z", NULL, "2023-01-01T00:00:00Z", 60);
	plan_ok(TAGS_BUCKET_MINUTE, NULL, "2026-01-01T00:00:59.999999Z", NULL,
		"2025-12-31T23:01:00Z", 60);
	/* `to` defaults to now */
	plan_ok(TAGS_BUCKET_MINUTE, NULL, NULL, "2026-01-01T00:30:15Z", "2025-12-31T23:31:00Z", 60);
	plan_ok(TAGS_BUCKET_DAY, "2026-01-01T00:00:00Z", NULL, "2026-01-03T05:00:00Z",
		"2026-01-01T00:00:00Z", 3);
	/* the whole range at its ends */
	plan_ok(TAGS_BUCKET_DAY, NULL, "9999-12-31T23:59:59.999999Z", NULL, "9999-11-02T00:00:00Z",
		60);
	plan_ok(TAGS_BUCKET_DAY, "1000-01-01T00:00:00Z", "1000-01-01T00:00:00Z", NULL,
		"1000-01-01T00:00:00Z", 1);
	plan_ok(TAGS_BUCKET_DAY, NULL, "1000-03-01T00:00:00Z", NULL, "1000-01-01T00:00:00Z", 60);
}
END_TEST

START_TEST(test_plan_limits)
{
	/* 10,000 buckets are allowed, 10,001 are not */
	plan_ok(TAGS_BUCKET_MINUTE, "2026-01-01T00:00:00Z", "2026-01-07T22:39:00Z", NULL,
		"2026-01-01T00:00:00Z", 10000);
	plan_fails(TAGS_BUCKET_MINUTE, "2026-01-01T00:00:00Z", "2026-01-07T22:40:00Z", NULL,
		   DIAG_TOO_LARGE);
	plan_ok(TAGS_BUCKET_DAY, "2000-01-01T00:00:00Z", "2027-05-18T23:59:59Z", NULL,
		"2000-01-01T00:00:00Z", 10000);
	plan_fails(TAGS_BUCKET_DAY, "2000-01-01T00:00:00Z", "2027-05-19T00:00:00Z", NULL,
		   DIAG_TOO_LARGE);
	plan_fails(TAGS_BUCKET_MINUTE, "1000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", NULL,
		   DIAG_TOO_LARGE);
	/* from after to */
	plan_fails(TAGS_BUCKET_HOUR, "2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z", NULL,
		   DIAG_INVALID);
	plan_fails(TAGS_BUCKET_HOUR, "2026-01-02T00:00:00Z", NULL, "2026-01-01T00:00:00Z",
		   DIAG_INVALID);
	/* the default range may not start before year 1000 */
	plan_fails(TAGS_BUCKET_DAY, NULL, "1000-02-28T00:00:00Z", NULL, DIAG_INVALID);
	/* out of range inputs (callers parse with tags_parse_time, but still) */
	struct tags_series s;
	struct diag d;
	int64_t low = TAGS_TIME_MIN - 1, high = TAGS_TIME_MAX + 1, ok = 0;

	ck_assert_int_eq(tags_series_plan(TAGS_BUCKET_DAY, &low, &ok, 0, &s, &d), -1);
	ck_assert_int_eq(tags_series_plan(TAGS_BUCKET_DAY, &ok, &high, 0, &s, &d), -1);
	ck_assert_int_eq(tags_series_plan(TAGS_BUCKET_DAY, NULL, NULL, high, &s, &d), -1);
}
END_TEST

START_TEST(test_plan_buckets_cover_range)
{
	/* every time in [first, last] falls in exactly one planned bucket, and
	 * both from and to fall inside the series */
	static const char *const tos[] = {"2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000001Z",
					  "2025-12-31T23:59:59.999999Z", "1969-12-31T23:59:59Z",
					  "2024-02-29T12:34:56.789Z"};

	for (size_t i = 0; i < sizeof tos / sizeof tos[0]; i++) {
		for (int b = TAGS_BUCKET_MINUTE; b <= TAGS_BUCKET_DAY; b++) {
			int64_t to = T(tos[i]), from = to - 3 * tags_bucket_usec(b) / 2;
			struct tags_series s;
			struct diag d;

			ck_assert_int_eq(tags_series_plan(b, &from, &to, 0, &s, &d), 0);
			ck_assert(s.first <= from && from <= s.last);
			ck_assert(s.first <= to && to <= s.last);
			ck_assert_int_eq(s.first % s.size == 0 ||
						 (s.first < 0 && (-s.first) % s.size == 0),
					 1);
			ck_assert_int_eq(tags_floor(to, s.size), s.first + (s.count - 1) * s.size);
		}
	}
}
END_TEST

/* -------------------------------------------------------------- cursors */

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

START_TEST(test_history_cursor)
{
	struct tags_history_pos p = {T("2026-01-01T00:00:00.000123Z"), 42, 7}, q;
	struct diag d;
	char *c = tags_history_cursor(arena, &p);

	ck_assert_int_eq(tags_parse_history_cursor(arena, c, strlen(c), &q, &d), 0);
	ck_assert_int_eq(q.at, p.at);
	ck_assert_int_eq(q.id, 42);
	ck_assert_int_eq(q.seq, 7);
	p.at = TAGS_TIME_MIN;
	c = tags_history_cursor(arena, &p);
	ck_assert_int_eq(tags_parse_history_cursor(arena, c, strlen(c), &q, &d), 0);
	ck_assert_int_eq(q.at, TAGS_TIME_MIN);
	p.seq = TAGS_HISTORY_SEQ_MAX;
	c = tags_history_cursor(arena, &p);
	ck_assert_int_eq(tags_parse_history_cursor(arena, c, strlen(c), &q, &d), 0);
	ck_assert_int_eq(q.seq, TAGS_HISTORY_SEQ_MAX);

	static const char *const bad[] = {"", "abc", "!!!!", "MjAyNg"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(tags_parse_history_cursor(arena, bad[i], strlen(bad[i]), &q, &d), -1);
	/* well-formed cursors with bad fields */
	static const char *const fields[][3] = {
		{"2026-01-01 00:00:00.000000", "0", "1"},
		{"2026-01-01 00:00:00.000000", "1", "0"},
		{"2026-01-01 00:00:00.000000", "01", "1"},
		{"2026-01-01 00:00:00.000000", "1", "-1"},
		/* a row number a page could overflow from */
		{"2026-01-01 00:00:00.000000", "1", "4611686018427387904"},
		{"2026-01-01 00:00:00.000000", "1", "9223372036854775807"},
		{"2026-01-01", "1", "1"},
		{"0999-12-31 23:59:59.000000", "1", "1"},
		{"x", "1", "1"},
	};

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const char *f[3] = {fields[i][0], fields[i][1], fields[i][2]};

		c = cursor_encode(arena, f, 3);
		ck_assert_msg(tags_parse_history_cursor(arena, c, strlen(c), &q, &d) == -1,
			      "fields %zu", i);
		ck_assert_int_eq(d.code, DIAG_INVALID);
	}
}
END_TEST

START_TEST(test_list_cursor)
{
	const char *name;
	size_t len;
	struct diag d;
	char *c = tags_list_cursor(arena, "caf\xC3\xA9 x", 7);
	char *longest = repeat("\xF0\x9F\x98\x80", TAGS_NAME_MAX);

	ck_assert_int_eq(tags_parse_list_cursor(arena, c, strlen(c), &name, &len, &d), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert(memcmp(name, "caf\xC3\xA9 x", 7) == 0);
	/* the longest name still fits a cursor */
	c = tags_list_cursor(arena, longest, strlen(longest));
	ck_assert_int_eq(tags_parse_list_cursor(arena, c, strlen(c), &name, &len, &d), 0);
	ck_assert_uint_eq(len, strlen(longest));
	free(longest);
	/* a cursor holding something that is not a tag name */
	c = tags_list_cursor(arena, "a\x01", 2);
	ck_assert_int_eq(tags_parse_list_cursor(arena, c, strlen(c), &name, &len, &d), -1);
	c = tags_list_cursor(arena, "\xFF", 1);
	ck_assert_int_eq(tags_parse_list_cursor(arena, c, strlen(c), &name, &len, &d), -1);
	ck_assert_int_eq(tags_parse_list_cursor(arena, "", 0, &name, &len, &d), -1);
	ck_assert_int_eq(tags_parse_list_cursor(arena, "@@", 2, &name, &len, &d), -1);
}
END_TEST

static Suite *
tags_suite(void)
{
	Suite *s = suite_create("tags");
	TCase *tc = tcase_create("validators");

	tcase_add_loop_test(tc, test_name_good, 0, (int)(sizeof names_good / sizeof names_good[0]));
	tcase_add_loop_test(tc, test_name_bad, 0, (int)(sizeof names_bad / sizeof names_bad[0]));
	tcase_add_test(tc, test_name_lengths);
	tcase_add_test(tc, test_n);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_time);
	suite_add_tcase(s, tc);

	tc = tcase_create("buckets");
	tcase_add_test(tc, test_bucket_names);
	tcase_add_test(tc, test_floor);
	tcase_add_test(tc, test_plan_across_midnight);
	tcase_add_test(tc, test_plan_defaults);
	tcase_add_test(tc, test_plan_limits);
	tcase_add_test(tc, test_plan_buckets_cover_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("cursors");
	tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
	tcase_add_test(tc, test_history_cursor);
	tcase_add_test(tc, test_list_cursor);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tags_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
