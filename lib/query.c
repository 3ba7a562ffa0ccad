#include "autoconfig.h"

#include <string.h>

#include "query.h"
#include "text.h"

int
query_parse(struct arena *a, const char *qs, size_t len, struct query *q, struct diag *d)
{
	size_t count = 0;

	q->items = NULL;
	q->n = 0;
	for (size_t i = 0; i < len; i++)
		if (qs[i] == '&')
			count++;
	if (count + 1 > QUERY_MAX_PARAMS) {
		diag_set(d, DIAG_INVALID, "too many query parameters (max %d)", QUERY_MAX_PARAMS);
		return -1;
	}
	q->items = arena_calloc(a, count + 1, sizeof *q->items);
	const char *p = qs, *end = qs + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		const char *ne = eq ? eq : pe;
		const char *vs = eq ? eq + 1 : pe;

		if (pe > p) {
			struct query_param *qp = &q->items[q->n];
			char *name = arena_alloc(a, (size_t)(ne - p) + 1);
			char *value = arena_alloc(a, (size_t)(pe - vs) + 1);
			long nl = text_pct_decode(p, (size_t)(ne - p), name, true);
			long vl = text_pct_decode(vs, (size_t)(pe - vs), value, true);

			if (nl < 0 || vl < 0) {
				diag_set(d, DIAG_INVALID,
					 "malformed percent-escape in the query string");
				return -1;
			}
			name[nl] = '\0';
			value[vl] = '\0';
			qp->name = name;
			qp->name_len = (size_t)nl;
			qp->value = value;
			qp->value_len = (size_t)vl;
			q->n++;
		}
		p = amp ? amp + 1 : end;
	}
	return 0;
}

int
query_get(const struct query *q, const char *name, const char **value, size_t *len)
{
	size_t nlen = strlen(name);
	int found = 0;

	for (size_t i = 0; i < q->n; i++) {
		if (q->items[i].name_len == nlen && memcmp(q->items[i].name, name, nlen) == 0) {
			if (found)
				return -1;
			found = 1;
			*value = q->items[i].value;
			*len = q->items[i].value_len;
		}
	}
	return found;
}

size_t
query_count(const struct query *q, const char *name)
{
	size_t nlen = strlen(name), n = 0;

	for (size_t i = 0; i < q->n; i++)
		if (q->items[i].name_len == nlen && memcmp(q->items[i].name, name, nlen) == 0)
			n++;
	return n;
}
