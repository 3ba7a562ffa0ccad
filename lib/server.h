/* server: one request from accept to response, and what handlers see.
 *
 * server_handle() runs the pipeline for a request already accepted: read
 * the body (bounded), route on method + raw PATH_INFO, parse the query,
 * authenticate and check the route's scope, check and parse a JSON body,
 * call the handler, turn a handler failure into 503/500, write the
 * response, count it, and reset the arena.  Handlers get a struct ctx and
 * answer through the reply_* functions; they return 0 once they have
 * answered, or -1 with ctx->diag set when they could not (a database
 * error: the pipeline answers 503 with Retry-After when the database is
 * unreachable, 500 otherwise, and runs the request once more when the
 * connection was lost before anything was committed). */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "auth.h"
#include "db.h"
#include "diag.h"
#include "http.h"
#include "jsonw.h"
#include "query.h"
#include "router.h"

struct server {
	const struct route *routes;
	size_t nroutes;
	struct db *db;
	struct arena *arena;
	uint32_t anonymous_scopes;
	size_t max_body;
	bool debug_routes;
	unsigned long db_reconnects_seen, db_retries_seen;
};

struct ctx {
	struct server *server;
	struct arena *arena;
	struct http *http;
	struct db *db;
	struct route_match match;
	struct query query;
	struct auth auth;
	json_object *json;   /* the parsed body on ROUTE_JSON routes */
	bool body_too_large; /* ROUTE_OWN_413: the body was over the limit (not read) */
	struct jsonw w;      /* writes into the response */
	struct diag diag;    /* why a handler returned -1 */
};

/* Declares the server's metrics; call before metrics_init. */
void server_declare_metrics(void);
/* Sets the server up from config; the route table must outlive it. */
int server_init(struct server *s, const struct route *routes, size_t nroutes, struct diag *d);
void server_fini(struct server *s);
/* Runs one accepted request to the end (response written, arena reset). */
void server_handle(struct server *s, struct http *h);
/* Accepts and serves requests on listen_fd until *stop is set. */
int server_serve(struct server *s, int listen_fd, volatile sig_atomic_t *stop);

/* ------------------------------------------------------------- requests */

/* A path parameter (decoded, NUL-terminated), NULL if the route has none. */
const char *ctx_param(struct ctx *c, const char *name, size_t *len);
/* A query parameter taken once: 1 found, 0 absent; a repeated parameter
 * answers 400 and returns -1 (the handler then returns 0). */
int ctx_query(struct ctx *c, const char *name, const char **value, size_t *len);
/* A request header by CGI name ("HTTP_IF_MATCH"), NULL if absent. */
const char *ctx_header(struct ctx *c, const char *cgi_name);
/* The key the request carries, from Authorization: Bearer or X-API-Key
 * (auth_extract): 0 with *key NULL when there is none; -1 when malformed
 * or when it names two different keys, in both headers or in one header
 * repeated (API.md §0). */
int ctx_request_key(struct ctx *c, const char **key, size_t *len);
/* Keyset paging: ?limit= (1..max, default def) and ?cursor=, a token this
 * server gave (see reply_next_cursor).  *after is the sort key of the last
 * row already shown, NULL without a cursor.  0, or -1 after answering 400
 * (bad_limit, bad_cursor, duplicate_parameter). */
int ctx_page(struct ctx *c, int def, int max, int *limit, char **after);

/* ------------------------------------------------------------ responses */

/* The JSON error envelope {"error":{"code","message"}}. Returns 0.  Once
 * streaming there is no room for it: the response is aborted (http_abort)
 * so the client sees the body cut. */
int reply_error(struct ctx *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Starts a JSON response: status, Content-Type; then write with c->w. */
void reply_json_begin(struct ctx *c, int status);
/* Switches a JSON response to streaming (after reply_json_begin). */
int reply_stream(struct ctx *c);
/* A whole body with the given content type. */
int reply_body(struct ctx *c, int status, const char *content_type, const char *body, size_t len);
int reply_text(struct ctx *c, int status, const char *text);
/* The compat log routes' body {"code": status, "message": msg} (API.md §1),
 * replacing anything written so far (once streaming: aborted, as
 * reply_error). Returns 0. */
int reply_code_message(struct ctx *c, int status, const char *msg);
int reply_header(struct ctx *c, const char *name, const char *value);
/* Writes a next_cursor value: the token that continues after the row whose
 * sort key is last when more is true, else null. */
void reply_next_cursor(struct ctx *c, bool more, const char *last);

/* Is the request's Content-Type application/json (with no charset or
 * charset=utf-8)? */
bool ctx_is_json(struct ctx *c);

#endif
