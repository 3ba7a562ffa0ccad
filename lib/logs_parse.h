/* logs_parse: the pure validators of the logs capability (API.md §1).
 *
 * Nothing here touches the database or the HTTP layer, so every function
 * is unit-tested and the intake validator is fuzzed (tests/fuzz/fuzz_logs.c):
 *   - log levels: parsing (case-insensitive) and names;
 *   - service names: 1-64 of [A-Za-z0-9_.-];
 *   - allowed-IP masks: the original's LIKE-style wildcard ("192.168.%",
 *     '%' any run, '_' one character), a CIDR ("10.0.0.0/8", "::1/128") or
 *     a plain address, and matching REMOTE_ADDR against a list of them;
 *   - the /intake batch: all-or-nothing validation that names the first
 *     bad record's 0-based index in the compat message. */
#ifndef CAIRN_LOGS_PARSE_H
#define CAIRN_LOGS_PARSE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* Levels in severity order; the number is what log_records.level stores. */
enum logs_level {
	LOGS_NOT_SET = 0,
	LOGS_DEBUG = 1,
	LOGS_INFO = 2,
	LOGS_WARNING = 3,
	LOGS_ERROR = 4,
	LOGS_CRITICAL = 5,
};

#define LOGS_LEVEL_MAX LOGS_CRITICAL
#define LOGS_SERVICE_NAME_MAX 64
#define LOGS_IPMASK_MAX_LEN 64 /* one mask entry, bytes */
#define LOGS_IPMASK_MAX_ENTRIES 100

/* The stored DATETIME(6) range, in microseconds since the epoch:
 * 1000-01-01 00:00:00.000000 to 9999-12-31 23:59:59.999999. */
#define LOGS_TIME_MIN (-INT64_C(30610224000) * 1000000)
#define LOGS_TIME_MAX (INT64_C(253402300800) * 1000000 - 1)

/* A level name, case-insensitively: 0 with *level set, -1 when s is not
 * one of not_set, debug, info, warning, error, critical. */
int logs_level_lookup(const char *s, size_t len, enum logs_level *level);
/* The intake mapping: any unknown value is LOGS_NOT_SET. */
enum logs_level logs_level_parse(const char *s, size_t len);
/* "not_set", "debug", ... (a number out of range is "not_set"). */
const char *logs_level_name(int level);

/* 1-64 characters of [A-Za-z0-9_.-]. */
bool logs_service_name_valid(const char *s, size_t len);

/* Is the entry a valid mask (wildcard, CIDR or plain address)? */
bool logs_ipmask_valid(const char *mask, size_t len);
/* Does addr (REMOTE_ADDR text) match the mask?  An invalid mask or
 * address matches nothing (fail closed). */
bool logs_ipmask_match(const char *mask, size_t len, const char *addr);
/* allowed is the stored JSON array of masks (log_services.allowed_ips);
 * NULL or empty text allows every address.  Text that is not an array of
 * strings allows none (fail closed). */
bool logs_ip_allowed(const char *allowed, size_t len, const char *addr);

/* One validated intake record; body points into the JSON tree. */
struct logs_record {
	int level;
	int64_t ts; /* microseconds, UTC */
	const char *body;
	size_t body_len;
};

struct logs_batch {
	struct logs_record *records; /* arena memory */
	size_t n;
	size_t body_bytes; /* sum of the body lengths */
};

struct logs_limits {
	size_t max_batch; /* logs.max_batch */
	size_t max_body;  /* logs.max_body_bytes */
};

/* Validates the parsed /intake body (root: any JSON value) into out.
 * Returns 0, or -1 with the complete compat message in msg, e.g.
 * "Invalid request, record 3: bad timestamp 'x'". */
int logs_intake_validate(json_object *root, const struct logs_limits *lim, struct arena *a,
			 struct logs_batch *out, char *msg, size_t msg_cap);

#endif
