#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "logs_parse.h"
#include "text.h"
#include "timefmt.h"

/* ------------------------------------------------------------------ levels */

static const char *const level_names[] = {
	"not_set", "debug", "info", "warning", "error", "critical",
};

int
logs_level_lookup(const char *s, size_t len, enum logs_level *level)
{
	for (int i = 0; i <= LOGS_LEVEL_MAX; i++)
		if (strlen(level_names[i]) == len && strncasecmp(level_names[i], s, len) == 0) {
			*level = (enum logs_level)i;
			return 0;
		}
	return -1;
}

enum logs_level
logs_level_parse(const char *s, size_t len)
{
	enum logs_level l;

	if (s == NULL || logs_level_lookup(s, len, &l) < 0)
		return LOGS_NOT_SET;
	return l;
}

const char *
logs_level_name(int level)
{
	if (level < 0 || level > LOGS_LEVEL_MAX)
		return level_names[0];
	return level_names[level];
}

bool
logs_service_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > LOGS_SERVICE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ masks */

struct ipaddr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char bytes[16]; /* 4 used for AF_INET */
};

/* Parses an address in s[0..len). */
static bool
addr_parse(const char *s, size_t len, struct ipaddr *out)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	/* inet_pton reads to a NUL: one inside would hide the rest */
	if (len == 0 || len >= sizeof tmp || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (memchr(tmp, ':', len) == NULL) {
		out->family = AF_INET;
		return inet_pton(AF_INET, tmp, out->bytes) == 1;
	}
	out->family = AF_INET6;
	return inet_pton(AF_INET6, tmp, out->bytes) == 1;
}

/* A prefix length: decimal, no sign, no leading zero, at most max. */
static bool
prefix_parse(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

enum mask_kind { MASK_BAD, MASK_WILDCARD, MASK_CIDR };

struct mask {
	enum mask_kind kind;
	struct ipaddr net;
	unsigned prefix;
};

static bool
wildcard_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == '.' || c == ':' || c == '%' || c == '_'))
			return false;
	}
	return true;
}

static struct mask
mask_parse(const char *s, size_t len)
{
	struct mask m;
	const char *slash;

	memset(&m, 0, sizeof m);
	m.kind = MASK_BAD;
	if (s == NULL || len == 0 || len > LOGS_IPMASK_MAX_LEN)
		return m;
	slash = memchr(s, '/', len);
	if (slash != NULL) {
		size_t alen = (size_t)(slash - s);

		if (!addr_parse(s, alen, &m.net) ||
		    !prefix_parse(slash + 1, len - alen - 1, m.net.family == AF_INET ? 32 : 128,
				  &m.prefix))
			return m;
		m.kind = MASK_CIDR;
		return m;
	}
	if (memchr(s, '%', len) != NULL || memchr(s, '_', len) != NULL) {
		if (wildcard_chars(s, len))
			m.kind = MASK_WILDCARD;
		return m;
	}
	if (addr_parse(s, len, &m.net)) {
		m.prefix = m.net.family == AF_INET ? 32 : 128;
		m.kind = MASK_CIDR;
	}
	return m;
}

bool
logs_ipmask_valid(const char *mask, size_t len)
{
	return mask_parse(mask, len).kind != MASK_BAD;
}

static bool
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char m = (unsigned char)(0xFF << (8 - rest));

	return (a[full] & m) == (b[full] & m);
}

/* SQL LIKE semantics, ASCII case-insensitive: '%' any run, '_' one byte. */
static bool
like_match(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '%') {
			star_p = pi++;
			star_s = si;
		} else if (pi < plen && (p[pi] == '_' || strncasecmp(p + pi, s + si, 1) == 0)) {
			pi++;
			si++;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '%')
		pi++;
	return pi == plen;
}

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

bool
logs_ipmask_match(const char *mask, size_t len, const char *addr)
{
	struct mask m = mask_parse(mask, len);
	struct ipaddr a, v4, v6;
	char v4text[INET_ADDRSTRLEN];
	bool has_v4 = false, has_v6 = false;

	if (m.kind == MASK_BAD || addr == NULL || !addr_parse(addr, strlen(addr), &a))
		return false;
	/* the address in both families where it has both forms: an IPv4
	 * client seen on a dual-stack socket is ::ffff:a.b.c.d */
	if (a.family == AF_INET) {
		v4 = a;
		has_v4 = true;
		v6.family = AF_INET6;
		memcpy(v6.bytes, v4_mapped_prefix, 12);
		memcpy(v6.bytes + 12, a.bytes, 4);
		has_v6 = true;
	} else {
		v6 = a;
		has_v6 = true;
		if (memcmp(a.bytes, v4_mapped_prefix, 12) == 0) {
			v4.family = AF_INET;
			memcpy(v4.bytes, a.bytes + 12, 4);
			has_v4 = true;
		}
	}
	if (m.kind == MASK_WILDCARD) {
		if (like_match(mask, len, addr, strlen(addr)))
			return true;
		if (has_v4 && a.family == AF_INET6 &&
		    inet_ntop(AF_INET, v4.bytes, v4text, sizeof v4text) != NULL)
			return like_match(mask, len, v4text, strlen(v4text));
		return false;
	}
	if (m.net.family == AF_INET)
		return has_v4 && prefix_equal(m.net.bytes, v4.bytes, m.prefix);
	return has_v6 && prefix_equal(m.net.bytes, v6.bytes, m.prefix);
}

bool
logs_ip_allowed(const char *allowed, size_t len, const char *addr)
{
	struct json_tokener *tok;
	json_object *arr;
	bool ok = false;

	if (allowed == NULL || len == 0)
		return true;
	tok = json_tokener_new();
	if (tok == NULL)
		return false;
	arr = json_tokener_parse_ex(tok, allowed, (int)len);
	if (arr != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(arr, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arr) && !ok; i++) {
			json_object *e = json_object_array_get_idx(arr, i);

			if (json_object_is_type(e, json_type_string))
				ok = logs_ipmask_match(json_object_get_string(e),
						       (size_t)json_object_get_string_len(e), addr);
		}
	}
	json_object_put(arr);
	json_tokener_free(tok);
	return ok;
}

/* ------------------------------------------------------------------ intake */

#define ECHO_MAX 64

static int
record_error(char *msg, size_t cap, size_t i, const char *reason)
{
	snprintf(msg, cap, "Invalid request, record %zu: %s", i, reason);
	return -1;
}

/* "bad timestamp '<at most ECHO_MAX bytes of the value>'" */
static int
bad_timestamp(char *msg, size_t cap, size_t i, const char *v, size_t len)
{
	char reason[ECHO_MAX + 32];

	snprintf(reason, sizeof reason, "bad timestamp '%.*s'", text_utf8_cut(v, len, ECHO_MAX), v);
	return record_error(msg, cap, i, reason);
}

static int
validate_record(json_object *rec, size_t i, const struct logs_limits *lim, struct logs_record *out,
		char *msg, size_t cap)
{
	json_object *v;

	if (!json_object_is_type(rec, json_type_object))
		return record_error(msg, cap, i, "not an object");

	/* timestamp: required, a string in one of the formats of API.md §0 */
	if (!json_object_object_get_ex(rec, "timestamp", &v) || v == NULL)
		return record_error(msg, cap, i, "missing timestamp");
	if (!json_object_is_type(v, json_type_string)) {
		const char *j = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		return bad_timestamp(msg, cap, i, j, strlen(j));
	}
	const char *ts = json_object_get_string(v);
	size_t ts_len = (size_t)json_object_get_string_len(v);
	struct diag d;

	if (timefmt_parse(ts, ts_len, 0, &out->ts, &d) < 0 || out->ts < LOGS_TIME_MIN ||
	    out->ts > LOGS_TIME_MAX)
		return bad_timestamp(msg, cap, i, ts, ts_len);

	/* body: required string, bounded, no NUL (other control characters,
	 * newlines and ANSI colours included, are normal in log lines) */
	if (!json_object_object_get_ex(rec, "body", &v) || v == NULL)
		return record_error(msg, cap, i, "missing body");
	if (!json_object_is_type(v, json_type_string))
		return record_error(msg, cap, i, "body must be a string");
	out->body = json_object_get_string(v);
	out->body_len = (size_t)json_object_get_string_len(v);
	if (out->body_len > lim->max_body) {
		char reason[64];

		snprintf(reason, sizeof reason, "body longer than %zu bytes", lim->max_body);
		return record_error(msg, cap, i, reason);
	}
	if (memchr(out->body, '\0', out->body_len) != NULL)
		return record_error(msg, cap, i, "body contains a NUL character");

	/* level: anything but a known name (any case) is not_set */
	out->level = LOGS_NOT_SET;
	if (json_object_object_get_ex(rec, "level", &v) && json_object_is_type(v, json_type_string))
		out->level = logs_level_parse(json_object_get_string(v),
					      (size_t)json_object_get_string_len(v));
	return 0;
}

int
logs_intake_validate(json_object *root, const struct logs_limits *lim, struct arena *a,
		     struct logs_batch *out, char *msg, size_t msg_cap)
{
	json_object *data = NULL, *messages = NULL, *arr;
	const char *name;
	size_t n;

	memset(out, 0, sizeof *out);
	if (json_object_is_type(root, json_type_object)) {
		json_object_object_get_ex(root, "data", &data);
		json_object_object_get_ex(root, "messages", &messages);
	}
	if (data != NULL && messages != NULL) {
		snprintf(
			msg, msg_cap,
			"Invalid request, malformed data: give either 'data' or 'messages', not both");
		return -1;
	}
	arr = data != NULL ? data : messages;
	name = data != NULL ? "data" : "messages";
	if (arr == NULL) {
		snprintf(msg, msg_cap, "Invalid request, malformed data: missing 'data' element");
		return -1;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(msg, msg_cap, "Invalid request, malformed data: '%s' must be an array",
			 name);
		return -1;
	}
	n = json_object_array_length(arr);
	if (n == 0) {
		snprintf(msg, msg_cap, "Invalid request, malformed data: '%s' is empty", name);
		return -1;
	}
	if (n > lim->max_batch) {
		snprintf(msg, msg_cap, "Invalid request, too many records (max %zu)",
			 lim->max_batch);
		return -1;
	}
	out->records = arena_alloc(a, n * sizeof *out->records);
	for (size_t i = 0; i < n; i++) {
		if (validate_record(json_object_array_get_idx(arr, i), i, lim, &out->records[i],
				    msg, msg_cap) < 0)
			return -1;
		out->body_bytes += out->records[i].body_len;
	}
	out->n = n;
	return 0;
}
