/* tags_bucket: the pure part of the tags module (API.md §2): checks of
 * every request value and the arithmetic of bucketed history.  Nothing
 * here touches the database or the clock (callers pass "now"), so it is
 * unit-tested and fuzzed on its own.
 *
 * Times are int64 microseconds since the epoch, UTC (timefmt.h).  Buckets
 * are aligned on UTC boundaries of their own length (minute, hour, day),
 * counted from the epoch with floor division, so times before 1970 bucket
 * correctly too.  A series covers whole buckets: from the bucket holding
 * `from` to the bucket holding `to`, both included. */
#ifndef CAIRN_TAGS_BUCKET_H
#define CAIRN_TAGS_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

#define TAGS_NAME_MAX 191              /* characters (code points) */
#define TAGS_N_MAX INT64_C(1000000000) /* largest n of one /update */
#define TAGS_MAX_BUCKETS 10000
#define TAGS_DEFAULT_BUCKETS 60

#define TAGS_USEC_MINUTE INT64_C(60000000)
#define TAGS_USEC_HOUR (60 * TAGS_USEC_MINUTE)
#define TAGS_USEC_DAY (24 * TAGS_USEC_HOUR)

/* The range timefmt accepts and DATETIME stores: 1000-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999999Z. */
#define TAGS_TIME_MIN INT64_C(-30610224000000000)
#define TAGS_TIME_MAX INT64_C(253402300799999999)

/* A tag name: 1..TAGS_NAME_MAX characters of valid UTF-8 with no NUL or
 * control character.  Exact bytes; nothing is trimmed or folded. */
bool tags_name_valid(const char *s, size_t len);

/* n of /update: ASCII digits, no sign, no leading zero, 1..TAGS_N_MAX. */
bool tags_parse_n(const char *s, size_t len, int64_t *n);

/* limit of a list: ASCII digits, no sign, no leading zero, 1..max. */
bool tags_parse_limit(const char *s, size_t len, int64_t max, int64_t *limit);

/* A time parameter: "YYYY-MM-DD HH:MM:SS[.ffffff]", RFC 3339, or epoch
 * seconds with up to six fraction digits. DIAG_INVALID on failure. */
int tags_parse_time(const char *s, size_t len, int64_t *usec, struct diag *d);

enum tags_bucket { TAGS_BUCKET_MINUTE, TAGS_BUCKET_HOUR, TAGS_BUCKET_DAY };

/* "minute", "hour" or "day", exactly. 0, or -1 for anything else. */
int tags_bucket_parse(const char *s, size_t len, enum tags_bucket *b);
const char *tags_bucket_name(enum tags_bucket b);
/* The bucket's length in microseconds. */
int64_t tags_bucket_usec(enum tags_bucket b);
/* The start of the bucket of length size holding t: the largest multiple
 * of size that is <= t (floor, also for negative t). size > 0. */
int64_t tags_floor(int64_t t, int64_t size);

struct tags_series {
	enum tags_bucket bucket;
	int64_t size;  /* bucket length, microseconds */
	int64_t first; /* start of the first bucket */
	int64_t count; /* number of buckets, 1..TAGS_MAX_BUCKETS */
	int64_t last;  /* last microsecond covered: first + count * size - 1 */
};

/* Plans the series for a bucket and optional from/to (NULL when absent):
 * to defaults to now; from defaults to the start of the bucket
 * TAGS_DEFAULT_BUCKETS - 1 buckets before the one holding to, so exactly
 * TAGS_DEFAULT_BUCKETS buckets end with it.  Fails with DIAG_INVALID when
 * from is after to or the series leaves the DATETIME range, and with
 * DIAG_TOO_LARGE when it would have more than TAGS_MAX_BUCKETS buckets;
 * d->msg is for the client. */
int tags_series_plan(enum tags_bucket b, const int64_t *from, const int64_t *to, int64_t now,
		     struct tags_series *s, struct diag *d);

/* Where a page of compat /history ended: the last row shown (its time and
 * id) and its number in the 1..N numbering. */
struct tags_history_pos {
	int64_t at;
	int64_t id;
	int64_t seq;
};

/* The largest row number a /history cursor may carry: far beyond any
 * tag's history, and low enough that adding a page's rows to it cannot
 * overflow. */
#define TAGS_HISTORY_SEQ_MAX (INT64_MAX / 2)

/* The cursor of compat /history: encode into arena memory, decode with
 * every field checked (a time, two ids, the row number at most
 * TAGS_HISTORY_SEQ_MAX). DIAG_INVALID for a bad cursor. */
char *tags_history_cursor(struct arena *a, const struct tags_history_pos *p);
int tags_parse_history_cursor(struct arena *a, const char *text, size_t len,
			      struct tags_history_pos *p, struct diag *d);

/* The cursor of GET /tags: the last tag name of a page. The decoded name
 * (arena memory) is checked with tags_name_valid. */
char *tags_list_cursor(struct arena *a, const char *name, size_t len);
int tags_parse_list_cursor(struct arena *a, const char *text, size_t len, const char **name,
			   size_t *name_len, struct diag *d);

#endif
