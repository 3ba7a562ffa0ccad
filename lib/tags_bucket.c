#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "tags_bucket.h"
#include "text.h"
#include "timefmt.h"

/* ------------------------------------------------------------ validators */

bool
tags_name_valid(const char *s, size_t len)
{
	return s != NULL && text_valid_name(s, len, TAGS_NAME_MAX);
}

/* Canonical decimal: 1..max, no sign, no leading zero, no other byte. */
static bool
parse_positive(const char *s, size_t len, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || len == 0 || len > 19 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int64_t digit = s[i] - '0';

		/* v * 10 + digit <= max, without overflow (max - digit may be
		 * negative, and C division truncates toward zero) */
		if (digit > max || v > (max - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	*out = v;
	return true;
}

bool
tags_parse_n(const char *s, size_t len, int64_t *n)
{
	return parse_positive(s, len, TAGS_N_MAX, n);
}

bool
tags_parse_limit(const char *s, size_t len, int64_t max, int64_t *limit)
{
	return max >= 1 && parse_positive(s, len, max, limit);
}

int
tags_parse_time(const char *s, size_t len, int64_t *usec, struct diag *d)
{
	int64_t t;

	if (timefmt_parse(s, len, TIMEFMT_EPOCH, &t, d) < 0)
		return -1;
	/* an RFC 3339 offset can move a valid calendar time out of range */
	if (t < TAGS_TIME_MIN || t > TAGS_TIME_MAX) {
		diag_set(d, DIAG_INVALID, "time '%.*s' is outside years 1000 to 9999",
			 (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	*usec = t;
	return 0;
}

/* --------------------------------------------------------------- buckets */

static const char *const bucket_names[] = {"minute", "hour", "day"};

int
tags_bucket_parse(const char *s, size_t len, enum tags_bucket *b)
{
	for (size_t i = 0; i < sizeof bucket_names / sizeof bucket_names[0]; i++) {
		if (s != NULL && strlen(bucket_names[i]) == len &&
		    memcmp(bucket_names[i], s, len) == 0) {
			*b = (enum tags_bucket)i;
			return 0;
		}
	}
	return -1;
}

const char *
tags_bucket_name(enum tags_bucket b)
{
	return (unsigned)b < sizeof bucket_names / sizeof bucket_names[0] ? bucket_names[b] : "?";
}

int64_t
tags_bucket_usec(enum tags_bucket b)
{
	switch (b) {
	case TAGS_BUCKET_MINUTE: return TAGS_USEC_MINUTE;
	case TAGS_BUCKET_HOUR: return TAGS_USEC_HOUR;
	case TAGS_BUCKET_DAY:
	default: return TAGS_USEC_DAY;
	}
}

int64_t
tags_floor(int64_t t, int64_t size)
{
	int64_t r = t % size;

	/* C division truncates toward zero; floor needs one step down */
	return r < 0 ? t - r - size : t - r;
}

int
tags_series_plan(enum tags_bucket b, const int64_t *from, const int64_t *to, int64_t now,
		 struct tags_series *s, struct diag *d)
{
	int64_t size = tags_bucket_usec(b);
	int64_t end_time = to != NULL ? *to : now;
	int64_t last_start, first, count;

	if (end_time < TAGS_TIME_MIN || end_time > TAGS_TIME_MAX ||
	    (from != NULL && (*from < TAGS_TIME_MIN || *from > TAGS_TIME_MAX))) {
		diag_set(d, DIAG_INVALID, "times must lie in years 1000 to 9999");
		return -1;
	}
	last_start = tags_floor(end_time, size);
	if (from != NULL) {
		if (*from > end_time) {
			diag_set(d, DIAG_INVALID, "'from' is after 'to'");
			return -1;
		}
		first = tags_floor(*from, size);
		/* both lie within the DATETIME range: no overflow */
		count = (last_start - first) / size + 1;
		if (count > TAGS_MAX_BUCKETS) {
			diag_set(d, DIAG_TOO_LARGE,
				 "the range holds %" PRId64 " %s buckets; at most %d are allowed",
				 count, tags_bucket_name(b), TAGS_MAX_BUCKETS);
			return -1;
		}
	} else {
		count = TAGS_DEFAULT_BUCKETS;
		first = last_start - (count - 1) * size;
		if (first < TAGS_TIME_MIN) {
			diag_set(d, DIAG_INVALID,
				 "the default range of %d buckets would start before year 1000",
				 TAGS_DEFAULT_BUCKETS);
			return -1;
		}
	}
	/* buckets are aligned on the epoch, and 1000-01-01 and 10000-01-01 are
	 * whole days from it, so the series never leaves the range */
	s->bucket = b;
	s->size = size;
	s->first = first;
	s->count = count;
	s->last = first + count * size - 1;
	return 0;
}

/* --------------------------------------------------------------- cursors */

char *
tags_history_cursor(struct arena *a, const struct tags_history_pos *p)
{
	char at[TIMEFMT_SQL_LEN + 1], id[24], seq[24];
	const char *f[3] = {at, id, seq};

	timefmt_sql(p->at, at);
	snprintf(id, sizeof id, "%" PRId64, p->id);
	snprintf(seq, sizeof seq, "%" PRId64, p->seq);
	return cursor_encode(a, f, 3);
}

int
tags_parse_history_cursor(struct arena *a, const char *text, size_t len, struct tags_history_pos *p,
			  struct diag *d)
{
	char *f[3];

	if (cursor_decode(a, text, len, f, 3, d) < 0)
		return -1;
	if (timefmt_parse(f[0], strlen(f[0]), 0, &p->at, d) < 0 || p->at < TAGS_TIME_MIN ||
	    p->at > TAGS_TIME_MAX || !text_parse_id(f[1], strlen(f[1]), &p->id) ||
	    !text_parse_id(f[2], strlen(f[2]), &p->seq) || p->seq > TAGS_HISTORY_SEQ_MAX) {
		diag_set(d, DIAG_INVALID, "bad cursor");
		return -1;
	}
	return 0;
}

char *
tags_list_cursor(struct arena *a, const char *name, size_t len)
{
	const char *f[1] = {arena_strndup(a, name, len)};

	return cursor_encode(a, f, 1);
}

int
tags_parse_list_cursor(struct arena *a, const char *text, size_t len, const char **name,
		       size_t *name_len, struct diag *d)
{
	char *f[1];

	if (cursor_decode(a, text, len, f, 1, d) < 0)
		return -1;
	if (!tags_name_valid(f[0], strlen(f[0]))) {
		diag_set(d, DIAG_INVALID, "bad cursor");
		return -1;
	}
	*name = f[0];
	*name_len = strlen(f[0]);
	return 0;
}
