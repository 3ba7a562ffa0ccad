#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "text.h"

/* ---------------------------------------------------------------- validator */

struct wide_list;

struct scanner {
	const unsigned char *p, *end, *start;
	struct arena *keys; /* scratch for decoded keys and the wide list */
	struct diag *d;
	size_t numbers;         /* numbers scanned so far */
	struct wide_list *wide; /* the integers beyond int64, in text order */
};

struct key_ref {
	const char *s;
	size_t len;
};

/* An integer beyond int64 (json-c would clamp it): json_parse() makes it a
 * number that is not an integer and keeps its spelling. */
struct wide_int {
	size_t ordinal; /* the numbers before it in the text */
	const char *text;
	size_t len;
};

struct wide_list {
	struct wide_int *v;
	size_t n, cap;
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
	if (is_int) {
		/* compare digit strings with the int64 limits */
		const unsigned char *digits = s[0] == '-' ? s + 1 : s;
		size_t nd = (size_t)(sc->p - digits);
		const char *lim = s[0] == '-' ? "9223372036854775808" : "9223372036854775807";

		if (nd > 19 || (nd == 19 && memcmp(digits, lim, 19) > 0)) {
			struct wide_list *w = sc->wide;

			if (w->n == w->cap) {
				size_t ncap = w->cap ? w->cap * 2 : 8;
				struct wide_int *nv = arena_alloc(sc->keys, ncap * sizeof *nv);

				if (w->n > 0)
					memcpy(nv, w->v, w->n * sizeof *nv);
				w->v = nv;
				w->cap = ncap;
			}
			w->v[w->n].ordinal = sc->numbers;
			w->v[w->n].text = (const char *)s;
			w->v[w->n].len = (size_t)(sc->p - s);
			w->n++;
		}
	}
	/* other numbers: json-c keeps their spelling beside the double (which
	 * may be infinite: 1e400) */
	sc->numbers++;
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

/* The strict scan; the integers beyond int64 go to *wide, allocated in
 * scratch. */
static int
validate(const char *text, size_t len, struct arena *scratch, struct wide_list *wide,
	 struct diag *d)
{
	struct scanner sc;
	int rc;

	sc.start = sc.p = (const unsigned char *)text;
	sc.end = sc.p + len;
	sc.d = d;
	sc.keys = scratch;
	sc.numbers = 0;
	sc.wide = wide;
	memset(wide, 0, sizeof *wide);
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		return fail(&sc, "byte-order mark");
	rc = scan_value(&sc, 0);
	if (rc == 0) {
		skip_ws(&sc);
		if (sc.p != sc.end)
			rc = fail(&sc, "trailing bytes after the value");
	}
	return rc;
}

int
json_validate(const char *text, size_t len, struct diag *d)
{
	struct arena *scratch = arena_new(4096);
	struct wide_list wide;
	int rc = validate(text, len, scratch, &wide, d);

	arena_free(scratch);
	return rc;
}

/* ------------------------------------------------------------------ parsing */

static void
json_release(void *obj)
{
	json_object_put(obj);
}

struct widen {
	const struct wide_list *wide;
	struct arena *scratch;
	size_t next;    /* the next entry of wide to replace */
	size_t ordinal; /* numbers seen so far */
};

/* Walks the tree in text order (json-c keeps members in the order given,
 * and duplicate keys were refused) counting numbers.  *repl is the
 * replacement for v when v is the next integer beyond int64 (json-c
 * clamped it): a double carrying the request's spelling, so no getter
 * reads a clamped integer and each route names the member it refuses.
 * -1 when out of memory. */
static int
widen(json_object *v, struct widen *st, json_object **repl)
{
	*repl = NULL;
	if (st->next == st->wide->n)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_object: {
		json_object_object_foreach (v, k, m) {
			json_object *r;

			if (widen(m, st, &r) < 0)
				return -1;
			if (r != NULL && json_object_object_add(v, k, r) < 0) {
				json_object_put(r);
				return -1;
			}
		}
		return 0;
	}
	case json_type_array: {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n; i++) {
			json_object *r;

			if (widen(json_object_array_get_idx(v, i), st, &r) < 0)
				return -1;
			if (r != NULL && json_object_array_put_idx(v, i, r) < 0) {
				json_object_put(r);
				return -1;
			}
		}
		return 0;
	}
	case json_type_int:
	case json_type_double: {
		const struct wide_int *w = &st->wide->v[st->next];
		char *text;

		if (st->ordinal++ != w->ordinal)
			return 0;
		st->next++;
		text = arena_strndup(st->scratch, w->text, w->len);
		*repl = json_object_new_double_s(strtod(text, NULL), text);
		return *repl != NULL ? 0 : -1;
	}
	default: return 0;
	}
}

int
json_parse(struct arena *a, const char *text, size_t len, json_object **out, struct diag *d)
{
	struct json_tokener *tok;
	json_object *obj;
	struct arena *scratch;
	struct wide_list wide;

	*out = NULL;
	scratch = arena_new(4096);
	if (validate(text, len, scratch, &wide, d) < 0) {
		arena_free(scratch);
		return -1;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH + 2);
	if (tok == NULL) {
		arena_free(scratch);
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
		arena_free(scratch);
		return -1;
	}
	json_tokener_free(tok);
	if (wide.n > 0) {
		struct widen st = {&wide, scratch, 0, 0};
		json_object *r;

		if (widen(obj, &st, &r) < 0) {
			json_object_put(obj);
			arena_free(scratch);
			diag_set(d, DIAG_INTERNAL, "out of memory");
			return -1;
		}
		if (r != NULL) {
			json_object_put(obj);
			obj = r;
		}
	}
	arena_free(scratch);
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
	/* an integer beyond int64 is a double spelled without '.' or exponent */
	if (json_object_is_type(v, json_type_double) &&
	    strpbrk(json_object_get_string(v), ".eE") == NULL) {
		diag_set(d, DIAG_INVALID, "'%s' must be from %lld to %lld", key, (long long)min,
			 (long long)max);
		return -1;
	}
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
