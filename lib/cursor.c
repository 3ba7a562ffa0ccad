#include "autoconfig.h"

#include <string.h>

#include "cursor.h"

#define CURSOR_SEP '\x1f'

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
cursor_encode(struct arena *a, const char *const *fields, size_t n)
{
	size_t raw_len = 0;

	for (size_t i = 0; i < n; i++)
		raw_len += strlen(fields[i]) + (i > 0);
	char *raw = arena_alloc(a, raw_len + 1), *p = raw;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(fields[i]);

		if (i > 0)
			*p++ = CURSOR_SEP;
		memcpy(p, fields[i], l);
		p += l;
	}
	char *out = arena_alloc(a, (raw_len + 2) / 3 * 4 + 1);
	size_t o = 0;
	const unsigned char *r = (const unsigned char *)raw;

	for (size_t i = 0; i < raw_len; i += 3) {
		unsigned v = (unsigned)r[i] << 16;

		if (i + 1 < raw_len)
			v |= (unsigned)r[i + 1] << 8;
		if (i + 2 < raw_len)
			v |= r[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		if (i + 1 < raw_len)
			out[o++] = b64[v >> 6 & 63];
		if (i + 2 < raw_len)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	return out;
}

static int
b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int
cursor_decode(struct arena *a, const char *text, size_t len, char **fields, size_t n,
	      struct diag *d)
{
	if (len == 0 || len > CURSOR_MAX_LEN || len % 4 == 1)
		goto bad;
	char *raw = arena_alloc(a, len);
	size_t r = 0;

	for (size_t i = 0; i < len; i += 4) {
		unsigned v = 0;
		size_t k = len - i < 4 ? len - i : 4;

		for (size_t j = 0; j < 4; j++) {
			int x = j < k ? b64_value(text[i + j]) : 0;

			if (x < 0)
				goto bad;
			v = v << 6 | (unsigned)x;
		}
		raw[r++] = (char)(v >> 16);
		if (k > 2)
			raw[r++] = (char)(v >> 8);
		if (k > 3)
			raw[r++] = (char)v;
	}
	if (memchr(raw, '\0', r) != NULL)
		goto bad;
	size_t count = 1;

	for (size_t i = 0; i < r; i++)
		count += raw[i] == CURSOR_SEP;
	if (count != n)
		goto bad;
	const char *p = raw, *end = raw + r;

	for (size_t f = 0; f < n; f++) {
		const char *sep = memchr(p, CURSOR_SEP, (size_t)(end - p));
		const char *fe = sep ? sep : end;

		fields[f] = arena_strndup(a, p, (size_t)(fe - p));
		p = sep ? sep + 1 : end;
	}
	return 0;
bad:
	diag_set(d, DIAG_INVALID, "bad cursor");
	return -1;
}
