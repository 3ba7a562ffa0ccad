#include "autoconfig.h"

#include <string.h>
#include <time.h>

#include "text.h"
#include "timefmt.h"

#define USEC_PER_SEC INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)

/* Howard Hinnant's days_from_civil: exact for the whole int range. */
int64_t
timefmt_days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

void
timefmt_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400) + (*m <= 2);
}

static int
days_in_month(int y, unsigned m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* Reads exactly n digits at *p. */
static int
digits(const char **p, const char *end, int n, int *out)
{
	int v = 0;

	if (end - *p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

static int
parse_date_part(const char **p, const char *end, int64_t *days)
{
	int y, mo, dd;

	if (digits(p, end, 4, &y) < 0 || expect(p, end, '-') < 0 || digits(p, end, 2, &mo) < 0 ||
	    expect(p, end, '-') < 0 || digits(p, end, 2, &dd) < 0)
		return -1;
	if (y < 1000 || mo < 1 || mo > 12 || dd < 1 || dd > days_in_month(y, (unsigned)mo))
		return -1;
	*days = timefmt_days_from_civil(y, (unsigned)mo, (unsigned)dd);
	return 0;
}

/* A '.' and its digits, as microseconds.  RFC 3339 allows any number of
 * digits (Go, Java and .NET send up to nine): the seventh rounds half up,
 * so ".9999995" is 1000000, a carry into the seconds. */
static int
parse_fraction(const char **p, const char *end, int64_t *usec)
{
	int64_t v = 0;
	int n = 0, round = 0;

	*usec = 0;
	if (*p >= end || **p != '.')
		return 0;
	for ((*p)++; *p < end && **p >= '0' && **p <= '9'; (*p)++, n++) {
		if (n < 6)
			v = v * 10 + (**p - '0');
		else if (n == 6)
			round = **p >= '5';
	}
	if (n == 0)
		return -1;
	for (; n < 6; n++)
		v *= 10;
	*usec = v + round;
	return 0;
}

int
timefmt_parse_epoch(const char *s, size_t len, int64_t *usec, struct diag *d)
{
	const char *p = s, *end = s + len;
	int64_t secs = 0, frac;

	if (p == end || *p < '0' || *p > '9')
		goto bad;
	while (p < end && *p >= '0' && *p <= '9') {
		if (secs > (INT64_MAX / USEC_PER_SEC) / 10)
			goto bad;
		secs = secs * 10 + (*p - '0');
		p++;
	}
	if (parse_fraction(&p, end, &frac) < 0 || p != end)
		goto bad;
	/* the same range as the calendar forms: up to 9999-12-31 (compare the
	 * seconds first: the product could overflow) */
	if (secs > TIMEFMT_MAX_USEC / USEC_PER_SEC || secs * USEC_PER_SEC + frac > TIMEFMT_MAX_USEC)
		goto bad;
	*usec = secs * USEC_PER_SEC + frac;
	return 0;
bad:
	diag_set(d, DIAG_INVALID, "bad epoch time '%.*s'", (int)(len > 64 ? 64 : len), s);
	return -1;
}

int
timefmt_parse_date(const char *s, size_t len, int64_t *usec, struct diag *d)
{
	const char *p = s, *end = s + len;
	int64_t days;

	if (parse_date_part(&p, end, &days) < 0 || p != end) {
		diag_set(d, DIAG_INVALID, "bad date '%.*s'", (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	*usec = days * SEC_PER_DAY * USEC_PER_SEC;
	return 0;
}

int
timefmt_parse(const char *s, size_t len, unsigned flags, int64_t *usec, struct diag *d)
{
	const char *p = s, *end = s + len;
	int64_t days, frac, offset = 0, t;
	int hh, mi, ss;
	int rfc;

	if ((flags & TIMEFMT_EPOCH) && len > 0 && len < 40 && (len < 5 || s[4] != '-'))
		return timefmt_parse_epoch(s, len, usec, d);
	if (parse_date_part(&p, end, &days) < 0 || p >= end)
		goto bad;
	if (*p == ' ')
		rfc = 0;
	else if (*p == 'T' || *p == 't')
		rfc = 1;
	else
		goto bad;
	p++;
	if (digits(&p, end, 2, &hh) < 0 || expect(&p, end, ':') < 0 ||
	    digits(&p, end, 2, &mi) < 0 || expect(&p, end, ':') < 0 ||
	    digits(&p, end, 2, &ss) < 0 || hh > 23 || mi > 59 || ss > 59)
		goto bad;
	if (parse_fraction(&p, end, &frac) < 0)
		goto bad;
	if (rfc) {
		if (p < end && (*p == 'Z' || *p == 'z')) {
			p++;
		} else if (p < end && (*p == '+' || *p == '-')) {
			int sign = *p == '-' ? -1 : 1, oh, om;

			p++;
			if (digits(&p, end, 2, &oh) < 0 || expect(&p, end, ':') < 0 ||
			    digits(&p, end, 2, &om) < 0 || oh > 23 || om > 59)
				goto bad;
			offset = sign * ((int64_t)oh * 3600 + om * 60);
		} else {
			goto bad;
		}
	}
	if (p != end)
		goto bad;
	t = ((days * SEC_PER_DAY + hh * 3600 + mi * 60 + ss) - offset) * USEC_PER_SEC + frac;
	/* neither an offset nor rounding may carry the instant out of years
	 * 1000..9999 UTC */
	if (t < TIMEFMT_MIN_USEC || t > TIMEFMT_MAX_USEC)
		goto bad;
	*usec = t;
	return 0;
bad:
	diag_set(d, DIAG_INVALID, "bad time '%.*s'", (int)(len > 64 ? 64 : len), s);
	return -1;
}

static void
split(int64_t usec, int64_t *days, int64_t *secs_of_day, int64_t *frac)
{
	int64_t secs = usec / USEC_PER_SEC;

	*frac = usec % USEC_PER_SEC;
	if (*frac < 0) {
		*frac += USEC_PER_SEC;
		secs--;
	}
	*days = secs / SEC_PER_DAY;
	*secs_of_day = secs % SEC_PER_DAY;
	if (*secs_of_day < 0) {
		*secs_of_day += SEC_PER_DAY;
		(*days)--;
	}
}

/* Written by hand, not with sprintf: result pages and log batches format
 * thousands of times per request.  An instant outside TIMEFMT_MIN_USEC ..
 * TIMEFMT_MAX_USEC, which no caller passes, prints as the nearer limit, so
 * the year always has four digits and the text fits TIMEFMT_*_LEN. */
static void
format(int64_t usec, char sep, int with_frac, const char *suffix, char *out)
{
	int64_t days, sod, frac;
	int y;
	unsigned m, d;
	char *p = out;
	size_t suffix_len = strlen(suffix);

	if (usec < TIMEFMT_MIN_USEC)
		usec = TIMEFMT_MIN_USEC;
	if (usec > TIMEFMT_MAX_USEC)
		usec = TIMEFMT_MAX_USEC;
	split(usec, &days, &sod, &frac);
	timefmt_civil_from_days(days, &y, &m, &d);
	p = text_put_digits(p, (unsigned)y, 4);
	*p++ = '-';
	p = text_put_digits(p, m, 2);
	*p++ = '-';
	p = text_put_digits(p, d, 2);
	*p++ = sep;
	p = text_put_digits(p, (unsigned)(sod / 3600), 2);
	*p++ = ':';
	p = text_put_digits(p, (unsigned)(sod / 60 % 60), 2);
	*p++ = ':';
	p = text_put_digits(p, (unsigned)(sod % 60), 2);
	if (with_frac) {
		*p++ = '.';
		p = text_put_digits(p, (unsigned)frac, 6);
	}
	memcpy(p, suffix, suffix_len + 1);
}

void
timefmt_sql(int64_t usec, char *out)
{
	format(usec, ' ', 1, "", out);
}

void
timefmt_sql_seconds(int64_t usec, char *out)
{
	format(usec, ' ', 0, "", out);
}

void
timefmt_rfc3339(int64_t usec, char *out)
{
	format(usec, 'T', 1, "Z", out);
}

size_t
timefmt_epoch(int64_t usec, char *out)
{
	/* the magnitude, then the sign: -0.5 s is "-0.500000" */
	uint64_t mag = usec < 0 ? (uint64_t)0 - (uint64_t)usec : (uint64_t)usec;
	size_t n = 0;

	if (usec < 0)
		out[n++] = '-';
	n += text_format_u64(mag / 1000000u, out + n);
	out[n++] = '.';
	text_put_digits(out + n, mag % 1000000u, 6);
	n += 6;
	out[n] = '\0';
	return n;
}

int64_t
timefmt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#ifdef CLOCK_BOOTTIME
#define TIMEFMT_ELAPSED_CLOCK CLOCK_BOOTTIME
#else
#define TIMEFMT_ELAPSED_CLOCK CLOCK_MONOTONIC
#endif

uint64_t
timefmt_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(TIMEFMT_ELAPSED_CLOCK, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t
timefmt_monotonic_ms(void)
{
	return (int64_t)(timefmt_monotonic_us() / 1000u);
}

void
timefmt_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}
