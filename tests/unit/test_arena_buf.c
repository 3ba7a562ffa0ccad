/* Unit tests for arena.h (the per-request pool) and buf.h (the bounded
 * growable buffer). */
#include "autoconfig.h"

#include <check.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"

/* ------------------------------------------------------------------ arena */

START_TEST(test_arena_alignment)
{
	struct arena *a = arena_new(1024);
	static const size_t sizes[] = {1,  2,  3,  5,  7,   8,    9,   13,
				       15, 16, 17, 31, 33, 100, 1000, 5000};

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			void *p = arena_alloc(a, sizes[i]);

			ck_assert_ptr_nonnull(p);
			ck_assert_uint_eq((uintptr_t)p % alignof(max_align_t), 0);
			memset(p, 0xAB, sizes[i]);
		}
		char *s = arena_strdup(a, "odd");
		long double *ld = arena_alloc(a, sizeof *ld);

		ck_assert_str_eq(s, "odd");
		ck_assert_uint_eq((uintptr_t)ld % alignof(long double), 0);
		*ld = 1.5L;
		ck_assert(*ld == 1.5L);
		arena_reset(a);
	}
	arena_free(a);
}
END_TEST

START_TEST(test_arena_no_overlap)
{
	/* many allocations of varied sizes keep their own bytes */
	struct arena *a = arena_new(1024);
	unsigned char *p[500];
	size_t n[500];

	for (size_t i = 0; i < 500; i++) {
		n[i] = (i * 37) % 700 + 1;
		p[i] = arena_alloc(a, n[i]);
		memset(p[i], (int)(i & 0xFF), n[i]);
	}
	for (size_t i = 0; i < 500; i++)
		for (size_t j = 0; j < n[i]; j++)
			ck_assert_uint_eq(p[i][j], i & 0xFF);
	arena_free(a);
}
END_TEST

START_TEST(test_arena_big)
{
	struct arena *a = arena_new(1024);
	size_t big = 4u << 20;
	char *small1 = arena_strdup(a, "before");
	char *p = arena_alloc(a, big);
	char *small2;

	memset(p, 'x', big);
	small2 = arena_strdup(a, "after");
	ck_assert_str_eq(small1, "before");
	ck_assert_str_eq(small2, "after");
	ck_assert_int_eq(p[0], 'x');
	ck_assert_int_eq(p[big - 1], 'x');
	ck_assert_uint_ge(arena_used(a), big);
	/* several chunk-sized and larger in a row */
	for (int i = 0; i < 10; i++) {
		char *q = arena_alloc(a, 1024 * (size_t)(i + 1));

		memset(q, i, 1024 * (size_t)(i + 1));
	}
	arena_reset(a);
	ck_assert_uint_eq(arena_used(a), 0);
	p = arena_alloc(a, big);
	memset(p, 'y', big);
	arena_free(a);
}
END_TEST

START_TEST(test_arena_used)
{
	struct arena *a = arena_new(4096);

	ck_assert_uint_eq(arena_used(a), 0);
	arena_alloc(a, 10);
	ck_assert_uint_ge(arena_used(a), 10);
	arena_alloc(a, 100);
	ck_assert_uint_ge(arena_used(a), 110);
	arena_reset(a);
	ck_assert_uint_eq(arena_used(a), 0);
	arena_free(a);
}
END_TEST

START_TEST(test_arena_calloc)
{
	struct arena *a = arena_new(1024);
	unsigned char *p = arena_alloc(a, 512);

	memset(p, 0xFF, 512);
	arena_reset(a);
	/* the same memory again, now zeroed */
	p = arena_calloc(a, 64, 8);
	for (size_t i = 0; i < 512; i++)
		ck_assert_uint_eq(p[i], 0);
	p = arena_calloc(a, 3, 1000);
	for (size_t i = 0; i < 3000; i++)
		ck_assert_uint_eq(p[i], 0);
	arena_free(a);
}
END_TEST

START_TEST(test_arena_strings)
{
	struct arena *a = arena_new(1024);
	char *s;

	ck_assert_str_eq(arena_strdup(a, "hello"), "hello");
	ck_assert_str_eq(arena_strdup(a, ""), "");
	s = arena_strndup(a, "hello", 3);
	ck_assert_str_eq(s, "hel");
	s = arena_strndup(a, "a\0b", 3);
	ck_assert_mem_eq(s, "a\0b\0", 4);
	ck_assert_str_eq(arena_printf(a, "%d-%s-%05.1f", 42, "x", 2.5), "42-x-002.5");
	ck_assert_str_eq(arena_printf(a, "%s", ""), "");
	/* output larger than a chunk */
	s = arena_printf(a, "[%5000s]", "r");
	ck_assert_uint_eq(strlen(s), 5002);
	ck_assert_int_eq(s[0], '[');
	ck_assert_int_eq(s[5000], 'r');
	ck_assert_int_eq(s[5001], ']');
	arena_free(a);
}
END_TEST

static int order[8];
static int norder;

static void
record(void *data)
{
	order[norder++] = *(int *)data;
}

START_TEST(test_arena_cleanups_reverse)
{
	static int one = 1, two = 2, three = 3;
	struct arena *a = arena_new(1024);

	norder = 0;
	arena_on_reset(a, record, &one);
	arena_on_reset(a, record, &two);
	arena_on_reset(a, record, &three);
	ck_assert_int_eq(norder, 0);
	arena_reset(a);
	ck_assert_int_eq(norder, 3);
	ck_assert_int_eq(order[0], 3);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
	/* they ran once: a second reset does not run them again */
	arena_reset(a);
	ck_assert_int_eq(norder, 3);
	/* free runs the pending ones */
	arena_on_reset(a, record, &two);
	arena_free(a);
	ck_assert_int_eq(norder, 4);
	ck_assert_int_eq(order[3], 2);
}
END_TEST

static void
free_it(void *p)
{
	free(p);
}

START_TEST(test_arena_cleanup_after_big)
{
	/* cleanups registered across several chunks all run */
	struct arena *a = arena_new(1024);
	static int v[5] = {10, 11, 12, 13, 14};

	norder = 0;
	for (int i = 0; i < 5; i++) {
		arena_alloc(a, 3000);
		arena_on_reset(a, record, &v[i]);
		arena_on_reset(a, free_it, malloc(16));
	}
	arena_reset(a);
	ck_assert_int_eq(norder, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(order[i], 14 - i);
	arena_free(a);
}
END_TEST

/* Sizes no allocation can satisfy must abort through mem_alloc (STYLE.md
 * rule 5; arena.h: "never NULL"), never hand out a pointer to less memory
 * than asked for.  Run only in fork mode: they end in SIGABRT. */
START_TEST(test_arena_alloc_huge_aborts)
{
	struct arena *a = arena_new(1024);
	void *p = arena_alloc(a, SIZE_MAX);

	ck_abort_msg("arena_alloc(SIZE_MAX) returned %p instead of aborting", p);
}
END_TEST

START_TEST(test_arena_calloc_overflow_aborts)
{
	struct arena *a = arena_new(1024);
	void *p = arena_calloc(a, SIZE_MAX / 2, 4);

	ck_abort_msg("arena_calloc(SIZE_MAX / 2, 4) returned %p instead of aborting", p);
}
END_TEST

START_TEST(test_arena_free_null)
{
	arena_free(NULL);
}
END_TEST

/* -------------------------------------------------------------------- buf */

/* The buffer's contents as a string, checking the NUL after them. */
static void
check_buf(const struct buf *b, const char *want, size_t want_len)
{
	ck_assert_uint_eq(b->len, want_len);
	ck_assert_ptr_nonnull(b->data);
	ck_assert_mem_eq(b->data, want, want_len);
	ck_assert_int_eq(b->data[b->len], '\0');
	ck_assert_uint_le(b->len, b->max);
	ck_assert_uint_gt(b->cap, b->len);
}

START_TEST(test_buf_max)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	check_buf(&b, "hello", 5);
	/* one byte over: refused, nothing changed */
	ck_assert_int_eq(buf_append(&b, "world!", 6), -1);
	check_buf(&b, "hello", 5);
	ck_assert_int_eq(buf_puts(&b, "world!"), -1);
	check_buf(&b, "hello", 5);
	ck_assert_int_eq(buf_printf(&b, "%s", "world!"), -1);
	check_buf(&b, "hello", 5);
	/* exactly up to max is fine */
	ck_assert_int_eq(buf_append(&b, "world", 5), 0);
	check_buf(&b, "helloworld", 10);
	ck_assert_int_eq(buf_putc(&b, 'x'), -1);
	check_buf(&b, "helloworld", 10);
	ck_assert_int_eq(buf_printf(&b, "%d", 1), -1);
	check_buf(&b, "helloworld", 10);
	/* an empty append at the limit is fine */
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	check_buf(&b, "helloworld", 10);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_huge_append)
{
	struct buf b;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_append(&b, "ab", 2), 0);
	/* sizes that would overflow len + n */
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX), -1);
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 1), -1);
	check_buf(&b, "ab", 2);
	buf_free(&b);

	buf_init(&b, SIZE_MAX - 1);
	ck_assert_int_eq(buf_append(&b, "ab", 2), 0);
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 2), -1);
	check_buf(&b, "ab", 2);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_growth)
{
	struct buf b;
	char want[20000];
	size_t o = 0;

	buf_init(&b, 1u << 20);
	for (int i = 0; i < 3000; i++) {
		ck_assert_int_eq(buf_printf(&b, "%04d,", i), 0);
		o += (size_t)sprintf(want + o, "%04d,", i);
		ck_assert_int_eq(b.data[b.len], '\0');
	}
	check_buf(&b, want, o);
	ck_assert_uint_eq(b.len, 15000);
	/* one large append, then bytes with NULs */
	buf_reset(&b);
	ck_assert_int_eq(buf_append(&b, want, o), 0);
	ck_assert_int_eq(buf_append(&b, "a\0b", 3), 0);
	ck_assert_uint_eq(b.len, o + 3);
	ck_assert_mem_eq(b.data + o, "a\0b", 4);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf_exact_limit)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_int_eq(buf_printf(&b, "%s", "123456"), -1);
	check_buf(&b, "abc", 3);
	ck_assert_int_eq(buf_printf(&b, "%s", "12345"), 0);
	check_buf(&b, "abc12345", 8);
	buf_free(&b);

	/* a long format into a fresh buffer grows it in one go */
	buf_init(&b, 1u << 16);
	ck_assert_int_eq(buf_printf(&b, "%3000d|", 7), 0);
	ck_assert_uint_eq(b.len, 3001);
	ck_assert_int_eq(b.data[2999], '7');
	ck_assert_int_eq(b.data[3000], '|');
	ck_assert_int_eq(b.data[3001], '\0');
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reset_free)
{
	struct buf b;
	size_t cap;

	buf_init(&b, 1024);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.max, 1024);
	ck_assert_int_eq(buf_puts(&b, "something"), 0);
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, cap);      /* memory kept */
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(buf_putc(&b, 'z'), 0);
	check_buf(&b, "z", 1);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);                        /* twice is harmless */
	buf_reset(&b);                       /* and reset of a freed buffer */
	ck_assert_int_eq(buf_puts(&b, "again"), 0);
	check_buf(&b, "again", 5);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_empty_append)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(buf_putc(&b, 'a'), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

static Suite *
arena_buf_suite(void)
{
	Suite *s = suite_create("arena_buf");
	TCase *tc;

	tc = tcase_create("arena");
	tcase_add_test(tc, test_arena_alignment);
	tcase_add_test(tc, test_arena_no_overlap);
	tcase_add_test(tc, test_arena_big);
	tcase_add_test(tc, test_arena_used);
	tcase_add_test(tc, test_arena_calloc);
	tcase_add_test(tc, test_arena_strings);
	tcase_add_test(tc, test_arena_cleanups_reverse);
	tcase_add_test(tc, test_arena_cleanup_after_big);
	tcase_add_test(tc, test_arena_free_null);
	suite_add_tcase(s, tc);

	if (getenv("CK_FORK") == NULL || strcmp(getenv("CK_FORK"), "no") != 0) {
		tc = tcase_create("arena_abort");
		tcase_add_test_raise_signal(tc, test_arena_alloc_huge_aborts, SIGABRT);
		tcase_add_test_raise_signal(tc, test_arena_calloc_overflow_aborts, SIGABRT);
		suite_add_tcase(s, tc);
	}

	tc = tcase_create("buf");
	tcase_add_test(tc, test_buf_max);
	tcase_add_test(tc, test_buf_huge_append);
	tcase_add_test(tc, test_buf_growth);
	tcase_add_test(tc, test_buf_printf_exact_limit);
	tcase_add_test(tc, test_buf_reset_free);
	tcase_add_test(tc, test_buf_empty_append);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(arena_buf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
