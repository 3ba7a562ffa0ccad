/* fuzz_router: router_match on raw PATH_INFO (API.md §0).
 *
 * Input: the first byte picks the method (low 4 bits) and whether debug
 * routes are on (bit 4); the rest is the raw path (cut at the first NUL, as
 * a CGI param would be).  The path is matched against the real route table
 * (cgi-bin/routes.c) and a local table with parameters, trailing-slash
 * routes, an explicit HEAD route, a debug route and enough methods on one
 * path to overflow the Allow buffer.  Checked:
 *   - FOUND: the route is the table entry at index, its method fits (HEAD may
 *     use GET), debug routes only when enabled, every parameter is named as
 *     in the pattern, non-empty, NUL-terminated at len, valid UTF-8 without
 *     NUL or controls;
 *   - BAD_PATH exactly when one of the first ROUTER_MAX_SEGMENTS segments
 *     has a malformed escape or decodes to a control or invalid UTF-8;
 *   - BAD_METHOD: allow is non-empty and does not list the method;
 *   - allow is always NUL-terminated inside its buffer;
 *   - the same input always gives the same answer;
 *   - trailing slashes (router.h): for a path P whose last segment is not
 *     empty, "P/" is found whenever P is, unless a route of the same method
 *     has a parameter right at that empty last segment (the single-item
 *     route that blocks "DELETE /keys/" from meaning "DELETE /keys"); and P
 *     is found whenever "P/" is. */
#include "autoconfig.h"

#include "arena.h"
#include "fuzz_common.h"
#include "router.h"
#include "routes.h"
#include "text.h"

static const struct route local_table[] = {
	{"GET", "/", NULL, 0, 0},
	{"GET", "/healthz", NULL, 0, 0},
	{"GET", "/keys", NULL, 0, 0},
	{"DELETE", "/keys", NULL, 0, 0},
	{"GET", "/keys/:key", NULL, 0, 0},
	{"PUT", "/keys/:key", NULL, 0, 0},
	{"DELETE", "/keys/:key", NULL, 0, 0},
	{"GET", "/event/", NULL, 0, 0},
	{"POST", "/event/submit/", NULL, 0, 0},
	{"GET", "/event/:id", NULL, 0, 0},
	{"GET", "/tags/:tag/history", NULL, 0, 0},
	{"POST", "/tags/:tag/:delta", NULL, 0, 0},
	{"GET", "/x/:p/", NULL, 0, 0},
	{"GET", "/four/:a/:b/:c/:d", NULL, 0, 0},
	{"GET", "/five/:a/:b/:c/:d/:e", NULL, 0, 0}, /* more than ROUTER_MAX_PARAMS */
	{"HEAD", "/head", NULL, 0, 0},
	{"GET", "/head", NULL, 0, 0},
	{"POST", "/_debug/thing", NULL, 0, ROUTE_DEBUG},
	{"GET", "/_debug/thing", NULL, 0, ROUTE_DEBUG},
	{"GET", "/many", NULL, 0, 0},
	{"POST", "/many", NULL, 0, 0},
	{"PUT", "/many", NULL, 0, 0},
	{"PATCH", "/many", NULL, 0, 0},
	{"DELETE", "/many", NULL, 0, 0},
	{"OPTIONS", "/many", NULL, 0, 0},
	{"PROPFIND", "/many", NULL, 0, 0},
	{"PROPPATCH", "/many", NULL, 0, 0},
	{"MKCOL", "/many", NULL, 0, 0},
	{"A-VERY-LONG-EXTENSION-METHOD-NAME", "/many", NULL, 0, 0},
	{"GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/:p", NULL, 0, 0}, /* 16 segments */
	{"GET", "/:any", NULL, 0, 0}, /* last: everything one segment deep */
};

static const char *const methods[16] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get",
	"PROPFIND", "MKCOL", "A-VERY-LONG-EXTENSION-METHOD-NAME", "", "TRACE",
	"GE", "GETS", "CONNECT",
};

static struct arena *arena;

/* The oracle for ROUTER_BAD_PATH: 1 bad, 0 fine, and *too_many when the
 * path has more segments than the router looks at. */
static int
path_is_bad(const char *path, bool *too_many)
{
	const char *p, *end = path + strlen(path);
	size_t nseg = 0;

	*too_many = false;
	if (path[0] != '/')
		return 0;
	p = path + 1;
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *se = slash ? slash : end;
		size_t len = (size_t)(se - p);
		char *out = malloc(len + 1);
		size_t o = 0;
		int bad = 0;

		if (nseg == ROUTER_MAX_SEGMENTS) {
			free(out);
			*too_many = true;
			return 0;
		}
		for (size_t i = 0; i < len && !bad; i++) {
			if (p[i] != '%') {
				out[o++] = p[i];
				continue;
			}
			if (i + 2 >= len || !strchr("0123456789abcdefABCDEF", p[i + 1]) ||
			    !strchr("0123456789abcdefABCDEF", p[i + 2]) || p[i + 1] == '\0' ||
			    p[i + 2] == '\0') {
				bad = 1;
				break;
			}
			char hex[3] = {p[i + 1], p[i + 2], '\0'};

			out[o++] = (char)strtoul(hex, NULL, 16);
			i += 2;
		}
		if (!bad) {
			for (size_t i = 0; i < o; i++) {
				unsigned char c = (unsigned char)out[i];

				if (c < 0x20 || c == 0x7F)
					bad = 1;
				/* C1 controls, U+0080..U+009F */
				if (c == 0xC2 && i + 1 < o && (unsigned char)out[i + 1] >= 0x80 &&
				    (unsigned char)out[i + 1] <= 0x9F)
					bad = 1;
			}
			if (!text_valid_utf8(out, o))
				bad = 1;
		}
		free(out);
		if (bad)
			return 1;
		nseg++;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

/* Does the pattern name a parameter called name (len bytes)? */
static bool
pattern_has_param(const char *pattern, const char *name, size_t len)
{
	for (const char *p = strchr(pattern, ':'); p != NULL; p = strchr(p + 1, ':')) {
		size_t plen = strcspn(p + 1, "/");

		if (p[-1] == '/' && plen == len && memcmp(p + 1, name, len) == 0)
			return true;
	}
	return false;
}

static bool
allow_lists(const char *allow, const char *method)
{
	size_t mlen = strlen(method);

	for (const char *p = allow; *p;) {
		size_t n = strcspn(p, ",");

		if (n == mlen && memcmp(p, method, mlen) == 0)
			return true;
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return false;
}

/* Splits a raw path into decoded segments (the caller checked it is not
 * bad); returns the count, or 0 when there are too many. */
static size_t
decode_segments(const char *path, char seg[][256], size_t *seglen, size_t max)
{
	const char *p = path + 1, *end = path + strlen(path);
	size_t n = 0;

	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *se = slash ? slash : end;
		char out[4096];
		long len;

		if (n == max || (size_t)(se - p) >= sizeof out)
			return 0;
		len = text_pct_decode(p, (size_t)(se - p), out, false);
		if (len < 0 || (size_t)len >= 256)
			return 0;
		memcpy(seg[n], out, (size_t)len);
		seg[n][len] = '\0';
		seglen[n++] = (size_t)len;
		if (slash == NULL)
			return n;
		p = slash + 1;
	}
}

/* Is there a route for method whose pattern matches the k segments and
 * then has a parameter (where "P/" has its empty last segment)? */
static bool
single_item_route(const struct route *table, size_t n, const char *method, int with_debug,
		  char seg[][256], const size_t *seglen, size_t k)
{
	for (size_t r = 0; r < n; r++) {
		const struct route *rt = &table[r];
		const char *p = rt->pattern + 1;
		bool ok = true;

		if ((rt->flags & ROUTE_DEBUG) && !with_debug)
			continue;
		if (strcmp(rt->method, method) != 0 &&
		    !(strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0))
			continue;
		for (size_t i = 0; i < k && ok; i++) {
			size_t plen = strcspn(p, "/");

			if (plen > 0 && p[0] == ':')
				ok = seglen[i] > 0;
			else
				ok = plen == seglen[i] && memcmp(p, seg[i], plen) == 0;
			/* the pattern must go on past segment i */
			ok = ok && p[plen] == '/';
			if (ok)
				p += plen + 1;
		}
		if (ok && p[0] == ':')
			return true;
	}
	return false;
}

static void
check_slash(const struct route *table, size_t n, const char *method, const char *path,
	    int with_debug, const char *which)
{
	size_t len = strlen(path);
	char *bare, *slashed;
	struct route_match m;
	enum router_result rb, rs;

	/* the pair P, P/ with P's last segment not empty */
	if (len < 2 || path[0] != '/')
		return;
	if (path[len - 1] == '/') {
		if (path[len - 2] == '/')
			return;
		bare = strndup(path, len - 1);
		slashed = strdup(path);
	} else {
		bare = strdup(path);
		slashed = malloc(len + 2);
		memcpy(slashed, path, len);
		memcpy(slashed + len, "/", 2);
	}
	rb = router_match(table, n, method, bare, with_debug, arena, &m);
	rs = router_match(table, n, method, slashed, with_debug, arena, &m);
	FUZZ_CHECK((rb == ROUTER_BAD_PATH) == (rs == ROUTER_BAD_PATH),
		   "%s: '%s' gives %d but '%s' gives %d", which, bare, (int)rb, slashed, (int)rs);
	if (rs == ROUTER_FOUND && rb != ROUTER_FOUND) {
		fuzz_dump("P", bare, strlen(bare));
		FUZZ_CHECK(0, "%s: %s P/ is found but P is not (%d)", which, method, (int)rb);
	}
	if (rb == ROUTER_FOUND && rs != ROUTER_FOUND) {
		static char seg[ROUTER_MAX_SEGMENTS][256];
		size_t seglen[ROUTER_MAX_SEGMENTS];
		size_t k = decode_segments(bare, seg, seglen, ROUTER_MAX_SEGMENTS);

		/* P/ needs one segment more than P: past the limit it is not found */
		if (k > 0 && k < ROUTER_MAX_SEGMENTS &&
		    !single_item_route(table, n, method, with_debug, seg, seglen, k)) {
			fuzz_dump("P", bare, strlen(bare));
			FUZZ_CHECK(0, "%s: %s P is found but P/ is not (%d) and no %s route has a "
				      "parameter there", which, method, (int)rs, method);
		}
	}
	free(bare);
	free(slashed);
}

static void
check(const struct route *table, size_t n, const char *method, const char *path,
      int with_debug, const char *which)
{
	struct route_match m, m2;
	enum router_result rr, rr2;
	bool too_many;

	memset(&m, 0xA5, sizeof m); /* the router must not rely on a clean struct */
	rr = router_match(table, n, method, path, with_debug, arena, &m);
	FUZZ_CHECK(rr == ROUTER_FOUND || rr == ROUTER_NOT_FOUND || rr == ROUTER_BAD_METHOD ||
			   rr == ROUTER_BAD_PATH,
		   "%s: router_match returned %d", which, (int)rr);
	FUZZ_CHECK(memchr(m.allow, '\0', sizeof m.allow) != NULL,
		   "%s: allow is not NUL-terminated", which);

	int bad = path_is_bad(path, &too_many);

	if ((rr == ROUTER_BAD_PATH) != (bad == 1)) {
		fuzz_dump("path", path, strlen(path));
		FUZZ_CHECK(0, "%s: router says %d, oracle says the path is %s", which, (int)rr,
			   bad ? "bad" : "fine");
	}
	if (too_many || path[0] != '/')
		FUZZ_CHECK(rr == ROUTER_NOT_FOUND || rr == ROUTER_BAD_PATH,
			   "%s: a path the router cannot split matched (%d)", which, (int)rr);

	if (rr == ROUTER_FOUND) {
		const struct route *r = m.route;

		FUZZ_CHECK(r != NULL && m.index < n && r == &table[m.index],
			   "%s: route/index mismatch", which);
		FUZZ_CHECK(strcmp(r->method, method) == 0 ||
				   (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0),
			   "%s: %s served by a %s route", which, method, r->method);
		FUZZ_CHECK(with_debug || !(r->flags & ROUTE_DEBUG),
			   "%s: debug route %s served without debug", which, r->pattern);
		FUZZ_CHECK(m.nparams <= ROUTER_MAX_PARAMS, "%s: nparams %zu", which, m.nparams);
		for (size_t i = 0; i < m.nparams; i++) {
			const struct route_param *p = &m.params[i];

			FUZZ_CHECK(p->name != NULL && p->value != NULL, "%s: NULL param", which);
			FUZZ_CHECK(pattern_has_param(r->pattern, p->name, p->name_len),
				   "%s: param '%.*s' not in %s", which, (int)p->name_len, p->name,
				   r->pattern);
			FUZZ_CHECK(p->len > 0, "%s: empty parameter %.*s filled", which,
				   (int)p->name_len, p->name);
			FUZZ_CHECK(p->value[p->len] == '\0' && strlen(p->value) == p->len,
				   "%s: param value not NUL-terminated at its length", which);
			if (!text_valid_utf8(p->value, p->len) || text_has_control(p->value, p->len)) {
				fuzz_dump("path", path, strlen(path));
				fuzz_dump("param", p->value, p->len);
				FUZZ_CHECK(0, "%s: parameter with invalid UTF-8 or a control", which);
			}
			char name[64];

			snprintf(name, sizeof name, "%.*s", (int)p->name_len, p->name);
			FUZZ_CHECK(router_param(&m, name) != NULL, "%s: router_param(%s) is NULL",
				   which, name);
		}
	}
	if (rr == ROUTER_BAD_METHOD) {
		FUZZ_CHECK(m.allow[0] != '\0', "%s: 405 with an empty Allow", which);
		if (allow_lists(m.allow, method)) {
			fuzz_dump("path", path, strlen(path));
			FUZZ_CHECK(0, "%s: 405 for %s but Allow lists it: %s", which, method, m.allow);
		}
	}
	/* deterministic */
	rr2 = router_match(table, n, method, path, with_debug, arena, &m2);
	FUZZ_CHECK(rr2 == rr, "%s: second match gave %d, first %d", which, (int)rr2, (int)rr);
	if (rr == ROUTER_FOUND)
		FUZZ_CHECK(m2.route == m.route && m2.nparams == m.nparams,
			   "%s: second match found another route", which);
	if (rr == ROUTER_BAD_METHOD)
		FUZZ_CHECK(strcmp(m.allow, m2.allow) == 0, "%s: Allow differs", which);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (arena == NULL)
		arena = arena_new(4096);
	if (size < 1)
		return 0;

	const char *method = methods[data[0] & 15];
	int with_debug = (data[0] >> 4) & 1;
	char *path = malloc(size);

	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';

	check(routes_table, routes_count, method, path, with_debug, "routes_table");
	check(local_table, sizeof local_table / sizeof local_table[0], method, path, with_debug,
	      "local_table");
	check_slash(routes_table, routes_count, method, path, with_debug, "routes_table");
	check_slash(local_table, sizeof local_table / sizeof local_table[0], method, path,
		    with_debug, "local_table");

	free(path);
	arena_reset(arena);
	return 0;
}
