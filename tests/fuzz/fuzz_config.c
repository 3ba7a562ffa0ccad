/* fuzz_config: the configuration file parser (config.c).
 *
 * The whole input is the text of /etc/cairn/cairn.conf.  After
 * config_reset(), config_parse_text() either fails with DIAG_INVALID and a
 * message that names the origin, or succeeds and every typed getter still
 * answers within the declared range.  The first line is also tried through
 * config_set() as "key=value".  No environment variables are read (that is
 * config_load, which the harness does not call). */
#include "autoconfig.h"

#include "config.h"
#include "fuzz_common.h"

struct int_key {
	const char *name;
	long long min, max;
};

/* A copy of the ranges declared in config.c: a getter outside them means
 * a value got in without its check. */
static const struct int_key int_keys[] = {
	{"workers", -1, 512},
	{"db.port", 1, 65535},
	{"db.connect_timeout", 1, 3600},
	{"db.read_timeout", 1, 3600},
	{"db.write_timeout", 1, 3600},
	{"db.lock_wait_timeout", 1, 3600},
	{"db.idle_transaction_timeout", 0, 3600},
	{"db.retry_after", 1, 3600},
	{"limits.max_body", 1024, 1073741824},
	{"idempotency.ttl_hours", 1, 8760},
	{"worker.tick_ms", 10, 60000},
	{"worker.lease_seconds", 2, 3600},
};

static const char *const str_keys[] = {
	"db.host", "db.socket", "db.user", "db.password", "db.name",
	"auth.anonymous_scopes", "log.level", "log.file", "paths.sql",
};

static const char *const bool_keys[] = {"log.syslog", "debug.routes"};

static void
check_getters(void)
{
	for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++) {
		long long v = config_int(int_keys[i].name);

		FUZZ_CHECK(v >= int_keys[i].min && v <= int_keys[i].max, "%s = %lld out of range",
			   int_keys[i].name, v);
	}
	for (size_t i = 0; i < sizeof str_keys / sizeof str_keys[0]; i++)
		FUZZ_CHECK(config_str(str_keys[i]) != NULL, "%s is NULL", str_keys[i]);
	for (size_t i = 0; i < sizeof bool_keys / sizeof bool_keys[0]; i++)
		(void)config_bool(bool_keys[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct diag d;

	fuzz_quiet_logs();
	config_reset();
	d.code = 0;
	d.msg[0] = '\0';
	int rc = config_parse_text(text, size, "fuzz.conf", &d);

	FUZZ_CHECK(rc == 0 || rc == -1, "config_parse_text returned %d", rc);
	if (rc < 0) {
		FUZZ_CHECK(d.code == DIAG_INVALID, "failed with code %d", d.code);
		FUZZ_CHECK(strncmp(d.msg, "fuzz.conf:", 10) == 0, "message without origin: %s",
			   d.msg);
		FUZZ_CHECK(memchr(d.msg, '\0', sizeof d.msg) != NULL, "message not terminated");
	}
	check_getters();

	/* the first line through config_set */
	const char *nl = memchr(text, '\n', size);
	size_t line = nl ? (size_t)(nl - text) : size;
	char *copy = malloc(line + 1);

	memcpy(copy, text, line);
	copy[line] = '\0';
	char *eq = strchr(copy, '=');

	if (eq != NULL) {
		*eq = '\0';
		rc = config_set(copy, eq + 1, &d);
		FUZZ_CHECK(rc == 0 || (rc == -1 && d.code == DIAG_INVALID),
			   "config_set returned %d (code %d)", rc, d.code);
		check_getters();
	}
	free(copy);
	config_reset();
	return 0;
}
