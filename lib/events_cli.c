#include "autoconfig.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "events_cli.h"
#include "events_epoch.h"
#include "jsonw.h"
#include "text.h"

#define CLI_MAX_RESPONSE (256u << 20)
#define CLI_MAX_ARGS 256

enum { CLI_OK = 0, CLI_HTTP_ERROR = 1, CLI_USAGE = 2, CLI_UNREACHABLE = 3 };

static void
cli_usage(FILE *out)
{
	fprintf(out,
		"usage: cairnctl event COMMAND [--url URL] [--key KEY] ...\n"
		"  add [--start EPOCH] [--stop EPOCH] [--idempotency-key K] [TAG ...]\n"
		"  list [--tag T]... [--any-tag T]... [--from T] [--to T] [--open|--stopped]\n"
		"       [--limit N] [--cursor C]\n"
		"  remove EPOCH... | remove --purge\n"
		"  stop ID [--stop EPOCH]\n"
		"  get ID\n"
		"  delete ID\n"
		"  tags [--limit N] [--cursor C]\n"
		"URL and KEY default to $CAIRN_URL and $CAIRN_KEY. The body goes to stdout,\n"
		"\"HTTP <status>\" to stderr; exit 0 on 2xx, 1 on other statuses, 2 on usage\n"
		"errors, 3 when the server cannot be reached.\n");
}

/* The parsed command line. */
struct cli {
	const char *url, *key, *idem;
	const char *start, *stop, *from, *to, *limit, *cursor;
	bool purge, open, stopped;
	const char *tags[CLI_MAX_ARGS], *any[CLI_MAX_ARGS], *pos[CLI_MAX_ARGS];
	size_t ntags, nany, npos;
};

static int
parse_args(struct cli *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t off;
	} valued[] = {
		{"--url", offsetof(struct cli, url)},
		{"--key", offsetof(struct cli, key)},
		{"--idempotency-key", offsetof(struct cli, idem)},
		{"--start", offsetof(struct cli, start)},
		{"--stop", offsetof(struct cli, stop)},
		{"--from", offsetof(struct cli, from)},
		{"--to", offsetof(struct cli, to)},
		{"--limit", offsetof(struct cli, limit)},
		{"--cursor", offsetof(struct cli, cursor)},
	};

	memset(o, 0, sizeof *o);
	o->url = getenv("CAIRN_URL");
	o->key = getenv("CAIRN_KEY");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool done = false;

		for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !done; k++) {
			if (strcmp(a, valued[k].name) != 0)
				continue;
			if (i + 1 >= argc) {
				fprintf(stderr, "cairnctl: %s needs a value\n", a);
				return -1;
			}
			*(const char **)((char *)o + valued[k].off) = argv[++i];
			done = true;
		}
		if (done)
			continue;
		if ((strcmp(a, "--tag") == 0 || strcmp(a, "--any-tag") == 0) && i + 1 < argc) {
			bool all = strcmp(a, "--tag") == 0;
			size_t *n = all ? &o->ntags : &o->nany;

			if (*n == CLI_MAX_ARGS)
				return -1;
			(all ? o->tags : o->any)[(*n)++] = argv[++i];
		} else if (strcmp(a, "--purge") == 0) {
			o->purge = true;
		} else if (strcmp(a, "--open") == 0) {
			o->open = true;
		} else if (strcmp(a, "--stopped") == 0) {
			o->stopped = true;
		} else if (strcmp(a, "--") == 0) {
			for (i++; i < argc && o->npos < CLI_MAX_ARGS; i++)
				o->pos[o->npos++] = argv[i];
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "cairnctl: unknown option %s\n", a);
			return -1;
		} else {
			if (o->npos == CLI_MAX_ARGS)
				return -1;
			o->pos[o->npos++] = a;
		}
	}
	if (o->url == NULL || o->url[0] == '\0') {
		fprintf(stderr, "cairnctl: no server: give --url or set CAIRN_URL\n");
		return -1;
	}
	return 0;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

/* Sends one request and prints the answer. Returns the exit status. */
static int
send_request(const struct cli *o, const char *method, const char *path_query,
	     const struct buf *body)
{
	struct curl_slist *hdrs = NULL;
	struct buf url, resp, hdr;
	char err[CURL_ERROR_SIZE] = "";
	long status = 0;
	int rc = CLI_UNREACHABLE;
	size_t base = strlen(o->url);
	CURL *h;

	while (base > 0 && o->url[base - 1] == '/')
		base--;
	buf_init(&url, 64 * 1024);
	buf_init(&resp, CLI_MAX_RESPONSE);
	buf_init(&hdr, 4096);
	if (buf_append(&url, o->url, base) < 0 || buf_puts(&url, path_query) < 0) {
		fprintf(stderr, "cairnctl: the URL is too long\n");
		rc = CLI_USAGE;
		goto out;
	}
	h = curl_easy_init();
	if (h == NULL) {
		fprintf(stderr, "cairnctl: cannot initialise libcurl\n");
		goto out;
	}
	if (o->key != NULL && o->key[0] != '\0') {
		buf_printf(&hdr, "Authorization: Bearer %s", o->key);
		hdrs = curl_slist_append(hdrs, hdr.data);
	}
	if (o->idem != NULL) {
		buf_reset(&hdr);
		buf_printf(&hdr, "Idempotency-Key: %s", o->idem);
		hdrs = curl_slist_append(hdrs, hdr.data);
	}
	if (body != NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cairnctl/" PACKAGE_VERSION);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data ? body->data : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	CURLcode cc = curl_easy_perform(h);

	if (cc != CURLE_OK) {
		fprintf(stderr, "cairnctl: %s: %s\n", url.data, err[0] ? err : curl_easy_strerror(cc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (resp.len > 0) {
			fwrite(resp.data, 1, resp.len, stdout);
			if (resp.data[resp.len - 1] != '\n')
				fputc('\n', stdout);
		}
		fflush(stdout);
		fprintf(stderr, "HTTP %ld\n", status);
		rc = status >= 200 && status < 300 ? CLI_OK : CLI_HTTP_ERROR;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
out:
	buf_free(&url);
	buf_free(&resp);
	buf_free(&hdr);
	return rc;
}

/* Appends name=value (value percent-encoded) to the query in q. */
static int
add_query(struct buf *q, const char *name, const char *value)
{
	char *enc = curl_easy_escape(NULL, value, (int)strlen(value));
	int rc;

	if (enc == NULL)
		return -1;
	rc = buf_printf(q, "%c%s=%s", q->len == 0 ? '?' : '&', name, enc);
	curl_free(enc);
	return rc;
}

/* GET path followed by the query in q. */
static int
send_get(const struct cli *o, const char *path, const struct buf *q)
{
	struct buf full;
	int rc = CLI_USAGE;

	buf_init(&full, 2u << 20);
	if (buf_puts(&full, path) == 0 && buf_append(&full, q->data ? q->data : "", q->len) == 0)
		rc = send_request(o, "GET", full.data, NULL);
	buf_free(&full);
	return rc;
}

/* An epoch from the command line, checked here so the JSON we send is a
 * plain number in the user's own spelling. */
static bool
epoch_ok(const char *what, const char *s)
{
	int64_t us;

	if (events_epoch_parse(s, strlen(s), &us) == 0)
		return true;
	fprintf(stderr, "cairnctl: %s '%s' is not epoch seconds (e.g. 1650108997.592079)\n", what, s);
	return false;
}

static bool
id_ok(const struct cli *o)
{
	int64_t id;

	if (o->npos == 1 && text_parse_id(o->pos[0], strlen(o->pos[0]), &id))
		return true;
	fprintf(stderr, "cairnctl: give one event id (a positive integer)\n");
	return false;
}

static int
cmd_add(const struct cli *o)
{
	struct buf body;
	struct jsonw w;
	int rc;

	if ((o->start && !epoch_ok("--start", o->start)) || (o->stop && !epoch_ok("--stop", o->stop)))
		return CLI_USAGE;
	buf_init(&body, 16u << 20);
	jsonw_init(&w, jsonw_buf_sink, &body);
	jsonw_object_begin(&w);
	jsonw_key(&w, "tags");
	jsonw_array_begin(&w);
	for (size_t i = 0; i < o->npos; i++)
		jsonw_string(&w, o->pos[i]);
	jsonw_array_end(&w);
	if (o->start) {
		jsonw_key(&w, "start_epoch");
		jsonw_raw(&w, o->start, strlen(o->start));
	}
	if (o->stop) {
		jsonw_key(&w, "stop_epoch");
		jsonw_raw(&w, o->stop, strlen(o->stop));
	}
	jsonw_object_end(&w);
	rc = jsonw_error(&w) ? CLI_USAGE : send_request(o, "POST", "/add_event", &body);
	buf_free(&body);
	return rc;
}

static int
cmd_list(const struct cli *o)
{
	struct buf q;
	int rc = 0;

	buf_init(&q, 1u << 20);
	for (size_t i = 0; i < o->ntags && rc == 0; i++)
		rc = add_query(&q, "tag", o->tags[i]);
	for (size_t i = 0; i < o->nany && rc == 0; i++)
		rc = add_query(&q, "any_tag", o->any[i]);
	if (o->from && rc == 0)
		rc = add_query(&q, "from", o->from);
	if (o->to && rc == 0)
		rc = add_query(&q, "to", o->to);
	if ((o->open || o->stopped) && rc == 0)
		rc = add_query(&q, "open", o->open ? "true" : "false");
	if (o->limit && rc == 0)
		rc = add_query(&q, "limit", o->limit);
	if (o->cursor && rc == 0)
		rc = add_query(&q, "cursor", o->cursor);
	rc = rc == 0 ? send_get(o, "/list_events", &q) : CLI_USAGE;
	buf_free(&q);
	return rc;
}

static int
cmd_tags(const struct cli *o)
{
	struct buf q;
	int rc = 0;

	buf_init(&q, 64 * 1024);
	if (o->limit)
		rc = add_query(&q, "limit", o->limit);
	if (o->cursor && rc == 0)
		rc = add_query(&q, "cursor", o->cursor);
	rc = rc == 0 ? send_get(o, "/events/tags", &q) : CLI_USAGE;
	buf_free(&q);
	return rc;
}

static int
cmd_remove(const struct cli *o)
{
	struct buf body;
	struct jsonw w;
	int rc;

	if (!o->purge && o->npos == 0) {
		fprintf(stderr, "cairnctl: give the start epochs to remove, or --purge\n");
		return CLI_USAGE;
	}
	for (size_t i = 0; i < o->npos; i++)
		if (!epoch_ok("start", o->pos[i]))
			return CLI_USAGE;
	buf_init(&body, 16u << 20);
	jsonw_init(&w, jsonw_buf_sink, &body);
	jsonw_object_begin(&w);
	if (o->purge) {
		jsonw_key(&w, "purge");
		jsonw_bool(&w, true);
	} else {
		/* sent as strings: exact whatever the number of digits */
		jsonw_key(&w, "start_epoch_array");
		jsonw_array_begin(&w);
		for (size_t i = 0; i < o->npos; i++)
			jsonw_string(&w, o->pos[i]);
		jsonw_array_end(&w);
	}
	jsonw_object_end(&w);
	rc = jsonw_error(&w) ? CLI_USAGE : send_request(o, "POST", "/remove_events", &body);
	buf_free(&body);
	return rc;
}

static int
cmd_stop(const struct cli *o)
{
	char path[64];
	struct buf body;
	int rc;

	if (!id_ok(o) || (o->stop && !epoch_ok("--stop", o->stop)))
		return CLI_USAGE;
	snprintf(path, sizeof path, "/events/%s/stop", o->pos[0]);
	if (o->stop == NULL)
		return send_request(o, "POST", path, NULL);
	buf_init(&body, 1024);
	buf_printf(&body, "{\"stop_epoch\":%s}", o->stop);
	rc = send_request(o, "POST", path, &body);
	buf_free(&body);
	return rc;
}

static int
cmd_by_id(const struct cli *o, const char *method)
{
	char path[64];

	if (!id_ok(o))
		return CLI_USAGE;
	snprintf(path, sizeof path, "/events/%s", o->pos[0]);
	return send_request(o, method, path, NULL);
}

int
events_cli(struct db *db, int argc, char **argv)
{
	struct cli *o;
	int rc;

	(void)db;
	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		cli_usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	o = malloc(sizeof *o);
	if (o == NULL)
		return CLI_UNREACHABLE;
	if (parse_args(o, argc, argv) < 0) {
		free(o);
		cli_usage(stderr);
		return CLI_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(argv[0], "add") == 0)
		rc = cmd_add(o);
	else if (strcmp(argv[0], "list") == 0 && o->npos == 0)
		rc = cmd_list(o);
	else if (strcmp(argv[0], "remove") == 0)
		rc = cmd_remove(o);
	else if (strcmp(argv[0], "stop") == 0)
		rc = cmd_stop(o);
	else if (strcmp(argv[0], "get") == 0)
		rc = cmd_by_id(o, "GET");
	else if (strcmp(argv[0], "delete") == 0)
		rc = cmd_by_id(o, "DELETE");
	else if (strcmp(argv[0], "tags") == 0 && o->npos == 0)
		rc = cmd_tags(o);
	else {
		cli_usage(stderr);
		rc = CLI_USAGE;
	}
	curl_global_cleanup();
	free(o);
	return rc;
}
