/* query: the decoded parameters of a query string.
 *
 * `a=1&b=x+y&c` gives a="1", b="x y", c="".  Names and values are
 * percent-decoded ('+' is a space) into arena memory and NUL-terminated;
 * they may contain NUL bytes, so use the lengths.  A malformed escape or
 * more than QUERY_MAX_PARAMS parameters is an error (400). */
#ifndef CAIRN_QUERY_H
#define CAIRN_QUERY_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"

#define QUERY_MAX_PARAMS 256

struct query_param {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct query {
	struct query_param *items;
	size_t n;
};

int query_parse(struct arena *a, const char *qs, size_t len, struct query *q, struct diag *d);
/* 0: absent; 1: present once (*value, *len set); -1: present more than
 * once (API.md §0: a 400 unless the route documents repetition). */
int query_get(const struct query *q, const char *name, const char **value, size_t *len);
/* How many times name appears. */
size_t query_count(const struct query *q, const char *name);

#endif
