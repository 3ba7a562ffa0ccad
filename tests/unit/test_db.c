/* Unit tests for db.h's error classes: which server and client errors a
 * request answers 503 for (unavailable or busy), which may be retried on a
 * new connection, which 413 (too large), and which are none of these (a
 * 500, or a caller's own case). */
#include "autoconfig.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "db.h"
#include "diag.h"

struct error_class {
	int code;
	bool unavailable, reconnectable, busy, read_only, out_of_space, too_large;
};

static const struct error_class classes[] = {
	/* the connection, or the server's refusal of one */
	{2002, true, true, false, false, false, false}, /* CR_CONNECTION_ERROR */
	{2006, true, true, false, false, false, false}, /* CR_SERVER_GONE_ERROR */
	{2013, true, true, false, false, false, false}, /* CR_SERVER_LOST */
	{1040, true, true, false, false, false, false}, /* too many connections */
	{1203, true, true, false, false, false, false}, /* max_user_connections */
	{1226, true, true, false, false, false, false}, /* the account's own limits */
	{1927, true, true, false, false, false, false}, /* KILL CONNECTION */
	{4031, true, true, false, false, false, false}, /* dropped for inactivity */
	{1047, true, true, false, false, false, false}, /* a Galera node not serving */
	{DIAG_UNAVAILABLE, true, false, false, false, false, false},
	/* a statement the server would not finish now */
	{1205, false, false, true, false, false, false}, /* lock wait timeout */
	{1213, false, false, true, false, false, false}, /* deadlock */
	{1317, false, false, true, false, false, false}, /* KILL QUERY */
	{1461, false, false, true, false, false, false}, /* max_prepared_stmt_count */
	{1969, false, false, true, false, false, false}, /* max_statement_time */
	{3024, false, false, true, false, false, false}, /* MySQL's max_execution_time */
	{1290, false, false, true, true, false, false},  /* --read-only */
	{1836, false, false, true, true, false, false},  /* MySQL read-only mode */
	{1792, false, false, true, true, false, false},  /* transaction_read_only */
	{1036, false, false, true, true, false, false},  /* innodb_read_only */
	{1114, false, false, true, false, true, false},  /* the table is full */
	{1021, false, false, true, false, true, false},  /* disk full */
	{1878, false, false, true, false, true, false},  /* temporary file write failure */
	/* over max_allowed_packet: never fits this server (413) */
	{1153, false, false, false, false, false, true},
	/* none of these: the caller's own case, or a bug (500) */
	{1062, false, false, false, false, false, false}, /* duplicate entry */
	{1064, false, false, false, false, false, false}, /* syntax error */
	{1146, false, false, false, false, false, false}, /* no such table */
	{0, false, false, false, false, false, false},
};

START_TEST(test_error_classes)
{
	const struct error_class *c = &classes[_i];
	struct diag d;

	diag_set(&d, c->code, "error %d", c->code);
	ck_assert_msg(db_error_unavailable(&d) == c->unavailable, "%d unavailable", c->code);
	ck_assert_msg(db_error_reconnectable(&d) == c->reconnectable, "%d reconnectable", c->code);
	ck_assert_msg(db_error_busy(&d) == c->busy, "%d busy", c->code);
	ck_assert_msg(db_error_read_only(&d) == c->read_only, "%d read-only", c->code);
	ck_assert_msg(db_error_out_of_space(&d) == c->out_of_space, "%d out of space", c->code);
	ck_assert_msg(db_error_too_large(&d) == c->too_large, "%d too large", c->code);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("errors");

	tcase_add_loop_test(tc, test_error_classes, 0, (int)(sizeof classes / sizeof classes[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(db_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
