/* Unit tests for config.h: defaults, the file format, the environment and
 * validation of every value. */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"

/* Entries in a static table, as a loop test's end. */
#define TEST_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Environment variables the tests set; cleared around each test so the
 * caller's environment cannot leak in. */
static const char *const env_names[] = {
	"CAIRN_DB_PORT", "CAIRN_DB_HOST", "CAIRN_LIMITS_MAX_BODY", "CAIRN_DEBUG_ROUTES",
	"CAIRN_DB_SOCKET", "CAIRN_WORKERS", "CAIRN_AUTH_ANONYMOUS_SCOPES", "CAIRN_DB_RETRY_AFTER",
};

static char tmp_path[64];

static void
setup(void)
{
	for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);
	tmp_path[0] = '\0';
	config_reset();
}

static void
teardown(void)
{
	for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);
	config_reset();
}

static void
write_tmp(const char *text)
{
	int fd;
	FILE *f;

	snprintf(tmp_path, sizeof tmp_path, "/tmp/cairn-test-config-XXXXXX");
	fd = mkstemp(tmp_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Writes text to a temporary file, loads it and removes it again (so a
 * failing test leaves nothing behind); tmp_path keeps the name. */
static int
load_tmp(const char *text, struct diag *d)
{
	int rc;

	write_tmp(text);
	diag_clear(d);
	rc = config_load(tmp_path, d);
	unlink(tmp_path);
	return rc;
}

static int
parse(const char *text, struct diag *d)
{
	diag_clear(d);
	return config_parse_text(text, strlen(text), "test.conf", d);
}

/* --------------------------------------------------------------- defaults */

START_TEST(test_defaults)
{
	ck_assert_int_eq(config_int("limits.max_body"), 8388608);
	ck_assert_int_eq(config_int("db.port"), 3306);
	ck_assert_str_eq(config_str("db.host"), "127.0.0.1");
	ck_assert_str_eq(config_str("db.socket"), "");
	ck_assert_str_eq(config_str("db.user"), "cairn");
	ck_assert_str_eq(config_str("db.name"), "cairn");
	ck_assert_str_eq(config_str("db.password"), "");
	ck_assert_int_eq(config_int("db.retry_after"), 5);
	ck_assert_int_eq(config_int("workers"), -1);
	ck_assert_int_eq(config_int("idempotency.ttl_hours"), 24);
	ck_assert_str_eq(config_str("auth.anonymous_scopes"), "");
	ck_assert_str_eq(config_str("log.level"), "info");
	ck_assert(!config_bool("debug.routes"));
	ck_assert(!config_bool("log.syslog"));
}
END_TEST

START_TEST(test_reset_restores_defaults)
{
	struct diag d;

	ck_assert_int_eq(config_set("db.port", "4000", &d), 0);
	ck_assert_int_eq(config_set("db.host", "elsewhere", &d), 0);
	config_reset();
	ck_assert_int_eq(config_int("db.port"), 3306);
	ck_assert_str_eq(config_str("db.host"), "127.0.0.1");
}
END_TEST

/* ----------------------------------------------------------------- format */

START_TEST(test_parse_text)
{
	struct diag d;
	const char *text =
		"# a comment\n"
		"\n"
		"   \t\n"
		"   db.host   =   example.org   \n"
		"db.port=3307\n"
		"db.name = \"quoted value\"\n"
		"db.user = \"\"\n"
		"\t# an indented comment\n"
		"debug.routes = yes\n"
		"log.syslog = off\n"
		"workers = 0\n"
		"db.password = p@ss=word # not a comment\n"
		"log.file = /var/log/cairn.log";   /* no final newline */

	ck_assert_int_eq(parse(text, &d), 0);
	ck_assert_str_eq(config_str("db.host"), "example.org");
	ck_assert_int_eq(config_int("db.port"), 3307);
	ck_assert_str_eq(config_str("db.name"), "quoted value");
	ck_assert_str_eq(config_str("db.user"), "");
	ck_assert(config_bool("debug.routes"));
	ck_assert(!config_bool("log.syslog"));
	ck_assert_int_eq(config_int("workers"), 0);
	ck_assert_str_eq(config_str("db.password"), "p@ss=word # not a comment");
	ck_assert_str_eq(config_str("log.file"), "/var/log/cairn.log");
	/* keys not in the text keep their defaults */
	ck_assert_int_eq(config_int("limits.max_body"), 8388608);
}
END_TEST

START_TEST(test_parse_crlf)
{
	struct diag d;

	ck_assert_int_eq(parse("db.port = 4000\r\ndb.host = h\r\n", &d), 0);
	ck_assert_int_eq(config_int("db.port"), 4000);
	ck_assert_str_eq(config_str("db.host"), "h");
}
END_TEST

START_TEST(test_parse_empty)
{
	struct diag d;

	ck_assert_int_eq(parse("", &d), 0);
	ck_assert_int_eq(parse("\n\n# only comments\n", &d), 0);
	ck_assert_int_eq(config_int("db.port"), 3306);
}
END_TEST

START_TEST(test_parse_quotes)
{
	struct diag d;

	/* one pair of quotes is removed, inner spaces kept */
	ck_assert_int_eq(parse("db.host = \"  spaced  \"\n", &d), 0);
	ck_assert_str_eq(config_str("db.host"), "  spaced  ");
	ck_assert_int_eq(parse("db.port = \"3308\"\n", &d), 0);
	ck_assert_int_eq(config_int("db.port"), 3308);
	/* a lone quote is just a character */
	ck_assert_int_eq(parse("db.host = \"\n", &d), 0);
	ck_assert_str_eq(config_str("db.host"), "\"");
}
END_TEST

START_TEST(test_unknown_key)
{
	struct diag d;

	ck_assert_int_eq(parse("db.port = 1\n# comment\n\nbogus.key = 2\n", &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_str_eq(d.msg, "test.conf:4: unknown setting 'bogus.key'");
	/* keys compare exactly */
	ck_assert_int_eq(parse("DB.PORT = 1\n", &d), -1);
	ck_assert_str_eq(d.msg, "test.conf:1: unknown setting 'DB.PORT'");
	ck_assert_int_eq(parse("db.port.x = 1\n", &d), -1);
	ck_assert_int_eq(parse("db = 1\n", &d), -1);
	ck_assert_int_eq(parse(" = 1\n", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "test.conf:1:"));
	/* the name is echoed with anything but printable ASCII replaced */
	ck_assert_int_eq(parse("x\x1b[31my\xc3\xa9 = 1\n", &d), -1);
	ck_assert_str_eq(d.msg, "test.conf:1: unknown setting 'x?[31my?" "?'");
	/* values too, in every message that echoes one */
	ck_assert_int_eq(parse("db.port = \x1b[31m1\n", &d), -1);
	ck_assert_str_eq(d.msg,
			 "test.conf:1: db.port: expected an integer from 1 to 65535, got '?[31m1'");
	ck_assert_int_eq(parse("log.level = \x1b]0;x\x07\n", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "got '?]0;x?'"));
	ck_assert_int_eq(parse("debug.routes = \x9b\n", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "got '?'"));
}
END_TEST

START_TEST(test_byte_order_mark)
{
	struct diag d;

	ck_assert_int_eq(parse("\xEF\xBB\xBF" "db.port = 1234\n", &d), 0);
	ck_assert_int_eq(config_int("db.port"), 1234);
	/* only at the very start */
	ck_assert_int_eq(parse("db.port = 1\n\xEF\xBB\xBF" "db.host = x\n", &d), -1);
}
END_TEST

START_TEST(test_missing_equals)
{
	struct diag d;

	ck_assert_int_eq(parse("\n\ndb.port 3306\n", &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_str_eq(d.msg, "test.conf:3: expected 'key = value'");
}
END_TEST

START_TEST(test_nul_in_text)
{
	struct diag d;
	static const char text[] = "db.host = a\0b\n";

	diag_clear(&d);
	ck_assert_int_eq(config_parse_text(text, sizeof text - 1, "nul.conf", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "nul.conf:1:"));
	ck_assert_str_eq(config_str("db.host"), "127.0.0.1");
}
END_TEST

struct value_case {
	const char *key;
	const char *value;
	int ok;
};

static const struct value_case value_cases[] = {
	{"db.port", "1", 1},
	{"db.port", "65535", 1},
	{"db.port", "0", 0},
	{"db.port", "65536", 0},
	{"db.port", "-1", 0},
	{"db.port", "abc", 0},
	{"db.port", "12x", 0},
	{"db.port", "0x10", 0},
	{"db.port", "1e3", 0},
	{"db.port", "3306.0", 0},
	{"db.port", "", 0},
	{"db.port", "99999999999999999999", 0},
	{"limits.max_body", "1024", 1},
	{"limits.max_body", "1023", 0},
	{"limits.max_body", "1073741824", 1},
	{"limits.max_body", "1073741825", 0},
	{"workers", "-1", 1},
	{"workers", "-2", 0},
	{"workers", "512", 1},
	{"workers", "513", 0},
	{"db.connect_timeout", "0", 0},
	{"db.connect_timeout", "3600", 1},
	{"db.connect_timeout", "3601", 0},
	{"worker.tick_ms", "9", 0},
	{"worker.tick_ms", "10", 1},
	{"debug.routes", "true", 1},
	{"debug.routes", "false", 1},
	{"debug.routes", "yes", 1},
	{"debug.routes", "no", 1},
	{"debug.routes", "on", 1},
	{"debug.routes", "off", 1},
	{"debug.routes", "1", 1},
	{"debug.routes", "0", 1},
	{"debug.routes", "maybe", 0},
	{"debug.routes", "", 0},
	{"debug.routes", "2", 0},
	{"debug.routes", "truex", 0},
	{"db.host", "", 1},
	{"db.host", "anything at all", 1},
	{"log.level", "error", 1},
	{"log.level", "warn", 1},
	{"log.level", "info", 1},
	{"log.level", "debug", 1},
	{"log.level", "verbose", 0},
	{"log.level", "warning", 0},
	{"log.level", "INFO", 0},
	{"log.level", "info debug", 0},
	{"log.level", "", 0},
	{"db.tls", "off", 1},
	{"db.tls", "on", 1},
	{"db.tls", "verify", 1},
	{"db.tls", "yes", 0},
	{"db.tls", "", 0},
	{"db.tls_ca", "", 1},
	{"db.tls_ca", "/etc/ssl/certs/ca-certificates.crt", 1},
};

START_TEST(test_values_parse_text)
{
	const struct value_case *c = &value_cases[_i];
	char text[256], line_tag[32];
	struct diag d;

	/* the bad value sits on line 3: the message names the line */
	snprintf(text, sizeof text, "# header\n\n%s = %s\n", c->key, c->value);
	ck_assert_int_eq(parse(text, &d), c->ok ? 0 : -1);
	if (!c->ok) {
		ck_assert_int_eq(d.code, DIAG_INVALID);
		snprintf(line_tag, sizeof line_tag, "test.conf:3: %s", c->key);
		ck_assert_msg(strncmp(d.msg, line_tag, strlen(line_tag)) == 0, "%s", d.msg);
	}
}
END_TEST

START_TEST(test_values_set)
{
	const struct value_case *c = &value_cases[_i];
	struct diag d;
	long long before = 0;
	const char *before_s = NULL;
	char saved[64];

	if (strcmp(c->key, "db.host") == 0 || strcmp(c->key, "log.level") == 0) {
		before_s = config_str(c->key);
		snprintf(saved, sizeof saved, "%s", before_s);
	} else {
		before = config_int(c->key);
	}
	diag_clear(&d);
	ck_assert_int_eq(config_set(c->key, c->value, &d), c->ok ? 0 : -1);
	if (c->ok) {
		ck_assert_str_eq(config_str(c->key), c->value);
		return;
	}
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_ptr_nonnull(strstr(d.msg, c->key));
	/* a refused value leaves the old one */
	if (before_s != NULL)
		ck_assert_str_eq(config_str(c->key), saved);
	else
		ck_assert_int_eq(config_int(c->key), before);
}
END_TEST

START_TEST(test_set_values)
{
	struct diag d;

	ck_assert_int_eq(config_set("db.port", "5000", &d), 0);
	ck_assert_int_eq(config_int("db.port"), 5000);
	ck_assert_str_eq(config_str("db.port"), "5000");
	ck_assert_int_eq(config_set("debug.routes", "on", &d), 0);
	ck_assert(config_bool("debug.routes"));
	ck_assert_int_eq(config_set("debug.routes", "0", &d), 0);
	ck_assert(!config_bool("debug.routes"));
	/* strings are kept verbatim: no trimming or unquoting in config_set */
	ck_assert_int_eq(config_set("db.password", " p@ss \"word\" ", &d), 0);
	ck_assert_str_eq(config_str("db.password"), " p@ss \"word\" ");
	ck_assert_int_eq(config_set("no.such.key", "1", &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_ptr_nonnull(strstr(d.msg, "no.such.key"));
}
END_TEST

START_TEST(test_error_keeps_earlier_lines_checked)
{
	struct diag d;

	/* an error on a later line is reported with that line's number even
	 * when earlier lines were fine */
	ck_assert_int_eq(parse("db.port = 4001\ndb.host = x\ndb.port = nope\n", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "test.conf:3:"));
}
END_TEST

/* ------------------------------------------------------------ environment */

START_TEST(test_load_file_and_env)
{
	struct diag d;
	ck_assert_int_eq(setenv("CAIRN_DB_PORT", "2222", 1), 0);
	ck_assert_int_eq(setenv("CAIRN_DEBUG_ROUTES", "true", 1), 0);
	const char *text = "db.port = 1111\ndb.host = filehost\nlimits.max_body = 4096\n";

	ck_assert_msg(load_tmp(text, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(config_int("db.port"), 2222);        /* env beats the file */
	ck_assert_str_eq(config_str("db.host"), "filehost");  /* the file beats defaults */
	ck_assert_int_eq(config_int("limits.max_body"), 4096);
	ck_assert(config_bool("debug.routes"));
	ck_assert_int_eq(config_int("db.retry_after"), 5);    /* defaults elsewhere */
}
END_TEST

START_TEST(test_load_env_dotted_names)
{
	struct diag d;
	ck_assert_int_eq(setenv("CAIRN_LIMITS_MAX_BODY", "2048", 1), 0);
	ck_assert_int_eq(setenv("CAIRN_AUTH_ANONYMOUS_SCOPES", "tags:read tags:write", 1), 0);
	ck_assert_int_eq(setenv("CAIRN_DB_SOCKET", "", 1), 0);
	ck_assert_int_eq(load_tmp("# empty\n", &d), 0);
	ck_assert_int_eq(config_int("limits.max_body"), 2048);
	ck_assert_str_eq(config_str("auth.anonymous_scopes"), "tags:read tags:write");
	ck_assert_str_eq(config_str("db.socket"), "");
}
END_TEST

START_TEST(test_load_env_bad)
{
	struct diag d;
	ck_assert_int_eq(setenv("CAIRN_DB_PORT", "nope", 1), 0);
	ck_assert_int_eq(load_tmp("db.port = 1111\n", &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	ck_assert_ptr_nonnull(strstr(d.msg, "CAIRN_DB_PORT"));
	ck_assert_int_eq(setenv("CAIRN_DB_PORT", "70000", 1), 0);
	ck_assert_int_eq(load_tmp("db.port = 1111\n", &d), -1);
}
END_TEST

START_TEST(test_load_resets)
{
	struct diag d;
	ck_assert_int_eq(config_set("db.port", "5000", &d), 0);
	ck_assert_int_eq(load_tmp("db.host = fromfile\n", &d), 0);
	ck_assert_int_eq(config_int("db.port"), 3306);
	ck_assert_str_eq(config_str("db.host"), "fromfile");
}
END_TEST

START_TEST(test_load_bad_file)
{
	struct diag d;
	ck_assert_int_eq(load_tmp("db.port = 1\n\nwhat is this\n", &d), -1);
	ck_assert_int_eq(d.code, DIAG_INVALID);
	/* the message names the file and the line */
	ck_assert_ptr_nonnull(strstr(d.msg, tmp_path));
	ck_assert_ptr_nonnull(strstr(d.msg, ":3:"));
}
END_TEST

START_TEST(test_load_file_under_1mib)
{
	/* config_read_file refuses files "larger than 1 MiB"; one just under
	 * that (comments, then a setting) must still load */
	size_t size = (1u << 20) - 2048, o = 0;
	char *text = malloc(size + 1);
	struct diag d;

	while (o + 100 <= size - 64) {
		memset(text + o, '#', 99);
		text[o + 99] = '\n';
		o += 100;
	}
	o += (size_t)sprintf(text + o, "db.port = 4444\n");
	text[o] = '\0';
	ck_assert_uint_lt(o, 1u << 20);
	int rc = load_tmp(text, &d);

	free(text);
	ck_assert_msg(rc == 0, "a %zu-byte file: %s", o, d.msg);
	ck_assert_int_eq(config_int("db.port"), 4444);
}
END_TEST

START_TEST(test_load_missing_file)
{
	struct diag d;

	/* an explicitly named file must exist */
	diag_clear(&d);
	ck_assert_int_eq(config_load("/nonexistent/cairn.conf", &d), -1);
	ck_assert_int_eq(d.code, ENOENT);
	ck_assert_ptr_nonnull(strstr(d.msg, "/nonexistent/cairn.conf"));
}
END_TEST

/* The example a host starts from parses, with every setting it shows
 * commented out ("# key = value") turned on as well. */
START_TEST(test_example_parses)
{
	const char *src = getenv("CAIRN_SRC_DIR");
	char path[4096], line[1024];
	char *text = NULL;
	size_t len = 0;
	FILE *in, *out;
	struct diag d;
	int shown = 0;

	snprintf(path, sizeof path, "%s/cairn.conf.example", src ? src : ".");
	in = fopen(path, "r");
	ck_assert_msg(in != NULL, "%s: %s", path, strerror(errno));
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof line, in) != NULL) {
		const char *l = line;
		size_t name = strspn(line + 2, "abcdefghijklmnopqrstuvwxyz_.");

		if (strncmp(line, "# ", 2) == 0 && name > 0 && strncmp(line + 2 + name, " = ", 3) == 0) {
			l = line + 2;
			shown++;
		}
		fputs(l, out);
	}
	fclose(in);
	fclose(out);
	ck_assert_int_gt(shown, 3);
	diag_clear(&d);
	ck_assert_msg(config_parse_text(text, len, "cairn.conf.example", &d) == 0, "%s", d.msg);
	free(text);
}
END_TEST

START_TEST(test_describe)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	config_describe(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "| `limits.max_body` | `8388608` |"));
	ck_assert_ptr_nonnull(strstr(text, "| `db.port` | `3306` |"));
	ck_assert_ptr_nonnull(strstr(text, "| `debug.routes` | `false` |"));
	free(text);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("text");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_reset_restores_defaults);
	tcase_add_test(tc, test_parse_text);
	tcase_add_test(tc, test_parse_crlf);
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_parse_quotes);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_byte_order_mark);
	tcase_add_test(tc, test_missing_equals);
	tcase_add_test(tc, test_nul_in_text);
	tcase_add_loop_test(tc, test_values_parse_text, 0, TEST_LEN(value_cases));
	tcase_add_loop_test(tc, test_values_set, 0, TEST_LEN(value_cases));
	tcase_add_test(tc, test_set_values);
	tcase_add_test(tc, test_error_keeps_earlier_lines_checked);
	tcase_add_test(tc, test_example_parses);
	tcase_add_test(tc, test_describe);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load_file_and_env);
	tcase_add_test(tc, test_load_env_dotted_names);
	tcase_add_test(tc, test_load_env_bad);
	tcase_add_test(tc, test_load_resets);
	tcase_add_test(tc, test_load_bad_file);
	tcase_add_test(tc, test_load_file_under_1mib);
	tcase_add_test(tc, test_load_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
