/* events_epoch: exact epoch times and the validation of event request
 * bodies (API.md §3), without a database, so both can be unit-tested and
 * fuzzed.
 *
 * An epoch is an int64 count of microseconds since 1970-01-01T00:00:00Z,
 * from 0 to EVENTS_EPOCH_MAX (9999-12-31T23:59:59.999999Z).  Its text is
 * plain decimal seconds: ASCII digits, optionally '.' and more digits
 * ("1650108997", "1650108997.592079"); no sign, exponent, whitespace,
 * hex, "NaN" or "Infinity".  A fraction longer than six digits is rounded
 * to the nearest microsecond, halves up (a Python client's time.time()
 * has seven), so the same input always gives the same microsecond.
 * Nothing here goes through a double: a JSON number is parsed from its
 * original spelling, which json-c keeps for every number it parsed.
 * Printed epochs have exactly six decimals ("%lld.%06d"), and parse back
 * to the same integer. */
#ifndef CAIRN_EVENTS_EPOCH_H
#define CAIRN_EVENTS_EPOCH_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

#define EVENTS_EPOCH_MAX INT64_C(253402300799999999)
#define EVENTS_EPOCH_TEXT_MAX 64 /* longer input text is rejected */
#define EVENTS_EPOCH_LEN 19      /* "253402300799.999999" */

#define EVENTS_TAG_MAX_CHARS 191
#define EVENTS_MAX_TAGS 100     /* distinct tags on one event */
#define EVENTS_REMOVE_MAX 10000 /* values in one start_epoch_array */

/* Plain decimal epoch seconds to microseconds. 0, or -1 for anything else
 * (including values above EVENTS_EPOCH_MAX after rounding). */
int events_epoch_parse(const char *s, size_t len, int64_t *usec);
/* "1650108997.592079" into out (at least EVENTS_EPOCH_LEN + 1 bytes);
 * usec must be in 0..EVENTS_EPOCH_MAX. Returns the length. */
size_t events_epoch_format(int64_t usec, char *out);
/* A JSON value as an epoch: an integer, a number in its original
 * spelling, or a string holding plain decimal text. 0 or -1. */
int events_epoch_json(json_object *v, int64_t *usec);

/* Why a body was refused: code for the error envelope, message for the
 * client (the compat messages where API.md gives them). */
struct events_err {
	const char *code;
	char msg[200];
};

struct events_tag {
	const char *s; /* borrowed from the JSON tree */
	size_t len;
};

/* POST /add_event, validated. */
struct events_new {
	struct events_tag tags[EVENTS_MAX_TAGS]; /* distinct, first occurrence order */
	size_t ntags;
	int64_t start_us;
	bool has_stop;
	int64_t stop_us;
};

/* Validates an /add_event body.  now_us is the start when start_epoch is
 * absent or null; a stop_epoch that is absent or null leaves the event
 * open.  Duplicate tags are kept once.  0, or -1 with err set. */
int events_validate_new(json_object *body, int64_t now_us, struct events_new *out,
			struct events_err *err);

/* A /remove_events body: purge or a list of starts. */
struct events_remove {
	bool purge;
	size_t n;
	int64_t *starts;     /* n values, in request order (arena memory) */
	json_object *values; /* the array as sent (borrowed) */
};

/* Validates a /remove_events body; the starts are allocated from a.
 * Every value is checked before the caller deletes anything.  0, or -1
 * with err set. */
int events_validate_remove(json_object *body, struct arena *a, struct events_remove *out,
			   struct events_err *err);

/* The optional body of POST /events/<id>/stop: body may be NULL (no
 * body), an object without stop_epoch or with null (stop now: *has_stop
 * false), or {"stop_epoch": epoch}.  0, or -1 with err set. */
int events_validate_stop(json_object *body, bool *has_stop, int64_t *stop_us,
			 struct events_err *err);

#endif
