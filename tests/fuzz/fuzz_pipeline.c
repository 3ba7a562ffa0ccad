/* fuzz_pipeline: one whole request through server_handle(), in memory.
 *
 * Input framing: nine fields, each ended by '\n', then the body (the rest,
 * any bytes).  A missing or empty field leaves that CGI param unset.
 *   0 REQUEST_METHOD        5 HTTP_AUTHORIZATION
 *   1 PATH_INFO             6 HTTP_X_API_KEY
 *   2 QUERY_STRING          7 HTTP_IDEMPOTENCY_KEY
 *   3 CONTENT_TYPE          8 the scopes anonymous requests get
 *   4 CONTENT_LENGTH           (auth.anonymous_scopes; "admin" reaches
 *     ("*" = the body's length)  the handlers' own checks)
 * e.g. "POST\n/admin/api-keys\n\napplication/json\n*\n\n\n\nadmin\n{\"name\":\"x\"}".
 *
 * The server uses the real route table with debug routes on (less
 * /_debug/sleep, which only waits and would stall the fuzzer), a 64 KiB body
 * limit and a database socket that does not exist, so every database
 * access fails at once and must become 503.  Metrics are not initialised
 * (their counters would make runs depend on earlier ones).  Checked on the
 * raw response:
 *   - it starts "Status: NNN Reason\r\n" with NNN the handler's status,
 *     then "Name: value" header lines and a blank line;
 *   - never 500, and 5xx only as 503 with Retry-After;
 *   - Content-Length, when sent, is the length of the body that follows
 *     (an empty body for HEAD);
 *   - every 4xx carries the JSON error envelope
 *     {"error":{"code":"snake_case","message":"..."}} that json_validate
 *     accepts (unless HEAD), with Content-Type application/json, or a
 *     compat route's documented shape: JSend fail (geo), {"code","message"}
 *     (logs) or plain text (usage tags);
 *   - 405 carries Allow. */
#include "autoconfig.h"

#include <ctype.h>

#include "config.h"
#include "fuzz_common.h"
#include "http.h"
#include "json.h"
#include "routes.h"
#include "server.h"
#include "status.h"

enum { F_METHOD, F_PATH, F_QUERY, F_CTYPE, F_CLEN, F_AUTH, F_XKEY, F_IDEM, F_SCOPES, NFIELDS };

static const char *const param_names[] = {
	"REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
	"HTTP_AUTHORIZATION", "HTTP_X_API_KEY", "HTTP_IDEMPOTENCY_KEY",
};

static struct route table[64];
static struct server server;
static struct http http;
static struct arena *scratch;
static bool echo; /* FUZZ_PIPELINE_ECHO=1: print each response to stderr */

static void
setup(void)
{
	struct diag d;

	fuzz_quiet_logs();
	config_reset();
#define SET(k, v) FUZZ_CHECK(config_set(k, v, &d) == 0, "config_set(%s): %s", k, d.msg)
	SET("db.socket", "/nonexistent/cairn-fuzz.sock");
	SET("db.connect_timeout", "1");
	SET("limits.max_body", "65536");
	SET("debug.routes", "true");
	SET("log.level", "error");
#undef SET
	routes_init();
	size_t n = 0;

	for (size_t i = 0; i < routes_count; i++) {
		if (routes_table[i].handler == status_debug_sleep)
			continue;
		FUZZ_CHECK(n < sizeof table / sizeof table[0], "more than %zu routes",
			   sizeof table / sizeof table[0]);
		table[n++] = routes_table[i];
	}
	FUZZ_CHECK(server_init(&server, table, n, &d) == 0, "server_init: %s", d.msg);
	scratch = arena_new(4096);
	echo = getenv("FUZZ_PIPELINE_ECHO") != NULL;
}

static const char *
find_header(const char *head, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = head; p < head + len;) {
		const char *e = memmem(p, (size_t)(head + len - p), "\r\n", 2);

		if (e == NULL)
			break;
		if ((size_t)(e - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
			return p + nl + 1 + (p[nl + 1] == ' ');
		p = e + 2;
	}
	return NULL;
}

static void
check_envelope(const char *body, size_t len, int status)
{
	struct diag d;
	json_object *obj, *err, *code, *msg;

	if (json_parse(scratch, body, len, &obj, &d) != 0) {
		fuzz_dump("body", body, len);
		FUZZ_CHECK(0, "%d body is not valid JSON: %s", status, d.msg);
	}
	FUZZ_CHECK(json_object_is_type(obj, json_type_object) && json_object_object_length(obj) == 1,
		   "%d body is not a one-member object", status);
	err = json_member(obj, "error");
	FUZZ_CHECK(err != NULL && json_object_is_type(err, json_type_object),
		   "%d body without an \"error\" object", status);
	code = json_member(err, "code");
	msg = json_member(err, "message");
	FUZZ_CHECK(code != NULL && json_object_is_type(code, json_type_string) && msg != NULL &&
			   json_object_is_type(msg, json_type_string),
		   "%d error without string code and message", status);
	const char *c = json_object_get_string(code);

	FUZZ_CHECK(c[0] != '\0' && strspn(c, "abcdefghijklmnopqrstuvwxyz_") == strlen(c),
		   "error code '%s' is not snake_case", c);
	FUZZ_CHECK(json_object_get_string_len(msg) > 0, "empty error message");
}

/* A 4xx JSON body: the error envelope, or a compat route's documented
 * shape: JSend {"status":"fail","data":{...}} (geo, API.md §4) or
 * {"code": <the status>, "message": "..."} (logs, API.md §1). */
static void
check_error_body(const char *body, size_t len, int status)
{
	struct diag d;
	json_object *obj, *v;

	FUZZ_CHECK(json_parse(scratch, body, len, &obj, &d) == 0, "%d body: %s", status, d.msg);
	FUZZ_CHECK(json_object_is_type(obj, json_type_object), "%d body is not an object", status);
	if (json_member(obj, "error") != NULL) {
		check_envelope(body, len, status);
		return;
	}
	v = json_member(obj, "status");
	if (v != NULL) {
		FUZZ_CHECK(json_object_is_type(v, json_type_string) &&
				   strcmp(json_object_get_string(v), "fail") == 0,
			   "%d JSend body without status \"fail\"", status);
		v = json_member(obj, "data");
		FUZZ_CHECK(v != NULL && json_object_is_type(v, json_type_object) &&
				   json_object_object_length(v) > 0,
			   "%d JSend body without a data object", status);
		return;
	}
	v = json_member(obj, "code");
	FUZZ_CHECK(v != NULL && json_object_is_type(v, json_type_int) &&
			   json_object_get_int(v) == status,
		   "%d body is neither the envelope nor a compat shape", status);
	v = json_member(obj, "message");
	FUZZ_CHECK(v != NULL && json_object_is_type(v, json_type_string) &&
			   json_object_get_string_len(v) > 0,
		   "%d compat body without a message", status);
}

static void
check_response(const char *out, size_t n, bool head, const uint8_t *data, size_t size)
{
	if (n < 14 || memcmp(out, "Status: ", 8) != 0 || !isdigit((unsigned char)out[8]) ||
	    !isdigit((unsigned char)out[9]) || !isdigit((unsigned char)out[10]) || out[11] != ' ') {
		fuzz_dump("input", data, size);
		fuzz_dump("output", out, n);
		FUZZ_CHECK(0, "response does not start with a status line");
	}
	int status = (out[8] - '0') * 100 + (out[9] - '0') * 10 + (out[10] - '0');

	FUZZ_CHECK(status == http.status, "status line %d, http.status %d", status, http.status);
	const char *end = memmem(out, n, "\r\n\r\n", 4);

	FUZZ_CHECK(end != NULL, "no blank line after the headers");
	const char *head_block = (const char *)memmem(out, n, "\r\n", 2) + 2;
	size_t head_len = (size_t)(end + 2 - head_block);
	const char *body = end + 4;
	size_t body_len = n - (size_t)(body - out);

	/* every header line is "Name: value" with no stray CR or LF */
	for (const char *p = head_block; p < end + 2;) {
		const char *e = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		const char *colon = memchr(p, ':', (size_t)(e - p));

		if (colon == NULL || colon == p || memchr(p, '\n', (size_t)(e - p)) != NULL ||
		    memchr(p, '\r', (size_t)(e - p)) != NULL) {
			fuzz_dump("input", data, size);
			fuzz_dump("output", out, n);
			FUZZ_CHECK(0, "malformed header line");
		}
		p = e + 2;
	}
	if (status >= 500) {
		if (status != 503) {
			fuzz_dump("input", data, size);
			fuzz_dump("output", out, n);
			FUZZ_CHECK(0, "answered %d", status);
		}
		FUZZ_CHECK(find_header(head_block, head_len, "Retry-After") != NULL,
			   "503 without Retry-After");
	}
	FUZZ_CHECK(status >= 200 && status < 600, "status %d", status);

	const char *cl = find_header(head_block, head_len, "Content-Length");

	if (cl != NULL) {
		long long want = strtoll(cl, NULL, 10);

		FUZZ_CHECK(head ? body_len == 0 : (long long)body_len == want,
			   "Content-Length %lld, body %zu bytes%s", want, body_len,
			   head ? " (HEAD)" : "");
	}
	if (status == 405)
		FUZZ_CHECK(find_header(head_block, head_len, "Allow") != NULL, "405 without Allow");
	if (status >= 400 && status < 500) {
		const char *ct = find_header(head_block, head_len, "Content-Type");

		FUZZ_CHECK(ct != NULL, "%d without a Content-Type", status);
		/* the usage-tag compat routes answer plain text (API.md §2) */
		if (strncmp(ct, "text/plain; charset=utf-8", 25) == 0) {
			FUZZ_CHECK(head || body_len > 0, "%d with an empty text body", status);
			return;
		}
		FUZZ_CHECK(strncmp(ct, "application/json", 16) == 0,
			   "%d without a JSON Content-Type", status);
		if (!head) {
			struct diag d;

			if (json_validate(body, body_len, &d) != 0) {
				fuzz_dump("input", data, size);
				fuzz_dump("body", body, body_len);
				FUZZ_CHECK(0, "%d body rejected by json_validate: %s", status, d.msg);
			}
			check_error_body(body, body_len, status);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *fields[NFIELDS] = {NULL};
	const char *params[2 * NFIELDS + 2];
	const char *p = (const char *)data, *end = p + size;
	struct http_memory mem;
	size_t np = 0;
	char clen[24];

	if (server.arena == NULL)
		setup();

	for (size_t i = 0; i < NFIELDS && p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			nl = end;
		fields[i] = strndup(p, (size_t)(nl - p)); /* cut at a NUL, as CGI is */
		p = nl < end ? nl + 1 : end;
	}
	const char *body = p;
	size_t body_len = (size_t)(end - p);

	for (size_t i = 0; i < F_SCOPES; i++) {
		if (fields[i] == NULL || fields[i][0] == '\0')
			continue;
		params[np++] = param_names[i];
		if (i == F_CLEN && strcmp(fields[i], "*") == 0) {
			snprintf(clen, sizeof clen, "%zu", body_len);
			params[np++] = clen;
		} else {
			params[np++] = fields[i];
		}
	}
	params[np++] = NULL;

	uint32_t scopes = 0;
	struct diag d;

	if (fields[F_SCOPES] != NULL && auth_scopes_parse(fields[F_SCOPES], &scopes, &d) < 0)
		scopes = 0;
	server.anonymous_scopes = scopes;

	memset(&mem, 0, sizeof mem);
	mem.params = params;
	mem.body = body;
	mem.body_len = body_len;
	http_begin(&http, &http_memory_transport, &mem);
	server_handle(&server, &http);

	if (echo)
		fprintf(stderr, "----\n%.*s\n", (int)mem.output.len,
			mem.output.data ? mem.output.data : "");
	check_response(mem.output.data ? mem.output.data : "", mem.output.len, http.head, data,
		       size);

	buf_free(&mem.output);
	arena_reset(scratch);
	for (size_t i = 0; i < NFIELDS; i++)
		free(fields[i]);
	return 0;
}
