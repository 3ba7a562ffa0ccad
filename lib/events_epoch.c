#include "autoconfig.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "events_epoch.h"
#include "json.h"
#include "text.h"
#include "timefmt.h"

#define USEC_PER_SEC INT64_C(1000000)
#define EPOCH_MAX_SECS (EVENTS_EPOCH_MAX / USEC_PER_SEC)

/* ------------------------------------------------------------------ epochs */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
events_epoch_parse(const char *s, size_t len, int64_t *usec)
{
	size_t i = 0;
	int64_t secs = 0, frac = 0, round = 0, total;

	if (s == NULL || len == 0 || len > EVENTS_EPOCH_TEXT_MAX)
		return -1;
	while (i < len && is_digit(s[i])) {
		/* stop before int64 can overflow; the range check follows */
		if (secs > EPOCH_MAX_SECS)
			return -1;
		secs = secs * 10 + (s[i] - '0');
		i++;
	}
	if (i == 0)
		return -1;
	if (i < len) {
		size_t first, nd = 0;

		if (s[i] != '.')
			return -1;
		first = ++i;
		while (i < len && is_digit(s[i])) {
			if (nd < 6)
				frac = frac * 10 + (s[i] - '0');
			else if (nd == 6)
				round = s[i] >= '5'; /* half up: only the 7th digit decides */
			nd++;
			i++;
		}
		if (i == first || i != len)
			return -1;
		for (; nd < 6; nd++)
			frac *= 10;
	}
	if (secs > EPOCH_MAX_SECS)
		return -1;
	total = secs * USEC_PER_SEC + frac + round;
	if (total > EVENTS_EPOCH_MAX)
		return -1;
	*usec = total;
	return 0;
}

size_t
events_epoch_format(int64_t usec, char *out)
{
	return timefmt_epoch(usec, out);
}

int
events_epoch_json(json_object *v, int64_t *usec)
{
	switch (json_object_get_type(v)) {
	case json_type_int: {
		/* a json_type_int is the exact int64 (json.h): a larger integer
		 * is a double with its spelling, read below */
		int64_t secs = json_object_get_int64(v);

		if (secs < 0 || secs > EPOCH_MAX_SECS)
			return -1;
		*usec = secs * USEC_PER_SEC;
		return 0;
	}
	case json_type_double:
		/* json-c keeps the spelling of every number it parsed, and
		 * json_parse gives integers beyond int64 theirs: this is the
		 * request's text, not a re-formatted double */
		return events_epoch_parse(json_object_get_string(v),
					  strlen(json_object_get_string(v)), usec);
	case json_type_string:
		return events_epoch_parse(json_object_get_string(v),
					  (size_t)json_object_get_string_len(v), usec);
	default: return -1;
	}
}

/* ---------------------------------------------------------------- bodies */

static int refuse(struct events_err *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
refuse(struct events_err *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

#define EPOCH_RULE                                                                                 \
	"a number or numeric string of seconds since 1970 (plain decimal, no sign or exponent, at most 253402300799.999999)"

/* An optional epoch member: absent or null -> 1; valid -> 0; else -1. */
static int
optional_epoch(json_object *body, const char *key, int64_t *usec, struct events_err *err)
{
	json_object *v = json_member(body, key);

	if (v == NULL)
		return 1;
	if (events_epoch_json(v, usec) < 0)
		return refuse(err, "invalid_epoch", "%s must be " EPOCH_RULE ".", key);
	return 0;
}

int
events_validate_new(json_object *body, int64_t now_us, struct events_new *out,
		    struct events_err *err)
{
	json_object *tags = json_member(body, "tags");
	size_t n;
	int rc;

	out->ntags = 0;
	out->has_stop = false;
	/* a body that is not an object has no tags either (as the original) */
	if (tags == NULL)
		return refuse(err, "tags_required", "tags Array is mandatory.");
	if (!json_object_is_type(tags, json_type_array))
		return refuse(err, "tags_not_array", "tags invalid format, must be an Array.");
	n = json_object_array_length(tags);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tags, i);
		const char *s;
		size_t len;
		bool seen = false;

		if (!json_object_is_type(t, json_type_string))
			return refuse(err, "invalid_tag", "tags[%zu] must be a string.", i);
		s = json_object_get_string(t);
		len = (size_t)json_object_get_string_len(t);
		if (!text_valid_name(s, len, EVENTS_TAG_MAX_CHARS))
			return refuse(
				err, "invalid_tag",
				"tags[%zu] must be 1 to %d characters without control characters.",
				i, EVENTS_TAG_MAX_CHARS);
		for (size_t j = 0; j < out->ntags && !seen; j++)
			seen = out->tags[j].len == len && memcmp(out->tags[j].s, s, len) == 0;
		if (seen)
			continue;
		if (out->ntags == EVENTS_MAX_TAGS)
			return refuse(err, "too_many_tags",
				      "an event has at most %d distinct tags.", EVENTS_MAX_TAGS);
		out->tags[out->ntags].s = s;
		out->tags[out->ntags].len = len;
		out->ntags++;
	}
	rc = optional_epoch(body, "start_epoch", &out->start_us, err);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (now_us < 0 || now_us > EVENTS_EPOCH_MAX)
			return refuse(err, "invalid_epoch", "the server clock is out of range.");
		out->start_us = now_us;
	}
	rc = optional_epoch(body, "stop_epoch", &out->stop_us, err);
	if (rc < 0)
		return -1;
	out->has_stop = rc == 0;
	if (out->has_stop && out->stop_us < out->start_us)
		return refuse(err, "stop_before_start",
			      "stop_epoch must not be before start_epoch.");
	return 0;
}

int
events_validate_remove(json_object *body, struct arena *a, struct events_remove *out,
		       struct events_err *err)
{
	json_object *purge = NULL, *arr;
	int64_t *starts;
	size_t n;

	out->purge = false;
	out->n = 0;
	out->starts = NULL;
	out->values = NULL;
	if (json_object_is_type(body, json_type_object) &&
	    json_object_object_get_ex(body, "purge", &purge)) {
		/* only true purges; false falls through; null or anything else is wrong */
		if (!json_object_is_type(purge, json_type_boolean))
			return refuse(err, "invalid_purge", "purge must be true or false.");
		if (json_object_get_boolean(purge)) {
			out->purge = true;
			return 0;
		}
	}
	arr = json_member(body, "start_epoch_array");
	if (arr == NULL)
		return refuse(err, "start_epoch_array_required",
			      "start_epoch_array must be defined.");
	if (!json_object_is_type(arr, json_type_array))
		return refuse(err, "start_epoch_array_not_array",
			      "start_epoch_array invalid format, must be an Array.");
	n = json_object_array_length(arr);
	if (n > EVENTS_REMOVE_MAX)
		return refuse(err, "too_many_values", "start_epoch_array holds at most %d values.",
			      EVENTS_REMOVE_MAX);
	starts = arena_alloc(a, (n + 1) * sizeof *starts);
	for (size_t i = 0; i < n; i++)
		if (events_epoch_json(json_object_array_get_idx(arr, i), &starts[i]) < 0)
			return refuse(err, "invalid_epoch",
				      "start_epoch_array[%zu] is not a number or a numeric string "
				      "(plain decimal seconds since 1970, no sign or exponent).",
				      i);
	out->n = n;
	out->starts = starts;
	out->values = arr;
	return 0;
}

int
events_validate_stop(json_object *body, bool *has_stop, int64_t *stop_us, struct events_err *err)
{
	int rc;

	*has_stop = false;
	if (body == NULL)
		return 0;
	if (!json_object_is_type(body, json_type_object))
		return refuse(err, "invalid_body", "the body must be a JSON object.");
	rc = optional_epoch(body, "stop_epoch", stop_us, err);
	if (rc < 0)
		return -1;
	*has_stop = rc == 0;
	return 0;
}
