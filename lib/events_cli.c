#include "autoconfig.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "events_cli.h"
#include "events_epoch.h"
#include "idem.h"
#include "jsonw.h"
#include "mem.h"
#include "text.h"

#define CLI_MAX_RESPONSE (256u << 20)

/* the exit statuses of lib/cli.h, and this one of `event` alone */
#define CLI_EXIT_UNREACHABLE 3 /* the server could not be reached */

/* Seconds without a byte either way before a request is given up: more
 * than nginx's fastcgi_read_timeout (60 s), so a slow pool's own 504
 * comes first. A long answer that keeps coming is never cut. */
#define CLI_IDLE_TIMEOUT 75

static const char usage_text[] =
	"usage: cairnctl event COMMAND [--url URL] [--key KEY] [--timeout S] ...\n"
	"  add [--start EPOCH] [--stop EPOCH] [--idempotency-key K] [TAG ...]\n"
	"  list [--tag T]... [--any-tag T]... [--from T] [--to T] [--open|--stopped]\n"
	"       [--limit N] [--cursor C]\n"
	"  remove EPOCH... | remove --purge\n"
	"  stop ID [--stop EPOCH]\n"
	"  get ID\n"
	"  delete ID\n"
	"  tags [--limit N] [--cursor C]\n"
	"URL and KEY default to $CAIRN_URL and $CAIRN_KEY; prefer $CAIRN_KEY: a\n"
	"--key is hidden from ps once read, but not before, nor from shell history.\n"
	"Options go before or after the arguments; \"--\" ends them (a tag starting\n"
	"with '-').  The body goes to stdout, \"HTTP <status>\" to stderr; exit 0 on\n"
	"2xx, 1 on other statuses, 2 on usage errors (nothing sent), 3 when the\n"
	"server cannot be reached or sends nothing for --timeout seconds\n"
	"(1 to 3600, default 75: longer than nginx waits for the pool).\n";

/* The parsed command line. */
struct args {
	const char *url, *key, *idem, *timeout_arg;
	long idle_timeout; /* seconds: --timeout, else CLI_IDLE_TIMEOUT */
	char *key_copy;    /* the --key argument's copy (hide_key_arg) */
	const char *start, *stop, *from, *to, *limit, *cursor;
	bool purge, open, stopped;
	struct cli_list tags, any;
	const char *pos[CLI_LIST_MAX];
	size_t npos;
};

/* A key given with --key is copied (into key_copy) and its argument
 * overwritten, so that ps and /proc/PID/cmdline stop showing it as soon as
 * the line is parsed; $CAIRN_KEY never shows there at all. */
static void
hide_key_arg(struct args *o, int argc, char **argv)
{
	for (int i = 0; i < argc && o->key != NULL; i++)
		if (argv[i] == o->key) {
			o->key = o->key_copy = mem_strdup(argv[i]);
			memset(argv[i], 'x', strlen(argv[i]));
			break;
		}
}

/* Parses a subcommand's arguments (after its name): options are the
 * words of its options besides the common --url, --key and --timeout (the
 * first three of all[]), min_pos to max_pos positional arguments; the URL
 * and the key default to the environment.  0, or the exit status after
 * the message. */
static int
parse_args(struct args *o, const char *options, size_t min_pos, size_t max_pos, int argc,
	   char **argv)
{
	const struct cli_opt all[] = {
		{.name = "--url", .value = &o->url},
		{.name = "--key", .value = &o->key},
		{.name = "--timeout", .value = &o->timeout_arg},
		{.name = "--idempotency-key", .value = &o->idem},
		{.name = "--start", .value = &o->start},
		{.name = "--stop", .value = &o->stop},
		{.name = "--from", .value = &o->from},
		{.name = "--to", .value = &o->to},
		{.name = "--limit", .value = &o->limit},
		{.name = "--cursor", .value = &o->cursor},
		{.name = "--tag", .list = &o->tags},
		{.name = "--any-tag", .list = &o->any},
		{.name = "--purge", .flag = &o->purge},
		{.name = "--open", .flag = &o->open},
		{.name = "--stopped", .flag = &o->stopped},
	};
	struct cli_opt opts[sizeof all / sizeof all[0] + 1];
	struct cli_pos pos = {o->pos, min_pos, max_pos, 0};
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		char word[32];

		snprintf(word, sizeof word, " %s ", all[i].name);
		if (i < 3 || strstr(options, word) != NULL)
			opts[n++] = all[i];
	}
	opts[n].name = NULL;
	rc = cli_parse(usage_text, opts, argc, argv, &pos);
	o->npos = pos.n;
	hide_key_arg(o, argc, argv);
	if (rc == CLI_EXIT_OK && o->url == NULL)
		o->url = getenv("CAIRN_URL");
	if (rc == CLI_EXIT_OK && o->key == NULL)
		o->key = getenv("CAIRN_KEY");
	o->idle_timeout = CLI_IDLE_TIMEOUT;
	if (rc == CLI_EXIT_OK && o->timeout_arg != NULL) {
		int64_t s;

		if (!text_parse_id(o->timeout_arg, strlen(o->timeout_arg), &s) || s > 3600) {
			fprintf(stderr, "cairnctl: --timeout must be 1 to 3600 seconds\n");
			rc = CLI_EXIT_USAGE;
		}
		o->idle_timeout = (long)s;
	}
	if (rc == CLI_EXIT_OK && (o->url == NULL || o->url[0] == '\0')) {
		fprintf(stderr, "cairnctl: no server: give --url or set CAIRN_URL\n");
		rc = CLI_EXIT_USAGE;
	}
	/* it goes into a header as it is: no space or control character */
	for (const char *p = o->key; rc == CLI_EXIT_OK && p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7E) {
			fprintf(stderr, "cairnctl: the API key may hold only printable ASCII "
					"characters, without spaces\n");
			rc = CLI_EXIT_USAGE;
		}
	return rc;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

/* Sends one request and prints the answer. Returns the exit status. */
static int
send_request(const struct args *o, const char *method, const char *path_query,
	     const struct buf *body)
{
	struct curl_slist *hdrs = NULL;
	struct buf url, resp, hdr;
	char err[CURL_ERROR_SIZE] = "";
	long status = 0;
	int rc = CLI_EXIT_UNREACHABLE;
	size_t base = strlen(o->url);
	CURL *h;

	while (base > 0 && o->url[base - 1] == '/')
		base--;
	buf_init(&url, 64 * 1024);
	buf_init(&resp, CLI_MAX_RESPONSE);
	buf_init(&hdr, 4096);
	if (buf_append(&url, o->url, base) < 0 || buf_puts(&url, path_query) < 0) {
		fprintf(stderr, "cairnctl: the URL is too long\n");
		rc = CLI_EXIT_USAGE;
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
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->idle_timeout);
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

	if (cc == CURLE_OPERATION_TIMEDOUT) {
		fprintf(stderr, "cairnctl: %s: nothing received for %ld s (--timeout)\n", url.data,
			o->idle_timeout);
	} else if (cc != CURLE_OK) {
		fprintf(stderr, "cairnctl: %s: %s\n", url.data,
			err[0] ? err : curl_easy_strerror(cc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (resp.len > 0) {
			fwrite(resp.data, 1, resp.len, stdout);
			if (resp.data[resp.len - 1] != '\n')
				fputc('\n', stdout);
		}
		fflush(stdout);
		fprintf(stderr, "HTTP %ld\n", status);
		rc = status >= 200 && status < 300 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
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
send_get(const struct args *o, const char *path, const struct buf *q)
{
	struct buf full;
	int rc = CLI_EXIT_USAGE;

	buf_init(&full, 2u << 20);
	if (buf_puts(&full, path) == 0 && buf_append(&full, q->data ? q->data : "", q->len) == 0)
		rc = send_request(o, "GET", full.data, NULL);
	buf_free(&full);
	return rc;
}

/* An epoch from the command line, read as the server reads one
 * (events_epoch_parse), into out in the form the server prints
 * ("1650108997.592079"): the same microsecond, and always a valid JSON
 * number, which "0100" as typed is not.  false after the message. */
static bool
epoch_arg(const char *what, const char *s, char out[EVENTS_EPOCH_LEN + 1])
{
	int64_t us;

	if (events_epoch_parse(s, strlen(s), &us) == 0) {
		events_epoch_format(us, out);
		return true;
	}
	fprintf(stderr, "cairnctl: %s '%s' is not epoch seconds (e.g. 1650108997.592079)\n", what,
		s);
	return false;
}

static bool
id_ok(const struct args *o)
{
	int64_t id;

	if (o->npos == 1 && text_parse_id(o->pos[0], strlen(o->pos[0]), &id))
		return true;
	fprintf(stderr, "cairnctl: give one event id (a positive integer)\n");
	return false;
}

static int
cmd_add(const struct args *o)
{
	char start[EVENTS_EPOCH_LEN + 1], stop[EVENTS_EPOCH_LEN + 1];
	struct buf body;
	struct jsonw w;
	int rc;

	if ((o->start && !epoch_arg("--start", o->start, start)) ||
	    (o->stop && !epoch_arg("--stop", o->stop, stop)))
		return CLI_EXIT_USAGE;
	if (o->idem && !idem_key_valid(o->idem, strlen(o->idem))) {
		fprintf(stderr,
			"cairnctl: --idempotency-key must be 1 to %d printable ASCII "
			"characters (no space)\n",
			IDEM_KEY_MAX);
		return CLI_EXIT_USAGE;
	}
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
		jsonw_raw(&w, start, strlen(start));
	}
	if (o->stop) {
		jsonw_key(&w, "stop_epoch");
		jsonw_raw(&w, stop, strlen(stop));
	}
	jsonw_object_end(&w);
	rc = jsonw_error(&w) ? CLI_EXIT_USAGE : send_request(o, "POST", "/add_event", &body);
	buf_free(&body);
	return rc;
}

static int
cmd_list(const struct args *o)
{
	struct buf q;
	int rc = 0;

	if (o->open && o->stopped) {
		fprintf(stderr, "cairnctl: --open and --stopped exclude each other\n");
		return CLI_EXIT_USAGE;
	}
	buf_init(&q, 1u << 20);
	for (size_t i = 0; i < o->tags.n && rc == 0; i++)
		rc = add_query(&q, "tag", o->tags.v[i]);
	for (size_t i = 0; i < o->any.n && rc == 0; i++)
		rc = add_query(&q, "any_tag", o->any.v[i]);
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
	rc = rc == 0 ? send_get(o, "/list_events", &q) : CLI_EXIT_USAGE;
	buf_free(&q);
	return rc;
}

static int
cmd_tags(const struct args *o)
{
	struct buf q;
	int rc = 0;

	buf_init(&q, 64 * 1024);
	if (o->limit)
		rc = add_query(&q, "limit", o->limit);
	if (o->cursor && rc == 0)
		rc = add_query(&q, "cursor", o->cursor);
	rc = rc == 0 ? send_get(o, "/events/tags", &q) : CLI_EXIT_USAGE;
	buf_free(&q);
	return rc;
}

/* The epochs given, or --purge: never both (a purge must be asked for
 * alone), never neither. */
static int
cmd_remove(const struct args *o)
{
	char canon[EVENTS_EPOCH_LEN + 1];
	struct buf body;
	struct jsonw w;
	int rc;

	if (o->purge == (o->npos > 0)) {
		fprintf(stderr, "cairnctl: give the start epochs to remove, or --purge alone\n");
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < o->npos; i++)
		if (!epoch_arg("start", o->pos[i], canon))
			return CLI_EXIT_USAGE;
	buf_init(&body, 16u << 20);
	jsonw_init(&w, jsonw_buf_sink, &body);
	jsonw_object_begin(&w);
	if (o->purge) {
		jsonw_key(&w, "purge");
		jsonw_bool(&w, true);
	} else {
		/* sent as strings, as typed: the server reads them as epoch_arg
		 * does and echoes them in start_epoch_array_deleted */
		jsonw_key(&w, "start_epoch_array");
		jsonw_array_begin(&w);
		for (size_t i = 0; i < o->npos; i++)
			jsonw_string(&w, o->pos[i]);
		jsonw_array_end(&w);
	}
	jsonw_object_end(&w);
	rc = jsonw_error(&w) ? CLI_EXIT_USAGE : send_request(o, "POST", "/remove_events", &body);
	buf_free(&body);
	return rc;
}

static int
cmd_stop(const struct args *o)
{
	char path[64], stop[EVENTS_EPOCH_LEN + 1];
	struct buf body;
	int rc;

	if (!id_ok(o) || (o->stop && !epoch_arg("--stop", o->stop, stop)))
		return CLI_EXIT_USAGE;
	snprintf(path, sizeof path, "/events/%s/stop", o->pos[0]);
	if (o->stop == NULL)
		return send_request(o, "POST", path, NULL);
	buf_init(&body, 1024);
	buf_printf(&body, "{\"stop_epoch\":%s}", stop);
	rc = send_request(o, "POST", path, &body);
	buf_free(&body);
	return rc;
}

static int
cmd_by_id(const struct args *o, const char *method)
{
	char path[64];

	if (!id_ok(o))
		return CLI_EXIT_USAGE;
	snprintf(path, sizeof path, "/events/%s", o->pos[0]);
	return send_request(o, method, path, NULL);
}

static int
cmd_get(const struct args *o)
{
	return cmd_by_id(o, "GET");
}

static int
cmd_delete(const struct args *o)
{
	return cmd_by_id(o, "DELETE");
}

/* Each subcommand's options (besides the common ones, as " --a --b ") and
 * how many positional arguments it takes. */
static const struct {
	const char *name, *options;
	size_t min_pos, max_pos;
	int (*run)(const struct args *o);
} commands[] = {
	{"add", " --start --stop --idempotency-key ", 0, CLI_LIST_MAX, cmd_add},
	{"list", " --tag --any-tag --from --to --open --stopped --limit --cursor ", 0, 0, cmd_list},
	{"remove", " --purge ", 0, CLI_LIST_MAX, cmd_remove},
	{"stop", " --stop ", 1, 1, cmd_stop},
	{"get", " ", 1, 1, cmd_get},
	{"delete", " ", 1, 1, cmd_delete},
	{"tags", " --limit --cursor ", 0, 0, cmd_tags},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

int
events_cli(struct db *db, int argc, char **argv)
{
	struct args *o;
	size_t c = 0;
	int rc;

	(void)db;
	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		fputs(usage_text, argc < 1 ? stderr : stdout);
		return argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	while (c < NCOMMANDS && strcmp(argv[0], commands[c].name) != 0)
		c++;
	if (c == NCOMMANDS) {
		fprintf(stderr, "cairnctl: unknown event command '%s'\n", argv[0]);
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	o = mem_calloc(1, sizeof *o);
	rc = parse_args(o, commands[c].options, commands[c].min_pos, commands[c].max_pos, argc - 1,
			argv + 1);
	if (rc == CLI_EXIT_OK) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = commands[c].run(o);
		curl_global_cleanup();
	}
	mem_free(o->key_copy);
	mem_free(o);
	return rc;
}
