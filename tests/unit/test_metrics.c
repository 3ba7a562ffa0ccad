/* Unit tests for metrics.h: the exposition /metrics renders from the
 * shared region.  A histogram's +Inf bucket must equal its _count, and its
 * buckets must be cumulative, even while other processes of the pool are
 * recording requests: the test forks a writer into slot 1, as a pool
 * worker would be, and renders while it writes. */
#include "autoconfig.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"

#define RENDERS 3000 /* scrapes while the writer runs */

static const char *const labels[] = {"GET /a", "PUT /b/:id"};

/* The value of the sample line that starts with prefix (up to the
 * value's space) in text, or -1. */
static long long
sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* Whether the buckets of route "GET /a" in text never go down. */
static bool
cumulative(const char *text)
{
	static const char *const le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
					 "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
					 "1",      "2.5",   "5",      "10",    "+Inf"};
	long long last = 0;

	for (size_t i = 0; i < sizeof le / sizeof le[0]; i++) {
		char prefix[160];
		long long v;

		snprintf(prefix, sizeof prefix,
			 "cairn_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a\","
			 "le=\"%s\"}",
			 le[i]);
		v = sample(text, prefix);
		if (v < last)
			return false;
		last = v;
	}
	return true;
}

START_TEST(test_histogram_inf_equals_count_while_written)
{
	pid_t writer;
	int bad_inf = 0, bad_order = 0, seen = 0;

	ck_assert_int_eq(metrics_init(2, labels, 2), 0);
	writer = fork();
	ck_assert_int_ge(writer, 0);
	if (writer == 0) {
		/* gone with the test, even if an assertion ends it early */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		metrics_use_slot(1);
		for (uint64_t i = 0;; i++)
			metrics_request(0, 200, (i * 7919) % 20000);
	}
	for (int i = 0; i < RENDERS; i++) {
		struct buf b;
		long long inf, count;

		buf_init(&b, 1u << 20);
		ck_assert_int_eq(metrics_render(&b), 0);
		inf = sample(
			b.data,
			"cairn_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a\","
			"le=\"+Inf\"}");
		count = sample(b.data, "cairn_http_request_duration_seconds_count{method=\"GET\","
				       "route=\"/a\"}");
		if (inf >= 0) {
			seen++;
			bad_inf += inf != count;
			bad_order += !cumulative(b.data);
		}
		buf_free(&b);
	}
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	ck_assert_int_gt(seen, 0);
	ck_assert_msg(bad_inf == 0, "+Inf differed from _count in %d of %d scrapes", bad_inf, seen);
	ck_assert_msg(bad_order == 0, "buckets went down in %d of %d scrapes", bad_order, seen);
}
END_TEST

/* The bucket le of PUT /b/:id's histogram in text. */
static long long
put_b_bucket(const char *text, const char *le)
{
	char name[160];

	snprintf(name, sizeof name,
		 "cairn_http_request_duration_seconds_bucket{method=\"PUT\",route=\"/b/:id\","
		 "le=\"%s\"}",
		 le);
	return sample(text, name);
}

START_TEST(test_histogram_of_a_quiet_route)
{
	struct buf b;

	ck_assert_int_eq(metrics_init(1, labels, 2), 0);
	metrics_request(1, 201, 300);      /* 0.0003 s */
	metrics_request(1, 201, 2000);     /* 0.002 s */
	metrics_request(1, 404, 20000000); /* 20 s: only +Inf */
	buf_init(&b, 1u << 20);
	ck_assert_int_eq(metrics_render(&b), 0);
	ck_assert_int_eq(put_b_bucket(b.data, "0.0005"), 1);
	ck_assert_int_eq(put_b_bucket(b.data, "0.0025"), 2);
	ck_assert_int_eq(put_b_bucket(b.data, "10"), 2);
	ck_assert_int_eq(put_b_bucket(b.data, "+Inf"), 3);
	ck_assert_int_eq(sample(b.data, "cairn_http_request_duration_seconds_count{method=\"PUT\","
					"route=\"/b/:id\"}"),
			 3);
	/* a route nobody asked for has no series */
	ck_assert_ptr_null(strstr(b.data, "route=\"/a\""));
	buf_free(&b);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("histogram");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_histogram_of_a_quiet_route);
	tcase_add_test(tc, test_histogram_inf_equals_count_while_written);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
