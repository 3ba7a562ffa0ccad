/* kv_pattern: the pure parts of the key-value store (API.md §5): no
 * database and no I/O, so that they can be unit-tested and fuzzed.
 *
 *   - keys, TTLs, content types and list limits are validated here;
 *   - `filter` patterns are translated into SQL LIKE patterns;
 *   - entity tags are formatted, and If-Match / If-None-Match parsed.
 *
 * Filter patterns.  `*` matches any run of characters (the empty one too),
 * `$` exactly one character (a UTF-8 code point, not a byte), and every
 * other character itself; the pattern matches the whole key.  There is no
 * escape: a key holding `*` or `$` is matched by those characters only
 * through the wildcards.  The translation escapes LIKE's own specials
 * (`%`, `_` and the escape character `!`) so that keys holding them match
 * literally; `\` is an ordinary character because the statements say
 * ESCAPE '!' (whatever the server's NO_BACKSLASH_ESCAPES setting).
 *
 * A LIKE on the VARBINARY key column compares bytes, so its `_` is one
 * byte.  A pattern without `$` is exact as a byte LIKE (UTF-8 is
 * self-synchronising: a valid literal can only match at character
 * boundaries, and `%` swallows whole characters between them).  A pattern
 * with `$` must also be matched per character (`like` against the key
 * converted to utf8mb4 with a binary collation); `prefix`, the literal
 * head of the pattern followed by `%`, is then matched as bytes so that the
 * primary key index still narrows the scan. */
#ifndef CAIRN_KV_PATTERN_H
#define CAIRN_KV_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

#define KV_KEY_MAX 255       /* bytes */
#define KV_TTL_MAX 315360000 /* seconds (ten years) */
#define KV_FILTER_MAX 1024   /* bytes of a filter pattern */
#define KV_CONTENT_TYPE_MAX 255
#define KV_LIKE_ESCAPE '!'
#define KV_ETAG_LEN 18 /* '"' + 16 hex digits + '"' */
#define KV_LIST_DEFAULT 1000
#define KV_LIST_MAX 10000

/* ------------------------------------------------------------ validators */

enum kv_key_error {
	KV_KEY_OK,
	KV_KEY_EMPTY,
	KV_KEY_TOO_LONG, /* more than KV_KEY_MAX bytes */
	KV_KEY_NOT_UTF8,
	KV_KEY_CONTROL, /* NUL, C0 or DEL */
	KV_KEY_DOT,     /* "." or ".." */
};

/* Is k[0..len) a key the store accepts? */
enum kv_key_error kv_key_check(const char *k, size_t len);
/* A sentence for the client, e.g. "the key is longer than 255 bytes". */
const char *kv_key_error_text(enum kv_key_error e);

/* `expire_in`: ASCII digits only (leading zeros allowed), 1..KV_TTL_MAX.
 * Empty, signed, fractional, exponent or out of range is false. */
bool kv_ttl_parse(const char *s, size_t len, int64_t *seconds);

/* `limit`: 1..max with the id rules of API.md §0 (no sign, no leading
 * zero). */
bool kv_limit_parse(const char *s, size_t len, int max, int *limit);

/* `raw`: "1" or "true" is 1, "0" or "false" is 0, anything else -1. */
int kv_flag_parse(const char *s, size_t len);

/* A Content-Type to store with a value: 1..KV_CONTENT_TYPE_MAX bytes of
 * printable ASCII (space included). */
bool kv_content_type_valid(const char *s, size_t len);

/* ------------------------------------------------------------- patterns */

struct kv_filter {
	char *like; /* the whole pattern as a LIKE pattern (escape '!') */
	size_t like_len;
	char *prefix; /* the pattern's literal head as a LIKE pattern + '%' */
	size_t prefix_len;
	bool per_char; /* has '$': match `like` per character, `prefix` as bytes */
};

/* Checks a filter pattern (valid UTF-8, no control characters, at most
 * KV_FILTER_MAX bytes; DIAG_INVALID otherwise) and translates it.  The
 * strings are NUL-terminated arena memory.  Runs of `*` collapse into one
 * `%`. */
int kv_filter_compile(struct arena *a, const char *pat, size_t len, struct kv_filter *f,
		      struct diag *d);

/* The reference semantics of a filter pattern, on valid UTF-8 (used by the
 * tests and the fuzzer to check the translation; linear in practice,
 * O(len(pat) * len(key)) at worst). */
bool kv_glob_match(const char *pat, size_t plen, const char *key, size_t klen);

/* The semantics of a LIKE pattern with ESCAPE '!' as the server applies
 * it: `_` is one byte, or one UTF-8 character when per_char. */
bool kv_like_match(const char *like, size_t llen, const char *s, size_t slen, bool per_char);

/* ---------------------------------------------------------- entity tags */

/* out gets "\"%016x\"" of version (KV_ETAG_LEN + 1 bytes with the NUL). */
void kv_etag_format(uint64_t version, char out[KV_ETAG_LEN + 1]);
/* One strong entity tag as kv_etag_format writes it. */
bool kv_etag_parse(const char *s, size_t len, uint64_t *version);

enum kv_cond {
	KV_COND_NONE,    /* no header */
	KV_COND_ANY,     /* "*" */
	KV_COND_VERSION, /* one of our entity tags: *version */
	KV_COND_NEVER,   /* well-formed, but can never match (weak, foreign) */
	KV_COND_BAD,     /* malformed, or an unsupported form */
};

/* If-Match on a write: "*", or a comma-separated list of entity tags
 * (strong comparison: weak tags never match).  A list naming more than one
 * distinct version of ours is KV_COND_BAD (unsupported).  Version 0 is
 * never issued, so a tag naming it never matches (KV_COND_VERSION always
 * sets a nonzero *version). */
enum kv_cond kv_if_match_parse(const char *h, uint64_t *version);
/* If-None-Match on a write: only "*" is supported (create-only). */
enum kv_cond kv_if_none_match_parse(const char *h);
/* If-None-Match on a read: true when "*" or any listed tag (weak
 * comparison) names version.  Malformed headers never match. */
bool kv_if_none_match_hit(const char *h, uint64_t version);

/* --------------------------------------------------------------- others */

/* Percent-encodes s for a query string value (RFC 3986 unreserved bytes
 * stay), NUL-terminated arena memory. */
char *kv_query_escape(struct arena *a, const char *s, size_t len);

#endif
