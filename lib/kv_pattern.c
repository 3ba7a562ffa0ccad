#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kv_pattern.h"
#include "text.h"

/* ------------------------------------------------------------ validators */

enum kv_key_error
kv_key_check(const char *k, size_t len)
{
	if (len == 0)
		return KV_KEY_EMPTY;
	if (len > KV_KEY_MAX)
		return KV_KEY_TOO_LONG;
	if (!text_valid_utf8(k, len))
		return KV_KEY_NOT_UTF8;
	if (text_has_control(k, len))
		return KV_KEY_CONTROL;
	if ((len == 1 && k[0] == '.') || (len == 2 && k[0] == '.' && k[1] == '.'))
		return KV_KEY_DOT;
	return KV_KEY_OK;
}

const char *
kv_key_error_text(enum kv_key_error e)
{
	switch (e) {
	case KV_KEY_OK: return "the key is valid";
	case KV_KEY_EMPTY: return "the key is empty";
	case KV_KEY_TOO_LONG: return "the key is longer than 255 bytes";
	case KV_KEY_NOT_UTF8: return "the key is not valid UTF-8";
	case KV_KEY_CONTROL: return "the key contains a control character";
	case KV_KEY_DOT: return "the keys '.' and '..' are not allowed";
	}
	return "the key is invalid";
}

bool
kv_ttl_parse(const char *s, size_t len, int64_t *seconds)
{
	int64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > KV_TTL_MAX)
			return false;
	}
	if (v < 1)
		return false;
	*seconds = v;
	return true;
}

bool
kv_limit_parse(const char *s, size_t len, int max, int *limit)
{
	int64_t n;

	if (!text_parse_id(s, len, &n) || n > max)
		return false;
	*limit = (int)n;
	return true;
}

int
kv_flag_parse(const char *s, size_t len)
{
	if ((len == 1 && s[0] == '1') || (len == 4 && memcmp(s, "true", 4) == 0))
		return 1;
	if ((len == 1 && s[0] == '0') || (len == 5 && memcmp(s, "false", 5) == 0))
		return 0;
	return -1;
}

bool
kv_content_type_valid(const char *s, size_t len)
{
	if (len == 0 || len > KV_CONTENT_TYPE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			return false;
	return true;
}

/* ------------------------------------------------------------- patterns */

/* Bytes of the UTF-8 character at s (1 for a stray byte), at most rem. */
static size_t
char_len(const char *s, size_t rem)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

	return n < rem ? n : rem;
}

int
kv_filter_compile(struct arena *a, const char *pat, size_t len, struct kv_filter *f, struct diag *d)
{
	bool in_prefix = true, after_star = false;
	size_t l = 0, p = 0;

	memset(f, 0, sizeof *f);
	if (len > KV_FILTER_MAX) {
		diag_set(d, DIAG_INVALID, "the filter is longer than %d bytes", KV_FILTER_MAX);
		return -1;
	}
	if (!text_valid_utf8(pat, len) || text_has_control(pat, len)) {
		diag_set(d, DIAG_INVALID,
			 "the filter must be valid UTF-8 without control characters");
		return -1;
	}
	/* every input byte becomes at most two output bytes */
	f->like = arena_alloc(a, 2 * len + 1);
	f->prefix = arena_alloc(a, 2 * len + 2);
	/* Specials are ASCII and bytes of multi-byte characters are >= 0x80,
	 * so a byte-wise walk never splits a character wrongly. */
	for (size_t i = 0; i < len; i++) {
		char c = pat[i];

		if (c == '*') {
			if (!after_star)
				f->like[l++] = '%';
			after_star = true;
			in_prefix = false;
			continue;
		}
		after_star = false;
		if (c == '$') {
			f->like[l++] = '_';
			f->per_char = true;
			in_prefix = false;
			continue;
		}
		if (c == '%' || c == '_' || c == KV_LIKE_ESCAPE) {
			f->like[l++] = KV_LIKE_ESCAPE;
			if (in_prefix)
				f->prefix[p++] = KV_LIKE_ESCAPE;
		}
		f->like[l++] = c;
		if (in_prefix)
			f->prefix[p++] = c;
	}
	f->prefix[p++] = '%';
	f->like[l] = '\0';
	f->prefix[p] = '\0';
	f->like_len = l;
	f->prefix_len = p;
	return 0;
}

/* One pattern element for the matchers below. */
enum tok { TOK_END, TOK_STAR, TOK_ONE, TOK_LIT };

/* The classic greedy wildcard match with one backtrack point (the last
 * star): correct for patterns of literals, one-unit wildcards and stars,
 * and O(plen * slen) at worst.  next() reads the pattern element at *p and
 * advances; unit() gives the bytes of one unit of s at i. */
struct matcher {
	const char *pat;
	size_t plen;
	bool like;     /* LIKE syntax (%, _, ! escape) rather than a filter */
	bool per_char; /* one-unit wildcards and backtracking step characters */
};

static enum tok
next_tok(const struct matcher *m, size_t *p, const char **lit, size_t *lit_len)
{
	const char *s = m->pat;
	size_t i = *p;

	if (i >= m->plen)
		return TOK_END;
	if (s[i] == (m->like ? '%' : '*')) {
		*p = i + 1;
		return TOK_STAR;
	}
	if (s[i] == (m->like ? '_' : '$')) {
		*p = i + 1;
		return TOK_ONE;
	}
	if (m->like && s[i] == KV_LIKE_ESCAPE && i + 1 < m->plen)
		i++;
	*lit = s + i;
	*lit_len = m->per_char || !m->like ? char_len(s + i, m->plen - i) : 1;
	*p = i + *lit_len;
	return TOK_LIT;
}

static size_t
unit_len(const struct matcher *m, const char *s, size_t rem)
{
	return m->per_char ? char_len(s, rem) : 1;
}

static bool
match(const struct matcher *m, const char *s, size_t slen)
{
	size_t p = 0, i = 0, star_p = 0, star_i = 0;
	bool have_star = false;

	while (i < slen) {
		size_t q = p, lit_len = 0;
		const char *lit = NULL;
		enum tok t = next_tok(m, &q, &lit, &lit_len);

		if (t == TOK_STAR) {
			have_star = true;
			star_p = q;
			star_i = i;
			p = q;
			continue;
		}
		if (t == TOK_ONE) {
			p = q;
			i += unit_len(m, s + i, slen - i);
			continue;
		}
		if (t == TOK_LIT && lit_len <= slen - i && memcmp(lit, s + i, lit_len) == 0) {
			p = q;
			i += lit_len;
			continue;
		}
		if (!have_star)
			return false;
		star_i += unit_len(m, s + star_i, slen - star_i);
		i = star_i;
		p = star_p;
	}
	for (;;) {
		size_t lit_len;
		const char *lit;
		enum tok t = next_tok(m, &p, &lit, &lit_len);

		if (t == TOK_END)
			return true;
		if (t != TOK_STAR)
			return false;
	}
}

bool
kv_glob_match(const char *pat, size_t plen, const char *key, size_t klen)
{
	struct matcher m = {pat, plen, false, true};

	return match(&m, key, klen);
}

bool
kv_like_match(const char *like, size_t llen, const char *s, size_t slen, bool per_char)
{
	struct matcher m = {like, llen, true, per_char};

	return match(&m, s, slen);
}

/* ---------------------------------------------------------- entity tags */

void
kv_etag_format(uint64_t version, char out[KV_ETAG_LEN + 1])
{
	snprintf(out, KV_ETAG_LEN + 1, "\"%016" PRIx64 "\"", version);
}

bool
kv_etag_parse(const char *s, size_t len, uint64_t *version)
{
	uint64_t v = 0;

	if (len != KV_ETAG_LEN || s[0] != '"' || s[len - 1] != '"')
		return false;
	for (size_t i = 1; i < len - 1; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*version = v;
	return true;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims optional whitespace around [*s, *e). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_ows(**s))
		(*s)++;
	while (*e > *s && is_ows((*e)[-1]))
		(*e)--;
}

/* Walks a comma-separated list of entity tags.  fn gets each tag's opaque
 * part (quotes included) and whether it is weak; returns false for a
 * malformed list.  Empty list elements are allowed (RFC 9110 §5.6.1). */
static bool
each_etag(const char *h, void (*fn)(const char *tag, size_t len, bool weak, void *arg), void *arg)
{
	const char *p = h, *end = h + strlen(h);
	bool any = false;

	while (p < end) {
		const char *e = memchr(p, ',', (size_t)(end - p));
		const char *se = e ? e : end, *s = p;
		bool weak = false;

		trim(&s, &se);
		if (s < se) {
			if (se - s >= 2 && s[0] == 'W' && s[1] == '/') {
				weak = true;
				s += 2;
			}
			if (se - s < 2 || s[0] != '"' || se[-1] != '"')
				return false;
			for (const char *c = s + 1; c < se - 1; c++) {
				unsigned char u = (unsigned char)*c;

				if (u == '"' || u < 0x21 || u == 0x7F)
					return false;
			}
			fn(s, (size_t)(se - s), weak, arg);
			any = true;
		}
		p = e ? e + 1 : end;
	}
	return any;
}

static bool
is_star(const char *h)
{
	const char *s = h, *e = h + strlen(h);

	trim(&s, &e);
	return e - s == 1 && s[0] == '*';
}

struct if_match_state {
	int found; /* 0 none, 1 one version, 2 more than one */
	uint64_t version;
};

static void
if_match_one(const char *tag, size_t len, bool weak, void *arg)
{
	struct if_match_state *st = arg;
	uint64_t v;

	if (weak || !kv_etag_parse(tag, len, &v))
		return; /* strong comparison: weak or foreign tags never match */
	if (v == 0)
		return; /* no key is ever at version 0 (kv_store.c starts at 1),
			 * and kv_store takes 0 for "no condition" */
	if (st->found == 0) {
		st->found = 1;
		st->version = v;
	} else if (st->version != v) {
		st->found = 2;
	}
}

enum kv_cond
kv_if_match_parse(const char *h, uint64_t *version)
{
	struct if_match_state st = {0, 0};

	if (h == NULL)
		return KV_COND_NONE;
	if (is_star(h))
		return KV_COND_ANY;
	if (!each_etag(h, if_match_one, &st) || st.found == 2)
		return KV_COND_BAD;
	if (st.found == 0)
		return KV_COND_NEVER;
	*version = st.version;
	return KV_COND_VERSION;
}

enum kv_cond
kv_if_none_match_parse(const char *h)
{
	if (h == NULL)
		return KV_COND_NONE;
	return is_star(h) ? KV_COND_ANY : KV_COND_BAD;
}

struct none_match_state {
	uint64_t version;
	bool hit;
};

static void
none_match_one(const char *tag, size_t len, bool weak, void *arg)
{
	struct none_match_state *st = arg;
	uint64_t v;

	(void)weak; /* weak comparison on reads */
	if (kv_etag_parse(tag, len, &v) && v == st->version)
		st->hit = true;
}

bool
kv_if_none_match_hit(const char *h, uint64_t version)
{
	struct none_match_state st = {version, false};

	if (h == NULL)
		return false;
	if (is_star(h))
		return true;
	return each_etag(h, none_match_one, &st) && st.hit;
}

/* --------------------------------------------------------------- others */

char *
kv_query_escape(struct arena *a, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = arena_alloc(a, 3 * len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
