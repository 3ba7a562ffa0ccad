/* jsonw: a streaming JSON writer.
 *
 * Output goes to a sink callback as it is produced, so a list of a million
 * rows needs no more memory than one row.  The writer tracks nesting and
 * commas itself; callers only say what comes next.  Strings are escaped
 * for JSON; bytes that are not valid UTF-8 are written as U+FFFD.  After a
 * sink error every further call is a no-op and jsonw_error() is nonzero. */
#ifndef CAIRN_JSONW_H
#define CAIRN_JSONW_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSONW_MAX_DEPTH 64

typedef int (*jsonw_sink)(void *sink_ctx, const char *p, size_t n);

struct jsonw {
	jsonw_sink sink;
	void *sink_ctx;
	unsigned depth;
	bool need_comma[JSONW_MAX_DEPTH];
	bool after_key;
	int error;
};

void jsonw_init(struct jsonw *w, jsonw_sink sink, void *sink_ctx);
/* A sink that appends to a struct buf (sink_ctx). */
int jsonw_buf_sink(void *buf, const char *p, size_t n);

void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_key_n(struct jsonw *w, const char *key, size_t len);
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_string_n(struct jsonw *w, const char *s, size_t len);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* Text that is already JSON (a number's original spelling, say). */
void jsonw_raw(struct jsonw *w, const char *json, size_t len);
/* A json-c value, serialised compactly. */
void jsonw_value(struct jsonw *w, json_object *v);
int jsonw_error(const struct jsonw *w);

/* Escapes s into b as a JSON string with quotes; -1 if b is full. */
int jsonw_escape(struct buf *b, const char *s, size_t len);

#endif
