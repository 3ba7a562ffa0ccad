#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mem.h"

#ifndef CAIRN_SQLDIR
#define CAIRN_SQLDIR "/usr/local/share/cairn/sql"
#endif

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_BOOL };

struct config_key {
	const char *name;
	enum config_type type;
	const char *default_value;
	long long min, max;
	const char *doc;
};

/* Every setting cairn knows. Keep the README's table in step
 * (`cairnctl config` prints this table). */
static const struct config_key config_keys[] = {
	{"workers", CONFIG_INT, "-1", -1, 512,
	 "FastCGI worker processes the pool master forks; -1 = 2 x cores; 0 = serve in-process (for `spawn-fcgi -F N`)"},
	{"db.host", CONFIG_STR, "127.0.0.1", 0, 0,
	 "MySQL/MariaDB host (ignored when db.socket is set)"},
	{"db.port", CONFIG_INT, "3306", 1, 65535, "MySQL/MariaDB TCP port"},
	{"db.socket", CONFIG_STR, "", 0, 0, "unix socket path; empty = use TCP"},
	{"db.user", CONFIG_STR, "cairn", 0, 0, "database user"},
	{"db.password", CONFIG_STR, "", 0, 0, "database password (never logged)"},
	{"db.name", CONFIG_STR, "cairn", 0, 0, "database (schema) name"},
	{"db.tls", CONFIG_STR, "off", 0, 0,
	 "TLS to the database over TCP: off; on (encrypted, the server's certificate not checked); verify (encrypted, the certificate checked against db.tls_ca and db.host)"},
	{"db.tls_ca", CONFIG_STR, "", 0, 0,
	 "CA certificates (PEM file) that db.tls = verify trusts; empty = the system's"},
	{"db.connect_timeout", CONFIG_INT, "3", 1, 3600, "seconds to wait for a connection"},
	{"db.read_timeout", CONFIG_INT, "10", 1, 3600, "seconds to wait for a result"},
	{"db.write_timeout", CONFIG_INT, "10", 1, 3600,
	 "seconds to wait for a write to the server"},
	{"db.lock_wait_timeout", CONFIG_INT, "5", 1, 3600,
	 "innodb_lock_wait_timeout for each session, seconds"},
	{"db.idle_transaction_timeout", CONFIG_INT, "10", 0, 3600,
	 "MariaDB drops a connection whose transaction waits this long for its next statement (a "
	 "stopped process), releasing its locks; seconds, 0 = never"},
	{"db.retry_after", CONFIG_INT, "5", 1, 3600,
	 "Retry-After seconds sent with 503 when the database is unreachable"},
	{"limits.max_body", CONFIG_INT, "8388608", 1024, 1073741824,
	 "largest request body in bytes; larger gets 413"},
	{"auth.anonymous_scopes", CONFIG_STR, "", 0, 0,
	 "scopes granted to requests without a key, space-separated (default none)"},
	{"auth.cache_ms", CONFIG_INT, "1000", 0, 60000,
	 "how long a worker trusts a key lookup; revocations through the HTTP API apply at once, others (cairnctl, SQL, another host) within this time; 0 = look up every request"},
	{"log.level", CONFIG_STR, "info", 0, 0, "error, warn, info or debug"},
	{"log.file", CONFIG_STR, "", 0, 0, "append log lines to this file; empty = stderr"},
	{"log.syslog", CONFIG_BOOL, "false", 0, 0, "log to syslog (facility daemon) instead"},
	{"paths.sql", CONFIG_STR, CAIRN_SQLDIR, 0, 0, "directory holding the numbered migrations"},
	{"debug.routes", CONFIG_BOOL, "false", 0, 0,
	 "serve the /_debug/ routes the test suite uses; never in production"},
	{"idempotency.ttl_hours", CONFIG_INT, "24", 1, 8760,
	 "how long an Idempotency-Key is remembered"},
	{"worker.tick_ms", CONFIG_INT, "500", 10, 60000,
	 "how often cairn-worker looks for due jobs"},
	{"worker.lease_seconds", CONFIG_INT, "30", 2, 3600,
	 "job lease; another host takes a job over after this"},

	/* logs */
	{"logs.max_body_bytes", CONFIG_INT, "65536", 1, 16777216,
	 "largest log record body in bytes (/intake)"},
	{"logs.max_batch", CONFIG_INT, "10000", 1, 100000, "most records in one /intake batch"},
	{"logs.purge_batch", CONFIG_INT, "1000", 1, 100000,
	 "records deleted per chunk by purge and retention (each chunk its own short statement)"},

	/* tags */
	{"tags.history_days", CONFIG_INT, "30", 1, 36500,
	 "raw tag history older than this many days is folded into hourly totals (kept forever) by cairn-worker"},
	{"tags.rollup_batch", CONFIG_INT, "2000", 10, 100000,
	 "raw tag history rows folded per rollup transaction"},

	/* events */
	{"events.purge_batch", CONFIG_INT, "1000", 1, 100000,
	 "events (with their tags) deleted per transaction by a purge"},

	/* geo */
	{"geo.enabled", CONFIG_BOOL, "true", 0, 0,
	 "cairn-worker resolves geo tasks (false: it only runs the jobs)"},
	{"geo.url", CONFIG_STR, "http://127.0.0.1:8081", 0, 0,
	 "base URL of the workivate/geoip-api compatible provider (GET <url>/info?ip=)"},
	{"geo.rate", CONFIG_INT, "5", 1, 10000,
	 "provider calls per second, summed over every worker on every host"},
	{"geo.rate_margin_pct", CONFIG_INT, "4", 0, 50,
	 "permits are 1/rate x (1 + this %) apart, so call jitter never puts rate + 1 calls in one second"},
	{"geo.timeout", CONFIG_INT, "6", 1, 300,
	 "seconds before a provider call times out; rate x timeout calls may be in flight"},
	{"geo.max_attempts", CONFIG_INT, "8", 1, 1000,
	 "provider calls per task before it is failed (timeouts, 429 and 5xx are retried)"},
	{"geo.backoff_base_ms", CONFIG_INT, "1000", 10, 3600000,
	 "first retry delay; doubles per attempt, jittered between half and all of it"},
	{"geo.backoff_max", CONFIG_INT, "300", 1, 86400, "longest retry delay, seconds"},
	{"geo.cache_ttl", CONFIG_INT, "604800", 0, 315360000,
	 "seconds a provider answer is reused for the same address (0: no cache)"},
	{"geo.negative_ttl", CONFIG_INT, "300", 0, 86400,
	 "seconds a 400/404 answer is reused for the same address"},
	{"geo.lease_seconds", CONFIG_INT, "30", 5, 3600,
	 "a claimed task's lease; another worker takes it over after this (at least geo.timeout + 5)"},
	{"geo.breaker_failures", CONFIG_INT, "5", 1, 10000,
	 "consecutive failed calls (5xx, timeouts, refused) that open the circuit breaker"},
	{"geo.breaker_cooldown", CONFIG_INT, "10", 1, 3600,
	 "seconds the open breaker spends no permits before one probe call"},

	/* kv */
	{"kv.max_value", CONFIG_INT, "1048576", 1, 16777215,
	 "largest value in bytes (PUT /keys/<key> body or query value); larger gets 413"},
	{"kv.sweep_batch", CONFIG_INT, "1000", 1, 100000,
	 "expired keys cairn-worker deletes per transaction"},
	{"kv.clear_batch", CONFIG_INT, "1000", 1, 100000,
	 "keys DELETE /keys deletes per statement"},
};

#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

struct config_value {
	char *text;
	long long number;
};

static struct config_value config_values[CONFIG_NKEYS];
static int config_ready;

static const struct config_key *
config_find(const char *name, size_t len, size_t *index)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (strlen(config_keys[i].name) == len &&
		    memcmp(config_keys[i].name, name, len) == 0) {
			*index = i;
			return &config_keys[i];
		}
	}
	return NULL;
}

/* The string settings that take one of a few words, space-separated. */
static const struct {
	const char *name, *words;
} config_choices[] = {
	{"log.level", "error warn info debug"},
	{"db.tls", "off on verify"},
};

/* Whether value is one of the space-separated words. */
static bool
config_choice(const char *words, const char *value)
{
	size_t len = strlen(value);

	for (const char *w = words; *w != '\0';) {
		size_t n = strcspn(w, " ");

		if (n == len && memcmp(w, value, n) == 0)
			return true;
		w += n + (w[n] == ' ');
	}
	return false;
}

/* What a message may echo of a name or value from a file or the
 * environment, which a terminal may show: its first 64 bytes, anything
 * but printable ASCII as '?'. */
#define CONFIG_ECHO_MAX 64

static const char *
config_echo(const char *s, size_t len, char out[CONFIG_ECHO_MAX + 1])
{
	size_t n = len < CONFIG_ECHO_MAX ? len : CONFIG_ECHO_MAX;

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[n] = '\0';
	return out;
}

static int
config_convert(const struct config_key *k, const char *value, long long *out, struct diag *d)
{
	char echo[CONFIG_ECHO_MAX + 1];

	if (k->type == CONFIG_STR) {
		for (size_t i = 0; i < sizeof config_choices / sizeof config_choices[0]; i++) {
			if (strcmp(config_choices[i].name, k->name) == 0 &&
			    !config_choice(config_choices[i].words, value)) {
				diag_set(d, DIAG_INVALID, "%s: expected one of %s, got '%s'",
					 k->name, config_choices[i].words,
					 config_echo(value, strlen(value), echo));
				return -1;
			}
		}
		*out = 0;
		return 0;
	}
	if (k->type == CONFIG_BOOL) {
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "on") == 0 || strcmp(value, "1") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
		    strcmp(value, "off") == 0 || strcmp(value, "0") == 0) {
			*out = 0;
			return 0;
		}
		diag_set(d, DIAG_INVALID, "%s: expected true or false, got '%s'", k->name,
			 config_echo(value, strlen(value), echo));
		return -1;
	}
	char *end;

	errno = 0;
	long long v = strtoll(value, &end, 10);

	if (errno != 0 || end == value || *end != '\0' || v < k->min || v > k->max) {
		diag_set(d, DIAG_INVALID, "%s: expected an integer from %lld to %lld, got '%s'",
			 k->name, k->min, k->max, config_echo(value, strlen(value), echo));
		return -1;
	}
	*out = v;
	return 0;
}

static int
config_assign(size_t i, const char *value, struct diag *d)
{
	long long number;

	if (config_convert(&config_keys[i], value, &number, d) < 0)
		return -1;
	mem_free(config_values[i].text);
	config_values[i].text = mem_strdup(value);
	config_values[i].number = number;
	return 0;
}

void
config_reset(void)
{
	struct diag d;

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (config_assign(i, config_keys[i].default_value, &d) < 0)
			abort(); /* a bad built-in default */
	}
	config_ready = 1;
}

int
config_set(const char *key, const char *value, struct diag *d)
{
	size_t i;

	if (!config_ready)
		config_reset();
	if (config_find(key, strlen(key), &i) == NULL) {
		char echo[CONFIG_ECHO_MAX + 1];

		diag_set(d, DIAG_INVALID, "unknown setting '%s'",
			 config_echo(key, strlen(key), echo));
		return -1;
	}
	return config_assign(i, value, d);
}

static void
trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

int
config_parse_text(const char *text, size_t len, const char *origin, struct diag *d)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	if (!config_ready)
		config_reset();
	/* a UTF-8 byte order mark, which some editors write, is not a key */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *ks = p, *ke, *vs, *ve = le;

		line++;
		p = nl ? nl + 1 : end;
		trim(&ks, &ve);
		if (ks == ve || *ks == '#')
			continue;
		const char *eq = memchr(ks, '=', (size_t)(ve - ks));

		if (eq == NULL) {
			diag_set(d, DIAG_INVALID, "%s:%u: expected 'key = value'", origin, line);
			return -1;
		}
		ke = eq;
		vs = eq + 1;
		trim(&ks, &ke);
		trim(&vs, &ve);
		if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
			vs++;
			ve--;
		}
		if (memchr(vs, '\0', (size_t)(ve - vs)) != NULL) {
			diag_set(d, DIAG_INVALID, "%s:%u: NUL byte in value", origin, line);
			return -1;
		}
		size_t i;

		if (config_find(ks, (size_t)(ke - ks), &i) == NULL) {
			char echo[CONFIG_ECHO_MAX + 1];

			diag_set(d, DIAG_INVALID, "%s:%u: unknown setting '%s'", origin, line,
				 config_echo(ks, (size_t)(ke - ks), echo));
			return -1;
		}
		char *value = mem_alloc((size_t)(ve - vs) + 1);

		memcpy(value, vs, (size_t)(ve - vs));
		value[ve - vs] = '\0';
		int rc = config_assign(i, value, d);

		mem_free(value);
		if (rc < 0) {
			char msg[sizeof d->msg];

			snprintf(msg, sizeof msg, "%s", d->msg);
			diag_set(d, DIAG_INVALID, "%s:%u: %s", origin, line, msg);
			return -1;
		}
	}
	return 0;
}

static int
config_read_file(const char *path, int required, struct diag *d)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc = -1;

	if (f == NULL) {
		if (!required && errno == ENOENT)
			return 0;
		diag_set(d, errno, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			/* one byte past the limit tells a too-large file */
			cap = cap ? cap * 2 : 8192;
			if (cap > (1u << 20) + 1)
				cap = (1u << 20) + 1;
			text = mem_realloc(text, cap);
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
		if (len > (1u << 20)) {
			diag_set(d, DIAG_TOO_LARGE, "%s: larger than 1 MiB", path);
			goto out;
		}
	}
	if (ferror(f)) {
		diag_set(d, errno, "cannot read %s", path);
		goto out;
	}
	rc = config_parse_text(text, len, path, d);
out:
	mem_free(text);
	fclose(f);
	return rc;
}

static int
config_apply_env(struct diag *d)
{
	char env[128];

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const char *name = config_keys[i].name;
		size_t j = 0;

		j = (size_t)snprintf(env, sizeof env, "CAIRN_");
		for (const char *c = name; *c && j + 1 < sizeof env; c++)
			env[j++] = *c == '.' ? '_' : (char)toupper((unsigned char)*c);
		env[j] = '\0';
		const char *v = getenv(env);

		if (v != NULL && config_assign(i, v, d) < 0) {
			char msg[sizeof d->msg];

			snprintf(msg, sizeof msg, "%s", d->msg);
			diag_set(d, DIAG_INVALID, "%s: %s", env, msg);
			return -1;
		}
	}
	return 0;
}

static void
config_free_values(struct config_value *values)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		mem_free(values[i].text);
		values[i].text = NULL;
	}
}

int
config_load(const char *path, struct diag *d)
{
	struct config_value saved[CONFIG_NKEYS];
	int had = config_ready;

	/* all or nothing: a bad file leaves the previous settings in force */
	memcpy(saved, config_values, sizeof saved);
	memset(config_values, 0, sizeof config_values);
	config_reset();
	if (config_read_file(path ? path : CONFIG_DEFAULT_PATH, path != NULL, d) < 0 ||
	    config_apply_env(d) < 0) {
		config_free_values(config_values);
		memcpy(config_values, saved, sizeof saved);
		config_ready = had;
		return -1;
	}
	config_free_values(saved);
	return 0;
}

static size_t
config_index(const char *key)
{
	size_t i;

	if (!config_ready)
		config_reset();
	if (config_find(key, strlen(key), &i) == NULL) {
		fprintf(stderr, "cairn: undeclared setting '%s'\n", key);
		abort();
	}
	return i;
}

const char *
config_str(const char *key)
{
	return config_values[config_index(key)].text;
}

long long
config_int(const char *key)
{
	return config_values[config_index(key)].number;
}

bool
config_bool(const char *key)
{
	return config_values[config_index(key)].number != 0;
}

void
config_describe(FILE *out)
{
	fprintf(out, "| key | default | meaning |\n|---|---|---|\n");
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		fprintf(out, "| `%s` | `%s` | %s |\n", config_keys[i].name,
			config_keys[i].default_value, config_keys[i].doc);
}
