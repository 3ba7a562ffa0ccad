/* fuzz_tags: the request-value checks and bucket arithmetic of the tags
 * module (tags_bucket.c, API.md §2).
 *
 * Input: the first byte selects the bucket (low 2 bits; 3 = an invalid
 * name taken from the input) and whether from (bit 2) and to (bit 3) are
 * given; the rest is split at the first '\n' into the from and the to
 * text.  Every validator also sees the whole input.  Checked:
 *   - tags_name_valid accepts exactly 1..191 code points of valid UTF-8
 *     without NUL or control characters;
 *   - tags_parse_n / tags_parse_limit accept exactly canonical decimals
 *     (no sign, no leading zero) in range, and print back to the input;
 *   - tags_parse_time gives a time in the DATETIME range that survives a
 *     print-and-parse round trip, or fails with DIAG_INVALID;
 *   - tags_bucket_parse accepts exactly "minute", "hour" and "day";
 *   - tags_series_plan: success means 1..10,000 whole, aligned buckets
 *     inside the range, holding from and to, exactly 60 when from is
 *     absent; failure is DIAG_INVALID or DIAG_TOO_LARGE with a message,
 *     and DIAG_TOO_LARGE only when more than 10,000 buckets were asked;
 *   - the /history and GET /tags cursors decode only to valid fields, and
 *     what decodes encodes and decodes again to the same values. */
#include "autoconfig.h"

#include <inttypes.h>

#include "arena.h"
#include "fuzz_common.h"
#include "tags_bucket.h"
#include "text.h"
#include "timefmt.h"

/* A fixed "now" keeps the harness deterministic: 2026-11-22T14:00:00Z. */
#define FUZZ_NOW INT64_C(1795356000000000)

static struct arena *arena;

static bool
canonical_decimal(const char *s, size_t len, int64_t max, int64_t *v)
{
	char buf[32];
	long long x;

	if (len == 0 || len > 19 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len == 19 && strcmp(buf, "9223372036854775807") > 0)
		return false;
	x = strtoll(buf, NULL, 10);
	if (x < 1 || x > max)
		return false;
	*v = x;
	return true;
}

static void
check_name(const char *s, size_t len)
{
	bool ok = tags_name_valid(s, len);
	bool expect = len > 0 && text_valid_utf8(s, len) && !text_has_control(s, len) &&
		      text_utf8_chars(s, len) <= TAGS_NAME_MAX;

	if (ok != expect) {
		fuzz_dump("name", s, len);
		FUZZ_CHECK(0, "tags_name_valid = %d, expected %d", ok, expect);
	}
}

static void
check_numbers(const char *s, size_t len)
{
	static const int64_t maxes[] = {1, 10000, TAGS_N_MAX, INT64_MAX};
	int64_t n = -1, expect = -1;
	bool ok = tags_parse_n(s, len, &n);
	bool want = canonical_decimal(s, len, TAGS_N_MAX, &expect);

	FUZZ_CHECK(ok == want, "tags_parse_n = %d, expected %d", ok, want);
	if (ok) {
		char back[24];

		FUZZ_CHECK(n == expect && n >= 1 && n <= TAGS_N_MAX, "n = %" PRId64, n);
		snprintf(back, sizeof back, "%" PRId64, n);
		FUZZ_CHECK(strlen(back) == len && memcmp(back, s, len) == 0, "n does not print back");
	}
	for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
		int64_t l = -1;

		ok = tags_parse_limit(s, len, maxes[i], &l);
		want = canonical_decimal(s, len, maxes[i], &expect);
		FUZZ_CHECK(ok == want, "tags_parse_limit(max %" PRId64 ") = %d", maxes[i], ok);
		if (ok)
			FUZZ_CHECK(l == expect, "limit %" PRId64 " != %" PRId64, l, expect);
	}
}

/* 0 parsed into *t, -1 rejected. */
static int
check_time(const char *s, size_t len, int64_t *t)
{
	struct diag d;
	char sql[TIMEFMT_SQL_LEN + 1];
	int64_t again;

	d.code = 0;
	if (tags_parse_time(s, len, t, &d) < 0) {
		FUZZ_CHECK(d.code == DIAG_INVALID, "tags_parse_time failed with code %d", d.code);
		return -1;
	}
	FUZZ_CHECK(*t >= TAGS_TIME_MIN && *t <= TAGS_TIME_MAX, "time %" PRId64 " out of range", *t);
	timefmt_sql(*t, sql);
	FUZZ_CHECK(tags_parse_time(sql, strlen(sql), &again, &d) == 0 && again == *t,
		   "time %" PRId64 " does not survive %s", *t, sql);
	return 0;
}

static void
check_bucket_name(const char *s, size_t len)
{
	enum tags_bucket b;
	int rc = tags_bucket_parse(s, len, &b);
	bool want = (len == 6 && memcmp(s, "minute", 6) == 0) ||
		    (len == 4 && memcmp(s, "hour", 4) == 0) || (len == 3 && memcmp(s, "day", 3) == 0);

	FUZZ_CHECK((rc == 0) == want, "tags_bucket_parse = %d", rc);
	if (rc == 0) {
		FUZZ_CHECK(strlen(tags_bucket_name(b)) == len &&
				   memcmp(tags_bucket_name(b), s, len) == 0,
			   "bucket name does not round-trip");
	}
}

static void
check_plan(enum tags_bucket b, const int64_t *from, const int64_t *to)
{
	struct tags_series s;
	struct diag d;
	int64_t size = tags_bucket_usec(b), end = to ? *to : FUZZ_NOW;

	d.code = 0;
	d.msg[0] = '\0';
	if (tags_series_plan(b, from, to, FUZZ_NOW, &s, &d) < 0) {
		FUZZ_CHECK(d.code == DIAG_INVALID || d.code == DIAG_TOO_LARGE, "plan failed with %d",
			   d.code);
		FUZZ_CHECK(d.msg[0] != '\0', "plan failed without a message");
		if (d.code == DIAG_TOO_LARGE)
			FUZZ_CHECK(from != NULL && (tags_floor(end, size) - tags_floor(*from, size)) /
								   size + 1 >
							   TAGS_MAX_BUCKETS,
				   "too many buckets claimed wrongly");
		else if (from != NULL && *from <= end)
			FUZZ_CHECK(0, "valid from/to rejected: %s", d.msg);
		return;
	}
	FUZZ_CHECK(s.bucket == b && s.size == size, "wrong bucket");
	FUZZ_CHECK(s.count >= 1 && s.count <= TAGS_MAX_BUCKETS, "count %" PRId64, s.count);
	FUZZ_CHECK(from != NULL || s.count == TAGS_DEFAULT_BUCKETS, "default count %" PRId64,
		   s.count);
	FUZZ_CHECK(tags_floor(s.first, size) == s.first, "first not aligned");
	FUZZ_CHECK(s.last == s.first + s.count * size - 1, "last inconsistent");
	FUZZ_CHECK(s.first >= TAGS_TIME_MIN && s.last <= TAGS_TIME_MAX, "series out of range");
	FUZZ_CHECK(s.first <= end && end <= s.last, "to outside the series");
	FUZZ_CHECK(s.last - end < size, "to not in the last bucket");
	if (from != NULL) {
		FUZZ_CHECK(*from <= end, "from after to accepted");
		FUZZ_CHECK(s.first <= *from && *from < s.first + size, "from not in the first bucket");
	}
}

static void
check_cursors(const char *s, size_t len)
{
	struct tags_history_pos p, q;
	struct diag d;
	const char *name, *name2;
	size_t nl, nl2;

	if (tags_parse_history_cursor(arena, s, len, &p, &d) == 0) {
		char *c = tags_history_cursor(arena, &p);

		FUZZ_CHECK(p.at >= TAGS_TIME_MIN && p.at <= TAGS_TIME_MAX && p.id >= 1 && p.seq >= 1,
			   "history cursor fields out of range");
		FUZZ_CHECK(tags_parse_history_cursor(arena, c, strlen(c), &q, &d) == 0 &&
				   q.at == p.at && q.id == p.id && q.seq == p.seq,
			   "history cursor does not round-trip");
	}
	if (tags_parse_list_cursor(arena, s, len, &name, &nl, &d) == 0) {
		char *c;

		FUZZ_CHECK(tags_name_valid(name, nl), "list cursor decoded to a bad name");
		c = tags_list_cursor(arena, name, nl);
		FUZZ_CHECK(tags_parse_list_cursor(arena, c, strlen(c), &name2, &nl2, &d) == 0 &&
				   nl2 == nl && memcmp(name, name2, nl) == 0,
			   "list cursor does not round-trip");
	}
	/* any valid name makes a cursor that decodes back to it */
	if (tags_name_valid(s, len)) {
		char *c = tags_list_cursor(arena, s, len);

		FUZZ_CHECK(tags_parse_list_cursor(arena, c, strlen(c), &name, &nl, &d) == 0 &&
				   nl == len && memcmp(name, s, len) == 0,
			   "a name's cursor does not decode");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	if (arena == NULL)
		arena = arena_new(4096);
	fuzz_quiet_logs();
	check_name(text, size);
	check_numbers(text, size);
	check_bucket_name(text, size);
	check_cursors(text, size);
	if (size >= 1) {
		const char *rest = text + 1, *end = text + size;
		const char *nl = memchr(rest, '\n', (size_t)(end - rest));
		const char *ft = rest, *tt = nl ? nl + 1 : end;
		size_t fl = (size_t)((nl ? nl : end) - rest), tl = (size_t)(end - tt);
		int64_t from, to;
		int has_from = (data[0] & 4) && check_time(ft, fl, &from) == 0;
		int has_to = (data[0] & 8) && check_time(tt, tl, &to) == 0;

		if ((data[0] & 3) != 3)
			check_plan((enum tags_bucket)(data[0] & 3), has_from ? &from : NULL,
				   has_to ? &to : NULL);
		(void)check_time(text, size, &from);
	}
	arena_reset(arena);
	return 0;
}
