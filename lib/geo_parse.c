#include "autoconfig.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "geo_parse.h"
#include "json.h"
#include "text.h"

/* ----------------------------------------------------------------- ids */

void
geo_uuid_format(const unsigned char b[GEO_UUID_BYTES], char out[GEO_UUID_CHARS + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < GEO_UUID_BYTES; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0xF];
	}
	out[o] = '\0';
}

bool
geo_uuid_parse(const char *s, size_t len, unsigned char b[GEO_UUID_BYTES])
{
	size_t o = 0;

	if (s == NULL || len != GEO_UUID_CHARS)
		return false;
	for (size_t i = 0; i < len;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			i++;
			continue;
		}
		int hi = text_hex_digit(s[i]), lo = text_hex_digit(s[i + 1]);

		if (hi < 0 || lo < 0 || i + 1 == 8 || i + 1 == 13 || i + 1 == 18 || i + 1 == 23)
			return false;
		b[o++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return o == GEO_UUID_BYTES;
}

void
geo_uuid_set_v4(unsigned char b[GEO_UUID_BYTES])
{
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
}

/* ----------------------------------------------------------- addresses */

bool
geo_ip_parse(const char *s, size_t len, struct geo_ip *ip)
{
	char text[GEO_IP_TEXT_MAX];

	if (s == NULL || len == 0 || len >= sizeof text || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, text, ip->b) == 1) {
		ip->len = 4;
		return true;
	}
	if (inet_pton(AF_INET6, text, ip->b) != 1)
		return false;
	ip->len = 16;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

	if (memcmp(ip->b, mapped, sizeof mapped) == 0) {
		memmove(ip->b, ip->b + 12, 4);
		memset(ip->b + 4, 0, 12);
		ip->len = 4;
	}
	return true;
}

bool
geo_ip_from_bytes(const void *p, size_t len, struct geo_ip *ip)
{
	memset(ip, 0, sizeof *ip);
	if (p == NULL || (len != 4 && len != 16))
		return false;
	memcpy(ip->b, p, len);
	ip->len = len;
	return true;
}

void
geo_ip_format(const struct geo_ip *ip, char out[GEO_IP_TEXT_MAX])
{
	if (inet_ntop(ip->len == 4 ? AF_INET : AF_INET6, ip->b, out, GEO_IP_TEXT_MAX) == NULL)
		out[0] = '\0';
}

struct v4_range {
	uint32_t net;
	unsigned prefix;
	const char *why;
};

/* IANA's IPv4 special-purpose registry, less the blocks it marks globally
 * reachable (AS112, AMT ...), plus multicast and the class E space. */
static const struct v4_range v4_reserved[] = {
	{0x00000000u, 8, "\"this network\" address"},
	{0x0A000000u, 8, "private address"},
	{0x64400000u, 10, "shared (carrier-grade NAT) address"},
	{0x7F000000u, 8, "loopback address"},
	{0xA9FE0000u, 16, "link-local address"},
	{0xAC100000u, 12, "private address"},
	{0xC0000000u, 24, "IETF protocol assignment"},
	{0xC0000200u, 24, "documentation address"},
	{0xC0586300u, 24, "reserved address (6to4 relay anycast)"},
	{0xC0A80000u, 16, "private address"},
	{0xC6120000u, 15, "benchmarking address"},
	{0xC6336400u, 24, "documentation address"},
	{0xCB007100u, 24, "documentation address"},
	{0xE0000000u, 4, "multicast address"},
	{0xF0000000u, 4, "reserved address"},
};

static const char *
v4_reserved_why(const unsigned char b[4])
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

	for (size_t i = 0; i < sizeof v4_reserved / sizeof v4_reserved[0]; i++) {
		uint32_t mask =
			v4_reserved[i].prefix == 0 ? 0 : ~0u << (32 - v4_reserved[i].prefix);

		if ((a & mask) == v4_reserved[i].net)
			return v4_reserved[i].why;
	}
	return NULL;
}

/* Do the first `bits` bits of a and b agree? */
static bool
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xFF << (8 - rest));

	return (a[whole] & mask) == (b[whole] & mask);
}

const char *
geo_ip_reserved(const struct geo_ip *ip)
{
	static const unsigned char zero[16] = {0};
	static const unsigned char loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const unsigned char nat64[16] = {0, 0x64, 0xFF, 0x9B};
	static const unsigned char teredo[16] = {0x20, 0x01};
	static const unsigned char doc[16] = {0x20, 0x01, 0x0D, 0xB8};
	static const unsigned char doc2[16] = {0x3F, 0xFF};
	static const unsigned char sixto4[16] = {0x20, 0x02};
	const unsigned char *b = ip->b;

	if (ip->len == 4)
		return v4_reserved_why(b);
	if (ip->len != 16)
		return "not an address";
	if (memcmp(b, zero, 16) == 0)
		return "unspecified address";
	if (memcmp(b, loop, 16) == 0)
		return "loopback address";
	if (prefix_eq(b, nat64, 96))
		return v4_reserved_why(b + 12);
	if ((b[0] & 0xFE) == 0xFC)
		return "unique local (private) address";
	if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80)
		return "link-local address";
	if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0)
		return "site-local address";
	if (b[0] == 0xFF)
		return "multicast address";
	if ((b[0] & 0xE0) != 0x20)
		return "reserved address (outside 2000::/3)";
	if (prefix_eq(b, teredo, 23))
		return "IETF protocol assignment";
	if (prefix_eq(b, doc, 32) || prefix_eq(b, doc2, 20))
		return "documentation address";
	if (prefix_eq(b, sixto4, 16))
		return v4_reserved_why(b + 2);
	return NULL;
}

/* --------------------------------------------------------- submit body */

static void
fail_add(struct geo_fail *f, const char *field, const char *msg)
{
	if (f->n < GEO_FAIL_MAX) {
		f->field[f->n] = field;
		f->msg[f->n] = msg;
		f->n++;
	}
}

bool
geo_parse_digits(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || len == 0)
		return false;
	/* leading zeros do not count towards the 18 significant digits */
	while (len > 1 && s[0] == '0') {
		s++;
		len--;
	}
	if (len > 18)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int
geo_submit_validate(json_object *body, struct geo_submit *out, struct geo_fail *fail)
{
	json_object *v;

	memset(out, 0, sizeof *out);
	memset(fail, 0, sizeof *fail);
	if (body == NULL || !json_object_is_type(body, json_type_object)) {
		fail_add(fail, "body", "must be a JSON object");
		return -1;
	}
	if (json_object_object_get_ex(body, "name", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string)) {
			fail_add(fail, "name", "must be a string of 1 to 120 characters");
		} else {
			const char *s = json_object_get_string(v);
			size_t len = (size_t)json_object_get_string_len(v);

			if (len == 0 || !text_valid_utf8(s, len) ||
			    text_utf8_chars(s, len) > GEO_NAME_MAX)
				fail_add(fail, "name", "must be 1 to 120 characters");
			else if (text_has_control(s, len))
				fail_add(fail, "name", "must not contain control characters");
			else {
				out->has_name = true;
				out->name = s;
				out->name_len = len;
			}
		}
	}
	if (json_object_object_get_ex(body, "status_code", &v) && v != NULL) {
		if (json_object_is_type(v, json_type_int)) {
			out->has_status = true;
			out->status_code = json_object_get_int64(v);
		} else if (json_object_is_type(v, json_type_string) &&
			   geo_parse_digits(json_object_get_string(v),
					    (size_t)json_object_get_string_len(v),
					    &out->status_code)) {
			out->has_status = true;
		} else {
			fail_add(fail, "status_code", "must be an integer or a string of digits");
		}
	}
	if (fail->n > 0)
		return -1;
	if (!out->has_name && !out->has_status) {
		fail_add(fail, "body", "must contain name, status_code or both");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------- provider answers */

/* Copies a string member of obj into out when it is a valid short text:
 * UTF-8, no control characters, 1..max_chars characters, fits in cap. */
static bool
copy_text(json_object *obj, const char *key, char *out, size_t cap, size_t max_chars)
{
	json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return false;
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);

	if (len == 0 || len >= cap || !text_valid_name(s, len, max_chars))
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static bool
get_number(json_object *obj, const char *key, double min, double max, double *out)
{
	json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v))
		return false;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return false;
	double x = json_object_get_double(v);

	if (!isfinite(x) || x < min || x > max)
		return false;
	*out = x;
	return true;
}

static bool
get_integer(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	int64_t x = json_object_get_int64(v);

	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

static json_object *
sub_object(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

int
geo_info_parse(const char *body, size_t len, struct geo_info *out, char *err, size_t errlen)
{
	struct arena *a = arena_new(4096);
	json_object *root, *country, *location;
	struct diag d;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (json_parse(a, body ? body : "", len, &root, &d) < 0) {
		snprintf(err, errlen, "%s", d.msg);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "the answer is not a JSON object");
		goto out;
	}
	out->has_city = copy_text(root, "city", out->city, sizeof out->city, GEO_TEXT_MAX);
	country = sub_object(root, "country");
	out->has_country_code = copy_text(country, "iso_code", out->country_code,
					  sizeof out->country_code, GEO_CODE_MAX);
	out->has_country_name = copy_text(country, "name", out->country_name,
					  sizeof out->country_name, GEO_TEXT_MAX);
	location = sub_object(root, "location");
	out->has_latitude = get_number(location, "latitude", -90, 90, &out->latitude);
	out->has_longitude = get_number(location, "longitude", -180, 180, &out->longitude);
	out->has_accuracy_radius =
		get_integer(location, "accuracy_radius", 0, 100000000, &out->accuracy_radius);
	out->has_metro_code = get_integer(location, "metro_code", 0, 100000000, &out->metro_code);
	out->has_time_zone =
		copy_text(location, "time_zone", out->time_zone, sizeof out->time_zone, GEO_TZ_MAX);
	rc = 0;
out:
	arena_free(a);
	return rc;
}

static int64_t
clamp_ms(double ms)
{
	if (!(ms >= 0))
		return 0;
	if (ms > 3600000.0)
		return 3600000;
	int64_t whole = (int64_t)ms;

	/* rounded up, without libm */
	return (double)whole < ms ? whole + 1 : whole;
}

int64_t
geo_retry_delay_ms(const char *body, size_t len, const char *retry_after, int64_t default_ms)
{
	if (body != NULL && len > 0) {
		struct arena *a = arena_new(4096);
		json_object *root;
		struct diag d;
		double secs;
		bool found = false;

		if (json_parse(a, body, len, &root, &d) == 0 &&
		    json_object_is_type(root, json_type_object) &&
		    get_number(root, "period_remaining", 0, 1e9, &secs))
			found = true;
		arena_free(a);
		if (found)
			return clamp_ms(secs * 1000.0);
	}
	if (retry_after != NULL) {
		size_t n = strlen(retry_after);
		int64_t secs;

		while (n > 0 && (retry_after[n - 1] == ' ' || retry_after[n - 1] == '\t' ||
				 retry_after[n - 1] == '\r' || retry_after[n - 1] == '\n'))
			n--;
		while (n > 0 && (*retry_after == ' ' || *retry_after == '\t')) {
			retry_after++;
			n--;
		}
		if (geo_parse_digits(retry_after, n, &secs))
			return clamp_ms((double)secs * 1000.0);
	}
	return clamp_ms((double)default_ms);
}

int64_t
geo_backoff_ms(unsigned attempt, int64_t base_ms, int64_t max_ms, uint64_t rnd)
{
	int64_t d = base_ms < 1 ? 1 : base_ms;

	if (max_ms < 1)
		max_ms = 1;
	for (unsigned i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	int64_t half = d / 2;

	return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}
