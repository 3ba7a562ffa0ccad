#include "autoconfig.h"

#include <stdbool.h>
#include <string.h>

#include "router.h"
#include "text.h"

struct segments {
	const char *v[ROUTER_MAX_SEGMENTS + 1];
	size_t len[ROUTER_MAX_SEGMENTS + 1];
	size_t n;
};

/* Splits the raw path and decodes each segment. -1: bad escape or
 * forbidden bytes; -2: too many segments (no route can match). */
static int
split_path(const char *path, struct arena *a, struct segments *s)
{
	const char *p, *end;

	s->n = 0;
	if (path == NULL || path[0] != '/')
		return -2;
	p = path + 1;
	end = path + strlen(path);
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *se = slash ? slash : end;

		if (s->n == ROUTER_MAX_SEGMENTS)
			return -2;
		char *out = arena_alloc(a, (size_t)(se - p) + 1);
		long n = text_pct_decode(p, (size_t)(se - p), out, false);

		if (n < 0)
			return -1;
		out[n] = '\0';
		if (text_has_control(out, (size_t)n) || !text_valid_utf8(out, (size_t)n))
			return -1;
		s->v[s->n] = out;
		s->len[s->n] = (size_t)n;
		s->n++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return 0;
}

/* Does pattern match the segments? Fills m's params when it does.  Sets
 * *blocked when the only obstacle is an empty last segment where the
 * pattern has its last segment, a parameter (a single-item route at that
 * place; a longer pattern such as "/services/:name/rotate-key" is no
 * item of "/services/"). */
static bool
pattern_match(const char *pattern, const struct segments *s, struct route_match *m, bool *blocked)
{
	const char *p = pattern + 1;
	size_t i = 0;

	m->nparams = 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t plen = slash ? (size_t)(slash - p) : strlen(p);

		if (i >= s->n)
			return false;
		if (plen > 0 && p[0] == ':') {
			if (s->len[i] == 0) {
				if (i == s->n - 1 && slash == NULL)
					*blocked = true;
				return false;
			}
			if (m->nparams == ROUTER_MAX_PARAMS)
				return false;
			struct route_param *rp = &m->params[m->nparams++];

			rp->name = p + 1;
			rp->name_len = plen - 1;
			rp->value = s->v[i];
			rp->len = s->len[i];
		} else if (plen != s->len[i] || memcmp(p, s->v[i], plen) != 0) {
			return false;
		}
		i++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return i == s->n;
}

static void
allow_add(char *allow, size_t cap, const char *method)
{
	size_t mlen = strlen(method);
	const char *p = allow;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
			return;
		p += mlen;
	}
	size_t len = strlen(allow);

	if (len + mlen + 3 > cap)
		return;
	if (len > 0) {
		memcpy(allow + len, ", ", 2);
		len += 2;
	}
	memcpy(allow + len, method, mlen + 1);
}

static bool
method_fits(const struct route *r, const char *method, bool explicit_head)
{
	if (strcmp(r->method, method) == 0)
		return true;
	return !explicit_head && strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
}

/* One pass over the table for the given segments. */
static enum router_result
match_pass(const struct route *table, size_t n, const char *method, const struct segments *s,
	   int with_debug, struct route_match *m, const struct route **blocker, bool *path_known)
{
	struct route_match tmp;
	bool explicit_head = false;
	long get_index = -1;

	for (size_t i = 0; i < n; i++) {
		const struct route *r = &table[i];

		bool empty_param = false;

		if ((r->flags & ROUTE_DEBUG) && !with_debug)
			continue;
		if (!pattern_match(r->pattern, s, &tmp, &empty_param)) {
			/* only a single-item route of this very method blocks the
			 * fallback to the collection route */
			if (empty_param && method_fits(r, method, false) && *blocker == NULL)
				*blocker = r;
			continue;
		}
		*path_known = true;
		allow_add(m->allow, sizeof m->allow, r->method);
		if (strcmp(r->method, "GET") == 0)
			allow_add(m->allow, sizeof m->allow, "HEAD");
		if (strcmp(r->method, method) == 0) {
			if (strcmp(method, "HEAD") == 0)
				explicit_head = true;
			tmp.route = r;
			tmp.index = i;
			memcpy(m->params, tmp.params, sizeof tmp.params);
			m->nparams = tmp.nparams;
			m->route = r;
			m->index = i;
			return ROUTER_FOUND;
		}
		if (get_index < 0 && method_fits(r, method, false))
			get_index = (long)i;
	}
	if (get_index >= 0 && !explicit_head) {
		/* HEAD served by the GET route: match again for its params */
		const struct route *r = &table[get_index];
		bool unused = false;

		pattern_match(r->pattern, s, m, &unused);
		m->route = r;
		m->index = (size_t)get_index;
		return ROUTER_FOUND;
	}
	return ROUTER_NOT_FOUND;
}

enum router_result
router_match(const struct route *table, size_t n, const char *method, const char *path,
	     int with_debug, struct arena *a, struct route_match *m)
{
	struct segments s;
	const struct route *blocker = NULL;
	bool path_known = false;
	int rc;

	memset(m, 0, sizeof *m);
	rc = split_path(path, a, &s);
	if (rc == -1)
		return ROUTER_BAD_PATH;
	if (rc == -2)
		return ROUTER_NOT_FOUND;
	if (match_pass(table, n, method, &s, with_debug, m, &blocker, &path_known) == ROUTER_FOUND)
		return ROUTER_FOUND;
	/* the same path with the trailing slash toggled (one slash: a path
	 * ending in "//" has no shorter form) */
	if (s.n > 1 && s.len[s.n - 1] == 0) {
		if (s.len[s.n - 2] == 0)
			return path_known ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
		/* a single-item route blocks the shorter route unless both are
		 * one handler, the last parameter optional ("/query/service/x/"
		 * is "/query/service/x", "DELETE /keys/" is not "DELETE /keys") */
		const struct route *ignore = NULL;
		struct route_match first = *m;
		bool known = false;

		s.n--;
		if (match_pass(table, n, method, &s, with_debug, m, &ignore, &known) ==
			    ROUTER_FOUND &&
		    (blocker == NULL || blocker->handler == m->route->handler))
			return ROUTER_FOUND;
		if (blocker == NULL)
			path_known = path_known || known;
		else
			*m = first; /* as if the shorter path had not been tried */
	} else if (s.n < ROUTER_MAX_SEGMENTS && !(s.n == 1 && s.len[0] == 0)) {
		s.v[s.n] = "";
		s.len[s.n] = 0;
		s.n++;
		const struct route *ignore = NULL;

		if (match_pass(table, n, method, &s, with_debug, m, &ignore, &path_known) ==
		    ROUTER_FOUND)
			return ROUTER_FOUND;
	}
	return path_known ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

const struct route_param *
router_param(const struct route_match *m, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < m->nparams; i++)
		if (m->params[i].name_len == len && memcmp(m->params[i].name, name, len) == 0)
			return &m->params[i];
	return NULL;
}
