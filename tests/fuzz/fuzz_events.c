/* fuzz_events: exact epochs and the event body validators
 * (events_epoch.c, API.md §3).
 *
 * The whole input is, first, epoch text as a client would send it:
 *   - events_epoch_parse accepts exactly /[0-9]+(\.[0-9]+)?/ of at most
 *     EVENTS_EPOCH_TEXT_MAX bytes whose value, rounded half up to the
 *     microsecond, is at most EVENTS_EPOCH_MAX; a slow reference computes
 *     that value independently and the two must agree both ways;
 *   - what parses prints (into a buffer of exactly EVENTS_EPOCH_LEN + 1
 *     bytes) with six decimals and parses back to the same microsecond, and
 *     canonical text prints back byte for byte;
 *   - whatever timefmt_parse_epoch (at most six decimals) accepts parses
 *     here to the same value.
 * Then the input is a request body: when it is valid JSON it goes through
 * the /add_event, /remove_events and /events/<id>/stop validators, whose
 * results must satisfy their contracts (tags distinct and valid, epochs in
 * range, stop not before start, every start equal to its value re-parsed,
 * an error always with a code and a message). */
#include "autoconfig.h"

#include <inttypes.h>

#include "arena.h"
#include "events_epoch.h"
#include "fuzz_common.h"
#include "json.h"
#include "text.h"
#include "timefmt.h"

#define NOW INT64_C(1700000000123456)

/* The reference: 1 with *out set when s has the accepted shape and range. */
static int
reference(const char *s, size_t len, int64_t *out)
{
	size_t i = 0, dot = len;
	unsigned __int128 v = 0;
	int64_t frac = 0, nd = 0, round = 0;

	if (len == 0 || len > EVENTS_EPOCH_TEXT_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && dot == len)
			dot = i;
		else if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	if (dot == 0 || dot == len - 1)
		return 0;
	for (i = 0; i < dot; i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > (unsigned __int128)1 << 80)
			return 0;
	}
	for (i = dot + 1; i < len; i++, nd++) {
		if (nd < 6)
			frac = frac * 10 + (s[i] - '0');
		else if (nd == 6)
			round = s[i] >= '5';
	}
	for (; nd < 6; nd++)
		frac *= 10;
	v = v * 1000000 + (unsigned)frac + (unsigned)round;
	if (v > (unsigned __int128)EVENTS_EPOCH_MAX)
		return 0;
	*out = (int64_t)v;
	return 1;
}

static void
check_epoch_text(const char *s, size_t len)
{
	int64_t us = -1, ref = -1, back, tf;
	int rc = events_epoch_parse(s, len, &us);
	int want = reference(s, len, &ref);
	struct diag d;

	FUZZ_CHECK(rc == 0 || rc == -1, "events_epoch_parse returned %d", rc);
	if ((rc == 0) != want || (want && us != ref)) {
		fuzz_dump("input", s, len);
		FUZZ_CHECK(0, "parse %d (%" PRId64 "), reference %d (%" PRId64 ")", rc, us, want, ref);
	}
	if (rc == 0) {
		char out[EVENTS_EPOCH_LEN + 1];
		size_t n;

		FUZZ_CHECK(us >= 0 && us <= EVENTS_EPOCH_MAX, "%" PRId64 " out of range", us);
		n = events_epoch_format(us, out);
		FUZZ_CHECK(n == strlen(out) && n <= EVENTS_EPOCH_LEN && n >= 8 && out[n - 7] == '.',
			   "%" PRId64 " printed as '%s'", us, out);
		FUZZ_CHECK(events_epoch_parse(out, n, &back) == 0 && back == us,
			   "'%s' does not parse back to %" PRId64, out, us);
		/* canonical: no leading zero, exactly six decimals */
		if (len == n && len > 7 && s[len - 7] == '.' && (s[0] != '0' || len == 8))
			FUZZ_CHECK(memcmp(out, s, n) == 0, "canonical '%.*s' printed as '%s'",
				   (int)len, s, out);
	}
	if (len <= EVENTS_EPOCH_TEXT_MAX && timefmt_parse_epoch(s, len, &tf, &d) == 0 &&
	    tf <= EVENTS_EPOCH_MAX) {
		if (rc != 0 || us != tf) {
			fuzz_dump("input", s, len);
			FUZZ_CHECK(0, "timefmt says %" PRId64 ", events_epoch_parse %d/%" PRId64, tf,
				   rc, us);
		}
	}
}

static void
check_err(const struct events_err *err, const char *what)
{
	FUZZ_CHECK(err->code != NULL && err->code[0] != '\0', "%s: no error code", what);
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL && err->msg[0] != '\0',
		   "%s: no message", what);
}

static void
check_bodies(struct arena *a, const char *s, size_t len)
{
	json_object *body = NULL;
	struct diag d;
	struct events_new ev;
	struct events_remove rm;
	struct events_err err;
	bool has;
	int64_t stop;

	if (json_parse(a, s, len, &body, &d) < 0)
		return;
	memset(&err, 0, sizeof err);
	if (events_validate_new(body, NOW, &ev, &err) == 0) {
		FUZZ_CHECK(ev.ntags <= EVENTS_MAX_TAGS, "%zu tags", ev.ntags);
		for (size_t i = 0; i < ev.ntags; i++) {
			FUZZ_CHECK(text_valid_name(ev.tags[i].s, ev.tags[i].len, EVENTS_TAG_MAX_CHARS),
				   "tag %zu invalid", i);
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(ev.tags[i].len != ev.tags[j].len ||
						   memcmp(ev.tags[i].s, ev.tags[j].s, ev.tags[i].len) != 0,
					   "tags %zu and %zu are the same", j, i);
		}
		FUZZ_CHECK(ev.start_us >= 0 && ev.start_us <= EVENTS_EPOCH_MAX, "start out of range");
		if (json_member(body, "start_epoch") == NULL)
			FUZZ_CHECK(ev.start_us == NOW, "no start_epoch but start %" PRId64, ev.start_us);
		if (ev.has_stop)
			FUZZ_CHECK(ev.stop_us >= ev.start_us && ev.stop_us <= EVENTS_EPOCH_MAX,
				   "stop %" PRId64 " start %" PRId64, ev.stop_us, ev.start_us);
		FUZZ_CHECK(json_object_is_type(json_member(body, "tags"), json_type_array),
			   "accepted without a tags array");
	} else {
		check_err(&err, "add_event");
	}
	memset(&err, 0, sizeof err);
	if (events_validate_remove(body, a, &rm, &err) == 0) {
		if (!rm.purge) {
			FUZZ_CHECK(rm.n <= EVENTS_REMOVE_MAX, "%zu values", rm.n);
			FUZZ_CHECK(rm.n == json_object_array_length(rm.values), "count");
			for (size_t i = 0; i < rm.n; i++) {
				int64_t v;

				FUZZ_CHECK(rm.starts[i] >= 0 && rm.starts[i] <= EVENTS_EPOCH_MAX,
					   "start %zu out of range", i);
				FUZZ_CHECK(events_epoch_json(json_object_array_get_idx(rm.values, i), &v) == 0 &&
						   v == rm.starts[i],
					   "value %zu re-parses differently", i);
			}
		} else {
			FUZZ_CHECK(json_object_get_boolean(json_member(body, "purge")), "purge not true");
		}
	} else {
		check_err(&err, "remove_events");
	}
	memset(&err, 0, sizeof err);
	if (events_validate_stop(body, &has, &stop, &err) == 0) {
		if (has)
			FUZZ_CHECK(stop >= 0 && stop <= EVENTS_EPOCH_MAX, "stop out of range");
	} else {
		check_err(&err, "stop");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct arena *a;

	fuzz_quiet_logs();
	check_epoch_text(s, size);
	/* the same bytes as a request body */
	a = arena_new(4096);
	check_bodies(a, s, size);
	arena_free(a);
	return 0;
}
