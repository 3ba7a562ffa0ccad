/* Unit tests for jobs.h: the name a process writes into lease rows. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"

/* "host:pid:nonce": this host's name, this pid, 8 lower-case hex digits */
START_TEST(test_holder_names_host_and_pid)
{
	char holder[JOBS_HOLDER_MAX], host[64], prefix[JOBS_HOLDER_MAX];
	const char *nonce;

	jobs_holder(holder);
	ck_assert_int_eq(gethostname(host, sizeof host), 0);
	host[sizeof host - 1] = '\0';
	snprintf(prefix, sizeof prefix, "%s:%ld:", host, (long)getpid());
	ck_assert_msg(strncmp(holder, prefix, strlen(prefix)) == 0, "holder %s, want %s...", holder,
		      prefix);
	nonce = holder + strlen(prefix);
	ck_assert_uint_eq(strlen(nonce), 8);
	ck_assert_uint_eq(strspn(nonce, "0123456789abcdef"), 8);
}
END_TEST

/* Two processes with the same host name and pid (containers that share a
 * hostname) must not share a holder, or each takes the other's leases for
 * its own: within one process, successive names differ too. */
START_TEST(test_holder_differs_for_the_same_host_and_pid)
{
	char a[JOBS_HOLDER_MAX], b[JOBS_HOLDER_MAX];
	int same = 0;

	for (int i = 0; i < 4; i++) {
		jobs_holder(a);
		jobs_holder(b);
		same += strcmp(a, b) == 0;
	}
	ck_assert_int_eq(same, 0);
}
END_TEST

static Suite *
jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("holder");

	tcase_add_test(tc, test_holder_names_host_and_pid);
	tcase_add_test(tc, test_holder_differs_for_the_same_host_and_pid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jobs_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
