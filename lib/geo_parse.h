/* geo_parse: the pure parts of geolocated event intake (API.md §4).
 *
 * Nothing here touches the database, the network or the clock, so every
 * function is unit-tested and fuzzed on its own:
 *   - task ids: UUID text <-> 16 bytes;
 *   - source addresses: text <-> 4 or 16 bytes, and the classification that
 *     decides which addresses are never sent to the provider (private,
 *     loopback, link-local, multicast, documentation and other reserved
 *     ranges, IPv4 and IPv6);
 *   - the submit body's validator (JSend field messages);
 *   - the provider's answers: a 200 body, and the delay a 429 asks for;
 *   - the retry backoff. */
#ifndef CAIRN_GEO_PARSE_H
#define CAIRN_GEO_PARSE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEO_NAME_MAX 120 /* characters (code points) */
#define GEO_UUID_BYTES 16
#define GEO_UUID_CHARS 36  /* 8-4-4-4-12 hex digits */
#define GEO_IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

/* ----------------------------------------------------------------- ids */

/* Formats 16 bytes as lower-case 8-4-4-4-12 (out: 37 bytes with the NUL). */
void geo_uuid_format(const unsigned char b[GEO_UUID_BYTES], char out[GEO_UUID_CHARS + 1]);
/* Parses the 8-4-4-4-12 form (hex digits in either case); false for
 * anything else. */
bool geo_uuid_parse(const char *s, size_t len, unsigned char b[GEO_UUID_BYTES]);
/* Makes 16 random bytes a version-4, RFC 4122 variant UUID. */
void geo_uuid_set_v4(unsigned char b[GEO_UUID_BYTES]);

/* ----------------------------------------------------------- addresses */

struct geo_ip {
	unsigned char b[16];
	size_t len; /* 4 (IPv4) or 16 (IPv6) */
};

/* Parses dotted IPv4 or IPv6 text.  An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) becomes the IPv4 address, so one client has one
 * spelling.  false for anything else (zone ids included). */
bool geo_ip_parse(const char *s, size_t len, struct geo_ip *ip);
/* 4 or 16 stored bytes; false for another length. */
bool geo_ip_from_bytes(const void *p, size_t len, struct geo_ip *ip);
/* The canonical text (inet_ntop). */
void geo_ip_format(const struct geo_ip *ip, char out[GEO_IP_TEXT_MAX]);

/* NULL for an address the provider may be asked about (globally routed
 * unicast), else why not ("loopback address", "private address", ...).
 * IPv6 outside 2000::/3 is reserved; NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16) addresses are judged by the IPv4 address they carry. */
const char *geo_ip_reserved(const struct geo_ip *ip);

/* --------------------------------------------------------- submit body */

#define GEO_FAIL_MAX 8

/* JSend "fail" data: one message per bad field ("name", "status_code",
 * or "body" when the body is not an object or has neither field). */
struct geo_fail {
	size_t n;
	const char *field[GEO_FAIL_MAX];
	const char *msg[GEO_FAIL_MAX];
};

struct geo_submit {
	bool has_name;
	const char *name; /* borrowed from the JSON tree */
	size_t name_len;
	bool has_status;
	int64_t status_code;
};

/* Validates a parsed body (NULL: the body was not JSON).  0 with *out
 * filled, or -1 with *fail listing every bad field.  `name`: a string of
 * 1..GEO_NAME_MAX characters without control characters; `status_code`:
 * an integer, or a string of 1..18 ASCII digits read as an integer; JSON
 * null counts as absent; other keys are ignored; at least one of the two
 * must be present. */
int geo_submit_validate(json_object *body, struct geo_submit *out, struct geo_fail *fail);

/* A string of ASCII digits (leading zeros allowed) as a non-negative
 * integer; false when empty, not all digits, or above 10^18 - 1. */
bool geo_parse_digits(const char *s, size_t len, int64_t *out);

/* ---------------------------------------------------- provider answers */

#define GEO_CODE_MAX 8
#define GEO_TEXT_MAX 200 /* characters */
#define GEO_TZ_MAX 64

/* The workivate/geoip-api 200 body.  Every member is optional: a missing,
 * null, mistyped or out-of-range member is left unset (has_* false), so
 * one odd field never loses the rest. */
struct geo_info {
	bool has_country_code, has_country_name, has_city, has_time_zone;
	bool has_latitude, has_longitude, has_accuracy_radius, has_metro_code;
	char country_code[GEO_CODE_MAX + 1];
	char country_name[GEO_TEXT_MAX * 4 + 1];
	char city[GEO_TEXT_MAX * 4 + 1];
	char time_zone[GEO_TZ_MAX + 1];
	double latitude, longitude;
	int64_t accuracy_radius, metro_code;
};

/* Parses a 200 body.  0 on success; -1 when the body is not strict JSON
 * or not an object (err gets the reason). */
int geo_info_parse(const char *body, size_t len, struct geo_info *out, char *err, size_t errlen);

/* The delay a 429 asks for, in milliseconds: the body's numeric
 * `period_remaining` (seconds) wins, then a Retry-After header of
 * delta-seconds (retry_after may be NULL), else default_ms.  The result
 * is clamped to 0..3,600,000. */
int64_t geo_retry_delay_ms(const char *body, size_t len, const char *retry_after,
			   int64_t default_ms);

/* Jittered exponential backoff before retry number `attempt` (1 = the
 * first retry): with d = min(max_ms, base_ms * 2^(attempt-1)), a value in
 * [d/2, d] picked by rnd ("equal jitter": never less than half the step,
 * so retries do not bunch up, never more than the cap). */
int64_t geo_backoff_ms(unsigned attempt, int64_t base_ms, int64_t max_ms, uint64_t rnd);

#endif
