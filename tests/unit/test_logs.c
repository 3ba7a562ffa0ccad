/* Unit tests of the logs validators (lib/logs_parse.c): levels, service
 * names, IP masks, the /intake batch validator, and the timestamp forms
 * the batch accepts (API.md §0, §1). */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json.h"
#include "logs_parse.h"
#include "timefmt.h"

static struct arena *arena;

static void
setup(void)
{
	arena = arena_new(4096);
}

static void
teardown(void)
{
	arena_free(arena);
	arena = NULL;
}

/* ------------------------------------------------------------------ levels */

START_TEST(level_names_any_case)
{
	ck_assert_int_eq(logs_level_parse("info", 4), LOGS_INFO);
	ck_assert_int_eq(logs_level_parse("INFO", 4), LOGS_INFO);
	ck_assert_int_eq(logs_level_parse("Warning", 7), LOGS_WARNING);
	ck_assert_int_eq(logs_level_parse("dEbUg", 5), LOGS_DEBUG);
	ck_assert_int_eq(logs_level_parse("error", 5), LOGS_ERROR);
	ck_assert_int_eq(logs_level_parse("CRITICAL", 8), LOGS_CRITICAL);
	ck_assert_int_eq(logs_level_parse("not_set", 7), LOGS_NOT_SET);
}
END_TEST

START_TEST(level_unknown_is_not_set)
{
	enum logs_level l;

	ck_assert_int_eq(logs_level_parse("warn", 4), LOGS_NOT_SET);
	ck_assert_int_eq(logs_level_parse("fatal", 5), LOGS_NOT_SET);
	ck_assert_int_eq(logs_level_parse("", 0), LOGS_NOT_SET);
	ck_assert_int_eq(logs_level_parse(NULL, 0), LOGS_NOT_SET);
	ck_assert_int_eq(logs_level_parse("info ", 5), LOGS_NOT_SET);
	/* a prefix of a name is not the name */
	ck_assert_int_eq(logs_level_parse("inf", 3), LOGS_NOT_SET);
	/* the length counts, not a NUL */
	ck_assert_int_eq(logs_level_parse("info\0x", 6), LOGS_NOT_SET);
	ck_assert_int_eq(logs_level_lookup("warn", 4, &l), -1);
	ck_assert_int_eq(logs_level_lookup("ERROR", 5, &l), 0);
	ck_assert_int_eq(l, LOGS_ERROR);
}
END_TEST

START_TEST(level_name_round_trip)
{
	for (int i = 0; i <= LOGS_LEVEL_MAX; i++) {
		const char *n = logs_level_name(i);

		ck_assert_int_eq(logs_level_parse(n, strlen(n)), i);
	}
	ck_assert_str_eq(logs_level_name(-1), "not_set");
	ck_assert_str_eq(logs_level_name(99), "not_set");
}
END_TEST

START_TEST(service_names)
{
	ck_assert(logs_service_name_valid("web-1.prod_A", 12));
	ck_assert(logs_service_name_valid("a", 1));
	ck_assert(!logs_service_name_valid("", 0));
	ck_assert(!logs_service_name_valid("a b", 3));
	ck_assert(!logs_service_name_valid("a/b", 3));
	ck_assert(!logs_service_name_valid("caf\xc3\xa9", 5));
	char n[66];

	memset(n, 'x', sizeof n);
	ck_assert(logs_service_name_valid(n, 64));
	ck_assert(!logs_service_name_valid(n, 65));
}
END_TEST

/* ------------------------------------------------------------------ masks */

static bool
match(const char *mask, const char *addr)
{
	return logs_ipmask_match(mask, strlen(mask), addr);
}

START_TEST(mask_validity)
{
	const char *good[] = {"192.168.%", "10.%.%.1", "10.0.0._", "%", "10.0.0.0/8",
			      "0.0.0.0/0", "::1/128", "2001:db8::/32", "127.0.0.1", "::1",
			      "fe80:%"};
	const char *bad[] = {"", "192.168.*", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08",
			     "::/129", "300.1.1.1", "10.0.0.0/8/8", "abc", "192.168.% ",
			     "10.0.0.1/-1", "host%", "1.2.3.4/x"};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(logs_ipmask_valid(good[i], strlen(good[i])), "%s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!logs_ipmask_valid(bad[i], strlen(bad[i])), "%s", bad[i]);
	/* a NUL inside: inet_pton would stop at it and check only the start */
	ck_assert(!logs_ipmask_valid("1.2.3.4\0", 8));
	ck_assert(!logs_ipmask_valid("10.0.0.0\0/8", 11));
	ck_assert(!logs_ipmask_valid("::1\0zz", 6));
}
END_TEST

START_TEST(mask_wildcards)
{
	ck_assert(match("192.168.%", "192.168.1.20"));
	ck_assert(match("192.168.%", "192.168.255.255"));
	ck_assert(!match("192.168.%", "192.169.1.1"));
	ck_assert(!match("192.168.%", "10.192.168.1"));
	ck_assert(match("%", "10.1.2.3"));
	ck_assert(match("%", "::1"));
	ck_assert(match("10.0.0._", "10.0.0.7"));
	ck_assert(!match("10.0.0._", "10.0.0.17"));
	ck_assert(match("10.%.1", "10.200.3.1"));
	ck_assert(!match("10.%.1", "10.200.3.12"));
	/* an IPv4 client seen on a dual-stack socket */
	ck_assert(match("192.168.%", "::ffff:192.168.0.9"));
	/* IPv6 hex digits in any case */
	ck_assert(match("FE80:%", "fe80::1"));
}
END_TEST

START_TEST(mask_cidr)
{
	ck_assert(match("10.0.0.0/8", "10.255.1.2"));
	ck_assert(!match("10.0.0.0/8", "11.0.0.1"));
	ck_assert(match("192.168.4.0/22", "192.168.7.255"));
	ck_assert(!match("192.168.4.0/22", "192.168.8.0"));
	ck_assert(match("0.0.0.0/0", "8.8.8.8"));
	ck_assert(match("127.0.0.1", "127.0.0.1"));
	ck_assert(!match("127.0.0.1", "127.0.0.2"));
	ck_assert(match("::1/128", "::1"));
	ck_assert(!match("::1/128", "::2"));
	ck_assert(match("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!match("2001:db8::/32", "2001:db9::1"));
	/* families cross only through the v4-mapped form */
	ck_assert(match("10.0.0.0/8", "::ffff:10.1.1.1"));
	ck_assert(!match("10.0.0.0/8", "::1"));
	ck_assert(!match("::1/128", "127.0.0.1"));
	ck_assert(match("::ffff:0:0/96", "10.1.1.1"));
	/* host bits in the network are ignored */
	ck_assert(match("10.1.2.3/8", "10.9.9.9"));
}
END_TEST

START_TEST(mask_bad_input_matches_nothing)
{
	ck_assert(!match("10.0.0.0/8", ""));
	ck_assert(!match("10.0.0.0/8", "not an address"));
	ck_assert(!logs_ipmask_match("10.0.0.0/8", 10, NULL));
	ck_assert(!match("bogus", "10.0.0.1"));
	ck_assert(!match("192.168.*", "192.168.1.1"));
}
END_TEST

START_TEST(allowed_lists)
{
	const char *l = "[\"192.168.%\", \"10.0.0.0/8\", \"::1/128\"]";

	ck_assert(logs_ip_allowed(NULL, 0, "1.2.3.4"));
	ck_assert(logs_ip_allowed("", 0, "1.2.3.4"));
	ck_assert(logs_ip_allowed(l, strlen(l), "192.168.3.3"));
	ck_assert(logs_ip_allowed(l, strlen(l), "10.3.3.3"));
	ck_assert(logs_ip_allowed(l, strlen(l), "::1"));
	ck_assert(!logs_ip_allowed(l, strlen(l), "127.0.0.1"));
	/* not an array of strings: nobody (fail closed) */
	ck_assert(!logs_ip_allowed("\"192.168.%\"", 11, "192.168.0.1"));
	ck_assert(!logs_ip_allowed("[1, 2]", 6, "192.168.0.1"));
	ck_assert(!logs_ip_allowed("[\"192.168.%\"", 12, "192.168.0.1"));
	ck_assert(!logs_ip_allowed("invalid", 7, "192.168.0.1"));
	ck_assert(!logs_ip_allowed("[]", 2, "192.168.0.1"));
}
END_TEST

/* ------------------------------------------------------------------ intake */

static const struct logs_limits limits = {10000, 65536};

/* Validates text; returns the compat message, or NULL when valid. */
static const char *
validate(const char *text, struct logs_batch *b)
{
	static char msg[256];
	json_object *root;
	struct diag d;

	ck_assert_int_eq(json_parse(arena, text, strlen(text), &root, &d), 0);
	if (logs_intake_validate(root, &limits, arena, b, msg, sizeof msg) == 0)
		return NULL;
	return msg;
}

START_TEST(intake_valid_batch)
{
	struct logs_batch b;
	const char *m = validate(
		"{\"key\": \"k\", \"data\": ["
		"{\"level\": \"INFO\", \"timestamp\": \"2026-11-22 14:00:00\", \"body\": \"one\"},"
		"{\"level\": \"bogus\", \"timestamp\": \"2026-11-22T14:00:00.5+01:00\", \"body\": \"two\"},"
		"{\"timestamp\": \"2026-11-22T23:59:59.999999Z\", \"body\": \"\", \"extra\": 1},"
		"{\"level\": 3, \"timestamp\": \"2026-11-22 00:00:00.000001\", \"body\": \"l\\nx\"}]}",
		&b);
	int64_t t;
	struct diag d;

	ck_assert_msg(m == NULL, "%s", m);
	ck_assert_uint_eq(b.n, 4);
	ck_assert_int_eq(b.records[0].level, LOGS_INFO);
	ck_assert_int_eq(b.records[1].level, LOGS_NOT_SET);
	ck_assert_int_eq(b.records[2].level, LOGS_NOT_SET);
	ck_assert_int_eq(b.records[3].level, LOGS_NOT_SET);
	ck_assert_int_eq(timefmt_parse("2026-11-22 14:00:00", 19, 0, &t, &d), 0);
	ck_assert_int_eq(b.records[0].ts, t);
	/* the offset is applied: 14:00:00.5+01:00 is 13:00:00.5 UTC */
	ck_assert_int_eq(b.records[1].ts, t - 3600 * INT64_C(1000000) + 500000);
	ck_assert_uint_eq(b.records[2].body_len, 0);
	ck_assert_str_eq(b.records[3].body, "l\nx");
	ck_assert_uint_eq(b.body_bytes, 3 + 3 + 0 + 3);
}
END_TEST

START_TEST(intake_messages_alias)
{
	struct logs_batch b;
	const char *m = validate(
		"{\"messages\": [{\"level\": \"error\", \"timestamp\": \"2026-01-01 00:00:00\","
		" \"body\": \"x\"}]}", &b);

	ck_assert_msg(m == NULL, "%s", m);
	ck_assert_uint_eq(b.n, 1);
	ck_assert_int_eq(b.records[0].level, LOGS_ERROR);
}
END_TEST

START_TEST(intake_malformed_data)
{
	struct logs_batch b;

	ck_assert_str_eq(validate("{\"key\": \"k\"}", &b),
			 "Invalid request, malformed data: missing 'data' element");
	ck_assert_str_eq(validate("[1]", &b),
			 "Invalid request, malformed data: missing 'data' element");
	ck_assert_str_eq(validate("{\"data\": null}", &b),
			 "Invalid request, malformed data: missing 'data' element");
	ck_assert_str_eq(validate("{\"data\": {}}", &b),
			 "Invalid request, malformed data: 'data' must be an array");
	ck_assert_str_eq(validate("{\"messages\": \"x\"}", &b),
			 "Invalid request, malformed data: 'messages' must be an array");
	ck_assert_str_eq(validate("{\"data\": []}", &b),
			 "Invalid request, malformed data: 'data' is empty");
	ck_assert_str_eq(validate("{\"data\": [], \"messages\": []}", &b),
			 "Invalid request, malformed data: give either 'data' or 'messages', not both");
}
END_TEST

START_TEST(intake_record_errors_name_the_index)
{
	struct logs_batch b;
	static const char ok[] = "{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"x\"}";
	struct {
		const char *rec, *msg;
	} cases[] = {
		{"5", "Invalid request, record 2: not an object"},
		{"{\"body\": \"x\"}", "Invalid request, record 2: missing timestamp"},
		{"{\"timestamp\": null, \"body\": \"x\"}", "Invalid request, record 2: missing timestamp"},
		{"{\"timestamp\": \"yesterday\", \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp 'yesterday'"},
		{"{\"timestamp\": 1650000000, \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp '1650000000'"},
		{"{\"timestamp\": \"2026-02-30 00:00:00\", \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp '2026-02-30 00:00:00'"},
		{"{\"timestamp\": \"2026-01-01T00:00:00\", \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp '2026-01-01T00:00:00'"},
		{"{\"timestamp\": \"2026-01-01 00:00:00Z\", \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp '2026-01-01 00:00:00Z'"},
		{"{\"timestamp\": \"2026-01-01 00:00:00.\", \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp '2026-01-01 00:00:00.'"},
		/* beyond the DATETIME range once the offset is applied */
		{"{\"timestamp\": \"9999-12-31T23:59:59-01:00\", \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp '9999-12-31T23:59:59-01:00'"},
		{"{\"timestamp\": \"1000-01-01T00:00:00+00:01\", \"body\": \"x\"}",
		 "Invalid request, record 2: bad timestamp '1000-01-01T00:00:00+00:01'"},
		{"{\"timestamp\": \"2026-01-01 00:00:00\"}", "Invalid request, record 2: missing body"},
		{"{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": 5}",
		 "Invalid request, record 2: body must be a string"},
		{"{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"a\\u0000b\"}",
		 "Invalid request, record 2: body contains a NUL character"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = arena_printf(arena, "{\"data\": [%s, %s, %s, %s]}", ok, ok,
					  cases[i].rec, ok);
		const char *m = validate(text, &b);

		ck_assert_msg(m != NULL, "case %zu accepted", i);
		ck_assert_str_eq(m, cases[i].msg);
	}
}
END_TEST

START_TEST(intake_extreme_timestamps)
{
	struct logs_batch b;
	const char *m = validate(
		"{\"data\": [{\"timestamp\": \"1000-01-01 00:00:00\", \"body\": \"\"},"
		"{\"timestamp\": \"9999-12-31 23:59:59.999999\", \"body\": \"\"}]}", &b);

	ck_assert_msg(m == NULL, "%s", m);
	ck_assert_int_eq(b.records[0].ts, LOGS_TIME_MIN);
	ck_assert_int_eq(b.records[1].ts, LOGS_TIME_MAX);
}
END_TEST

START_TEST(intake_echo_is_bounded)
{
	struct logs_batch b;
	char *big = arena_alloc(arena, 1000);
	const char *m;

	memset(big, 'x', 999);
	big[999] = '\0';
	m = validate(arena_printf(arena, "{\"data\": [{\"timestamp\": \"%s\", \"body\": \"\"}]}", big),
		     &b);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_lt(strlen(m), 200);
	ck_assert(strncmp(m, "Invalid request, record 0: bad timestamp 'xxxx", 46) == 0);
}
END_TEST

START_TEST(intake_limits)
{
	struct logs_limits small = {3, 4};
	struct logs_batch b;
	json_object *root;
	struct diag d;
	char msg[256];
	const char *four =
		"{\"data\": [{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"\"},"
		"{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"\"},"
		"{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"\"},"
		"{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"\"}]}";
	const char *long_body =
		"{\"data\": [{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"abcd\"},"
		"{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"abcde\"}]}";

	ck_assert_int_eq(json_parse(arena, four, strlen(four), &root, &d), 0);
	ck_assert_int_eq(logs_intake_validate(root, &small, arena, &b, msg, sizeof msg), -1);
	ck_assert_str_eq(msg, "Invalid request, too many records (max 3)");
	ck_assert_int_eq(json_parse(arena, long_body, strlen(long_body), &root, &d), 0);
	ck_assert_int_eq(logs_intake_validate(root, &small, arena, &b, msg, sizeof msg), -1);
	ck_assert_str_eq(msg, "Invalid request, record 1: body longer than 4 bytes");
}
END_TEST

START_TEST(intake_batch_of_max_records)
{
	struct logs_batch b;
	struct diag d;
	json_object *root;
	char msg[256];
	size_t n = 10001;
	struct logs_limits lim = {10000, 65536};
	char *text = arena_alloc(arena, n * 64 + 32), *p = text;

	p += sprintf(p, "{\"data\": [");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s{\"timestamp\": \"2026-01-01 00:00:00\", \"body\": \"b\"}",
			     i ? "," : "");
	sprintf(p, "]}");
	ck_assert_int_eq(json_parse(arena, text, strlen(text), &root, &d), 0);
	ck_assert_int_eq(logs_intake_validate(root, &lim, arena, &b, msg, sizeof msg), -1);
	ck_assert_str_eq(msg, "Invalid request, too many records (max 10000)");
	lim.max_batch = 10001;
	ck_assert_int_eq(logs_intake_validate(root, &lim, arena, &b, msg, sizeof msg), 0);
	ck_assert_uint_eq(b.n, n);
}
END_TEST

static Suite *
logs_suite(void)
{
	Suite *s = suite_create("logs");
	TCase *t = tcase_create("parse");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, level_names_any_case);
	tcase_add_test(t, level_unknown_is_not_set);
	tcase_add_test(t, level_name_round_trip);
	tcase_add_test(t, service_names);
	tcase_add_test(t, mask_validity);
	tcase_add_test(t, mask_wildcards);
	tcase_add_test(t, mask_cidr);
	tcase_add_test(t, mask_bad_input_matches_nothing);
	tcase_add_test(t, allowed_lists);
	tcase_add_test(t, intake_valid_batch);
	tcase_add_test(t, intake_messages_alias);
	tcase_add_test(t, intake_malformed_data);
	tcase_add_test(t, intake_record_errors_name_the_index);
	tcase_add_test(t, intake_extreme_timestamps);
	tcase_add_test(t, intake_echo_is_bounded);
	tcase_add_test(t, intake_limits);
	tcase_add_test(t, intake_batch_of_max_records);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(logs_suite());
	int failed;

	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
