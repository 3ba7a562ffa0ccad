#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"
#include "text.h"

void
jsonw_init(struct jsonw *w, jsonw_sink sink, void *sink_ctx)
{
	memset(w, 0, sizeof *w);
	w->sink = sink;
	w->sink_ctx = sink_ctx;
}

int
jsonw_buf_sink(void *b, const char *p, size_t n)
{
	return buf_append(b, p, n);
}

static void
emit(struct jsonw *w, const char *p, size_t n)
{
	if (w->error == 0 && n > 0 && w->sink(w->sink_ctx, p, n) < 0)
		w->error = -1;
}

/* Writes the separator a new value needs at this point. */
static void
before_value(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->need_comma[w->depth])
			emit(w, ",", 1);
		w->need_comma[w->depth] = true;
	}
}

static void
open_container(struct jsonw *w, char c)
{
	before_value(w);
	emit(w, &c, 1);
	if (w->depth + 1 >= JSONW_MAX_DEPTH) {
		w->error = -1;
		return;
	}
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void
close_container(struct jsonw *w, char c)
{
	emit(w, &c, 1);
	if (w->depth > 0)
		w->depth--;
}

void
jsonw_object_begin(struct jsonw *w)
{
	open_container(w, '{');
}
void
jsonw_object_end(struct jsonw *w)
{
	close_container(w, '}');
}
void
jsonw_array_begin(struct jsonw *w)
{
	open_container(w, '[');
}
void
jsonw_array_end(struct jsonw *w)
{
	close_container(w, ']');
}

/* The letter of c's two-character escape (\" \\ \n \r \t), or 0. */
static inline char
short_escape(unsigned char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	default: return 0;
	}
}

/* Escapes into a small stack buffer, flushing as it fills. */
static void
emit_string(struct jsonw *w, const char *s, size_t len)
{
	char out[512], esc;
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	out[o++] = '"';
	while (p < end) {
		if (o > sizeof out - 16) {
			emit(w, out, o);
			o = 0;
		}
		unsigned char c = *p;

		if (c >= 0x80) {
			size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

			if ((size_t)(end - p) >= n && text_valid_utf8((const char *)p, n)) {
				memcpy(out + o, p, n);
				o += n;
				p += n;
			} else {
				memcpy(out + o, "\xEF\xBF\xBD", 3);
				o += 3;
				p++;
			}
			continue;
		}
		p++;
		esc = short_escape(c);
		if (esc != 0) {
			out[o++] = '\\';
			out[o++] = esc;
		} else if (c < 0x20 || c == 0x7F) {
			o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	emit(w, out, o);
}

void
jsonw_key_n(struct jsonw *w, const char *key, size_t len)
{
	before_value(w);
	emit_string(w, key, len);
	emit(w, ":", 1);
	w->after_key = true;
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	jsonw_key_n(w, key, strlen(key));
}

void
jsonw_string_n(struct jsonw *w, const char *s, size_t len)
{
	before_value(w);
	emit_string(w, s, len);
}

void
jsonw_string(struct jsonw *w, const char *s)
{
	jsonw_string_n(w, s, strlen(s));
}

void
jsonw_int(struct jsonw *w, int64_t v)
{
	char tmp[TEXT_INT_LEN + 2];
	size_t n = text_format_i64(v, tmp);

	before_value(w);
	emit(w, tmp, n);
}

void
jsonw_bool(struct jsonw *w, bool v)
{
	before_value(w);
	emit(w, v ? "true" : "false", v ? 4 : 5);
}

void
jsonw_null(struct jsonw *w)
{
	before_value(w);
	emit(w, "null", 4);
}

void
jsonw_raw(struct jsonw *w, const char *json, size_t len)
{
	before_value(w);
	emit(w, json, len);
}

void
jsonw_value(struct jsonw *w, json_object *v)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	jsonw_raw(w, s, len);
}

int
jsonw_error(const struct jsonw *w)
{
	return w->error;
}

int
jsonw_escape(struct buf *b, const char *s, size_t len)
{
	struct jsonw w;

	jsonw_init(&w, jsonw_buf_sink, b);
	jsonw_string_n(&w, s, len);
	return jsonw_error(&w);
}
