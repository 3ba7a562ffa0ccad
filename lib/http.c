#include "autoconfig.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http.h"
#include "mem.h"

#define HTTP_HEADER_MAX (64u << 10)

void
http_begin(struct http *h, const struct http_transport *ops, void *transport)
{
	const char *v;

	if (h->headers.max == 0) {
		buf_init(&h->headers, HTTP_HEADER_MAX);
		buf_init(&h->out, HTTP_MAX_RESPONSE);
	}
	buf_reset(&h->headers);
	buf_reset(&h->out);
	h->ops = ops;
	h->transport = transport;
	h->status = 200;
	h->streaming = false;
	h->aborted = false;
	h->body = NULL;
	h->body_len = 0;
	h->method = http_param(h, "REQUEST_METHOD");
	if (h->method == NULL)
		h->method = "GET";
	h->path = http_param(h, "PATH_INFO");
	if (h->path == NULL || h->path[0] == '\0')
		h->path = "/";
	h->query = http_param(h, "QUERY_STRING");
	if (h->query == NULL)
		h->query = "";
	h->request_id = http_param(h, "REQUEST_ID");
	if (h->request_id == NULL || h->request_id[0] == '\0')
		h->request_id = "-";
	h->remote_addr = http_param(h, "REMOTE_ADDR");
	if (h->remote_addr == NULL)
		h->remote_addr = "";
	h->content_type = http_param(h, "CONTENT_TYPE");
	if (h->content_type != NULL && h->content_type[0] == '\0')
		h->content_type = NULL;
	h->content_length = -1;
	v = http_param(h, "CONTENT_LENGTH");
	if (v != NULL && v[0] != '\0') {
		char *end;

		errno = 0;
		long long n = strtoll(v, &end, 10);

		if (errno == 0 && *end == '\0' && n >= 0 && v[0] >= '0' && v[0] <= '9')
			h->content_length = n;
	}
	h->head = strcmp(h->method, "HEAD") == 0;
}

void
http_free(struct http *h)
{
	buf_free(&h->headers);
	buf_free(&h->out);
}

const char *
http_param(struct http *h, const char *name)
{
	return h->ops->param(h->transport, name, 0);
}

const char *
http_header(struct http *h, const char *cgi_name)
{
	return http_param(h, cgi_name);
}

bool
http_header_conflicts(struct http *h, const char *cgi_name)
{
	const char *first = h->ops->param(h->transport, cgi_name, 0);

	for (unsigned n = 1; first != NULL; n++) {
		const char *v = h->ops->param(h->transport, cgi_name, n);

		if (v == NULL)
			break;
		if (strcmp(v, first) != 0)
			return true;
	}
	return false;
}

int
http_read_body(struct http *h, struct arena *a, size_t max, struct diag *d)
{
	size_t cap, len = 0;

	if (h->content_length > (long long)max) {
		diag_set(d, DIAG_TOO_LARGE, "request body larger than %zu bytes", max);
		return -1;
	}
	/* never trust the claimed length alone: read at most max + 1 bytes */
	cap = h->content_length >= 0 ? (size_t)h->content_length : 0;
	if (cap == 0 && h->content_length < 0)
		cap = 8192;
	char *p = arena_alloc(a, cap + 1);

	for (;;) {
		if (len == cap) {
			if (h->content_length >= 0)
				break; /* got all it claimed; extra bytes are ignored */
			if (cap > max)
				break;
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *np = arena_alloc(a, ncap + 1);

			memcpy(np, p, len);
			p = np;
			cap = ncap;
		}
		long n = h->ops->read(h->transport, p + len, cap - len);

		if (n < 0) {
			diag_set(d, DIAG_INVALID, "error reading the request body");
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		diag_set(d, DIAG_TOO_LARGE, "request body larger than %zu bytes", max);
		return -1;
	}
	if (h->content_length >= 0 && len < (size_t)h->content_length) {
		diag_set(d, DIAG_INVALID, "request body shorter than its Content-Length");
		return -1;
	}
	p[len] = '\0';
	h->body = p;
	h->body_len = len;
	return 0;
}

void
http_set_status(struct http *h, int status)
{
	h->status = status;
}

int
http_add_header(struct http *h, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return -1;
	if (buf_printf(&h->headers, "%s: %s\r\n", name, value) < 0)
		return -1;
	return 0;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int
send_head(struct http *h, long long content_length)
{
	char line[96];
	int n = snprintf(line, sizeof line, "Status: %d %s\r\n", h->status, http_reason(h->status));

	if (h->ops->write(h->transport, line, (size_t)n) < 0)
		return -1;
	if (h->headers.len > 0 && h->ops->write(h->transport, h->headers.data, h->headers.len) < 0)
		return -1;
	if (content_length >= 0) {
		n = snprintf(line, sizeof line, "Content-Length: %lld\r\n", content_length);
		if (h->ops->write(h->transport, line, (size_t)n) < 0)
			return -1;
	}
	return h->ops->write(h->transport, "\r\n", 2);
}

int
http_write(struct http *h, const char *p, size_t n)
{
	if (h->aborted)
		return -1;
	if (h->streaming) {
		if (h->head || n == 0)
			return 0;
		return h->ops->write(h->transport, p, n);
	}
	return buf_append(&h->out, p, n);
}

int
http_stream_begin(struct http *h)
{
	if (h->streaming)
		return 0;
	h->streaming = true;
	if (send_head(h, -1) < 0)
		return -1;
	if (h->out.len > 0 && !h->head && h->ops->write(h->transport, h->out.data, h->out.len) < 0)
		return -1;
	buf_reset(&h->out);
	return 0;
}

int
http_finish(struct http *h)
{
	if (h->streaming)
		return 0;
	if (send_head(h, (long long)h->out.len) < 0)
		return -1;
	if (!h->head && h->out.len > 0)
		return h->ops->write(h->transport, h->out.data, h->out.len);
	return 0;
}

int
http_discard(struct http *h)
{
	if (h->streaming)
		return -1;
	h->status = 200;
	buf_reset(&h->headers);
	buf_reset(&h->out);
	return 0;
}

void
http_abort(struct http *h)
{
	if (h->aborted)
		return;
	h->aborted = true;
	h->ops->abort(h->transport);
}

/* ---------------------------------------------------------------- FastCGI */

struct http_fcgi {
	FCGX_Request req;
	bool open;
	bool aborted;     /* end without FCGI_END_REQUEST */
	bool unix_socket; /* the listening socket is AF_UNIX */
};

static const char *
fcgi_param(void *t, const char *name, unsigned nth)
{
	struct http_fcgi *f = t;
	size_t len = strlen(name);

	/* envp holds "NAME=value" strings, in the order nginx sent them */
	for (char **e = f->req.envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=' && nth-- == 0)
			return *e + len + 1;
	return NULL;
}

static long
fcgi_read(void *t, char *p, size_t n)
{
	struct http_fcgi *f = t;
	int want = n > (1u << 30) ? (1 << 30) : (int)n;
	int got = FCGX_GetStr(p, want, f->req.in);

	if (got < 0 || (got == 0 && FCGX_GetError(f->req.in) != 0))
		return -1;
	return got;
}

static int
fcgi_write(void *t, const char *p, size_t n)
{
	struct http_fcgi *f = t;

	while (n > 0) {
		int chunk = n > (1u << 30) ? (1 << 30) : (int)n;

		if (FCGX_PutStr(p, chunk, f->req.out) != chunk)
			return -1;
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static void
fcgi_abort(void *t)
{
	struct http_fcgi *f = t;

	f->aborted = true;
}

static const struct http_transport fcgi_transport = {fcgi_param, fcgi_read, fcgi_write, fcgi_abort};

int
http_fcgi_init(void)
{
	return FCGX_Init() == 0 ? 0 : -1;
}

bool
http_fcgi_is_cgi(void)
{
	return FCGX_IsCGI() != 0;
}

struct http_fcgi *
http_fcgi_new(int listen_fd)
{
	struct http_fcgi *f = mem_calloc(1, sizeof *f);
	struct sockaddr_storage addr;
	socklen_t len = sizeof addr;

	if (FCGX_InitRequest(&f->req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		mem_free(f);
		return NULL;
	}
	f->unix_socket = getsockname(listen_fd, (struct sockaddr *)&addr, &len) == 0 &&
			 addr.ss_family == AF_UNIX;
	return f;
}

int
http_fcgi_accept(struct http_fcgi *f, struct http *h)
{
	if (FCGX_Accept_r(&f->req) < 0)
		return -1;
	f->open = true;
	http_begin(h, &fcgi_transport, f);
	return 0;
}

/* Reads what is left of the request's input, at most 64 KiB (a GET's
 * input is only its end marker, usually read already): true when the
 * input ended, so the web server sends nothing more. */
static bool
input_ended(struct http_fcgi *f)
{
	char scrap[4096];
	size_t total = 0;

	while (!FCGX_HasSeenEOF(f->req.in) && total < 65536) {
		int n = FCGX_GetStr(scrap, sizeof scrap, f->req.in);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
	return FCGX_HasSeenEOF(f->req.in) != 0;
}

/* Ends an aborted response.  FCGX_Finish_r would end it as complete
 * (FCGI_END_REQUEST), and nginx with fastcgi_keep_conn off takes the
 * connection's end for the response's end whether that record came or
 * not; a record it cannot take is what makes it fail the response: it
 * logs "upstream sent invalid FastCGI record type: 2" and closes the
 * client's connection without the last chunk.  So that record is sent
 * (FCGI_ABORT_REQUEST, which only a web server may send) and the
 * connection closed without FCGI_END_REQUEST; what libfcgi still buffers
 * is dropped. */
static void
fcgi_abort_finish(struct http_fcgi *f)
{
	FCGI_Header rec;

	memset(&rec, 0, sizeof rec);
	rec.version = FCGI_VERSION_1;
	rec.type = FCGI_ABORT_REQUEST;
	rec.requestIdB1 = (unsigned char)((f->req.requestId >> 8) & 0xff);
	rec.requestIdB0 = (unsigned char)(f->req.requestId & 0xff);
	/* a failure here means the web server is gone already */
	(void)send(f->req.ipcFd, &rec, sizeof rec, MSG_NOSIGNAL);
	FCGX_Free(&f->req, 1); /* closes without FCGI_END_REQUEST */
}

/* libfcgi closes a connection with shutdown(), then waits up to 2 s for
 * the web server to close its end, reading what it still sends, so that
 * unread input cannot reset the connection and destroy the response.  On
 * a unix socket whose request input has ended nothing can still arrive,
 * and the wait would only idle the worker until nginx gets round to
 * closing: a sleep and a wake-up per request.  Such a request is detached
 * first, which libfcgi closes at once; any other keeps the careful close
 * (a body refused unread, a TCP listener). */
void
http_fcgi_finish(struct http_fcgi *f)
{
	if (f->open && f->aborted) {
		fcgi_abort_finish(f);
	} else if (f->open) {
		if (f->unix_socket && input_ended(f))
			FCGX_Detach(&f->req);
		FCGX_Finish_r(&f->req);
	}
	f->open = false;
	f->aborted = false;
}

void
http_fcgi_free(struct http_fcgi *f)
{
	if (f == NULL)
		return;
	http_fcgi_finish(f);
	FCGX_Free(&f->req, 1);
	mem_free(f);
}

/* ----------------------------------------------------------------- memory */

static const char *
memory_param(void *t, const char *name, unsigned nth)
{
	struct http_memory *m = t;

	for (const char *const *p = m->params; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0 && nth-- == 0)
			return p[1];
	return NULL;
}

static long
memory_read(void *t, char *p, size_t n)
{
	struct http_memory *m = t;
	size_t left = m->body_len - m->body_pos;

	if (n > left)
		n = left;
	if (n > 0)
		memcpy(p, m->body + m->body_pos, n);
	m->body_pos += n;
	return (long)n;
}

static int
memory_write(void *t, const char *p, size_t n)
{
	struct http_memory *m = t;

	if (m->output.max == 0)
		buf_init(&m->output, HTTP_MAX_RESPONSE);
	return buf_append(&m->output, p, n);
}

static void
memory_abort(void *t)
{
	struct http_memory *m = t;

	m->aborted = true;
}

const struct http_transport http_memory_transport = {memory_param, memory_read, memory_write,
						     memory_abort};
