/* fuzz_kv: the key-value store's pure parsers and validators (kv_pattern.c).
 *
 * The input is split at its first NUL into a filter pattern and a key
 * (without a NUL both are the whole input).  Checked:
 *   - kv_filter_compile either fails with DIAG_INVALID for a pattern that
 *     is too long, not UTF-8 or holds a control character, or gives a LIKE
 *     pattern that decides every valid key exactly like the reference
 *     matcher kv_glob_match (per character when per_char; per byte and per
 *     character alike otherwise), and a prefix that accepts every key the
 *     pattern matches;
 *   - kv_key_check accepts only 1..255 bytes of UTF-8 without controls
 *     that are not "." or "..";
 *   - kv_ttl_parse accepts only digits with a value in 1..KV_TTL_MAX;
 *   - kv_etag_parse round-trips through kv_etag_format; If-Match giving a
 *     version names a tag that is in the header;
 *   - kv_query_escape writes only unreserved bytes and %XX, and decodes
 *     back to the input.
 * Deterministic, no I/O. */
#include "autoconfig.h"

#include "arena.h"
#include "fuzz_common.h"
#include "kv_pattern.h"
#include "text.h"

static struct arena *arena;

static void
check_filter(const char *pat, size_t plen, const char *key, size_t klen)
{
	struct kv_filter f;
	struct diag d;
	bool valid_pat = plen <= KV_FILTER_MAX && text_valid_utf8(pat, plen) &&
			 !text_has_control(pat, plen);

	d.code = 0;
	if (kv_filter_compile(arena, pat, plen, &f, &d) < 0) {
		FUZZ_CHECK(!valid_pat, "a valid pattern was rejected: %s", d.msg);
		FUZZ_CHECK(d.code == DIAG_INVALID, "failed with code %d", d.code);
		return;
	}
	FUZZ_CHECK(valid_pat, "an invalid pattern was accepted");
	FUZZ_CHECK(f.like_len <= 2 * plen && strlen(f.like) == f.like_len, "like length");
	FUZZ_CHECK(f.prefix_len >= 1 && f.prefix[f.prefix_len - 1] == '%', "prefix ends in %%");
	FUZZ_CHECK(f.per_char == (memchr(pat, '$', plen) != NULL), "per_char iff '$'");
	if (!text_valid_utf8(key, klen) || text_has_control(key, klen))
		return; /* not a key the store holds */
	bool g = kv_glob_match(pat, plen, key, klen);
	bool l = kv_like_match(f.like, f.like_len, key, klen, f.per_char);

	if (g != l) {
		fuzz_dump("pattern", pat, plen);
		fuzz_dump("key", key, klen);
		FUZZ_CHECK(0, "glob %d but LIKE %d (like '%s')", g, l, f.like);
	}
	if (!f.per_char) {
		bool lc = kv_like_match(f.like, f.like_len, key, klen, true);

		FUZZ_CHECK(lc == g, "byte and character LIKE disagree (like '%s')", f.like);
	}
	if (g)
		FUZZ_CHECK(kv_like_match(f.prefix, f.prefix_len, key, klen, false),
			      "the prefix '%s' rejects a matching key", f.prefix);
}

static void
check_key_ttl(const char *s, size_t len)
{
	enum kv_key_error e = kv_key_check(s, len);
	int64_t ttl = 0;

	if (e == KV_KEY_OK)
		FUZZ_CHECK(len >= 1 && len <= KV_KEY_MAX && text_valid_utf8(s, len) &&
				      !text_has_control(s, len) &&
				      !(len == 1 && s[0] == '.') &&
				      !(len == 2 && s[0] == '.' && s[1] == '.'),
			      "accepted a bad key of %zu bytes", len);
	FUZZ_CHECK(kv_key_error_text(e) != NULL, "no text");
	if (kv_ttl_parse(s, len, &ttl)) {
		int64_t v = 0;

		FUZZ_CHECK(ttl >= 1 && ttl <= KV_TTL_MAX, "ttl %lld", (long long)ttl);
		for (size_t i = 0; i < len; i++) {
			FUZZ_CHECK(s[i] >= '0' && s[i] <= '9', "non-digit in a TTL");
			v = v * 10 + (s[i] - '0');
		}
		FUZZ_CHECK(v == ttl, "value %lld != %lld", (long long)v, (long long)ttl);
	}
	(void)kv_content_type_valid(s, len);
	(void)kv_flag_parse(s, len);
	int lim;

	if (kv_limit_parse(s, len, KV_LIST_MAX, &lim))
		FUZZ_CHECK(lim >= 1 && lim <= KV_LIST_MAX, "limit %d", lim);
}

static void
check_etags(const char *s, size_t len)
{
	char *h = arena_strndup(arena, s, len); /* stops at a NUL, as headers do */
	char e[KV_ETAG_LEN + 1];
	uint64_t v;

	if (kv_etag_parse(s, len, &v)) {
		kv_etag_format(v, e);
		FUZZ_CHECK(len == KV_ETAG_LEN && memcmp(e, s, len) == 0, "etag round trip");
	}
	if (kv_if_match_parse(h, &v) == KV_COND_VERSION) {
		kv_etag_format(v, e);
		FUZZ_CHECK(strstr(h, e) != NULL, "If-Match version %s not in the header", e);
		FUZZ_CHECK(kv_if_none_match_hit(h, v), "If-None-Match misses a listed tag");
	}
	(void)kv_if_none_match_parse(h);
}

static void
check_escape(const char *s, size_t len)
{
	char *enc = kv_query_escape(arena, s, len);
	size_t elen = strlen(enc);
	char *dec = arena_alloc(arena, elen + 1);
	long n;

	for (size_t i = 0; i < elen; i++) {
		char c = enc[i];

		FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				      (c >= '0' && c <= '9') || strchr("-._~%", c) != NULL,
			      "escaped output holds '%c'", c);
	}
	n = text_pct_decode(enc, elen, dec, false);
	FUZZ_CHECK(n == (long)len && memcmp(dec, s, len) == 0, "escape does not decode back");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	const char *pat = text, *key = text;
	size_t plen = size, klen = size;

	if (arena == NULL)
		arena = arena_new(4096);
	fuzz_quiet_logs();
	if (nul != NULL) {
		plen = (size_t)(nul - text);
		key = nul + 1;
		klen = size - plen - 1;
	}
	check_filter(pat, plen, key, klen);
	check_key_ttl(text, size);
	check_etags(text, size);
	check_escape(text, size);
	arena_reset(arena);
	return 0;
}
