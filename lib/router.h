/* router: the static route table and matching on raw paths (API.md §0).
 *
 * A pattern is a path whose segments are literals or `:name` parameters,
 * e.g. "/keys/:key" or "/event/"; a trailing '/' is a final empty literal
 * segment.  The raw PATH_INFO is split on '/' first and each segment is
 * percent-decoded afterwards, so "/keys/a%2Fb" is the key "a/b" and
 * "/keys/%2e" is the key ".".  A segment that decodes to NUL, a control
 * character or invalid UTF-8 is ROUTER_BAD_PATH (400).
 *
 * Trailing slashes: a path matches a route listed with or without the
 * trailing slash, except that an empty last segment never fills a parameter
 * and, where the same method has a single-item route there with another
 * handler, never falls back to the collection route ("DELETE /keys/" is
 * 404, not "DELETE /keys"; "POST /admin/api-keys/" is "POST
 * /admin/api-keys"; "/query/service/x/" is "/query/service/x", whose
 * handler also serves "/query/service/x/:date").  Earlier table entries win, so list literal routes
 * before parameter routes.  HEAD is served by a GET route unless the table
 * has an explicit HEAD route. */
#ifndef CAIRN_ROUTER_H
#define CAIRN_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct ctx;

enum route_flags {
	ROUTE_JSON = 0x1,         /* the body must be JSON (415 otherwise); parsed into ctx->json */
	ROUTE_SELF_AUTH = 0x2,    /* the handler authenticates (compat routes) */
	ROUTE_DEBUG = 0x4,        /* only served with debug.routes = true */
	ROUTE_OWN_413 = 0x8,      /* the handler answers a body over limits.max_body
				   * itself (ctx->body_too_large; compat bodies) */
	ROUTE_LOGS_ERRORS = 0x10, /* the pipeline's database answers are the
				   * compat log routes' {"code", "message"}:
				   * 503 "Storage unavailable" (the database down
				   * while authenticating, or still down when a
				   * lost connection was retried) and 413 "Request
				   * body too large" (a statement over the
				   * server's max_allowed_packet) */
	ROUTE_ALIAS = 0x20,       /* another name of the route just before it in the
				   * table (POST /insert of POST /intake): one route
				   * where it matters (an Idempotency-Key's scope) */
};

struct route {
	const char *method;
	const char *pattern;
	int (*handler)(struct ctx *ctx);
	uint32_t scope; /* AUTH_SCOPE_* bits, any one suffices; 0 = public */
	unsigned flags; /* enum route_flags */
};

#define ROUTER_MAX_SEGMENTS 16
#define ROUTER_MAX_PARAMS 4

enum router_result {
	ROUTER_FOUND,
	ROUTER_NOT_FOUND,
	ROUTER_BAD_METHOD, /* path known, method not: allow lists the methods */
	ROUTER_BAD_PATH,   /* a segment decodes to something forbidden */
};

struct route_param {
	const char *name; /* pattern name without ':' (points into the pattern) */
	size_t name_len;
	const char *value; /* decoded, NUL-terminated, arena memory */
	size_t len;
};

struct route_match {
	const struct route *route;
	size_t index; /* in the table, for metrics */
	size_t nparams;
	struct route_param params[ROUTER_MAX_PARAMS];
	char allow[80]; /* "GET, HEAD, DELETE" for 405 */
};

/* Matches method and raw path against table[0..n). Entries whose flags have
 * ROUTE_DEBUG are skipped unless with_debug. */
enum router_result router_match(const struct route *table, size_t n, const char *method,
				const char *path, int with_debug, struct arena *a,
				struct route_match *m);
/* The value of parameter name, or NULL. */
const struct route_param *router_param(const struct route_match *m, const char *name);

#endif
