/* timefmt: parsing and printing the times of API.md §0.
 *
 * Times are int64 microseconds since 1970-01-01T00:00:00Z, always UTC.
 * Accepted input: "YYYY-MM-DD HH:MM:SS[.f+]" (UTC), RFC 3339
 * ("YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM)", `t`/`z` accepted too),
 * and, with TIMEFMT_EPOCH, epoch seconds as a plain decimal.  A fraction
 * may have any number of digits and is rounded half up to the
 * microsecond.  Years 1000 to 9999 (after rounding); leap seconds and
 * trailing bytes are errors. */
#ifndef CAIRN_TIMEFMT_H
#define CAIRN_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define TIMEFMT_EPOCH 0x1 /* also accept epoch seconds */

/* 1000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z */
#define TIMEFMT_MIN_USEC INT64_C(-30610224000000000)
#define TIMEFMT_MAX_USEC INT64_C(253402300799999999)

#define TIMEFMT_SQL_LEN 26 /* "YYYY-MM-DD HH:MM:SS.ffffff" */
#define TIMEFMT_RFC_LEN 27 /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */

int timefmt_parse(const char *s, size_t len, unsigned flags, int64_t *usec, struct diag *d);
/* "YYYY-MM-DD" exactly; *usec is that day's midnight UTC. */
int timefmt_parse_date(const char *s, size_t len, int64_t *usec, struct diag *d);
/* Epoch seconds "1650108997.592079" (no sign, no exponent; the fraction
 * rounded to the microsecond) to microseconds. */
int timefmt_parse_epoch(const char *s, size_t len, int64_t *usec, struct diag *d);

/* Formats into out (at least TIMEFMT_*_LEN + 1 bytes). */
void timefmt_sql(int64_t usec, char *out);         /* with microseconds */
void timefmt_sql_seconds(int64_t usec, char *out); /* "YYYY-MM-DD HH:MM:SS" */
void timefmt_rfc3339(int64_t usec, char *out);     /* always .ffffff and Z */
size_t timefmt_epoch(int64_t usec, char *out);     /* "1650108997.592079"; returns the length */

/* Days since the epoch for a civil date, and back (proleptic Gregorian). */
int64_t timefmt_days_from_civil(int y, unsigned m, unsigned d);
void timefmt_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);

/* The wall clock: microseconds since the epoch, UTC. */
int64_t timefmt_now_us(void);
/* A monotonic clock in microseconds, for intervals and deadlines:
 * CLOCK_BOOTTIME, which unlike CLOCK_MONOTONIC goes on while the host is
 * suspended, so a deadline that mirrors one on the database's clock (a
 * lease's end, a call's slot) is not believed still ahead after a
 * resume.  Neither steps with the wall clock. */
uint64_t timefmt_monotonic_us(void);
/* The same in milliseconds. */
int64_t timefmt_monotonic_ms(void);
/* Sleeps ms milliseconds, or less if a signal comes. */
void timefmt_sleep_ms(long ms);

#endif
