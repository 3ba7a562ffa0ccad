#include "autoconfig.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "status.h"
#include "text.h"

static int latest_version = -1;

#define STATUS_MAX_COLLECTORS 16
static status_collector_fn collectors[STATUS_MAX_COLLECTORS];
static size_t ncollectors;

void
status_collector(status_collector_fn fn)
{
	if (ncollectors < STATUS_MAX_COLLECTORS)
		collectors[ncollectors++] = fn;
}

void
status_init(void)
{
	struct diag d;

	latest_version = migrate_latest(config_str("paths.sql"), &d);
	if (latest_version < 0)
		log_warn("readyz cannot know the latest migration: %s", d.msg);
}

int
status_healthz(struct ctx *c)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	return reply_body(c, 200, "application/json", ok, sizeof ok - 1);
}

static int
not_ready(struct ctx *c, const char *reason)
{
	char retry[24];

	snprintf(retry, sizeof retry, "%lld", config_int("db.retry_after"));
	reply_json_begin(c, 503);
	reply_header(c, "Retry-After", retry);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "status");
	jsonw_string(&c->w, "unavailable");
	jsonw_key(&c->w, "reason");
	jsonw_string(&c->w, reason);
	jsonw_object_end(&c->w);
	return 0;
}

/* The reason a database that is not serving gives /readyz. */
static const char *
unreachable(const struct diag *d)
{
	return d->code == DB_ER_NODE_NOT_READY ? "database node not serving"
					       : "database unreachable";
}

int
status_readyz(struct ctx *c)
{
	int applied;

	if (db_ping(c->db, &c->diag) < 0)
		return not_ready(c, unreachable(&c->diag));
	if (migrate_applied(c->db, &applied, &c->diag) < 0) {
		if (db_error_unavailable(&c->diag))
			return not_ready(c, unreachable(&c->diag));
		return not_ready(c,
				 db_error_busy(&c->diag) ? "database busy" : "schema not migrated");
	}
	if (latest_version < 0)
		return not_ready(c, "migrations directory unreadable");
	if (applied < latest_version) {
		char why[96];

		snprintf(why, sizeof why, "schema at version %d, latest is %d", applied,
			 latest_version);
		return not_ready(c, why);
	}
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "status");
	jsonw_string(&c->w, "ready");
	jsonw_key(&c->w, "schema_version");
	jsonw_int(&c->w, applied);
	jsonw_object_end(&c->w);
	return 0;
}

int
status_metrics(struct ctx *c)
{
	struct buf b;
	int rc;

	buf_init(&b, 16u << 20);
	if (metrics_render(&b) < 0) {
		buf_free(&b);
		diag_set(&c->diag, DIAG_INTERNAL, "metrics too large");
		return -1;
	}
	for (size_t i = 0; i < ncollectors; i++) {
		struct diag d;

		/* a failed collector's lines stay: it appends only those it
		 * means to show then (cairn_geo_up 0 says why its numbers are
		 * missing), and each buf append is whole or nothing */
		if (collectors[i](c->db, &b, &d) < 0)
			log_debug("a metrics collector failed: %s", d.msg);
	}
	rc = reply_body(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
			b.len);
	buf_free(&b);
	return rc;
}

/* Echoes the JSON body with the idempotency row's id, so tests can see
 * that a replay returns the first answer and stores nothing twice. */
static int
debug_echo(struct ctx *c, void *arg)
{
	(void)arg;
	reply_json_begin(c, 201);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "echo");
	jsonw_value(&c->w, c->json);
	jsonw_key(&c->w, "caller");
	jsonw_string(&c->w, c->auth.caller);
	/* differs on every real run; a replay shows the first one */
	int64_t nonce = 0;

	if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		nonce = 0;
	jsonw_key(&c->w, "nonce");
	jsonw_int(&c->w, nonce & INT64_MAX);
	jsonw_object_end(&c->w);
	return 0;
}

int
status_debug_idempotent(struct ctx *c)
{
	return idem_run(c, debug_echo, NULL);
}

int
status_debug_sleep(struct ctx *c)
{
	const char *v;
	size_t len;
	int64_t ms = 100;
	int rc = ctx_query(c, "ms", &v, &len);

	if (rc < 0)
		return 0;
	if (rc == 1 && (!text_parse_id(v, len, &ms) || ms > 10000))
		return reply_error(c, 400, "bad_ms", "ms must be 1 to 10000");
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
	return status_healthz(c);
}
