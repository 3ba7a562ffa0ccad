#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "text.h"

/* ---------------------------------------------------------------- validator */

struct scanner {
	const unsigned char *p, *end, *start;
	struct arena *keys; /* scratch for decoded keys */
	struct diag *d;
};

struct key_ref {
	const char *s;
	size_t len;
};

static int scan_value(struct scanner *sc, int depth);

static int
fail(struct scanner *sc, const char *what)
{
	diag_set(sc->d, DIAG_INVALID, "invalid JSON at byte %zu: %s", (size_t)(sc->p - sc->start),
		 what);
	return -1;
}

static void
skip_ws(struct scanner *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

static int
hex4(struct scanner *sc, unsigned *out)
{
	unsigned v = 0;

	if (sc->end - sc->p < 4)
		return fail(sc, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = sc->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return fail(sc, "bad \\u escape");
	}
	sc->p += 4;
	*out = v;
	return 0;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Scans a string at *p == '"'. With out != NULL, stores the decoded bytes
 * (out must hold the raw length) and their count. */
static int
scan_string(struct scanner *sc, char *out, size_t *out_len)
{
	const unsigned char *run;
	size_t o = 0;

	sc->p++;
	for (;;) {
		run = sc->p;
		while (sc->p < sc->end && *sc->p != '"' && *sc->p != '\\' && *sc->p >= 0x20)
			sc->p++;
		if (!text_valid_utf8((const char *)run, (size_t)(sc->p - run)))
			return fail(sc, "invalid UTF-8 in string");
		if (out != NULL) {
			memcpy(out + o, run, (size_t)(sc->p - run));
			o += (size_t)(sc->p - run);
		}
		if (sc->p >= sc->end)
			return fail(sc, "unterminated string");
		if (*sc->p == '"') {
			sc->p++;
			break;
		}
		if (*sc->p < 0x20)
			return fail(sc, "control character in string");
		/* backslash */
		sc->p++;
		if (sc->p >= sc->end)
			return fail(sc, "unterminated string");
		unsigned char e = *sc->p++;
		unsigned cp;

		switch (e) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (hex4(sc, &cp) < 0)
				return -1;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return fail(sc, "lone low surrogate");
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				unsigned lo;

				if (sc->end - sc->p < 2 || sc->p[0] != '\\' || sc->p[1] != 'u')
					return fail(sc, "lone high surrogate");
				sc->p += 2;
				if (hex4(sc, &lo) < 0)
					return -1;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return fail(sc, "lone high surrogate");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			break;
		default: return fail(sc, "bad escape");
		}
		if (out != NULL)
			o += put_utf8(out + o, cp);
	}
	if (out_len != NULL)
		*out_len = o;
	return 0;
}

static int
scan_number(struct scanner *sc)
{
	const unsigned char *s = sc->p;
	int is_int = 1;

	if (sc->p < sc->end && *sc->p == '-')
		sc->p++;
	if (sc->p >= sc->end)
		return fail(sc, "bad number");
	if (*sc->p == '0') {
		sc->p++;
	} else if (*sc->p >= '1' && *sc->p <= '9') {
		while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
			sc->p++;
	} else {
		return fail(sc, "bad number");
	}
	if (sc->p < sc->end && *sc->p == '.') {
		is_int = 0;
		sc->p++;
		if (sc->p >= sc->end || *sc->p < '0' || *sc->p > '9')
			return fail(sc, "bad number");
		while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
			sc->p++;
	}
	if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
		is_int = 0;
		sc->p++;
		if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
			sc->p++;
		if (sc->p >= sc->end || *sc->p < '0' || *sc->p > '9')
			return fail(sc, "bad number");
		while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
			sc->p++;
	}
	size_t n = (size_t)(sc->p - s);
	char tmp[400];

	if (is_int) {
		/* compare digit strings with the int64 limits */
		const unsigned char *digits = s[0] == '-' ? s + 1 : s;
		size_t nd = (size_t)(sc->p - digits);
		const char *lim = s[0] == '-' ? "9223372036854775808" : "9223372036854775807";

		if (nd > 19 || (nd == 19 && memcmp(digits, lim, 19) > 0))
			return fail(sc, "integer out of range");
		return 0;
	}
	if (n >= sizeof tmp)
		return fail(sc, "number too long");
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	double v = strtod(tmp, NULL);

	if (!isfinite(v))
		return fail(sc, "number out of range");
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static int
scan_object(struct scanner *sc, int depth)
{
	struct key_ref *keys = NULL;
	size_t nkeys = 0, cap = 0;

	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == '}') {
		sc->p++;
		return 0;
	}
	for (;;) {
		skip_ws(sc);
		if (sc->p >= sc->end || *sc->p != '"')
			return fail(sc, "expected a string key");
		const unsigned char *ks = sc->p;

		/* first pass measures the raw length; decode into scratch */
		if (scan_string(sc, NULL, NULL) < 0)
			return -1;
		size_t raw = (size_t)(sc->p - ks);
		char *decoded = arena_alloc(sc->keys, raw);
		size_t dlen;
		const unsigned char *after = sc->p;

		sc->p = ks;
		scan_string(sc, decoded, &dlen);
		sc->p = after;
		if (memchr(decoded, '\0', dlen) != NULL)
			return fail(sc, "NUL in object key");
		if (nkeys == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct key_ref *nk = arena_alloc(sc->keys, ncap * sizeof *nk);

			if (nkeys > 0)
				memcpy(nk, keys, nkeys * sizeof *nk);
			keys = nk;
			cap = ncap;
		}
		keys[nkeys].s = decoded;
		keys[nkeys].len = dlen;
		nkeys++;
		skip_ws(sc);
		if (sc->p >= sc->end || *sc->p != ':')
			return fail(sc, "expected ':'");
		sc->p++;
		if (scan_value(sc, depth) < 0)
			return -1;
		skip_ws(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			continue;
		}
		if (sc->p < sc->end && *sc->p == '}') {
			sc->p++;
			break;
		}
		return fail(sc, "expected ',' or '}'");
	}
	if (nkeys > 1) {
		qsort(keys, nkeys, sizeof *keys, key_cmp);
		for (size_t i = 1; i < nkeys; i++)
			if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
				diag_set(sc->d, DIAG_INVALID, "invalid JSON: duplicate key '%.*s'",
					 (int)(keys[i].len > 64 ? 64 : keys[i].len), keys[i].s);
				return -1;
			}
	}
	return 0;
}

static int
scan_array(struct scanner *sc, int depth)
{
	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == ']') {
		sc->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(sc, depth) < 0)
			return -1;
		skip_ws(sc);
		if (sc->p < sc->end && *sc->p == ',') {
			sc->p++;
			continue;
		}
		if (sc->p < sc->end && *sc->p == ']') {
			sc->p++;
			return 0;
		}
		return fail(sc, "expected ',' or ']'");
	}
}

static int
literal(struct scanner *sc, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
		return fail(sc, "unexpected character");
	sc->p += n;
	return 0;
}

static int
scan_value(struct scanner *sc, int depth)
{
	skip_ws(sc);
	if (sc->p >= sc->end)
		return fail(sc, "unexpected end");
	switch (*sc->p) {
	case '{':
		if (depth >= JSON_MAX_DEPTH)
			return fail(sc, "nesting deeper than 32");
		return scan_object(sc, depth + 1);
	case '[':
		if (depth >= JSON_MAX_DEPTH)
			return fail(sc, "nesting deeper than 32");
		return scan_array(sc, depth + 1);
	case '"': return scan_string(sc, NULL, NULL);
	case 't': return literal(sc, "true");
	case 'f': return literal(sc, "false");
	case 'n': return literal(sc, "null");
	default:
		if (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9'))
			return scan_number(sc);
		return fail(sc, "unexpected character");
	}
}

int
json_validate(const char *text, size_t len, struct diag *d)
{
	struct scanner sc;
	int rc;

	sc.start = sc.p = (const unsigned char *)text;
	sc.end = sc.p + len;
	sc.d = d;
	sc.keys = arena_new(4096);
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		rc = fail(&sc, "byte-order mark");
		goto out;
	}
	rc = scan_value(&sc, 0);
	if (rc == 0) {
		skip_ws(&sc);
		if (sc.p != sc.end)
			rc = fail(&sc, "trailing bytes after the value");
	}
out:
	arena_free(sc.keys);
	return rc;
}

/* ------------------------------------------------------------------ parsing */

static void
json_release(void *obj)
{
	json_object_put(obj);
}

int
json_parse(struct arena *a, const char *text, size_t len, json_object **out, struct diag *d)
{
	struct json_tokener *tok;
	json_object *obj;

	*out = NULL;
	if (json_validate(text, len, d) < 0)
		return -1;
	tok = json_tokener_new_ex(JSON_MAX_DEPTH + 2);
	if (tok == NULL) {
		diag_set(d, DIAG_INTERNAL, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		obj = json_tokener_parse_ex(tok, "", -1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		diag_set(d, DIAG_INVALID, "invalid JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(obj);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	if (obj != NULL)
		arena_on_reset(a, json_release, obj);
	*out = obj;
	return 0;
}

/* ------------------------------------------------------------------ getters */

json_object *
json_member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static int
member(json_object *obj, const char *key, json_object **v)
{
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return 1;
	if (!json_object_object_get_ex(obj, key, v))
		return 1;
	return 0;
}

int
json_get_string(json_object *obj, const char *key, const char **s, size_t *len, struct diag *d)
{
	json_object *v;

	if (member(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_string)) {
		diag_set(d, DIAG_INVALID, "'%s' must be a string", key);
		return -1;
	}
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 0;
}

int
json_get_int64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out,
	       struct diag *d)
{
	json_object *v;

	if (member(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_int)) {
		diag_set(d, DIAG_INVALID, "'%s' must be an integer", key);
		return -1;
	}
	int64_t n = json_object_get_int64(v);

	if (n < min || n > max) {
		diag_set(d, DIAG_INVALID, "'%s' must be from %lld to %lld", key, (long long)min,
			 (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

int
json_get_bool(json_object *obj, const char *key, bool *out, struct diag *d)
{
	json_object *v;

	if (member(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_boolean)) {
		diag_set(d, DIAG_INVALID, "'%s' must be true or false", key);
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

int
json_get_array(json_object *obj, const char *key, json_object **out, struct diag *d)
{
	json_object *v;

	if (member(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_array)) {
		diag_set(d, DIAG_INVALID, "'%s' must be an array", key);
		return -1;
	}
	*out = v;
	return 0;
}

const char *
json_unknown_member(json_object *obj, const char *const *known, size_t n)
{
	json_object_object_foreach (obj, k, v) {
		bool ok = false;

		(void)v;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(k, known[i]) == 0;
		if (!ok)
			return k;
	}
	return NULL;
}
