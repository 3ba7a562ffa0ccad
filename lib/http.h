/* http: one request/response exchange over FastCGI (or in memory).
 *
 * This is the only module that touches libfcgi.  A struct http carries the
 * request as nginx passed it (CGI params, body) and the response being
 * built.  Responses are buffered and sent with a Content-Length by
 * http_finish(), unless the handler calls http_stream_begin(): then the
 * status and headers go out at once and every later write goes straight to
 * the connection (FastCGI frames it; nginx chunks it), so lists stream in
 * constant memory.
 *
 * The memory transport (http_memory_*) runs the same code without a socket,
 * for unit tests and fuzzing. */
#ifndef CAIRN_HTTP_H
#define CAIRN_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "diag.h"

#define HTTP_MAX_RESPONSE (64u << 20) /* buffered responses */

struct http_transport {
	/* The nth (0: first) param of that name, NULL past the last: nginx
	 * passes a request header repeated on several lines as several params. */
	const char *(*param)(void *t, const char *name, unsigned nth);
	/* Reads up to n bytes; 0 at end of body, -1 on error. */
	long (*read)(void *t, char *p, size_t n);
	int (*write)(void *t, const char *p, size_t n);
	/* Ends the response as failed, so that the client can tell it is
	 * incomplete; nothing is written after. */
	void (*abort)(void *t);
};

struct http {
	/* the request (strings owned by the transport, valid until finish) */
	const char *method;
	const char *path;       /* PATH_INFO: the raw request path */
	const char *query;      /* QUERY_STRING, "" when absent */
	const char *request_id; /* REQUEST_ID from nginx, "-" when absent */
	const char *remote_addr;
	const char *content_type; /* NULL when absent */
	long long content_length; /* -1 when absent or unparsable */
	char *body;               /* arena memory after http_read_body */
	size_t body_len;

	/* the response */
	int status;
	struct buf headers; /* "Name: value\r\n" lines */
	struct buf out;     /* the buffered body */
	bool streaming;
	bool aborted; /* http_abort was called */
	bool head;    /* HEAD: the body is not sent */

	const struct http_transport *ops;
	void *transport;
};

/* Prepares h for a new request on the given transport.  The buffers keep
 * their memory across requests; call http_free() once at the end. */
void http_begin(struct http *h, const struct http_transport *ops, void *transport);
void http_free(struct http *h);

const char *http_param(struct http *h, const char *name);
/* A request header by its CGI name, e.g. "HTTP_AUTHORIZATION" (the first
 * line of a repeated one). */
const char *http_header(struct http *h, const char *cgi_name);
/* True when the header is repeated with different values: a request
 * that names two keys must not be read as the first one. */
bool http_header_conflicts(struct http *h, const char *cgi_name);

/* Reads the whole body into arena memory.  DIAG_TOO_LARGE when the body
 * (or the Content-Length it claims) exceeds max; DIAG_INVALID when it is
 * shorter than its Content-Length. */
int http_read_body(struct http *h, struct arena *a, size_t max, struct diag *d);

void http_set_status(struct http *h, int status);
/* name and value must not contain CR or LF (checked: -1). */
int http_add_header(struct http *h, const char *name, const char *value);
int http_write(struct http *h, const char *p, size_t n);
int http_stream_begin(struct http *h);
/* Sends what is buffered. */
int http_finish(struct http *h);
/* Drops the buffered response (status, headers, body) to start over;
 * impossible once streaming (returns -1). */
int http_discard(struct http *h);
/* For a response that failed after its status went out (streaming): the
 * body must not look complete.  Over FastCGI the connection is closed
 * without the end-of-request record, what was not yet flushed is dropped,
 * and nginx closes the client's connection without the last chunk (HTTP
 * 1.1) or before the end of the body.  Later writes fail (-1). */
void http_abort(struct http *h);

const char *http_reason(int status);

/* ------------------------------------------------------------ FastCGI */

struct http_fcgi;

/* FCGX_Init and a request bound to the listening socket listen_fd (0 under
 * spawn-fcgi).  accept returns 0 with h ready, or -1 when interrupted by a
 * signal or when the socket failed. */
int http_fcgi_init(void);
struct http_fcgi *http_fcgi_new(int listen_fd);
int http_fcgi_accept(struct http_fcgi *f, struct http *h);
void http_fcgi_finish(struct http_fcgi *f);
void http_fcgi_free(struct http_fcgi *f);
/* True when this process was not started as a FastCGI responder. */
bool http_fcgi_is_cgi(void);

/* ------------------------------------------------------------ memory */

struct http_memory {
	const char *const *params; /* "NAME", "value", ..., NULL */
	const char *body;
	size_t body_len;
	size_t body_pos;
	struct buf output; /* everything written, headers included */
	bool aborted;      /* the response was aborted */
};

extern const struct http_transport http_memory_transport;

#endif
