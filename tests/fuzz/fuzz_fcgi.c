/* fuzz_fcgi: requests as real FastCGI records through libfcgi's accept
 * loop and cairn's FastCGI transport (http_fcgi_*), then the pipeline.
 *
 * libfcgi trusts its peer (only nginx may reach the socket), so the harness
 * aims at everything after the records are parsed: the input is decoded
 * into CGI params and a body, which are encoded as well-formed records
 * (BEGIN_REQUEST, PARAMS, STDIN) and written to a real unix socket; the
 * server side accepts with FCGX_Accept_r, runs server_handle() and
 * finishes the request, exactly as a worker does.  Input framing: up to
 * eight "NAME=value" lines (a param each; NAME is taken as given, so odd
 * names are fuzzed too), a blank line, then the body.  Checked: the
 * STDOUT stream starts with "Status: NNN", is never 500 (503 only when the
 * database is needed), and the request ends with an END_REQUEST record;
 * the next request on the same listener is served (no state leaks from a
 * bad one).  The database socket does not exist: every access is a fast
 * 503. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "http.h"
#include "routes.h"
#include "server.h"
#include "status.h"

#define MAX_PARAMS 8
#define MAX_BODY (32u << 10)

static struct route table[64];
static struct server server;
static struct http http;
static struct http_fcgi *fcgi;
static int listener = -1;
static char sock_path[108];

static void
remove_socket(void)
{
	unlink(sock_path);
}

static void
setup(void)
{
	struct diag d;
	struct sockaddr_un sa;

	fuzz_quiet_logs();
	config_reset();
#define SET(k, v) FUZZ_CHECK(config_set(k, v, &d) == 0, "config_set(%s): %s", k, d.msg)
	SET("db.socket", "/nonexistent/cairn-fuzz.sock");
	SET("db.connect_timeout", "1");
	SET("limits.max_body", "65536");
	SET("debug.routes", "true");
	SET("log.level", "error");
	SET("auth.anonymous_scopes", "admin");
#undef SET
	routes_init();
	size_t n = 0;

	for (size_t i = 0; i < routes_count; i++)
		if (routes_table[i].handler != status_debug_sleep)
			table[n++] = routes_table[i];
	FUZZ_CHECK(server_init(&server, table, n, &d) == 0, "server_init: %s", d.msg);
	FUZZ_CHECK(http_fcgi_init() == 0, "FCGX_Init");
	snprintf(sock_path, sizeof sock_path, "/tmp/cairn-fuzz-fcgi.%ld.sock", (long)getpid());
	unlink(sock_path);
	listener = socket(AF_UNIX, SOCK_STREAM, 0);
	FUZZ_CHECK(listener >= 0, "socket: %s", strerror(errno));
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	FUZZ_CHECK(bind(listener, (struct sockaddr *)&sa, sizeof sa) == 0, "bind: %s", strerror(errno));
	FUZZ_CHECK(listen(listener, 8) == 0, "listen: %s", strerror(errno));
	atexit(remove_socket);
	fcgi = http_fcgi_new(listener);
	FUZZ_CHECK(fcgi != NULL, "http_fcgi_new");
}

/* ------------------------------------------------------------- encoding */

struct out {
	unsigned char *p;
	size_t len, cap;
};

static void
put(struct out *o, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = realloc(o->p, o->cap);
		FUZZ_CHECK(o->p != NULL, "out of memory");
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* One record of type with content (at most 65535 bytes), padded to 8. */
static void
record(struct out *o, unsigned type, const void *content, size_t n)
{
	unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8),
			      (unsigned char)n, (unsigned char)((8 - n % 8) % 8), 0};
	static const unsigned char zeros[8];

	put(o, h, 8);
	put(o, content, n);
	put(o, zeros, h[6]);
}

static void
put_length(struct out *o, size_t n)
{
	if (n < 128) {
		unsigned char b = (unsigned char)n;

		put(o, &b, 1);
	} else {
		unsigned char b[4] = {(unsigned char)(0x80 | n >> 24), (unsigned char)(n >> 16),
				      (unsigned char)(n >> 8), (unsigned char)n};

		put(o, b, 4);
	}
}

/* Encodes the input as a FastCGI request; false when it does not frame. */
static bool
encode(const uint8_t *data, size_t size, struct out *req)
{
	struct out params = {0};
	const uint8_t *p = data, *end = data + size;
	int nparams = 0;
	static const unsigned char begin[8] = {0, 1 /* responder */, 0 /* close */, 0, 0, 0, 0, 0};

	record(req, 1 /* BEGIN_REQUEST */, begin, sizeof begin);
	while (p < end && nparams < MAX_PARAMS) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *le = nl ? nl : end;

		if (le == p) { /* the blank line: the body follows */
			p = nl ? nl + 1 : end;
			break;
		}
		const uint8_t *eq = memchr(p, '=', (size_t)(le - p));

		if (eq != NULL && eq > p) {
			put_length(&params, (size_t)(eq - p));
			put_length(&params, (size_t)(le - eq - 1));
			put(&params, p, (size_t)(eq - p));
			put(&params, eq + 1, (size_t)(le - eq - 1));
			nparams++;
		}
		p = nl ? nl + 1 : end;
	}
	for (size_t off = 0; off < params.len; off += 65535) {
		size_t n = params.len - off > 65535 ? 65535 : params.len - off;

		record(req, 4 /* PARAMS */, params.p + off, n);
	}
	record(req, 4, NULL, 0);
	free(params.p);
	size_t body = (size_t)(end - p);

	if (body > MAX_BODY)
		body = MAX_BODY;
	for (size_t off = 0; off < body; off += 65535) {
		size_t n = body - off > 65535 ? 65535 : body - off;

		record(req, 5 /* STDIN */, p + off, n);
	}
	record(req, 5, NULL, 0);
	return true;
}

/* ------------------------------------------------------------ one request */

/* Sends req, serves it, returns the STDOUT bytes (malloc) and whether an
 * END_REQUEST record came. */
static char *
serve(const struct out *req, size_t *out_len, bool *ended)
{
	struct sockaddr_un sa;
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	int big = 4 << 20;
	struct out stdout_bytes = {0};
	unsigned char buf[65536 + 16];
	size_t have = 0;

	FUZZ_CHECK(c >= 0, "socket: %s", strerror(errno));
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(c, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	FUZZ_CHECK(connect(c, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s", strerror(errno));
	FUZZ_CHECK(write(c, req->p, req->len) == (ssize_t)req->len, "short write");
	shutdown(c, SHUT_WR);

	FUZZ_CHECK(http_fcgi_accept(fcgi, &http) == 0, "FCGX_Accept_r failed on a well-formed request");
	server_handle(&server, &http);
	http_fcgi_finish(fcgi);

	*ended = false;
	for (;;) {
		ssize_t n = read(c, buf + have, sizeof buf - have);

		if (n <= 0)
			break;
		have += (size_t)n;
		while (have >= 8) {
			size_t clen = (size_t)buf[4] << 8 | buf[5], rlen = 8 + clen + buf[6];

			if (have < rlen)
				break;
			if (buf[1] == 6 /* STDOUT */)
				put(&stdout_bytes, buf + 8, clen);
			else if (buf[1] == 3 /* END_REQUEST */)
				*ended = true;
			memmove(buf, buf + rlen, have - rlen);
			have -= rlen;
		}
	}
	close(c);
	*out_len = stdout_bytes.len;
	return (char *)stdout_bytes.p;
}

static void
check(const char *out, size_t n, bool ended, const uint8_t *data, size_t size)
{
	if (!ended || n < 12 || memcmp(out, "Status: ", 8) != 0) {
		fuzz_dump("input", data, size);
		fuzz_dump("stdout", out ? out : "", n);
		FUZZ_CHECK(0, "no status line or no END_REQUEST (ended %d)", ended);
	}
	int status = atoi(out + 8);

	if (status >= 500 && status != 503) {
		fuzz_dump("input", data, size);
		fuzz_dump("stdout", out, n);
		FUZZ_CHECK(0, "answered %d", status);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out req = {0}, probe = {0};
	size_t n;
	bool ended;
	char *out;

	if (listener < 0)
		setup();
	if (!encode(data, size, &req))
		return 0;
	out = serve(&req, &n, &ended);
	check(out, n, ended, data, size);
	free(out);
	free(req.p);

	/* the same worker still serves a plain request afterwards */
	static const char healthz[] = "REQUEST_METHOD=GET\nPATH_INFO=/healthz\n\n";

	encode((const uint8_t *)healthz, sizeof healthz - 1, &probe);
	out = serve(&probe, &n, &ended);
	FUZZ_CHECK(ended && n > 12 && memcmp(out, "Status: 200", 11) == 0,
		   "the next request after this input was not served");
	free(out);
	free(probe.p);
	return 0;
}
