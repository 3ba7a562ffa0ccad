/* fuzz_timefmt: the time parsers and printers (timefmt.c, API.md §0 Times).
 *
 * The whole input is a time as a client would send it.  Checked for
 * timefmt_parse (with and without TIMEFMT_EPOCH), timefmt_parse_date and
 * timefmt_parse_epoch:
 *   - what parses prints with timefmt_rfc3339 and timefmt_sql into buffers
 *     of exactly TIMEFMT_*_LEN + 1 bytes (the documented size; ASan sees
 *     any overflow) and parses back to the same microsecond; the printed
 *     forms have exactly TIMEFMT_*_LEN characters; timefmt_sql_seconds
 *     parses back to the value rounded down to the second; timefmt_epoch of
 *     a non-negative value parses back with timefmt_parse_epoch;
 *   - TIMEFMT_EPOCH only adds forms: a time that parses without it parses
 *     with it to the same value;
 *   - a canonical input ("YYYY-MM-DD HH:MM:SS.ffffff",
 *     "YYYY-MM-DDTHH:MM:SS.ffffffZ") prints back byte for byte;
 *   - a date is midnight of that day and prints as that date.
 * The first eight bytes, read as a number folded into the supported range
 * (years 1000..9999), also go through print and parse. */
#include "autoconfig.h"

#include <inttypes.h>

#include "fuzz_common.h"
#include "timefmt.h"

#define USEC INT64_C(1000000)

static int64_t min_usec, max_usec;

static void
roundtrip(int64_t usec, const char *input, size_t len, const char *how)
{
	char rfc[TIMEFMT_RFC_LEN + 1];
	char sql[TIMEFMT_SQL_LEN + 1];
	char secs[TIMEFMT_SQL_LEN + 1];
	char epoch[32];
	int64_t back;
	struct diag d;

	timefmt_rfc3339(usec, rfc);
	timefmt_sql(usec, sql);
	timefmt_sql_seconds(usec, secs);

	if (strlen(rfc) != TIMEFMT_RFC_LEN || strlen(sql) != TIMEFMT_SQL_LEN) {
		fuzz_dump("input", input, len);
		FUZZ_CHECK(0, "%s: %" PRId64 " printed as '%s' / '%s'", how, usec, rfc, sql);
	}
	if (timefmt_parse(rfc, strlen(rfc), 0, &back, &d) != 0 || back != usec) {
		fuzz_dump("input", input, len);
		FUZZ_CHECK(0, "%s: %" PRId64 " -> '%s' does not parse back (%s)", how, usec, rfc,
			   d.msg);
	}
	if (timefmt_parse(sql, strlen(sql), 0, &back, &d) != 0 || back != usec) {
		fuzz_dump("input", input, len);
		FUZZ_CHECK(0, "%s: %" PRId64 " -> '%s' does not parse back (%s)", how, usec, sql,
			   d.msg);
	}
	int64_t floor_s = usec - ((usec % USEC) + USEC) % USEC;

	if (timefmt_parse(secs, strlen(secs), TIMEFMT_EPOCH, &back, &d) != 0 || back != floor_s)
		FUZZ_CHECK(0, "%s: %" PRId64 " -> '%s' (seconds) does not parse back", how, usec,
			   secs);
	if (usec >= 0) {
		timefmt_epoch(usec, epoch);
		if (timefmt_parse_epoch(epoch, strlen(epoch), &back, &d) != 0 || back != usec)
			FUZZ_CHECK(0, "%s: %" PRId64 " -> epoch '%s' does not parse back", how, usec,
				   epoch);
		if (timefmt_parse(epoch, strlen(epoch), TIMEFMT_EPOCH, &back, &d) != 0 ||
		    back != usec)
			FUZZ_CHECK(0, "%s: epoch '%s' rejected by timefmt_parse", how, epoch);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int64_t u0, u1;
	struct diag d;

	if (max_usec == 0) {
		min_usec = timefmt_days_from_civil(1000, 1, 1) * 86400 * USEC;
		max_usec = timefmt_days_from_civil(10000, 1, 1) * 86400 * USEC - 1;
	}
	fuzz_quiet_logs();

	int rc0 = timefmt_parse(s, size, 0, &u0, &d);
	int rc1 = timefmt_parse(s, size, TIMEFMT_EPOCH, &u1, &d);

	FUZZ_CHECK(rc0 == 0 || rc0 == -1, "timefmt_parse returned %d", rc0);
	if (rc0 == 0) {
		roundtrip(u0, s, size, "timefmt_parse");
		FUZZ_CHECK(rc1 == 0 && u1 == u0, "TIMEFMT_EPOCH changed a calendar time");
		if (size == TIMEFMT_SQL_LEN && s[10] == ' ') {
			char sql[TIMEFMT_SQL_LEN + 1];

			timefmt_sql(u0, sql);
			FUZZ_CHECK(memcmp(sql, s, size) == 0, "canonical '%.26s' printed as '%s'", s,
				   sql);
		}
		if (size == TIMEFMT_RFC_LEN && s[10] == 'T' && s[26] == 'Z') {
			char rfc[TIMEFMT_RFC_LEN + 1];

			timefmt_rfc3339(u0, rfc);
			FUZZ_CHECK(memcmp(rfc, s, size) == 0, "canonical '%.27s' printed as '%s'", s,
				   rfc);
		}
	}
	if (rc1 == 0)
		roundtrip(u1, s, size, "timefmt_parse(EPOCH)");

	if (timefmt_parse_date(s, size, &u0, &d) == 0) {
		char sql[TIMEFMT_SQL_LEN + 1];

		FUZZ_CHECK(size == 10, "a %zu-byte date", size);
		FUZZ_CHECK(u0 % (86400 * USEC) == 0, "a date that is not midnight");
		roundtrip(u0, s, size, "timefmt_parse_date");
		timefmt_sql(u0, sql);
		FUZZ_CHECK(memcmp(sql, s, 10) == 0 && strcmp(sql + 10, " 00:00:00.000000") == 0,
			   "date '%.10s' printed as '%s'", s, sql);
	}
	if (timefmt_parse_epoch(s, size, &u0, &d) == 0) {
		FUZZ_CHECK(u0 >= 0, "negative epoch time");
		roundtrip(u0, s, size, "timefmt_parse_epoch");
	}

	/* any instant in range prints and parses back */
	uint64_t raw = 0;

	for (size_t i = 0; i < size && i < 8; i++)
		raw |= (uint64_t)data[i] << (8 * i);
	u0 = min_usec + (int64_t)(raw % (uint64_t)(max_usec - min_usec + 1));
	roundtrip(u0, s, size, "numeric");

	/* and the calendar arithmetic agrees with itself */
	int y;
	unsigned m, dd;
	int64_t days = (u0 - ((u0 % (86400 * USEC)) + 86400 * USEC) % (86400 * USEC)) /
		       (86400 * USEC);

	timefmt_civil_from_days(days, &y, &m, &dd);
	FUZZ_CHECK(timefmt_days_from_civil(y, m, dd) == days, "civil round trip of day %" PRId64,
		   days);
	return 0;
}
