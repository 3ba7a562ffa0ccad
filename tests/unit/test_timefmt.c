/* Unit tests for timefmt.h: the time formats of API.md §0 "Times". */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "timefmt.h"

/* Entries in a static table, as a loop test's end. */
#define TEST_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* 2024-01-02 03:04:05 UTC */
#define T0 INT64_C(1704164645000000)
#define HOUR INT64_C(3600000000)
#define MINUTE INT64_C(60000000)
#define DAY (24 * HOUR)

/* ---------------------------------------------------------------- accepted */

struct ok_case {
	const char *s;
	int64_t usec;
};

static const struct ok_case ok_cases[] = {
	{"2024-01-02 03:04:05", T0},
	{"2024-01-02T03:04:05Z", T0},
	{"2024-01-02t03:04:05z", T0},
	{"2024-01-02T03:04:05+00:00", T0},
	{"2024-01-02T03:04:05-00:00", T0},
	{"2024-01-02T05:04:05+02:00", T0},
	{"2024-01-02T08:34:05+05:30", T0},
	{"2024-01-01T22:04:05-05:00", T0},       /* the offset crosses the date */
	{"2024-01-02T00:00:05-03:04", T0},
	{"2024-01-03T03:03:05+23:59", T0},
	{"2024-01-02 03:04:05.5", T0 + 500000},
	{"2024-01-02 03:04:05.1", T0 + 100000},
	{"2024-01-02 03:04:05.12", T0 + 120000},
	{"2024-01-02 03:04:05.123", T0 + 123000},
	{"2024-01-02 03:04:05.1234", T0 + 123400},
	{"2024-01-02 03:04:05.12345", T0 + 123450},
	{"2024-01-02 03:04:05.123456", T0 + 123456},
	{"2024-01-02 03:04:05.000001", T0 + 1},
	{"2024-01-02 03:04:05.000000", T0},
	{"2024-01-02 03:04:05.999999", T0 + 999999},
	{"2024-01-02T03:04:05.5Z", T0 + 500000},
	{"2024-01-02T03:04:05.123456Z", T0 + 123456},
	{"2024-01-02T03:04:05.000001+01:00", T0 - HOUR + 1},
	{"2022-04-16 11:36:37.592079", INT64_C(1650108997592079)},
	{"1970-01-01 00:00:00", 0},
	{"1970-01-01T00:00:00.000001Z", 1},
	{"1969-12-31 23:59:59.999999", -1},
	{"1969-12-31T23:59:59Z", -1000000},
	{"1000-01-01 00:00:00", INT64_C(-30610224000000000)},
	{"9999-12-31 23:59:59.999999", INT64_C(253402300799999999)},
	{"9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999)},
	{"2024-02-29 00:00:00", INT64_C(1709164800000000)},
	{"2000-02-29 12:00:00", INT64_C(951825600000000)},
	{"2024-12-31 23:59:59", INT64_C(1735689599000000)},
	/* more than six fraction digits (RFC 3339 allows any number): rounded
	 * half up to the microsecond, a carry reaching the seconds */
	{"2024-01-02 03:04:05.1234567", T0 + 123457},
	{"2024-01-02T03:04:05.1234564999Z", T0 + 123456},
	{"2024-01-02T03:04:05.123456500Z", T0 + 123457},
	{"2024-01-02T03:04:05.000000499999999999999999Z", T0},
	{"2024-01-02T03:04:05.9999995Z", T0 + 1000000},
	{"2024-01-02T03:04:59.9999999+00:00", T0 + MINUTE - 5000000},
	{"1969-12-31T23:59:59.9999995Z", 0},
	{"9999-12-31T23:59:59.9999994Z", INT64_C(253402300799999999)},
	/* offsets at the ends of the range that stay inside it */
	{"9999-12-31T23:59:59+01:00", INT64_C(253402297199000000)},
	{"1000-01-01T00:00:00-01:00", INT64_C(-30610220400000000)},
};

START_TEST(test_parse_ok)
{
	const struct ok_case *c = &ok_cases[_i];
	int64_t v = 12345;
	struct diag d;

	diag_clear(&d);
	ck_assert_msg(timefmt_parse(c->s, strlen(c->s), 0, &v, &d) == 0, "'%s': %s", c->s, d.msg);
	ck_assert_int_eq(v, c->usec);
	/* the epoch flag does not change how calendar forms read */
	v = 12345;
	ck_assert_int_eq(timefmt_parse(c->s, strlen(c->s), TIMEFMT_EPOCH, &v, &d), 0);
	ck_assert_int_eq(v, c->usec);
}
END_TEST

/* ---------------------------------------------------------------- rejected */

static const char *const bad_cases[] = {
	"",
	"2024-01-02",                            /* a date alone */
	"9999-12-31T23:59:59.9999995Z",          /* rounds past the range */
	"9999-12-31 23:59:59.99999951",
	"2024-01-02 03:04:05.",                  /* a dot without digits */
	"2024-01-02T03:04:05.Z",
	"2024-01-02 03:04:60",                   /* leap second */
	"2016-12-31T23:59:60Z",
	"2024-02-30 00:00:00",                   /* no such day */
	"2023-02-29 00:00:00",
	"1900-02-29 00:00:00",
	"2024-04-31 00:00:00",
	"2024-01-32 00:00:00",
	"2024-01-00 00:00:00",
	"2024-00-10 00:00:00",
	"2024-13-01 00:00:00",
	"0999-12-31 23:59:59",                   /* year < 1000 */
	"0000-01-01 00:00:00",
	"10000-01-01 00:00:00",
	"2024-01-02 24:00:00",
	"2024-01-02 23:60:00",
	"2024-01-02 03:04:05Z",                  /* the space form has no zone */
	"2024-01-02 03:04:05+00:00",
	"2024-01-02 03:04:05 ",                  /* trailing bytes */
	"2024-01-02T03:04:05Zx",
	"2024-01-02T03:04:05Z ",
	"2024-01-02T03:04:05+01:00 ",
	" 2024-01-02 03:04:05",
	"2024-01-02T03:04:05",                   /* T form needs a zone */
	"2024-01-02T03:04:05.5",
	"2024-01-02T03:04:05+0100",
	"2024-01-02T03:04:05+01",
	"2024-01-02T03:04:05+1:00",
	"2024-01-02T03:04:05+24:00",
	"2024-01-02T03:04:05+01:60",
	"2024-01-02T03:04:05UTC",
	"2024-01-02X03:04:05",
	"2024-01-02  03:04:05",
	"2024-1-02 03:04:05",
	"2024-01-2 03:04:05",
	"2024-01-02 3:04:05",
	"2024-01-02 03:4:05",
	"2024-01-02 03:04:5",
	"2024/01/02 03:04:05",
	"2024-01-02 03-04-05",
	"2024-01-02 03:04",
	"+2024-01-02 03:04:05",
	"-2024-01-02 03:04:05",
	"2024-01-02 03:04:05,5",
	"2024-01-02 03:04:05.-5",
	"2O24-01-02 03:04:05",
	"\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x92\xEF\xBC\x94-01-02 03:04:05",
};

START_TEST(test_parse_bad)
{
	const char *s = bad_cases[_i];
	int64_t v = 12345;
	struct diag d;

	diag_clear(&d);
	ck_assert_msg(timefmt_parse(s, strlen(s), 0, &v, &d) == -1, "'%s' accepted as %lld", s,
		      (long long)v);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_int_eq(v, 12345);
	ck_assert_int_eq(timefmt_parse(s, strlen(s), TIMEFMT_EPOCH, &v, &d), -1);
}
END_TEST

START_TEST(test_parse_len)
{
	int64_t v;
	struct diag d;
	const char *s = "2024-01-02 03:04:05.5xyz";

	/* len ends the input; a NUL inside is a trailing byte */
	ck_assert_int_eq(timefmt_parse(s, 21, 0, &v, &d), 0);
	ck_assert_int_eq(v, T0 + 500000);
	ck_assert_int_eq(timefmt_parse(s, 22, 0, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse("2024-01-02 03:04:05\0", 20, 0, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse(s, 18, 0, &v, &d), -1);
}
END_TEST

/* Local times whose offset carries them outside 1000-01-01..9999-12-31
 * UTC, the range every other form (and the epoch parser) keeps to. */
static const char *const offset_escapes[] = {
	"9999-12-31T23:59:59-01:00",     /* 10000-01-01T00:59:59Z */
	"9999-12-31T23:30:00-00:31",
	"1000-01-01T00:00:00+01:00",     /* 0999-12-31T23:00:00Z */
	"1000-01-01T00:00:00.5+00:01",
};

START_TEST(test_offset_keeps_range)
{
	const int64_t lo = INT64_C(-30610224000000000), hi = INT64_C(253402300799999999);
	const char *s = offset_escapes[_i];
	char sql[TIMEFMT_SQL_LEN + 1 + 16], rfc[TIMEFMT_RFC_LEN + 1 + 16];
	int64_t v = 0, back;
	struct diag d;

	if (timefmt_parse(s, strlen(s), 0, &v, &d) < 0)
		return; /* rejected: fine */
	/* accepted: it must still fit the formatters' documented buffers
	 * (a five-digit year writes one byte past them) and read back */
	memset(sql, 0, sizeof sql);
	memset(rfc, 0, sizeof rfc);
	timefmt_sql(v, sql);
	timefmt_rfc3339(v, rfc);
	ck_assert_msg(strlen(sql) == TIMEFMT_SQL_LEN && strlen(rfc) == TIMEFMT_RFC_LEN,
		      "'%s' accepted; formats as '%s' (%zu bytes) and '%s' (%zu bytes), "
		      "beyond TIMEFMT_SQL_LEN %d / TIMEFMT_RFC_LEN %d",
		      s, sql, strlen(sql), rfc, strlen(rfc), TIMEFMT_SQL_LEN, TIMEFMT_RFC_LEN);
	ck_assert_msg(v >= lo && v <= hi, "'%s' accepted as %s, outside years 1000..9999", s, sql);
	ck_assert_msg(timefmt_parse(sql, strlen(sql), 0, &back, &d) == 0 && back == v,
		      "'%s' accepted as '%s', which does not parse back", s, sql);
}
END_TEST

/* ------------------------------------------------------------------ epoch */

struct epoch_case {
	const char *s;
	int ok;
	int64_t usec;
};

static const struct epoch_case epoch_cases[] = {
	{"1650108997.592079", 1, INT64_C(1650108997592079)},
	{"1650108997", 1, INT64_C(1650108997000000)},
	{"1650108997.5", 1, INT64_C(1650108997500000)},
	{"1650108997.000001", 1, INT64_C(1650108997000001)},
	{"0", 1, 0},
	{"0.000001", 1, 1},
	{"1", 1, 1000000},
	{"253402300799.999999", 1, INT64_C(253402300799999999)}, /* 9999-12-31 end */
	{"253402300800", 0, 0},
	{"99999999999999999999999", 0, 0},
	{"9223372036854775807", 0, 0},
	{"1650108997.5920791", 1, INT64_C(1650108997592079)}, /* rounded */
	{"1650108997.5920795", 1, INT64_C(1650108997592080)},
	{"1650108997.999999999", 1, INT64_C(1650108998000000)},
	{"253402300799.9999995", 0, 0},     /* rounds past 9999-12-31 */
	{"1650108997.", 0, 0},
	{".5", 0, 0},
	{"-1", 0, 0},
	{"+1", 0, 0},
	{"1e9", 0, 0},
	{"1E9", 0, 0},
	{" 1", 0, 0},
	{"1 ", 0, 0},
	{"0x10", 0, 0},
	{"1,5", 0, 0},
	{"", 0, 0},
	{"NaN", 0, 0},
};

START_TEST(test_epoch)
{
	const struct epoch_case *c = &epoch_cases[_i];
	int64_t v = 777;
	struct diag d;
	int rc;

	rc = timefmt_parse_epoch(c->s, strlen(c->s), &v, &d);
	ck_assert_msg(rc == (c->ok ? 0 : -1), "'%s': rc %d", c->s, rc);
	if (c->ok)
		ck_assert_int_eq(v, c->usec);
	else
		ck_assert_int_eq(d.code, DIAG_INVALID);

	/* the same through timefmt_parse with TIMEFMT_EPOCH */
	v = 777;
	rc = timefmt_parse(c->s, strlen(c->s), TIMEFMT_EPOCH, &v, &d);
	ck_assert_msg(rc == (c->ok ? 0 : -1), "'%s' (flag): rc %d", c->s, rc);
	if (c->ok)
		ck_assert_int_eq(v, c->usec);
}
END_TEST

START_TEST(test_epoch_needs_flag)
{
	int64_t v;
	struct diag d;

	ck_assert_int_eq(timefmt_parse("1650108997", 10, 0, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse("1650108997.592079", 17, 0, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse("1650108997", 10, TIMEFMT_EPOCH, &v, &d), 0);
	ck_assert_int_eq(v, INT64_C(1650108997000000));
}
END_TEST

/* ------------------------------------------------------------------- date */

START_TEST(test_parse_date)
{
	int64_t v;
	struct diag d;

	ck_assert_int_eq(timefmt_parse_date("2024-02-29", 10, &v, &d), 0);
	ck_assert_int_eq(v, INT64_C(1709164800000000));
	ck_assert_int_eq(timefmt_parse_date("1970-01-01", 10, &v, &d), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(timefmt_parse_date("1000-01-01", 10, &v, &d), 0);
	ck_assert_int_eq(v, INT64_C(-30610224000000000));
	ck_assert_int_eq(timefmt_parse_date("2024-02-30", 10, &v, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_int_eq(timefmt_parse_date("2024-02-29 ", 11, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse_date("2024-02-29 00:00:00", 19, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse_date("0999-12-31", 10, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse_date("2024-2-29", 9, &v, &d), -1);
	ck_assert_int_eq(timefmt_parse_date("", 0, &v, &d), -1);
}
END_TEST

/* ------------------------------------------------------------- formatting */

struct fmt_case {
	int64_t usec;
	const char *sql;
	const char *rfc;
	const char *secs;
};

static const struct fmt_case fmt_cases[] = {
	{0, "1970-01-01 00:00:00.000000", "1970-01-01T00:00:00.000000Z", "1970-01-01 00:00:00"},
	{1, "1970-01-01 00:00:00.000001", "1970-01-01T00:00:00.000001Z", "1970-01-01 00:00:00"},
	{-1, "1969-12-31 23:59:59.999999", "1969-12-31T23:59:59.999999Z", "1969-12-31 23:59:59"},
	{-1500000, "1969-12-31 23:59:58.500000", "1969-12-31T23:59:58.500000Z",
	 "1969-12-31 23:59:58"},
	{-DAY, "1969-12-31 00:00:00.000000", "1969-12-31T00:00:00.000000Z", "1969-12-31 00:00:00"},
	{T0 + 123456, "2024-01-02 03:04:05.123456", "2024-01-02T03:04:05.123456Z",
	 "2024-01-02 03:04:05"},
	{T0 + 999999, "2024-01-02 03:04:05.999999", "2024-01-02T03:04:05.999999Z",
	 "2024-01-02 03:04:05"},
	{INT64_C(1709164800000000) - 1, "2024-02-28 23:59:59.999999", "2024-02-28T23:59:59.999999Z",
	 "2024-02-28 23:59:59"},
	{INT64_C(-30610224000000000), "1000-01-01 00:00:00.000000", "1000-01-01T00:00:00.000000Z",
	 "1000-01-01 00:00:00"},
	{INT64_C(-30610224000000000) + 500000, "1000-01-01 00:00:00.500000",
	 "1000-01-01T00:00:00.500000Z", "1000-01-01 00:00:00"},
	{INT64_C(253402300799999999), "9999-12-31 23:59:59.999999", "9999-12-31T23:59:59.999999Z",
	 "9999-12-31 23:59:59"},
	/* outside the range: the nearer limit, never more than the length */
	{INT64_C(253402300799999999) + 1, "9999-12-31 23:59:59.999999",
	 "9999-12-31T23:59:59.999999Z", "9999-12-31 23:59:59"},
	{INT64_MAX, "9999-12-31 23:59:59.999999", "9999-12-31T23:59:59.999999Z",
	 "9999-12-31 23:59:59"},
	{INT64_C(-30610224000000000) - 1, "1000-01-01 00:00:00.000000",
	 "1000-01-01T00:00:00.000000Z", "1000-01-01 00:00:00"},
	{INT64_MIN, "1000-01-01 00:00:00.000000", "1000-01-01T00:00:00.000000Z",
	 "1000-01-01 00:00:00"},
};

START_TEST(test_format)
{
	const struct fmt_case *c = &fmt_cases[_i];
	char out[64];

	memset(out, '#', sizeof out);
	timefmt_sql(c->usec, out);
	ck_assert_str_eq(out, c->sql);
	ck_assert_uint_eq(strlen(out), TIMEFMT_SQL_LEN);
	timefmt_rfc3339(c->usec, out);
	ck_assert_str_eq(out, c->rfc);
	ck_assert_uint_eq(strlen(out), TIMEFMT_RFC_LEN);
	timefmt_sql_seconds(c->usec, out);
	ck_assert_str_eq(out, c->secs);
}
END_TEST

struct epoch_fmt_case {
	int64_t usec;
	const char *text;
};

static const struct epoch_fmt_case epoch_fmt_cases[] = {
	{0, "0.000000"},
	{1, "0.000001"},
	{999999, "0.999999"},
	{1000000, "1.000000"},
	{INT64_C(1650108997592079), "1650108997.592079"},
	{INT64_C(253402300799999999), "253402300799.999999"},
	{-1000000, "-1.000000"},
	/* negative values with a fraction: the text must be the same number */
	{-1, "-0.000001"},
	{-500000, "-0.500000"},
	{-1500000, "-1.500000"},
	{INT64_C(-30610224000000000) + 500000, "-30610223999.500000"},
};

START_TEST(test_format_epoch)
{
	const struct epoch_fmt_case *c = &epoch_fmt_cases[_i];
	char out[32];

	timefmt_epoch(c->usec, out);
	ck_assert_str_eq(out, c->text);
}
END_TEST

/* ------------------------------------------------------------ round trips */

/* Deterministic spread over years 1000..9999, microseconds included. */
static int64_t
sample(unsigned i)
{
	const int64_t lo = INT64_C(-30610224000000000), hi = INT64_C(253402300799999999);
	uint64_t x = (uint64_t)i * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);

	x ^= x >> 29;
	return lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
}

START_TEST(test_round_trip)
{
	char out[64];
	int64_t v;
	struct diag d;

	for (unsigned i = 0; i < 20000; i++) {
		int64_t t = sample(i);

		timefmt_sql(t, out);
		ck_assert_msg(timefmt_parse(out, strlen(out), 0, &v, &d) == 0, "%s", out);
		ck_assert_msg(v == t, "%s: %lld != %lld", out, (long long)v, (long long)t);
		timefmt_rfc3339(t, out);
		ck_assert_int_eq(timefmt_parse(out, strlen(out), 0, &v, &d), 0);
		ck_assert_int_eq(v, t);
		if (t >= 0) {
			timefmt_epoch(t, out);
			ck_assert_int_eq(timefmt_parse_epoch(out, strlen(out), &v, &d), 0);
			ck_assert_int_eq(v, t);
			ck_assert_int_eq(timefmt_parse(out, strlen(out), TIMEFMT_EPOCH, &v, &d), 0);
			ck_assert_int_eq(v, t);
		}
		/* whole seconds survive the seconds-only form */
		timefmt_sql_seconds(t, out);
		ck_assert_int_eq(timefmt_parse(out, strlen(out), 0, &v, &d), 0);
		ck_assert_int_eq(v, t - ((t % 1000000) + 1000000) % 1000000);
	}
}
END_TEST

START_TEST(test_boundaries)
{
	int64_t a, b;
	char out[64];
	struct diag d;

	ck_assert_int_eq(timefmt_parse("2024-01-01 23:59:59.999999", 26, 0, &a, &d), 0);
	ck_assert_int_eq(timefmt_parse("2024-01-02 00:00:00", 19, 0, &b, &d), 0);
	ck_assert_int_eq(b - a, 1);
	timefmt_sql(a, out);
	ck_assert_str_eq(out, "2024-01-01 23:59:59.999999");
	timefmt_sql(a + 1, out);
	ck_assert_str_eq(out, "2024-01-02 00:00:00.000000");

	ck_assert_int_eq(timefmt_parse("2023-12-31T23:59:59.999999Z", 27, 0, &a, &d), 0);
	ck_assert_int_eq(timefmt_parse("2024-01-01T00:00:00Z", 20, 0, &b, &d), 0);
	ck_assert_int_eq(b - a, 1);
	timefmt_rfc3339(b, out);
	ck_assert_str_eq(out, "2024-01-01T00:00:00.000000Z");

	ck_assert_int_eq(timefmt_parse("2024-02-28 23:59:59.999999", 26, 0, &a, &d), 0);
	timefmt_sql(a + 1, out);
	ck_assert_str_eq(out, "2024-02-29 00:00:00.000000");
	ck_assert_int_eq(timefmt_parse("2023-02-28 23:59:59.999999", 26, 0, &a, &d), 0);
	timefmt_sql(a + 1, out);
	ck_assert_str_eq(out, "2023-03-01 00:00:00.000000");

	/* an offset moves the date back across midnight and a year */
	ck_assert_int_eq(timefmt_parse("2024-01-01T00:30:00+01:00", 25, 0, &a, &d), 0);
	timefmt_sql(a, out);
	ck_assert_str_eq(out, "2023-12-31 23:30:00.000000");
	/* the epoch's own midnight from below */
	timefmt_sql(-1, out);
	ck_assert_str_eq(out, "1969-12-31 23:59:59.999999");
}
END_TEST

/* ---------------------------------------------------------------- civil */

START_TEST(test_civil_known)
{
	int y;
	unsigned m, d;

	ck_assert_int_eq(timefmt_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(timefmt_days_from_civil(1969, 12, 31), -1);
	ck_assert_int_eq(timefmt_days_from_civil(2000, 3, 1), 11017);
	ck_assert_int_eq(timefmt_days_from_civil(2024, 2, 29), 19782);
	ck_assert_int_eq(timefmt_days_from_civil(1000, 1, 1), -354285);
	ck_assert_int_eq(timefmt_days_from_civil(9999, 12, 31), 2932896);
	ck_assert_int_eq(timefmt_days_from_civil(1, 1, 1), -719162);
	ck_assert_int_eq(timefmt_days_from_civil(0, 3, 1), -719468);
	timefmt_civil_from_days(-719468, &y, &m, &d);
	ck_assert_int_eq(y, 0);
	ck_assert_uint_eq(m, 3);
	ck_assert_uint_eq(d, 1);
	timefmt_civil_from_days(19782, &y, &m, &d);
	ck_assert_int_eq(y, 2024);
	ck_assert_uint_eq(m, 2);
	ck_assert_uint_eq(d, 29);
	timefmt_civil_from_days(-1, &y, &m, &d);
	ck_assert_int_eq(y, 1969);
	ck_assert_uint_eq(m, 12);
	ck_assert_uint_eq(d, 31);
}
END_TEST

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

START_TEST(test_civil_sweep)
{
	/* every day from about 6000 BC to AD 10400: the round trip holds and
	 * consecutive days are consecutive dates */
	int py;
	unsigned pm, pd;

	timefmt_civil_from_days(-3000001, &py, &pm, &pd);
	for (int64_t z = -3000000; z <= 3100000; z++) {
		static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int y;
		unsigned m, d, last;

		timefmt_civil_from_days(z, &y, &m, &d);
		if (timefmt_days_from_civil(y, m, d) != z)
			ck_abort_msg("day %lld -> %d-%u-%u does not return", (long long)z, y, m, d);
		last = pm == 2 && is_leap(py) ? 29 : mdays[pm - 1];
		if (pd < last) {
			if (!(y == py && m == pm && d == pd + 1))
				ck_abort_msg("day %lld: %d-%u-%u after %d-%u-%u", (long long)z, y,
					     m, d, py, pm, pd);
		} else if (pm < 12) {
			if (!(y == py && m == pm + 1 && d == 1))
				ck_abort_msg("day %lld: %d-%u-%u after %d-%u-%u", (long long)z, y,
					     m, d, py, pm, pd);
		} else if (!(y == py + 1 && m == 1 && d == 1)) {
			ck_abort_msg("day %lld: %d-%u-%u after %d-%u-%u", (long long)z, y, m, d, py,
				     pm, pd);
		}
		py = y;
		pm = m;
		pd = d;
	}
}
END_TEST

START_TEST(test_civil_vs_timegm)
{
	/* the C library agrees on the first of every month, years 1000..9999 */
	for (int y = 1000; y <= 9999; y += 7) {
		for (unsigned m = 1; m <= 12; m++) {
			struct tm tm;

			memset(&tm, 0, sizeof tm);
			tm.tm_year = y - 1900;
			tm.tm_mon = (int)m - 1;
			tm.tm_mday = 1;
			time_t t = timegm(&tm);

			ck_assert_int_eq(timefmt_days_from_civil(y, m, 1), (int64_t)t / 86400);
		}
	}
}
END_TEST

static Suite *
timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_ok, 0, TEST_LEN(ok_cases));
	tcase_add_loop_test(tc, test_parse_bad, 0, TEST_LEN(bad_cases));
	tcase_add_test(tc, test_parse_len);
	tcase_add_loop_test(tc, test_offset_keeps_range, 0, TEST_LEN(offset_escapes));
	tcase_add_loop_test(tc, test_epoch, 0, TEST_LEN(epoch_cases));
	tcase_add_test(tc, test_epoch_needs_flag);
	tcase_add_test(tc, test_parse_date);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_format, 0, TEST_LEN(fmt_cases));
	tcase_add_loop_test(tc, test_format_epoch, 0, TEST_LEN(epoch_fmt_cases));
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_boundaries);
	suite_add_tcase(s, tc);

	tc = tcase_create("civil");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_civil_known);
	tcase_add_test(tc, test_civil_sweep);
	tcase_add_test(tc, test_civil_vs_timegm);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(timefmt_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
